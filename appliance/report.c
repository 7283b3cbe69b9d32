/*
 * report.c: the SOP's daily, weekly and monthly reports (SOP 5.1), built
 * from aggregate queries on the store and the live expectation state.
 */
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "clock.h"
#include "daemon.h"
#include "expect.h"
#include "incident.h"
#include "log.h"
#include "policy.h"
#include "rules.h"
#include "store.h"
#include "store_report.h"
#include "winset.h"
#include "xmalloc.h"

static const char *report_kinds[] = { "daily", "weekly", "monthly" };

/* One report being built. */
struct report {
	struct sopd *sd;
	struct store *st;
	const struct calendar *cal;
	time_t now;
	int kind;
	int y, m, d;	   /* the date asked for */
	time_t start, end; /* the local period [start, end) */
	int failed;	   /* a query failed */
};

/* A top list being filled: the first column a name, the rest numbers. */
struct report_top {
	json_t *list;
	const char **cols;
	int ncols;
};

/* A report kind by name; -1 if unknown. */
int
report_kind_from_name(const char *s)
{
	int i;

	for (i = 0; i < (int)(sizeof(report_kinds) / sizeof(report_kinds[0]));
	     i++) {
		if (s != NULL && strcmp(s, report_kinds[i]) == 0)
			return i;
	}
	return -1;
}

/* The name of a report kind. */
const char *
report_kind_name(int kind)
{
	if (kind < REPORT_DAILY || kind > REPORT_MONTHLY)
		return NULL;
	return report_kinds[kind];
}

/* Move a date by days (proleptic Gregorian); *wday gets its weekday. */
static void
report_shift(int *y, int *m, int *d, int days, int *wday)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = *y - 1900;
	tm.tm_mon = *m - 1;
	tm.tm_mday = *d + days;
	tm.tm_hour = 12;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
	if (wday != NULL)
		*wday = tm.tm_wday;
}

/* Parse a strict YYYY-MM-DD date that exists. */
int
report_parse_date(const char *s, int *y, int *m, int *d)
{
	int yy, mm, dd, i, wday;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	}
	yy = atoi(s);
	mm = atoi(s + 5);
	dd = atoi(s + 8);
	if (yy < 1970 || mm < 1 || mm > 12 || dd < 1 || dd > 31)
		return -1;
	*y = yy;
	*m = mm;
	*d = dd;
	report_shift(y, m, d, 0, &wday);
	if (*y != yy || *m != mm || *d != dd)
		return -1; /* 2026-02-30 and the like */
	return 0;
}

/* Local midnight starting a date (days later), in the calendar's zone. */
static time_t
report_midnight(const struct calendar *cal, int y, int m, int d, int days)
{
	struct tm tm;

	report_shift(&y, &m, &d, days, NULL);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	return calendar_mktime(cal, &tm);
}

/* An instant as RFC 3339 UTC, or null for 0. */
static json_t *
report_utc(time_t t)
{
	struct tm tm;
	char buf[32];

	if (t == 0)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* An instant as RFC 3339 local time with the zone's offset. */
static json_t *
report_local(const struct calendar *cal, time_t t)
{
	struct tm tm;
	char buf[96];
	long off = calendar_utcoff(cal, t);

	calendar_localtime(cal, t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 3600,
	    labs(off) % 3600 / 60);
	return json_string(buf);
}

/* A date as "YYYY-MM-DD". */
static json_t *
report_date(int y, int m, int d)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y % 10000, m % 100,
	    d % 100);
	return json_string(buf);
}

/* The end of what is known: the period's end, or now if it is not over. */
static time_t
report_until(const struct report *rp)
{
	return rp->end < rp->now ? rp->end : rp->now;
}

/* A query's outcome; a failure marks the report failed. */
static void
report_check(struct report *rp, int rc)
{
	if (rc != 0)
		rp->failed = 1;
}

/* The period [start, end), active incidents as of the end of what is known. */
static struct store_period
report_span(const struct report *rp, time_t start, time_t end)
{
	struct store_period pd;

	pd.start = start;
	pd.end = end;
	/* An incident opened this very second is active now. */
	pd.at = end < rp->now + 1 ? end : rp->now + 1;
	return pd;
}

