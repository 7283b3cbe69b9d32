/* traps.c: receive SNMP traps (v1, v2c, v3) and informs (v2c, v3), one event each. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "config.h"
#include "event.h"
#include "listen.h"
#include "log.h"
#include "snmp_bridge.h"
#include "stats.h"
#include "traps.h"
#include "xmalloc.h"

/*
 * SNMPv3: each user of traps: users is a USM user (as snmptrapd's
 * createUser), localized to the sender's engine_id (its traps) or to our
 * own engineID (informs, which the sender discovers). net-snmp checks the
 * keys, digests and time window; traps_post_parse_cb counts what it
 * refused by reason; traps_input_cb checks that the user is one of ours
 * at its security level instead of the community, and traps_v2 converts
 * the PDU (the v2 varbind layout is the same).
 */

/*
 * An inform's response means "processed, and what it changed committed":
 * the response PDU is held until the commit function (traps_set_commit)
 * has succeeded, run once for all informs that arrived in one pass of the
 * loop.  At most TRAPS_HELD_MAX informs wait; beyond that (the store
 * cannot commit) an inform is refused unprocessed and counted
 * (inform_backlog): its sender retransmits it.  A retransmission of an
 * inform still held (same source and request-id) is left to the held one.
 */
#define TRAPS_HELD_MAX 512
#define TRAPS_RETRY_MS 1000 /* after a failed commit */

struct traps_held {
	struct traps_held *next;
	netsnmp_pdu *reply; /* the response to send */
	long reqid;
	struct sockaddr_storage from;
	socklen_t fromlen;
};

/* A USM user the trap receiver accepts. */
struct traps_user {
	char *name;
	u_char engine[32];
	size_t elen;
	int authpriv;
	int created; /* ours: removed on reconfigure */
};

struct traps {
	struct event_base *base;
	netsnmp_session *sess;
	char *listen;
	char **communities;
	size_t ncommunities;
	void (*cb)(const struct logevent *, void *);
	void *arg;
	struct logevent ev;
	char *scratch;
	int rcvbuf; /* socket receive buffer wanted */
	int (*commit)(void *);
	void *commit_arg;
	struct traps_held *held, **held_tail;
	size_t nheld;
	struct event *commit_ev;  /* commit, then answer the held */
	struct traps_user *users; /* SNMPv3 users */
	size_t nusers;
};

/* Strings are appended to a bounded scratch buffer, cut when it is full. */
struct traps_buf {
	char *p;
	size_t len;
	size_t off;
	size_t start;
	int cut;
};

static const oid traps_sysuptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
static const oid traps_trapoid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
static const oid traps_snmptraps[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5 };
static const oid traps_trapaddress[] = { 1, 3, 6, 1, 6, 3, 18, 1, 3, 0 };
static const oid traps_trapcommunity[] = { 1, 3, 6, 1, 6, 3, 18, 1, 4, 0 };
static const oid traps_trapenterprise[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0 };

#define TRAPS_NOID(a)  (sizeof(a) / sizeof((a)[0]))
/* Varbinds RFC 3584 adds to a v1 trap after its own (address, community, enterprise). */
#define TRAPS_V1_EXTRA 3

/* The UDP transports' receive function, wrapped to count bytes. */
static int (*traps_recv_next)(netsnmp_transport *, void *, int, void **, int *);

/* Start a new string in the scratch buffer. */
static void
traps_buf_begin(struct traps_buf *b)
{
	b->start = b->off;
}

/* Append text to the current string; cut (and remember) when full. */
static void __attribute__((format(printf, 2, 3)))
traps_buf_add(struct traps_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t avail;
	int n;

	if (b->off + 1 >= b->len) {
		b->cut = 1;
		return;
	}
	avail = b->len - b->off;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->off, avail, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= avail) {
		b->off = b->len - 1;
		b->cut = 1;
	} else
		b->off += n;
}

/* Append raw bytes (already checked to be text) to the current string. */
static void
traps_buf_bytes(struct traps_buf *b, const u_char *s, size_t n)
{
	if (b->off + 1 >= b->len) {
		b->cut = 1;
		return;
	}
	if (n > b->len - b->off - 1) {
		n = b->len - b->off - 1;
		b->cut = 1;
	}
	memcpy(b->p + b->off, s, n);
	b->off += n;
}

/* Terminate the current string and return it. */
static const char *
traps_buf_end(struct traps_buf *b)
{
	const char *s;

	if (b->start >= b->len) {
		b->cut = 1;
		return "";
	}
	b->p[b->off] = '\0';
	s = b->p + b->start;
	b->off++;
	return s;
}

/* Append one sub-identifier (after a dot), digits written by hand. */
static void
traps_buf_subid(struct traps_buf *b, int dot, u_long v)
{
	char digits[24];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (dot)
		digits[--n] = '.';
	traps_buf_bytes(b, (const u_char *)digits + n, sizeof(digits) - n);
}

