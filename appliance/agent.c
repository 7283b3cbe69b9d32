/* agent.c: the SOP-APPLIANCE-MIB handlers, the system group and access. */
#include <sys/time.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>
#include <net-snmp/agent/agent_sysORTable.h>

#include "agent.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "log.h"
#include "policy.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "version.h"
#include "winset.h"
#include "xmalloc.h"

#define AGENT_TEXT_MAX	   255	/* SopText: SIZE (0..255) */
#define AGENT_NLOG_MAX	   500	/* sopNotifLogMaxEntries */
#define AGENT_MAX_INDEX	   3	/* longest index, in sub-ids */
#define AGENT_NLOG_RESERVE 1000 /* log indexes reserved in the store at once */
#define AGENT_NLOG_META	   "nlog_next"

/* From libnetsnmpmibs (mibgroup/mibII), which installs no header for them. */
void init_system_mib(void);
void init_sysORTable(void);
void init_vacm_conf(void);
void init_snmpEngine(void);
void init_snmp_mib(void);
void init_usmStats(void);

/* sopApplianceMIB (enterprises.<SOP_ENTERPRISE>.1) and the nodes below it. */
static oid agent_mib_oid[] = { 1, 3, 6, 1, 4, 1, AGENT_ENTERPRISE, 1 };
#define AGENT_MIB_LEN OID_LENGTH(agent_mib_oid)

/* One active incident in the snapshot; strings are offsets into the arena. */
struct agent_incident {
	uint32_t id;
	int severity;
	int state;
	int level;
	uint32_t count;
	int64_t first_us, last_us, next_us;
	size_t host, rule, title, key, window;
	size_t owner, cause;
	int64_t acked_us, resolved_us;
	size_t impact, workaround, last_note; /* for the client */
	int64_t eta_us;
};

/* The sorted copy of the active incidents that GET and GETNEXT read. */
struct agent_snapshot {
	struct agent_incident *rows;
	size_t n, alloc;
	char *arena;
	size_t used, size;
	uint64_t version;
	int valid;
	unsigned per_sev[SEV_MAX];
	unsigned unacked;
	int64_t oldest_us;
};

/* A patch or change window; id and title point into the daemon's winset. */
struct agent_window {
	const char *id;
	int type; /* 1 patch, 2 change */
	const char *title;
	int64_t start_us, end_us;
	int approved, active;
	uint32_t index; /* sopWindowIndex, from the id */
};

/* The windows as the handler's request sees them, by start time. */
struct agent_windows {
	struct agent_window *rows;
	size_t n, alloc;
};

/* One notice in the bounded log, with its targets and outcome. */
struct agent_nlog {
	uint32_t index;
	int64_t time_us;
	oid notif[AGENT_MIB_LEN + 2];
	uint32_t incident;
	int severity;
	int level;
	int outcome; /* enum agent_outcome */
	char text[AGENT_TEXT_MAX + 1];
	char targets[AGENT_TEXT_MAX + 1];
};

/*
 * A run of objects under sopObjects that share an index: a table's entry
 * (columns firstcol..lastcol, rows sorted by index) or a scalar group
 * (one row with index 0).
 */
struct agent_section {
	oid prefix[3];
	size_t prefixlen;
	u_int firstcol, lastcol;
	size_t indexlen;
	size_t (*rows)(void);
	void (*index)(size_t, oid *);
	void (*value)(size_t, u_int, netsnmp_variable_list *);
};

static struct {
	struct sopd *sd;
	netsnmp_handler_registration *reg;
	int sysor;
	struct agent_snapshot snap;
	struct agent_windows win;
	struct agent_nlog nlog[AGENT_NLOG_MAX];
	size_t nlog_head, nlog_n;
	uint32_t nlog_next;
	uint32_t nlog_reserved; /* stored: next free */
	int nlog_loaded;
	uint32_t nlog_logged, nlog_bumped;
} agent;

static const struct agent_section agent_sections[];
static const size_t agent_nsections;

/* Now, in microseconds of wall-clock time. */
static int64_t
agent_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Set a varbind to an integer-like value of the given type. */
static void
agent_set_int(netsnmp_variable_list *vb, u_char type, long v)
{
	snmp_set_var_typed_value(vb, type, &v, sizeof(v));
}

/* Set a varbind to an unsigned 32-bit value (Gauge32, Unsigned32...). */
static void
agent_set_uint(netsnmp_variable_list *vb, u_char type, uint64_t v)
{
	u_long u = v > UINT32_MAX ? UINT32_MAX : (u_long)v;

	snmp_set_var_typed_value(vb, type, &u, sizeof(u));
}

/* Set a varbind to a Counter64. */
static void
agent_set_c64(netsnmp_variable_list *vb, uint64_t v)
{
	struct counter64 c;

	c.high = (u_long)(v >> 32);
	c.low = (u_long)(v & 0xffffffffU);
	snmp_set_var_typed_value(vb, ASN_COUNTER64, &c, sizeof(c));
}

/* Set a varbind to an octet string (NULL is the empty string). */
static void
agent_set_str(netsnmp_variable_list *vb, const char *s)
{
	if (s == NULL)
		s = "";
	snmp_set_var_typed_value(vb, ASN_OCTET_STR, s, strlen(s));
}

/* Encode a DateAndTime in UTC (11 octets), or 8 zero octets for "none". */
size_t
agent_dateandtime(int64_t us, unsigned char *b)
{
	struct tm tm;
	time_t t;

	memset(b, 0, AGENT_DATEANDTIME_LEN);
	if (us <= 0)
		return 8;
	t = (time_t)(us / 1000000);
	gmtime_r(&t, &tm);
	b[0] = (u_char)((tm.tm_year + 1900) >> 8);
	b[1] = (u_char)((tm.tm_year + 1900) & 0xff);
	b[2] = (u_char)(tm.tm_mon + 1);
	b[3] = (u_char)tm.tm_mday;
	b[4] = (u_char)tm.tm_hour;
	b[5] = (u_char)tm.tm_min;
	b[6] = (u_char)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	b[7] = (u_char)((us / 100000) % 10);
	b[8] = '+';
	return AGENT_DATEANDTIME_LEN;
}

