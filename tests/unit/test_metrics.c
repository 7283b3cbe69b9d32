/*
 * test_metrics.c: the reads of stored metrics the reports use
 * (metrics_series_each, metrics_most_points) and the API's capped read
 * (metrics_series_json), on samples written as the poller writes them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "daemon.h"
#include "errlist.h"
#include "incident.h"
#include "metrics.h"
#include "rules.h"
#include "stats.h"
#include "unit.h"

/* 2027-01-01 00:00:00 UTC: on an hour, so on a 5-minute bucket too. */
#define T0 ((int64_t)1798761600)

struct fixture {
	char *dir;
	char *state_dir;
	struct config cfg;
	struct sopd sd;
	struct metrics *m;
};

/* One point a callback was given. */
struct point {
	char inst[16];
	int64_t at;
	double avg;
};

/* Every point metrics_series_each gave, in the order given. */
struct points {
	struct point *p;
	size_t n, cap;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct errlist errs = { 0 };
	char *cause = NULL;

	fx->dir = unit_tmpdir("sopd-metrics");
	if (asprintf(&fx->state_dir, "%s/var", fx->dir) < 0)
		return -1;
	unit_incident_config(&fx->cfg, fx->state_dir);
	memset(&stats, 0, sizeof(stats));
	fx->sd.base = event_base_new();
	fx->sd.cfg = &fx->cfg;
	fx->sd.incidents = incidents_open(fx->sd.base, &fx->cfg, &cause);
	if (fx->sd.incidents == NULL)
		fail_msg("incidents_open: %s", cause);
	/* No rule: the samples are only stored. */
	fx->sd.rules = ruleset_load(&fx->cfg, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(fx->sd.rules);
	fx->m = metrics_new(&fx->sd);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	metrics_free(fx->m);
	incidents_close(fx->sd.incidents);
	ruleset_free(fx->sd.rules);
	event_base_free(fx->sd.base);
	if (unit_rmtree(fx->dir) != 0)
		return -1;
	free(fx->dir);
	free(fx->state_dir);
	free(fx);
	return 0;
}

/*
 * Commit every waiting sample.  A commit writes METRICS_WRITE_MAX of them
 * and asks for another (incidents_want_commit) for the rest, which the
 * commit timer runs; the tests run that next commit themselves, a few
 * times over (one commit with nothing waiting writes nothing).
 */
static void
commit(struct fixture *fx)
{
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(incidents_flush(fx->sd.incidents), 0);
}

/* One poll of host with one sample of metric on inst (NULL: none). */
static void
poll1(struct fixture *fx, const char *host, const char *metric,
    const char *inst, int64_t at, double value)
{
	struct metric_sample s = { metric, inst, value };

	metrics_record(fx->m, host, &s, 1, at);
}

static int
collect(const char *inst, int64_t at, double avg, void *arg)
{
	struct points *pts = arg;
	struct point *p;

	if (pts->n == pts->cap) {
		pts->cap = pts->cap ? pts->cap * 2 : 64;
		pts->p = realloc(pts->p, pts->cap * sizeof(*pts->p));
		assert_non_null(pts->p);
	}
	p = &pts->p[pts->n++];
	snprintf(p->inst, sizeof(p->inst), "%s", inst);
	p->at = at;
	p->avg = avg;
	return 0;
}

/* The points of metrics_series_each, checked to be what want lists. */
static void
expect_each(struct fixture *fx, const char *host, const char *metric,
    const char *inst, int64_t from, int64_t to, int flags,
    const struct point *want, size_t nwant)
{
	struct points got = { 0 };
	size_t i;

	assert_int_equal(metrics_series_each(fx->m, host, metric, inst, from,
			     to, flags, collect, &got),
	    0);
	for (i = 0; i < got.n && i < nwant; i++) {
		if (strcmp(got.p[i].inst, want[i].inst) != 0 ||
		    got.p[i].at != want[i].at || got.p[i].avg != want[i].avg)
			fail_msg("point %zu: got %s T0%+lld %g, want %s "
				 "T0%+lld %g",
			    i, got.p[i].inst, (long long)(got.p[i].at - T0),
			    got.p[i].avg, want[i].inst,
			    (long long)(want[i].at - T0), want[i].avg);
	}
	assert_int_equal(got.n, nwant);
	free(got.p);
}

/*
 * A switch's three interfaces, polled out of order, with a second sample
 * in one 5-minute bucket (its average counts), and rows of another host
 * and another metric at the same times that no read of sw1's
 * if.in_bps may give.
 */
static void
fill_small(struct fixture *fx)
{
	poll1(fx, "sw1", "if.in_bps", "eth2", T0 + 900, 2);
	poll1(fx, "sw1", "if.in_bps", "eth0", T0, 1);
	poll1(fx, "sw1", "if.in_bps", "eth0", T0 + 300, 10);
	poll1(fx, "sw1", "if.in_bps", "eth1", T0 + 300, 5);
	poll1(fx, "sw1", "if.in_bps", "eth0", T0 + 600, 20);
	poll1(fx, "sw1", "if.in_bps", "eth1", T0 + 600, 30);
	poll1(fx, "sw1", "if.in_bps", "eth1", T0 + 610, 40);
	poll1(fx, "sw1", "if.in_bps", "eth0", T0 + 900, 1);
	poll1(fx, "sw1", "if.in_bps", "eth2", T0 + 1200, 7);
	poll1(fx, "sw1", "if.in_bps", "eth0", T0 + 3600, 100);
	poll1(fx, "sw2", "if.in_bps", "eth0", T0 + 300, 1000);
	poll1(fx, "sw1", "if.out_bps", "eth0", T0 + 300, 1000);
	poll1(fx, "sw1", "cpu.load_pct", NULL, T0 + 300, 50);
	commit(fx);
}

/*
 * Every instance's points, ordered by instance and then time, whatever
 * order they were polled in; from is inclusive, to exclusive; an instance
 * named reads that one only; only the host and metric asked for.
 */
static void
test_each_order_and_bounds(void **state)
{
	struct fixture *fx = *state;
	const struct point all[] = {
		{ "eth0", T0, 1 },
		{ "eth0", T0 + 300, 10 },
		{ "eth0", T0 + 600, 20 },
		{ "eth0", T0 + 900, 1 },
		{ "eth0", T0 + 3600, 100 },
		{ "eth1", T0 + 300, 5 },
		{ "eth1", T0 + 600, 35 },
		{ "eth2", T0 + 900, 2 },
		{ "eth2", T0 + 1200, 7 },
	};
	const struct point mid[] = {
		{ "eth0", T0 + 300, 10 },
		{ "eth0", T0 + 600, 20 },
		{ "eth1", T0 + 300, 5 },
		{ "eth1", T0 + 600, 35 },
	};
	const struct point eth1[] = {
		{ "eth1", T0 + 300, 5 },
		{ "eth1", T0 + 600, 35 },
	};
	const struct point cpu[] = { { "", T0 + 300, 50 } };

	fill_small(fx);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0, T0 + 7200, 0, all, 9);
	/* [T0 + 300, T0 + 900): T0 and T0 + 900 are out. */
	expect_each(fx, "sw1", "if.in_bps", NULL, T0 + 300, T0 + 900, 0, mid,
	    4);
	expect_each(fx, "sw1", "if.in_bps", "eth1", T0, T0 + 7200, 0, eth1, 2);
	expect_each(fx, "sw1", "if.in_bps", "eth9", T0, T0 + 7200, 0, NULL, 0);
	expect_each(fx, "sw1", "cpu.load_pct", NULL, T0, T0 + 7200, 0, cpu, 1);
	expect_each(fx, "sw9", "if.in_bps", NULL, T0, T0 + 7200, 0, NULL, 0);
	/* An empty range. */
	expect_each(fx, "sw1", "if.in_bps", NULL, T0 + 300, T0 + 300, 0, NULL,
	    0);
}

