/* test_report.c: daily, weekly and monthly reports on a real store, numbers checked exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "incident.h"
#include "policy.h"
#include "report.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "unit.h"

struct fixture {
	char dir[64];
	char *state_dir;
	struct config cfg;
	struct sopd sd;
	struct rule disk, link, fs;
};

/* Seconds since the epoch of an RFC 3339 UTC time. */
static time_t
at(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		fail_msg("bad time %s", s);
	return timegm(&tm);
}

/* A rule built by hand. */
static struct rule
mkrule(const char *name, int severity)
{
	struct rule r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.file = "rules/test.yaml";
	r.line = 1;
	r.action = RULE_INCIDENT;
	r.severity = severity;
	r.title = "{rule} on {host}";
	r.key = "{host}";
	return r;
}

/* Feed n events of host through a rule at t; the incident's id. */
static uint64_t
feed(struct fixture *fx, const struct rule *r, const char *host, time_t t,
    int n)
{
	struct rule_hit hit;
	struct logevent ev;
	int i;

	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.source = EVENT_SYSLOG;
		ev.format = EVENT_FMT_RFC5424;
		ev.transport = "udp";
		ev.received_us = (int64_t)(t + i) * 1000000;
		ev.timestamp_us = ev.received_us;
		ev.host = host;
		ev.peer = "127.0.0.1";
		ev.severity = 3;
		ev.program = "test";
		ev.message = "trouble";
		ev.message_len = strlen(ev.message);
		memset(&hit, 0, sizeof(hit));
		hit.rule = r;
		incidents_event(fx->sd.incidents, &ev, &hit);
	}
	return incidents_active_id(fx->sd.incidents, r->name, host);
}

/* Acknowledge (ack != 0) and resolve (res != 0) at offsets from t. */
static void
work(struct fixture *fx, uint64_t id, time_t t, int ack, int res)
{
	char *err = NULL;

	if (ack != 0) {
		clock_set_fake(t + ack);
		assert_int_equal(incidents_ack(fx->sd.incidents, id, "op", NULL,
				     &err),
		    0);
	}
	if (res != 0) {
		clock_set_fake(t + res);
		assert_int_equal(incidents_resolve(fx->sd.incidents, id, "op",
				     NULL, &err),
		    0);
	}
}

/*
 * November 2026 in Asia/Tokyo (and one incident in October):
 *   A critical disk web1 11-10: ack 10m, resolved 30m   (SLA 1h met)
 *   B critical disk web1 11-11: ack 20m, resolved 2h    (missed)
 *   C high link sw1 11-12: resolved 3h, no ack          (SLA 4h met)
 *   D high link sw1 11-13: 4 events, ack 5m, open       (missed by now)
 *   G high link sw2 11-14: resolved 1h                  (met)
 *   E medium fs web1 Fri 11-20 15:00 JST: resolved Mon 14:00 JST
 *     (71 h on the wall, 8 business hours: 1bd met)
 *   F critical disk db1 10-15: resolved 1h (the previous month)
 */
static void
fill(struct fixture *fx)
{
	time_t t;

	t = at("2026-10-15T01:00:00Z");
	work(fx, feed(fx, &fx->disk, "db1", t, 1), t, 0, 3600);
	t = at("2026-11-10T01:00:00Z");
	work(fx, feed(fx, &fx->disk, "web1", t, 1), t, 600, 1800);
	t = at("2026-11-11T01:00:00Z");
	work(fx, feed(fx, &fx->disk, "web1", t, 1), t, 1200, 7200);
	t = at("2026-11-12T01:00:00Z");
	work(fx, feed(fx, &fx->link, "sw1", t, 1), t, 0, 10800);
	t = at("2026-11-13T01:00:00Z");
	work(fx, feed(fx, &fx->link, "sw1", t, 4), t, 300, 0);
	t = at("2026-11-14T01:00:00Z");
	work(fx, feed(fx, &fx->link, "sw2", t, 1), t, 0, 3600);
	t = at("2026-11-20T06:00:00Z");
	work(fx, feed(fx, &fx->fs, "web1", t, 1), t, 0,
	    at("2026-11-23T05:00:00Z") - t);
	clock_set_fake(at("2026-12-02T00:00:00Z"));
}