/* Set a varbind to a DateAndTime in UTC, or 8 zero octets for "none". */
static void
agent_set_date(netsnmp_variable_list *vb, int64_t us)
{
	u_char b[AGENT_DATEANDTIME_LEN];

	snmp_set_var_typed_value(vb, ASN_OCTET_STR, b,
	    agent_dateandtime(us, b));
}

/* The SopLevel value of "L1".."L3" or "client" (l1 when unknown). */
static int
agent_level(const char *s)
{
	if (s == NULL)
		return 1;
	if ((s[0] == 'L' || s[0] == 'l') && s[1] >= '1' && s[1] <= '3' &&
	    s[2] == '\0')
		return s[1] - '0';
	if (strcasecmp(s, "client") == 0)
		return 4;
	return 1;
}

/* The SopSeverity value of an enum sop_severity. */
static int
agent_severity(int sev)
{
	if (sev < 0 || sev >= SEV_MAX)
		return SEV_INFO + 1;
	return sev + 1;
}

/* How many bytes of s fit in max without cutting a UTF-8 character. */
static size_t
agent_text_len(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((u_char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Set a varbind to a SopText (cut at 255 octets on a character boundary). */
static void
agent_set_text(netsnmp_variable_list *vb, const char *s)
{
	if (s == NULL)
		s = "";
	snmp_set_var_typed_value(vb, ASN_OCTET_STR, s,
	    agent_text_len(s, AGENT_TEXT_MAX));
}

/* Copy a string (cut to SopText's size) into the snapshot's arena. */
static size_t
agent_arena_add(struct agent_snapshot *sn, const char *s)
{
	size_t len, off;

	if (s == NULL)
		s = "";
	len = agent_text_len(s, AGENT_TEXT_MAX);
	if (sn->used + len + 1 > sn->size) {
		while (sn->used + len + 1 > sn->size)
			sn->size = sn->size == 0 ? 65536 : sn->size * 2;
		sn->arena = xrealloc(sn->arena, sn->size);
	}
	off = sn->used;
	memcpy(sn->arena + off, s, len);
	sn->arena[off + len] = '\0';
	sn->used += len + 1;
	return off;
}

/* Add one incident to the snapshot (callback of incidents_foreach_active). */
static void
agent_snapshot_add_cb(const struct incident_info *ii, void *arg)
{
	struct agent_snapshot *sn = arg;
	struct agent_incident *r;

	if (ii->id == 0 || ii->id > UINT32_MAX)
		return; /* not representable as sopIncidentId */
	if (sn->n == sn->alloc) {
		sn->alloc = sn->alloc == 0 ? 1024 : sn->alloc * 2;
		sn->rows =
		    xreallocarray(sn->rows, sn->alloc, sizeof(*sn->rows));
	}
	r = &sn->rows[sn->n++];
	r->id = (uint32_t)ii->id;
	r->severity = agent_severity(ii->severity);
	r->state =
	    ii->state >= 0 && ii->state <= INC_CLOSED ? ii->state + 1 : 1;
	r->level = agent_level(ii->level);
	r->count = ii->count > UINT32_MAX ? UINT32_MAX : (uint32_t)ii->count;
	r->first_us = ii->first_seen_us;
	r->last_us = ii->last_seen_us;
	r->next_us = ii->next_escalation_us;
	r->host = agent_arena_add(sn, ii->host);
	r->rule = agent_arena_add(sn, ii->rule);
	r->title = agent_arena_add(sn, ii->title);
	r->key = agent_arena_add(sn, ii->key);
	r->window = agent_arena_add(sn, ii->in_window);
	r->owner = agent_arena_add(sn, ii->owner);
	r->cause = agent_arena_add(sn, ii->cause);
	r->acked_us = ii->acked_us;
	r->resolved_us = ii->resolved_us;
	r->impact = agent_arena_add(sn, ii->impact);
	r->workaround = agent_arena_add(sn, ii->workaround);
	r->last_note = agent_arena_add(sn, ii->last_note);
	r->eta_us = ii->eta_us;

	sn->per_sev[r->severity - 1]++;
	if (r->state == 1)
		sn->unacked++;
	if (r->first_us > 0 &&
	    (sn->oldest_us == 0 || r->first_us < sn->oldest_us))
		sn->oldest_us = r->first_us;
}

/* Order snapshot rows by id. */
static int
agent_incident_cmp(const void *a, const void *b)
{
	const struct agent_incident *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Rebuild the incident snapshot if any active incident changed since. */
static void
agent_snapshot_refresh(void)
{
	struct agent_snapshot *sn = &agent.snap;
	struct incidents *inc;
	uint64_t version;
	size_t i;

	inc = agent.sd != NULL ? agent.sd->incidents : NULL;
	if (inc == NULL) {
		sn->n = 0;
		sn->valid = 0;
		memset(sn->per_sev, 0, sizeof(sn->per_sev));
		sn->unacked = 0;
		sn->oldest_us = 0;
		return;
	}
	version = incidents_version(inc);
	if (sn->valid && sn->version == version)
		return;
	sn->n = sn->used = 0;
	memset(sn->per_sev, 0, sizeof(sn->per_sev));
	sn->unacked = 0;
	sn->oldest_us = 0;
	incidents_foreach_active(inc, agent_snapshot_add_cb, sn);
	for (i = 1; i < sn->n; i++) {
		if (sn->rows[i - 1].id >= sn->rows[i].id) {
			qsort(sn->rows, sn->n, sizeof(*sn->rows),
			    agent_incident_cmp);
			break;
		}
	}
	sn->version = version;
	sn->valid = 1;
}

/* A string of the snapshot's arena. */
static const char *
agent_snap_str(size_t off)
{
	return agent.snap.arena + off;
}

/* The scalar groups' only row has index 0. */
static size_t
agent_scalar_rows(void)
{
	return 1;
}

/* The index of a scalar: .0 */
static void
agent_scalar_index(size_t row, oid *idx)
{
	idx[0] = 0;
}

/* sopAppliance: version, uptime, start, generation, reload, rules. */
static void
agent_appliance_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	struct sopd *sd = agent.sd;
	time_t now = time(NULL);

	switch (col) {
	case 1:
		agent_set_str(vb, SOPD_VERSION);
		break;
	case 2:
		agent_set_uint(vb, ASN_UNSIGNED,
		    now > sd->started ? (uint64_t)(now - sd->started) : 0);
		break;
	case 3:
		agent_set_date(vb, (int64_t)sd->started * 1000000);
		break;
	case 4:
		agent_set_uint(vb, ASN_UNSIGNED, sd->generation);
		break;
	case 5:
		agent_set_date(vb, (int64_t)sd->last_reload * 1000000);
		break;
	case 6:
		agent_set_int(vb, ASN_INTEGER,
		    sd->last_reload == 0   ? 1 :
			sd->last_reload_ok ? 2 :
					     3);
		break;
	case 7:
		agent_set_str(vb,
		    sd->last_reload != 0 && !sd->last_reload_ok ?
			sd->last_reload_error :
			"");
		vb->val_len =
		    agent_text_len((char *)vb->val.string, AGENT_TEXT_MAX);
		break;
	case 8:
		agent_set_uint(vb, ASN_GAUGE,
		    sd->rules != NULL ? ruleset_count(sd->rules) : 0);
		break;
	case 9: /* sopCounterDiscontinuityTime: counters start */
		agent_set_date(vb, (int64_t)sd->started * 1000000);
		break;
	}
}

/* sopInputTable has one row per input. */
static size_t
agent_input_rows(void)
{
	return INPUT_MAX;
}

/* sopInputIndex: the input plus one. */
static void
agent_input_index(size_t row, oid *idx)
{
	idx[0] = row + 1;
}

/* sopInputEntry columns. */
static void
agent_input_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	const struct stats_input_counters *c = &stats.in[row];

	switch (col) {
	case 2:
		agent_set_str(vb, stats_input_name(row));
		break;
	case 3:
		agent_set_c64(vb, c->received);
		break;
	case 4:
		agent_set_c64(vb, c->accepted);
		break;
	case 5:
		agent_set_c64(vb, c->dropped);
		break;
	case 6:
		agent_set_c64(vb, c->bytes);
		break;
	case 7:
		agent_set_uint(vb, ASN_GAUGE, c->sessions);
		break;
	}
}

/* sopInputReasonTable: every reason of every input. */
static size_t
agent_reason_rows(void)
{
	return INPUT_MAX * REASON_MAX;
}

/* sopInputIndex, sopInputReason: both plus one, input-major. */
static void
agent_reason_index(size_t row, oid *idx)
{
	idx[0] = row / REASON_MAX + 1;
	idx[1] = row % REASON_MAX + 1;
}

/* sopInputReasonEntry columns. */
static void
agent_reason_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	size_t in = row / REASON_MAX, r = row % REASON_MAX;

	switch (col) {
	case 2:
		agent_set_str(vb, stats_reason_name(r));
		break;
	case 3:
		agent_set_int(vb, ASN_INTEGER, stats_reason_drops(r) ? 1 : 2);
		break;
	case 4:
		agent_set_c64(vb, stats.in[in].reason[r]);
		break;
	}
}

/* sopIncidentSummary: counts from the snapshot, totals from stats. */
static void
agent_summary_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	struct agent_snapshot *sn = &agent.snap;
	int64_t age;

	switch (col) {
	case 1:
		agent_set_uint(vb, ASN_GAUGE, sn->n);
		break;
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		agent_set_uint(vb, ASN_GAUGE, sn->per_sev[col - 2]);
		break;
	case 7:
		agent_set_uint(vb, ASN_GAUGE, sn->unacked);
		break;
	case 8:
		age = sn->oldest_us > 0 ? agent_now_us() - sn->oldest_us : 0;
		agent_set_uint(vb, ASN_UNSIGNED,
		    age > 0 ? (uint64_t)(age / 1000000) : 0);
		break;
	case 9:
		agent_set_c64(vb, stats.incidents_opened);
		break;
	case 10:
		agent_set_c64(vb, stats.incidents_resolved);
		break;
	case 11: /* sopIncidentLastChanged */
		agent_set_date(vb,
		    agent.sd->incidents != NULL ?
			incidents_changed_us(agent.sd->incidents) :
			0);
		break;
	}
}