/* A {critical: 0, ..., info: 0, total: 0} object. */
static json_t *
report_sev_zero(void)
{
	json_t *o = json_object();
	int i;

	for (i = 0; i < SEV_MAX; i++)
		json_object_set_new(o, severity_name(i), json_integer(0));
	json_object_set_new(o, "total", json_integer(0));
	return o;
}

/* One (severity, count) row into a per-severity object. */
static int
report_sev_cb(const struct store_qrow *q, void *arg)
{
	json_t *o = arg;
	json_int_t total;

	if (q->text[0] == NULL || json_object_get(o, q->text[0]) == NULL)
		return 0;
	json_object_set_new(o, q->text[0], json_integer(q->num[1]));
	total = json_integer_value(json_object_get(o, "total"));
	json_object_set_new(o, "total", json_integer(total + q->num[1]));
	return 0;
}

/* Count a set of incidents of [start, end) per severity. */
static json_t *
report_sev_count(struct report *rp, enum store_report_set set, time_t start,
    time_t end)
{
	struct store_period pd = report_span(rp, start, end);
	json_t *o = report_sev_zero();

	report_check(rp,
	    store_report_severities(rp->st, &pd, set, report_sev_cb, o));
	return o;
}

/* A single number of the report's period. */
static int64_t
report_num(struct report *rp, enum store_report_num what)
{
	struct store_period pd = report_span(rp, rp->start, rp->end);
	int64_t n = 0;

	report_check(rp, store_report_count(rp->st, &pd, what, &n));
	return n;
}

/* One row of a top list: a name, then numbers ("worst": a severity). */
static int
report_top_cb(const struct store_qrow *q, void *arg)
{
	struct report_top *t = arg;
	json_t *o = json_object();
	int i;

	json_object_set_new(o, t->cols[0],
	    q->text[0] != NULL ? json_string(q->text[0]) : json_null());
	for (i = 1; i < t->ncols && i < q->ncol; i++) {
		if (strcmp(t->cols[i], "worst") == 0)
			json_object_set_new(o, "worst",
			    json_string(severity_name((int)q->num[i])));
		else
			json_object_set_new(o, t->cols[i],
			    json_integer(q->num[i]));
	}
	if (json_object_get(o, t->cols[0]) == NULL)
		json_decref(o); /* a name that is not UTF-8 text */
	else
		json_array_append_new(t->list, o);
	return 0;
}

/* An empty top list with named columns. */
static void
report_top_init(struct report_top *t, const char **cols, int ncols)
{
	t->list = json_array();
	t->cols = cols;
	t->ncols = ncols;
}

/* Hosts or rules of incidents opened in the period, by events or count. */
static json_t *
report_noisy(struct report *rp, const char *what, int min, int limit)
{
	static const char *hcols[] = { "host", "incidents", "events", "worst" };
	static const char *rcols[] = { "rule", "incidents", "events", "worst" };
	struct store_period pd = report_span(rp, rp->start, rp->end);
	struct report_top t;
	int by_rule = strcmp(what, "host") != 0;

	report_top_init(&t, by_rule ? rcols : hcols, 4);
	report_check(rp,
	    store_report_noisy(rp->st, &pd, by_rule, min, limit, report_top_cb,
		&t));
	return t.list;
}

/* The period's header: kind, date, zone and bounds. */
static json_t *
report_header(struct report *rp)
{
	json_t *period;

	period = json_pack("{s:o, s:o, s:o, s:o, s:b}", "start",
	    report_utc(rp->start), "end", report_utc(rp->end), "local_start",
	    report_local(rp->cal, rp->start), "local_end",
	    report_local(rp->cal, rp->end), "complete", rp->end <= rp->now);
	return json_pack("{s:s, s:o, s:s, s:o, s:o}", "report",
	    report_kind_name(rp->kind), "date",
	    report_date(rp->y, rp->m, rp->d), "timezone",
	    calendar_tzname(rp->cal), "period", period, "generated_at",
	    report_utc(rp->now));
}

/* What happened to incidents in the period, by severity. */
static json_t *
report_incidents(struct report *rp)
{
	time_t until = report_until(rp);

	return json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I}", "opened",
	    report_sev_count(rp, STORE_REPORT_OPENED, rp->start, rp->end),
	    "resolved",
	    report_sev_count(rp, STORE_REPORT_RESOLVED, rp->start, rp->end),
	    "active_at_end",
	    report_sev_count(rp, STORE_REPORT_ACTIVE, rp->start, rp->end),
	    "active_at", report_utc(until), "events",
	    (json_int_t)report_num(rp, STORE_REPORT_EVENTS), "escalations",
	    (json_int_t)report_num(rp, STORE_REPORT_ESCALATIONS),
	    "failed_verifications",
	    (json_int_t)report_num(rp, STORE_REPORT_FAILED));
}

