/* traps.h: the SNMP trap receiver (v1, v2c traps and v2c informs -> events). */
#ifndef SOPD_TRAPS_H
#define SOPD_TRAPS_H

#include <sys/socket.h>

#include <stddef.h>

#include "stats.h"

struct event_base;
struct config;
struct logevent;
struct snmp_pdu;

struct traps;

/* Scratch space per trap for the event's strings (values are cut to fit). */
#define TRAPS_SCRATCH_SIZE (128 * 1024)
/* Longest rendered varbind value; longer ones are cut and flagged. */
#define TRAPS_MAX_VALUE	   4096

/*
 * Open the receiver on cfg->trap_listen (NULL: none until a reload sets
 * it) in net-snmp's session list, which snmp_bridge serves; cb is called
 * with each accepted trap. Call after snmp_bridge_start and stop before
 * snmp_bridge_stop. NULL with *cause on failure.
 */
struct traps *traps_start(struct event_base *, const struct config *,
    void (*cb)(const struct logevent *, void *), void *arg, char **cause);
void traps_stop(struct traps *);
/*
 * The function that commits what cb changed (0 on success, -1 to retry a
 * second later): an inform is answered only after it succeeded.  Without
 * one informs are answered once the loop has read what is waiting.
 */
void traps_set_commit(struct traps *, int (*commit)(void *), void *arg);
/*
 * Take a reloaded config: new communities at once; a new listen address is
 * opened before the old one closes. -1 (old listener kept) if it cannot be.
 */
int traps_reconfigure(struct traps *, const struct config *);

/*
 * Convert one trap PDU into the normalized event (v1 mapped to the v2 form
 * of RFC 3584 section 3.1). Strings are written to scratch. from is the
 * UDP source (may be NULL). Returns 0, or -1 with the drop reason.
 */
int traps_pdu_to_event(struct snmp_pdu *, const struct sockaddr *from,
    socklen_t fromlen, char *scratch, size_t scratchlen, struct logevent *,
    enum stats_reason *);

#endif
