/* test_escalate.c: escalation policies, their config, and the escalator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "deadline.h"
#include "escalate.h"
#include "incident.h"
#include "notify.h"
#include "policy.h"
#include "rules.h"
#include "store.h"
#include "winapi.h"
#include "winset.h"
#include "yamlnode.h"

#define JP_FILE	 "firmware/holidays/jp.yaml"
/* 2026-11-20 15:00 JST (a Friday; Monday the 23rd is a holiday). */
#define FRI_1500 ((time_t)1795154400)

static char tmpdir[] = "/tmp/test_escalate.XXXXXX";

/* Write a config file with extra YAML; the path (static). */
static const char *
write_config(const char *extra)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sopd.yaml", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "state_dir: %s/var\nrules: []\n%s", tmpdir, extra);
	fclose(f);
	return path;
}

/* Load a config, expecting success. */
static struct config *
load(const char *extra)
{
	struct errlist errs = { 0 };
	struct config *cfg;

	cfg = config_load(write_config(extra), &errs);
	errlist_print(&errs, stderr);
	assert_non_null(cfg);
	errlist_free(&errs);
	return cfg;
}

/* Durations: wall and business, and what is refused. */
static void
test_durations(void **state)
{
	long long s, d;
	int b;

	(void)state;
	assert_int_equal(policy_parse_duration("30m", &s, &d, &b), 0);
	assert_true(s == 1800 && d == 0 && b == 0);
	assert_int_equal(policy_parse_duration("1h30m", &s, &d, &b), 0);
	assert_true(s == 5400 && b == 0);
	assert_int_equal(policy_parse_duration("0", &s, &d, &b), 0);
	assert_true(s == 0 && b == 0);
	assert_int_equal(policy_parse_duration("1bd", &s, &d, &b), 0);
	assert_true(s == 0 && d == 1 && b == 1);
	assert_int_equal(policy_parse_duration("4bh", &s, &d, &b), 0);
	assert_true(s == 4 * 3600 && d == 0 && b == 1);
	assert_int_equal(policy_parse_duration("1bd4bh", &s, &d, &b), 0);
	assert_true(s == 4 * 3600 && d == 1 && b == 1);
	assert_int_equal(policy_parse_duration("1x", &s, &d, &b), -1);
	assert_int_equal(policy_parse_duration("1h1bd", &s, &d, &b), -1);
	assert_int_equal(policy_parse_duration("-1h", &s, &d, &b), -1);
	assert_int_equal(policy_parse_duration("", &s, &d, &b), -1);
	assert_int_equal(policy_parse_duration("h", &s, &d, &b), -1);
}

/* The SOP's defaults: critical L2 then L3 at 1 h, high 1 h and 4 h. */
static void
test_defaults(void **state)
{
	struct policy *p;
	const struct policy_step *st;
	struct calendar *cal;
	char *cause = NULL;

	(void)state;
	cal = calendar_new("Asia/Tokyo", &cause);
	assert_non_null(cal);
	p = policy_default(cal);
	assert_int_equal(policy_nsteps(p, SEV_CRITICAL), 2);
	st = policy_step(p, SEV_CRITICAL, 0);
	assert_int_equal(st->level, POLICY_L2);
	assert_int_equal(st->notify, (1U << POLICY_L2) | (1U << POLICY_CLIENT));
	assert_int_equal(policy_due(p, SEV_CRITICAL, 0, 1000), 1000);
	assert_int_equal(policy_due(p, SEV_CRITICAL, 1, 1000), 1000 + 3600);
	assert_int_equal(policy_step(p, SEV_CRITICAL, 1)->level, POLICY_L3);
	assert_int_equal(policy_nsteps(p, SEV_HIGH), 3);
	assert_int_equal(policy_due(p, SEV_HIGH, 1, 1000), 1000 + 3600);
	assert_int_equal(policy_due(p, SEV_HIGH, 2, 1000), 1000 + 4 * 3600);
	assert_int_equal(policy_nsteps(p, SEV_MEDIUM), 2);
	assert_int_equal(policy_nsteps(p, SEV_LOW), 0);
	assert_int_equal(policy_nsteps(p, SEV_INFO), 0);
	assert_int_equal(policy_due(p, SEV_LOW, 0, 1000), -1);
	assert_int_equal(policy_notified(p, SEV_CRITICAL, 3),
	    (1U << POLICY_L2) | (1U << POLICY_L3) | (1U << POLICY_CLIENT));
	policy_free(p);
}