/* Render an OID numerically, without a leading dot. */
static const char *
traps_oid_text(struct traps_buf *b, const oid *o, size_t n)
{
	size_t i;

	traps_buf_begin(b);
	if (o == NULL)
		n = 0;
	if (n > MAX_OID_LEN) {
		n = MAX_OID_LEN;
		b->cut = 1;
	}
	for (i = 0; i < n; i++)
		traps_buf_subid(b, i > 0, (u_long)o[i]);
	return traps_buf_end(b);
}

/* Length of one valid, printable UTF-8 character at s, or 0. */
static size_t
traps_utf8_char(const u_char *s, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80)
		return (s[0] >= 0x20 && s[0] != 0x7f) || s[0] == '\t' ||
		    s[0] == '\n' || s[0] == '\r';
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
	    (c >= 0x80 && c < 0xa0))
		return 0;
	return len;
}

/* How many leading bytes of s are printable UTF-8 text; 0 if not all are. */
static size_t
traps_text_len(const u_char *s, size_t n, size_t max, int *cut)
{
	size_t i = 0, cl;

	while (n > 0 && s[n - 1] == '\0') /* C strings sent with their NUL */
		n--;
	while (i < n) {
		if ((cl = traps_utf8_char(s + i, n - i)) == 0)
			return 0;
		if (i + cl > max) {
			*cut = 1;
			break;
		}
		i += cl;
	}
	return i;
}

/* Render an OCTET STRING: text if it is printable UTF-8, else hex "0a:1b". */
static const char *
traps_octets_text(struct traps_buf *b, const u_char *s, size_t n)
{
	size_t tl, i;
	int cut = 0;

	traps_buf_begin(b);
	if (s == NULL)
		n = 0;
	if (n == 0)
		return traps_buf_end(b);
	if ((tl = traps_text_len(s, n, TRAPS_MAX_VALUE, &cut)) != 0) {
		traps_buf_bytes(b, s, tl);
	} else {
		if (n > TRAPS_MAX_VALUE / 3) {
			n = TRAPS_MAX_VALUE / 3;
			cut = 1;
		}
		for (i = 0; i < n; i++)
			traps_buf_add(b, "%s%02x", i == 0 ? "" : ":", s[i]);
	}
	if (cut)
		b->cut = 1;
	return traps_buf_end(b);
}

