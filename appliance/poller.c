/*
 * poller.c: poll hosts' SNMP agents (v2c, v3) from the one loop.
 *
 * One asynchronous net-snmp session per host (snmp_open with a callback);
 * snmp_bridge.c watches the sessions' descriptors and runs their timeouts
 * in the libevent loop, so a poll is a chain of requests, each sent from
 * the previous response's callback, and a slow or dead host only holds its
 * own chain.  A poll is one GET of the scalars (sysUpTime, UCD memory and
 * load) and one GETBULK walk per table column (HOST-RESOURCES-MIB
 * processors and storage, IF-MIB); its samples go to metrics.c.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "poller.h"
#include "snmp_bridge.h"
#include "xmalloc.h"
#include "yamlnode.h"

#define POLL_BULK      32	   /* max-repetitions of a GETBULK */
#define POLL_PROGRAM   "sopd-poll" /* program of the events polls raise */
#define POLL_OCTET_MAX 1e12	   /* octets/s above: a discontinuity */
#define POLL_COUNT_MAX 1e9	   /* errors/s above: a discontinuity */
#define POLL_SPREAD    60	   /* first polls spread over (seconds) */

/* How a host is reached; strings point into the config's YAML. */
struct poll_auth {
	long long interval; /* seconds */
	long long timeout;  /* seconds */
	long long retries;
	int version; /* 2 (v2c) or 3 */
	const char *community;
	const char *user;
	const char *auth, *auth_pass;
	const char *priv, *priv_pass;
};

/* A file system or memory row of hrStorageTable. */
struct poll_srow {
	oid idx;
	int type; /* last arc of hrStorageTypes, 0: other */
	char descr[128];
	long long units, size, used;
	unsigned have;
};

/* An interface row (ifTable and ifXTable). */
struct poll_irow {
	oid idx;
	char name[64];
	int admin, oper;
	uint64_t in, out;   /* octets, 64-bit */
	uint64_t err, disc; /* in + out, 32-bit counters */
	unsigned have;
};

/* What one poll collects; allocated while the poll runs. */
struct poll_coll {
	int has_uptime;
	unsigned long uptime; /* ticks */
	double cpu_sum;
	int ncpu;
	double la[3];
	int has_la;
	long long mem[4]; /* total, avail, buffer, cached (kB) */
	unsigned has_mem;
	struct poll_srow st[POLL_MAX_ROWS];
	size_t nst;
	struct poll_irow ifs[POLL_MAX_ROWS];
	size_t nif;
};

/* Counters of the previous poll, for rates. */
struct poll_prev {
	oid idx;
	uint64_t in, out, err, disc;
	unsigned have;
};

struct poll_host {
	struct poller *p;
	char *name, *address, *group;
	struct poll_auth a;
	char *strs[7]; /* copies behind a's strings */
	netsnmp_session *ss;
	struct event *timer;
	int64_t due_us; /* when the timer fires */
	/* The running poll. */
	int busy;
	int phase; /* 0: scalars, then walk phase - 1 */
	oid cur[MAX_OID_LEN];
	size_t curlen;
	int nreq;
	struct poll_coll *c;
	/* Between polls. */
	int have_prev;
	unsigned long prev_uptime;
	int64_t prev_us;
	struct poll_prev *prev;
	size_t nprev;
	int misses;
	int reachable; /* -1: not polled yet */
	int64_t last_poll, last_ok;
	char last_error[128];
	json_t *latest; /* last values */
	uint64_t polls, skipped;
};

struct poller {
	struct sopd *sd;
	struct metrics *metrics;
	struct poll_host *hosts;
	size_t nhosts;
	struct event *prune;
};

/* The columns walked, in order. */
enum poll_col {
	COL_CPU,
	COL_ST_TYPE,
	COL_ST_DESCR,
	COL_ST_UNITS,
	COL_ST_SIZE,
	COL_ST_USED,
	COL_IF_DESCR,
	COL_IF_ADMIN,
	COL_IF_OPER,
	COL_IF_INDISC,
	COL_IF_INERR,
	COL_IF_OUTDISC,
	COL_IF_OUTERR,
	COL_IF_NAME,
	COL_IF_HCIN,
	COL_IF_HCOUT,
	COL_MAX
};
static const struct {
	oid base[11];
	size_t len;
} poll_cols[COL_MAX] = {
	{ { 1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2 }, 11 },  /* hrProcessorLoad */
	{ { 1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 2 }, 11 },  /* hrStorageType */
	{ { 1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 3 }, 11 },  /* hrStorageDescr */
	{ { 1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 4 }, 11 },  /* ...AllocationUnits */
	{ { 1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 5 }, 11 },  /* hrStorageSize */
	{ { 1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 6 }, 11 },  /* hrStorageUsed */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 2 }, 10 },      /* ifDescr */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 7 }, 10 },      /* ifAdminStatus */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 8 }, 10 },      /* ifOperStatus */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 13 }, 10 },     /* ifInDiscards */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 14 }, 10 },     /* ifInErrors */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 19 }, 10 },     /* ifOutDiscards */
	{ { 1, 3, 6, 1, 2, 1, 2, 2, 1, 20 }, 10 },     /* ifOutErrors */
	{ { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1 }, 11 },  /* ifName */
	{ { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6 }, 11 },  /* ifHCInOctets */
	{ { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10 }, 11 }, /* ifHCOutOctets */
};

/* The scalars of the first request. */
enum poll_scalar {
	SC_UPTIME,
	SC_MEMTOTAL,
	SC_MEMAVAIL,
	SC_MEMBUF,
	SC_MEMCACHED,
	SC_LA1,
	SC_LA5,
	SC_LA15,
	SC_MAX
};
static const struct {
	oid o[11];
	size_t len;
} poll_scalars[SC_MAX] = {
	{ { 1, 3, 6, 1, 2, 1, 1, 3, 0 }, 9 },		 /* sysUpTime.0 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 4, 5, 0 }, 10 },	 /* memTotalReal.0 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 4, 6, 0 }, 10 },	 /* memAvailReal.0 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 4, 14, 0 }, 10 },	 /* memBuffer.0 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 4, 15, 0 }, 10 },	 /* memCached.0 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 10, 1, 3, 1 }, 11 }, /* laLoad.1 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 10, 1, 3, 2 }, 11 }, /* laLoad.2 */
	{ { 1, 3, 6, 1, 4, 1, 2021, 10, 1, 3, 3 }, 11 }, /* laLoad.3 */
};

