/* snmp_screen.c: look at SNMP datagrams before net-snmp parses them. */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "log.h"
#include "snmp_screen.h"
#include "stats.h"
#include "xmalloc.h"

#define SCREEN_REQ_MAX	 8192 /* octets of a request to the agent */
#define SCREEN_VB_MAX	 128  /* varbinds of a request */
#define SCREEN_RPT_SLOTS 1024 /* sources with a Report budget */
#define SCREEN_RPT_BURST 10   /* Reports a source may get at once, */
#define SCREEN_RPT_RATE	 5    /* then this many a second */
#define SCREEN_RPT_ALL	 100  /* Reports a second to all sources */
#define SCREEN_EID_MAX	 32   /* octets of an engine ID */

/* Why a request to the agent is dropped before net-snmp sees it. */
enum screen_drop {
	DROP_NONE = -1,
	DROP_SIZE,	/* over SCREEN_REQ_MAX */
	DROP_VARBINDS,	/* over SCREEN_VB_MAX */
	DROP_COMMUNITY, /* v1/v2c with a community not configured */
	DROP_MALFORMED, /* not an SNMP message */
	DROP_MAX
};

/* A token bucket, in thousandths of a token. */
struct screen_bucket {
	int64_t at_ms; /* last refill */
	int64_t mtokens;
};

/* One source's Report budget; the table is indexed by a hash. */
struct screen_rpt {
	u_char addr[16];
	size_t alen;
	struct screen_bucket b;
};

static struct {
	/* The communities the agent takes (v1/v2c). */
	char **communities;
	size_t ncommunities;
	/* Requests dropped unparsed: since the last log line, and in all. */
	uint64_t drops[DROP_MAX], drops_total;
	time_t drops_logged;
	/* Report PDUs' budgets: per source, and for all together. */
	struct screen_rpt *rpt;
	struct screen_bucket rpt_all;
} screen;

/* The agent's communities; "name@context" takes the name. */
void
snmp_screen_communities(char *const *communities, size_t n)
{
	size_t i;
	char *at;

	snmp_screen_reset();
	screen.communities = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		screen.communities[i] = xstrdup(communities[i]);
		if ((at = strchr(screen.communities[i], '@')) != NULL)
			*at = '\0';
	}
	screen.ncommunities = n;
}