/* Medium on a Friday afternoon before a holiday: Tuesday, same time. */
static void
test_business_day(void **state)
{
	struct config *cfg;
	struct errlist errs = { 0 };
	struct policy *p;
	char extra[512], cwd[256];

	(void)state;
	if (access(JP_FILE, R_OK) != 0)
		skip();
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(extra, sizeof(extra),
	    "calendar:\n  timezone: Asia/Tokyo\n"
	    "  hours: \"mon-fri 09:00-18:00\"\n  holidays: [%s/%s]\n"
	    "  business_day: 9h\n",
	    cwd, JP_FILE);
	cfg = load(extra);
	p = policy_load(cfg, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(p);
	/* Fri 15:00 + 1 business day = Tue 15:00 (Mon 23 Nov is a holiday). */
	assert_int_equal(policy_due(p, SEV_MEDIUM, 1, FRI_1500),
	    FRI_1500 + 4 * 86400);
	/* Friday 19:00, after hours: the end of Tuesday's hours. */
	assert_int_equal(policy_due(p, SEV_MEDIUM, 1, FRI_1500 + 4 * 3600),
	    FRI_1500 + 4 * 86400 + 3 * 3600);
	policy_free(p);
	config_free(cfg);
	errlist_free(&errs);
}

/* A custom policy: replaced severities, ack_within, business hours. */
static void
test_custom(void **state)
{
	struct config *cfg;
	struct errlist errs = { 0 };
	struct policy *p;
	const struct policy_step *st;

	(void)state;
	cfg = load("escalation:\n"
		   "  high:\n"
		   "    - {after: 0, level: L1, notify: [L1]}\n"
		   "    - {ack_within: 15m, level: L2, notify: [L2, client]}\n"
		   "    - {after: 4bh, level: L3}\n"
		   "  low: []\n");
	p = policy_load(cfg, &errs);
	assert_non_null(p);
	assert_int_equal(policy_nsteps(p, SEV_HIGH), 3);
	st = policy_step(p, SEV_HIGH, 1);
	assert_true(st->unless_acked);
	assert_int_equal(st->secs, 900);
	assert_int_equal(st->notify, (1U << POLICY_L2) | (1U << POLICY_CLIENT));
	st = policy_step(p, SEV_HIGH, 2);
	assert_true(st->business);
	assert_int_equal(st->notify, 1U << POLICY_L3); /* default: level */
	assert_int_equal(policy_nsteps(p, SEV_CRITICAL), 2); /* default */
	policy_free(p);
	config_free(cfg);
}

/* Mistakes are named with file:line:col; every one is reported. */
static void
test_errors(void **state)
{
	struct config *cfg;
	struct errlist errs = { 0 };

	(void)state;
	cfg = load("calendar:\n  timezone: Nowhere/Atlantis\n"
		   "  hours: \"someday 9-5\"\n"
		   "escalation:\n"
		   "  critical:\n"
		   "    - {after: 1x, level: L3}\n"
		   "    - {after: 1h, level: L7}\n"
		   "    - {level: L2}\n"
		   "    - {after: 1h, level: L2, notify: [nobody]}\n"
		   "  urgent: []\n");
	assert_null(policy_load(cfg, &errs));
	assert_true(errs.n >= 5);
	assert_non_null(strstr(errs.msgs[0], "sopd.yaml:4:"));
	assert_non_null(strstr(errs.msgs[errs.n - 1], "urgent"));
	errlist_free(&errs);
	config_free(cfg);
}

/* A patch window in business hours is refused unless allowed. */
static void
test_windows_config(void **state)
{
	struct config *cfg;
	struct errlist errs = { 0 };
	struct calendar *cal;
	struct winset *ws;
	char *cause = NULL;

	(void)state;
	cal = calendar_new("Asia/Tokyo", &cause);
	cfg = load("host_groups:\n  web: [\"web*\"]\n"
		   "windows:\n  patch:\n    - {id: p1, hosts: [a], "
		   "when: \"mon 10:00-11:00\"}\n"
		   "  change:\n    - {id: c1, start: \"2026-11-28 01:00\", "
		   "end: \"2026-11-28 03:00\", groups: [nogroup]}\n");
	assert_null(winset_load(cfg, cal, &errs));
	assert_int_equal(errs.n, 2);
	assert_non_null(strstr(errs.msgs[0], "overlaps business hours"));
	errlist_free(&errs);
	config_free(cfg);
	cfg =
	    load("host_groups:\n  web: [\"web*\"]\n"
		 "windows:\n  patch:\n    - {id: p1, hosts: [a], "
		 "when: \"mon 10:00-11:00\", "
		 "allow_business_hours: true}\n"
		 "  change:\n    - {id: c1, start: \"2026-11-28 01:00\", "
		 "end: \"2026-11-28 03:00\", groups: [web], approved: true}\n");
	ws = winset_load(cfg, cal, &errs);
	assert_non_null(ws);
	assert_int_equal(winset_count(ws), 2);
	assert_true(winset_in_scope(cfg, winset_find(ws, "c1"), "web3"));
	assert_false(winset_in_scope(cfg, winset_find(ws, "c1"), "db1"));
	/* 2026-11-28 02:00 JST (17:00 UTC the day before) is inside c1. */
	assert_non_null(winset_active_for(ws, cfg, cal, "web3",
	    FRI_1500 + 7 * 86400 + 11 * 3600));
	assert_null(winset_active_for(ws, cfg, cal, "web3",
	    FRI_1500 + 7 * 86400 + 13 * 3600));
	winset_free(ws);
	config_free(cfg);
	/* No section: no window (none covers every host unasked). */
	cfg = load("");
	ws = winset_load(cfg, cal, &errs);
	assert_int_equal(winset_count(ws), 0);
	winset_free(ws);
	config_free(cfg);
	/* A patch window names its hosts and never holds a critical. */
	cfg = load("windows:\n  patch:\n    - {id: p, when: \"fri "
		   "20:00-24:00\"}\n");
	assert_null(winset_load(cfg, cal, &errs));
	assert_non_null(strstr(errs.msgs[0], "names the hosts or groups"));
	errlist_free(&errs);
	config_free(cfg);
	cfg = load("windows:\n  patch:\n    - {id: p, when: \"fri "
		   "20:00-24:00\", hosts: [\"*\"]}\n");
	ws = winset_load(cfg, cal, &errs);
	assert_non_null(
	    winset_active_for(ws, cfg, cal, "any", FRI_1500 + 6 * 3600));
	assert_null(winset_holding(ws, cfg, cal, "any", SEV_CRITICAL,
	    FRI_1500 + 6 * 3600));
	assert_non_null(winset_holding(ws, cfg, cal, "any", SEV_MEDIUM,
	    FRI_1500 + 6 * 3600));
	assert_null(winset_active_for(ws, cfg, cal, "any", FRI_1500));
	winset_free(ws);
	config_free(cfg);
	calendar_free(cal);
}

/* A change goes only where its state allows, and keeps every step. */
static void
test_change_states(void **state)
{
	struct config *cfg;
	struct calendar *cal;
	struct win *w;
	struct winset *ws, *ws2;
	struct errlist errs = { 0 };
	json_t *o, *doc;
	char *cause = NULL, *err = NULL;

	(void)state;
	cal = calendar_new("Asia/Tokyo", &cause);
	cfg = load("");
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "CHG-1", "start",
	    "2036-01-05T01:00:00Z", "end", "2036-01-05T03:00:00Z", "requester",
	    "bob", "impact", "db down", "rollback", "old kernel");
	w = winset_parse_json(cfg, cal, o, 0, &err);
	assert_non_null(w);
	assert_int_equal(w->state, CHANGE_REQUESTED);
	assert_false(winset_counts(w));
	assert_false(winset_holds(w, SEV_CRITICAL));
	assert_true(winset_holds(w, SEV_MEDIUM));
	assert_int_equal(winset_change_move(w, CHANGE_CLOSED, "bob", NULL, 1,
			     &err),
	    -1);
	assert_non_null(strstr(err, "requested"));
	free(err);
	err = NULL;
	assert_int_equal(winset_change_move(w, CHANGE_APPROVED, "carol", "CAB",
			     2, &err),
	    0);
	assert_true(winset_counts(w));
	assert_string_equal(w->approved_by, "carol");
	assert_int_equal(winset_change_move(w, CHANGE_IN_PROGRESS, NULL, NULL,
			     3, &err),
	    0);
	assert_true(winset_counts(w));
	assert_int_equal(winset_change_move(w, CHANGE_FAILED, NULL, NULL, 4,
			     &err),
	    0);
	assert_false(winset_counts(w));
	assert_int_equal(winset_change_move(w, CHANGE_ROLLED_BACK, "dave",
			     "reverted", 5, &err),
	    0);
	assert_int_equal(winset_change_move(w, CHANGE_CLOSED, "carol", NULL, 6,
			     &err),
	    0);
	assert_int_equal(json_array_size(w->history), 6);
	/* Stored and read back: state, approval and history are kept. */
	doc = winset_win_doc(w);
	winset_win_free(w);
	w = winset_parse_json(cfg, cal, doc, 1, &err);
	assert_non_null(w);
	assert_int_equal(w->state, CHANGE_CLOSED);
	assert_string_equal(w->approved_by, "carol");
	assert_string_equal(w->rollback, "old kernel");
	assert_int_equal(json_array_size(w->history), 6);
	assert_string_equal(json_string_value(
				json_object_get(json_array_get(w->history, 4),
				    "actor")),
	    "dave");
	winset_win_free(w);
	json_decref(doc);
	json_decref(o);
	config_free(cfg);
	/* A reload keeps what a config change's window did. */
	cfg = load("windows:\n  change:\n    - {id: c1, hosts: [a], "
		   "approved: true, start: \"2026-11-28 01:00\", "
		   "end: \"2026-11-28 03:00\"}\n");
	ws = winset_load(cfg, cal, &errs);
	assert_non_null(ws);
	assert_int_equal(winset_change_move(winset_find(ws, "c1"),
			     CHANGE_IN_PROGRESS, NULL, NULL, 7, &err),
	    0);
	ws2 = winset_load(cfg, cal, &errs);
	winset_adopt(ws2, ws);
	assert_int_equal(winset_find(ws2, "c1")->state, CHANGE_IN_PROGRESS);
	assert_int_equal(json_array_size(winset_find(ws2, "c1")->history), 1);
	winset_free(ws);
	winset_free(ws2);
	config_free(cfg);
	calendar_free(cal);
}

