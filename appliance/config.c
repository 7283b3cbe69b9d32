/* config.c: load sopd's YAML configuration; every mistake as file:line:col. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct cfgload {
	const char *file;
	struct config *cfg;
	struct errlist *errs;
};

/* Defaults: the development addresses of DESIGN.md, state in ./var. */
static void
config_defaults(struct config *cfg)
{
	cfg->state_dir = xstrdup("var");
	cfg->syslog_udp = xstrdup("127.0.0.1:5514");
	cfg->syslog_tcp = xstrdup("127.0.0.1:5514");
	cfg->trap_listen = xstrdup("127.0.0.1:1162");
	cfg->http_listen = xstrdup("127.0.0.1:8080");
	cfg->agent_listen = NULL;
	cfg->agent_mode = CONFIG_AGENT_MASTER;
	cfg->agentx_socket = xstrdup("/var/agentx/master");
	cfg->agentx_ping = 5;
	cfg->max_message_size = 65536;
	cfg->udp_rcvbuf = 32 * 1024 * 1024;
	cfg->tcp_max_sessions = 1000;
	cfg->tcp_idle_timeout = 600;
	cfg->tls_handshake_timeout = 10;
	cfg->sample_events = 10;
	cfg->max_open_incidents = 100000;
	cfg->max_open_per_rule = 10000;
	cfg->max_threshold_keys = 100000;
	cfg->commit_interval_ms = 100;
	cfg->synchronous = xstrdup("normal");
	cfg->integrity_interval = 86400;
	cfg->retention = 400LL * 86400;
	cfg->sys_name = xstrdup("sopd");
	cfg->sys_contact = xstrdup("");
	cfg->sys_location = xstrdup("");
}

/* Free a NULL-terminated-by-count string array. */
static void
config_free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Free the agent's SNMPv3 users. */
static void
config_free_users(struct config_snmp_user *u, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].auth);
		free(u[i].auth_pass);
		free(u[i].priv);
		free(u[i].priv_pass);
		free(u[i].engine_id);
	}
	free(u);
}

/* Free a configuration. */
void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->file);
	free(cfg->base_dir);
	free(cfg->state_dir);
	free(cfg->user);
	free(cfg->group);
	free(cfg->syslog_udp);
	free(cfg->syslog_tcp);
	free(cfg->syslog_relp);
	free(cfg->syslog_tls);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->trap_listen);
	free(cfg->http_listen);
	free(cfg->agent_listen);
	config_free_strv(cfg->communities, cfg->ncommunities);
	config_free_strv(cfg->agent_communities, cfg->nagent_communities);
	free(cfg->agentx_socket);
	config_free_users(cfg->agent_users, cfg->nagent_users);
	config_free_users(cfg->trap_users, cfg->ntrap_users);
	config_free_strv(cfg->rule_paths, cfg->nrule_paths);
	config_free_strv(cfg->mib_dirs, cfg->nmib_dirs);
	for (i = 0; i < cfg->ngroups; i++) {
		free(cfg->groups[i].name);
		config_free_strv(cfg->groups[i].patterns, cfg->groups[i].n);
	}
	free(cfg->groups);
	free(cfg->synchronous);
	free(cfg->sys_name);
	free(cfg->sys_contact);
	free(cfg->sys_location);
	ynode_free(cfg->yaml);
	free(cfg);
}

/* Resolve a path against the config file's directory. */
char *
config_path(const struct config *cfg, const char *path)
{
	char *p;

	if (path[0] == '/' || cfg->base_dir == NULL)
		return xstrdup(path);
	xasprintf(&p, "%s/%s", cfg->base_dir, path);
	return p;
}

/* Split "host:port" or "[v6]:port". */
int
config_split_addr(const char *addr, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *h = addr;
	size_t hl;

	if (addr[0] == '[') {
		colon = strstr(addr, "]:");
		if (colon == NULL)
			return -1;
		h = addr + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atoi(colon + 1) > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* The group of that name. */
const struct hostgroup *
config_group(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ngroups; i++)
		if (strcmp(cfg->groups[i].name, name) == 0)
			return &cfg->groups[i];
	return NULL;
}

/* A scalar string setting; "" or "off"/null disables an address. */
static void
config_str(struct cfgload *cl, struct ynode *n, char **dst, int is_addr)
{
	char host[256], port[16];

	if (n->type != YNODE_SCALAR) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "expected a string");
		return;
	}
	free(*dst);
	*dst = NULL;
	if (is_addr &&
	    (n->value[0] == '\0' ||
		(n->plain &&
		    (strcmp(n->value, "off") == 0 ||
			strcmp(n->value, "null") == 0 ||
			strcmp(n->value, "~") == 0))))
		return;
	if (is_addr &&
	    config_split_addr(n->value, host, sizeof(host), port,
		sizeof(port)) == -1) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "expected an address as host:port, not \"%s\"", n->value);
		return;
	}
	*dst = xstrdup(n->value);
}