/* Render four bytes as a dotted IPv4 address. */
static const char *
traps_ipv4_text(struct traps_buf *b, const u_char *a)
{
	traps_buf_begin(b);
	traps_buf_add(b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	return traps_buf_end(b);
}

/* Render an integer-like value (signed or 32-bit unsigned) in decimal. */
static const char *
traps_number_text(struct traps_buf *b, const netsnmp_variable_list *v,
    int is_signed)
{
	traps_buf_begin(b);
	if (v->val.integer == NULL || v->val_len < sizeof(long))
		return traps_buf_end(b);
	if (is_signed)
		traps_buf_add(b, "%ld", *v->val.integer);
	else
		traps_buf_add(b, "%lu", (u_long)*v->val.integer & 0xffffffffUL);
	return traps_buf_end(b);
}

/* Render a Counter64 in decimal. */
static const char *
traps_counter64_text(struct traps_buf *b, const netsnmp_variable_list *v)
{
	uint64_t n;

	traps_buf_begin(b);
	if (v->val.counter64 == NULL || v->val_len < sizeof(struct counter64))
		return traps_buf_end(b);
	n = ((uint64_t)(v->val.counter64->high & 0xffffffffUL) << 32) |
	    (v->val.counter64->low & 0xffffffffUL);
	traps_buf_add(b, "%llu", (unsigned long long)n);
	return traps_buf_end(b);
}

/* Render a varbind's value as text and name its type. */
static const char *
traps_value_text(struct traps_buf *b, const netsnmp_variable_list *v,
    const char **type)
{
	switch (v->type) {
	case ASN_INTEGER:
		*type = "INTEGER";
		return traps_number_text(b, v, 1);
	case ASN_OCTET_STR:
		*type = "OCTET STRING";
		return traps_octets_text(b, v->val.string, v->val_len);
	case ASN_OBJECT_ID:
		*type = "OID";
		return traps_oid_text(b, v->val.objid,
		    v->val_len / sizeof(oid));
	case ASN_IPADDRESS:
		*type = "IpAddress";
		if (v->val.string != NULL && v->val_len == 4)
			return traps_ipv4_text(b, v->val.string);
		return traps_octets_text(b, v->val.string, v->val_len);
	case ASN_COUNTER:
		*type = "Counter32";
		return traps_number_text(b, v, 0);
	case ASN_GAUGE:
		*type = "Gauge32";
		return traps_number_text(b, v, 0);
	case ASN_TIMETICKS:
		*type = "TimeTicks";
		return traps_number_text(b, v, 0);
	case ASN_UINTEGER:
		*type = "UInteger32";
		return traps_number_text(b, v, 0);
	case ASN_COUNTER64:
		*type = "Counter64";
		return traps_counter64_text(b, v);
	case ASN_NULL:
		*type = "NULL";
		return "";
	case SNMP_NOSUCHOBJECT:
		*type = "noSuchObject";
		return "";
	case SNMP_NOSUCHINSTANCE:
		*type = "noSuchInstance";
		return "";
	case SNMP_ENDOFMIBVIEW:
		*type = "endOfMibView";
		return "";
	case ASN_OPAQUE:
		*type = "Opaque";
		break;
	case ASN_BIT_STR:
		*type = "BITS";
		break;
	default:
		*type = "unknown";
		break;
	}
	return traps_octets_text(b, v->val.string, v->val_len);
}

/* Append one varbind to the event; 0 if the event is full. */
static int
traps_add_vb(struct logevent *ev, const char *oidtext, const char *type,
    const char *value)
{
	if (ev->nvb >= EVENT_MAX_VARBINDS)
		return 0;
	ev->vb[ev->nvb].oid = oidtext;
	ev->vb[ev->nvb].type = type;
	ev->vb[ev->nvb].value = value;
	ev->nvb++;
	return 1;
}

/* Whether a varbind names exactly that OID. */
static int
traps_is(const netsnmp_variable_list *v, const oid *o, size_t n)
{
	return v != NULL && v->name != NULL && v->name_length == n &&
	    memcmp(v->name, o, n * sizeof(oid)) == 0;
}

/* Copy the PDU's varbinds from v on, leaving room for reserve more. */
static void
traps_copy_vbs(struct traps_buf *b, struct logevent *ev,
    const netsnmp_variable_list *v, size_t reserve)
{
	const char *name, *type, *value;

	for (; v != NULL; v = v->next_variable) {
		if (ev->nvb + reserve >= EVENT_MAX_VARBINDS) {
			ev->flags |= EVENT_F_TRUNCATED;
			return;
		}
		name = traps_oid_text(b, v->name, v->name_length);
		value = traps_value_text(b, v, &type);
		traps_add_vb(ev, name, type, value);
	}
}

/* The event's varbind of that OID among those kept, or NULL. */
static const struct event_varbind *
traps_find_vb(const struct logevent *ev, const char *oidtext)
{
	size_t i;

	for (i = 0; i < ev->nvb; i++) {
		if (strcmp(ev->vb[i].oid, oidtext) == 0)
			return &ev->vb[i];
	}
	return NULL;
}

/*
 * snmpTrapOID.0 of a v1 trap (RFC 3584 section 3.1): snmpTraps.(generic+1)
 * for generic traps 0..5, enterprise.0.specific for enterpriseSpecific(6).
 * Every write into o is bounded by omax (CVE-2025-68615).
 */
static int
traps_v1_trapoid(const netsnmp_pdu *pdu, oid *o, size_t omax, size_t *on)
{
	size_t n = pdu->enterprise != NULL ? pdu->enterprise_length : 0;

	if (pdu->trap_type < SNMP_TRAP_COLDSTART ||
	    pdu->trap_type > SNMP_TRAP_ENTERPRISESPECIFIC)
		return -1;
	if (pdu->trap_type != SNMP_TRAP_ENTERPRISESPECIFIC) {
		if (omax < TRAPS_NOID(traps_snmptraps) + 1)
			return -1;
		memcpy(o, traps_snmptraps, sizeof(traps_snmptraps));
		o[TRAPS_NOID(traps_snmptraps)] = pdu->trap_type + 1;
		*on = TRAPS_NOID(traps_snmptraps) + 1;
		return 0;
	}
	if (n == 0 || omax < 2 || n > omax - 2)
		return -1;
	if (pdu->specific_type < 0 || (u_long)pdu->specific_type > 0xffffffffUL)
		return -1;
	memcpy(o, pdu->enterprise, n * sizeof(oid));
	o[n] = 0;
	o[n + 1] = pdu->specific_type;
	*on = n + 2;
	return 0;
}

/* A v1 trap in the v2 form: uptime, trap OID, varbinds, then RFC 3584's three. */
static int
traps_v1(struct traps_buf *b, const netsnmp_pdu *pdu, struct logevent *ev)
{
	oid trapoid[MAX_OID_LEN];
	size_t n, elen;
	const char *name, *value;

	if (traps_v1_trapoid(pdu, trapoid, MAX_OID_LEN, &n) != 0)
		return -1;
	ev->format = EVENT_FMT_TRAP_V1;
	name = traps_oid_text(b, traps_sysuptime, TRAPS_NOID(traps_sysuptime));
	traps_buf_begin(b);
	traps_buf_add(b, "%lu", (u_long)pdu->time & 0xffffffffUL);
	traps_add_vb(ev, name, "TimeTicks", traps_buf_end(b));
	ev->trap_oid = traps_oid_text(b, trapoid, n);
	name = traps_oid_text(b, traps_trapoid, TRAPS_NOID(traps_trapoid));
	traps_add_vb(ev, name, "OID", ev->trap_oid);
	traps_copy_vbs(b, ev, pdu->variables, TRAPS_V1_EXTRA);

	name =
	    traps_oid_text(b, traps_trapaddress, TRAPS_NOID(traps_trapaddress));
	if (traps_find_vb(ev, name) == NULL)
		traps_add_vb(ev, name, "IpAddress",
		    traps_ipv4_text(b, pdu->agent_addr));
	name = traps_oid_text(b, traps_trapcommunity,
	    TRAPS_NOID(traps_trapcommunity));
	if (traps_find_vb(ev, name) == NULL)
		traps_add_vb(ev, name, "OCTET STRING", ev->community);
	elen = pdu->enterprise != NULL ? pdu->enterprise_length : 0;
	name = traps_oid_text(b, traps_trapenterprise,
	    TRAPS_NOID(traps_trapenterprise));
	if (elen != 0 && traps_find_vb(ev, name) == NULL) {
		value = traps_oid_text(b, pdu->enterprise, elen);
		traps_add_vb(ev, name, "OID", value);
	}
	return 0;
}

/* A v2c trap or inform: it must start with sysUpTime.0 and snmpTrapOID.0. */
static int
traps_v2(struct traps_buf *b, const netsnmp_pdu *pdu, struct logevent *ev)
{
	const netsnmp_variable_list *up = pdu->variables, *to;

	to = up != NULL ? up->next_variable : NULL;
	if (!traps_is(up, traps_sysuptime, TRAPS_NOID(traps_sysuptime)) ||
	    !traps_is(to, traps_trapoid, TRAPS_NOID(traps_trapoid)))
		return -1;
	if (to->type != ASN_OBJECT_ID || to->val.objid == NULL ||
	    to->val_len < sizeof(oid))
		return -1;
	ev->format = pdu->version == SNMP_VERSION_3 ? EVENT_FMT_TRAP_V3 :
						      EVENT_FMT_TRAP_V2C;
	traps_copy_vbs(b, ev, pdu->variables, 0);
	ev->trap_oid = ev->vb[1].value;
	return 0;
}

/* Format the UDP source as the peer ("ip:port", "[ip6]:port") and its ip. */
static void
traps_peer(struct traps_buf *b, const struct sockaddr *from, socklen_t len,
    struct logevent *ev)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	if (from == NULL)
		return;
	if (from->sa_family == AF_INET && len >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)from;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else if (from->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)from;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
	} else
		return;
	traps_buf_begin(b);
	traps_buf_add(b, from->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
	    port);
	ev->peer = traps_buf_end(b);
	traps_buf_begin(b);
	traps_buf_add(b, "%s", ip);
	ev->host = traps_buf_end(b);
}

