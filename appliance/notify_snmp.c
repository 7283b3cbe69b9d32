/* notify_snmp.c: SNMPv2c and v3 traps and informs of SOP-APPLIANCE-MIB's notifications. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent.h"
#include "enterprise.h"
#include "log.h"
#include "notify_int.h"
#include "snmp_bridge.h"
#include "xmalloc.h"

/* sopApplianceMIB = enterprises.SOP_ENTERPRISE.1 (mibs/SOP-APPLIANCE-MIB.txt). */
#define NOTIFY_SNMP_MIB	     1, 3, 6, 1, 4, 1, SOP_ENTERPRISE, 1
/* sopIncidentEntry = sopObjects.4.1. */
#define NOTIFY_SNMP_ENTRY    NOTIFY_SNMP_MIB, 1, 4, 1
#define NOTIFY_SNMP_TEXT_MAX 255

/* Column numbers of sopIncidentEntry carried by every notification. */
enum notify_snmp_col {
	COL_SEVERITY = 2,
	COL_STATE,
	COL_LEVEL,
	COL_HOST,
	COL_RULE,
	COL_TITLE,
	COL_FIRST_SEEN,
	COL_LAST_SEEN,
	COL_COUNT,
	COL_NEXT_ESCALATION,
	COL_WINDOW,
	COL_KEY,
	COL_OWNER,
	COL_ACKED_TIME,
	COL_RESOLVED_TIME,
	COL_CAUSE,
	COL_IMPACT,
	COL_WORKAROUND,
	COL_ETA,
	COL_LAST_NOTE,
};

/* Notification-only objects, sopNotificationLog.N.0. */
#define NOTIF_NOTE	 6
#define NOTIF_LAST_EVENT 7
#define NOTIF_LINK	 8

/* sopAppliance scalars carried by sopConfigReloaded. */
#define APP_GENERATION	4
#define APP_RELOAD_TIME 5

/*
 * A target's net-snmp session and the inform in flight on it: net-snmp
 * retransmits it (same request-id) until an answer or its retries run out;
 * only then does the notifier hear of it.
 */
struct notify_snmp {
	netsnmp_session *ss;
	int closing;
	int reqid;	   /* the inform in flight, 0: none */
	int stale;	   /* reopen before the next send */
	int probe;	   /* v3: the engineID probe in flight */
	netsnmp_pdu *held; /* v3: the inform waiting for it */
};

static int notify_snmp_cb(int, netsnmp_session *, int, netsnmp_pdu *, void *);

/*
 * sysUpTime.0 of a notification: the agent's (hundredths of a second since
 * the agent started; the bridge starts that clock with or without an agent).
 */
static u_long
notify_snmp_uptime(void)
{
	return netsnmp_get_agent_uptime();
}

/* SopLevel of a level name: l1(1), l2(2), l3(3), client(4). */
static long
notify_snmp_level(const char *s)
{
	if (strcmp(s, "L1") == 0)
		return 1;
	if (strcmp(s, "L2") == 0)
		return 2;
	if (strcmp(s, "L3") == 0)
		return 3;
	if (strcmp(s, "client") == 0)
		return 4;
	return 1;
}

/* Add one sopIncidentEntry column instance (index: incident id). */
static void
notify_snmp_add(netsnmp_pdu *pdu, int col, uint32_t id, u_char type,
    const void *val, size_t len)
{
	oid name[] = { NOTIFY_SNMP_ENTRY, 0, 0 };
	size_t n = sizeof(name) / sizeof(*name);

	name[n - 2] = (oid)col;
	name[n - 1] = id;
	snmp_pdu_add_variable(pdu, name, n, type, val, len);
}