/* A list of strings (a single scalar counts as a list of one). */
static void
config_strv(struct cfgload *cl, struct ynode *n, char ***dst, size_t *dn)
{
	size_t i;

	config_free_strv(*dst, *dn);
	*dst = NULL;
	*dn = 0;
	if (n->type == YNODE_SCALAR) {
		*dst = xcalloc(1, sizeof(char *));
		(*dst)[(*dn)++] = xstrdup(n->value);
		return;
	}
	if (n->type != YNODE_SEQ) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "expected a list of strings");
		return;
	}
	*dst = xcalloc(n->n, sizeof(char *));
	for (i = 0; i < n->n; i++) {
		if (n->items[i]->type != YNODE_SCALAR) {
			errlist_add(cl->errs, cl->file, n->items[i]->line,
			    n->items[i]->col, "expected a string");
			continue;
		}
		(*dst)[(*dn)++] = xstrdup(n->items[i]->value);
	}
}

/* An integer setting within bounds, stored as size_t or int. */
static void
config_num(struct cfgload *cl, struct ynode *n, long long min, long long max,
    size_t *zdst, int *idst)
{
	long long v;

	if (ynode_int(n, cl->file, min, max, &v, cl->errs) == -1)
		return;
	if (zdst != NULL)
		*zdst = (size_t)v;
	if (idst != NULL)
		*idst = (int)v;
}

/* Report an unknown key with the keys that are allowed. */
static void
config_unknown(struct cfgload *cl, struct ynode *key, const char *section,
    const char *allowed)
{
	errlist_add(cl->errs, cl->file, key->line, key->col,
	    "unknown setting \"%s\"%s%s (expected one of: %s)", key->value,
	    section ? " in " : "", section ? section : "", allowed);
}

/* Require a map node. */
static int
config_is_map(struct cfgload *cl, struct ynode *n, const char *what)
{
	if (n->type == YNODE_MAP)
		return 1;
	errlist_add(cl->errs, cl->file, n->line, n->col,
	    "%s must be a map of settings", what);
	return 0;
}

/* The tls settings of the syslog: section. */
static void
config_syslog_tls(struct cfgload *cl, struct ynode *key, struct ynode *v)
{
	struct config *cfg = cl->cfg;
	const char *k = key->value;

	if (strcmp(k, "tls") == 0)
		config_str(cl, v, &cfg->syslog_tls, 1);
	else if (strcmp(k, "tls_cert") == 0)
		config_str(cl, v, &cfg->tls_cert, 0);
	else if (strcmp(k, "tls_key") == 0)
		config_str(cl, v, &cfg->tls_key, 0);
	else if (strcmp(k, "tls_ca") == 0)
		config_str(cl, v, &cfg->tls_ca, 0);
	else if (strcmp(k, "tls_handshake_timeout") == 0)
		config_num(cl, v, 1, 300, NULL, &cfg->tls_handshake_timeout);
	else
		config_unknown(cl, key, "syslog",
		    "udp, tcp, max_message_size, "
		    "udp_rcvbuf, tcp_max_sessions, tcp_idle_timeout, tls, "
		    "tls_cert, tls_key, tls_ca, tls_handshake_timeout");
}

/* A TLS input needs its certificate and key: there is no default pair. */
static void
config_syslog_tls_check(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	struct ynode *key = NULL;
	size_t i;

	if (cfg->syslog_tls == NULL)
		return;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i]->value, "tls") == 0)
			key = m->keys[i];
	if (key == NULL)
		return;
	if (cfg->tls_cert == NULL || *cfg->tls_cert == '\0')
		errlist_add(cl->errs, cl->file, key->line, key->col,
		    "syslog tls needs tls_cert (a PEM certificate chain)");
	if (cfg->tls_key == NULL || *cfg->tls_key == '\0')
		errlist_add(cl->errs, cl->file, key->line, key->col,
		    "syslog tls needs tls_key (the certificate's PEM private "
		    "key)");
}