/* The hourly points: one an hour and instance, the average of its samples. */
static void
test_each_hourly(void **state)
{
	struct fixture *fx = *state;
	const struct point all[] = {
		{ "eth0", T0, (1 + 10 + 20 + 1) / 4.0 },
		{ "eth0", T0 + 3600, 100 },
		{ "eth1", T0, (5 + 30 + 40) / 3.0 },
		{ "eth2", T0, (2 + 7) / 2.0 },
	};
	const struct point first[] = { all[0], all[2], all[3] };

	fill_small(fx);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0, T0 + 7200,
	    METRICS_EACH_HOURLY, all, 4);
	/* [T0, T0 + 3600): the hour at T0 + 3600 is out. */
	expect_each(fx, "sw1", "if.in_bps", NULL, T0, T0 + 3600,
	    METRICS_EACH_HOURLY, first, 3);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0 + 1, T0 + 7200,
	    METRICS_EACH_HOURLY, all + 1, 1);
}

/*
 * METRICS_EACH_SUM: one point a time (instance ""), the sum of the
 * averages of the instances that have a point then, in time order; a
 * time only one instance has counts that one alone.
 */
static void
test_each_sum(void **state)
{
	struct fixture *fx = *state;
	const struct point sum[] = {
		{ "", T0, 1 },		/* eth0 only */
		{ "", T0 + 300, 15 },	/* 10 + 5 */
		{ "", T0 + 600, 55 },	/* 20 + (30 + 40) / 2 */
		{ "", T0 + 900, 3 },	/* 1 + 2 */
		{ "", T0 + 1200, 7 },	/* eth2 only */
		{ "", T0 + 3600, 100 }, /* eth0 only */
	};
	const struct point hourly[] = {
		{ "", T0, 8 + 25 + 4.5 },
		{ "", T0 + 3600, 100 },
	};

	fill_small(fx);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0, T0 + 7200,
	    METRICS_EACH_SUM, sum, 6);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0 + 300, T0 + 1200,
	    METRICS_EACH_SUM, sum + 1, 3);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0, T0 + 7200,
	    METRICS_EACH_SUM | METRICS_EACH_HOURLY, hourly, 2);
	expect_each(fx, "sw9", "if.in_bps", NULL, T0, T0 + 7200,
	    METRICS_EACH_SUM, NULL, 0);
}