/* A running daemon without a loop: the escalator and its deadlines. */
struct rig {
	struct sopd sd;
	struct rule crit;
};

/* Dispatch due deadlines to the escalator. */
static void
rig_fire_cb(struct deadlines *dq, int kind, uint64_t id, time_t due, void *arg)
{
	struct sopd *sd = arg;

	(void)dq;
	escalate_fire(sd->escalator, kind, id, due);
}

/* Start the modules on the config in tmpdir. */
static void
rig_start(struct rig *r, const char *extra)
{
	struct escalate_deps d = { 0 };
	struct errlist errs = { 0 };
	char *cause = NULL;

	memset(r, 0, sizeof(*r));
	r->sd.cfg = load(extra);
	r->sd.incidents = incidents_open(NULL, r->sd.cfg, &cause);
	assert_non_null(r->sd.incidents);
	r->sd.deadlines = deadlines_new(NULL, rig_fire_cb, &r->sd);
	r->sd.policy = policy_load(r->sd.cfg, &errs);
	assert_non_null(r->sd.policy);
	r->sd.windows =
	    winset_load(r->sd.cfg, policy_calendar(r->sd.policy), &errs);
	assert_non_null(r->sd.windows);
	d.incidents = r->sd.incidents;
	d.deadlines = r->sd.deadlines;
	d.policy = r->sd.policy;
	d.windows = r->sd.windows;
	d.cfg = r->sd.cfg;
	assert_int_equal(winapi_load(r->sd.windows, r->sd.cfg,
			     policy_calendar(r->sd.policy),
			     incidents_store(r->sd.incidents)),
	    0);
	r->sd.escalator = escalate_new(&d, &cause);
	assert_non_null(r->sd.escalator);
	r->crit.name = (char *)"t-crit";
	r->crit.action = RULE_INCIDENT;
	r->crit.severity = SEV_CRITICAL;
}