/* The syslog: section. */
static void
config_syslog(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	size_t i;
	const char *k;

	if (!config_is_map(cl, m, "syslog"))
		return;
	for (i = 0; i < m->n; i++) {
		k = m->keys[i]->value;
		if (strcmp(k, "udp") == 0)
			config_str(cl, m->items[i], &cfg->syslog_udp, 1);
		else if (strcmp(k, "tcp") == 0)
			config_str(cl, m->items[i], &cfg->syslog_tcp, 1);
		else if (strcmp(k, "relp") == 0)
			config_str(cl, m->items[i], &cfg->syslog_relp, 1);
		else if (strcmp(k, "max_message_size") == 0)
			config_num(cl, m->items[i], 480, 1024 * 1024,
			    &cfg->max_message_size, NULL);
		else if (strcmp(k, "udp_rcvbuf") == 0)
			config_num(cl, m->items[i], 65536, 1 << 30, NULL,
			    &cfg->udp_rcvbuf);
		else if (strcmp(k, "tcp_max_sessions") == 0)
			config_num(cl, m->items[i], 1, 100000,
			    &cfg->tcp_max_sessions, NULL);
		else if (strcmp(k, "tcp_idle_timeout") == 0)
			config_num(cl, m->items[i], 1, 86400, NULL,
			    &cfg->tcp_idle_timeout);
		else if (strncmp(k, "tls", 3) == 0)
			config_syslog_tls(cl, m->keys[i], m->items[i]);
		else
			config_unknown(cl, m->keys[i], "syslog",
			    "udp, tcp, relp, "
			    "max_message_size, udp_rcvbuf, tcp_max_sessions, "
			    "tcp_idle_timeout, tls, tls_cert, tls_key, tls_ca, "
			    "tls_handshake_timeout");
	}
	config_syslog_tls_check(cl, m);
}

static void config_snmp_users(struct cfgload *, struct ynode *,
    struct config_snmp_user **, size_t *, int);

/* The traps: section. */
static void
config_traps(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	size_t i;
	const char *k;

	if (!config_is_map(cl, m, "traps"))
		return;
	for (i = 0; i < m->n; i++) {
		k = m->keys[i]->value;
		if (strcmp(k, "listen") == 0)
			config_str(cl, m->items[i], &cfg->trap_listen, 1);
		else if (strcmp(k, "communities") == 0)
			config_strv(cl, m->items[i], &cfg->communities,
			    &cfg->ncommunities);
		else if (strcmp(k, "users") == 0)
			config_snmp_users(cl, m->items[i], &cfg->trap_users,
			    &cfg->ntrap_users, 1);
		else
			config_unknown(cl, m->keys[i], "traps",
			    "listen, communities, users");
	}
}

/* agent: agentx_ping_interval: 1 s to 1 h between pings (reconnects). */
static void
config_agentx_ping(struct cfgload *cl, struct ynode *n)
{
	long long secs;

	if (ynode_duration(n, cl->file, &secs, cl->errs) == -1)
		return;
	if (secs < 1 || secs > 3600) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "agentx_ping_interval must be between 1s and 1h");
		return;
	}
	cl->cfg->agentx_ping = (int)secs;
}

/* agent: mode: master or agentx. */
static void
config_agent_mode(struct cfgload *cl, struct ynode *n)
{
	if (n->type == YNODE_SCALAR && strcmp(n->value, "master") == 0)
		cl->cfg->agent_mode = CONFIG_AGENT_MASTER;
	else if (n->type == YNODE_SCALAR && strcmp(n->value, "agentx") == 0)
		cl->cfg->agent_mode = CONFIG_AGENT_AGENTX;
	else
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "mode must be master or agentx");
}

/*
 * agent: agentx_socket: an absolute Unix socket path ("unix:" prefix
 * allowed) or a loopback TCP address ("tcp:127.0.0.1:705"); AgentX has no
 * authentication, so it never leaves the box.
 */