/* The device: snmpTrapAddress.0, else the v1 agent-addr, else the peer. */
static void
traps_host(struct traps_buf *b, const netsnmp_pdu *pdu, struct logevent *ev)
{
	const netsnmp_variable_list *v;
	size_t i;
	static const u_char zero[4];

	for (v = pdu->variables, i = 0; v != NULL && i < EVENT_MAX_VARBINDS;
	     v = v->next_variable, i++) {
		if (traps_is(v, traps_trapaddress,
			TRAPS_NOID(traps_trapaddress)) &&
		    v->type == ASN_IPADDRESS && v->val.string != NULL &&
		    v->val_len == 4) {
			ev->host = traps_ipv4_text(b, v->val.string);
			return;
		}
	}
	if (pdu->command == SNMP_MSG_TRAP &&
	    memcmp(pdu->agent_addr, zero, sizeof(zero)) != 0) {
		ev->host = traps_ipv4_text(b, pdu->agent_addr);
		return;
	}
	ev->flags |= EVENT_F_NO_HOST;
}

/* Wall clock in microseconds. */
static int64_t
traps_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Clear the event and fill what every trap has. */
static void
traps_event_init(struct logevent *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->source = EVENT_TRAP;
	ev->transport = "snmp";
	ev->received_us = traps_now_us();
	ev->timestamp_us = ev->received_us;
	ev->facility = -1;
	ev->severity = -1;
}

/* Convert one trap PDU into the normalized event. */
int
traps_pdu_to_event(struct snmp_pdu *pdu, const struct sockaddr *from,
    socklen_t fromlen, char *scratch, size_t scratchlen, struct logevent *ev,
    enum stats_reason *reason)
{
	struct traps_buf b = { scratch, scratchlen, 0, 0, 0 };
	int rc;

	*reason = REASON_BAD_PDU;
	traps_event_init(ev);
	if (pdu == NULL || scratch == NULL || scratchlen < 256)
		return -1;
	traps_peer(&b, from, fromlen, ev);
	if (pdu->version == SNMP_VERSION_1 || pdu->version == SNMP_VERSION_2c)
		ev->community =
		    traps_octets_text(&b, pdu->community, pdu->community_len);
	if (pdu->version == SNMP_VERSION_1 && pdu->command == SNMP_MSG_TRAP)
		rc = traps_v1(&b, pdu, ev);
	else if ((pdu->version == SNMP_VERSION_2c ||
		     pdu->version == SNMP_VERSION_3) &&
	    (pdu->command == SNMP_MSG_TRAP2 || pdu->command == SNMP_MSG_INFORM))
		rc = traps_v2(&b, pdu, ev);
	else
		rc = -1;
	if (rc != 0)
		return -1;
	traps_host(&b, pdu, ev);
	if (b.cut)
		ev->flags |= EVENT_F_TRUNCATED;
	return 0;
}