/* sopIncidentTable: the snapshot's rows. */
static size_t
agent_incident_rows(void)
{
	return agent.snap.n;
}

/* sopIncidentId. */
static void
agent_incident_index(size_t row, oid *idx)
{
	idx[0] = agent.snap.rows[row].id;
}

/* sopIncidentEntry columns. */
static void
agent_incident_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	const struct agent_incident *r = &agent.snap.rows[row];

	switch (col) {
	case 2:
		agent_set_int(vb, ASN_INTEGER, r->severity);
		break;
	case 3:
		agent_set_int(vb, ASN_INTEGER, r->state);
		break;
	case 4:
		agent_set_int(vb, ASN_INTEGER, r->level);
		break;
	case 5:
		agent_set_str(vb, agent_snap_str(r->host));
		break;
	case 6:
		agent_set_str(vb, agent_snap_str(r->rule));
		break;
	case 7:
		agent_set_str(vb, agent_snap_str(r->title));
		break;
	case 8:
		agent_set_date(vb, r->first_us);
		break;
	case 9:
		agent_set_date(vb, r->last_us);
		break;
	case 10:
		agent_set_uint(vb, ASN_UNSIGNED, r->count);
		break;
	case 11:
		agent_set_date(vb, r->next_us);
		break;
	case 12:
		agent_set_str(vb, agent_snap_str(r->window));
		break;
	case 13:
		agent_set_str(vb, agent_snap_str(r->key));
		break;
	case 14: /* sopIncidentOwner */
		agent_set_text(vb, agent_snap_str(r->owner));
		break;
	case 15: /* sopIncidentAcknowledgedTime */
		agent_set_date(vb, r->acked_us);
		break;
	case 16: /* sopIncidentResolvedTime */
		agent_set_date(vb, r->resolved_us);
		break;
	case 17: /* sopIncidentCause */
		agent_set_text(vb, agent_snap_str(r->cause));
		break;
	case 18: /* sopIncidentImpact */
		agent_set_text(vb, agent_snap_str(r->impact));
		break;
	case 19: /* sopIncidentWorkaround */
		agent_set_text(vb, agent_snap_str(r->workaround));
		break;
	case 20: /* sopIncidentExpectedRecovery */
		agent_set_date(vb, r->eta_us);
		break;
	case 21: /* sopIncidentLastNote */
		agent_set_text(vb, agent_snap_str(r->last_note));
		break;
	}
}