static void
config_agentx_socket(struct cfgload *cl, struct ynode *n)
{
	const char *v = n->value, *p;
	char host[64], port[16];
	int ok = 0;

	if (n->type == YNODE_SCALAR) {
		p = strncmp(v, "unix:", 5) == 0 ? v + 5 : v;
		if (p[0] == '/')
			ok = strlen(p) < 108 && strspn(p, "\t\n\r") == 0;
		else if (strncmp(v, "tcp:", 4) == 0 &&
		    config_split_addr(v + 4, host, sizeof(host), port,
			sizeof(port)) == 0)
			ok = strcmp(host, "127.0.0.1") == 0 ||
			    strcmp(host, "localhost") == 0 ||
			    strcmp(host, "::1") == 0;
	}
	if (!ok) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "agentx_socket must be an absolute socket path (under 108 "
		    "characters) or tcp:127.0.0.1:PORT");
		return;
	}
	free(cl->cfg->agentx_socket);
	cl->cfg->agentx_socket = xstrdup(v);
}

/* A scalar that must be one of a list (case-insensitive); NULL if not. */
static char *
config_choice(struct cfgload *cl, struct ynode *n, const char *what,
    const char *const *choices)
{
	size_t i, off = 0;
	char allowed[128] = "";

	for (i = 0; choices[i] != NULL; i++) {
		if (n->type == YNODE_SCALAR &&
		    strcasecmp(n->value, choices[i]) == 0)
			return xstrdup(choices[i]);
		if (off < sizeof(allowed))
			off += snprintf(allowed + off, sizeof(allowed) - off,
			    "%s%s", i == 0 ? "" : ", ", choices[i]);
	}
	errlist_add(cl->errs, cl->file, n->line, n->col,
	    "%s must be one of: %s", what, allowed);
	return NULL;
}

/* A USM pass phrase: 8 to 128 printable characters (never echoed). */
static char *
config_passphrase(struct cfgload *cl, struct ynode *n, const char *what)
{
	size_t i, len;

	if (n->type != YNODE_SCALAR) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "%s must be a string", what);
		return NULL;
	}
	len = strlen(n->value);
	for (i = 0; i < len; i++) {
		if ((unsigned char)n->value[i] < 0x20 || n->value[i] == 0x7f)
			break;
	}
	if (len < 8 || len > 128 || i != len) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "%s must be 8 to 128 printable characters", what);
		return NULL;
	}
	return xstrdup(n->value);
}

/* A USM user name: 1 to 32 printable characters, no blanks or quotes. */
static char *
config_user_name(struct cfgload *cl, struct ynode *n)
{
	size_t len;

	if (n->type == YNODE_SCALAR) {
		len = strlen(n->value);
		if (len > 0 && len <= 32 &&
		    strcspn(n->value, " \t\"'#\\") == len &&
		    strspn(n->value,
			"!\"#$%&'()*+,-./"
			"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
			"abcdefghijklmnopqrstuvwxyz{|}~") == len)
			return xstrdup(n->value);
	}
	errlist_add(cl->errs, cl->file, n->line, n->col,
	    "user name must be "
	    "1 to 32 printable characters without blanks or quotes");
	return NULL;
}

/*
 * A sender's snmpEngineID: 5 to 32 octets in hex, with or without 0x,
 * kept as net-snmp writes it (0x and lower case).
 */
static char *
config_engine_id(struct cfgload *cl, struct ynode *n)
{
	const char *s;
	char *id;
	size_t i, len;

	if (n->type != YNODE_SCALAR) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "engine_id must be a hex string");
		return NULL;
	}
	s = n->value;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	len = strlen(s);
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			break;
	if (i < len || len % 2 != 0 || len < 10 || len > 64) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "engine_id must be 5 to 32 octets in hex (e.g. "
		    "0x8000000001020304)");
		return NULL;
	}
	id = xmalloc(len + 3);
	id[0] = '0';
	id[1] = 'x';
	for (i = 0; i <= len; i++)
		id[i + 2] = (char)tolower((unsigned char)s[i]);
	return id;
}

/* One key of a user's map; traps users may name a sender's engine_id. */
static void
config_agent_user_key(struct cfgload *cl, struct ynode *k, struct ynode *v,
    struct config_snmp_user *u, int traps)
{
	static const char *const auths[] = { "SHA", "SHA-256", "SHA-512", "MD5",
		NULL };
	static const char *const privs[] = { "AES", "AES-256", "DES", NULL };
	static const char *const levels[] = { "authpriv", "authnopriv", NULL };
	char *s;