#define POLL_IFBIT(c)  (1U << ((c)-COL_IF_DESCR))
#define POLL_ERR_COLS  (POLL_IFBIT(COL_IF_INERR) | POLL_IFBIT(COL_IF_OUTERR))
#define POLL_DISC_COLS (POLL_IFBIT(COL_IF_INDISC) | POLL_IFBIT(COL_IF_OUTDISC))

#define HR_STORAGE_RAM	      2
#define HR_STORAGE_FIXED_DISK 4

static void poll_timer_cb(evutil_socket_t, short, void *);
static void poll_next(struct poll_host *);

/* Configuration. */

static int
poll_err(struct errlist *errs, const char *file, const struct ynode *n,
    const char *msg)
{
	errlist_add(errs, file, n->line, n->col, "%s", msg);
	return -1;
}

static int
poll_scalar(const struct ynode *n, const char *file, const char *what,
    const char **out, struct errlist *errs)
{
	char msg[128];

	if (n->type != YNODE_SCALAR || *n->value == '\0') {
		snprintf(msg, sizeof(msg), "poll: %s must be a string", what);
		return poll_err(errs, file, n, msg);
	}
	*out = n->value;
	return 0;
}

/* "user: {name, auth, auth_pass, priv, priv_pass}" of SNMPv3. */
static int
poll_user(const struct ynode *m, const char *file, struct poll_auth *a,
    struct errlist *errs)
{
	static const char *const auths[] = { "MD5", "SHA", "SHA-224", "SHA-256",
		"SHA-384", "SHA-512", NULL };
	static const char *const privs[] = { "DES", "AES", "AES-192", "AES-256",
		NULL };
	const struct ynode *k;
	const char **dst;
	size_t i, j;
	int bad = 0;

	if (m->type != YNODE_MAP)
		return poll_err(errs, file, m,
		    "poll: user must be a map "
		    "{name, auth, auth_pass, priv, priv_pass}");
	a->user = a->auth = a->auth_pass = a->priv = a->priv_pass = NULL;
	for (i = 0; i < m->n; i++) {
		k = m->keys[i];
		if (strcmp(k->value, "name") == 0)
			dst = &a->user;
		else if (strcmp(k->value, "auth") == 0)
			dst = &a->auth;
		else if (strcmp(k->value, "auth_pass") == 0)
			dst = &a->auth_pass;
		else if (strcmp(k->value, "priv") == 0)
			dst = &a->priv;
		else if (strcmp(k->value, "priv_pass") == 0)
			dst = &a->priv_pass;
		else {
			bad |= poll_err(errs, file, k,
			    "poll: unknown user key "
			    "(expected name, auth, auth_pass, priv, "
			    "priv_pass)");
			continue;
		}
		bad |= poll_scalar(m->items[i], file, k->value, dst, errs);
	}
	if (bad)
		return -1;
	if (a->user == NULL)
		return poll_err(errs, file, m, "poll: a user needs a name");
	if (a->auth != NULL) {
		for (j = 0; auths[j] != NULL && strcasecmp(auths[j], a->auth);
		     j++)
			;
		if (auths[j] == NULL)
			return poll_err(errs, file, m,
			    "poll: user auth must be "
			    "MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512");
		if (a->auth_pass == NULL || strlen(a->auth_pass) < 8)
			return poll_err(errs, file, m,
			    "poll: user auth_pass "
			    "needs at least 8 characters");
	}
	if (a->priv != NULL) {
		for (j = 0; privs[j] != NULL && strcasecmp(privs[j], a->priv);
		     j++)
			;
		if (privs[j] == NULL || a->auth == NULL)
			return poll_err(errs, file, m,
			    "poll: user priv must be "
			    "DES, AES, AES-192 or AES-256, with an auth");
		if (a->priv_pass == NULL || strlen(a->priv_pass) < 8)
			return poll_err(errs, file, m,
			    "poll: user priv_pass "
			    "needs at least 8 characters");
	}
	return 0;
}

/* One setting of a poll, group or host map; 1 if key is not a setting. */
static int
poll_setting(const struct ynode *k, const struct ynode *v, const char *file,
    struct poll_auth *a, struct errlist *errs)
{
	if (strcmp(k->value, "interval") == 0) {
		if (ynode_duration(v, file, &a->interval, errs) != 0)
			return -1;
		if (a->interval < 1 || a->interval > 86400)
			return poll_err(errs, file, v,
			    "poll: interval must be "
			    "between 1s and 1d");
	} else if (strcmp(k->value, "timeout") == 0) {
		if (ynode_duration(v, file, &a->timeout, errs) != 0)
			return -1;
		if (a->timeout < 1 || a->timeout > 60)
			return poll_err(errs, file, v,
			    "poll: timeout must be "
			    "between 1s and 60s");
	} else if (strcmp(k->value, "retries") == 0) {
		if (ynode_int(v, file, 0, 10, &a->retries, errs) != 0)
			return -1;
	} else if (strcmp(k->value, "version") == 0) {
		if (v->type != YNODE_SCALAR ||
		    (strcmp(v->value, "2c") != 0 && strcmp(v->value, "3") != 0))
			return poll_err(errs, file, v,
			    "poll: version must be "
			    "2c or 3");
		a->version = strcmp(v->value, "3") == 0 ? 3 : 2;
	} else if (strcmp(k->value, "community") == 0) {
		return poll_scalar(v, file, "community", &a->community, errs);
	} else if (strcmp(k->value, "user") == 0) {
		if (poll_user(v, file, a, errs) != 0)
			return -1;
		a->version = 3;
	} else
		return 1;
	return 0;
}

/* Check what one host needs once its settings are resolved. */
static int
poll_host_ok(const struct ynode *m, const char *file, const struct poll_auth *a,
    struct errlist *errs)
{
	if (a->version == 3 && a->user == NULL)
		return poll_err(errs, file, m,
		    "poll: an SNMPv3 host needs a "
		    "user");
	if (a->version == 2 && a->community == NULL)
		return poll_err(errs, file, m,
		    "poll: an SNMPv2c host needs a "
		    "community");
	return 0;
}

