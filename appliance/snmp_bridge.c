/* snmp_bridge.c: drive net-snmp (trap sessions, agent) from the libevent loop. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "agent.h"
#include "agent_setup.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "snmp_bridge.h"
#include "snmp_engine.h"
#include "stats.h"
#include "xmalloc.h"

#define SNMP_BRIDGE_APP	      "sopd"
#define SNMP_BRIDGE_REQ_MAX   8192 /* octets of a request to the agent */
#define SNMP_BRIDGE_VB_MAX    128  /* varbinds of a request */
#define SNMP_BRIDGE_LOG_MAX   10   /* net-snmp messages logged a minute */
#define SNMP_BRIDGE_AGENT_FDS 8	   /* agent transports watched */
#define SNMP_BRIDGE_RPT_SLOTS 1024 /* sources with a Report budget */
#define SNMP_BRIDGE_RPT_BURST 10   /* Reports a source may get at once, */
#define SNMP_BRIDGE_RPT_RATE  5	   /* then this many a second */
#define SNMP_BRIDGE_RPT_ALL   100  /* Reports a second to all sources */
#define SNMP_BRIDGE_EID_MAX   32   /* octets of an engine ID */

/* Why a request to the agent is dropped before net-snmp sees it. */
enum snmp_bridge_drop {
	DROP_NONE = -1,
	DROP_SIZE,	/* over SNMP_BRIDGE_REQ_MAX */
	DROP_VARBINDS,	/* over SNMP_BRIDGE_VB_MAX */
	DROP_COMMUNITY, /* v1/v2c with a community not configured */
	DROP_MALFORMED, /* not an SNMP message */
	DROP_MAX
};

/* One descriptor net-snmp wants watched; ino tells a reused number apart. */
struct snmp_bridge_fd {
	int fd;
	ino_t ino;
	struct event *ev;
	int agent; /* the agent's port: requests screened */
	int dgram; /* UDP: v3 Reports rate-limited */
};

/* A token bucket, in thousandths of a token. */
struct snmp_bridge_bucket {
	int64_t at_ms; /* last refill */
	int64_t mtokens;
};

/* One source's Report budget; the table is indexed by a hash. */
struct snmp_bridge_rpt {
	u_char addr[16];
	size_t alen;
	struct snmp_bridge_bucket b;
};

static struct {
	struct event_base *base;
	struct event *timer;
	struct snmp_bridge_fd *fds;
	size_t nfds;
	enum agent_role role;
	int started;
	/* The agent's transports, and what they take (v1/v2c). */
	struct {
		int fd;
		ino_t ino;
	} agentfd[SNMP_BRIDGE_AGENT_FDS];
	size_t nagentfd;
	char **communities;
	size_t ncommunities;
	/* Requests dropped unparsed: since the last log line, and in all. */
	uint64_t drops[DROP_MAX], drops_total;
	time_t drops_logged;
	/* net-snmp's messages logged in the minute from log_minute. */
	time_t log_minute;
	unsigned log_n, log_quiet;
	/* Report PDUs' budgets: per source, and for all together. */
	struct snmp_bridge_rpt *rpt;
	struct snmp_bridge_bucket rpt_all;
	uint64_t sig; /* of the set last synced */
} snmp_bridge;

static void snmp_bridge_read_cb(int, short, void *);
static ino_t snmp_bridge_ino(int);

/*
 * Whether a message repeats the last one within 10 minutes (an AgentX
 * master that stays away makes one warning per ping): logged at debug.
 */
static int
snmp_bridge_log_repeat(const char *msg, size_t len)
{
	static char last[256];
	static time_t when;
	time_t now = time(NULL);

	if (len < sizeof(last) && strncmp(last, msg, len) == 0 &&
	    last[len] == '\0' && now - when < 600)
		return 1;
	if (len >= sizeof(last))
		len = sizeof(last) - 1;
	memcpy(last, msg, len);
	last[len] = '\0';
	when = now;
	return 0;
}

/*
 * Whether a message may go out at its level: at most SNMP_BRIDGE_LOG_MAX in
 * a minute from the first (the others at debug, counted in a line when the
 * next minute starts).
 */