/* A store with incidents made by the incidents module, a default policy. */
static int
setup(void **state)
{
	struct fixture *fx;
	char *cause = NULL;

	fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sopd-report-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	if (asprintf(&fx->state_dir, "%s/var", fx->dir) < 0)
		return -1;
	unit_incident_config(&fx->cfg, fx->state_dir);
	memset(&stats, 0, sizeof(stats));
	fx->sd.base = event_base_new();
	fx->sd.incidents = incidents_open(fx->sd.base, &fx->cfg, &cause);
	if (fx->sd.incidents == NULL)
		fail_msg("incidents_open: %s", cause);
	fx->sd.policy = policy_default(calendar_new("Asia/Tokyo", &cause));
	fx->disk = mkrule("disk", SEV_CRITICAL);
	fx->link = mkrule("link", SEV_HIGH);
	fx->fs = mkrule("fs", SEV_MEDIUM);
	fill(fx);
	*state = fx;
	return 0;
}

/* Close everything and remove the state dir. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	clock_clear_fake();
	incidents_close(fx->sd.incidents);
	policy_free(fx->sd.policy);
	event_base_free(fx->sd.base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx->state_dir);
	free(fx);
	return 0;
}

/* The value at a path of object keys ("a.b.c"). */
static json_t *
jget(json_t *o, const char *path)
{
	char buf[256], *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p != NULL && o != NULL;
	     p = strtok_r(NULL, ".", &save))
		o = json_is_array(o) ? json_array_get(o, atoi(p)) :
				       json_object_get(o, p);
	if (o == NULL)
		fail_msg("no %s", path);
	return o;
}