/* Stop like sopd: flush, then free. */
static void
rig_stop(struct rig *r)
{
	incidents_flush(r->sd.incidents);
	escalate_free(r->sd.escalator);
	incidents_close(r->sd.incidents);
	deadlines_free(r->sd.deadlines);
	winset_free(r->sd.windows);
	policy_free(r->sd.policy);
	config_free(r->sd.cfg);
}

/* Move the fake clock and fire what is due. */
static void
rig_at(struct rig *r, time_t t)
{
	clock_set_fake(t);
	deadlines_tick(r->sd.deadlines, t);
	incidents_flush(r->sd.incidents);
}

/* An incident's level. */
static const char *
rig_level(struct rig *r, uint64_t id)
{
	static char buf[8];
	struct incident_info ii;

	assert_int_equal(incidents_info(r->sd.incidents, id, &ii), 0);
	snprintf(buf, sizeof(buf), "%s", ii.level);
	return buf;
}

/* Critical: L2 at once, L3 at +1 h, once, also across a restart. */
static void
test_engine_restart(void **state)
{
	struct rig r;
	struct incident_info ii;
	time_t t0 = 1795500000;
	uint64_t id;
	json_t *doc, *h;

	(void)state;
	clock_set_fake(t0);
	rig_start(&r, "windows: {patch: []}\n");
	id = incidents_raise(r.sd.incidents, &r.crit, "db1", "db1", "down", t0);
	assert_true(id > 0);
	assert_string_equal(rig_level(&r, id), "L2");
	incidents_info(r.sd.incidents, id, &ii);
	assert_int_equal(ii.next_escalation_us / 1000000, t0 + 3600);
	assert_int_equal(ii.next_step, 1);
	assert_string_equal(ii.next_level, "L3");
	rig_at(&r, t0 + 1800);
	rig_stop(&r);
	/* Restarted before the step: the incident still shows it. */
	rig_start(&r, "windows: {patch: []}\n");
	incidents_info(r.sd.incidents, id, &ii);
	assert_int_equal(ii.next_step, 1);
	assert_string_equal(ii.next_level, "L3");
	assert_int_equal(ii.next_escalation_us / 1000000, t0 + 3600);
	doc = incidents_get_json(r.sd.incidents, id);
	assert_int_equal(json_integer_value(json_object_get(doc, "next_step")),
	    1);
	assert_string_equal(json_string_value(
				json_object_get(doc, "next_level")),
	    "L3");
	json_decref(doc);
	rig_at(&r, t0 + 3599);
	assert_string_equal(rig_level(&r, id), "L2");
	rig_stop(&r);
	/* Down across the deadline: it fires once after the restart. */
	clock_set_fake(t0 + 7200);
	rig_start(&r, "windows: {patch: []}\n");
	assert_string_equal(rig_level(&r, id), "L2");
	rig_at(&r, t0 + 7200);
	assert_string_equal(rig_level(&r, id), "L3");
	assert_int_equal(store_count_fired(incidents_store(r.sd.incidents), id),
	    2);
	/* The history tells why. */
	doc = incidents_get_json(r.sd.incidents, id);
	h = json_array_get(json_object_get(doc, "history"),
	    json_array_size(json_object_get(doc, "history")) - 1);
	assert_string_equal(json_string_value(json_object_get(h, "action")),
	    "escalate");
	assert_string_equal(json_string_value(json_object_get(h, "note")),
	    "step 1: not resolved within 1h: escalated to L3");
	json_decref(doc);
	rig_stop(&r);
	clock_set_fake(t0 + 9000);
	rig_start(&r, "windows: {patch: []}\n");
	rig_at(&r, t0 + 9000);
	assert_int_equal(store_count_fired(incidents_store(r.sd.incidents), id),
	    2);
	assert_int_equal(deadlines_count(r.sd.deadlines), 0);
	rig_stop(&r);
	clock_clear_fake();
}

