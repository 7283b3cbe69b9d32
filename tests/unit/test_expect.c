/* test_expect.c: expect and silent rules: parsing, deadlines, late arrivals, restarts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "event.h"
#include "expect.h"
#include "incident.h"
#include "policy.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "yamlnode.h"

/* 2026-11-27 (a Friday) 00:00 in Asia/Tokyo. */
#define DAY0 1795705200LL
#define H    3600LL

struct fx {
	char dir[64];
	struct config *cfg;
	struct ruleset *rs;
	struct calendar *cal;
	struct deadlines *dq;
	struct incidents *is;
	struct expect *ex;
};

static const char *rules_text =
    "host_groups:\n"
    "  backup-hosts: [backup-1, backup-2]\n"
    "rules:\n"
    "  - name: backup-completed\n"
    "    expect:\n"
    "      match: { program: backupd, message: 'backup completed' }\n"
    "      hosts: { group: backup-hosts }\n"
    "      by: \"10:00\"\n"
    "      since: \"00:00\"\n"
    "      failed: [backup-failed]\n"
    "    title: \"Backup from {host} missing at {deadline}\"\n"
    "  - name: weekly\n"
    "    expect:\n"
    "      match: { program: report, message: done }\n"
    "      hosts: [rep-1]\n"
    "      by: \"mon 09:00\"\n"
    "      every: week\n"
    "  - name: workday\n"
    "    expect:\n"
    "      match: { program: batch, message: done }\n"
    "      hosts: [batch-1]\n"
    "      by: \"10:00\"\n"
    "      every: weekday\n"
    "  - name: quiet\n"
    "    silent: { hosts: [\"sw-*\"], after: 30m }\n"
    "    severity: medium\n"
    "  - name: backup-failed\n"
    "    match: { program: backupd, message: 'backup failed' }\n"
    "    severity: high\n"
    "    key: \"{host}\"\n";

/* Write a file under the fixture's directory. */
static void
fx_write(struct fx *f, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* The deadline dispatcher of the tests. */
static void
fire_cb(struct deadlines *dq, int kind, uint64_t id, time_t due, void *arg)
{
	struct fx *f = arg;

	if (!expect_fire(f->ex, kind, id, due))
		incidents_fire(f->is, kind, id, due);
}

/* Open the store and the modules at simulated time t. */
static void
fx_start(struct fx *f, time_t t)
{
	char *cause = NULL;

	clock_set_fake(t);
	f->is = incidents_open(NULL, f->cfg, &cause);
	if (f->is == NULL)
		fail_msg("incidents_open: %s", cause);
	f->dq = deadlines_new(NULL, fire_cb, f);
	f->ex = expect_new(f->is, f->dq, f->cal);
	expect_set_rules(f->ex, f->rs);
}

/* Stop the modules (the store is kept). */
static void
fx_stop(struct fx *f)
{
	expect_free(f->ex);
	incidents_close(f->is);
	deadlines_free(f->dq);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct errlist errs = { 0 };
	char path[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/sopd-expect-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	fx_write(f, "rules.yaml", rules_text);
	snprintf(path, sizeof(path), "state_dir: %s/var\nrules: [rules.yaml]\n",
	    f->dir);
	fx_write(f, "sopd.yaml", path);
	snprintf(path, sizeof(path), "%s/sopd.yaml", f->dir);
	f->cfg = config_load(path, &errs);
	if (f->cfg != NULL)
		f->rs = ruleset_load(f->cfg, &errs);
	errlist_print(&errs, stderr);
	if (f->rs == NULL)
		return -1;
	f->cal = calendar_new("Asia/Tokyo", NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ruleset_free(f->rs);
	config_free(f->cfg);
	calendar_free(f->cal);
	clock_clear_fake();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Feed one syslog event at simulated time t through the rules. */
static void
feed(struct fx *f, time_t t, const char *host, const char *prog,
    const char *msg)
{
	struct logevent ev;
	struct rule_hit hit;

	deadlines_tick(f->dq, t - 1);
	clock_set_fake(t);
	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.transport = "udp";
	ev.received_us = ev.timestamp_us = (int64_t)t * 1000000;
	ev.host = host;
	ev.program = prog;
	ev.facility = 1;
	ev.severity = 6;
	ev.message = msg;
	ev.message_len = strlen(msg);
	expect_heard(f->ex, &ev);
	if (!ruleset_match(f->rs, &ev, &hit))
		return;
	if (hit.rule->action == RULE_EXPECT)
		expect_arrival(f->ex, &ev, &hit);
	else {
		incidents_event(f->is, &ev, &hit);
		expect_failure(f->ex, &ev, &hit);
	}
}

static void run_to(struct fx *, time_t);

/* The state of the day record of (rule, host) for a day, from the API view. */
static const char *
day_state(struct fx *f, const char *host, const char *day)
{
	static char buf[32];
	json_t *st = expect_status_json(f->ex), *x, *d;
	size_t i, j;

	buf[0] = '\0';
	json_array_foreach(json_object_get(st, "expectations"), i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "host")),
			host) != 0 ||
		    strcmp(json_string_value(json_object_get(x, "rule")),
			"backup-completed") != 0)
			continue;
		json_array_foreach(json_object_get(x, "days"), j,
		    d) if (strcmp(json_string_value(json_object_get(d, "day")),
			       day) == 0) snprintf(buf, sizeof(buf), "%s",
		    json_string_value(json_object_get(d, "state")));
	}
	json_decref(st);
	return buf;
}

