/* config.h: sopd's YAML configuration, loaded whole and swapped on reload. */
#ifndef SOPD_CONFIG_H
#define SOPD_CONFIG_H

#include <stddef.h>

#include "yamlnode.h"

/* How the SNMP agent runs (agent: mode). */
enum config_agent_mode {
	CONFIG_AGENT_MASTER, /* standalone master on agent_listen */
	CONFIG_AGENT_AGENTX, /* AgentX subagent of the system's snmpd */
};

/* An SNMPv3 USM user of the agent: read-only, at one security level. */
struct config_snmp_user {
	char *name;
	char *auth;	 /* "MD5", "SHA", "SHA-256", "SHA-512" */
	char *auth_pass; /* at least 8 characters */
	char *priv;	 /* "AES", "AES-256", "DES"; NULL: authNoPriv */
	char *priv_pass;
	int authpriv;	 /* 1: authPriv required, 0: authNoPriv enough */
	char *engine_id; /* traps: the sender's engineID, hex; NULL: ours */
};

/* A named set of host patterns (exact names or globs). */
struct hostgroup {
	char *name;
	char **patterns;
	size_t n;
};

struct config {
	char *file;	 /* the config file's path */
	char *base_dir;	 /* relative paths resolve against this */
	char *state_dir; /* SQLite database lives here */
	char *user;	 /* switch to it after binding; NULL: stay */
	char *group;	 /* NULL: the user's login group */
	/* Inputs: "host:port", NULL when disabled. */
	char *syslog_udp;
	char *syslog_tcp;
	char *syslog_relp; /* RELP (librelp); NULL: off (default) */
	char *trap_listen;
	char *http_listen;
	char *agent_listen;	   /* SNMP agent (SOP-APPLIANCE-MIB) */
	size_t max_message_size;   /* bytes, default 65536 */
	int udp_rcvbuf;		   /* bytes, default 32 MiB */
	size_t tcp_max_sessions;   /* default 1000 */
	int tcp_idle_timeout;	   /* seconds, default 600 */
	char *syslog_tls;	   /* RFC 5425; NULL: off (default) */
	char *tls_cert;		   /* PEM chain; required with tls */
	char *tls_key;		   /* PEM private key; required with tls */
	char *tls_ca;		   /* set: client certificates required */
	int tls_handshake_timeout; /* seconds, default 10 */
	char **communities;	   /* v1/v2c trap communities */
	size_t ncommunities;
	char **agent_communities; /* read-only communities of the agent */
	size_t nagent_communities;
	int agent_mode;			      /* enum config_agent_mode */
	char *agentx_socket;		      /* AgentX master's socket */
	int agentx_ping;		      /* seconds between AgentX pings */
	struct config_snmp_user *agent_users; /* SNMPv3 users of the agent */
	size_t nagent_users;
	/* Rules. */
	char **rule_paths; /* files or directories */
	size_t nrule_paths;
	char **mib_dirs;
	size_t nmib_dirs;
	struct hostgroup *groups;
	size_t ngroups;
	/* Incidents. */
	size_t sample_events; /* recent events kept per incident, default 10 */
	size_t max_open_incidents; /* default 100000 */
	size_t max_open_per_rule;  /* default 10000 */
	size_t max_threshold_keys; /* correlation state bound, default 100000 */
	int commit_interval_ms;	   /* default 100: batching of writes */
	char *synchronous;	   /* "normal" or "full" */
	int integrity_interval;	   /* s between integrity checks, 0 off */
	long long retention; /* s resolved incidents are kept; 0: for ever */
	/*
	 * Sections parsed by their own modules (calendar, escalation,
	 * windows, notify, expectations): the nodes live in yaml, which the
	 * config owns; NULL when the section is absent.
	 */
	struct ynode *yaml;
	struct ynode *sec_calendar;
	struct ynode *sec_escalation;
	struct ynode *sec_windows;
	struct ynode *sec_notify;
	struct ynode *sec_expect;
	struct ynode *sec_poll; /* poll.c */
	/* System group (agent). */
	char *sys_name;
	char *sys_contact;
	char *sys_location;
	/* http: access settings, read by auth.c (NULL when absent). */
	struct ynode *sec_http;
	/* SNMPv3 users whose traps and informs are accepted. */
	struct config_snmp_user *trap_users;
	size_t ntrap_users;
	/* schedule: the SOP's jobs, parsed by schedule.c (NULL: none). */
	struct ynode *sec_schedule;
};

/* Load a config file; NULL with every problem in errs. */
struct config *config_load(const char *file, struct errlist *errs);
void config_free(struct config *);
/* Resolve a path relative to the config file's directory (malloc'd). */
char *config_path(const struct config *, const char *path);
/* Split "host:port" ("[v6]:port" too) into parts; -1 if malformed. */
int config_split_addr(const char *addr, char *host, size_t hostlen, char *port,
    size_t portlen);
/* The group of that name, or NULL. */
const struct hostgroup *config_group(const struct config *, const char *);

#endif