/* An approved change window holds an incident; its end releases it. */
static void
test_engine_window(void **state)
{
	struct rig r;
	struct incident_info ii;
	time_t t0 = 1795600000;
	json_t *body, *w;
	char *err = NULL, start[32], end[32];
	int status;
	uint64_t id, other;
	struct tm tm;
	time_t s = t0 + 600, e = t0 + 7200;

	(void)state;
	clock_set_fake(t0);
	rig_start(&r, "windows: {patch: []}\n");
	gmtime_r(&s, &tm);
	strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&e, &tm);
	strftime(end, sizeof(end), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* A critical is held only by a change that lists it. */
	body = json_pack("{s:s, s:[s], s:s, s:s, s:b, s:[s, s]}", "id", "CHG-9",
	    "hosts", "web1", "start", start, "end", end, "approved", 1,
	    "severities", "critical", "high");
	assert_int_equal(winapi_window_add(r.sd.escalator, body, &err, &status),
	    0);
	assert_int_equal(status, 201);
	assert_int_equal(winapi_window_add(r.sd.escalator, body, &err, &status),
	    -1);
	assert_int_equal(status, 409);
	free(err);
	json_decref(body);
	rig_at(&r, t0 + 601);
	id = incidents_raise(r.sd.incidents, &r.crit, "web1", "web1", "x",
	    t0 + 601);
	other = incidents_raise(r.sd.incidents, &r.crit, "db1", "db1", "y",
	    t0 + 601);
	incidents_info(r.sd.incidents, id, &ii);
	assert_string_equal(ii.in_window, "CHG-9");
	assert_int_equal(ii.next_escalation_us, 0);
	incidents_info(r.sd.incidents, other, &ii);
	assert_null(ii.in_window);
	rig_at(&r, t0 + 601 + 3600); /* inside: no escalation */
	assert_string_equal(rig_level(&r, other), "L3");
	incidents_info(r.sd.incidents, id, &ii);
	assert_string_equal(ii.in_window, "CHG-9");
	w = winapi_window_json(r.sd.escalator, "CHG-9");
	assert_string_equal(json_string_value(json_object_get(w, "state")),
	    "in_progress");
	json_decref(w);
	rig_at(&r, e); /* the end: released, clock starts */
	incidents_info(r.sd.incidents, id, &ii);
	assert_null(ii.in_window);
	assert_int_equal(ii.next_escalation_us / 1000000, e + 3600);
	w = winapi_window_json(r.sd.escalator, "CHG-9");
	assert_non_null(w);
	assert_int_equal(
	    json_integer_value(json_array_get(
		json_object_get(
		    json_object_get(json_array_get(json_object_get(w,
						       "occurrences"),
					0),
			"record"),
		    "failed_verification"),
		0)),
	    (json_int_t)id);
	assert_string_equal(json_string_value(json_object_get(w, "state")),
	    "failed");
	json_decref(w);
	/* A person closes it; a closed change cannot be approved again. */
	body = json_pack("{s:s, s:s}", "actor", "alice", "note", "reverted");
	assert_int_equal(winapi_change_action(r.sd.escalator, "CHG-9", "close",
			     body, &err, &status),
	    0);
	assert_int_equal(winapi_change_action(r.sd.escalator, "CHG-9",
			     "approve", body, &err, &status),
	    -1);
	assert_int_equal(status, 409);
	free(err);
	json_decref(body);
	rig_at(&r, e + 3600);
	assert_string_equal(rig_level(&r, id), "L3");
	rig_stop(&r);
	clock_clear_fake();
}

