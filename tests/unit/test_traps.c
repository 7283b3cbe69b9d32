/* test_traps.c: trap PDU -> event conversion, and real snmptrap/snmpinform end to end. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "snmp_bridge.h"
#include "stats.h"
#include "traps.h"

extern char **environ;

static const oid t_sysuptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
static const oid t_trapoid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
static const oid t_trapaddress[] = { 1, 3, 6, 1, 6, 3, 18, 1, 3, 0 };
static const oid t_ifindex2[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2 };
static const oid t_ifdescr2[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 2 };
static const oid t_linkup[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5, 4 };
static const oid t_netsnmp[] = { 1, 3, 6, 1, 4, 1, 8072, 2, 3 };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The scratch buffer and event each conversion test uses. */
struct conv {
	char *scratch;
	size_t len;
	struct logevent ev;
	enum stats_reason reason;
	struct sockaddr_in from;
};

/* The group's state starts with the conversion tests' part. */
static struct conv *
conv_of(void **state)
{
	return *state;
}

/* A v1 trap PDU with community "public". */
static netsnmp_pdu *
v1_pdu(long generic, long specific, const oid *ent, size_t entlen,
    const char *agent)
{
	netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_TRAP);

	pdu->version = SNMP_VERSION_1;
	pdu->community = (u_char *)strdup("public");
	pdu->community_len = 6;
	pdu->trap_type = generic;
	pdu->specific_type = specific;
	pdu->time = 4242;
	if (ent != NULL) {
		pdu->enterprise = calloc(entlen ? entlen : 1, sizeof(oid));
		memcpy(pdu->enterprise, ent, entlen * sizeof(oid));
		pdu->enterprise_length = entlen;
	}
	if (agent != NULL)
		inet_pton(AF_INET, agent, pdu->agent_addr);
	return pdu;
}

/* A v2c trap PDU with sysUpTime.0 and snmpTrapOID.0 = linkUp. */
static netsnmp_pdu *
v2_pdu(int with_trapoid)
{
	netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_TRAP2);
	u_long up = 777;

	pdu->version = SNMP_VERSION_2c;
	pdu->community = (u_char *)strdup("public");
	pdu->community_len = 6;
	snmp_pdu_add_variable(pdu, t_sysuptime, N(t_sysuptime), ASN_TIMETICKS,
	    &up, sizeof(up));
	if (with_trapoid)
		snmp_pdu_add_variable(pdu, t_trapoid, N(t_trapoid),
		    ASN_OBJECT_ID, t_linkup, sizeof(t_linkup));
	return pdu;
}

/* Convert with a scratch buffer of exactly len bytes (ASan sees overruns). */
static int
convert(struct conv *c, netsnmp_pdu *pdu, size_t len)
{
	int rc;

	free(c->scratch);
	c->len = len;
	c->scratch = malloc(len);
	memset(&c->from, 0, sizeof(c->from));
	c->from.sin_family = AF_INET;
	c->from.sin_port = htons(40000);
	inet_pton(AF_INET, "127.0.0.1", &c->from.sin_addr);
	rc = traps_pdu_to_event(pdu, (struct sockaddr *)&c->from,
	    sizeof(c->from), c->scratch, c->len, &c->ev, &c->reason);
	snmp_free_pdu(pdu);
	return rc;
}

/* The value of the varbind with that OID, or NULL. */
static const char *
vb(const struct logevent *ev, const char *oidtext)
{
	size_t i;

	for (i = 0; i < ev->nvb; i++) {
		if (strcmp(ev->vb[i].oid, oidtext) == 0)
			return ev->vb[i].value;
	}
	return NULL;
}