/*
 * Day records: a failure re-run the same day is resolved by the re-run
 * (also after the deadline); a miss stays open when the next night's run
 * arrives, which counts for the next day.
 */
static void
test_days(void **state)
{
	struct fx *f = *state;

	fx_start(f, DAY0);
	feed(f, DAY0 + 2 * H, "backup-1", "backupd", "backup failed: no tape");
	assert_int_not_equal(incidents_active_id(f->is, "backup-failed",
				 "backup-1"),
	    0);
	feed(f, DAY0 + 3 * H, "backup-1", "backupd", "backup completed");
	assert_int_equal(incidents_active_id(f->is, "backup-failed",
			     "backup-1"),
	    0);
	run_to(f, DAY0 + 10 * H);
	assert_int_equal(incidents_active_id(f->is, "backup-completed",
			     "backup-completed:backup-1"),
	    0);
	assert_int_not_equal(incidents_active_id(f->is, "backup-completed",
				 "backup-completed:backup-2"),
	    0);
	assert_string_equal(day_state(f, "backup-1", "2026-11-27"),
	    "re-run ok");
	assert_string_equal(day_state(f, "backup-2", "2026-11-27"), "missing");

	/* Next night: backup-2's run is the 28th's, not late for the 27th. */
	feed(f, DAY0 + 26 * H, "backup-2", "backupd", "backup completed");
	assert_int_not_equal(incidents_active_id(f->is, "backup-completed",
				 "backup-completed:backup-2"),
	    0);
	/* backup-1 fails and is re-run only after the deadline. */
	feed(f, DAY0 + 26 * H, "backup-1", "backupd", "backup failed again");
	run_to(f, DAY0 + 34 * H);
	assert_int_equal(incidents_active_id(f->is, "backup-completed",
			     "backup-completed:backup-1"),
	    0);
	assert_string_equal(day_state(f, "backup-1", "2026-11-28"), "failed");
	feed(f, DAY0 + 35 * H, "backup-1", "backupd", "backup completed");
	assert_int_equal(incidents_active_id(f->is, "backup-failed",
			     "backup-1"),
	    0);
	assert_string_equal(day_state(f, "backup-1", "2026-11-28"),
	    "re-run ok");
	assert_string_equal(day_state(f, "backup-2", "2026-11-28"), "ok");
	assert_string_equal(day_state(f, "backup-2", "2026-11-27"), "missing");
	fx_stop(f);
}

/*
 * A failure, then sopd restarts (and reloads its rules) before the re-run:
 * the re-run still resolves the failure incident.
 */
static void
test_rerun_restart(void **state)
{
	struct fx *f = *state;

	fx_start(f, DAY0);
	feed(f, DAY0 + 2 * H, "backup-1", "backupd", "backup failed: no tape");
	assert_int_not_equal(incidents_active_id(f->is, "backup-failed",
				 "backup-1"),
	    0);
	fx_stop(f);
	fx_start(f, DAY0 + 3 * H);
	expect_set_rules(f->ex, f->rs);
	feed(f, DAY0 + 4 * H, "backup-1", "backupd", "backup completed");
	assert_int_equal(incidents_active_id(f->is, "backup-failed",
			     "backup-1"),
	    0);
	assert_string_equal(day_state(f, "backup-1", "2026-11-27"),
	    "re-run ok");

	/* A failure noted just before a reload survives the reload. */
	feed(f, DAY0 + 26 * H, "backup-1", "backupd", "backup failed again");
	expect_set_rules(f->ex, f->rs);
	fx_stop(f);
	fx_start(f, DAY0 + 27 * H);
	feed(f, DAY0 + 28 * H, "backup-1", "backupd", "backup completed");
	assert_int_equal(incidents_active_id(f->is, "backup-failed",
			     "backup-1"),
	    0);
	assert_string_equal(day_state(f, "backup-1", "2026-11-28"),
	    "re-run ok");
	fx_stop(f);
}

/* Run the clock to t. */
static void
run_to(struct fx *f, time_t t)
{
	deadlines_tick(f->dq, t);
	clock_set_fake(t);
}