/* Server state: hosts with incidents opened in the day or active at its end. */
static json_t *
report_servers(struct report *rp)
{
	static const char *cols[] = { "host", "incidents", "active", "events",
		"worst" };
	struct store_period pd = report_span(rp, rp->start, rp->end);
	struct report_top t;
	int64_t n;

	n = report_num(rp, STORE_REPORT_HOSTS);
	report_top_init(&t, cols, 5);
	report_check(rp,
	    store_report_hosts(rp->st, &pd, REPORT_TOP, report_top_cb, &t));
	return json_pack("{s:I, s:o}", "hosts_with_incidents", (json_int_t)n,
	    "top_hosts", t.list);
}

/*
 * The record of an expectation's day (kept by expect.c in the meta table
 * as expect.day:RULE:HOST:YYYY-MM-DD); NULL when the day has none.
 */
const char *
report_backup_record(struct store *st, json_t *x, int y, int m, int d)
{
	static const char *const names[] = { "pending", "ok", "late", "missing",
		"failed", "rerun_ok" };
	const char *rule, *host;
	char name[512];
	int64_t v;

	rule = json_string_value(json_object_get(x, "rule"));
	host = json_string_value(json_object_get(x, "host"));
	if (st == NULL || rule == NULL || host == NULL)
		return NULL;
	snprintf(name, sizeof(name), "expect.day:%s:%s:%04d-%02d-%02d", rule,
	    host, y, m, d);
	if (store_get_meta(st, name, &v) != 0 || v < 0 || v > 5)
		return NULL;
	return names[v];
}

/*
 * Backup status per host: the record of the report's day (ok, late,
 * missing, failed, rerun_ok), not the state when the report is read;
 * for the day still running without a record yet, the live state.
 */
static json_t *
report_backups(struct report *rp, json_t *status)
{
	json_t *out = json_object(), *hosts = json_array(), *x, *c;
	const char *state;
	size_t i;

	json_object_set_new(out, "ok", json_integer(0));
	json_object_set_new(out, "pending", json_integer(0));
	json_object_set_new(out, "missing", json_integer(0));
	json_object_set_new(out, "late", json_integer(0));
	json_object_set_new(out, "failed", json_integer(0));
	json_object_set_new(out, "rerun_ok", json_integer(0));
	json_object_set_new(out, "none", json_integer(0));
	json_array_foreach(json_object_get(status, "expectations"), i, x)
	{
		if ((state = report_backup_record(rp->st, x, rp->y, rp->m,
			 rp->d)) == NULL)
			state = rp->end > rp->now ?
			    json_string_value(json_object_get(x, "state")) :
			    "none";
		if (state != NULL && (c = json_object_get(out, state)) != NULL)
			json_integer_set(c, json_integer_value(c) + 1);
		json_array_append_new(hosts,
		    json_pack("{s:O?, s:O?, s:s?, "
			      "s:O?, s:O?}",
			"rule", json_object_get(x, "rule"), "host",
			json_object_get(x, "host"), "state", state,
			"last_arrival", json_object_get(x, "last_arrival"),
			"last_deadline", json_object_get(x, "last_deadline")));
	}
	json_object_set_new(out, "hosts", hosts);
	return out;
}

/* Silent hosts: the silent-host rules' live state. */
static json_t *
report_silent(json_t *status)
{
	json_t *out = json_array(), *sr, *h;
	size_t i, j;

	json_array_foreach(json_object_get(status, "silent"), i, sr)
	{
		json_array_foreach(json_object_get(sr, "hosts"), j, h)
		{
			if (json_string_value(json_object_get(h, "state")) ==
				NULL ||
			    strcmp(json_string_value(
				       json_object_get(h, "state")),
				"silent") != 0)
				continue;
			json_array_append_new(out,
			    json_pack("{s:O?, s:O?, "
				      "s:O?, s:O?}",
				"rule", json_object_get(sr, "rule"), "host",
				json_object_get(h, "host"), "last_heard",
				json_object_get(h, "last_heard"), "silent_at",
				json_object_get(h, "silent_at")));
		}
	}
	return out;
}