static int
snmp_bridge_log_allowed(void)
{
	time_t now = time(NULL);

	if (now - snmp_bridge.log_minute >= 60) {
		if (snmp_bridge.log_quiet > 0)
			log_warnx("net-snmp: %u more messages in the last "
				  "minute (logged at debug level)",
			    snmp_bridge.log_quiet);
		snmp_bridge.log_minute = now;
		snmp_bridge.log_n = snmp_bridge.log_quiet = 0;
	}
	if (snmp_bridge.log_n < SNMP_BRIDGE_LOG_MAX) {
		snmp_bridge.log_n++;
		return 1;
	}
	snmp_bridge.log_quiet++;
	return 0;
}

/* Hand one net-snmp log message to our log at a matching level. */
static int
snmp_bridge_log_cb(int major, int minor, void *serverarg, void *clientarg)
{
	struct snmp_log_message *m = serverarg;
	size_t len;

	if (m == NULL || m->msg == NULL)
		return 0;
	len = strlen(m->msg);
	while (len > 0 && (m->msg[len - 1] == '\n' || m->msg[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 0;
	if (len > INT_MAX)
		len = INT_MAX;
	if (m->priority > LOG_INFO || snmp_bridge_log_repeat(m->msg, len) ||
	    !snmp_bridge_log_allowed())
		log_debugs(LOG_SYS_SNMP, "net-snmp: %.*s", (int)len, m->msg);
	else if (m->priority <= LOG_WARNING)
		log_warnx("net-snmp: %.*s", (int)len, m->msg);
	else if (m->priority <= LOG_INFO)
		log_info("net-snmp: %.*s", (int)len, m->msg);
	else
		log_debugs(LOG_SYS_SNMP, "net-snmp: %.*s", (int)len, m->msg);
	return 0;
}

/* Join the configured MIB directories with net-snmp's separator. */
static char *
snmp_bridge_mibdirs(const struct config *cfg)
{
	char *dirs, *next;
	size_t i;

	dirs = xstrdup("");
	for (i = 0; i < cfg->nmib_dirs; i++) {
		xasprintf(&next, "%s%s%s", dirs, i == 0 ? "" : ENV_SEPARATOR,
		    cfg->mib_dirs[i]);
		free(dirs);
		dirs = next;
	}
	return dirs;
}

/*
 * Keep net-snmp away from files we did not ask for: no snmp.conf from /etc
 * or $HOME, no persistent state, MIBs only from the configured directories,
 * alarms run from our timer instead of SIGALRM.
 */
static void
snmp_bridge_library(const struct config *cfg)
{
	char *dir, *mibdirs, line[32];

	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_LOAD_HOST_FILES, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_QUICK_PRINT, 1);

	/*
	 * Nothing is read from or written to this directory by net-snmp;
	 * snmp_engine.c keeps the engineID and engineBoots there.
	 */
	xasprintf(&dir, "%s/snmp",
	    cfg->state_dir != NULL ? cfg->state_dir : ".");
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_PERSISTENT_DIR, dir);
	/* net-snmp prefers the environment's directory to the one set. */
	if (setenv("SNMP_PERSISTENT_DIR", dir, 1) == -1)
		log_warn("setenv SNMP_PERSISTENT_DIR");
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_CONFIGURATION_DIR, dir);
	free(dir);

	/*
	 * The bridge itself needs no MIB module (traps are kept numeric, the
	 * agent registers by OID): search only the configured directories and
	 * load no default module list. mibnames.c loads modules for names.
	 */
	mibdirs = snmp_bridge_mibdirs(cfg);
	netsnmp_set_mib_directory(mibdirs);
	free(mibdirs);
	snprintf(line, sizeof(line), "mibs %s", ENV_SEPARATOR);
	netsnmp_config_remember(line);
}

/* Route net-snmp's log through ours (and nowhere else). */
static void
snmp_bridge_logging(void)
{
	snmp_disable_stderrlog();
	snmp_disable_syslog();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
	    snmp_bridge_log_cb, NULL);
	snmp_enable_calllog();
}