/* The settings of a group named by a host ("group: NAME"). */
static int
poll_group(const struct ynode *groups, const struct ynode *name,
    const char *file, struct poll_auth *a, struct errlist *errs)
{
	const struct ynode *g;
	size_t i;
	int rc;

	if (name->type != YNODE_SCALAR || groups == NULL ||
	    (g = ynode_get(groups, name->value)) == NULL)
		return poll_err(errs, file, name,
		    "poll: unknown group (define "
		    "it under poll: groups:)");
	if (g->type != YNODE_MAP)
		return poll_err(errs, file, g,
		    "poll: a group must be a map of "
		    "settings");
	for (i = 0; i < g->n; i++) {
		rc = poll_setting(g->keys[i], g->items[i], file, a, errs);
		if (rc == 1)
			return poll_err(errs, file, g->keys[i],
			    "poll: unknown "
			    "group setting (expected interval, timeout, "
			    "retries, version, community, user)");
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* One host map: name, address, group and settings of its own. */
typedef int (*poll_host_cb)(const char *name, const char *address,
    const char *group, const struct poll_auth *, void *);

static int
poll_host_conf(const struct ynode *m, const struct ynode *groups,
    const char *file, const struct poll_auth *def, struct errlist *errs,
    poll_host_cb cb, void *arg)
{
	struct poll_auth a = *def;
	const char *name = NULL, *addr = NULL, *group = NULL;
	const struct ynode *g;
	size_t i;
	int rc, bad = 0;

	if (m->type != YNODE_MAP)
		return poll_err(errs, file, m,
		    "poll: a host must be a map "
		    "{name, address, ...}");
	/* The group's settings first, the host's own over them. */
	if ((g = ynode_get(m, "group")) != NULL) {
		if (poll_group(groups, g, file, &a, errs) != 0)
			return -1;
		group = g->value;
	}
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i]->value, "name") == 0)
			bad |=
			    poll_scalar(m->items[i], file, "name", &name, errs);
		else if (strcmp(m->keys[i]->value, "address") == 0)
			bad |= poll_scalar(m->items[i], file, "address", &addr,
			    errs);
		else if (strcmp(m->keys[i]->value, "group") == 0)
			continue;
		else if ((rc = poll_setting(m->keys[i], m->items[i], file, &a,
			      errs)) == 1)
			bad |= poll_err(errs, file, m->keys[i],
			    "poll: unknown "
			    "host key (expected name, address, group, "
			    "interval, timeout, retries, version, community, "
			    "user)");
		else
			bad |= rc;
	}
	if (bad)
		return -1;
	if (name == NULL)
		return poll_err(errs, file, m, "poll: a host needs a name");
	if (addr == NULL)
		addr = name;
	if (poll_host_ok(m, file, &a, errs) != 0)
		return -1;
	return cb != NULL ? cb(name, addr, group, &a, arg) : 0;
}

/* Walk the poll: section; cb gets every host (NULL: check only). */
static int
poll_conf(const struct config *cfg, struct errlist *errs, poll_host_cb cb,
    void *arg)
{
	const struct ynode *sec = cfg->sec_poll, *hosts = NULL, *groups = NULL;
	struct poll_auth def;
	const char *file = cfg->file;
	size_t i;
	int rc, bad = 0;

	memset(&def, 0, sizeof(def));
	def.interval = POLL_INTERVAL;
	def.timeout = POLL_TIMEOUT_MS / 1000;
	def.retries = POLL_RETRIES;
	def.version = 2;
	if (sec == NULL)
		return 0;
	if (sec->type != YNODE_MAP)
		return poll_err(errs, file, sec, "poll must be a map");
	for (i = 0; i < sec->n; i++) {
		if (strcmp(sec->keys[i]->value, "hosts") == 0)
			hosts = sec->items[i];
		else if (strcmp(sec->keys[i]->value, "groups") == 0)
			groups = sec->items[i];
		else if ((rc = poll_setting(sec->keys[i], sec->items[i], file,
			      &def, errs)) == 1)
			bad |= poll_err(errs, file, sec->keys[i],
			    "poll: unknown "
			    "key (expected hosts, groups, interval, timeout, "
			    "retries, version, community, user)");
		else
			bad |= rc;
	}
	if (groups != NULL && groups->type != YNODE_MAP)
		bad |= poll_err(errs, file, groups,
		    "poll: groups must be a "
		    "map of NAME: {settings}");
	if (hosts == NULL)
		return bad ? -1 : 0;
	if (hosts->type != YNODE_SEQ)
		return poll_err(errs, file, hosts,
		    "poll: hosts must be a list");
	if (hosts->n > POLL_MAX_HOSTS)
		return poll_err(errs, file, hosts,
		    "poll: more than 10000 "
		    "hosts");
	for (i = 0; i < hosts->n; i++)
		if (poll_host_conf(hosts->items[i], groups, file, &def, errs,
			bad ? NULL : cb, arg) != 0)
			bad = 1;
	return bad ? -1 : 0;
}

/* A host name given twice is an error. */
struct poll_names {
	char **v;
	size_t n;
	struct errlist *errs;
	const char *file;
};

static int
poll_check_cb(const char *name, const char *address, const char *group,
    const struct poll_auth *a, void *arg)
{
	struct poll_names *pn = arg;
	size_t i;

	for (i = 0; i < pn->n; i++)
		if (strcmp(pn->v[i], name) == 0) {
			errlist_add(pn->errs, pn->file, 0, 0,
			    "poll: host "
			    "\"%s\" is listed twice",
			    name);
			return -1;
		}
	pn->v = xreallocarray(pn->v, pn->n + 1, sizeof(*pn->v));
	pn->v[pn->n++] = (char *)name;
	return 0;
}

int
poll_check(const struct config *cfg, struct errlist *errs)
{
	struct poll_names pn = { NULL, 0, errs, cfg->file };
	int rc;

	rc = poll_conf(cfg, errs, poll_check_cb, &pn);
	free(pn.v);
	return rc;
}

/* Sessions. */

static char *
poll_dup(struct poll_host *h, int i, const char *s)
{
	if (s == NULL)
		return NULL;
	h->strs[i] = xstrdup(s);
	return h->strs[i];
}

/* The auth protocol of a name. */
static const oid *
poll_auth_proto(const char *name, size_t *len)
{
	*len = USM_AUTH_PROTO_SHA_LEN;
	if (strcasecmp(name, "MD5") == 0)
		return usmHMACMD5AuthProtocol;
	if (strcasecmp(name, "SHA-224") == 0)
		return usmHMAC128SHA224AuthProtocol;
	if (strcasecmp(name, "SHA-256") == 0)
		return usmHMAC192SHA256AuthProtocol;
	if (strcasecmp(name, "SHA-384") == 0)
		return usmHMAC256SHA384AuthProtocol;
	if (strcasecmp(name, "SHA-512") == 0)
		return usmHMAC384SHA512AuthProtocol;
	return usmHMACSHA1AuthProtocol;
}