/* Whether a v1/v2c PDU carries one of the configured communities. */
static int
traps_community_ok(const struct traps *t, const netsnmp_pdu *pdu)
{
	size_t i, len;

	if (pdu->community == NULL)
		return 0;
	for (i = 0; i < t->ncommunities; i++) {
		len = strlen(t->communities[i]);
		if (len == pdu->community_len &&
		    memcmp(t->communities[i], pdu->community, len) == 0)
			return 1;
	}
	return 0;
}

/* The UDP source address net-snmp keeps with a received PDU. */
static socklen_t
traps_from(const netsnmp_pdu *pdu, struct sockaddr_storage *ss)
{
	size_t len = pdu->transport_data_length;

	memset(ss, 0, sizeof(*ss));
	if (pdu->transport_data == NULL || len < sizeof(struct sockaddr))
		return 0;
	if (len > sizeof(*ss))
		len = sizeof(*ss);
	memcpy(ss, pdu->transport_data, len);
	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return sizeof(struct sockaddr_in);
	if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return sizeof(struct sockaddr_in6);
	return 0;
}

/* Send a held inform's response; the reply is sent (and freed) or freed. */
static void
traps_answer(struct traps *t, struct traps_held *h)
{
	if (t->sess == NULL || snmp_send(t->sess, h->reply) == 0) {
		if (t->sess != NULL)
			log_warnx("traps: cannot answer inform: %s",
			    snmp_api_errstring(snmp_errno));
		snmp_free_pdu(h->reply);
	}
	free(h);
}

/* Answer (send) or forget (send 0) every held inform. */
static void
traps_release(struct traps *t, int send)
{
	struct traps_held *h, *next;

	for (h = t->held; h != NULL; h = next) {
		next = h->next;
		if (send)
			traps_answer(t, h);
		else {
			snmp_free_pdu(h->reply);
			free(h);
		}
	}
	t->held = NULL;
	t->held_tail = &t->held;
	t->nheld = 0;
}

/* Commit what the held informs changed; answer them when it succeeded. */
static int
traps_commit(struct traps *t)
{
	struct timeval tv = { TRAPS_RETRY_MS / 1000,
		(TRAPS_RETRY_MS % 1000) * 1000 };

	if (t->held == NULL)
		return 0;
	if (t->commit != NULL && t->commit(t->commit_arg) == -1) {
		event_add(t->commit_ev, &tv);
		return -1;
	}
	traps_release(t, 1);
	return 0;
}

/* Informs arrived in this pass of the loop, or a failed commit is retried. */
static void
traps_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	traps_commit(arg);
}

/* Whether an inform from that source with that request-id is held. */
static int
traps_is_held(const struct traps *t, const netsnmp_pdu *pdu,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	const struct traps_held *h;

	for (h = t->held; h != NULL; h = h->next) {
		if (h->reqid == pdu->reqid && h->fromlen == fromlen &&
		    memcmp(&h->from, from, fromlen) == 0)
			return 1;
	}
	return 0;
}

/*
 * Keep the response to an inform until what it changed is committed; the
 * commit runs once the loop has read what is waiting.  -1 if it cannot be.
 */
static int
traps_hold(struct traps *t, netsnmp_pdu *pdu,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct traps_held *h;
	netsnmp_pdu *reply;

	if ((reply = snmp_clone_pdu(pdu)) == NULL) {
		log_warnx("traps: cannot answer inform: out of memory");
		return -1;
	}
	reply->command = SNMP_MSG_RESPONSE;
	reply->errstat = 0;
	reply->errindex = 0;
	h = xcalloc(1, sizeof(*h));
	h->reply = reply;
	h->reqid = pdu->reqid;
	memcpy(&h->from, from, sizeof(h->from));
	h->fromlen = fromlen;
	*t->held_tail = h;
	t->held_tail = &h->next;
	t->nheld++;
	if (!event_pending(t->commit_ev, EV_TIMEOUT, NULL))
		event_active(t->commit_ev, EV_TIMEOUT, 0);
	return 0;
}

/*
 * Whether a v3 PDU comes from one of our users at its level: REASON_MAX
 * if it does, else why not.
 */