/*
 * sopWindowIndex: a number derived from the window's id alone (FNV-1a, in
 * 1..2^31), so that a window keeps it across restarts and whatever other
 * windows come and go.
 */
static uint32_t
agent_window_hash(const char *id)
{
	uint32_t h = 2166136261U;

	for (; *id != '\0'; id++) {
		h ^= (u_char)*id;
		h *= 16777619U;
	}
	return h % 0x7fffffffU + 1;
}

/* Order windows by index, then id (two ids of one hash: see below). */
static int
agent_window_cmp(const void *a, const void *b)
{
	const struct agent_window *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * One window's row: the occurrence in progress, or the next one; 0 when
 * there is none (a one-off window that ended, a cancelled change).
 */
static int
agent_window_row(const struct calendar *cal, const struct win *w, time_t now,
    struct agent_window *r)
{
	time_t start, end;

	if (w->cancelled)
		return 0;
	r->active = winset_active(cal, w, now, &start, &end);
	if (!r->active &&
	    (start = winspec_next_start(cal, &w->spec, now, &end)) == -1)
		return 0;
	r->id = w->id;
	r->type = w->kind == WIN_CHANGE ? 2 : 1;
	r->title = w->title != NULL ? w->title : "";
	r->start_us = (int64_t)start * 1000000;
	r->end_us = (int64_t)end * 1000000;
	r->approved = w->approved;
	r->active = r->active && winset_counts(w); /* holds incidents */
	r->index = agent_window_hash(w->id);
	return 1;
}

/* Rebuild the window rows from the daemon's windows, as of now. */
static void
agent_windows_refresh(void)
{
	struct agent_windows *aw = &agent.win;
	const struct calendar *cal;
	struct winset *ws;
	time_t now = clock_now();
	size_t i, n;

	aw->n = 0;
	ws = agent.sd != NULL ? agent.sd->windows : NULL;
	if (ws == NULL || agent.sd->policy == NULL ||
	    (cal = policy_calendar(agent.sd->policy)) == NULL)
		return;
	n = winset_count(ws);
	if (n > aw->alloc) {
		aw->rows = xreallocarray(aw->rows, n, sizeof(*aw->rows));
		aw->alloc = n;
	}
	for (i = 0; i < n; i++) {
		if (agent_window_row(cal, winset_get(ws, i), now,
			&aw->rows[aw->n]))
			aw->n++;
	}
	if (aw->n > 1)
		qsort(aw->rows, aw->n, sizeof(*aw->rows), agent_window_cmp);
	/* Ids of one hash (rare): the later ids by name take the next. */
	for (i = 1; i < aw->n; i++)
		if (aw->rows[i].index <= aw->rows[i - 1].index)
			aw->rows[i].index = aw->rows[i - 1].index + 1;
}

/* The active and upcoming windows, by start time. */
static size_t
agent_windows(const struct agent_window **w)
{
	*w = agent.win.rows;
	return agent.win.n;
}

/* sopWindowTable rows. */
static size_t
agent_window_rows(void)
{
	const struct agent_window *w;

	return agent_windows(&w);
}

/* sopWindowIndex: from the id (agent_window_hash). */
static void
agent_window_index(size_t row, oid *idx)
{
	idx[0] = agent.win.rows[row].index;
}

/* sopWindowEntry columns. */
static void
agent_window_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	const struct agent_window *w;

	if (row >= agent_windows(&w))
		return;
	w += row;
	switch (col) {
	case 2:
		agent_set_text(vb, w->id);
		break;
	case 3:
		agent_set_int(vb, ASN_INTEGER, w->type);
		break;
	case 4:
		agent_set_text(vb, w->title);
		break;
	case 5:
		agent_set_date(vb, w->start_us);
		break;
	case 6:
		agent_set_date(vb, w->end_us);
		break;
	case 7:
		agent_set_int(vb, ASN_INTEGER, w->approved ? 1 : 2);
		break;
	case 8:
		agent_set_int(vb, ASN_INTEGER,
		    w->active ? 1 : 2); /* open and counting */
		break;
	}
}

/* sopNotificationLog scalars. */
static void
agent_nlog_scalar_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	switch (col) {
	case 1:
		agent_set_uint(vb, ASN_UNSIGNED, AGENT_NLOG_MAX);
		break;
	case 2:
		agent_set_uint(vb, ASN_COUNTER, agent.nlog_logged);
		break;
	case 3:
		agent_set_uint(vb, ASN_COUNTER, agent.nlog_bumped);
		break;
	}
}