static const oid *
poll_priv_proto(const char *name, size_t *len)
{
	*len = USM_PRIV_PROTO_AES_LEN;
	if (strcasecmp(name, "DES") == 0)
		return usmDESPrivProtocol;
	if (strcasecmp(name, "AES-192") == 0) {
		*len = sizeof(usmAES192PrivProtocol) / sizeof(oid);
		return usmAES192PrivProtocol;
	}
	if (strcasecmp(name, "AES-256") == 0) {
		*len = sizeof(usmAES256PrivProtocol) / sizeof(oid);
		return usmAES256PrivProtocol;
	}
	return usmAESPrivProtocol;
}

/* The USM part of a v3 session: level, protocols and keys (Ku). */
static int
poll_session_v3(struct poll_host *h, netsnmp_session *s)
{
	const struct poll_auth *a = &h->a;
	const oid *proto;

	s->version = SNMP_VERSION_3;
	s->securityName = (char *)a->user;
	s->securityNameLen = strlen(a->user);
	s->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
	if (a->auth == NULL)
		return 0;
	s->securityLevel = a->priv != NULL ? SNMP_SEC_LEVEL_AUTHPRIV :
					     SNMP_SEC_LEVEL_AUTHNOPRIV;
	proto = poll_auth_proto(a->auth, &s->securityAuthProtoLen);
	s->securityAuthProto =
	    snmp_duplicate_objid(proto, s->securityAuthProtoLen);
	s->securityAuthKeyLen = USM_AUTH_KU_LEN;
	if (generate_Ku(s->securityAuthProto, s->securityAuthProtoLen,
		(const u_char *)a->auth_pass, strlen(a->auth_pass),
		s->securityAuthKey, &s->securityAuthKeyLen) != SNMPERR_SUCCESS)
		return -1;
	if (a->priv == NULL)
		return 0;
	proto = poll_priv_proto(a->priv, &s->securityPrivProtoLen);
	s->securityPrivProto =
	    snmp_duplicate_objid(proto, s->securityPrivProtoLen);
	s->securityPrivKeyLen = USM_PRIV_KU_LEN;
	if (generate_Ku(s->securityAuthProto, s->securityAuthProtoLen,
		(const u_char *)a->priv_pass, strlen(a->priv_pass),
		s->securityPrivKey, &s->securityPrivKeyLen) != SNMPERR_SUCCESS)
		return -1;
	return 0;
}

static int poll_cb(int, netsnmp_session *, int, netsnmp_pdu *, void *);

/*
 * Open the host's session: asynchronous, and without net-snmp's blocking
 * engineID probe (the first request discovers it through the agent's
 * report, inside the loop).
 */
static int
poll_open(struct poll_host *h)
{
	netsnmp_session s;
	char peer[300];
	int rc;

	snmp_sess_init(&s);
	snprintf(peer, sizeof(peer), "udp:%s", h->address);
	if (strchr(h->address, ':') == NULL)
		snprintf(peer, sizeof(peer), "udp:%s:161", h->address);
	s.peername = peer;
	s.timeout = (long)h->a.timeout * 1000000L;
	s.retries = (int)h->a.retries;
	s.callback = poll_cb;
	s.callback_magic = h;
	s.flags |= SNMP_FLAGS_DONT_PROBE;
	if (h->a.version == 3)
		rc = poll_session_v3(h, &s);
	else {
		s.version = SNMP_VERSION_2c;
		s.community = (u_char *)h->a.community;
		s.community_len = strlen(h->a.community);
		rc = 0;
	}
	if (rc == 0)
		h->ss = snmp_open(&s);
	free(s.securityAuthProto);
	free(s.securityPrivProto);
	if (h->ss == NULL) {
		log_warnx("poll: %s (%s): cannot open a session: %s", h->name,
		    h->address, snmp_api_errstring(snmp_errno));
		return -1;
	}
	return 0;
}

/* Events. */

/* Raise an event of the poller about a host (program sopd-poll). */
static void
poll_event(struct poll_host *h, int severity, const char *msgid,
    const char *msg)
{
	struct logevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.format = EVENT_FMT_RFC5424;
	ev.transport = "poll";
	ev.received_us = ev.timestamp_us = clock_now_us();
	ev.host = h->name;
	ev.peer = h->address;
	ev.facility = 16; /* local0 */
	ev.severity = severity;
	ev.program = POLL_PROGRAM;
	ev.pid = NULL;
	ev.msgid = msgid;
	ev.message = msg;
	ev.message_len = strlen(msg);
	log_info("poll: %s: %s", h->name, msg);
	pipeline_event(h->p->sd, &ev);
}

/* Collecting. */

static struct poll_srow *
poll_srow(struct poll_coll *c, oid idx)
{
	size_t i;

	for (i = 0; i < c->nst; i++)
		if (c->st[i].idx == idx)
			return &c->st[i];
	if (c->nst == POLL_MAX_ROWS)
		return NULL;
	c->st[c->nst].idx = idx;
	return &c->st[c->nst++];
}

static struct poll_irow *
poll_irow(struct poll_coll *c, oid idx)
{
	size_t i;

	for (i = 0; i < c->nif; i++)
		if (c->ifs[i].idx == idx)
			return &c->ifs[i];
	if (c->nif == POLL_MAX_ROWS)
		return NULL;
	c->ifs[c->nif].idx = idx;
	return &c->ifs[c->nif++];
}

/* A varbind's value as an unsigned number; -1 if it is not a number. */
static int
poll_num(const netsnmp_variable_list *v, uint64_t *out)
{
	switch (v->type) {
	case ASN_INTEGER:
		*out = *v->val.integer < 0 ? 0 : (uint64_t)*v->val.integer;
		return 0;
	case ASN_COUNTER:
	case ASN_GAUGE:
	case ASN_TIMETICKS:
		*out = (uint32_t)*v->val.integer;
		return 0;
	case ASN_COUNTER64:
		*out = ((uint64_t)v->val.counter64->high << 32) |
		    (uint32_t)v->val.counter64->low;
		return 0;
	}
	return -1;
}