/* The rule parser keeps what expect and silent say. */
static void
test_parse(void **state)
{
	struct fx *f = *state;
	const struct rule *r = ruleset_rule(f->rs, 0);

	assert_int_equal(r->action, RULE_EXPECT);
	assert_int_equal(r->severity, SEV_HIGH);
	assert_int_equal(r->expect->nhosts, 2);
	assert_string_equal(r->expect->hosts[1], "backup-2");
	assert_int_equal(r->expect->by_min, 600);
	assert_int_equal(r->expect->since_min, 0);
	assert_int_equal(r->expect->every, EVERY_DAY);
	r = ruleset_rule(f->rs, 1);
	assert_int_equal(r->expect->every, EVERY_WEEK);
	assert_int_equal(r->expect->by_wday, 1);
	assert_int_equal(r->expect->since_min, -1);
	r = ruleset_rule(f->rs, 3);
	assert_int_equal(r->action, RULE_SILENT);
	assert_int_equal(r->severity, SEV_MEDIUM);
	assert_int_equal(r->silent->after, 1800);
}

/* Broken expect and silent rules are refused with file:line:col. */
static void
test_parse_errors(void **state)
{
	static const char *bad[] = {
		"rules:\n  - name: a\n    expect: { match: {program: x}, "
		"hosts: [\"b-*\"], by: \"10:00\" }\n",
		"rules:\n  - name: a\n    expect: { match: {program: x}, "
		"hosts: [b], by: \"25:00\" }\n",
		"rules:\n  - name: a\n    expect: { match: {program: x}, "
		"hosts: [b], by: \"10:00\", every: week }\n",
		"rules:\n  - name: a\n    expect: { match: {program: x}, "
		"hosts: [b], by: \"10:00\" }\n    title: \"{message}\"\n",
		"rules:\n  - name: a\n    match: {program: x}\n"
		"    silent: { hosts: all, after: 5m }\n",
		"rules:\n  - name: a\n    silent: { hosts: all }\n",
		"rules:\n  - name: a\n    match: {program: x}\n    severity: "
		"high\n"
		"    flapping: { cycles: 0 }\n",
	};
	struct fx *f = *state;
	struct errlist errs = { 0 };
	struct ruleset *rs;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_write(f, "rules.yaml", bad[i]);
		rs = ruleset_load(f->cfg, &errs);
		if (rs != NULL)
			fail_msg("rule text %zu was accepted", i);
		assert_true(errs.n > 0);
		assert_non_null(strstr(errs.msgs[0], "rules.yaml:"));
		errlist_free(&errs);
		memset(&errs, 0, sizeof(errs));
	}
	fx_write(f, "rules.yaml", rules_text);
}

/* On time: nothing opens; missing: an incident at 10:00; late: resolved. */
static void
test_missing_and_late(void **state)
{
	struct fx *f = *state;

	fx_start(f, DAY0);
	assert_int_equal(expect_count(f->ex), 4);
	assert_int_equal(expect_next(f->ex, "backup-completed", "backup-1"),
	    DAY0 + 10 * H);
	feed(f, DAY0 + 2 * H, "backup-2", "backupd", "backup completed");
	run_to(f, DAY0 + 10 * H);
	assert_int_not_equal(incidents_active_id(f->is, "backup-completed",
				 "backup-completed:backup-1"),
	    0);
	assert_int_equal(incidents_active_id(f->is, "backup-completed",
			     "backup-completed:backup-2"),
	    0);
	feed(f, DAY0 + 10 * H + 1800, "backup-1", "backupd",
	    "backup completed");
	assert_int_equal(incidents_active_id(f->is, "backup-completed",
			     "backup-completed:backup-1"),
	    0);
	assert_int_equal(expect_next(f->ex, "backup-completed", "backup-1"),
	    DAY0 + 34 * H);
	/* An arrival exactly at the deadline is in time. */
	feed(f, DAY0 + 34 * H, "backup-1", "backupd", "backup completed");
	feed(f, DAY0 + 33 * H, "backup-2", "backupd", "backup completed");
	run_to(f, DAY0 + 35 * H);
	assert_int_equal(incidents_active_id(f->is, "backup-completed",
			     "backup-completed:backup-1"),
	    0);
	fx_stop(f);
}

/* Weekly and business-day deadlines follow the calendar. */
static void
test_calendar_deadlines(void **state)
{
	struct fx *f = *state;

	fx_start(f, DAY0 + 11 * H); /* Friday 11:00 */
	/* Next Monday 09:00, and the next working day (Monday) 10:00. */
	assert_int_equal(expect_next(f->ex, "weekly", "rep-1"),
	    DAY0 + 3 * 24 * H + 9 * H);
	assert_int_equal(expect_next(f->ex, "workday", "batch-1"),
	    DAY0 + 3 * 24 * H + 10 * H);
	fx_stop(f);
}