/* The daily report: incidents, server state, backups, silent hosts. */
static void
report_daily(struct report *rp, json_t *doc)
{
	json_t *status = NULL;

	if (rp->sd->expect != NULL)
		status = expect_status_json(rp->sd->expect);
	json_object_set_new(doc, "incidents", report_incidents(rp));
	json_object_set_new(doc, "servers", report_servers(rp));
	json_object_set_new(doc, "backups", report_backups(rp, status));
	json_object_set_new(doc, "silent_hosts", report_silent(status));
	json_object_set_new(doc, "live_state_at", report_utc(rp->now));
	json_decref(status);
}

/* Incidents opened on each local day of the week, by severity. */
static json_t *
report_days(struct report *rp, int y, int m, int d)
{
	json_t *days = json_array();
	time_t a, b;
	int i, yy, mm, dd;

	for (i = 0; i < 7; i++) {
		a = report_midnight(rp->cal, y, m, d, i);
		b = report_midnight(rp->cal, y, m, d, i + 1);
		yy = y;
		mm = m;
		dd = d;
		report_shift(&yy, &mm, &dd, i, NULL);
		json_array_append_new(days,
		    json_pack("{s:o, s:o}", "date", report_date(yy, mm, dd),
			"opened",
			report_sev_count(rp, STORE_REPORT_OPENED, a, b)));
	}
	return days;
}

/* One window occurrence row, its record parsed. */
static int
report_winlog_cb(const struct store_qrow *q, void *arg)
{
	json_t *rec;

	rec = q->text[4] != NULL ? json_loads(q->text[4], 0, NULL) : NULL;
	if (!json_is_object(rec)) {
		json_decref(rec);
		rec = json_object();
	}
	json_array_append_new(arg,
	    json_pack("{s:s?, s:I, s:I, s:b, s:o}", "id", q->text[0], "start",
		(json_int_t)q->num[1], "end", (json_int_t)q->num[2], "ended",
		q->num[3] != 0, "record", rec));
	return 0;
}

/* The incidents of a failed verification, with their hosts. */
static json_t *
report_failed(struct report *rp, json_t *ids)
{
	static const char *cols[] = { "host", "id", "worst" };
	struct report_top t;
	char *text;
	size_t i;
	json_t *o;

	report_top_init(&t, cols, 3);
	if (json_array_size(ids) == 0 ||
	    (text = json_dumps(ids, JSON_COMPACT)) == NULL)
		return t.list;
	report_check(rp,
	    store_report_incidents(rp->st, text, REPORT_FAILED_MAX,
		report_top_cb, &t));
	free(text);
	json_array_foreach(t.list, i, o)
	{
		json_object_set(o, "severity", json_object_get(o, "worst"));
		json_object_del(o, "worst");
	}
	return t.list;
}

/* One window occurrence of the week with its outcome. */
static json_t *
report_window(struct report *rp, json_t *occ)
{
	json_t *rec = json_object_get(occ, "record"), *failed;
	struct win *w = NULL;
	const char *id = json_string_value(json_object_get(occ, "id"));
	size_t nfailed;
	int ended = json_is_true(json_object_get(occ, "ended"));

	if (rp->sd->windows != NULL && id != NULL)
		w = winset_find(rp->sd->windows, id);
	failed = json_object_get(rec, "failed_verification");
	nfailed = json_array_size(failed);
	return json_pack("{s:O?, s:s?, s:O?, s:o, s:o, s:b, s:I, s:I, s:I, "
			 "s:s, s:o}",
	    "id", json_object_get(occ, "id"), "title",
	    w != NULL ? w->title : NULL, "kind", json_object_get(rec, "kind"),
	    "start",
	    report_utc(json_integer_value(json_object_get(occ, "start"))),
	    "end", report_utc(json_integer_value(json_object_get(occ, "end"))),
	    "ended", ended, "opened",
	    (json_int_t)json_array_size(json_object_get(rec, "opened")),
	    "resolved",
	    (json_int_t)json_array_size(json_object_get(rec, "resolved")),
	    "failed_verifications", (json_int_t)nfailed, "outcome",
	    !ended	    ? "in progress" :
		nfailed > 0 ? "failed" :
			      "ok",
	    "failed", report_failed(rp, failed));
}