static void
poll_str(const netsnmp_variable_list *v, char *out, size_t size)
{
	size_t n = 0;

	if (v->type == ASN_OCTET_STR) {
		n = v->val_len < size - 1 ? v->val_len : size - 1;
		memcpy(out, v->val.string, n);
	}
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
}

/* Keep one varbind of the scalar GET. */
static void
poll_take_scalar(struct poll_coll *c, int i, const netsnmp_variable_list *v)
{
	char buf[32];
	uint64_t n;

	if (i == SC_UPTIME && poll_num(v, &n) == 0) {
		c->has_uptime = 1;
		c->uptime = (unsigned long)n;
	} else if (i >= SC_MEMTOTAL && i <= SC_MEMCACHED &&
	    poll_num(v, &n) == 0) {
		c->mem[i - SC_MEMTOTAL] = (long long)n;
		c->has_mem |= 1U << (i - SC_MEMTOTAL);
	} else if (i >= SC_LA1 && v->type == ASN_OCTET_STR) {
		poll_str(v, buf, sizeof(buf));
		c->la[i - SC_LA1] = strtod(buf, NULL);
		c->has_la |= 1 << (i - SC_LA1);
	}
}

/* Keep one varbind of a column walk (the row index is its last arc). */
static void
poll_take_col(struct poll_coll *c, int col, const netsnmp_variable_list *v)
{
	oid idx = v->name[v->name_length - 1];
	struct poll_srow *s = NULL;
	struct poll_irow *f = NULL;
	uint64_t n = 0;
	int num = poll_num(v, &n) == 0;

	if (col == COL_CPU) {
		if (num) {
			c->cpu_sum += (double)n;
			c->ncpu++;
		}
		return;
	}
	if (col <= COL_ST_USED) {
		if ((s = poll_srow(c, idx)) == NULL)
			return;
		s->have |= 1U << col;
	} else if ((f = poll_irow(c, idx)) == NULL)
		return;
	else
		f->have |= 1U << (col - COL_IF_DESCR);
	switch (col) {
	case COL_ST_TYPE:
		if (v->type == ASN_OBJECT_ID && v->val_len / sizeof(oid) == 10)
			s->type = (int)v->val.objid[9];
		break;
	case COL_ST_DESCR:
		poll_str(v, s->descr, sizeof(s->descr));
		break;
	case COL_ST_UNITS:
		s->units = (long long)n;
		break;
	case COL_ST_SIZE:
		s->size = (long long)n;
		break;
	case COL_ST_USED:
		s->used = (long long)n;
		break;
	case COL_IF_DESCR:
		if (f->name[0] == '\0')
			poll_str(v, f->name, sizeof(f->name));
		break;
	case COL_IF_NAME:
		if (v->type == ASN_OCTET_STR && v->val_len > 0)
			poll_str(v, f->name, sizeof(f->name));
		break;
	case COL_IF_ADMIN:
		f->admin = (int)n;
		break;
	case COL_IF_OPER:
		f->oper = (int)n;
		break;
	case COL_IF_INERR:
	case COL_IF_OUTERR:
		f->err += n;
		break;
	case COL_IF_INDISC:
	case COL_IF_OUTDISC:
		f->disc += n;
		break;
	case COL_IF_HCIN:
		f->in = n;
		break;
	case COL_IF_HCOUT:
		f->out = n;
		break;
	}
}

/* Samples. */

struct poll_out {
	struct metric_sample *s;
	size_t n, cap;
	json_t *latest;
};

static void
poll_add(struct poll_out *o, const char *metric, const char *inst, double v)
{
	json_t *m;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->s = xreallocarray(o->s, o->cap, sizeof(*o->s));
	}
	o->s[o->n].metric = metric;
	o->s[o->n].inst = inst;
	o->s[o->n].value = v;
	o->n++;
	if (inst == NULL) {
		json_object_set_new(o->latest, metric, json_real(v));
		return;
	}
	if ((m = json_object_get(o->latest, metric)) == NULL) {
		m = json_object();
		json_object_set_new(o->latest, metric, m);
	}
	json_object_set_new(m, inst, json_real(v));
}

/*
 * The growth of a counter since the previous poll per second, modulo its
 * width (2^64 or 2^32: a wrap is a small step); -1 when the step is
 * implausible (a counter reset without a reboot seen).
 */
static double
poll_rate(uint64_t now, uint64_t before, int bits, double dt, double max)
{
	uint64_t d = now - before;
	double r;

	if (bits == 32)
		d &= 0xffffffffULL;
	if (dt <= 0)
		return -1;
	r = (double)d / dt;
	return r > max ? -1 : r;
}

static const struct poll_prev *
poll_prev_of(const struct poll_host *h, oid idx)
{
	size_t i;

	for (i = 0; i < h->nprev; i++)
		if (h->prev[i].idx == idx)
			return &h->prev[i];
	return NULL;
}

/* Interfaces: state of those administratively up, rates against before. */
static void
poll_ifs(struct poll_host *h, struct poll_out *o, int rates, double dt)
{
	struct poll_coll *c = h->c;
	const struct poll_prev *pv;
	struct poll_irow *f;
	double r;
	size_t i;

	for (i = 0; i < c->nif; i++) {
		f = &c->ifs[i];
		if (f->name[0] == '\0')
			snprintf(f->name, sizeof(f->name), "if%lu",
			    (unsigned long)f->idx);
		if (f->admin == 1 && f->oper != 0)
			poll_add(o, "if.oper_up", f->name, f->oper == 1);
		if (!rates || (pv = poll_prev_of(h, f->idx)) == NULL)
			continue;
		if ((f->have & pv->have &
			(1U << (COL_IF_HCIN - COL_IF_DESCR))) &&
		    (r = poll_rate(f->in, pv->in, 64, dt, POLL_OCTET_MAX)) >= 0)
			poll_add(o, "if.in_bps", f->name, r * 8);
		if ((f->have & pv->have &
			(1U << (COL_IF_HCOUT - COL_IF_DESCR))) &&
		    (r = poll_rate(f->out, pv->out, 64, dt, POLL_OCTET_MAX)) >=
			0)
			poll_add(o, "if.out_bps", f->name, r * 8);
		if ((f->have & pv->have & POLL_ERR_COLS) == POLL_ERR_COLS &&
		    (r = poll_rate(f->err, pv->err, 32, dt, POLL_COUNT_MAX)) >=
			0)
			poll_add(o, "if.errors_ps", f->name, r);
		if ((f->have & pv->have & POLL_DISC_COLS) == POLL_DISC_COLS &&
		    (r = poll_rate(f->disc, pv->disc, 32, dt,
			 POLL_COUNT_MAX)) >= 0)
			poll_add(o, "if.discards_ps", f->name, r);
	}
}

