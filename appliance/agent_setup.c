/* agent_setup.c: the agent's role and transport, set before init_agent. */
#include <stdlib.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent_setup.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

/* The agent's role from the config. */
enum agent_role
agent_role(const struct config *cfg)
{
	if (cfg->agent_mode == CONFIG_AGENT_AGENTX)
		return AGENT_ROLE_SUBAGENT;
	if (cfg->agent_listen != NULL)
		return AGENT_ROLE_MASTER;
	return AGENT_ROLE_NONE;
}

/* Set the agent's role and transport before init_agent. */
void
agent_setup(const struct config *cfg, enum agent_role role)
{
	char *ports, nosmux[] = "-smux";

	/* init_agent would open SMUX (TCP 199, every address): not ours. */
	add_to_init_list(nosmux);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_NO_ROOT_ACCESS, 1);
	/* No log line per request (libwrap's "Connection from ..."). */
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_DONT_LOG_TCPWRAPPERS_CONNECTS, 1);
	switch (role) {
	case AGENT_ROLE_MASTER:
		netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
		    NETSNMP_DS_AGENT_ROLE, 0);
		netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
		    NETSNMP_DS_AGENT_AGENTX_MASTER, 0);
		if (cfg->agent_listen[0] == '[')
			xasprintf(&ports, "udp6:%s", cfg->agent_listen);
		else
			xasprintf(&ports, "udp:%s", cfg->agent_listen);
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
		    NETSNMP_DS_AGENT_PORTS, ports);
		free(ports);
		break;
	case AGENT_ROLE_SUBAGENT:
		netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
		    NETSNMP_DS_AGENT_ROLE, 1);
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
		    NETSNMP_DS_AGENT_X_SOCKET, cfg->agentx_socket);
		if (cfg->nagent_users > 0)
			log_warnx(
			    "agent: AgentX subagent: the SNMPv3 users "
			    "of the config are the master snmpd's business");
		break;
	case AGENT_ROLE_NONE:
		break;
	}
}