/* The log entry at a position, oldest first. */
static const struct agent_nlog *
agent_nlog_at(size_t row)
{
	return &agent.nlog[(agent.nlog_head + row) % AGENT_NLOG_MAX];
}

/* sopNotifLogTable rows. */
static size_t
agent_nlog_rows(void)
{
	return agent.nlog_n;
}

/* sopNotifLogIndex. */
static void
agent_nlog_index(size_t row, oid *idx)
{
	idx[0] = agent_nlog_at(row)->index;
}

/* sopNotifLogEntry columns. */
static void
agent_nlog_value(size_t row, u_int col, netsnmp_variable_list *vb)
{
	const struct agent_nlog *e = agent_nlog_at(row);

	switch (col) {
	case 2:
		agent_set_date(vb, e->time_us);
		break;
	case 3:
		snmp_set_var_typed_value(vb, ASN_OBJECT_ID, e->notif,
		    sizeof(e->notif));
		break;
	case 4:
		agent_set_uint(vb, ASN_UNSIGNED, e->incident);
		break;
	case 5:
		agent_set_int(vb, ASN_INTEGER, e->severity);
		break;
	case 6:
		agent_set_int(vb, ASN_INTEGER, e->level);
		break;
	case 7:
		agent_set_str(vb, e->text);
		break;
	case 8:
		agent_set_str(vb, e->targets);
		break;
	case 9:
		agent_set_int(vb, ASN_INTEGER, e->outcome);
		break;
	}
}

/* Everything under sopObjects, in OID order. */
static const struct agent_section agent_sections[] = {
	{ { 1 }, 1, 1, 9, 1, agent_scalar_rows, agent_scalar_index,
	    agent_appliance_value },
	{ { 2, 1, 1 }, 3, 2, 7, 1, agent_input_rows, agent_input_index,
	    agent_input_value },
	{ { 2, 2, 1 }, 3, 2, 4, 2, agent_reason_rows, agent_reason_index,
	    agent_reason_value },
	{ { 3 }, 1, 1, 11, 1, agent_scalar_rows, agent_scalar_index,
	    agent_summary_value },
	{ { 4, 1 }, 2, 2, 21, 1, agent_incident_rows, agent_incident_index,
	    agent_incident_value },
	{ { 5, 1 }, 2, 2, 8, 1, agent_window_rows, agent_window_index,
	    agent_window_value },
	{ { 6 }, 1, 1, 3, 1, agent_scalar_rows, agent_scalar_index,
	    agent_nlog_scalar_value },
	{ { 6, 4, 1 }, 3, 2, 9, 1, agent_nlog_rows, agent_nlog_index,
	    agent_nlog_value },
};
static const size_t agent_nsections =
    sizeof(agent_sections) / sizeof(agent_sections[0]);

/* Compare a row's index with a (possibly partial or longer) key. */
static int
agent_row_cmp(const struct agent_section *s, size_t row, const oid *key,
    size_t keylen)
{
	oid idx[AGENT_MAX_INDEX];

	s->index(row, idx);
	return snmp_oid_compare(idx, s->indexlen, key, keylen);
}

/* The first row whose index is greater than (or, exact, equal to) key. */
static size_t
agent_row_search(const struct agent_section *s, size_t n, const oid *key,
    size_t keylen, int orequal)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = agent_row_cmp(s, mid, key, keylen);
		if (c > 0 || (orequal && c == 0))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Name a varbind sopObjects.prefix.col.index and fill its value. */
static void
agent_answer(netsnmp_variable_list *vb, const struct agent_section *s,
    u_int col, size_t row)
{
	oid name[MAX_OID_LEN];
	size_t len = 0;

	memcpy(name, agent_mib_oid, sizeof(agent_mib_oid));
	len = AGENT_MIB_LEN;
	name[len++] = 1;
	memcpy(name + len, s->prefix, s->prefixlen * sizeof(oid));
	len += s->prefixlen;
	name[len++] = col;
	s->index(row, name + len);
	len += s->indexlen;
	snmp_set_var_objid(vb, name, len);
	s->value(row, col, vb);
}

/*
 * Where rel (an OID relative to sopObjects) lies against a section's
 * prefix: -1 before it, 1 after it, 0 inside it.
 */
static int
agent_section_where(const struct agent_section *s, const oid *rel,
    size_t rellen)
{
	size_t i;

	for (i = 0; i < s->prefixlen && i < rellen; i++) {
		if (rel[i] < s->prefix[i])
			return -1;
		if (rel[i] > s->prefix[i])
			return 1;
	}
	return rellen < s->prefixlen ? -1 : 0;
}

/* The next object after rel within one section; 0 if there is none. */
static int
agent_section_next(netsnmp_variable_list *vb, const struct agent_section *s,
    const oid *rel, size_t rellen)
{
	size_t n = s->rows(), row;
	u_int col;

	if (n == 0)
		return 0;
	switch (agent_section_where(s, rel, rellen)) {
	case -1:
		agent_answer(vb, s, s->firstcol, 0);
		return 1;
	case 1:
		return 0;
	}
	rel += s->prefixlen;
	rellen -= s->prefixlen;
	if (rellen == 0 || rel[0] < s->firstcol) {
		agent_answer(vb, s, s->firstcol, 0);
		return 1;
	}
	if (rel[0] > s->lastcol)
		return 0;
	col = (u_int)rel[0];
	row = agent_row_search(s, n, rel + 1, rellen - 1, 0);
	if (row < n) {
		agent_answer(vb, s, col, row);
		return 1;
	}
	if (col == s->lastcol)
		return 0;
	agent_answer(vb, s, col + 1, 0);
	return 1;
}