/*
 * Right after init_master_agent, net-snmp's only descriptors are the
 * agent's transports: remember them, and the communities they take.
 */
static void
snmp_bridge_agent_fds(const struct config *cfg)
{
	netsnmp_large_fd_set set;
	struct timeval tv;
	int numfds = 0, block = 1, fd;
	size_t i;
	char *at;

	netsnmp_large_fd_set_init(&set, FD_SETSIZE);
	timerclear(&tv);
	snmp_select_info2(&numfds, &set, &tv, &block);
	for (fd = 0; fd < numfds; fd++) {
		if (!NETSNMP_LARGE_FD_ISSET(fd, &set) ||
		    snmp_bridge.nagentfd == SNMP_BRIDGE_AGENT_FDS)
			continue;
		snmp_bridge.agentfd[snmp_bridge.nagentfd].fd = fd;
		snmp_bridge.agentfd[snmp_bridge.nagentfd++].ino =
		    snmp_bridge_ino(fd);
	}
	netsnmp_large_fd_set_cleanup(&set);
	snmp_bridge.communities =
	    xcalloc(cfg->nagent_communities + 1, sizeof(char *));
	for (i = 0; i < cfg->nagent_communities; i++) {
		snmp_bridge.communities[i] = xstrdup(cfg->agent_communities[i]);
		if ((at = strchr(snmp_bridge.communities[i], '@')) != NULL)
			*at = '\0';
	}
	snmp_bridge.ncommunities = cfg->nagent_communities;
}

/* Start the agent around init_snmp, with agent.c's handlers registered. */
static int
snmp_bridge_init(struct sopd *sd, char **cause)
{
	enum agent_role role = agent_role(sd->cfg);

	/*
	 * sysUpTime counts from here, agent or not: notifications carry it
	 * (init_agent may set it again, a moment later).
	 */
	netsnmp_set_agent_starttime(NULL);
	agent_setup(sd->cfg, role);
	/* Our engineID: the agent's, and the one v3 informs discover. */
	if ((role == AGENT_ROLE_MASTER || sd->cfg->ntrap_users > 0) &&
	    snmp_engine_setup(sd->cfg, cause) != 0)
		return -1;
	if (role != AGENT_ROLE_NONE) {
		if (init_agent(SNMP_BRIDGE_APP) != 0) {
			xasprintf(cause, "net-snmp: init_agent failed");
			return -1;
		}
		/*
		 * After init_agent, which sets its own default of 15 s: the
		 * ping alarm notices a lost master and reopens the session
		 * every interval until it answers; the bridge picks up the
		 * new descriptor on the update that follows every alarm.
		 */
		if (role == AGENT_ROLE_SUBAGENT)
			netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
			    NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			    sd->cfg->agentx_ping);
		agent_register(sd);
	}
	init_snmp(SNMP_BRIDGE_APP);
	snmp_bridge.role = role;
	if (role == AGENT_ROLE_MASTER && init_master_agent() != 0) {
		xasprintf(cause, "snmp agent: cannot listen on %s",
		    sd->cfg->agent_listen);
		return -1;
	}
	if (role == AGENT_ROLE_MASTER)
		snmp_bridge_agent_fds(sd->cfg);
	return 0;
}

/* Initialise net-snmp once and hook its descriptors into the loop. */
int
snmp_bridge_start(struct sopd *sd, char **cause)
{
	if (snmp_bridge.started) {
		xasprintf(cause, "net-snmp already started");
		return -1;
	}
	snmp_bridge.base = sd->base;
	snmp_bridge.started = 1;
	snmp_bridge_logging();
	snmp_bridge_library(sd->cfg);
	snmp_bridge.timer = evtimer_new(sd->base, snmp_bridge_read_cb, NULL);
	if (snmp_bridge.timer == NULL)
		fatalx("evtimer_new failed");
	if (snmp_bridge_init(sd, cause) != 0) {
		snmp_bridge_stop();
		return -1;
	}
	snmp_bridge_update();
	return 0;
}

/* The identity of the socket behind a descriptor (0 if unknown). */
static ino_t
snmp_bridge_ino(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0)
		return 0;
	return sb.st_ino;
}