	if (strcmp(k->value, "name") == 0) {
		free(u->name);
		u->name = config_user_name(cl, v);
	} else if (strcmp(k->value, "auth") == 0) {
		free(u->auth);
		u->auth = config_choice(cl, v, "auth", auths);
	} else if (strcmp(k->value, "auth_pass") == 0) {
		free(u->auth_pass);
		u->auth_pass = config_passphrase(cl, v, "auth_pass");
	} else if (strcmp(k->value, "priv") == 0) {
		free(u->priv);
		u->priv = config_choice(cl, v, "priv", privs);
	} else if (strcmp(k->value, "priv_pass") == 0) {
		free(u->priv_pass);
		u->priv_pass = config_passphrase(cl, v, "priv_pass");
	} else if (strcmp(k->value, "level") == 0) {
		if ((s = config_choice(cl, v, "level", levels)) != NULL)
			u->authpriv = strcmp(s, "authpriv") == 0;
		free(s);
	} else if (traps && strcmp(k->value, "engine_id") == 0) {
		free(u->engine_id);
		u->engine_id = config_engine_id(cl, v);
	} else if (traps)
		config_unknown(cl, k, "traps users",
		    "name, auth, auth_pass, "
		    "priv, priv_pass, level, engine_id");
	else
		config_unknown(cl, k, "agent users",
		    "name, auth, auth_pass, "
		    "priv, priv_pass, level");
}

/* One user of agent: users; 0 when complete, -1 with errors added. */
static int
config_agent_user(struct cfgload *cl, struct ynode *m,
    struct config_snmp_user *u, int traps)
{
	size_t i, nerr = cl->errs->n;

	memset(u, 0, sizeof(*u));
	u->authpriv = 1;
	if (!config_is_map(cl, m, "a user"))
		return -1;
	for (i = 0; i < m->n; i++)
		config_agent_user_key(cl, m->keys[i], m->items[i], u, traps);
	if (u->name == NULL && !ynode_get(m, "name"))
		errlist_add(cl->errs, cl->file, m->line, m->col,
		    "a user needs a name");
	if (u->auth_pass == NULL && !ynode_get(m, "auth_pass"))
		errlist_add(cl->errs, cl->file, m->line, m->col,
		    "user needs an auth_pass (v3 users always authenticate)");
	if (u->authpriv && u->priv_pass == NULL && !ynode_get(m, "priv_pass"))
		errlist_add(cl->errs, cl->file, m->line, m->col,
		    "user with level authpriv needs a priv_pass");
	if (!u->authpriv && (ynode_get(m, "priv") || ynode_get(m, "priv_pass")))
		errlist_add(cl->errs, cl->file, m->line, m->col,
		    "user with level authnopriv takes no priv or priv_pass");
	if (u->auth == NULL)
		u->auth = xstrdup("SHA");
	if (u->authpriv && u->priv == NULL)
		u->priv = xstrdup("AES");
	return cl->errs->n == nerr ? 0 : -1;
}

/* Whether two users are one USM entry (a name, localized to one engine). */
static int
config_user_same(const struct config_snmp_user *a,
    const struct config_snmp_user *b)
{
	if (a->name == NULL || b->name == NULL || strcmp(a->name, b->name) != 0)
		return 0;
	if (a->engine_id == NULL || b->engine_id == NULL)
		return a->engine_id == b->engine_id;
	return strcmp(a->engine_id, b->engine_id) == 0;
}

/*
 * agent: users or traps: users: a list of SNMPv3 users with distinct
 * names (traps: distinct names per engine_id).
 */
static void
config_snmp_users(struct cfgload *cl, struct ynode *n,
    struct config_snmp_user **users, size_t *nusers, int traps)
{
	struct config_snmp_user *u;
	size_t i, j;

	config_free_users(*users, *nusers);
	*users = NULL;
	*nusers = 0;
	if (n->type != YNODE_SEQ) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "users must be a list of {name, auth, auth_pass, priv, "
		    "priv_pass, level%s}",
		    traps ? ", engine_id" : "");
		return;
	}
	*users = xcalloc(n->n + 1, sizeof(**users));
	for (i = 0; i < n->n; i++) {
		u = &(*users)[(*nusers)++];
		if (config_agent_user(cl, n->items[i], u, traps) != 0 &&
		    u->name == NULL)
			continue;
		for (j = 0; j + 1 < *nusers; j++) {
			if (config_user_same(&(*users)[j], u))
				errlist_add(cl->errs, cl->file,
				    n->items[i]->line, n->items[i]->col,
				    "user \"%s\" is defined twice", u->name);
		}
	}
}

