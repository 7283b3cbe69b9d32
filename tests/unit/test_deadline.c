/* test_deadline.c: the deadline queue: order, replace, cancel, fire once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <event2/event.h>

#include "deadline.h"

#define MAXLOG 200000

/* What the callback saw, and what it should do next. */
struct firelog {
	size_t n;
	int kind[MAXLOG];
	uint64_t id[MAXLOG];
	time_t due[MAXLOG];
	int pending_inside; /* entry still pending in callback */
	int resched;	    /* reschedule self by this much */
	int again_same;	    /* reschedule self at the same due */
	long burn_us;	    /* work this long in each callback */
	unsigned probes;    /* turns of another event of the loop so far */
	unsigned probe_at[MAXLOG]; /* probes when each fired */
};

static struct firelog *lg;
static struct deadlines *lg_dq; /* the queue of test_libevent_turns */

/* The monotonic clock in microseconds. */
static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Keep the CPU busy for a while, as a costly firing would. */
static void
burn(long us)
{
	uint64_t end = mono_us() + (uint64_t)us;

	while (mono_us() < end)
		;
}

/* Record a firing. */
static void
fire_cb(struct deadlines *dq, int kind, uint64_t id, time_t due, void *arg)
{
	struct firelog *l = arg;

	assert_true(l->n < MAXLOG);
	l->kind[l->n] = kind;
	l->id[l->n] = id;
	l->due[l->n] = due;
	l->n++;
	if (deadlines_pending(dq, kind, id, NULL))
		l->pending_inside++;
	if (l->resched)
		deadlines_schedule(dq, kind, id, due + l->resched);
	if (l->again_same)
		deadlines_schedule(dq, kind, id, due);
	l->probe_at[l->n - 1] = l->probes;
	if (l->burn_us > 0)
		burn(l->burn_us);
}

static int
setup(void **state)
{
	lg = calloc(1, sizeof(*lg));
	*state = deadlines_new(NULL, fire_cb, lg);
	return 0;
}

static int
teardown(void **state)
{
	deadlines_free(*state);
	free(lg);
	return 0;
}

static void
test_order(void **state)
{
	struct deadlines *dq = *state;
	time_t dues[] = { 50, 10, 40, 10, 30, 20, 99 };
	int kind;
	uint64_t id;
	time_t due;

	for (size_t i = 0; i < 7; i++)
		deadlines_schedule(dq, 1, i, dues[i]);
	assert_int_equal(deadlines_count(dq), 7);
	assert_true(deadlines_next(dq, &kind, &id, &due));
	assert_int_equal(due, 10);
	assert_int_equal(id, 1);
	assert_int_equal(deadlines_tick(dq, 9), 0);
	assert_int_equal(deadlines_tick(dq, 50), 6);
	assert_int_equal(lg->n, 6);
	/* Due order, ties in scheduling order. */
	uint64_t want[] = { 1, 3, 5, 4, 2, 0 };
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(lg->id[i], want[i]);
		assert_int_equal(lg->kind[i], 1);
	}
	assert_int_equal(lg->due[5], 50);
	assert_int_equal(lg->pending_inside, 0);
	assert_int_equal(deadlines_count(dq), 1);
	assert_true(deadlines_pending(dq, 1, 6, &due));
	assert_int_equal(due, 99);
}

static void
test_replace(void **state)
{
	struct deadlines *dq = *state;
	time_t due;

	deadlines_schedule(dq, 1, 7, 100);
	deadlines_schedule(dq, 2, 7, 60); /* another kind: its own */
	deadlines_schedule(dq, 1, 7, 50);
	assert_int_equal(deadlines_count(dq), 2);
	assert_true(deadlines_pending(dq, 1, 7, &due));
	assert_int_equal(due, 50);
	deadlines_schedule(dq, 1, 7, 200); /* later again */
	assert_int_equal(deadlines_tick(dq, 199), 1);
	assert_int_equal(lg->kind[0], 2);
	assert_int_equal(deadlines_tick(dq, 1000), 1);
	assert_int_equal(lg->n, 2);
	assert_int_equal(lg->due[1], 200);
	assert_int_equal(deadlines_count(dq), 0);
	assert_false(deadlines_next(dq, NULL, NULL, NULL));
}

static void
test_cancel(void **state)
{
	struct deadlines *dq = *state;

	deadlines_schedule(dq, 3, 1, 10);
	deadlines_schedule(dq, 3, 2, 20);
	deadlines_schedule(dq, 3, 3, 30);
	assert_int_equal(deadlines_cancel(dq, 3, 2), 1);
	assert_int_equal(deadlines_cancel(dq, 3, 2), 0);
	assert_int_equal(deadlines_cancel(dq, 4, 1), 0);
	assert_false(deadlines_pending(dq, 3, 2, NULL));
	assert_int_equal(deadlines_tick(dq, 100), 2);
	assert_int_equal(lg->id[0], 1);
	assert_int_equal(lg->id[1], 3);
	assert_int_equal(deadlines_cancel(dq, 3, 1), 0);
}