/* Patch and change window occurrences that overlap the period. */
static json_t *
report_windows(struct report *rp)
{
	struct store_period pd = report_span(rp, rp->start, rp->end);
	json_t *occs = json_array(), *out = json_array(), *o;
	size_t i;

	report_check(rp,
	    store_report_windows(rp->st, &pd, REPORT_WINDOWS_MAX,
		report_winlog_cb, occs));
	json_array_foreach(occs, i, o)
	    json_array_append_new(out, report_window(rp, o));
	json_decref(occs);
	return out;
}

/* The weekly report: noisiest hosts and rules, per day, windows. */
static void
report_weekly(struct report *rp, json_t *doc, int y, int m, int d)
{
	struct tm tm;
	char week[16];

	calendar_localtime(rp->cal, rp->start + 12 * 3600, &tm);
	strftime(week, sizeof(week), "%G-W%V", &tm);
	json_object_set_new(doc, "iso_week", json_string(week));
	json_object_set_new(doc, "incidents", report_incidents(rp));
	json_object_set_new(doc, "days", report_days(rp, y, m, d));
	json_object_set_new(doc, "noisiest_hosts",
	    report_noisy(rp, "host", 1, REPORT_TOP));
	json_object_set_new(doc, "noisiest_rules",
	    report_noisy(rp, "rule", 1, REPORT_TOP));
	json_object_set_new(doc, "windows", report_windows(rp));
}

/* The step whose due time is a severity's SLA deadline; -1 if none. */
static int
report_sla_step(const struct policy *pol, int sev)
{
	const struct policy_step *ps;
	int i;

	for (i = policy_nsteps(pol, sev) - 1; i >= 0; i--) {
		ps = policy_step(pol, sev, i);
		if (ps->unless_acked)
			continue;
		if (ps->secs > 0 || ps->bdays > 0)
			return i;
		return -1;
	}
	return -1;
}

/* SLA counts being summed in C (business deadlines). */
struct report_sla {
	const struct policy *pol;
	int sev, step;
	time_t now;
	int64_t n, met, missed;
	int truncated;
};

/* One incident against a business-time deadline. */
static int
report_sla_cb(const struct store_qrow *q, void *arg)
{
	struct report_sla *s = arg;
	time_t due;

	if (s->n == REPORT_SLA_ROWS) {
		s->truncated = 1;
		return 1;
	}
	s->n++;
	due = policy_due(s->pol, s->sev, s->step, (time_t)q->num[0]);
	if (q->text[1] != NULL && q->num[1] <= due)
		s->met++;
	else if (q->text[1] != NULL || due <= s->now)
		s->missed++;
	return 0;
}

/* Wall-clock deadlines: the counts in one aggregate query. */
static int
report_sla_wall_cb(const struct store_qrow *q, void *arg)
{
	struct report_sla *s = arg;

	s->n = q->num[0];
	s->met = q->num[1];
	s->missed = q->num[2];
	return 1;
}

/* Achievement in percent with one decimal, null without a verdict. */
static json_t *
report_percent(int64_t met, int64_t missed)
{
	int64_t tenths;

	if (met + missed == 0)
		return json_null();
	tenths = (1000 * met + (met + missed) / 2) / (met + missed);
	return json_real((double)tenths / 10.0);
}

/* SLA of one severity: incidents opened in the month against its deadline. */
static json_t *
report_sla_sev(struct report *rp, const struct policy *pol, int sev,
    int64_t *met, int64_t *missed)
{
	const struct policy_step *ps;
	struct store_period pd = report_span(rp, rp->start, rp->end);
	struct report_sla s;

	memset(&s, 0, sizeof(s));
	s.pol = pol;
	s.sev = sev;
	s.now = rp->now;
	if ((s.step = report_sla_step(pol, sev)) == -1)
		return json_null();
	ps = policy_step(pol, sev, s.step);
	pd.at = rp->now; /* deadlines passed by now are missed */
	if (!ps->business)
		report_check(rp,
		    store_report_sla(rp->st, &pd, severity_name(sev), ps->secs,
			report_sla_wall_cb, &s));
	else
		report_check(rp,
		    store_report_sla_rows(rp->st, &pd, severity_name(sev),
			REPORT_SLA_ROWS + 1, report_sla_cb, &s));
	*met += s.met;
	*missed += s.missed;
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:o, s:b}", "deadline",
	    ps->text, "business", ps->business, "incidents", (json_int_t)s.n,
	    "met", (json_int_t)s.met, "missed", (json_int_t)s.missed, "pending",
	    (json_int_t)(s.n - s.met - s.missed), "achievement_percent",
	    report_percent(s.met, s.missed), "truncated", s.truncated);
}