/* GETNEXT: answer the first object after the request, or leave it unset. */
static void
agent_getnext(netsnmp_request_info *r)
{
	netsnmp_variable_list *vb = r->requestvb;
	oid base[AGENT_MIB_LEN + 1];
	const oid *rel = NULL;
	size_t rellen = 0, i;

	memcpy(base, agent_mib_oid, sizeof(agent_mib_oid));
	base[AGENT_MIB_LEN] = 1;
	if (netsnmp_oid_is_subtree(base, AGENT_MIB_LEN + 1, vb->name,
		vb->name_length) == 0) {
		rel = vb->name + AGENT_MIB_LEN + 1;
		rellen = vb->name_length - (AGENT_MIB_LEN + 1);
	} else if (snmp_oid_compare(vb->name, vb->name_length, base,
		       AGENT_MIB_LEN + 1) > 0)
		return; /* past our subtree */
	for (i = 0; i < agent_nsections; i++) {
		if (agent_section_next(vb, &agent_sections[i], rel, rellen))
			return;
	}
}

/* GET: the exact object, or noSuchObject / noSuchInstance. */
static void
agent_get(netsnmp_agent_request_info *ri, netsnmp_request_info *r)
{
	netsnmp_variable_list *vb = r->requestvb;
	const struct agent_section *s;
	const oid *rel;
	size_t rellen, i, n, row;
	u_int col;

	rel = vb->name + AGENT_MIB_LEN + 1;
	rellen = vb->name_length - (AGENT_MIB_LEN + 1);
	for (i = 0; i < agent_nsections; i++) {
		s = &agent_sections[i];
		if (rellen < s->prefixlen + 1 ||
		    agent_section_where(s, rel, rellen) != 0)
			continue;
		col = (u_int)rel[s->prefixlen];
		if (rel[s->prefixlen] < s->firstcol ||
		    rel[s->prefixlen] > s->lastcol)
			continue;
		/* The object exists: any other instance is noSuchInstance. */
		if (rellen != s->prefixlen + 1 + s->indexlen) {
			netsnmp_set_request_error(ri, r, SNMP_NOSUCHINSTANCE);
			return;
		}
		n = s->rows();
		row = agent_row_search(s, n, rel + s->prefixlen + 1,
		    s->indexlen, 1);
		if (row < n &&
		    agent_row_cmp(s, row, rel + s->prefixlen + 1,
			s->indexlen) == 0) {
			s->value(row, col, vb);
			return;
		}
		netsnmp_set_request_error(ri, r, SNMP_NOSUCHINSTANCE);
		return;
	}
	netsnmp_set_request_error(ri, r, SNMP_NOSUCHOBJECT);
}

/* The handler of sopObjects: GET and GETNEXT over the snapshot. */
static int
agent_handler_cb(netsnmp_mib_handler *handler,
    netsnmp_handler_registration *reg, netsnmp_agent_request_info *ri,
    netsnmp_request_info *requests)
{
	netsnmp_request_info *r;

	if (agent.sd == NULL)
		return SNMP_ERR_GENERR;
	agent_snapshot_refresh();
	agent_windows_refresh();
	for (r = requests; r != NULL; r = r->next) {
		if (r->processed)
			continue;
		switch (ri->mode) {
		case MODE_GET:
			agent_get(ri, r);
			break;
		case MODE_GETNEXT:
			agent_getnext(r);
			break;
		default:
			netsnmp_set_request_error(ri, r, SNMP_ERR_NOTWRITABLE);
			break;
		}
	}
	return SNMP_ERR_NOERROR;
}

/* Feed one snmpd.conf-style line to net-snmp, read during init_snmp. */
static void
agent_config_line(const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	netsnmp_config_remember(line);
	explicit_bzero(line, strlen(line)); /* may hold a pass phrase */
	free(line);
}

/*
 * A config value as one token-safe line: no control characters, bounded.
 * An empty value leaves net-snmp's built-in default (Debian: sysContact
 * "root", sysLocation "Unknown"): 5.9.3 has no way to say "empty".
 */
static void
agent_config_text(const char *token, const char *value)
{
	char buf[AGENT_TEXT_MAX + 1];
	size_t i, len;

	if (value == NULL || *value == '\0')
		return;
	len = agent_text_len(value, AGENT_TEXT_MAX);
	for (i = 0; i < len; i++)
		buf[i] = iscntrl((u_char)value[i]) ? ' ' : value[i];
	buf[len] = '\0';
	agent_config_line("%s %s", token, buf);
}

/*
 * Whether a community (or user) name can go on a config line: printable,
 * no blanks or quotes, at most 32 octets.
 */
static int
agent_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 32 || !isgraph((u_char)s[i]) || s[i] == '"' ||
		    s[i] == '\'' || s[i] == '#')
			return 0;
	}
	return i > 0;
}

/*
 * Read-only access for each configured community: "name" from any source
 * that reaches the agent's address, "name@source" (an address or
 * network/bits) from that source only. Other communities get no answer.
 */
static void
agent_communities(const struct config *cfg)
{
	char *name, *at;
	size_t i;

	for (i = 0; i < cfg->nagent_communities; i++) {
		name = xstrdup(cfg->agent_communities[i]);
		if ((at = strchr(name, '@')) != NULL)
			*at++ = '\0';
		if (!agent_name_ok(name) || (at != NULL && !agent_name_ok(at)))
			log_warnx("agent: community %zu ignored: not a plain "
				  "name",
			    i + 1);
		else
			agent_config_line("rocommunity %s %s", name,
			    at != NULL ? at : "default");
		free(name);
	}
}

/*
 * A config value as one quoted token: net-snmp's tokenizer takes a
 * backslash before the next character inside quotes.
 */