/* Forget the communities and the Report budgets. */
void
snmp_screen_reset(void)
{
	size_t i;

	for (i = 0; i < screen.ncommunities; i++)
		free(screen.communities[i]);
	free(screen.communities);
	screen.communities = NULL;
	screen.ncommunities = 0;
	free(screen.rpt);
	screen.rpt = NULL;
	memset(&screen.rpt_all, 0, sizeof(screen.rpt_all));
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
screen_ber(const u_char **p, const u_char *end, u_char *tag, size_t *len)
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
screen_ber_skip(const u_char **p, const u_char *end, u_char want,
    const u_char **val, size_t *vlen)
{
	u_char tag;
	size_t len;

	if (screen_ber(p, end, &tag, &len) != 0 || (want != 0 && tag != want))
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
screen_community_ok(const u_char *c, size_t len)
{
	size_t i;

	for (i = 0; i < screen.ncommunities; i++) {
		if (strlen(screen.communities[i]) == len &&
		    memcmp(screen.communities[i], c, len) == 0)
			return 1;
	}
	return 0;
}

/* A PDU: request-id, error-status, error-index, then count the varbinds. */
static enum screen_drop
screen_scan_pdu(const u_char *p, const u_char *end)
{
	u_char tag;
	size_t len, n;
	int i;

	if (screen_ber(&p, end, &tag, &len) != 0 || (tag & 0xe0) != 0xa0)
		return DROP_MALFORMED;
	end = p + len;
	for (i = 0; i < 3; i++) {
		if (screen_ber_skip(&p, end, ASN_INTEGER, NULL, NULL) != 0)
			return DROP_MALFORMED;
	}
	if (screen_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
		return DROP_MALFORMED;
	end = p + len;
	for (n = 0; p < end; n++) {
		if (n == SCREEN_VB_MAX)
			return DROP_VARBINDS;
		if (screen_ber_skip(&p, end, 0x30, NULL, NULL) != 0)
			return DROP_MALFORMED;
	}
	return DROP_NONE;
}

/*
 * What to do with a request: v1/v2c need a configured community; v3 with
 * a plaintext scoped PDU has its varbinds counted (an encrypted one is
 * bounded by its size only, and USM checks it before any decoding).
 */
static enum screen_drop
screen_scan(const u_char *p, size_t size)
{
	const u_char *end = p + size, *v;
	u_char tag;
	size_t len;

	if (screen_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
		return DROP_MALFORMED;
	end = p + len;
	if (screen_ber_skip(&p, end, ASN_INTEGER, &v, &len) != 0 || len != 1)
		return DROP_MALFORMED;
	switch (v[0]) {
	case SNMP_VERSION_1:
	case SNMP_VERSION_2c:
		if (screen_ber_skip(&p, end, ASN_OCTET_STR, &v, &len) != 0)
			return DROP_MALFORMED;
		if (!screen_community_ok(v, len))
			return DROP_COMMUNITY;
		return screen_scan_pdu(p, end);
	case SNMP_VERSION_3:
		if (screen_ber_skip(&p, end, 0x30, NULL, NULL) != 0 ||
		    screen_ber_skip(&p, end, ASN_OCTET_STR, NULL, NULL) != 0 ||
		    p >= end)
			return DROP_MALFORMED;
		if (*p == ASN_OCTET_STR)
			return DROP_NONE; /* encrypted */
		if (screen_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
			return DROP_MALFORMED;
		end = p + len;
		if (screen_ber_skip(&p, end, ASN_OCTET_STR, NULL, NULL) != 0 ||
		    screen_ber_skip(&p, end, ASN_OCTET_STR, NULL, NULL) != 0)
			return DROP_MALFORMED;
		return screen_scan_pdu(p, end);
	default:
		return DROP_MALFORMED;
	}
}

/* Count a dropped request; log the counts at most once a minute. */
static void
screen_dropped(enum screen_drop why)
{
	uint64_t *d = screen.drops;
	time_t now = time(NULL);

	d[why]++;
	screen.drops_total++;
	/* The snmp group (RFC 3418) counts them as net-snmp would have. */
	snmp_increment_statistic(STAT_SNMPINPKTS);
	if (why == DROP_COMMUNITY)
		snmp_increment_statistic(STAT_SNMPINBADCOMMUNITYNAMES);
	else if (why == DROP_MALFORMED)
		snmp_increment_statistic(STAT_SNMPINASNPARSEERRS);
	if (now - screen.drops_logged < 60)
		return;
	log_warnx("agent: dropped %llu requests unparsed (%llu over %d "
		  "octets, %llu over %d varbinds, %llu unknown community, %llu "
		  "malformed); %llu since the start",
	    (unsigned long long)(d[DROP_SIZE] + d[DROP_VARBINDS] +
		d[DROP_COMMUNITY] + d[DROP_MALFORMED]),
	    (unsigned long long)d[DROP_SIZE], SCREEN_REQ_MAX,
	    (unsigned long long)d[DROP_VARBINDS], SCREEN_VB_MAX,
	    (unsigned long long)d[DROP_COMMUNITY],
	    (unsigned long long)d[DROP_MALFORMED],
	    (unsigned long long)screen.drops_total);
	memset(screen.drops, 0, sizeof(screen.drops));
	screen.drops_logged = now;
}

/*
 * Look at the datagram waiting on an agent transport: 0 lets net-snmp read
 * it, -1 means it was read here and dropped.
 */
int
snmp_screen_request(int fd)
{
	u_char buf[SCREEN_REQ_MAX];
	enum screen_drop why;
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return 0; /* net-snmp sees the error */
	if ((size_t)n > sizeof(buf))
		why = DROP_SIZE;
	else if ((why = screen_scan(buf, (size_t)n)) == DROP_NONE)
		return 0;
	(void)recv(fd, buf, 1, MSG_DONTWAIT); /* a datagram goes whole */
	screen_dropped(why);
	return -1;
}

/*
 * SNMPv3 Reports: a reportable v3 request with an engine ID not ours (also
 * the empty one of discovery) or an unknown user gets a Report PDU from
 * net-snmp, on the agent's and the trap port. Such requests are budgeted
 * per source address (SCREEN_RPT_BURST, then SCREEN_RPT_RATE a
 * second) and in all (SCREEN_RPT_ALL a second); over budget they are
 * read here and dropped unanswered. The table of sources is bounded: a
 * source hashed to a taken slot takes it over.
 */

/* Whether a v3 message will be answered with a Report. */
static int
screen_v3_report(const u_char *p, size_t size)
{
	const u_char *end = p + size, *g, *gend, *v, *eid, *user;
	u_char tag, ours[SCREEN_EID_MAX];
	size_t len, eidlen, ulen, olen;
	char name[33];

	if (screen_ber(&p, end, &tag, &len) != 0 || tag != 0x30)
		return 0;
	end = p + len;
	if (screen_ber_skip(&p, end, ASN_INTEGER, &v, &len) != 0 || len != 1 ||
	    v[0] != SNMP_VERSION_3 ||
	    screen_ber_skip(&p, end, 0x30, &g, &len) != 0)
		return 0;
	gend = g + len; /* msgGlobalData */
	if (screen_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    screen_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    screen_ber_skip(&g, gend, ASN_OCTET_STR, &v, &len) != 0 ||
	    len != 1 || (v[0] & SNMP_MSG_FLAG_RPRT_BIT) == 0)
		return 0;
	if (screen_ber_skip(&p, end, ASN_OCTET_STR, &g, &len) != 0)
		return 0;
	gend = g + len; /* msgSecurityParameters */
	if (screen_ber(&g, gend, &tag, &len) != 0 || tag != 0x30)
		return 0;
	gend = g + len;
	if (screen_ber_skip(&g, gend, ASN_OCTET_STR, &eid, &eidlen) != 0 ||
	    screen_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    screen_ber_skip(&g, gend, ASN_INTEGER, NULL, NULL) != 0 ||
	    screen_ber_skip(&g, gend, ASN_OCTET_STR, &user, &ulen) != 0)
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
screen_take(struct screen_bucket *b, int64_t now_ms, int burst, int rate)
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
screen_rpt_allowed(const struct sockaddr_storage *ss)
{
	struct screen_rpt *r;
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
	if (screen.rpt == NULL)
		screen.rpt = xcalloc(SCREEN_RPT_SLOTS, sizeof(*screen.rpt));
	r = &screen.rpt[h % SCREEN_RPT_SLOTS];
	if (r->alen != alen || memcmp(r->addr, a, alen) != 0) {
		memset(r, 0, sizeof(*r));
		memcpy(r->addr, a, alen);
		r->alen = alen;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
	if (!screen_take(&r->b, now_ms, SCREEN_RPT_BURST, SCREEN_RPT_RATE))
		return 0;
	return screen_take(&screen.rpt_all, now_ms, SCREEN_RPT_ALL,
	    SCREEN_RPT_ALL);
}

/*
 * Look at the datagram waiting on a UDP transport: a request that will get
 * a Report is counted, and over budget read here and dropped (-1).
 */
int
snmp_screen_report(int fd)
{
	u_char buf[SCREEN_REQ_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	ssize_t n;

	memset(&ss, 0, sizeof(ss));
	n = recvfrom(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT,
	    (struct sockaddr *)&ss, &sslen);
	if (n <= 0 || !screen_v3_report(buf, (size_t)n))
		return 0;
	if (screen_rpt_allowed(&ss)) {
		stats.snmp_reports_sent++;
		return 0;
	}
	(void)recv(fd, buf, 1, MSG_DONTWAIT); /* a datagram goes whole */
	stats.snmp_reports_suppressed++;
	return -1;
}