/* SLA achievement per severity and in total. */
static json_t *
report_sla(struct report *rp)
{
	const struct policy *pol = rp->sd->policy;
	json_t *o = json_object();
	int64_t met = 0, missed = 0;
	int sev;

	for (sev = 0; sev < SEV_MAX && pol != NULL; sev++)
		json_object_set_new(o, severity_name(sev),
		    report_sla_sev(rp, pol, sev, &met, &missed));
	json_object_set_new(o, "total",
	    json_pack("{s:I, s:I, s:o}", "met", (json_int_t)met, "missed",
		(json_int_t)missed, "achievement_percent",
		report_percent(met, missed)));
	return o;
}

/* One severity's response times (NULL columns: no such incident). */
static int
report_times_cb(const struct store_qrow *q, void *arg)
{
	json_t *o = arg;

	if (q->text[0] == NULL || json_object_get(o, q->text[0]) == NULL)
		return 0;
	json_object_set_new(o, q->text[0],
	    json_pack("{s:I, s:I, s:o, s:I, "
		      "s:o}",
		"incidents", (json_int_t)q->num[1], "acknowledged",
		(json_int_t)q->num[2], "mtta_seconds",
		q->text[3] != NULL ? json_integer(q->num[3]) : json_null(),
		"resolved", (json_int_t)q->num[4], "mttr_seconds",
		q->text[5] != NULL ? json_integer(q->num[5]) : json_null()));
	return 0;
}

/* Mean times to acknowledge and resolve per severity, opened in [a, b). */
static json_t *
report_times(struct report *rp, time_t a, time_t b)
{
	struct store_period pd = report_span(rp, a, b);
	json_t *o = json_object();
	int i;

	for (i = 0; i < SEV_MAX; i++)
		json_object_set_new(o, severity_name(i),
		    json_pack("{s:i, s:i, "
			      "s:n, s:i, s:n}",
			"incidents", 0, "acknowledged", 0, "mtta_seconds",
			"resolved", 0, "mttr_seconds"));
	report_check(rp, store_report_times(rp->st, &pd, report_times_cb, o));
	return o;
}

/* A difference of two JSON integers, null if either is null. */
static json_t *
report_delta(json_t *a, json_t *b)
{
	if (!json_is_integer(a) || !json_is_integer(b))
		return json_null();
	return json_integer(json_integer_value(a) - json_integer_value(b));
}

/* Trends against the previous month: counts and MTTR per severity. */
static json_t *
report_trends(json_t *opened, json_t *prev_opened, json_t *times,
    json_t *prev_times)
{
	json_t *o = json_object(), *a, *b, *ta, *tb;
	const char *k;
	int i;

	for (i = 0; i <= SEV_MAX; i++) {
		k = i < SEV_MAX ? severity_name(i) : "total";
		a = json_object_get(opened, k);
		b = json_object_get(prev_opened, k);
		ta = json_object_get(json_object_get(times, k), "mttr_seconds");
		tb = json_object_get(json_object_get(prev_times, k),
		    "mttr_seconds");
		json_object_set_new(o, k,
		    json_pack("{s:O, s:O, s:o, s:O*, "
			      "s:O*, s:o*}",
			"opened", a, "previous_opened", b, "opened_delta",
			report_delta(a, b), "mttr_seconds",
			i < SEV_MAX ? (ta ? ta : json_null()) : NULL,
			"previous_mttr_seconds",
			i < SEV_MAX ? (tb ? tb : json_null()) : NULL,
			"mttr_delta",
			i < SEV_MAX ? report_delta(ta, tb) : NULL));
	}
	return o;
}