/* The agent: section. */
static void
config_agent(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	size_t i;
	const char *k;

	if (!config_is_map(cl, m, "agent"))
		return;
	for (i = 0; i < m->n; i++) {
		k = m->keys[i]->value;
		if (strcmp(k, "listen") == 0)
			config_str(cl, m->items[i], &cfg->agent_listen, 1);
		else if (strcmp(k, "communities") == 0)
			config_strv(cl, m->items[i], &cfg->agent_communities,
			    &cfg->nagent_communities);
		else if (strcmp(k, "sys_name") == 0)
			config_str(cl, m->items[i], &cfg->sys_name, 0);
		else if (strcmp(k, "sys_contact") == 0)
			config_str(cl, m->items[i], &cfg->sys_contact, 0);
		else if (strcmp(k, "sys_location") == 0)
			config_str(cl, m->items[i], &cfg->sys_location, 0);
		else if (strcmp(k, "mode") == 0)
			config_agent_mode(cl, m->items[i]);
		else if (strcmp(k, "agentx_socket") == 0)
			config_agentx_socket(cl, m->items[i]);
		else if (strcmp(k, "agentx_ping_interval") == 0)
			config_agentx_ping(cl, m->items[i]);
		else if (strcmp(k, "users") == 0)
			config_snmp_users(cl, m->items[i], &cfg->agent_users,
			    &cfg->nagent_users, 0);
		else
			config_unknown(cl, m->keys[i], "agent",
			    "listen, mode, "
			    "agentx_socket, agentx_ping_interval, communities, "
			    "users, sys_name, sys_contact, sys_location");
	}
}

/*
 * http.listen as a list: every address checked, the first one kept in
 * http_listen (each entry "host:port" or {address: host:port, tls: ...};
 * auth_check() reads the rest).
 */
static void
config_http_listens(struct cfgload *cl, struct ynode *s)
{
	struct ynode *e, *a;
	char *addr = NULL;
	size_t i;

	if (s->n == 0) {
		errlist_add(cl->errs, cl->file, s->line, s->col,
		    "http listen: expected at least one address");
		return;
	}
	for (i = 0; i < s->n; i++) {
		e = s->items[i];
		a = e->type == YNODE_MAP    ? ynode_get(e, "address") :
		    e->type == YNODE_SCALAR ? e :
					      NULL;
		if (a == NULL) {
			errlist_add(cl->errs, cl->file, e->line, e->col,
			    "http listen: expected host:port or {address: "
			    "host:port, tls: auto|on|off}");
			continue;
		}
		config_str(cl, a, &addr, 1);
		if (addr == NULL)
			continue;
		if (i == 0) {
			free(cl->cfg->http_listen);
			cl->cfg->http_listen = addr;
		} else
			free(addr);
		addr = NULL;
	}
}

/* The http: section. */
static void
config_http(struct cfgload *cl, struct ynode *m)
{
	size_t i;

	if (!config_is_map(cl, m, "http"))
		return;
	cl->cfg->sec_http = m; /* the rest: auth_check() */
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i]->value, "listen") != 0)
			continue;
		if (m->items[i]->type == YNODE_SEQ)
			config_http_listens(cl, m->items[i]);
		else
			config_str(cl, m->items[i], &cl->cfg->http_listen, 1);
	}
}

/* The incidents: section. */
static void
config_incidents(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	size_t i;
	const char *k;

	if (!config_is_map(cl, m, "incidents"))
		return;
	for (i = 0; i < m->n; i++) {
		k = m->keys[i]->value;
		if (strcmp(k, "sample_events") == 0)
			config_num(cl, m->items[i], 0, 100, &cfg->sample_events,
			    NULL);
		else if (strcmp(k, "max_open") == 0)
			config_num(cl, m->items[i], 1, 10000000,
			    &cfg->max_open_incidents, NULL);
		else if (strcmp(k, "max_open_per_rule") == 0)
			config_num(cl, m->items[i], 1, 10000000,
			    &cfg->max_open_per_rule, NULL);
		else if (strcmp(k, "max_threshold_keys") == 0)
			config_num(cl, m->items[i], 1, 10000000,
			    &cfg->max_threshold_keys, NULL);
		else
			config_unknown(cl, m->keys[i], "incidents",
			    "sample_events, max_open, max_open_per_rule, "
			    "max_threshold_keys");
	}
}