static void
test_fire_once(void **state)
{
	struct deadlines *dq = *state;

	deadlines_schedule(dq, 1, 1, 100);
	assert_int_equal(deadlines_tick(dq, 100), 1);
	assert_int_equal(deadlines_tick(dq, 100), 0);
	assert_int_equal(deadlines_tick(dq, 10000), 0);
	assert_int_equal(lg->n, 1);
	/* A callback that reschedules itself later fires again only then. */
	lg->resched = 60;
	deadlines_schedule(dq, 1, 2, 200);
	assert_int_equal(deadlines_tick(dq, 230), 1);
	assert_true(deadlines_pending(dq, 1, 2, NULL));
	assert_int_equal(deadlines_tick(dq, 259), 0);
	assert_int_equal(deadlines_tick(dq, 260), 1);
	lg->resched = 0;
	assert_int_equal(deadlines_tick(dq, 320), 1);
	assert_int_equal(deadlines_tick(dq, 1000), 0);
	assert_int_equal(lg->pending_inside, 0);
}

static void
test_runaway_bounded(void **state)
{
	struct deadlines *dq = *state;

	/* A callback that keeps rescheduling itself as due cannot spin. */
	lg->again_same = 1;
	deadlines_schedule(dq, 1, 1, 10);
	deadlines_schedule(dq, 1, 2, 10);
	deadlines_schedule(dq, 1, 3, 500);
	assert_int_equal(deadlines_tick(dq, 100), 3);
	assert_int_equal(deadlines_count(dq), 3);
	lg->again_same = 0;
	assert_int_equal(deadlines_tick(dq, 100), 2);
}

/* A small deterministic generator. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_many(void **state)
{
	struct deadlines *dq = *state;
	enum {
		N = 100000
	};
	static time_t want[N];
	static char gone[N];
	uint64_t s = 88172645463325252ULL;
	size_t i, expect = 0, fired = 0;
	clock_t c0 = clock();
	time_t now;

	for (i = 0; i < N; i++) {
		want[i] = 1000000 + (time_t)(rnd(&s) % 1000000);
		deadlines_schedule(dq, (int)(i % 5), i, want[i]);
	}
	for (i = 0; i < N; i += 3) { /* move a third */
		want[i] = 1000000 + (time_t)(rnd(&s) % 1000000);
		deadlines_schedule(dq, (int)(i % 5), i, want[i]);
	}
	for (i = 1; i < N; i += 4) { /* cancel a quarter */
		assert_int_equal(deadlines_cancel(dq, (int)(i % 5), i), 1);
		gone[i] = 1;
	}
	for (i = 0; i < N; i++)
		expect += !gone[i];
	assert_int_equal(deadlines_count(dq), expect);
	for (now = 1000000; now <= 2000000; now += 7919) {
		fired += deadlines_tick(dq, now);
		assert_true(deadlines_count(dq) == expect - fired);
	}
	fired += deadlines_tick(dq, 2000000);
	assert_int_equal(fired, expect);
	assert_int_equal(lg->n, expect);
	for (i = 0; i < lg->n; i++) {
		assert_false(gone[lg->id[i]]);
		assert_int_equal(lg->due[i], want[lg->id[i]]);
		assert_int_equal(lg->kind[i], (int)(lg->id[i] % 5));
		assert_true(i == 0 || lg->due[i] >= lg->due[i - 1]);
	}
	/* O(log n): well under a second for 100,000 entries. */
	assert_true((double)(clock() - c0) / CLOCKS_PER_SEC < 5.0);
}

static void
test_clock_jumps(void **state)
{
	struct deadlines *dq = *state;

	assert_int_equal(deadlines_observe_clock(dq, 1000, 10), 0);
	assert_int_equal(deadlines_observe_clock(dq, 1001, 11), 0);
	assert_int_equal(deadlines_observe_clock(dq, 1004, 12), 0);
	assert_int_equal(deadlines_clock_jumps(dq), 0);
	assert_int_equal(deadlines_observe_clock(dq, 4604, 13), 3599);
	assert_int_equal(deadlines_observe_clock(dq, 1005, 14), -3600);
	assert_int_equal(deadlines_clock_jumps(dq), 2);
	/* After a forward jump, what fell due fires on the next tick. */
	deadlines_schedule(dq, 1, 1, 2000);
	deadlines_schedule(dq, 1, 2, 3000);
	deadlines_schedule(dq, 1, 3, 9000);
	assert_int_equal(deadlines_tick(dq, 1005), 0);
	assert_int_equal(deadlines_tick(dq, 4605), 2);
}

/* Stop the loop once something fired. */
static void
stop_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (lg->n > 0)
		event_base_loopbreak(arg);
}