static enum stats_reason
traps_user_ok(const struct traps *t, const netsnmp_pdu *pdu)
{
	const struct traps_user *u;
	size_t i;

	if (pdu->securityModel != SNMP_SEC_MODEL_USM ||
	    pdu->securityName == NULL)
		return REASON_USM_UNKNOWN_USER;
	for (i = 0; i < t->nusers; i++) {
		u = &t->users[i];
		if (strlen(u->name) != pdu->securityNameLen ||
		    memcmp(u->name, pdu->securityName, pdu->securityNameLen) !=
			0 ||
		    u->elen != pdu->securityEngineIDLen ||
		    memcmp(u->engine, pdu->securityEngineID, u->elen) != 0)
			continue;
		if (pdu->securityLevel < (u->authpriv ?
						 SNMP_SEC_LEVEL_AUTHPRIV :
						 SNMP_SEC_LEVEL_AUTHNOPRIV))
			return REASON_USM_LEVEL;
		return REASON_MAX;
	}
	return REASON_USM_UNKNOWN_USER;
}

/* Remove the USM users we created, and forget all. */
static void
traps_clear_users(struct traps *t)
{
	struct usmUser *uu;
	size_t i;

	for (i = 0; i < t->nusers; i++) {
		if (t->users[i].created &&
		    (uu = usm_get_user(t->users[i].engine, t->users[i].elen,
			 t->users[i].name)) != NULL) {
			usm_remove_user(uu);
			usm_free_user(uu);
		}
		free(t->users[i].name);
	}
	free(t->users);
	t->users = NULL;
	t->nusers = 0;
}

/* A pass phrase as one quoted token of a createUser line. */
static void
traps_quote(struct traps_buf *b, const char *s)
{
	traps_buf_add(b, " \"");
	for (; *s != '\0'; s++)
		traps_buf_add(b, "%s%c", *s == '"' || *s == '\\' ? "\\" : "",
		    *s);
	traps_buf_add(b, "\"");
}

/* Decode the config's engine_id ("0x" and hex); its length, 0 if bad. */
static size_t
traps_engine(const char *hex, u_char *engine, size_t max)
{
	size_t n = 0;
	u_int v;

	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	while (hex[0] != '\0' && hex[1] != '\0' && n < max) {
		if (!isxdigit((u_char)hex[0]) || !isxdigit((u_char)hex[1]) ||
		    sscanf(hex, "%2x", &v) != 1)
			return 0;
		engine[n++] = (u_char)v;
		hex += 2;
	}
	return hex[0] == '\0' ? n : 0;
}

/* Create one configured user in USM (unless it is there already). */
static void
traps_add_user(struct traps *t, const struct config_snmp_user *cu)
{
	struct traps_user *u = &t->users[t->nusers];
	struct traps_buf b = { t->scratch, TRAPS_SCRATCH_SIZE, 0, 0, 0 };

	if (cu->engine_id != NULL)
		u->elen =
		    traps_engine(cu->engine_id, u->engine, sizeof(u->engine));
	else
		u->elen = snmpv3_get_engineID(u->engine, sizeof(u->engine));
	if (u->elen == 0) {
		log_warnx("traps: user %s: no engineID", cu->name);
		return;
	}
	u->name = xstrdup(cu->name);
	u->authpriv = cu->authpriv;
	t->nusers++;
	if (usm_get_user(u->engine, u->elen, u->name) != NULL) {
		log_warnx("traps: user %s is also an agent user: its keys "
			  "there apply",
		    u->name);
		return;
	}
	traps_buf_begin(&b);
	if (cu->engine_id != NULL)
		traps_buf_add(&b, "-e %s ", cu->engine_id);
	traps_buf_add(&b, "%s %s", cu->name, cu->auth);
	traps_quote(&b, cu->auth_pass);
	if (cu->authpriv) {
		traps_buf_add(&b, " %s", cu->priv);
		traps_quote(&b, cu->priv_pass);
	}
	traps_buf_end(&b);
	if (!b.cut)
		usm_parse_create_usmUser("createUser", t->scratch);
	explicit_bzero(t->scratch, TRAPS_SCRATCH_SIZE);
	if (usm_get_user(u->engine, u->elen, u->name) == NULL)
		log_warnx("traps: cannot create user %s", u->name);
	else
		u->created = 1;
}

/* Replace the accepted SNMPv3 users with the config's. */
static void
traps_set_users(struct traps *t, const struct config *cfg)
{
	size_t i;

	traps_clear_users(t);
	if (cfg->ntrap_users == 0)
		return;
	t->users = xcalloc(cfg->ntrap_users, sizeof(*t->users));
	for (i = 0; i < cfg->ntrap_users; i++)
		traps_add_user(t, &cfg->trap_users[i]);
}