/* A fresh state directory per test. */
/* One number from the store's file, read on a connection of its own. */
static long long
db_count(const char *sql)
{
	char path[300];
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n;

	snprintf(path, sizeof(path), "%s/var/sopd.db", tmpdir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * A storm of new incidents is committed in bounded batches, as the commit
 * timer does: the escalation rows too are spread over batches (some
 * incidents have theirs stored while others wait), none is lost, and
 * every incident ends with its rows.
 */
static void
test_engine_batches(void **state)
{
	static const char esc[] =
	    "SELECT COUNT(DISTINCT incident_id) FROM escalation";
	struct rig r;
	time_t t0 = 1795500000;
	char host[32];
	long long n, last = 0;
	int i, more, batches = 0, partial = 0;

	(void)state;
	clock_set_fake(t0);
	rig_start(&r, "windows: {patch: []}\n");
	for (i = 0; i < 300; i++) {
		snprintf(host, sizeof(host), "db%d", i);
		assert_true(incidents_raise(r.sd.incidents, &r.crit, host, host,
				"down", t0) > 0);
	}
	do {
		/* 1 µs: every batch ends at its first look at the clock */
		more = incidents_flush_batch(r.sd.incidents, 1);
		assert_true(more == 0 || more == 1);
		batches++;
		n = db_count(esc);
		assert_true(n >= last);
		if (n > 0 && n < 300)
			partial = 1;
		last = n;
	} while (more == 1 && batches < 1000);
	assert_int_equal(more, 0);
	assert_true(batches > 10);
	assert_true(partial);
	assert_int_equal(db_count(esc), 300);
	assert_int_equal(db_count("SELECT COUNT(*) FROM escalation"), 300 * 4);
	assert_int_equal(db_count("SELECT COUNT(*) FROM incidents"), 300);
	assert_int_equal(incidents_flush_batch(r.sd.incidents, 1), 0);
	rig_stop(&r);
	clock_clear_fake();
}

/* What a recording notifier was told: per incident, and after a commit. */
struct told {
	unsigned per_id[301];
	unsigned n;
	unsigned bad; /* an id out of range */
};

/* Count a notice the recording notifier was told. */
static void
told_cb(const char *level, const struct notice *no, void *arg)
{
	struct told *t = arg;

	(void)level;
	if (no->inc->id == 0 || no->inc->id > 300)
		t->bad++;
	else
		t->per_id[no->inc->id]++;
	t->n++;
}

/*
 * A storm's notices are staged in bounded batches too: some are told after
 * a commit while others wait for the next, none is lost or told twice,
 * and every incident is told as much as the others.
 */
static void
test_engine_notice_batches(void **state)
{
	struct told t;
	struct notifier *nf;
	struct rig r;
	time_t t0 = 1795500000;
	char host[32];
	unsigned i, prev = 0, told[1000];
	int more, batches = 0, partial = 0;

	(void)state;
	memset(&t, 0, sizeof(t));
	clock_set_fake(t0);
	rig_start(&r, "windows: {patch: []}\n");
	nf = notify_new_sink(told_cb, &t);
	escalate_set_notifier(r.sd.escalator, nf);
	for (i = 0; i < 300; i++) {
		snprintf(host, sizeof(host), "db%u", i);
		assert_true(incidents_raise(r.sd.incidents, &r.crit, host, host,
				"down", t0) > 0);
	}
	do {
		/* 1 µs: every batch ends at its first look at the clock */
		more = incidents_flush_batch(r.sd.incidents, 1);
		assert_true(more == 0 || more == 1);
		assert_true(t.n >= prev);
		told[batches++] = prev = t.n;
	} while (more == 1 && batches < 1000);
	assert_int_equal(more, 0);
	assert_int_equal(t.bad, 0);
	assert_true(t.per_id[1] > 0);
	for (i = 0; i < (unsigned)batches; i++) {
		if (told[i] > 0 && told[i] < t.n)
			partial = 1; /* told some, others waited */
	}
	assert_true(partial);
	for (i = 1; i <= 300; i++)
		assert_int_equal(t.per_id[i], t.per_id[1]);
	assert_int_equal(t.n, 300 * t.per_id[1]);
	assert_int_equal(incidents_flush_batch(r.sd.incidents, 1), 0);
	assert_int_equal(t.n, 300 * t.per_id[1]);
	escalate_set_notifier(r.sd.escalator, NULL);
	rig_stop(&r);
	notify_free(nf);
	clock_clear_fake();
}

static int
setup(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s/var", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_business_day),
		cmocka_unit_test(test_custom),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_windows_config),
		cmocka_unit_test(test_change_states),
		cmocka_unit_test_setup(test_engine_restart, setup),
		cmocka_unit_test_setup(test_engine_window, setup),
		cmocka_unit_test_setup(test_engine_batches, setup),
		cmocka_unit_test_setup(test_engine_notice_batches, setup),
	};
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