static void
test_libevent_tick(void **state)
{
	struct event_base *base = event_base_new();
	struct deadlines *dq = deadlines_new(base, fire_cb, lg);
	struct event *watch = event_new(base, -1, EV_PERSIST, stop_cb, base);
	struct timeval tv = { 0, 50000 }, limit = { 3, 0 };

	deadlines_schedule(dq, 9, 42, time(NULL) - 3600); /* overdue */
	deadlines_schedule(dq, 9, 43, time(NULL) + 3600);
	event_add(watch, &tv);
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	assert_int_equal(lg->n, 1);
	assert_int_equal(lg->id[0], 42);
	assert_int_equal(deadlines_count(dq), 1);
	event_free(watch);
	deadlines_free(dq);
	event_base_free(base);
}

/*
 * An index sized in advance (and one grown past it) finds, cancels and
 * fires every entry, in order.
 */
static void
test_reserve(void **state)
{
	struct deadlines *dq = *state;
	size_t i;

	deadlines_reserve(dq, 100000);
	deadlines_reserve(dq, 10); /* never shrinks */
	for (i = 0; i < 3000; i++)
		deadlines_schedule(dq, 3, i, 1000 + (time_t)(i % 7));
	for (i = 0; i < 3000; i += 2)
		assert_true(deadlines_cancel(dq, 3, i));
	for (i = 1; i < 3000; i += 2)
		assert_true(deadlines_pending(dq, 3, i, NULL));
	assert_int_equal(deadlines_count(dq), 1500);
	assert_int_equal(deadlines_tick(dq, 2000), 1500);
	for (i = 1; i < lg->n; i++)
		assert_true(lg->due[i] >= lg->due[i - 1]);
	assert_int_equal(deadlines_count(dq), 0);
}

/*
 * A tick with a deadline stops once it is past (looking at the clock every
 * few entries) and leaves the rest due; later ticks fire them, in order,
 * each once.
 */
static void
test_tick_until(void **state)
{
	struct deadlines *dq = *state;
	size_t i, first, total = 0, calls = 0;

	for (i = 0; i < 200; i++)
		deadlines_schedule(dq, 1, i, 100 + (time_t)i);
	lg->burn_us = 500;
	first = deadlines_tick_until(dq, 1000, mono_us() + 2000);
	assert_true(first > 0 && first < 200);
	assert_int_equal(deadlines_count(dq), 200 - first);
	assert_true(deadlines_due(dq, 1000));
	assert_false(deadlines_due(dq, 99));
	total = first;
	lg->burn_us = 0;
	while (deadlines_due(dq, 1000) && calls++ < 1000)
		total += deadlines_tick_until(dq, 1000, mono_us() + 2000);
	assert_int_equal(total, 200);
	assert_int_equal(lg->n, 200);
	for (i = 0; i < lg->n; i++)
		assert_int_equal(lg->id[i], i);
	/* no deadline: all at once, as deadlines_tick */
	for (i = 0; i < 50; i++)
		deadlines_schedule(dq, 2, i, 500);
	assert_int_equal(deadlines_tick_until(dq, 1000, 0), 50);
}

/* Another event of the loop, every millisecond, counting its turns. */
static void
probe_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval ms = { 0, 1000 };

	lg->probes++;
	event_add(arg, &ms);
}

/* Stop the loop once nothing is left to fire. */
static void
done_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (lg->n > 0 && deadlines_count(lg_dq) == 0)
		event_base_loopbreak(arg);
}

/*
 * In the daemon's loop, many deadlines due at once (a storm's escalations)
 * fire in bounded turns: other events run between their firings, and all
 * of them fire, in order, on the tick they fell due at.
 */
static void
test_libevent_turns(void **state)
{
	struct event_base *base = event_base_new();
	struct deadlines *dq = deadlines_new(base, fire_cb, lg);
	struct event *probe =
	    event_new(base, -1, 0, probe_cb, event_self_cbarg());
	struct event *done = event_new(base, -1, EV_PERSIST, done_cb, base);
	struct timeval ms = { 0, 1000 }, tv = { 0, 20000 }, limit = { 5, 0 };
	time_t now = time(NULL);
	uint64_t t0, t1;
	size_t i;

	lg_dq = dq;
	for (i = 0; i < 400; i++)
		deadlines_schedule(dq, 9, i, now - 10);
	lg->burn_us = 100; /* 40 ms of firing in all */
	event_add(done, &tv);
	event_base_loopexit(base, &limit);
	event_add(probe, &ms);
	t0 = mono_us();
	event_base_dispatch(base);
	t1 = mono_us();
	assert_int_equal(lg->n, 400);
	assert_int_equal(deadlines_count(dq), 0);
	for (i = 0; i < lg->n; i++)
		assert_int_equal(lg->id[i], i);
	/* the loop turned between the first firing and the last */
	assert_true(lg->probe_at[lg->n - 1] > lg->probe_at[0]);
	/* all on the first tick (1 s), not on later ones a second apart */
	assert_true(t1 - t0 < 1900000);
	event_free(probe);
	event_free(done);
	deadlines_free(dq);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fire_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_runaway_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_jumps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_until, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_libevent_turns, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_libevent_tick, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