/* One PDU from the listener: check, convert, hand on, acknowledge informs. */
static int
traps_input_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu,
    void *arg)
{
	struct traps *t = arg;
	struct sockaddr_storage ss;
	socklen_t sslen;
	enum stats_reason reason;

	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || pdu == NULL)
		return 1;
	/* A v3 message USM refused (counted then) comes with no PDU. */
	if (pdu->version == SNMP_VERSION_3 && pdu->command == 0)
		return 1;
	if ((pdu->version == SNMP_VERSION_1 ||
		pdu->version == SNMP_VERSION_2c) &&
	    !traps_community_ok(t, pdu)) {
		stats_count(INPUT_TRAP, REASON_COMMUNITY);
		return 1;
	}
	if (pdu->version == SNMP_VERSION_3 &&
	    (reason = traps_user_ok(t, pdu)) != REASON_MAX) {
		stats_count(INPUT_TRAP, reason);
		return 1;
	}
	sslen = traps_from(pdu, &ss);
	if (pdu->command == SNMP_MSG_INFORM) {
		if (traps_is_held(t, pdu, &ss, sslen))
			return 1; /* a retransmission: answered with it */
		if (t->nheld >= TRAPS_HELD_MAX) {
			stats_count(INPUT_TRAP, REASON_INFORM_BACKLOG);
			return 1;
		}
	}
	if (traps_pdu_to_event(pdu, sslen ? (struct sockaddr *)&ss : NULL,
		sslen, t->scratch, TRAPS_SCRATCH_SIZE, &t->ev, &reason) != 0) {
		stats_count(INPUT_TRAP, reason);
		return 1;
	}
	if (t->ev.flags & EVENT_F_TRUNCATED)
		stats_count(INPUT_TRAP, REASON_TRUNCATED);
	stats.in[INPUT_TRAP].accepted++;
	t->cb(&t->ev, t->arg);
	if (pdu->command == SNMP_MSG_INFORM)
		traps_hold(t, pdu, &ss, sslen);
	return 1;
}

/*
 * Why USM refused a message; REASON_MAX for a discovery probe (no
 * engineID yet: answered with a report, no error).
 */
static enum stats_reason
traps_usm_reason(const netsnmp_pdu *pdu, int result)
{
	switch (result) {
	case SNMPERR_UNKNOWN_USER_NAME:
	case SNMPERR_USM_UNKNOWNSECURITYNAME:
		return REASON_USM_UNKNOWN_USER;
	case SNMPERR_AUTHENTICATION_FAILURE:
	case SNMPERR_USM_AUTHENTICATIONFAILURE:
		return REASON_USM_WRONG_DIGEST;
	case SNMPERR_NOT_IN_TIME_WINDOW:
	case SNMPERR_USM_NOTINTIMEWINDOW:
		return REASON_USM_TIME_WINDOW;
	case SNMPERR_UNKNOWN_ENG_ID:
	case SNMPERR_USM_UNKNOWNENGINEID:
		return pdu != NULL && pdu->securityEngineIDLen == 0 ?
		    REASON_MAX :
		    REASON_USM_UNKNOWN_ENGINE;
	case SNMPERR_DECRYPTION_ERR:
	case SNMPERR_USM_DECRYPTIONERROR:
		return REASON_USM_DECRYPTION;
	case SNMPERR_UNSUPPORTED_SEC_LEVEL:
	case SNMPERR_USM_UNSUPPORTEDSECURITYLEVEL:
		return REASON_USM_LEVEL;
	case SNMPERR_ASN_PARSE_ERR:
		/* Authentic, yet no PDU once decrypted: a wrong priv key. */
		if (pdu != NULL &&
		    pdu->securityLevel == SNMP_SEC_LEVEL_AUTHPRIV)
			return REASON_USM_DECRYPTION;
		break;
	}
	return REASON_BAD_PDU;
}

/* Count every datagram, and drop the ones that are no notification at all. */
static int
traps_post_parse_cb(netsnmp_session *sess, netsnmp_pdu *pdu, int result)
{
	enum stats_reason r;

	stats.in[INPUT_TRAP].received++;
	if (result != SNMP_ERR_NOERROR) {
		r = pdu != NULL && pdu->version == SNMP_VERSION_3 ?
		    traps_usm_reason(pdu, result) :
		    REASON_BAD_PDU;
		if (r != REASON_MAX)
			stats_count(INPUT_TRAP, r);
		return 1;
	}
	if (pdu->command == SNMP_MSG_RESPONSE ||
	    pdu->command == SNMP_MSG_REPORT) {
		stats_count(INPUT_TRAP, REASON_BAD_PDU);
		return 0;
	}
	return 1;
}

/* Receive a datagram through net-snmp's function and count its bytes. */
static int
traps_recv_cb(netsnmp_transport *tr, void *buf, int size, void **opaque,
    int *olength)
{
	static int drops_fd = -1;
	static uint32_t drops;
	int n;

	n = traps_recv_next(tr, buf, size, opaque, olength);
	if (n > 0)
		stats.in[INPUT_TRAP].bytes += n;
	if (tr->sock != drops_fd) { /* a new socket counts from 0 */
		drops_fd = tr->sock;
		drops = 0;
	}
	stats.in[INPUT_TRAP].kernel_drops += listen_drops(tr->sock, &drops);
	return n;
}