/*
 * Requests to the agent are screened before net-snmp parses them: parsing
 * and answering a 64 KB datagram of thousands of varbinds takes the loop
 * about 100 ms, community or not. A cheap BER walk over the message's
 * outer layers counts the varbinds (the varbind list's elements, not
 * their contents) and reads the community.
 */

/* One BER header at *p: tag and content length; -1 if it does not fit. */
static int
snmp_bridge_ber(const u_char **p, const u_char *end, u_char *tag, size_t *len)
{
	size_t n;

	if (end - *p < 2)
		return -1;
	*tag = *(*p)++;
	if ((*tag & 0x1f) == 0x1f)
		return -1; /* multi-octet tags: not SNMP */
	n = *(*p)++;
	if (n & 0x80) {
		n &= 0x7f;
		if (n == 0 || n > 3 || (size_t)(end - *p) < n)
			return -1; /* indefinite, or over 16 MB */
		for (*len = 0; n > 0; n--)
			*len = (*len << 8) | *(*p)++;
	} else
		*len = n;
	return *len <= (size_t)(end - *p) ? 0 : -1;
}

/* Skip one element of the given tag (0: any); -1 if malformed. */
static int
snmp_bridge_ber_skip(const u_char **p, const u_char *end, u_char want,
    const u_char **val, size_t *vlen)
{
	u_char tag;
	size_t len;

	if (snmp_bridge_ber(p, end, &tag, &len) != 0 ||
	    (want != 0 && tag != want))
		return -1;
	if (val != NULL) {
		*val = *p;
		*vlen = len;
	}
	*p += len;
	return 0;
}

/* Whether a v1/v2c community is one of the agent's. */
static int
snmp_bridge_community_ok(const u_char *c, size_t len)
{
	size_t i;

	for (i = 0; i < snmp_bridge.ncommunities; i++) {
		if (strlen(snmp_bridge.communities[i]) == len &&
		    memcmp(snmp_bridge.communities[i], c, len) == 0)
			return 1;
	}
	return 0;
}