/* File systems and memory of hrStorageTable, UCD memory and load. */
static void
poll_storage(struct poll_host *h, struct poll_out *o)
{
	struct poll_coll *c = h->c;
	struct poll_srow *s;
	double used;
	size_t i;
	int mem = 0;

	for (i = 0; i < c->nst; i++) {
		s = &c->st[i];
		if (s->size <= 0 || s->descr[0] == '\0')
			continue;
		if (s->type == HR_STORAGE_FIXED_DISK) {
			poll_add(o, "disk.used_pct", s->descr,
			    100.0 * (double)s->used / (double)s->size);
			poll_add(o, "disk.used_bytes", s->descr,
			    (double)s->used * (double)s->units);
		} else if (s->type == HR_STORAGE_RAM && !mem &&
		    (c->has_mem & 3) != 3) {
			poll_add(o, "mem.used_pct", NULL,
			    100.0 * (double)s->used / (double)s->size);
			mem = 1;
		}
	}
	if ((c->has_mem & 3) == 3 && c->mem[0] > 0) {
		used = (double)(c->mem[0] - c->mem[1]);
		if (c->has_mem & 4)
			used -= (double)c->mem[2];
		if (c->has_mem & 8)
			used -= (double)c->mem[3];
		poll_add(o, "mem.used_pct", NULL,
		    used < 0 ? 0 : 100.0 * used / (double)c->mem[0]);
	}
	if (c->ncpu > 0)
		poll_add(o, "cpu.load_pct", NULL, c->cpu_sum / c->ncpu);
	if (c->has_la & 1)
		poll_add(o, "load.1", NULL, c->la[0]);
	if (c->has_la & 2)
		poll_add(o, "load.5", NULL, c->la[1]);
	if (c->has_la & 4)
		poll_add(o, "load.15", NULL, c->la[2]);
}

/* Keep this poll's counters for the next one's rates. */
static void
poll_keep(struct poll_host *h, int64_t now_us)
{
	struct poll_coll *c = h->c;
	size_t i;

	free(h->prev);
	h->prev = xcalloc(c->nif ? c->nif : 1, sizeof(*h->prev));
	for (i = 0; i < c->nif; i++) {
		h->prev[i].idx = c->ifs[i].idx;
		h->prev[i].in = c->ifs[i].in;
		h->prev[i].out = c->ifs[i].out;
		h->prev[i].err = c->ifs[i].err;
		h->prev[i].disc = c->ifs[i].disc;
		h->prev[i].have = c->ifs[i].have;
	}
	h->nprev = c->nif;
	h->have_prev = c->has_uptime;
	h->prev_uptime = c->uptime;
	h->prev_us = now_us;
}

/* The poll is complete: events, samples, state for the next one. */
static void
poll_done(struct poll_host *h)
{
	struct poll_out o = { NULL, 0, 0, json_object() };
	struct poll_coll *c = h->c;
	int64_t now_us = clock_now_us();
	int rates = h->have_prev && c->has_uptime;
	char msg[256];

	if (h->misses > 0 || h->reachable == 0) {
		snprintf(msg, sizeof(msg),
		    "%s (%s) answers again after %d "
		    "missed polls",
		    h->name, h->address, h->misses);
		poll_event(h, 6, "reachable", msg);
	}
	h->misses = 0;
	h->reachable = 1;
	h->last_ok = now_us / 1000000;
	if (rates && c->uptime < h->prev_uptime) {
		snprintf(msg, sizeof(msg),
		    "%s rebooted: sysUpTime went from "
		    "%lu to %lu s",
		    h->name, h->prev_uptime / 100, c->uptime / 100);
		poll_event(h, 5, "reboot", msg);
		rates = 0; /* the counters restarted too */
	}
	poll_add(&o, "host.up", NULL, 1);
	poll_add(&o, "host.misses", NULL, 0);
	if (c->has_uptime)
		poll_add(&o, "sys.uptime", NULL, c->uptime / 100.0);
	poll_storage(h, &o);
	poll_ifs(h, &o, rates, (double)(now_us - h->prev_us) / 1e6);
	metrics_record(h->p->metrics, h->name, o.s, o.n, now_us / 1000000);
	poll_keep(h, now_us);
	json_decref(h->latest);
	h->latest = o.latest;
	free(o.s);
}

/* The host did not answer (or refused): a miss. */
static void
poll_miss(struct poll_host *h, const char *why)
{
	struct metric_sample s[2];
	char msg[300];

	h->misses++;
	h->reachable = 0;
	snprintf(h->last_error, sizeof(h->last_error), "%s", why);
	snprintf(msg, sizeof(msg),
	    "%s (%s) did not answer: %s (%d missed "
	    "polls in a row)",
	    h->name, h->address, why, h->misses);
	poll_event(h, 4, "unreachable", msg);
	s[0].metric = "host.up";
	s[0].inst = NULL;
	s[0].value = 0;
	s[1].metric = "host.misses";
	s[1].inst = NULL;
	s[1].value = h->misses;
	metrics_record(h->p->metrics, h->name, s, 2, clock_now());
}

static void
poll_end(struct poll_host *h)
{
	free(h->c);
	h->c = NULL;
	h->busy = 0;
}

/* Requests. */

static void
poll_send(struct poll_host *h, netsnmp_pdu *pdu)
{
	char why[160];

	h->nreq++;
	if (snmp_send(h->ss, pdu) != 0)
		return;
	snprintf(why, sizeof(why), "cannot send: %s",
	    snmp_api_errstring(h->ss->s_snmp_errno));
	snmp_free_pdu(pdu);
	poll_miss(h, why);
	poll_end(h);
}

/* Send the request of the current phase. */
static void
poll_request(struct poll_host *h)
{
	netsnmp_pdu *pdu;
	int i;

	if (h->phase == 0) {
		pdu = snmp_pdu_create(SNMP_MSG_GET);
		for (i = 0; i < SC_MAX; i++)
			snmp_add_null_var(pdu, poll_scalars[i].o,
			    poll_scalars[i].len);
	} else {
		pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
		pdu->non_repeaters = 0;
		pdu->max_repetitions = POLL_BULK;
		snmp_add_null_var(pdu, h->cur, h->curlen);
	}
	poll_send(h, pdu);
}