/*
 * 800 polls of three interfaces, 5 minutes apart: eth1 in every one,
 * eth0 in the first 700, eth2 in the last 600 (2,100 points; eth1, the
 * one with the most, sorts between the others).  The value tells the
 * instance and the poll: 1000 * i + k.
 */
#define NPOLLS 800
static void
fill_many(struct fixture *fx)
{
	static const char *const inst[] = { "eth0", "eth1", "eth2" };
	struct metric_sample s[3];
	int k;
	size_t n;

	for (k = 0; k < NPOLLS; k++) {
		n = 0;
		if (k < 700)
			s[n++] = (struct metric_sample){ "if.in_bps", inst[0],
				0 + k };
		s[n++] =
		    (struct metric_sample){ "if.in_bps", inst[1], 1000 + k };
		if (k >= 200)
			s[n++] = (struct metric_sample){ "if.in_bps", inst[2],
				2000 + k };
		metrics_record(fx->m, "sw1", s, n, T0 + 300 * k);
	}
	commit(fx);
}

/* Which instance 0..2 a poll k of fill_many has, or not. */
static int
many_has(int i, int k)
{
	return i == 1 || (i == 0 && k < 700) || (i == 2 && k >= 200);
}

/*
 * More than METRICS_MAX_POINTS points: metrics_series_each gives every
 * one of the 2,100, in order; metrics_series_json gives the first 2,000
 * and says it is truncated, and not when the range holds fewer.
 */
static void
test_each_more_than_api(void **state)
{
	struct fixture *fx = *state;
	static const char *const inst[] = { "eth0", "eth1", "eth2" };
	struct point *want;
	size_t n = 0;
	json_t *j, *pts;
	int i, k;

	fill_many(fx);
	want = calloc(2100, sizeof(*want));
	assert_non_null(want);
	for (i = 0; i < 3; i++)
		for (k = 0; k < NPOLLS; k++)
			if (many_has(i, k)) {
				assert_true(n < 2100);
				snprintf(want[n].inst, sizeof(want[n].inst),
				    "%s", inst[i]);
				want[n].at = T0 + 300 * k;
				want[n].avg = 1000 * i + k;
				n++;
			}
	assert_int_equal(n, 2100);
	assert_true(n > METRICS_MAX_POINTS);
	expect_each(fx, "sw1", "if.in_bps", NULL, T0, T0 + 300 * NPOLLS, 0,
	    want, n);
	free(want);

	j = metrics_series_json(fx->m, "sw1", "if.in_bps", NULL, T0,
	    T0 + 300 * NPOLLS, 0);
	assert_non_null(j);
	pts = json_object_get(j, "points");
	assert_int_equal(json_array_size(pts), METRICS_MAX_POINTS);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	/* The first 2,000 in the same order: eth0's 700, eth1's 800, eth2's. */
	assert_string_equal(json_string_value(
				json_object_get(json_array_get(pts, 1999),
				    "inst")),
	    "eth2");
	assert_int_equal(json_integer_value(
			     json_object_get(json_array_get(pts, 1999), "at")),
	    T0 + 300 * (200 + 499));
	json_decref(j);
	/* [T0, T0 + 300 * 600): 600 + 600 + 400 points, all of them. */
	j = metrics_series_json(fx->m, "sw1", "if.in_bps", NULL, T0,
	    T0 + 300 * 600, 0);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "points")), 1600);
	assert_true(json_is_false(json_object_get(j, "truncated")));
	json_decref(j);
}