/* A deadline that passed while sopd was down fires once after restart. */
static void
test_restart(void **state)
{
	struct fx *f = *state;

	fx_start(f, DAY0 + 8 * H);
	fx_stop(f);
	fx_start(f, DAY0 + 12 * H); /* down over 10:00 */
	assert_int_equal(expect_next(f->ex, "backup-completed", "backup-1"),
	    DAY0 + 10 * H);
	run_to(f, DAY0 + 12 * H);
	assert_int_not_equal(incidents_active_id(f->is, "backup-completed",
				 "backup-completed:backup-1"),
	    0);
	incidents_settle(f->is, "backup-completed", "backup-completed:backup-1",
	    "test", DAY0 + 12 * H);
	fx_stop(f);
	fx_start(f, DAY0 + 13 * H);
	assert_int_equal(expect_next(f->ex, "backup-completed", "backup-1"),
	    DAY0 + 34 * H);
	run_to(f, DAY0 + 13 * H);
	assert_int_equal(incidents_active_id(f->is, "backup-completed",
			     "backup-completed:backup-1"),
	    0);
	fx_stop(f);
}

/* A host heard and then silent opens an incident; hearing it resolves. */
static void
test_silent(void **state)
{
	struct fx *f = *state;

	fx_start(f, DAY0);
	feed(f, DAY0 + 60, "sw-1", "x", "hello");
	feed(f, DAY0 + 60, "web-1", "x", "not covered");
	assert_int_equal(expect_tracked(f->ex), 1);
	run_to(f, DAY0 + 60 + 1799);
	assert_int_equal(incidents_active_id(f->is, "quiet", "quiet:sw-1"), 0);
	run_to(f, DAY0 + 60 + 1800);
	assert_int_not_equal(incidents_active_id(f->is, "quiet", "quiet:sw-1"),
	    0);
	feed(f, DAY0 + 3 * H, "sw-1", "x", "back");
	assert_int_equal(incidents_active_id(f->is, "quiet", "quiet:sw-1"), 0);
	assert_int_equal(incidents_active_id(f->is, "quiet", "quiet:web-1"), 0);
	fx_stop(f);
}

/* Count the stored silent_hosts rows and remember the last heard time. */
static int
silent_row_cb(const char *rule, const char *host, int64_t last, void *arg)
{
	int64_t *v = arg;

	if (strcmp(host, "sw-1") == 0)
		v[1] = last;
	v[0]++;
	return 0;
}

/* A host heard before a restart that stays silent opens at the right time. */
static void
test_silent_restart(void **state)
{
	struct fx *f = *state;
	struct incident_info ii;
	int64_t rows[2] = { 0, 0 };
	uint64_t id;

	fx_start(f, DAY0);
	feed(f, DAY0 + 60, "sw-1", "x", "hello");
	feed(f, DAY0 + 90, "web-1", "x", "not covered");
	/* The last heard time goes out with the next commit. */
	assert_int_equal(incidents_flush(f->is), 0);
	assert_int_equal(store_load_silent(incidents_store(f->is),
			     silent_row_cb, rows),
	    0);
	assert_int_equal(rows[0], 1);
	assert_int_equal(rows[1], DAY0 + 60);
	feed(f, DAY0 + 120, "SW-1", "x", "again");
	fx_stop(f);

	/* Restart inside the silence: it still ends 30m after the last event. */
	fx_start(f, DAY0 + 600);
	assert_int_equal(expect_tracked(f->ex), 1);
	run_to(f, DAY0 + 120 + 1799);
	assert_int_equal(incidents_active_id(f->is, "quiet", "quiet:sw-1"), 0);
	run_to(f, DAY0 + 120 + 1800);
	assert_int_not_equal(incidents_active_id(f->is, "quiet", "quiet:sw-1"),
	    0);
	feed(f, DAY0 + H, "sw-1", "x", "back");
	assert_int_equal(incidents_active_id(f->is, "quiet", "quiet:sw-1"), 0);
	fx_stop(f);

	/* Down over the whole silence: it opens at the first tick, dated right. */
	fx_start(f, DAY0 + 5 * H);
	run_to(f, DAY0 + 5 * H);
	id = incidents_active_id(f->is, "quiet", "quiet:sw-1");
	assert_int_not_equal(id, 0);
	assert_int_equal(incidents_info(f->is, id, &ii), 0);
	assert_int_equal(ii.first_seen_us / 1000000, DAY0 + H + 1800);
	assert_non_null(strstr(ii.title, "silent since"));
	fx_stop(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_late, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_calendar_deadlines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rerun_restart, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