/* store: integrity_check_interval: 0 (off) or up to 30 days. */
static void
config_integrity(struct cfgload *cl, struct ynode *n)
{
	long long secs;

	if (ynode_duration(n, cl->file, &secs, cl->errs) == -1)
		return;
	if (secs < 0 || secs > 30 * 86400) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "integrity_check_interval must be 0 (off) or up to 30d");
		return;
	}
	cl->cfg->integrity_interval = (int)secs;
}

/* The store: section. */
/* store: retention: 0 (keep for ever) or at least a day. */
static void
config_retention(struct cfgload *cl, struct ynode *n)
{
	long long secs;

	if (ynode_duration(n, cl->file, &secs, cl->errs) == -1)
		return;
	if (secs != 0 && secs < 86400) {
		errlist_add(cl->errs, cl->file, n->line, n->col,
		    "retention must be 0 (keep everything) or at least 1d");
		return;
	}
	cl->cfg->retention = secs;
}

/* The store: section. */
static void
config_store(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	size_t i;
	const char *k;
	struct ynode *v;

	if (!config_is_map(cl, m, "store"))
		return;
	for (i = 0; i < m->n; i++) {
		k = m->keys[i]->value;
		v = m->items[i];
		if (strcmp(k, "commit_interval_ms") == 0)
			config_num(cl, v, 0, 10000, NULL,
			    &cfg->commit_interval_ms);
		else if (strcmp(k, "synchronous") == 0) {
			if (v->type != YNODE_SCALAR ||
			    (strcmp(v->value, "normal") != 0 &&
				strcmp(v->value, "full") != 0)) {
				errlist_add(cl->errs, cl->file, v->line, v->col,
				    "synchronous must be normal or full");
				continue;
			}
			config_str(cl, v, &cfg->synchronous, 0);
		} else if (strcmp(k, "integrity_check_interval") == 0)
			config_integrity(cl, v);
		else if (strcmp(k, "retention") == 0)
			config_retention(cl, v);
		else
			config_unknown(cl, m->keys[i], "store",
			    "commit_interval_ms, synchronous, "
			    "integrity_check_interval, retention");
	}
}

/* The host_groups: section: name -> list of patterns. */
static void
config_groups(struct cfgload *cl, struct ynode *m)
{
	struct config *cfg = cl->cfg;
	struct hostgroup *g;
	size_t i;

	if (!config_is_map(cl, m, "host_groups"))
		return;
	cfg->groups = xcalloc(m->n, sizeof(*cfg->groups));
	for (i = 0; i < m->n; i++) {
		g = &cfg->groups[cfg->ngroups++];
		g->name = xstrdup(m->keys[i]->value);
		config_strv(cl, m->items[i], &g->patterns, &g->n);
	}
}

/*
 * user: or group: (top level): a name that exists on this system; sopd
 * switches to it after binding its ports (privdrop.c).
 */
static void
config_account(struct cfgload *cl, struct ynode *key, struct ynode *v)
{
	int is_user = strcmp(key->value, "user") == 0;
	char **dst = is_user ? &cl->cfg->user : &cl->cfg->group;

	if (v->type != YNODE_SCALAR || v->value[0] == '\0') {
		errlist_add(cl->errs, cl->file, v->line, v->col,
		    "%s: expected a name", key->value);
		return;
	}
	if (is_user ? getpwnam(v->value) == NULL : getgrnam(v->value) == NULL) {
		errlist_add(cl->errs, cl->file, v->line, v->col,
		    "%s: no %s \"%s\" on this system", key->value, key->value,
		    v->value);
		return;
	}
	free(*dst);
	*dst = xstrdup(v->value);
}

/* group: alone says nothing about whom to become. */
static void
config_account_check(struct cfgload *cl, struct ynode *root)
{
	size_t i;

	if (cl->cfg->group == NULL || cl->cfg->user != NULL)
		return;
	for (i = 0; i < root->n; i++) {
		if (strcmp(root->keys[i]->value, "group") == 0)
			errlist_add(cl->errs, cl->file, root->keys[i]->line,
			    root->keys[i]->col, "group: needs user:");
	}
}