/* A PDU: request-id, error-status, error-index, then count the varbinds. */
static enum snmp_bridge_drop
snmp_bridge_scan_pdu(const u_char *p, const u_char *end)
{
	u_char tag;
	size_t len, n;
	int i;

	if (snmp_bridge_ber(&p, end, &tag, &len) != 0 || (tag & 0xe0) != 0xa0)
		return DROP_MALFORMED;
	end = p + len;
	for (i = 0; i < 3; i++) {
		if (snmp_bridge_ber_skip(&p, end, ASN_INTEGER, NULL, NULL) != 0)
			return DROP_MALFORMED;
	}
	if (snmp_bridge_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
		return DROP_MALFORMED;
	end = p + len;
	for (n = 0; p < end; n++) {
		if (n == SNMP_BRIDGE_VB_MAX)
			return DROP_VARBINDS;
		if (snmp_bridge_ber_skip(&p, end, 0x30, NULL, NULL) != 0)
			return DROP_MALFORMED;
	}
	return DROP_NONE;
}

/*
 * What to do with a request: v1/v2c need a configured community; v3 with
 * a plaintext scoped PDU has its varbinds counted (an encrypted one is
 * bounded by its size only, and USM checks it before any decoding).
 */
static enum snmp_bridge_drop
snmp_bridge_scan(const u_char *p, size_t size)
{
	const u_char *end = p + size, *v;
	u_char tag;
	size_t len;

	if (snmp_bridge_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
		return DROP_MALFORMED;
	end = p + len;
	if (snmp_bridge_ber_skip(&p, end, ASN_INTEGER, &v, &len) != 0 ||
	    len != 1)
		return DROP_MALFORMED;
	switch (v[0]) {
	case SNMP_VERSION_1:
	case SNMP_VERSION_2c:
		if (snmp_bridge_ber_skip(&p, end, ASN_OCTET_STR, &v, &len) != 0)
			return DROP_MALFORMED;
		if (!snmp_bridge_community_ok(v, len))
			return DROP_COMMUNITY;
		return snmp_bridge_scan_pdu(p, end);
	case SNMP_VERSION_3:
		if (snmp_bridge_ber_skip(&p, end, 0x30, NULL, NULL) != 0 ||
		    snmp_bridge_ber_skip(&p, end, ASN_OCTET_STR, NULL, NULL) !=
			0 ||
		    p >= end)
			return DROP_MALFORMED;
		if (*p == ASN_OCTET_STR)
			return DROP_NONE; /* encrypted */
		if (snmp_bridge_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
			return DROP_MALFORMED;
		end = p + len;
		if (snmp_bridge_ber_skip(&p, end, ASN_OCTET_STR, NULL, NULL) !=
			0 ||
		    snmp_bridge_ber_skip(&p, end, ASN_OCTET_STR, NULL, NULL) !=
			0)
			return DROP_MALFORMED;
		return snmp_bridge_scan_pdu(p, end);
	default:
		return DROP_MALFORMED;
	}
}

/* Count a dropped request; log the counts at most once a minute. */
static void
snmp_bridge_dropped(enum snmp_bridge_drop why)
{
	uint64_t *d = snmp_bridge.drops;
	time_t now = time(NULL);

	d[why]++;
	snmp_bridge.drops_total++;
	/* The snmp group (RFC 3418) counts them as net-snmp would have. */
	snmp_increment_statistic(STAT_SNMPINPKTS);
	if (why == DROP_COMMUNITY)
		snmp_increment_statistic(STAT_SNMPINBADCOMMUNITYNAMES);
	else if (why == DROP_MALFORMED)
		snmp_increment_statistic(STAT_SNMPINASNPARSEERRS);
	if (now - snmp_bridge.drops_logged < 60)
		return;
	log_warnx("agent: dropped %llu requests unparsed (%llu over %d "
		  "octets, %llu over %d varbinds, %llu unknown community, %llu "
		  "malformed); %llu since the start",
	    (unsigned long long)(d[DROP_SIZE] + d[DROP_VARBINDS] +
		d[DROP_COMMUNITY] + d[DROP_MALFORMED]),
	    (unsigned long long)d[DROP_SIZE], SNMP_BRIDGE_REQ_MAX,
	    (unsigned long long)d[DROP_VARBINDS], SNMP_BRIDGE_VB_MAX,
	    (unsigned long long)d[DROP_COMMUNITY],
	    (unsigned long long)d[DROP_MALFORMED],
	    (unsigned long long)snmp_bridge.drops_total);
	memset(snmp_bridge.drops, 0, sizeof(snmp_bridge.drops));
	snmp_bridge.drops_logged = now;
}

/*
 * Look at the datagram waiting on an agent transport: 0 lets net-snmp read
 * it, -1 means it was read here and dropped.
 */
static int
snmp_bridge_screen(int fd)
{
	u_char buf[SNMP_BRIDGE_REQ_MAX];
	enum snmp_bridge_drop why;
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return 0; /* net-snmp sees the error */
	if ((size_t)n > sizeof(buf))
		why = DROP_SIZE;
	else if ((why = snmp_bridge_scan(buf, (size_t)n)) == DROP_NONE)
		return 0;
	(void)recv(fd, buf, 1, MSG_DONTWAIT); /* a datagram goes whole */
	snmp_bridge_dropped(why);
	return -1;
}

/*
 * SNMPv3 Reports: a reportable v3 request with an engine ID not ours (also
 * the empty one of discovery) or an unknown user gets a Report PDU from
 * net-snmp, on the agent's and the trap port. Such requests are budgeted
 * per source address (SNMP_BRIDGE_RPT_BURST, then SNMP_BRIDGE_RPT_RATE a
 * second) and in all (SNMP_BRIDGE_RPT_ALL a second); over budget they are
 * read here and dropped unanswered. The table of sources is bounded: a
 * source hashed to a taken slot takes it over.
 */

/* Whether a v3 message will be answered with a Report. */
static int
snmp_bridge_v3_report(const u_char *p, size_t size)
{
	const u_char *end = p + size, *g, *gend, *v, *eid, *user;
	u_char tag, ours[SNMP_BRIDGE_EID_MAX];
	size_t len, eidlen, ulen, olen;
	char name[33];

	if (snmp_bridge_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
		return 0;
	end = p + len;
	if (snmp_bridge_ber_skip(&p, end, ASN_INTEGER, &v, &len) != 0 ||
	    len != 1 || v[0] != SNMP_VERSION_3 ||
	    snmp_bridge_ber_skip(&p, end, 0x30, &g, &len) != 0)
		return 0;
	gend = g + len; /* msgGlobalData */
	if (snmp_bridge_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    snmp_bridge_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    snmp_bridge_ber_skip(&g, gend, ASN_OCTET_STR, &v, &len) != 0 ||
	    len != 1 || (v[0] & SNMP_MSG_FLAG_RPRT_BIT) == 0)
		return 0;
	if (snmp_bridge_ber_skip(&p, end, ASN_OCTET_STR, &g, &len) != 0)
		return 0;
	gend = g + len; /* msgSecurityParameters */
	if (snmp_bridge_ber(&g, gend, &tag, &len) != 0 || tag != 0x30)
		return 0;
	gend = g + len;
	if (snmp_bridge_ber_skip(&g, gend, ASN_OCTET_STR, &eid, &eidlen) != 0 ||
	    snmp_bridge_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    snmp_bridge_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    snmp_bridge_ber_skip(&g, gend, ASN_OCTET_STR, &user, &ulen) != 0)
		return 0;
	olen = snmpv3_get_engineID(ours, sizeof(ours));
	if (eidlen != olen || memcmp(eid, ours, olen) != 0)
		return 1;
	if (ulen >= sizeof(name))
		return 1;
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	return usm_get_user(eid, eidlen, name) == NULL;
}

/* Take one token from a bucket of a burst and a rate a second. */
static int
snmp_bridge_take(struct snmp_bridge_bucket *b, int64_t now_ms, int burst,
    int rate)
{
	int64_t full = (int64_t)burst * 1000;

	if (b->at_ms == 0 || now_ms < b->at_ms)
		b->mtokens = full;
	else
		b->mtokens += (now_ms - b->at_ms) * rate;
	if (b->mtokens > full)
		b->mtokens = full;
	b->at_ms = now_ms;
	if (b->mtokens < 1000)
		return 0;
	b->mtokens -= 1000;
	return 1;
}

/* Whether a Report to this source is within the budgets. */
static int
snmp_bridge_rpt_allowed(const struct sockaddr_storage *ss)
{
	struct snmp_bridge_rpt *r;
	struct timespec ts;
	const u_char *a;
	size_t alen, i;
	uint32_t h = 2166136261u;
	int64_t now_ms;

	if (ss->ss_family == AF_INET6) {
		a = (const u_char *)&((const struct sockaddr_in6 *)ss)
			->sin6_addr;
		alen = 16;
	} else {
		a = (const u_char *)&((const struct sockaddr_in *)ss)->sin_addr;
		alen = 4;
	}
	for (i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	if (snmp_bridge.rpt == NULL)
		snmp_bridge.rpt =
		    xcalloc(SNMP_BRIDGE_RPT_SLOTS, sizeof(*snmp_bridge.rpt));
	r = &snmp_bridge.rpt[h % SNMP_BRIDGE_RPT_SLOTS];
	if (r->alen != alen || memcmp(r->addr, a, alen) != 0) {
		memset(r, 0, sizeof(*r));
		memcpy(r->addr, a, alen);
		r->alen = alen;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
	if (!snmp_bridge_take(&r->b, now_ms, SNMP_BRIDGE_RPT_BURST,
		SNMP_BRIDGE_RPT_RATE))
		return 0;
	return snmp_bridge_take(&snmp_bridge.rpt_all, now_ms,
	    SNMP_BRIDGE_RPT_ALL, SNMP_BRIDGE_RPT_ALL);
}

/*
 * Look at the datagram waiting on a UDP transport: a request that will get
 * a Report is counted, and over budget read here and dropped (-1).
 */
static int
snmp_bridge_screen_report(int fd)
{
	u_char buf[SNMP_BRIDGE_REQ_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	ssize_t n;

	memset(&ss, 0, sizeof(ss));
	n = recvfrom(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT,
	    (struct sockaddr *)&ss, &sslen);
	if (n <= 0 || !snmp_bridge_v3_report(buf, (size_t)n))
		return 0;
	if (snmp_bridge_rpt_allowed(&ss)) {
		stats.snmp_reports_sent++;
		return 0;
	}
	(void)recv(fd, buf, 1, MSG_DONTWAIT); /* a datagram goes whole */
	stats.snmp_reports_suppressed++;
	return -1;
}

/* Whether the event's descriptor is a datagram socket. */
static int
snmp_bridge_fd_dgram(int fd)
{
	size_t i;

	for (i = 0; i < snmp_bridge.nfds; i++) {
		if (snmp_bridge.fds[i].fd == fd)
			return snmp_bridge.fds[i].dgram;
	}
	return 0;
}

/* Whether a descriptor is one of the agent's transports. */
static int
snmp_bridge_is_agent(int fd, ino_t ino)
{
	size_t i;

	for (i = 0; i < snmp_bridge.nagentfd; i++) {
		if (snmp_bridge.agentfd[i].fd == fd &&
		    snmp_bridge.agentfd[i].ino == ino)
			return 1;
	}
	return 0;
}

/* Whether the event's descriptor is an agent transport (screened). */
static int
snmp_bridge_fd_agent(int fd)
{
	size_t i;

	for (i = 0; i < snmp_bridge.nfds; i++) {
		if (snmp_bridge.fds[i].fd == fd)
			return snmp_bridge.fds[i].agent;
	}
	return 0;
}

/* Stop watching the descriptor at index i. */
static void
snmp_bridge_drop(size_t i)
{
	event_free(snmp_bridge.fds[i].ev);
	snmp_bridge.fds[i] = snmp_bridge.fds[snmp_bridge.nfds - 1];
	snmp_bridge.nfds--;
}

/* Start watching a descriptor for reading; no child inherits it. */
static void
snmp_bridge_add(int fd, ino_t ino)
{
	struct snmp_bridge_fd *f;
	struct event *ev;
	int type = 0, flags;
	socklen_t len = sizeof(type);

	/* net-snmp opens its sockets without SOCK_CLOEXEC. */
	if ((flags = fcntl(fd, F_GETFD)) != -1 && !(flags & FD_CLOEXEC))
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);

	ev = event_new(snmp_bridge.base, fd, EV_READ | EV_PERSIST,
	    snmp_bridge_read_cb, NULL);
	if (ev == NULL || event_add(ev, NULL) != 0)
		fatalx("cannot watch net-snmp descriptor %d", fd);
	snmp_bridge.fds = xreallocarray(snmp_bridge.fds, snmp_bridge.nfds + 1,
	    sizeof(*snmp_bridge.fds));
	f = &snmp_bridge.fds[snmp_bridge.nfds++];
	f->fd = fd;
	f->ino = ino;
	f->ev = ev;
	f->agent = snmp_bridge_is_agent(fd, ino);
	f->dgram = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_DGRAM;
}

/*
 * Make the held events match the descriptor set: drop those net-snmp no
 * longer uses (or whose number now names another socket), add new ones.
 */
static void
snmp_bridge_sync(netsnmp_large_fd_set *set, int numfds)
{
	size_t i, j;
	int fd;
	char *held;

	for (i = 0; i < snmp_bridge.nfds; /* nothing */) {
		fd = snmp_bridge.fds[i].fd;
		if (fd < numfds && NETSNMP_LARGE_FD_ISSET(fd, set) &&
		    snmp_bridge_ino(fd) == snmp_bridge.fds[i].ino)
			i++;
		else
			snmp_bridge_drop(i);
	}
	held = xcalloc(numfds > 0 ? numfds : 1, 1);
	for (j = 0; j < snmp_bridge.nfds; j++)
		held[snmp_bridge.fds[j].fd] = 1; /* all < numfds now */
	for (fd = 0; fd < numfds; fd++) {
		if (NETSNMP_LARGE_FD_ISSET(fd, set) && !held[fd])
			snmp_bridge_add(fd, snmp_bridge_ino(fd));
	}
	free(held);
}

/*
 * A cheap summary of the descriptor set: when it is the one of the last
 * sync, nothing was opened or closed since (every module that closes a
 * session updates the bridge before opening another), and the sync, with
 * its fstat of every descriptor, is skipped: with a thousand polled hosts'
 * sessions it would cost more than the responses it follows.
 */
static uint64_t
snmp_bridge_sig(netsnmp_large_fd_set *set, int numfds)
{
	uint64_t sig = (uint64_t)numfds;
	int fd;

	for (fd = 0; fd < numfds; fd++) {
		if (NETSNMP_LARGE_FD_ISSET(fd, set))
			sig = sig * 1000003 + (uint64_t)fd + 1;
	}
	return sig;
}

/* Re-read net-snmp's descriptors and next timeout. */
void
snmp_bridge_update(void)
{
	netsnmp_large_fd_set set;
	struct timeval tv;
	uint64_t sig;
	int numfds = 0, block = 1;

	if (!snmp_bridge.started || snmp_bridge.timer == NULL)
		return;
	netsnmp_large_fd_set_init(&set, FD_SETSIZE);
	timerclear(&tv);
	snmp_select_info2(&numfds, &set, &tv, &block);
	sig = snmp_bridge_sig(&set, numfds);
	if (sig != snmp_bridge.sig || snmp_bridge.nfds == 0) {
		snmp_bridge_sync(&set, numfds);
		snmp_bridge.sig = sig;
	}
	netsnmp_large_fd_set_cleanup(&set);

	if (block == 0)
		evtimer_add(snmp_bridge.timer, &tv);
	else
		evtimer_del(snmp_bridge.timer);
}

/* A descriptor is readable (read it) or the timer fired (run timeouts). */
static void
snmp_bridge_read_cb(int fd, short what, void *arg)
{
	netsnmp_large_fd_set set;

	if ((what & EV_READ) && snmp_bridge_fd_agent(fd) &&
	    snmp_bridge_screen(fd) != 0)
		return; /* dropped: nothing changed */
	if ((what & EV_READ) && snmp_bridge_fd_dgram(fd) &&
	    snmp_bridge_screen_report(fd) != 0)
		return; /* over the Report budget: dropped */
	if (what & EV_READ) {
		netsnmp_large_fd_set_init(&set, FD_SETSIZE);
		NETSNMP_LARGE_FD_SET(fd, &set);
		snmp_read2(&set);
		netsnmp_large_fd_set_cleanup(&set);
	}
	if (what & EV_TIMEOUT) {
		snmp_timeout();
		run_alarms();
		netsnmp_check_outstanding_agent_requests();
	}
	snmp_bridge_update();
}

/* Close every session, shut net-snmp down and free our events. */
void
snmp_bridge_stop(void)
{
	size_t i;

	if (!snmp_bridge.started)
		return;
	for (i = 0; i < snmp_bridge.nfds; i++)
		event_free(snmp_bridge.fds[i].ev);
	free(snmp_bridge.fds);
	snmp_bridge.fds = NULL;
	snmp_bridge.nfds = 0;
	free(snmp_bridge.rpt);
	snmp_bridge.rpt = NULL;
	if (snmp_bridge.timer != NULL)
		event_free(snmp_bridge.timer);
	snmp_bridge.timer = NULL;

	if (snmp_bridge.role != AGENT_ROLE_NONE)
		agent_unregister();
	snmp_shutdown(SNMP_BRIDGE_APP);
	if (snmp_bridge.role == AGENT_ROLE_MASTER)
		shutdown_master_agent();
	if (snmp_bridge.role != AGENT_ROLE_NONE)
		shutdown_agent();
	snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
	    snmp_bridge_log_cb, NULL, 1);
	for (i = 0; i < snmp_bridge.ncommunities; i++)
		free(snmp_bridge.communities[i]);
	free(snmp_bridge.communities);
	snmp_bridge.communities = NULL;
	snmp_bridge.ncommunities = snmp_bridge.nagentfd = 0;
	snmp_bridge.role = AGENT_ROLE_NONE;
	snmp_bridge.base = NULL;
	snmp_bridge.started = 0;
}