/* The monthly report: SLA, response times, trends, recurring hosts and rules. */
static void
report_monthly(struct report *rp, json_t *doc)
{
	json_t *opened, *prev, *times, *prev_times;
	time_t pstart;
	char month[16];

	pstart = report_midnight(rp->cal, rp->m == 1 ? rp->y - 1 : rp->y,
	    rp->m == 1 ? 12 : rp->m - 1, 1, 0);
	snprintf(month, sizeof(month), "%04d-%02d", rp->y % 10000, rp->m);
	json_object_set_new(doc, "month", json_string(month));
	json_object_set_new(doc, "incidents", report_incidents(rp));
	opened = json_object_get(json_object_get(doc, "incidents"), "opened");
	prev = report_sev_count(rp, STORE_REPORT_OPENED, pstart, rp->start);
	json_object_set_new(doc, "sla", report_sla(rp));
	times = report_times(rp, rp->start, rp->end);
	prev_times = report_times(rp, pstart, rp->start);
	json_object_set_new(doc, "response", times);
	json_object_set_new(doc, "trends",
	    report_trends(opened, prev, times, prev_times));
	json_object_set_new(doc, "previous_period",
	    json_pack("{s:o, s:o}", "start", report_utc(pstart), "end",
		report_utc(rp->start)));
	json_object_set_new(doc, "recurring_hosts",
	    report_noisy(rp, "host", REPORT_RECURRING, REPORT_RECURRING_MAX));
	json_object_set_new(doc, "recurring_rules",
	    report_noisy(rp, "rule", REPORT_RECURRING, REPORT_RECURRING_MAX));
	json_decref(prev);
	json_decref(prev_times);
}

/* Set the period from the kind and the date. */
static void
report_period(struct report *rp, int *wy, int *wm, int *wd)
{
	int wday;

	*wy = rp->y;
	*wm = rp->m;
	*wd = rp->d;
	switch (rp->kind) {
	case REPORT_DAILY:
		rp->start = report_midnight(rp->cal, rp->y, rp->m, rp->d, 0);
		rp->end = report_midnight(rp->cal, rp->y, rp->m, rp->d, 1);
		break;
	case REPORT_WEEKLY:
		report_shift(wy, wm, wd, 0, &wday);
		report_shift(wy, wm, wd, -((wday + 6) % 7), NULL);
		rp->start = report_midnight(rp->cal, *wy, *wm, *wd, 0);
		rp->end = report_midnight(rp->cal, *wy, *wm, *wd, 7);
		break;
	default:
		rp->start = report_midnight(rp->cal, rp->y, rp->m, 1, 0);
		rp->end =
		    report_midnight(rp->cal, rp->m == 12 ? rp->y + 1 : rp->y,
			rp->m == 12 ? 1 : rp->m + 1, 1, 0);
		break;
	}
}

/* Set up a report: store, calendar, now and the date (default yesterday). */
static int
report_init(struct report *rp, struct sopd *sd, int kind, const char *date,
    char **err)
{
	struct tm tm;

	memset(rp, 0, sizeof(*rp));
	rp->sd = sd;
	rp->kind = kind;
	rp->now = clock_now();
	if (report_kind_name(kind) == NULL || sd->incidents == NULL ||
	    sd->policy == NULL) {
		xasprintf(err, "reports are not available");
		return -1;
	}
	rp->cal = policy_calendar(sd->policy);
	rp->st = incidents_store(sd->incidents);
	if (date != NULL) {
		if (report_parse_date(date, &rp->y, &rp->m, &rp->d) != 0) {
			xasprintf(err, "invalid date (want YYYY-MM-DD)");
			return -1;
		}
		return 0;
	}
	calendar_localtime(rp->cal, rp->now, &tm);
	rp->y = tm.tm_year + 1900;
	rp->m = tm.tm_mon + 1;
	rp->d = tm.tm_mday;
	report_shift(&rp->y, &rp->m, &rp->d, -1, NULL);
	return 0;
}

/* Build a daily, weekly or monthly report as JSON. */
json_t *
report_build(struct sopd *sd, int kind, const char *date, char **err)
{
	struct report rp;
	json_t *doc;
	int wy, wm, wd;

	*err = NULL;
	if (report_init(&rp, sd, kind, date, err) != 0)
		return NULL;
	report_period(&rp, &wy, &wm, &wd);
	/* Changes batched for the next commit belong in the report. */
	incidents_flush(sd->incidents);
	doc = report_header(&rp);
	if (kind == REPORT_DAILY)
		report_daily(&rp, doc);
	else if (kind == REPORT_WEEKLY)
		report_weekly(&rp, doc, wy, wm, wd);
	else
		report_monthly(&rp, doc);
	if (rp.failed) {
		json_decref(doc);
		xasprintf(err, "report query failed: %s", store_error(rp.st));
		return NULL;
	}
	return doc;
}
