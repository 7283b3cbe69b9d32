/* agent.h: the SOP-APPLIANCE-MIB handlers served by the SNMP agent. */
#ifndef SOPD_AGENT_H
#define SOPD_AGENT_H

struct sopd;

/* Register the MIB's handlers (called by the bridge before init_snmp). */
void agent_register(struct sopd *);
/* Drop handlers and cached rows at shutdown. */
void agent_unregister(void);

#endif