/* The integer at a path. */
static long long
jint(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

/* The string at a path. */
static const char *
jstr(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

/* A report that must build. */
static json_t *
build(struct fixture *fx, int kind, const char *date)
{
	json_t *doc;
	char *err = NULL;

	doc = report_build(&fx->sd, kind, date, &err);
	if (doc == NULL)
		fail_msg("report: %s", err);
	return doc;
}

/* Monthly: SLA met/missed per severity, MTTA/MTTR, trends, recurring. */
static void
test_monthly(void **state)
{
	struct fixture *fx = *state;
	json_t *doc = build(fx, REPORT_MONTHLY, "2026-11-15");

	assert_string_equal(jstr(doc, "month"), "2026-11");
	assert_string_equal(jstr(doc, "period.start"), "2026-10-31T15:00:00Z");
	assert_string_equal(jstr(doc, "period.end"), "2026-11-30T15:00:00Z");
	assert_string_equal(jstr(doc, "period.local_start"),
	    "2026-11-01T00:00:00+09:00");
	assert_true(json_is_true(jget(doc, "period.complete")));
	assert_string_equal(jstr(doc, "sla.critical.deadline"), "1h");
	assert_int_equal(jint(doc, "sla.critical.met"), 1);
	assert_int_equal(jint(doc, "sla.critical.missed"), 1);
	assert_true(json_real_value(
			jget(doc, "sla.critical.achievement_percent")) == 50.0);
	assert_string_equal(jstr(doc, "sla.high.deadline"), "4h");
	assert_int_equal(jint(doc, "sla.high.met"), 2);
	assert_int_equal(jint(doc, "sla.high.missed"), 1);
	assert_int_equal(jint(doc, "sla.high.pending"), 0);
	assert_string_equal(jstr(doc, "sla.medium.deadline"), "1bd");
	assert_true(json_is_true(jget(doc, "sla.medium.business")));
	assert_int_equal(jint(doc, "sla.medium.met"), 1);
	assert_int_equal(jint(doc, "sla.medium.missed"), 0);
	assert_true(json_is_null(jget(doc, "sla.low")));
	assert_int_equal(jint(doc, "sla.total.met"), 4);
	assert_int_equal(jint(doc, "sla.total.missed"), 2);
	assert_true(json_real_value(
			jget(doc, "sla.total.achievement_percent")) == 66.7);
	assert_int_equal(jint(doc, "response.critical.mtta_seconds"), 900);
	assert_int_equal(jint(doc, "response.critical.mttr_seconds"), 4500);
	assert_int_equal(jint(doc, "response.high.acknowledged"), 1);
	assert_int_equal(jint(doc, "response.high.mtta_seconds"), 300);
	assert_int_equal(jint(doc, "response.high.resolved"), 2);
	assert_int_equal(jint(doc, "response.high.mttr_seconds"), 7200);
	assert_true(json_is_null(jget(doc, "response.medium.mtta_seconds")));
	assert_int_equal(jint(doc, "response.medium.mttr_seconds"),
	    at("2026-11-23T05:00:00Z") - at("2026-11-20T06:00:00Z"));
	assert_int_equal(jint(doc, "trends.critical.opened"), 2);
	assert_int_equal(jint(doc, "trends.critical.previous_opened"), 1);
	assert_int_equal(jint(doc, "trends.critical.opened_delta"), 1);
	assert_int_equal(jint(doc, "trends.critical.mttr_delta"), 900);
	assert_true(json_is_null(jget(doc, "trends.high.mttr_delta")));
	assert_int_equal(jint(doc, "trends.total.opened_delta"), 5);
	assert_int_equal(json_array_size(jget(doc, "recurring_hosts")), 1);
	assert_string_equal(jstr(doc, "recurring_hosts.0.host"), "web1");
	assert_int_equal(jint(doc, "recurring_hosts.0.incidents"), 3);
	assert_string_equal(jstr(doc, "recurring_hosts.0.worst"), "critical");
	assert_int_equal(json_array_size(jget(doc, "recurring_rules")), 1);
	assert_string_equal(jstr(doc, "recurring_rules.0.rule"), "link");
	assert_int_equal(jint(doc, "recurring_rules.0.events"), 6);
	json_decref(doc);
}

/* Monthly for October: the previous month alone, MTTR 1 h, SLA met. */
static void
test_monthly_previous(void **state)
{
	struct fixture *fx = *state;
	json_t *doc = build(fx, REPORT_MONTHLY, "2026-10-01");

	assert_int_equal(jint(doc, "sla.critical.met"), 1);
	assert_int_equal(jint(doc, "sla.critical.missed"), 0);
	assert_int_equal(jint(doc, "response.critical.mttr_seconds"), 3600);
	assert_int_equal(jint(doc, "incidents.opened.total"), 1);
	assert_int_equal(json_array_size(jget(doc, "recurring_hosts")), 0);
	json_decref(doc);
}

/* Weekly: ISO week 46, per day, noisiest hosts and rules, windows. */
static void
test_weekly(void **state)
{
	struct fixture *fx = *state;
	struct store *st = incidents_store(fx->sd.incidents);
	struct store_winlog w;
	json_t *doc;

	memset(&w, 0, sizeof(w));
	w.window_id = "patch";
	w.start = at("2026-11-13T11:00:00Z");
	w.end = at("2026-11-13T15:00:00Z");
	w.ended = 1;
	w.record = "{\"kind\": \"patch\", \"opened\": [5], \"resolved\": [], "
		   "\"failed_verification\": [5]}";
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_winlog(st, &w), 0);
	assert_int_equal(store_commit(st), 0);
	doc = build(fx, REPORT_WEEKLY, "2026-11-13");
	assert_string_equal(jstr(doc, "iso_week"), "2026-W46");
	assert_string_equal(jstr(doc, "period.local_start"),
	    "2026-11-09T00:00:00+09:00");
	assert_string_equal(jstr(doc, "period.local_end"),
	    "2026-11-16T00:00:00+09:00");
	assert_int_equal(jint(doc, "incidents.opened.critical"), 2);
	assert_int_equal(jint(doc, "incidents.opened.high"), 3);
	assert_int_equal(jint(doc, "incidents.opened.total"), 5);
	assert_int_equal(jint(doc, "incidents.events"), 8);
	assert_int_equal(json_array_size(jget(doc, "days")), 7);
	assert_string_equal(jstr(doc, "days.0.date"), "2026-11-09");
	assert_int_equal(jint(doc, "days.0.opened.total"), 0);
	assert_int_equal(jint(doc, "days.1.opened.critical"), 1);
	assert_int_equal(jint(doc, "days.5.opened.high"), 1);
	assert_string_equal(jstr(doc, "noisiest_rules.0.rule"), "link");
	assert_int_equal(jint(doc, "noisiest_rules.0.incidents"), 3);
	assert_int_equal(jint(doc, "noisiest_rules.0.events"), 6);
	assert_string_equal(jstr(doc, "noisiest_hosts.0.host"), "sw1");
	assert_int_equal(jint(doc, "noisiest_hosts.0.events"), 5);
	assert_int_equal(json_array_size(jget(doc, "windows")), 1);
	assert_string_equal(jstr(doc, "windows.0.outcome"), "failed");
	assert_string_equal(jstr(doc, "windows.0.kind"), "patch");
	assert_int_equal(jint(doc, "windows.0.failed_verifications"), 1);
	assert_string_equal(jstr(doc, "windows.0.failed.0.host"), "sw1");
	assert_int_equal(jint(doc, "windows.0.failed.0.id"), 5);
	assert_string_equal(jstr(doc, "windows.0.failed.0.severity"), "high");
	json_decref(doc);
}

/* Daily: opened, resolved, active at the day's end, server state. */
static void
test_daily(void **state)
{
	struct fixture *fx = *state;
	json_t *doc = build(fx, REPORT_DAILY, "2026-11-13");

	assert_string_equal(jstr(doc, "period.start"), "2026-11-12T15:00:00Z");
	assert_int_equal(jint(doc, "incidents.opened.high"), 1);
	assert_int_equal(jint(doc, "incidents.opened.total"), 1);
	assert_int_equal(jint(doc, "incidents.resolved.total"), 0);
	assert_int_equal(jint(doc, "incidents.active_at_end.high"), 1);
	assert_int_equal(jint(doc, "incidents.active_at_end.total"), 1);
	assert_int_equal(jint(doc, "servers.hosts_with_incidents"), 1);
	assert_string_equal(jstr(doc, "servers.top_hosts.0.host"), "sw1");
	assert_int_equal(jint(doc, "servers.top_hosts.0.active"), 1);
	assert_int_equal(jint(doc, "servers.top_hosts.0.events"), 4);
	assert_int_equal(json_array_size(jget(doc, "backups.hosts")), 0);
	json_decref(doc);
	/* 2026-11-12 JST: C opened 10:00 and resolved 13:00. */
	doc = build(fx, REPORT_DAILY, "2026-11-12");
	assert_int_equal(jint(doc, "incidents.opened.high"), 1);
	assert_int_equal(jint(doc, "incidents.resolved.high"), 1);
	assert_int_equal(jint(doc, "incidents.active_at_end.total"), 0);
	json_decref(doc);
}

/* Without a date: the day before now in the calendar's zone. */
static void
test_default_date(void **state)
{
	struct fixture *fx = *state;
	json_t *doc;

	clock_set_fake(at("2026-12-01T16:00:00Z")); /* 12-02 01:00 JST */
	doc = build(fx, REPORT_DAILY, NULL);
	assert_string_equal(jstr(doc, "date"), "2026-12-01");
	assert_true(json_is_true(jget(doc, "period.complete")));
	json_decref(doc);
	doc = build(fx, REPORT_DAILY, "2026-12-02");
	assert_true(json_is_false(jget(doc, "period.complete")));
	json_decref(doc);
}

/* Bad dates are refused. */
static void
test_bad_dates(void **state)
{
	struct fixture *fx = *state;
	const char *bad[] = { "2026-02-30", "2026-13-01", "2026-1-01",
		"20261101", "2026-11-01x", "", "1969-12-31", "2026-11-00",
		" 2026-11-01" };
	char *err = NULL;
	size_t i;
	int y, m, d;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(report_parse_date(bad[i], &y, &m, &d), -1);
		assert_null(report_build(&fx->sd, REPORT_DAILY, bad[i], &err));
		assert_non_null(err);
		free(err);
		err = NULL;
	}
	assert_int_equal(report_parse_date("2028-02-29", &y, &m, &d), 0);
	assert_int_equal(report_kind_from_name("yearly"), -1);
	assert_int_equal(report_kind_from_name("weekly"), REPORT_WEEKLY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_monthly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monthly_previous, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_weekly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daily, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_date, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_dates, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