/* Open a server session on "host:port" in net-snmp's session list. */
static netsnmp_session *
traps_open(struct traps *t, const char *listen, char **cause)
{
	netsnmp_transport *tr;
	netsnmp_session s, *sess;
	char *spec;

	xasprintf(&spec, "%s%s", listen[0] == '[' ? "udp6:" : "udp:", listen);
	tr = netsnmp_transport_open_server("sopd", spec);
	free(spec);
	if (tr == NULL) {
		xasprintf(cause, "traps: cannot listen on %s", listen);
		return NULL;
	}
	listen_rcvbuf(tr->sock, t->rcvbuf, "trap");
	if (traps_recv_next == NULL)
		traps_recv_next = tr->f_recv;
	if (tr->f_recv == traps_recv_next)
		tr->f_recv = traps_recv_cb;

	snmp_sess_init(&s);
	s.peername = SNMP_DEFAULT_PEERNAME;
	s.version = SNMP_DEFAULT_VERSION;
	s.community_len = SNMP_DEFAULT_COMMUNITY_LEN;
	s.retries = SNMP_DEFAULT_RETRIES;
	s.timeout = SNMP_DEFAULT_TIMEOUT;
	s.callback = traps_input_cb;
	s.callback_magic = t;
	s.authenticator = NULL;
	s.isAuthoritative = SNMP_SESS_UNKNOWNAUTH;
	if ((sess = snmp_add(&s, tr, NULL, traps_post_parse_cb)) == NULL) {
		xasprintf(cause, "traps: cannot open session on %s: %s", listen,
		    snmp_api_errstring(snmp_errno));
		return NULL;
	}
	snmp_bridge_update();
	return sess;
}

/* Forget the accepted communities. */
static void
traps_clear_communities(struct traps *t)
{
	size_t i;

	for (i = 0; i < t->ncommunities; i++)
		free(t->communities[i]);
	free(t->communities);
	t->communities = NULL;
	t->ncommunities = 0;
}

/* Replace the accepted communities with the config's. */
static void
traps_set_communities(struct traps *t, const struct config *cfg)
{
	size_t i;

	traps_clear_communities(t);
	t->rcvbuf = cfg->udp_rcvbuf;
	t->ncommunities = cfg->ncommunities;
	if (t->ncommunities == 0)
		return;
	t->communities = xcalloc(t->ncommunities, sizeof(*t->communities));
	for (i = 0; i < t->ncommunities; i++)
		t->communities[i] = xstrdup(cfg->communities[i]);
}

/* Close the listener's session, if any. */
static void
traps_close(struct traps *t)
{
	traps_commit(t);
	traps_release(t, 0); /* not committed: their senders retransmit */
	if (t->sess != NULL) {
		snmp_close(t->sess);
		t->sess = NULL;
		snmp_bridge_update();
	}
	free(t->listen);
	t->listen = NULL;
}

/* Open the trap receiver. */
struct traps *
traps_start(struct event_base *base, const struct config *cfg,
    void (*cb)(const struct logevent *, void *), void *arg, char **cause)
{
	struct traps *t;

	t = xcalloc(1, sizeof(*t));
	t->base = base;
	t->cb = cb;
	t->arg = arg;
	t->scratch = xmalloc(TRAPS_SCRATCH_SIZE);
	t->held_tail = &t->held;
	t->commit_ev = evtimer_new(base, traps_commit_cb, t);
	traps_set_communities(t, cfg);
	traps_set_users(t, cfg);
	if (cfg->trap_listen != NULL) {
		if ((t->sess = traps_open(t, cfg->trap_listen, cause)) ==
		    NULL) {
			traps_stop(t);
			return NULL;
		}
		t->listen = xstrdup(cfg->trap_listen);
		log_debugs(LOG_SYS_SNMP, "traps: listening on %s", t->listen);
	}
	return t;
}

/* Close the receiver and free it. */
void
traps_stop(struct traps *t)
{
	if (t == NULL)
		return;
	traps_close(t);
	traps_clear_communities(t);
	traps_clear_users(t);
	if (t->commit_ev != NULL)
		event_free(t->commit_ev);
	free(t->scratch);
	free(t);
}

/* Set the function that commits what the callback changed (0 on success). */
void
traps_set_commit(struct traps *t, int (*commit)(void *), void *arg)
{
	if (t == NULL)
		return;
	t->commit = commit;
	t->commit_arg = arg;
}

/* Take new communities and, if it changed, the new listen address. */
int
traps_reconfigure(struct traps *t, const struct config *cfg)
{
	netsnmp_session *sess;
	char *cause;

	traps_set_communities(t, cfg);
	traps_set_users(t, cfg);
	if (cfg->trap_listen == NULL) {
		traps_close(t);
		return 0;
	}
	if (t->listen != NULL && strcmp(t->listen, cfg->trap_listen) == 0)
		return 0;
	if ((sess = traps_open(t, cfg->trap_listen, &cause)) == NULL) {
		log_warnx("%s (keeping the old listener)", cause);
		free(cause);
		return -1;
	}
	traps_close(t);
	t->sess = sess;
	t->listen = xstrdup(cfg->trap_listen);
	return 0;
}