/* Dispatch the top-level keys. */
static void
config_top(struct cfgload *cl, struct ynode *root)
{
	struct config *cfg = cl->cfg;
	size_t i;
	const char *k;
	struct ynode *v;

	for (i = 0; i < root->n; i++) {
		k = root->keys[i]->value;
		v = root->items[i];
		if (strcmp(k, "state_dir") == 0)
			config_str(cl, v, &cfg->state_dir, 0);
		else if (strcmp(k, "user") == 0 || strcmp(k, "group") == 0)
			config_account(cl, root->keys[i], v);
		else if (strcmp(k, "syslog") == 0)
			config_syslog(cl, v);
		else if (strcmp(k, "traps") == 0)
			config_traps(cl, v);
		else if (strcmp(k, "agent") == 0)
			config_agent(cl, v);
		else if (strcmp(k, "http") == 0)
			config_http(cl, v);
		else if (strcmp(k, "rules") == 0)
			config_strv(cl, v, &cfg->rule_paths, &cfg->nrule_paths);
		else if (strcmp(k, "mib_dirs") == 0)
			config_strv(cl, v, &cfg->mib_dirs, &cfg->nmib_dirs);
		else if (strcmp(k, "host_groups") == 0)
			config_groups(cl, v);
		else if (strcmp(k, "incidents") == 0)
			config_incidents(cl, v);
		else if (strcmp(k, "store") == 0)
			config_store(cl, v);
		else if (strcmp(k, "calendar") == 0)
			cfg->sec_calendar = v;
		else if (strcmp(k, "escalation") == 0)
			cfg->sec_escalation = v;
		else if (strcmp(k, "windows") == 0)
			cfg->sec_windows = v;
		else if (strcmp(k, "notify") == 0)
			cfg->sec_notify = v;
		else if (strcmp(k, "expectations") == 0)
			cfg->sec_expect = v;
		else if (strcmp(k, "poll") == 0)
			cfg->sec_poll = v;
		else if (strcmp(k, "schedule") == 0)
			cfg->sec_schedule = v;
		else
			config_unknown(cl, root->keys[i], NULL,
			    "state_dir, "
			    "user, group, syslog, traps, agent, http, rules, "
			    "mib_dirs, "
			    "host_groups, incidents, store, calendar, "
			    "escalation, windows, notify, expectations, poll, "
			    "schedule");
	}
}

/* Make relative paths relative to the config file's directory. */
static void
config_resolve(struct config *cfg)
{
	size_t i;
	char *p;

	p = config_path(cfg, cfg->state_dir);
	free(cfg->state_dir);
	cfg->state_dir = p;
	for (i = 0; i < cfg->nrule_paths; i++) {
		p = config_path(cfg, cfg->rule_paths[i]);
		free(cfg->rule_paths[i]);
		cfg->rule_paths[i] = p;
	}
	for (i = 0; i < cfg->nmib_dirs; i++) {
		p = config_path(cfg, cfg->mib_dirs[i]);
		free(cfg->mib_dirs[i]);
		cfg->mib_dirs[i] = p;
	}
}

/* Load a configuration file. */
struct config *
config_load(const char *file, struct errlist *errs)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct cfgload cl = { .file = file, .cfg = cfg, .errs = errs };
	struct ynode *root;
	size_t nerr = errs->n;
	char *dir, *abs;

	config_defaults(cfg);
	cfg->file = xstrdup(file);
	dir = xstrdup(file);
	if ((abs = realpath(dirname(dir), NULL)) != NULL)
		cfg->base_dir = abs; /* net-snmp needs absolute paths */
	else
		cfg->base_dir = xstrdup(dirname(dir));
	free(dir);
	if ((root = ynode_load(file, NULL, 0, errs)) == NULL)
		goto fail;
	if (root->type != YNODE_MAP)
		errlist_add(errs, file, root->line, root->col,
		    "the configuration must be a map of settings");
	else {
		config_top(&cl, root);
		config_account_check(&cl, root);
	}
	cfg->yaml = root;
	if (cfg->communities == NULL) {
		cfg->communities = xcalloc(1, sizeof(char *));
		cfg->communities[cfg->ncommunities++] = xstrdup("public");
	}
	if (cfg->agent_communities == NULL) {
		cfg->agent_communities = xcalloc(1, sizeof(char *));
		cfg->agent_communities[cfg->nagent_communities++] =
		    xstrdup("public");
	}
	if (cfg->rule_paths == NULL) {
		cfg->rule_paths = xcalloc(1, sizeof(char *));
		cfg->rule_paths[cfg->nrule_paths++] = xstrdup("rules");
	}
	if (errs->n != nerr)
		goto fail;
	config_resolve(cfg);
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}