static char *
agent_quote(const char *s)
{
	char *q, *p;

	q = p = xmalloc(2 * strlen(s) + 3);
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/*
 * The SNMPv3 users of the config (validated there): a USM user each, with
 * read-only access at its level to the system group, snmpEngine and our
 * subtree. Requests at a lower level, or from unknown users, get nothing.
 */
static void
agent_users(const struct config *cfg)
{
	const struct config_snmp_user *u;
	char *ap, *pp;
	size_t i;

	if (cfg->nagent_users == 0)
		return;
	agent_config_line("view sopUserView included .1.3.6.1.2.1.1");
	agent_config_line("view sopUserView included .1.3.6.1.6.3.10.2.1");
	/* SNMPv2-MIB's snmp group and usmStats: errors an NMS polls. */
	agent_config_line("view sopUserView included .1.3.6.1.2.1.11");
	agent_config_line("view sopUserView included .1.3.6.1.6.3.15.1.1");
	agent_config_line("view sopUserView included .1.3.6.1.4.1.%d",
	    AGENT_ENTERPRISE);
	for (i = 0; i < cfg->nagent_users; i++) {
		u = &cfg->agent_users[i];
		ap = agent_quote(u->auth_pass);
		if (u->authpriv) {
			pp = agent_quote(u->priv_pass);
			agent_config_line("createUser %s %s %s %s %s", u->name,
			    u->auth, ap, u->priv, pp);
			explicit_bzero(pp, strlen(pp));
			free(pp);
		} else
			agent_config_line("createUser %s %s %s", u->name,
			    u->auth, ap);
		explicit_bzero(ap, strlen(ap));
		free(ap);
		agent_config_line("rouser -s usm %s %s -V sopUserView", u->name,
		    u->authpriv ? "priv" : "auth");
	}
}

/* The SNMPv2-MIB system group and sysORTable, with values from config. */
static void
agent_system(const struct config *cfg)
{
	char oidbuf[128];

	init_system_mib();
	init_sysORTable();
	init_snmpEngine();
	init_snmp_mib();
	init_usmStats();
	agent_config_line("sysdescr sopd %s syslog and SNMP incident appliance",
	    SOPD_VERSION);
	snprintf(oidbuf, sizeof(oidbuf), ".1.3.6.1.4.1.%d.1.3.1",
	    AGENT_ENTERPRISE);
	agent_config_line("sysobjectid %s", oidbuf);
	agent_config_text("sysname", cfg->sys_name);
	agent_config_text("syscontact", cfg->sys_contact);
	agent_config_text("syslocation", cfg->sys_location);
	agent_config_line("sysservices 72");
}

/*
 * Quiet, minimal master agent: no log line per request, and no SMUX
 * listener (init_master_agent would otherwise bind TCP port 199 on every
 * address and never serve it).
 */
static void
agent_defaults(void)
{
	char nosmux[] = "-smux";

	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_DONT_LOG_TCPWRAPPERS_CONNECTS, 1);
	/*
	 * GETBULK: as many repetitions as fit in the answer (net-snmp
	 * still bounds them by the message size), not net-snmp's 100
	 * varbinds.
	 */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_MAX_GETBULKRESPONSES, -1);
	add_to_init_list(nosmux);
}

/* Register the MIB's handlers, the system group and access control. */
void
agent_register(struct sopd *sd)
{
	oid base[AGENT_MIB_LEN + 1];

	agent.sd = sd;
	agent_defaults();
	memcpy(base, agent_mib_oid, sizeof(agent_mib_oid));
	base[AGENT_MIB_LEN] = 1;
	agent.reg = netsnmp_create_handler_registration("sopObjects",
	    agent_handler_cb, base, AGENT_MIB_LEN + 1, HANDLER_CAN_RONLY);
	if (agent.reg == NULL ||
	    netsnmp_register_handler(agent.reg) != MIB_REGISTERED_OK) {
		log_warnx("agent: cannot register SOP-APPLIANCE-MIB");
		agent.reg = NULL;
	}
	/*
	 * A standalone master answers the system group and checks access
	 * itself; an AgentX subagent leaves both to the master snmpd.
	 */
	if (netsnmp_ds_get_boolean(NETSNMP_DS_APPLICATION_ID,
		NETSNMP_DS_AGENT_ROLE) == 0) { /* 0: master, 1: subagent */
		if (snmp_count_callbacks(SNMP_CALLBACK_APPLICATION,
			SNMPD_CALLBACK_ACM_CHECK) == 0)
			init_vacm_conf();
		agent_system(sd->cfg);
		agent_communities(sd->cfg);
		agent_users(sd->cfg);
	}
	if (register_sysORTable(agent_mib_oid, AGENT_MIB_LEN,
		"SOP-APPLIANCE-MIB: incidents, inputs and windows of sopd") ==
	    0)
		agent.sysor = 1;
}

/* Drop the handlers and the cached rows. */
void
agent_unregister(void)
{
	if (agent.reg != NULL)
		netsnmp_unregister_handler(agent.reg);
	agent.reg = NULL;
	if (agent.sysor)
		unregister_sysORTable(agent_mib_oid, AGENT_MIB_LEN);
	agent.sysor = 0;
	free(agent.snap.rows);
	free(agent.snap.arena);
	memset(&agent.snap, 0, sizeof(agent.snap));
	free(agent.win.rows);
	memset(&agent.win, 0, sizeof(agent.win));
	agent.sd = NULL;
}

/* The last sub-identifier of a notification's OID; 0 if unknown. */
static oid
agent_notification_id(const char *name)
{
	static const char *names[] = { "", "sopIncidentOpened",
		"sopIncidentEscalated", "sopIncidentAcknowledged",
		"sopIncidentResolved", "", "", "", "sopIncidentReminder",
		"sopConfigReloaded" };
	size_t i;

	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i][0] != '\0' && strcmp(name, names[i]) == 0)
			return i;
	}
	return 0;
}