/* The length of s as SopText: cut at 255 octets on a character boundary. */
static size_t
notify_snmp_textlen(const char *s)
{
	size_t len = strlen(s);

	if (len > NOTIFY_SNMP_TEXT_MAX) {
		len = NOTIFY_SNMP_TEXT_MAX;
		while (len > 0 && ((u_char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return len;
}

/* Add a SopText column. */
static void
notify_snmp_text(netsnmp_pdu *pdu, int col, uint32_t id, const char *s)
{
	notify_snmp_add(pdu, col, id, ASN_OCTET_STR, s, notify_snmp_textlen(s));
}

/* Add an INTEGER column. */
static void
notify_snmp_int(netsnmp_pdu *pdu, int col, uint32_t id, long v)
{
	notify_snmp_add(pdu, col, id, ASN_INTEGER, &v, sizeof(v));
}

/* Add a DateAndTime column. */
static void
notify_snmp_time(netsnmp_pdu *pdu, int col, uint32_t id, int64_t us)
{
	u_char b[AGENT_DATEANDTIME_LEN];

	notify_snmp_add(pdu, col, id, ASN_OCTET_STR, b,
	    agent_dateandtime(us, b));
}

/* Add a notification-only SopText, sopNotificationLog.<sub>.0. */
static void
notify_snmp_notif(netsnmp_pdu *pdu, int sub, const char *s, size_t len)
{
	oid name[] = { NOTIFY_SNMP_MIB, 1, 6, 0, 0 };
	size_t n = sizeof(name) / sizeof(*name);

	name[n - 2] = (oid)sub;
	snmp_pdu_add_variable(pdu, name, n, ASN_OCTET_STR, s, len);
}

/* sopNotifNote.0: the notice's note, "" without one. */
static void
notify_snmp_note(netsnmp_pdu *pdu, const struct notify_msg *m)
{
	const char *s = m->note != NULL ? m->note : "";

	notify_snmp_notif(pdu, NOTIF_NOTE, s, notify_snmp_textlen(s));
}

/*
 * sopNotifLastEvent.0, the incident's latest event (cut as any SopText),
 * and sopNotifLink.0, its page: "" without http.public_url, and "" when
 * longer than a SopText (a cut address would lead elsewhere).
 */
static void
notify_snmp_last_event_link(netsnmp_pdu *pdu, const struct notify_msg *m)
{
	const char *ev = m->last_event != NULL ? m->last_event : "";
	const char *link = m->link != NULL ? m->link : "";
	size_t len = strlen(link);

	notify_snmp_notif(pdu, NOTIF_LAST_EVENT, ev, notify_snmp_textlen(ev));
	notify_snmp_notif(pdu, NOTIF_LINK, link,
	    len > NOTIFY_SNMP_TEXT_MAX ? 0 : len);
}

/*
 * sopConfigReloaded's objects: sopConfigGeneration.0 (from the notice's
 * key, "reload-<time>-<generation>"), sopLastReloadTime.0, sopNotifNote.0.
 */
static void
notify_snmp_reload(netsnmp_pdu *pdu, const struct notify_msg *m)
{
	oid name[] = { NOTIFY_SNMP_MIB, 1, 1, APP_GENERATION, 0 };
	size_t n = sizeof(name) / sizeof(*name);
	u_char b[AGENT_DATEANDTIME_LEN];
	unsigned gen = 0;
	long long at;
	u_long v;

	if (sscanf(m->idem, "reload-%lld-%u", &at, &gen) != 2)
		gen = 0;
	v = gen;
	snmp_pdu_add_variable(pdu, name, n, ASN_UNSIGNED, &v, sizeof(v));
	name[n - 2] = APP_RELOAD_TIME;
	snmp_pdu_add_variable(pdu, name, n, ASN_OCTET_STR, b,
	    agent_dateandtime(m->at_us, b));
	notify_snmp_note(pdu, m);
}

/*
 * An incident's objects: those the notification names, then (for every
 * incident notification) the owner, what the client is told, the latest
 * note, the time of an acknowledgement or a resolution (in those two
 * notifications), the notice's own note, the latest event and the link.
 */
static void
notify_snmp_incident(netsnmp_pdu *pdu, const struct notify_msg *m)
{
	uint32_t id = m->id > UINT32_MAX ? UINT32_MAX : (uint32_t)m->id;
	u_long count;

	notify_snmp_int(pdu, COL_SEVERITY, id,
	    m->severity >= 0 && m->severity < 5 ? m->severity + 1 : 5);
	notify_snmp_int(pdu, COL_STATE, id, m->state + 1);
	notify_snmp_int(pdu, COL_LEVEL, id, notify_snmp_level(m->inc_level));
	notify_snmp_text(pdu, COL_HOST, id, m->host);
	notify_snmp_text(pdu, COL_RULE, id, m->rule);
	notify_snmp_text(pdu, COL_TITLE, id, m->title);
	notify_snmp_time(pdu, COL_FIRST_SEEN, id, m->first_seen_us);
	notify_snmp_time(pdu, COL_LAST_SEEN, id, m->last_seen_us);
	count = m->count > UINT32_MAX ? UINT32_MAX : (u_long)m->count;
	notify_snmp_add(pdu, COL_COUNT, id, ASN_UNSIGNED, &count,
	    sizeof(count));
	notify_snmp_time(pdu, COL_NEXT_ESCALATION, id, m->next_escalation_us);
	notify_snmp_text(pdu, COL_WINDOW, id, m->in_window);
	notify_snmp_text(pdu, COL_OWNER, id, m->owner);
	notify_snmp_text(pdu, COL_IMPACT, id, m->impact);
	notify_snmp_text(pdu, COL_WORKAROUND, id, m->workaround);
	notify_snmp_time(pdu, COL_ETA, id, m->eta_us);
	notify_snmp_text(pdu, COL_LAST_NOTE, id, m->last_note);
	if (m->kind == NOTICE_ACKNOWLEDGED)
		notify_snmp_time(pdu, COL_ACKED_TIME, id, m->at_us);
	else if (m->kind == NOTICE_RESOLVED)
		notify_snmp_time(pdu, COL_RESOLVED_TIME, id, m->at_us);
	notify_snmp_note(pdu, m);
	notify_snmp_last_event_link(pdu, m);
}

/* The notification PDU: sysUpTime.0, snmpTrapOID.0, then the objects. */
static netsnmp_pdu *
notify_snmp_pdu(const struct notify_tconf *c, const struct notify_msg *m)
{
	static const oid uptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
	static const oid trapoid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
	static const oid seq[] = { NOTIFY_SNMP_MIB, 1, 6, 5, 0 };
	oid notif[] = { NOTIFY_SNMP_MIB, 0, 0 };
	netsnmp_pdu *pdu;
	u_long ticks = notify_snmp_uptime(), count;

	pdu = snmp_pdu_create(
	    c->type == NOTIFY_SNMP_INFORM ? SNMP_MSG_INFORM : SNMP_MSG_TRAP2);
	/* sopNotifications.N: N is the kind + 1 (reminder 8, reload 9). */
	notif[sizeof(notif) / sizeof(*notif) - 1] = (oid)m->kind + 1;
	snmp_pdu_add_variable(pdu, uptime, OID_LENGTH(uptime), ASN_TIMETICKS,
	    &ticks, sizeof(ticks));
	snmp_pdu_add_variable(pdu, trapoid, OID_LENGTH(trapoid), ASN_OBJECT_ID,
	    notif, sizeof(notif));
	if (m->kind == NOTICE_RELOAD)
		notify_snmp_reload(pdu, m);
	else
		notify_snmp_incident(pdu, m);
	if (m->nlog != 0) {
		/* sopNotifSequence.0: the notice's sopNotifLogIndex. */
		count = m->nlog;
		snmp_pdu_add_variable(pdu, seq, OID_LENGTH(seq), ASN_UNSIGNED,
		    &count, sizeof(count));
	}
	return pdu;
}

/* Send the inform (v3: once the receiver's engineID is known). */
static int
notify_snmp_send_inform(struct notify_target *t, struct notify_snmp *s,
    netsnmp_pdu *pdu)
{
	int r;

	r = s->reqid = snmp_async_send(s->ss, pdu, notify_snmp_cb, t);
	if (r == 0) {
		log_warnx("notify %s: send failed: %s", t->c.name,
		    snmp_api_errstring(s->ss->s_snmp_errno));
		snmp_free_pdu(pdu);
	}
	snmp_bridge_update();
	return r;
}

/*
 * The answer to the engineID probe (a report, RFC 3414 4), or its end:
 * with the receiver's engineID, localize the user's keys and send the
 * held inform; without, the inform fails (and is retried later).
 */
static int
notify_snmp_probed(struct notify_target *t, struct notify_snmp *s, int op,
    const netsnmp_pdu *report)
{
	netsnmp_pdu *pdu = s->held;

	if (op == NETSNMP_CALLBACK_OP_RESEND)
		return 1;
	/* net-snmp learns it only after this call: take it from the report. */
	if (report != NULL && report->command == SNMP_MSG_REPORT &&
	    report->securityEngineIDLen > 0 &&
	    s->ss->securityEngineIDLen == 0) {
		s->ss->securityEngineID = xmalloc(report->securityEngineIDLen);
		memcpy(s->ss->securityEngineID, report->securityEngineID,
		    report->securityEngineIDLen);
		s->ss->securityEngineIDLen = report->securityEngineIDLen;
	}
	s->probe = 0;
	s->held = NULL;
	if (pdu == NULL || !t->busy) {
		snmp_free_pdu(pdu);
		return 1;
	}
	if (s->ss->securityEngineIDLen == 0 ||
	    usm_create_user_from_session(s->ss) != SNMPERR_SUCCESS) {
		snmp_free_pdu(pdu);
		s->stale = 1;
		notify_done(t, 0,
		    op == NETSNMP_CALLBACK_OP_TIMED_OUT ?
			"no answer to the engineID probe" :
			"engineID discovery failed");
		return 1;
	}
	log_debug("notify %s: engineID of %s discovered", t->c.name,
	    t->c.address);
	if (notify_snmp_send_inform(t, s, pdu) == 0) {
		s->stale = 1;
		notify_done(t, 0, "inform failed");
	}
	return 1;
}

/*
 * Ask the receiver its engineID without blocking the loop (net-snmp's
 * own probe waits for the answer): an empty noAuthNoPriv GET, whose
 * report carries it; the inform waits in s->held. 0 if it cannot be sent.
 */
static int
notify_snmp_probe(struct notify_target *t, struct notify_snmp *s,
    netsnmp_pdu *inform)
{
	struct usmUser *u;
	netsnmp_pdu *pdu;

	if ((u = usm_get_user(NULL, 0, "")) == NULL) {
		u = usm_create_user();
		u->name = xstrdup("");
		u->secName = xstrdup("");
		usm_add_user(u);
	}
	pdu = snmp_pdu_create(SNMP_MSG_GET);
	pdu->version = SNMP_VERSION_3;
	pdu->securityName = xstrdup("");
	pdu->securityNameLen = 0;
	pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
	pdu->securityModel = SNMP_SEC_MODEL_USM;
	s->ss->flags |= SNMP_FLAGS_DONT_PROBE;
	s->probe = snmp_async_send(s->ss, pdu, notify_snmp_cb, t);
	snmp_bridge_update();
	if (s->probe == 0) {
		snmp_free_pdu(pdu);
		return 0;
	}
	s->held = inform;
	return 1;
}

/*
 * net-snmp calls back for the inform in flight: each retransmission
 * (ignored: the same inform goes again), the answer, or the end of its
 * retries. A call for any other request-id is an old one's: ignored.
 */
static int
notify_snmp_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu,
    void *arg)
{
	struct notify_target *t = arg;
	struct notify_snmp *s = t->state;

	if (s != NULL && !s->closing && s->probe != 0 && reqid == s->probe)
		return notify_snmp_probed(t, s, op, pdu);
	/*
	 * A v3 report the receiver could not tie to a request (wrong key:
	 * the PDU did not decrypt) has request-id 0; net-snmp ends the
	 * inform in flight with it, the session's only one.
	 */
	if (s != NULL && s->probe == 0 && reqid == 0 &&
	    op == NETSNMP_CALLBACK_OP_SEC_ERROR)
		reqid = s->reqid;
	if (s == NULL || s->closing || !t->busy || s->reqid == 0 ||
	    reqid != s->reqid)
		return 1;
	switch (op) {
	case NETSNMP_CALLBACK_OP_RESEND:
		log_debugs(LOG_SYS_NOTIFY, "notify %s: inform %d sent again",
		    t->c.name, reqid);
		return 1;
	case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
		if (pdu == NULL || pdu->command != SNMP_MSG_RESPONSE)
			return 1; /* not the answer; keep waiting */
		s->reqid = 0;
		notify_done(t, 1, NULL);
		return 1;
	case NETSNMP_CALLBACK_OP_TIMED_OUT:
		/*
		 * net-snmp dropped the request after its last retry. A v3
		 * receiver may be back with another engineID (its
		 * unknownEngineID report does not end the inform): the next
		 * try discovers it again.
		 */
		s->reqid = 0;
		if (t->c.user != NULL)
			s->stale = 1;
		notify_done(t, 0, "inform not acknowledged");
		return 1;
	default:
		/* The request may live on in net-snmp: drop the session. */
		s->reqid = 0;
		s->stale = 1;
		notify_done(t, 0, "inform failed");
		return 1;
	}
}

/* Close the session (its requests go with it). */
static void
notify_snmp_close(struct notify_snmp *s)
{
	if (s->ss == NULL)
		return;
	s->closing = 1;
	snmp_close(s->ss);
	s->closing = 0;
	s->ss = NULL;
	snmp_bridge_update(); /* before a new session takes the number */
	s->reqid = 0;
	s->stale = 0;
	s->probe = 0;
	snmp_free_pdu(s->held);
	s->held = NULL;
}

/*
 * An SNMPv3 session's user and keys (Ku; net-snmp localizes them to the
 * engineID): for traps sopd's own engine is authoritative, for informs
 * the receiver's, discovered before the first inform. -1 if unusable.
 */
static int
notify_snmp_v3(const struct notify_target *t, netsnmp_session *sess,
    u_char *engine, size_t enginemax)
{
	const struct notify_tconf *c = &t->c;
	oid *ap, *pp;
	size_t aplen, pplen;
	int at, pt;

	sess->version = SNMP_VERSION_3;
	sess->securityModel = SNMP_SEC_MODEL_USM;
	sess->securityName = c->user;
	sess->securityNameLen = strlen(c->user);
	sess->securityLevel =
	    c->authpriv ? SNMP_SEC_LEVEL_AUTHPRIV : SNMP_SEC_LEVEL_AUTHNOPRIV;
	if ((at = usm_lookup_auth_type(c->auth)) < 0 ||
	    (ap = sc_get_auth_oid(at, &aplen)) == NULL)
		return -1;
	sess->securityAuthProto = ap;
	sess->securityAuthProtoLen = aplen;
	sess->securityAuthKeyLen = USM_AUTH_KU_LEN;
	if (generate_Ku(ap, (u_int)aplen, (const u_char *)c->auth_pass,
		strlen(c->auth_pass), sess->securityAuthKey,
		&sess->securityAuthKeyLen) != SNMPERR_SUCCESS)
		return -1;
	if (c->authpriv) {
		if ((pt = usm_lookup_priv_type(c->priv)) < 0 ||
		    (pp = sc_get_priv_oid(pt, &pplen)) == NULL)
			return -1;
		sess->securityPrivProto = pp;
		sess->securityPrivProtoLen = pplen;
		sess->securityPrivKeyLen = USM_PRIV_KU_LEN;
		if (generate_Ku(ap, (u_int)aplen, (const u_char *)c->priv_pass,
			strlen(c->priv_pass), sess->securityPrivKey,
			&sess->securityPrivKeyLen) != SNMPERR_SUCCESS)
			return -1;
	}
	sess->flags |= SNMP_FLAGS_DONT_PROBE;
	if (c->type == NOTIFY_SNMP_TRAP) {
		sess->securityEngineIDLen =
		    snmpv3_get_engineID(engine, enginemax);
		sess->securityEngineID = engine;
	}
	return 0;
}

/* Open the target's session (once). */
static struct notify_snmp *
notify_snmp_session(struct notify_target *t)
{
	struct notify_snmp *s = t->state;
	netsnmp_session sess;
	char *peer;
	u_char engine[32];

	if (s != NULL && s->stale)
		notify_snmp_close(s);
	if (s != NULL && s->ss != NULL)
		return s;
	if (s == NULL)
		s = t->state = xcalloc(1, sizeof(*s));
	snmp_sess_init(&sess);
	sess.version = SNMP_VERSION_2c;
	xasprintf(&peer, "%s:%s", t->c.address[0] == '[' ? "udp6" : "udp",
	    t->c.address);
	sess.peername = peer;
	sess.community = (u_char *)t->c.community;
	sess.community_len = strlen(t->c.community);
	if (t->c.user != NULL &&
	    notify_snmp_v3(t, &sess, engine, sizeof(engine)) == -1) {
		log_warnx("notify %s: cannot set up SNMPv3 user %s", t->c.name,
		    t->c.user);
		explicit_bzero(&sess, sizeof(sess));
		free(peer);
		return NULL;
	}
	sess.retries = (int)t->c.retries;
	sess.timeout = (long)t->c.timeout * 1000000L;
	sess.callback = notify_snmp_cb;
	sess.callback_magic = t;
	s->ss = snmp_open(&sess);
	explicit_bzero(sess.securityAuthKey, sizeof(sess.securityAuthKey));
	explicit_bzero(sess.securityPrivKey, sizeof(sess.securityPrivKey));
	free(peer);
	if (s->ss == NULL) {
		log_warnx("notify %s: cannot open SNMP session to %s",
		    t->c.name, t->c.address);
		return NULL;
	}
	return s;
}

/* Send a trap (done once sent) or an inform (done when acknowledged). */
static int
notify_snmp_start(struct notify_target *t, struct notify_msg *m)
{
	struct notify_snmp *s;
	netsnmp_pdu *pdu;
	int r;

	if (!notify_in_mib(m->kind)) /* no notification in the MIB */
		return 1;
	if ((s = notify_snmp_session(t)) == NULL)
		return -1;
	pdu = notify_snmp_pdu(&t->c, m);
	if (t->c.type == NOTIFY_SNMP_INFORM && t->c.user != NULL &&
	    s->ss->securityEngineIDLen == 0) {
		if (notify_snmp_probe(t, s, pdu))
			return 0; /* the inform goes once probed */
		r = 0;
	} else if (t->c.type == NOTIFY_SNMP_INFORM)
		r = s->reqid = snmp_async_send(s->ss, pdu, notify_snmp_cb, t);
	else
		r = snmp_send(s->ss, pdu);
	if (r == 0) {
		snmp_free_pdu(pdu);
		log_warnx("notify %s: send failed: %s", t->c.name,
		    snmp_api_errstring(s->ss->s_snmp_errno));
	}
	snmp_bridge_update();
	if (r == 0)
		return -1;
	return t->c.type == NOTIFY_SNMP_INFORM ? 0 : 1;
}

/* Close the session; an inform in flight is abandoned. */
static void
notify_snmp_free(struct notify_target *t)
{
	struct notify_snmp *s = t->state;

	if (s == NULL)
		return;
	notify_snmp_close(s);
	snmp_bridge_update();
	free(s);
	t->state = NULL;
}

const struct notify_ops notify_snmp_ops = {
	notify_snmp_start,
	notify_snmp_free,
};
