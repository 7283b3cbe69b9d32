/* test_flap.c: the cycle table, and flapping keys becoming one incident. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "event.h"
#include "flap.h"
#include "incident.h"
#include "rules.h"
#include "stats.h"

#define T0 1795741323LL

/* Cycles are counted inside the window only, per key. */
static void
test_recent(void **state)
{
	struct flaps *fs = flaps_new(10);
	int i;

	for (i = 0; i < 4; i++)
		flaps_cycle(fs, "r", "k", T0 + i * 60, 6);
	flaps_cycle(fs, "r", "other", T0, 6);
	assert_int_equal(flaps_recent(fs, "r", "k", T0 + 180, 600), 4);
	assert_int_equal(flaps_recent(fs, "r", "k", T0 + 700, 600), 2);
	assert_int_equal(flaps_recent(fs, "x", "k", T0 + 180, 600), 0);
	/* Only the last `keep` cycles are kept. */
	for (i = 0; i < 20; i++)
		flaps_cycle(fs, "r", "k", T0 + i, 3);
	assert_int_equal(flaps_recent(fs, "r", "k", T0 + 30, 600), 3);
	flaps_forget(fs, "r", "k");
	assert_int_equal(flaps_recent(fs, "r", "k", T0 + 30, 600), 0);
	flaps_free(fs);
}

/* The table is bounded: the least recently cycled key goes first. */
static void
test_bound(void **state)
{
	struct flaps *fs = flaps_new(3);
	char key[16];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		flaps_cycle(fs, "r", key, T0, 2);
	}
	assert_int_equal(flaps_count(fs), 3);
	assert_int_equal(flaps_evicted(fs), 7);
	assert_int_equal(flaps_recent(fs, "r", "k9", T0, 60), 1);
	assert_int_equal(flaps_recent(fs, "r", "k0", T0, 60), 0);
	flaps_free(fs);
}

struct fx {
	char dir[64];
	char state[96];
	struct config cfg;
	struct incidents *is;
	struct deadlines *dq;
};

/* Deadlines of the incidents (the ends of flapping). */
static void
fire_cb(struct deadlines *dq, int kind, uint64_t id, time_t due, void *arg)
{
	struct fx *f = arg;

	clock_set_fake(due);
	assert_true(incidents_fire(f->is, kind, id, due));
}

/* One event of the link rule at T0 + sec (clear: the up message). */
static void
feed(struct fx *f, const struct rule *r, int clear, long long sec)
{
	struct logevent ev;
	struct rule_hit hit;

	deadlines_tick(f->dq, T0 + sec);
	clock_set_fake(T0 + sec);
	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.transport = "udp";
	ev.received_us = ev.timestamp_us = (T0 + sec) * 1000000;
	ev.host = "sw-1";
	ev.facility = 1;
	ev.severity = 3;
	ev.message = clear ? "up" : "down";
	ev.message_len = strlen(ev.message);
	memset(&hit, 0, sizeof(hit));
	hit.rule = r;
	hit.clear = clear;
	incidents_event(f->is, &ev, &hit);
}

/* More than 3 cycles in 10 minutes: one flapping incident, ended by quiet. */
static void
test_incidents_flapping(void **state)
{
	struct fx f;
	struct rule r;
	char *cause = NULL, cmd[128];
	uint64_t id;
	int i;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/sopd-flap-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.state, sizeof(f.state), "%s/var", f.dir);
	f.cfg.state_dir = f.state;
	f.cfg.max_open_incidents = 100;
	f.cfg.max_open_per_rule = 100;
	f.cfg.max_threshold_keys = 100;
	f.cfg.commit_interval_ms = 20;
	assert_non_null(f.is = incidents_open(NULL, &f.cfg, &cause));
	f.dq = deadlines_new(NULL, fire_cb, &f);
	incidents_set_deadlines(f.is, f.dq);
	memset(&r, 0, sizeof(r));
	r.name = "link";
	r.action = RULE_INCIDENT;
	r.severity = SEV_HIGH;
	r.title = "Link down on {host}";
	r.key = "{host}";
	r.flap_cycles = 3;
	r.flap_within = 600;
	memset(&stats, 0, sizeof(stats));
	for (i = 0; i < 3; i++) {
		feed(&f, &r, 0, i * 60);
		feed(&f, &r, 1, i * 60 + 30);
	}
	assert_int_equal(stats.incidents_opened, 3);
	feed(&f, &r, 0, 200); /* the 4th open: flapping */
	assert_int_equal(stats.incidents_opened, 4);
	id = incidents_active_id(f.is, "link", "flapping:sw-1");
	assert_int_not_equal(id, 0);
	assert_int_equal(incidents_active_id(f.is, "link", "sw-1"), 0);
	feed(&f, &r, 1, 230);
	feed(&f, &r, 0, 260);
	feed(&f, &r, 1, 290);
	assert_int_equal(stats.incidents_opened, 4); /* no new ones */
	deadlines_tick(f.dq, T0 + 290 + 599);
	assert_int_equal(incidents_active_id(f.is, "link", "flapping:sw-1"),
	    id);
	deadlines_tick(f.dq, T0 + 290 + 600);
	assert_int_equal(incidents_active_id(f.is, "link", "flapping:sw-1"), 0);
	/* Quiet again: the next open is an ordinary incident. */
	feed(&f, &r, 0, 5000);
	assert_int_not_equal(incidents_active_id(f.is, "link", "sw-1"), 0);
	incidents_close(f.is);
	deadlines_free(f.dq);
	clock_clear_fake();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f.dir);
	assert_int_equal(system(cmd), 0);
}

/* Run the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_incidents_flapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