/* Start walking column phase - 1 (or finish after the last). */
static void
poll_next(struct poll_host *h)
{
	int col;

	h->phase++;
	col = h->phase - 1;
	if (col >= COL_MAX || h->nreq >= POLL_MAX_REQS) {
		poll_done(h);
		poll_end(h);
		return;
	}
	memcpy(h->cur, poll_cols[col].base, poll_cols[col].len * sizeof(oid));
	h->curlen = poll_cols[col].len;
	poll_request(h);
}

/* A walk's response: keep the rows in the column; 1 if the walk goes on. */
static int
poll_walk(struct poll_host *h, netsnmp_pdu *pdu)
{
	int col = h->phase - 1;
	const netsnmp_variable_list *v, *last = NULL;

	for (v = pdu->variables; v != NULL; v = v->next_variable) {
		if (v->type == SNMP_ENDOFMIBVIEW ||
		    v->type == SNMP_NOSUCHOBJECT ||
		    v->type == SNMP_NOSUCHINSTANCE ||
		    v->name_length <= poll_cols[col].len ||
		    snmp_oid_ncompare(v->name, v->name_length,
			poll_cols[col].base, poll_cols[col].len,
			poll_cols[col].len) != 0)
			return 0;
		poll_take_col(h->c, col, v);
		last = v;
	}
	if (last == NULL || h->nreq >= POLL_MAX_REQS ||
	    last->name_length > MAX_OID_LEN)
		return 0;
	memcpy(h->cur, last->name, last->name_length * sizeof(oid));
	h->curlen = last->name_length;
	return 1;
}

/* A response, a report or a timeout of the host's session. */
static int
poll_cb(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu, void *arg)
{
	struct poll_host *h = arg;
	const netsnmp_variable_list *v;
	char why[160];
	int i;

	if (!h->busy || h->c == NULL)
		return 1;
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
		snprintf(why, sizeof(why), "%s after %llds x %lld tries",
		    op == NETSNMP_CALLBACK_OP_TIMED_OUT ? "timeout" :
							  "send failed",
		    h->a.timeout, h->a.retries + 1);
		poll_miss(h, why);
		poll_end(h);
		return 1;
	}
	if (pdu->command == SNMP_MSG_REPORT) {
		poll_miss(h,
		    "refused: an SNMPv3 report (wrong user, keys or "
		    "security level)");
		poll_end(h);
		return 1;
	}
	if (h->phase == 0) {
		for (v = pdu->variables, i = 0; v != NULL && i < SC_MAX;
		     v = v->next_variable, i++)
			poll_take_scalar(h->c, i, v);
		poll_next(h);
		return 1;
	}
	if (pdu->errstat == SNMP_ERR_NOERROR && poll_walk(h, pdu))
		poll_request(h);
	else
		poll_next(h);
	return 1;
}

/* Scheduling. */

static void
poll_schedule(struct poll_host *h, long long secs, long usecs)
{
	struct timeval tv = { (time_t)secs, usecs };

	h->due_us = clock_now_us() + secs * 1000000 + usecs;
	evtimer_add(h->timer, &tv);
}

/* The host's turn: start a poll unless the last one still runs. */
static void
poll_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poll_host *h = arg;

	poll_schedule(h, h->a.interval, 0);
	if (h->busy) {
		h->skipped++;
		log_debug("poll: %s: the last poll still runs", h->name);
		return;
	}
	if (h->ss == NULL && poll_open(h) == -1) {
		poll_miss(h, "no session");
		return;
	}
	h->busy = 1;
	h->polls++;
	h->phase = 0;
	h->nreq = 0;
	h->last_poll = clock_now();
	h->c = xcalloc(1, sizeof(*h->c));
	poll_request(h);
	snmp_bridge_update();
}

/* Setup. */

struct poll_build {
	struct poller *p;
	size_t i;
};

static int
poll_build_cb(const char *name, const char *address, const char *group,
    const struct poll_auth *a, void *arg)
{
	struct poll_build *b = arg;
	struct poll_host *h = &b->p->hosts[b->p->nhosts++];
	int64_t spread;

	h->p = b->p;
	h->name = xstrdup(name);
	h->address = xstrdup(address);
	h->group = group != NULL ? xstrdup(group) : NULL;
	h->a = *a;
	h->a.community = poll_dup(h, 0, a->community);
	h->a.user = poll_dup(h, 1, a->user);
	h->a.auth = poll_dup(h, 2, a->auth);
	h->a.auth_pass = poll_dup(h, 3, a->auth_pass);
	h->a.priv = poll_dup(h, 4, a->priv);
	h->a.priv_pass = poll_dup(h, 5, a->priv_pass);
	h->reachable = -1;
	h->timer = evtimer_new(b->p->sd->base, poll_timer_cb, h);
	if (h->timer == NULL)
		fatalx("evtimer_new failed");
	/*
	 * Spread the first polls over the interval (at most a minute), so
	 * that many hosts on one interval are not all polled in one burst.
	 */
	spread = (h->a.interval < POLL_SPREAD ? h->a.interval : POLL_SPREAD) *
	    (int64_t)((b->i++ * 7919) % 1000) * 1000;
	poll_schedule(h, spread / 1000000, (long)(spread % 1000000));
	return 0;
}

static size_t
poll_count_hosts(const struct config *cfg)
{
	const struct ynode *hosts;

	if (cfg->sec_poll == NULL || cfg->sec_poll->type != YNODE_MAP ||
	    (hosts = ynode_get(cfg->sec_poll, "hosts")) == NULL ||
	    hosts->type != YNODE_SEQ)
		return 0;
	return hosts->n;
}

static void
poll_hosts_free(struct poller *p)
{
	struct poll_host *h;
	size_t i;
	int j;

	for (i = 0; i < p->nhosts; i++) {
		h = &p->hosts[i];
		if (h->ss != NULL)
			snmp_close(h->ss);
		event_free(h->timer);
		free(h->c);
		free(h->prev);
		json_decref(h->latest);
		free(h->name);
		free(h->address);
		free(h->group);
		for (j = 0; j < 7; j++)
			free(h->strs[j]);
	}
	free(p->hosts);
	p->hosts = NULL;
	p->nhosts = 0;
}