/* The store that keeps the log's next index, or NULL. */
static struct store *
agent_nlog_store(void)
{
	if (agent.sd == NULL || agent.sd->incidents == NULL)
		return NULL;
	return incidents_store(agent.sd->incidents);
}

/*
 * The next log index: after the last run's (read once from the store),
 * reserved there AGENT_NLOG_RESERVE at a time, so an index is never
 * handed out twice even after a crash (some are skipped instead).
 */
static uint32_t
agent_nlog_next(void)
{
	struct store *st = agent_nlog_store();
	int64_t v;
	uint32_t want;

	if (!agent.nlog_loaded && st != NULL) {
		agent.nlog_loaded = 1;
		if (store_get_meta(st, AGENT_NLOG_META, &v) == 0 && v > 0 &&
		    v < UINT32_MAX)
			agent.nlog_next = agent.nlog_reserved = (uint32_t)v;
	}
	if (agent.nlog_next == 0 || agent.nlog_next == UINT32_MAX) {
		/* Start (or wrap) at 1 with an empty log: indexes must grow. */
		agent.nlog_bumped += agent.nlog_n;
		agent.nlog_head = agent.nlog_n = 0;
		agent.nlog_next = 1;
		agent.nlog_reserved = 0;
	}
	if (st != NULL && agent.nlog_next >= agent.nlog_reserved) {
		want = agent.nlog_next > UINT32_MAX - AGENT_NLOG_RESERVE ?
		    UINT32_MAX :
		    agent.nlog_next + AGENT_NLOG_RESERVE;
		if (store_set_meta(st, AGENT_NLOG_META, want) == 0)
			agent.nlog_reserved = want;
		else
			log_warnx("agent: notification log index not stored: "
				  "%s",
			    store_error(st));
	}
	return agent.nlog_next++;
}

/* Copy a string cut to SopText's size. */
static void
agent_text_copy(char *dst, const char *src)
{
	size_t len;

	if (src == NULL)
		src = "";
	len = agent_text_len(src, AGENT_TEXT_MAX);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Log a notice, pending, into the bounded sopNotifLogTable. */
uint32_t
agent_nlog_add(const char *notif, uint64_t incident_id, int severity,
    const char *level, const char *targets, const char *text)
{
	struct agent_nlog *e;
	oid id;
	uint32_t index;

	if (notif == NULL || (id = agent_notification_id(notif)) == 0) {
		log_warnx("agent: unknown notification %s",
		    notif != NULL ? notif : "(null)");
		return 0;
	}
	index = agent_nlog_next();
	if (agent.nlog_n == AGENT_NLOG_MAX) {
		agent.nlog_head = (agent.nlog_head + 1) % AGENT_NLOG_MAX;
		agent.nlog_n--;
		agent.nlog_bumped++;
	}
	e = &agent.nlog[(agent.nlog_head + agent.nlog_n++) % AGENT_NLOG_MAX];
	e->index = index;
	e->time_us = agent_now_us();
	memcpy(e->notif, agent_mib_oid, sizeof(agent_mib_oid));
	e->notif[AGENT_MIB_LEN] = 0;
	e->notif[AGENT_MIB_LEN + 1] = id;
	e->incident = incident_id > UINT32_MAX ? 0 : (uint32_t)incident_id;
	e->severity = agent_severity(severity);
	e->level = agent_level(level);
	e->outcome = AGENT_PENDING;
	agent_text_copy(e->text, text);
	agent_text_copy(e->targets, targets);
	agent.nlog_logged++;
	return index;
}

/* The notices of an incident still in the log, oldest first. */
json_t *
agent_nlog_json(uint64_t incident_id)
{
	static const char *notifs[] = { "", "opened", "escalated",
		"acknowledged", "resolved", "", "", "", "reminder", "reload" };
	static const char *levels[] = { "", "L1", "L2", "L3", "client" };
	static const char *outcomes[] = { "", "pending", "delivered", "partial",
		"failed" };
	const struct agent_nlog *e;
	json_t *a = json_array();
	char at[32];
	struct tm tm;
	time_t t;
	size_t row;
	oid n;

	for (row = 0; row < agent.nlog_n; row++) {
		e = agent_nlog_at(row);
		if (incident_id == 0 || e->incident != incident_id)
			continue;
		t = (time_t)(e->time_us / 1000000);
		if (gmtime_r(&t, &tm) == NULL)
			continue;
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = e->notif[AGENT_MIB_LEN + 1];
		json_array_append_new(a,
		    json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "index",
			(json_int_t)e->index, "at", at, "notification",
			n < sizeof(notifs) / sizeof(notifs[0]) ? notifs[n] : "",
			"level",
			e->level >= 1 && e->level <= 4 ? levels[e->level] : "",
			"targets", e->targets, "outcome",
			e->outcome >= 1 && e->outcome <= 4 ?
			    outcomes[e->outcome] :
			    ""));
	}
	return a;
}

/* A logged notice's targets moved on: its outcome follows. */
void
agent_nlog_outcome(uint32_t index, unsigned delivered, unsigned failed,
    unsigned pending)
{
	oid key = index;
	size_t row;

	if (index == 0 || agent.nlog_n == 0)
		return;
	row = agent_row_search(&agent_sections[agent_nsections - 1],
	    agent.nlog_n, &key, 1, 1);
	if (row >= agent.nlog_n || agent_nlog_at(row)->index != index)
		return; /* bumped out of the log */
	agent.nlog[(agent.nlog_head + row) % AGENT_NLOG_MAX].outcome =
	    pending > 0	   ? AGENT_PENDING :
	    failed == 0	   ? AGENT_DELIVERED :
	    delivered == 0 ? AGENT_FAILED :
			     AGENT_PARTIAL;
}