static void
test_v1_coldstart(void **state)
{
	struct conv *c = conv_of(state);

	assert_int_equal(convert(c,
			     v1_pdu(0, 0, t_netsnmp, N(t_netsnmp), "10.0.0.5"),
			     4096),
	    0);
	assert_int_equal(c->ev.source, EVENT_TRAP);
	assert_int_equal(c->ev.format, EVENT_FMT_TRAP_V1);
	assert_string_equal(c->ev.transport, "snmp");
	assert_string_equal(c->ev.trap_oid, "1.3.6.1.6.3.1.1.5.1");
	assert_string_equal(c->ev.host, "10.0.0.5");
	assert_string_equal(c->ev.peer, "127.0.0.1:40000");
	assert_string_equal(c->ev.community, "public");
	assert_int_equal(c->ev.facility, -1);
	assert_int_equal(c->ev.severity, -1);
	assert_true(c->ev.received_us > 0);
	assert_true(c->ev.timestamp_us == c->ev.received_us);
	assert_int_equal(c->ev.flags, 0);
	assert_int_equal(c->ev.nvb, 5);
	assert_string_equal(c->ev.vb[0].oid, "1.3.6.1.2.1.1.3.0");
	assert_string_equal(c->ev.vb[0].type, "TimeTicks");
	assert_string_equal(c->ev.vb[0].value, "4242");
	assert_string_equal(c->ev.vb[1].oid, "1.3.6.1.6.3.1.1.4.1.0");
	assert_string_equal(c->ev.vb[1].value, "1.3.6.1.6.3.1.1.5.1");
	assert_string_equal(c->ev.vb[2].oid, "1.3.6.1.6.3.18.1.3.0");
	assert_string_equal(c->ev.vb[2].type, "IpAddress");
	assert_string_equal(c->ev.vb[2].value, "10.0.0.5");
	assert_string_equal(c->ev.vb[3].oid, "1.3.6.1.6.3.18.1.4.0");
	assert_string_equal(c->ev.vb[3].value, "public");
	assert_string_equal(c->ev.vb[4].oid, "1.3.6.1.6.3.1.1.4.3.0");
	assert_string_equal(c->ev.vb[4].type, "OID");
	assert_string_equal(c->ev.vb[4].value, "1.3.6.1.4.1.8072.2.3");
}

static void
test_v1_linkdown(void **state)
{
	struct conv *c = conv_of(state);
	netsnmp_pdu *pdu = v1_pdu(2, 0, t_netsnmp, N(t_netsnmp), "0.0.0.0");
	long idx = 2;

	snmp_pdu_add_variable(pdu, t_ifindex2, N(t_ifindex2), ASN_INTEGER, &idx,
	    sizeof(idx));
	assert_int_equal(convert(c, pdu, 4096), 0);
	assert_string_equal(c->ev.trap_oid, "1.3.6.1.6.3.1.1.5.3");
	assert_int_equal(c->ev.nvb, 6);
	assert_string_equal(c->ev.vb[2].oid, "1.3.6.1.2.1.2.2.1.1.2");
	assert_string_equal(c->ev.vb[2].type, "INTEGER");
	assert_string_equal(c->ev.vb[2].value, "2");
	/* agent-addr 0.0.0.0: the device is the UDP source. */
	assert_string_equal(c->ev.host, "127.0.0.1");
	assert_true(c->ev.flags & EVENT_F_NO_HOST);
}

static void
test_v1_enterprise_specific(void **state)
{
	struct conv *c = conv_of(state);

	assert_int_equal(convert(c,
			     v1_pdu(6, 17, t_netsnmp, N(t_netsnmp),
				 "192.0.2.1"),
			     4096),
	    0);
	assert_string_equal(c->ev.trap_oid, "1.3.6.1.4.1.8072.2.3.0.17");
	assert_string_equal(vb(&c->ev, "1.3.6.1.6.3.1.1.4.3.0"),
	    "1.3.6.1.4.1.8072.2.3");
	assert_string_equal(c->ev.host, "192.0.2.1");
}

static void
test_v1_empty_enterprise(void **state)
{
	struct conv *c = conv_of(state);

	/* enterprise.0.specific cannot be formed: dropped. */
	assert_int_equal(convert(c, v1_pdu(6, 1, t_netsnmp, 0, "192.0.2.1"),
			     4096),
	    -1);
	assert_int_equal(c->reason, REASON_BAD_PDU);
	assert_int_equal(convert(c, v1_pdu(6, 1, NULL, 0, "192.0.2.1"), 4096),
	    -1);
	assert_int_equal(c->reason, REASON_BAD_PDU);
	/* A generic trap needs no enterprise; none is reported. */
	assert_int_equal(convert(c, v1_pdu(3, 0, NULL, 0, "192.0.2.1"), 4096),
	    0);
	assert_string_equal(c->ev.trap_oid, "1.3.6.1.6.3.1.1.5.4");
	assert_null(vb(&c->ev, "1.3.6.1.6.3.1.1.4.3.0"));
}

