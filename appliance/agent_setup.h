/* agent_setup.h: the agent's role and transport, set before init_agent. */
#ifndef SOPD_AGENT_SETUP_H
#define SOPD_AGENT_SETUP_H

struct config;

/* How the agent runs: not at all, standalone master, or AgentX subagent. */
enum agent_role {
	AGENT_ROLE_NONE,
	AGENT_ROLE_MASTER,
	AGENT_ROLE_SUBAGENT,
};

/* The agent's role from the config. */
enum agent_role agent_role(const struct config *);
/* Set the agent's role and transport in net-snmp, before init_agent. */
void agent_setup(const struct config *, enum agent_role);

#endif