static int
count(const char *inst, int64_t at, double avg, void *arg)
{
	(void)inst;
	(void)at;
	(void)avg;
	++*(size_t *)arg;
	return 0;
}

/* Summed, the 2,100 points are one a poll: 800, none left out. */
static void
test_each_sum_many(void **state)
{
	struct fixture *fx = *state;
	struct points got = { 0 };
	int k;

	fill_many(fx);
	assert_int_equal(metrics_series_each(fx->m, "sw1", "if.in_bps", NULL,
			     T0, T0 + 300 * NPOLLS, METRICS_EACH_SUM, collect,
			     &got),
	    0);
	assert_int_equal(got.n, NPOLLS);
	for (k = 0; k < NPOLLS; k++) {
		assert_string_equal(got.p[k].inst, "");
		assert_int_equal(got.p[k].at, T0 + 300 * k);
		assert_true(got.p[k].avg ==
		    (many_has(0, k) ? k : 0) + (1000 + k) +
			(many_has(2, k) ? 2000 + k : 0));
	}
	free(got.p);
}

/* A callback that returns non-zero stops the read. */
static int
stop_at_3(const char *inst, int64_t at, double avg, void *arg)
{
	return count(inst, at, avg, arg), *(size_t *)arg == 3;
}

static void
test_each_stops(void **state)
{
	struct fixture *fx = *state;
	size_t n = 0;

	fill_small(fx);
	metrics_series_each(fx->m, "sw1", "if.in_bps", NULL, T0, T0 + 7200, 0,
	    stop_at_3, &n);
	assert_int_equal(n, 3);
}

/*
 * metrics_most_points: the most 5-minute points one instance has in
 * [from, to), whichever instance it is; 0 for a host or metric with none.
 */
static void
test_most_points(void **state)
{
	struct fixture *fx = *state;

	fill_many(fx);
	poll1(fx, "sw1", "cpu.load_pct", NULL, T0, 10);
	poll1(fx, "sw1", "cpu.load_pct", NULL, T0 + 30, 20); /* same point */
	poll1(fx, "sw1", "cpu.load_pct", NULL, T0 + 300, 30);
	commit(fx);
	assert_int_equal(metrics_most_points(fx->m, "sw1", "if.in_bps", T0,
			     T0 + 300 * NPOLLS),
	    800);
	/* eth0 and eth2 have 500 each in polls 200..699, eth1 too. */
	assert_int_equal(metrics_most_points(fx->m, "sw1", "if.in_bps",
			     T0 + 300 * 200, T0 + 300 * 700),
	    500);
	/* Polls 0..4: T0 + 1500 is out. */
	assert_int_equal(metrics_most_points(fx->m, "sw1", "if.in_bps", T0,
			     T0 + 1500),
	    5);
	/* Polls 700..799: eth1 and eth2, 100 each, not their sum. */
	assert_int_equal(metrics_most_points(fx->m, "sw1", "if.in_bps",
			     T0 + 300 * 700, T0 + 300 * NPOLLS + 86400),
	    100);
	assert_int_equal(metrics_most_points(fx->m, "sw1", "cpu.load_pct", T0,
			     T0 + 3600),
	    2);
	assert_int_equal(metrics_most_points(fx->m, "sw9", "if.in_bps", T0,
			     T0 + 300 * NPOLLS),
	    0);
	assert_int_equal(metrics_most_points(fx->m, "sw1", "if.out_bps", T0,
			     T0 + 300 * NPOLLS),
	    0);
	assert_int_equal(metrics_most_points(fx->m, "sw1", "if.in_bps",
			     T0 - 86400, T0),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_order_and_bounds,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_hourly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each_sum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_more_than_api, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each_sum_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each_stops, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_most_points, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
