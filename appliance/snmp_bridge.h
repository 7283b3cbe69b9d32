/* snmp_bridge.h: drive net-snmp (traps in, agent) from the libevent loop. */
#ifndef SOPD_SNMP_BRIDGE_H
#define SOPD_SNMP_BRIDGE_H

struct event_base;
struct config;
struct sopd;

/*
 * Initialise net-snmp once: route its log into ours, set the MIB
 * directories, start the agent (standalone master on cfg->agent_listen, or
 * AgentX subagent) with the handlers of agent.c, and hook net-snmp's
 * descriptors and alarms into the loop. Returns -1 with *cause on failure.
 */
int snmp_bridge_start(struct sopd *, char **cause);
/* Re-read net-snmp's descriptor set and timeout; call after net-snmp calls. */
void snmp_bridge_update(void);
/* Close every session and shut net-snmp down. */
void snmp_bridge_stop(void);

#endif