static void
poll_hosts_build(struct poller *p)
{
	struct errlist errs = { 0 };
	struct poll_build b = { p, 0 };

	p->hosts = xcalloc(poll_count_hosts(p->sd->cfg) + 1, sizeof(*p->hosts));
	if (poll_conf(p->sd->cfg, &errs, poll_build_cb, &b) == -1)
		log_warnx("poll: %zu errors in the poll section", errs.n);
	errlist_free(&errs);
	if (p->nhosts > 0)
		log_info("poll: %zu hosts", p->nhosts);
}

/*
 * A turn of pruning of a few milliseconds: every minute, every second
 * while expired rows remain.
 */
static void
poll_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller *p = arg;
	struct timeval tv = { 0, 0 };

	tv.tv_sec = metrics_prune(p->metrics, clock_now());
	evtimer_add(p->prune, &tv);
}

struct poller *
poll_new(struct sopd *sd, char **cause)
{
	struct poller *p;
	struct timeval tv = { 5, 0 };

	p = xcalloc(1, sizeof(*p));
	p->sd = sd;
	p->metrics = metrics_new(sd);
	if ((p->prune = evtimer_new(sd->base, poll_prune_cb, p)) == NULL) {
		xasprintf(cause, "evtimer_new failed");
		metrics_free(p->metrics);
		free(p);
		return NULL;
	}
	evtimer_add(p->prune, &tv);
	poll_hosts_build(p);
	snmp_bridge_update();
	return p;
}

static int
poll_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Is host n configured as o was (name, address, group, settings)? */
static int
poll_same(const struct poll_host *n, const struct poll_host *o)
{
	return strcmp(n->name, o->name) == 0 &&
	    strcmp(n->address, o->address) == 0 &&
	    poll_streq(n->group, o->group) && n->a.interval == o->a.interval &&
	    n->a.timeout == o->a.timeout && n->a.retries == o->a.retries &&
	    n->a.version == o->a.version &&
	    poll_streq(n->a.community, o->a.community) &&
	    poll_streq(n->a.user, o->a.user) &&
	    poll_streq(n->a.auth, o->a.auth) &&
	    poll_streq(n->a.auth_pass, o->a.auth_pass) &&
	    poll_streq(n->a.priv, o->a.priv) &&
	    poll_streq(n->a.priv_pass, o->a.priv_pass);
}

/*
 * Hand what o learned between polls to n: the previous counters and uptime
 * (so the first poll after a reload gives rates), misses, reachability,
 * last values and counts, and its turn.  Between polls its session too (an
 * SNMPv3 engine already discovered); a poll o had running is dropped with
 * o (its requests hold o), and n opens a session at its turn.
 */
static void
poll_take_state(struct poll_host *n, struct poll_host *o)
{
	int64_t left = o->due_us - clock_now_us();

	if (!o->busy && o->ss != NULL) {
		n->ss = o->ss;
		n->ss->callback_magic = n;
		o->ss = NULL;
	}
	if (left < 0)
		left = 0;
	poll_schedule(n, left / 1000000, (long)(left % 1000000));
	n->have_prev = o->have_prev;
	n->prev_uptime = o->prev_uptime;
	n->prev_us = o->prev_us;
	n->prev = o->prev;
	n->nprev = o->nprev;
	o->prev = NULL;
	o->nprev = 0;
	n->misses = o->misses;
	n->reachable = o->reachable;
	n->last_poll = o->last_poll;
	n->last_ok = o->last_ok;
	memcpy(n->last_error, o->last_error, sizeof(n->last_error));
	n->latest = o->latest;
	o->latest = NULL;
	n->polls = o->polls;
	n->skipped = o->skipped;
}

/*
 * A reload: hosts are rebuilt from the new config and polled anew; a host
 * whose configuration did not change keeps its state.
 */
void
poll_reconfigure(struct poller *p)
{
	struct poller old;
	size_t i, j;

	if (p == NULL)
		return;
	old = *p;
	p->hosts = NULL;
	p->nhosts = 0;
	poll_hosts_build(p);
	for (i = 0; i < p->nhosts; i++)
		for (j = 0; j < old.nhosts; j++)
			if (poll_same(&p->hosts[i], &old.hosts[j])) {
				poll_take_state(&p->hosts[i], &old.hosts[j]);
				break;
			}
	poll_hosts_free(&old);
	snmp_bridge_update();
}

void
poll_free(struct poller *p)
{
	if (p == NULL)
		return;
	poll_hosts_free(p);
	event_free(p->prune);
	metrics_free(p->metrics);
	free(p);
}

int
poll_has_host(struct poller *p, const char *host)
{
	size_t i;

	for (i = 0; p != NULL && i < p->nhosts; i++)
		if (strcmp(p->hosts[i].name, host) == 0)
			return 1;
	return 0;
}

/* A time as JSON: seconds, or null for never. */
static json_t *
poll_time_json(int64_t t)
{
	return t != 0 ? json_integer((json_int_t)t) : json_null();
}

/* One polled host, its state and last values. */
static json_t *
poll_host_obj(struct poll_host *h)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:o, s:s, s:I, s:o, s:i, s:o, s:o, "
		      "s:o, s:I, s:I}",
	    "name", h->name, "address", h->address, "group",
	    h->group != NULL ? json_string(h->group) : json_null(), "version",
	    h->a.version == 3 ? "3" : "2c", "interval",
	    (json_int_t)h->a.interval, "reachable",
	    h->reachable < 0 ? json_null() : json_boolean(h->reachable),
	    "misses", h->misses, "last_poll", poll_time_json(h->last_poll),
	    "last_ok", poll_time_json(h->last_ok), "latest",
	    h->latest != NULL ? json_incref(h->latest) : json_object(), "polls",
	    (json_int_t)h->polls, "skipped", (json_int_t)h->skipped);
	if (h->reachable == 0)
		json_object_set_new(o, "last_error",
		    json_string(h->last_error));
	return o;
}

json_t *
poll_hosts_json(struct poller *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; p != NULL && i < p->nhosts; i++)
		json_array_append_new(a, poll_host_obj(&p->hosts[i]));
	return json_pack("{s:o}", "hosts", a);
}

json_t *
poll_host_json(struct poller *p, const char *host)
{
	size_t i;

	for (i = 0; p != NULL && i < p->nhosts; i++)
		if (strcmp(p->hosts[i].name, host) == 0)
			return poll_host_obj(&p->hosts[i]);
	return NULL;
}

struct metrics *
poll_metrics(struct poller *p)
{
	return p != NULL ? p->metrics : NULL;
}