/* The number of dots in an OID (sub-identifiers - 1). */
static size_t
dots(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

static void
test_v1_long_enterprise(void **state)
{
	struct conv *c = conv_of(state);
	oid ent[MAX_OID_LEN];
	size_t i;

	for (i = 0; i < MAX_OID_LEN; i++)
		ent[i] = i < 6 ? t_netsnmp[i] : 4294967295UL;
	assert_int_equal(convert(c, v1_pdu(6, 5, ent, MAX_OID_LEN, "192.0.2.1"),
			     65536),
	    -1);
	assert_int_equal(c->reason, REASON_BAD_PDU);
	assert_int_equal(convert(c,
			     v1_pdu(6, 5, ent, MAX_OID_LEN - 1, "192.0.2.1"),
			     65536),
	    -1);
	/* Exactly MAX_OID_LEN sub-identifiers after the conversion. */
	assert_int_equal(convert(c,
			     v1_pdu(6, 5, ent, MAX_OID_LEN - 2, "192.0.2.1"),
			     65536),
	    0);
	assert_int_equal(dots(c->ev.trap_oid), MAX_OID_LEN - 1);
	assert_string_equal(strrchr(c->ev.trap_oid, '.'), ".5");
	/* A generic trap keeps even the longest enterprise, as text. */
	assert_int_equal(convert(c, v1_pdu(1, 0, ent, MAX_OID_LEN, "192.0.2.1"),
			     65536),
	    0);
	assert_string_equal(c->ev.trap_oid, "1.3.6.1.6.3.1.1.5.2");
	assert_non_null(vb(&c->ev, "1.3.6.1.6.3.1.1.4.3.0"));
}

static void
test_v1_bad_generic(void **state)
{
	struct conv *c = conv_of(state);

	assert_int_equal(convert(c,
			     v1_pdu(7, 0, t_netsnmp, N(t_netsnmp), "192.0.2.1"),
			     4096),
	    -1);
	assert_int_equal(c->reason, REASON_BAD_PDU);
	assert_int_equal(convert(c,
			     v1_pdu(-1, 0, t_netsnmp, N(t_netsnmp),
				 "192.0.2.1"),
			     4096),
	    -1);
	assert_int_equal(convert(c,
			     v1_pdu(6, -3, t_netsnmp, N(t_netsnmp),
				 "192.0.2.1"),
			     4096),
	    -1);
}

static void
test_v2c_good(void **state)
{
	struct conv *c = conv_of(state);
	netsnmp_pdu *pdu = v2_pdu(1);
	long idx = 2;
	u_char bin[] = { 0x00, 0x1a, 0xff, 0x10 };
	u_char ip[] = { 198, 51, 100, 4 };
	struct counter64 c64 = { 1, 5 };
	u_long gauge = 4000000000UL;
	static const oid o1[] = { 1, 3, 6, 1, 4, 1, 99, 1 };
	static const oid o2[] = { 1, 3, 6, 1, 4, 1, 99, 2 };
	static const oid o3[] = { 1, 3, 6, 1, 4, 1, 99, 3 };
	static const oid o4[] = { 1, 3, 6, 1, 4, 1, 99, 4 };
	static const oid o5[] = { 1, 3, 6, 1, 4, 1, 99, 5 };

	snmp_pdu_add_variable(pdu, t_ifindex2, N(t_ifindex2), ASN_INTEGER, &idx,
	    sizeof(idx));
	snmp_pdu_add_variable(pdu, t_ifdescr2, N(t_ifdescr2), ASN_OCTET_STR,
	    "eth0 \xc3\xa9t\xc3\xa9", 10);
	snmp_pdu_add_variable(pdu, o1, N(o1), ASN_OCTET_STR, bin, sizeof(bin));
	snmp_pdu_add_variable(pdu, o2, N(o2), ASN_IPADDRESS, ip, sizeof(ip));
	snmp_pdu_add_variable(pdu, o3, N(o3), ASN_COUNTER64, &c64, sizeof(c64));
	snmp_pdu_add_variable(pdu, o4, N(o4), ASN_GAUGE, &gauge, sizeof(gauge));
	snmp_pdu_add_variable(pdu, o5, N(o5), ASN_OCTET_STR, "abc\0", 4);
	assert_int_equal(convert(c, pdu, 4096), 0);
	assert_int_equal(c->ev.format, EVENT_FMT_TRAP_V2C);
	assert_string_equal(c->ev.trap_oid, "1.3.6.1.6.3.1.1.5.4");
	assert_int_equal(c->ev.nvb, 9);
	assert_string_equal(c->ev.vb[0].value, "777");
	assert_string_equal(c->ev.vb[1].type, "OID");
	assert_string_equal(vb(&c->ev, "1.3.6.1.2.1.2.2.1.1.2"), "2");
	assert_string_equal(vb(&c->ev, "1.3.6.1.2.1.2.2.1.2.2"),
	    "eth0 \xc3\xa9t\xc3\xa9");
	assert_string_equal(vb(&c->ev, "1.3.6.1.4.1.99.1"), "00:1a:ff:10");
	assert_string_equal(vb(&c->ev, "1.3.6.1.4.1.99.2"), "198.51.100.4");
	assert_string_equal(c->ev.vb[5].type, "IpAddress");
	assert_string_equal(vb(&c->ev, "1.3.6.1.4.1.99.3"), "4294967301");
	assert_string_equal(vb(&c->ev, "1.3.6.1.4.1.99.4"), "4000000000");
	assert_string_equal(c->ev.vb[7].type, "Gauge32");
	assert_string_equal(vb(&c->ev, "1.3.6.1.4.1.99.5"), "abc");
	assert_string_equal(c->ev.host, "127.0.0.1");
	assert_true(c->ev.flags & EVENT_F_NO_HOST);
	assert_string_equal(c->ev.community, "public");
}

static void
test_v2c_missing_trapoid(void **state)
{
	struct conv *c = conv_of(state);
	netsnmp_pdu *pdu;
	long idx = 2;
	u_long up = 1;

	assert_int_equal(convert(c, v2_pdu(0), 4096), -1);
	assert_int_equal(c->reason, REASON_BAD_PDU);

	/* sysUpTime.0 in second place is as wrong as a missing one. */
	pdu = snmp_pdu_create(SNMP_MSG_TRAP2);
	pdu->version = SNMP_VERSION_2c;
	snmp_pdu_add_variable(pdu, t_ifindex2, N(t_ifindex2), ASN_INTEGER, &idx,
	    sizeof(idx));
	snmp_pdu_add_variable(pdu, t_sysuptime, N(t_sysuptime), ASN_TIMETICKS,
	    &up, sizeof(up));
	snmp_pdu_add_variable(pdu, t_trapoid, N(t_trapoid), ASN_OBJECT_ID,
	    t_linkup, sizeof(t_linkup));
	assert_int_equal(convert(c, pdu, 4096), -1);

	/* snmpTrapOID.0 that is no OID. */
	pdu = v2_pdu(0);
	snmp_pdu_add_variable(pdu, t_trapoid, N(t_trapoid), ASN_INTEGER, &idx,
	    sizeof(idx));
	assert_int_equal(convert(c, pdu, 4096), -1);

	/* A GET sent to the trap port. */
	pdu = v2_pdu(1);
	pdu->command = SNMP_MSG_GET;
	assert_int_equal(convert(c, pdu, 4096), -1);
	assert_int_equal(c->reason, REASON_BAD_PDU);
}

static void
test_trapaddress_override(void **state)
{
	struct conv *c = conv_of(state);
	netsnmp_pdu *pdu = v2_pdu(1);
	u_char ip[] = { 192, 0, 2, 77 };

	snmp_pdu_add_variable(pdu, t_trapaddress, N(t_trapaddress),
	    ASN_IPADDRESS, ip, sizeof(ip));
	assert_int_equal(convert(c, pdu, 4096), 0);
	assert_string_equal(c->ev.host, "192.0.2.77");
	assert_string_equal(c->ev.peer, "127.0.0.1:40000");
	assert_false(c->ev.flags & EVENT_F_NO_HOST);

	/* In a v1 trap it wins over agent-addr and is not added twice. */
	pdu = v1_pdu(0, 0, t_netsnmp, N(t_netsnmp), "10.1.1.1");
	snmp_pdu_add_variable(pdu, t_trapaddress, N(t_trapaddress),
	    ASN_IPADDRESS, ip, sizeof(ip));
	assert_int_equal(convert(c, pdu, 4096), 0);
	assert_string_equal(c->ev.host, "192.0.2.77");
	assert_int_equal(c->ev.nvb, 5);
	assert_string_equal(vb(&c->ev, "1.3.6.1.6.3.18.1.3.0"), "192.0.2.77");
}

static void
test_too_many_varbinds(void **state)
{
	struct conv *c = conv_of(state);
	netsnmp_pdu *pdu;
	long i;

	pdu = v2_pdu(1);
	for (i = 0; i < 200; i++)
		snmp_pdu_add_variable(pdu, t_ifindex2, N(t_ifindex2),
		    ASN_INTEGER, &i, sizeof(i));
	assert_int_equal(convert(c, pdu, TRAPS_SCRATCH_SIZE), 0);
	assert_int_equal(c->ev.nvb, EVENT_MAX_VARBINDS);
	assert_true(c->ev.flags & EVENT_F_TRUNCATED);
	assert_string_equal(c->ev.vb[EVENT_MAX_VARBINDS - 1].value, "61");

	/* v1 keeps room for the three varbinds RFC 3584 appends. */
	pdu = v1_pdu(6, 1, t_netsnmp, N(t_netsnmp), "192.0.2.1");
	for (i = 0; i < 200; i++)
		snmp_pdu_add_variable(pdu, t_ifindex2, N(t_ifindex2),
		    ASN_INTEGER, &i, sizeof(i));
	assert_int_equal(convert(c, pdu, TRAPS_SCRATCH_SIZE), 0);
	assert_int_equal(c->ev.nvb, EVENT_MAX_VARBINDS);
	assert_true(c->ev.flags & EVENT_F_TRUNCATED);
	assert_string_equal(c->ev.vb[EVENT_MAX_VARBINDS - 1].oid,
	    "1.3.6.1.6.3.1.1.4.3.0");
}

static void
test_small_scratch(void **state)
{
	struct conv *c = conv_of(state);
	netsnmp_pdu *pdu;
	char big[20000];
	long i;

	/* Every string stays inside the buffer; what did not fit is cut. */
	memset(big, 'x', sizeof(big));
	pdu = v2_pdu(1);
	for (i = 0; i < 10; i++)
		snmp_pdu_add_variable(pdu, t_ifdescr2, N(t_ifdescr2),
		    ASN_OCTET_STR, big, sizeof(big));
	assert_int_equal(convert(c, pdu, 256), 0);
	assert_true(c->ev.flags & EVENT_F_TRUNCATED);
	assert_int_equal(c->ev.nvb, 12);
	for (i = 0; i < 12; i++) {
		assert_non_null(c->ev.vb[i].value);
		assert_non_null(c->ev.vb[i].oid);
	}

	/* A long value is cut to TRAPS_MAX_VALUE, binary ones as hex. */
	pdu = v2_pdu(1);
	snmp_pdu_add_variable(pdu, t_ifdescr2, N(t_ifdescr2), ASN_OCTET_STR,
	    big, sizeof(big));
	big[0] = 1;
	snmp_pdu_add_variable(pdu, t_ifdescr2, N(t_ifdescr2), ASN_OCTET_STR,
	    big, sizeof(big));
	assert_int_equal(convert(c, pdu, TRAPS_SCRATCH_SIZE), 0);
	assert_true(c->ev.flags & EVENT_F_TRUNCATED);
	assert_int_equal(strlen(c->ev.vb[2].value), TRAPS_MAX_VALUE);
	assert_true(strlen(c->ev.vb[3].value) <= TRAPS_MAX_VALUE);
	assert_memory_equal(c->ev.vb[3].value, "01:78:78", 8);
}

/* ---- End to end: the bridge, the receiver and the real net-snmp tools. */

#define E2E_MAX 8

/* What the callback saw: copies, since the event's strings are reused. */
struct seen {
	int format;
	char *trap_oid;
	char *host;
	char *peer;
	char *community;
	char *vb2; /* value of the third varbind */
	size_t nvb;
};

struct e2e {
	struct conv conv; /* first: see conv_of */
	struct event_base *base;
	struct config cfg;
	struct sopd sd;
	struct traps *traps;
	char *communities[2];
	char listen[32];
	char dir[64];
	int port;
	struct seen seen[E2E_MAX];
	int nseen;
};

static char *
dupnull(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
e2e_cb(const struct logevent *ev, void *arg)
{
	struct e2e *e = arg;
	struct seen *s;

	if (e->nseen >= E2E_MAX)
		return;
	s = &e->seen[e->nseen++];
	s->format = ev->format;
	s->trap_oid = dupnull(ev->trap_oid);
	s->host = dupnull(ev->host);
	s->peer = dupnull(ev->peer);
	s->community = dupnull(ev->community);
	s->vb2 = ev->nvb > 2 ? dupnull(ev->vb[2].value) : NULL;
	s->nvb = ev->nvb;
}

static void
e2e_forget(struct e2e *e)
{
	int i;

	for (i = 0; i < e->nseen; i++) {
		free(e->seen[i].trap_oid);
		free(e->seen[i].host);
		free(e->seen[i].peer);
		free(e->seen[i].community);
		free(e->seen[i].vb2);
	}
	e->nseen = 0;
}

static int
e2e_setup(void **state)
{
	struct e2e *e = calloc(1, sizeof(*e));
	char *cause = NULL;

	e->base = event_base_new();
	e->port = 29100 + getpid() % 800;
	snprintf(e->listen, sizeof(e->listen), "127.0.0.1:%d", e->port);
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_traps.%d", (int)getpid());
	e->communities[0] = "public";
	e->communities[1] = "second";
	e->cfg.state_dir = e->dir;
	e->cfg.trap_listen = e->listen;
	e->cfg.communities = e->communities;
	e->cfg.ncommunities = 1;
	e->sd.base = e->base;
	e->sd.cfg = &e->cfg;
	if (snmp_bridge_start(&e->sd, &cause) != 0) {
		fprintf(stderr, "snmp_bridge_start: %s\n", cause);
		free(cause);
		return -1;
	}
	e->traps = traps_start(e->base, &e->cfg, e2e_cb, e, &cause);
	if (e->traps == NULL) {
		fprintf(stderr, "traps_start: %s\n", cause);
		free(cause);
		return -1;
	}
	*state = e;
	return 0;
}

/* Remove one entry of the state directory net-snmp created. */
static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
e2e_teardown(void **state)
{
	struct e2e *e = *state;

	e2e_forget(e);
	free(e->conv.scratch);
	traps_stop(e->traps);
	snmp_bridge_stop();
	event_base_free(e->base);
	nftw(e->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

/* Start a net-snmp command line tool without MIB files. */
static pid_t
spawn(char *const argv[])
{
	char *envp[] = { "MIBS=", "MIBDIRS=/nonexistent",
		"SNMPCONFPATH=/nonexistent", "PATH=/usr/bin:/bin", NULL };
	pid_t pid;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, envp) != 0)
		return -1;
	return pid;
}

/* Run the loop until n events were seen and the child exited (or 5 s). */
static int
run_until(struct e2e *e, int n, pid_t pid)
{
	struct timeval tick = { 0, 20000 };
	int i, status = -1, done = pid < 0;

	for (i = 0; i < 250; i++) {
		if (!done && waitpid(pid, &status, WNOHANG) == pid)
			done = 1;
		if (done && e->nseen >= n)
			break;
		event_base_loopexit(e->base, &tick);
		event_base_dispatch(e->base);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return status;
}

/* Send one datagram of garbage to the trap port. */
static void
send_garbage(struct e2e *e)
{
	struct sockaddr_in sin;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(e->port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sendto(s, "hello", 5, 0, (struct sockaddr *)&sin, sizeof(sin));
	close(s);
}

static void
test_e2e_v2c(void **state)
{
	struct e2e *e = *state;
	uint64_t acc = stats.in[INPUT_TRAP].accepted;
	uint64_t bytes = stats.in[INPUT_TRAP].bytes;
	char *argv[] = { "snmptrap", "-v", "2c", "-c", "public", e->listen, "",
		"1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.3", "i", "3",
		NULL };
	int st;

	e2e_forget(e);
	st = run_until(e, 1, spawn(argv));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(e->nseen, 1);
	assert_int_equal(e->seen[0].format, EVENT_FMT_TRAP_V2C);
	assert_string_equal(e->seen[0].trap_oid, "1.3.6.1.6.3.1.1.5.3");
	assert_string_equal(e->seen[0].host, "127.0.0.1");
	assert_memory_equal(e->seen[0].peer, "127.0.0.1:", 10);
	assert_string_equal(e->seen[0].community, "public");
	assert_string_equal(e->seen[0].vb2, "3");
	assert_int_equal(e->seen[0].nvb, 3);
	assert_int_equal(stats.in[INPUT_TRAP].accepted, acc + 1);
	assert_true(stats.in[INPUT_TRAP].bytes > bytes + 30);
}

static void
test_e2e_v1(void **state)
{
	struct e2e *e = *state;
	char *argv[] = { "snmptrap", "-v", "1", "-c", "public", e->listen,
		"1.3.6.1.4.1.8072.2.3", "192.0.2.9", "2", "0", "",
		"1.3.6.1.2.1.2.2.1.1.2", "i", "2", NULL };
	char *argv6[] = { "snmptrap", "-v", "1", "-c", "public", e->listen,
		"1.3.6.1.4.1.8072.2.3", "192.0.2.9", "6", "17", "",
		"1.3.6.1.2.1.2.2.1.1.2", "i", "2", NULL };
	int st;

	e2e_forget(e);
	st = run_until(e, 1, spawn(argv));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(e->nseen, 1);
	assert_int_equal(e->seen[0].format, EVENT_FMT_TRAP_V1);
	assert_string_equal(e->seen[0].trap_oid, "1.3.6.1.6.3.1.1.5.3");
	assert_string_equal(e->seen[0].host, "192.0.2.9");
	assert_string_equal(e->seen[0].vb2, "2");
	assert_int_equal(e->seen[0].nvb, 6);

	st = run_until(e, 2, spawn(argv6));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(e->nseen, 2);
	assert_string_equal(e->seen[1].trap_oid, "1.3.6.1.4.1.8072.2.3.0.17");
}

static void
test_e2e_community(void **state)
{
	struct e2e *e = *state;
	uint64_t bad = stats.in[INPUT_TRAP].reason[REASON_COMMUNITY];
	uint64_t drop = stats.in[INPUT_TRAP].dropped;
	char *wrong[] = { "snmptrap", "-v", "2c", "-c", "second", e->listen, "",
		"1.3.6.1.6.3.1.1.5.1", NULL };
	char *right[] = { "snmptrap", "-v", "2c", "-c", "public", e->listen, "",
		"1.3.6.1.6.3.1.1.5.2", NULL };
	int st;

	e2e_forget(e);
	st = run_until(e, 0, spawn(wrong));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run_until(e, 1, spawn(right));
	assert_int_equal(e->nseen, 1);
	assert_string_equal(e->seen[0].trap_oid, "1.3.6.1.6.3.1.1.5.2");
	assert_int_equal(stats.in[INPUT_TRAP].reason[REASON_COMMUNITY],
	    bad + 1);
	assert_int_equal(stats.in[INPUT_TRAP].dropped, drop + 1);

	/* A reload that adds the community lets it in. */
	e->cfg.ncommunities = 2;
	assert_int_equal(traps_reconfigure(e->traps, &e->cfg), 0);
	st = run_until(e, 2, spawn(wrong));
	assert_int_equal(e->nseen, 2);
	assert_string_equal(e->seen[1].community, "second");
	e->cfg.ncommunities = 1;
	assert_int_equal(traps_reconfigure(e->traps, &e->cfg), 0);
}

static void
test_e2e_inform(void **state)
{
	struct e2e *e = *state;
	char *argv[] = { "snmpinform", "-v", "2c", "-c", "public", "-r", "0",
		"-t", "3", e->listen, "", "1.3.6.1.6.3.1.1.5.4",
		"1.3.6.1.2.1.2.2.1.2.1", "s", "uplink", NULL };
	int st;

	e2e_forget(e);
	st = run_until(e, 1, spawn(argv));
	/* snmpinform exits 0 only when our response arrived. */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(e->nseen, 1);
	assert_int_equal(e->seen[0].format, EVENT_FMT_TRAP_V2C);
	assert_string_equal(e->seen[0].trap_oid, "1.3.6.1.6.3.1.1.5.4");
	assert_string_equal(e->seen[0].vb2, "uplink");
}

static void
test_e2e_garbage(void **state)
{
	struct e2e *e = *state;
	uint64_t bad = stats.in[INPUT_TRAP].reason[REASON_BAD_PDU];
	uint64_t rcv = stats.in[INPUT_TRAP].received;
	char *argv[] = { "snmptrap", "-v", "2c", "-c", "public", e->listen, "",
		"1.3.6.1.6.3.1.1.5.1", NULL };

	e2e_forget(e);
	send_garbage(e);
	run_until(e, 1, spawn(argv));
	assert_int_equal(e->nseen, 1);
	assert_int_equal(stats.in[INPUT_TRAP].reason[REASON_BAD_PDU], bad + 1);
	assert_int_equal(stats.in[INPUT_TRAP].received, rcv + 2);
}

static void
test_e2e_relisten(void **state)
{
	struct e2e *e = *state;
	char old[32];
	char *argv[] = { "snmptrap", "-v", "2c", "-c", "public", e->listen, "",
		"1.3.6.1.6.3.1.1.5.5", NULL };

	/* A reload with a new port moves the listener there. */
	e2e_forget(e);
	snprintf(old, sizeof(old), "%s", e->listen);
	snprintf(e->listen, sizeof(e->listen), "127.0.0.1:%d", e->port + 1);
	assert_int_equal(traps_reconfigure(e->traps, &e->cfg), 0);
	run_until(e, 1, spawn(argv));
	assert_int_equal(e->nseen, 1);
	assert_string_equal(e->seen[0].trap_oid, "1.3.6.1.6.3.1.1.5.5");
	snprintf(e->listen, sizeof(e->listen), "%s", old);
	assert_int_equal(traps_reconfigure(e->traps, &e->cfg), 0);
}

/* A net-snmp alarm: counts its calls. */
static void
alarm_cb(unsigned int reg, void *arg)
{
	(*(int *)arg)++;
}

static void
test_e2e_alarm(void **state)
{
	struct e2e *e = *state;
	struct timeval t = { 0, 30000 }, tick = { 0, 20000 };
	int fired = 0, i;

	/* net-snmp's alarms run from the bridge's timer, not from SIGALRM. */
	assert_int_not_equal(snmp_alarm_register_hr(t, 0, alarm_cb, &fired), 0);
	snmp_bridge_update();
	for (i = 0; i < 100 && fired == 0; i++) {
		event_base_loopexit(e->base, &tick);
		event_base_dispatch(e->base);
	}
	assert_int_equal(fired, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_coldstart),
		cmocka_unit_test(test_v1_linkdown),
		cmocka_unit_test(test_v1_enterprise_specific),
		cmocka_unit_test(test_v1_empty_enterprise),
		cmocka_unit_test(test_v1_long_enterprise),
		cmocka_unit_test(test_v1_bad_generic),
		cmocka_unit_test(test_v2c_good),
		cmocka_unit_test(test_v2c_missing_trapoid),
		cmocka_unit_test(test_trapaddress_override),
		cmocka_unit_test(test_too_many_varbinds),
		cmocka_unit_test(test_small_scratch),
		cmocka_unit_test(test_e2e_v2c),
		cmocka_unit_test(test_e2e_v1),
		cmocka_unit_test(test_e2e_community),
		cmocka_unit_test(test_e2e_inform),
		cmocka_unit_test(test_e2e_garbage),
		cmocka_unit_test(test_e2e_relisten),
		cmocka_unit_test(test_e2e_alarm),
	};

	return cmocka_run_group_tests_name("traps", tests, e2e_setup,
	    e2e_teardown);
}
