/* snmp_screen.h: look at SNMP datagrams before net-snmp parses them. */
#ifndef SOPD_SNMP_SCREEN_H
#define SOPD_SNMP_SCREEN_H

#include <stddef.h>

/*
 * The communities the agent takes (v1/v2c; "name@context" takes the
 * name): a request with another is dropped unparsed.
 */
void snmp_screen_communities(char *const *, size_t);
/* Forget the communities and the Report budgets. */
void snmp_screen_reset(void);
/*
 * Screen the datagram waiting on an agent transport: 0 lets net-snmp read
 * it; -1 means it was too large, had too many varbinds, a community not
 * the agent's, or was not SNMP, and was read and dropped here (counted,
 * logged at most once a minute).
 */
int snmp_screen_request(int fd);
/*
 * Screen the datagram waiting on a UDP transport for a v3 request that
 * will get a Report (unknown engine ID or user): counted, and over the
 * per-source or overall budget read and dropped here (-1).
 */
int snmp_screen_report(int fd);

#endif
