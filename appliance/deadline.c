/* deadline.c: a binary min-heap of (kind, id) deadlines with a hash index. */
#include "deadline.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "stats.h"
#include "xmalloc.h"

#define DEADLINES_TURN_US 5000 /* firing time of one turn of the loop */
#define DEADLINES_CHECK	  16   /* entries fired between clock reads */

struct dl_entry {
	int kind;
	uint64_t id;
	time_t due;
	uint64_t seq;	       /* ties fire in scheduling order */
	size_t pos;	       /* index in the heap */
	struct dl_entry *next; /* hash chain */
};

struct deadlines {
	struct dl_entry **heap;
	size_t n;
	size_t cap;
	struct dl_entry **buckets;
	size_t nbuckets; /* a power of two */
	uint64_t seq;
	deadlines_fire_cb fire;
	void *arg;
	struct event *timer;
	struct event *more; /* the rest of a tick, in the next loop turn */
	int ticking;
	int cut; /* the last tick ran out of time */
	int have_clock;
	long long clock_diff; /* wall - monotonic at the last tick */
	unsigned long long jumps;
	deadlines_jump_cb jump;
	void *jump_arg;
};

/* Hash of a key (splitmix64 finalizer). */
static size_t
deadlines_hash(int kind, uint64_t id)
{
	uint64_t x = id ^ ((uint64_t)(unsigned)kind * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x;
}

/* The entry of a key, or NULL. */
static struct dl_entry *
deadlines_find(const struct deadlines *dq, int kind, uint64_t id)
{
	struct dl_entry *e;

	e = dq->buckets[deadlines_hash(kind, id) & (dq->nbuckets - 1)];
	for (; e != NULL; e = e->next)
		if (e->kind == kind && e->id == id)
			return e;
	return NULL;
}

/* Grow the hash table to nb buckets (a power of two, more than now). */
static void
deadlines_rehash_to(struct deadlines *dq, size_t nb)
{
	struct dl_entry **old = dq->buckets, *e, *next;
	size_t i, oldn = dq->nbuckets, h;

	dq->nbuckets = nb;
	dq->buckets = xcalloc(dq->nbuckets, sizeof(*dq->buckets));
	for (i = 0; i < oldn; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			h = deadlines_hash(e->kind, e->id) & (dq->nbuckets - 1);
			e->next = dq->buckets[h];
			dq->buckets[h] = e;
		}
	free(old);
}

/* Unlink an entry from its hash chain. */
static void
deadlines_unhash(struct deadlines *dq, struct dl_entry *e)
{
	struct dl_entry **pp;

	pp = &dq->buckets[deadlines_hash(e->kind, e->id) & (dq->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
}

/* Whether a fires before b. */
static int
deadlines_before(const struct dl_entry *a, const struct dl_entry *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Put an entry at a heap position. */
static void
deadlines_place(struct deadlines *dq, struct dl_entry *e, size_t pos)
{
	dq->heap[pos] = e;
	e->pos = pos;
}

/* Move an entry towards the root while it is earlier than its parent. */
static void
deadlines_up(struct deadlines *dq, size_t pos)
{
	struct dl_entry *e = dq->heap[pos];

	while (pos > 0 && deadlines_before(e, dq->heap[(pos - 1) / 2])) {
		deadlines_place(dq, dq->heap[(pos - 1) / 2], pos);
		pos = (pos - 1) / 2;
	}
	deadlines_place(dq, e, pos);
}

/* Move an entry towards the leaves while a child is earlier. */
static void
deadlines_down(struct deadlines *dq, size_t pos)
{
	struct dl_entry *e = dq->heap[pos];
	size_t c;

	for (;;) {
		c = 2 * pos + 1;
		if (c >= dq->n)
			break;
		if (c + 1 < dq->n &&
		    deadlines_before(dq->heap[c + 1], dq->heap[c]))
			c++;
		if (!deadlines_before(dq->heap[c], e))
			break;
		deadlines_place(dq, dq->heap[c], pos);
		pos = c;
	}
	deadlines_place(dq, e, pos);
}

/* Take an entry out of the heap and the index (not freed). */
static void
deadlines_remove(struct deadlines *dq, struct dl_entry *e)
{
	size_t pos = e->pos;
	struct dl_entry *last;

	deadlines_unhash(dq, e);
	last = dq->heap[--dq->n];
	if (pos == dq->n)
		return;
	deadlines_place(dq, last, pos);
	deadlines_up(dq, pos);
	deadlines_down(dq, last->pos);
}

/*
 * Fire what is due for at most DEADLINES_TURN_US; what is left goes on in
 * the next turn of the loop, after the inputs had theirs.
 */
static void
deadlines_turn(struct deadlines *dq)
{
	struct stall_clock t0;
	struct timeval zero = { 0, 0 };
	time_t now = time(NULL);

	stats_stall_start(&t0);
	deadlines_tick_until(dq, now, t0.wall + DEADLINES_TURN_US);
	stats_stall(LOOP_DEADLINE, &t0);
	if (dq->cut && deadlines_due(dq, now))
		evtimer_add(dq->more, &zero); /* after the inputs' turn */
}

/* The rest of a tick that ran out of time. */
static void
deadlines_more_cb(evutil_socket_t fd, short events, void *arg)
{
	deadlines_turn(arg);
}

/* The periodic tick: check the clock, then fire what is due. */
static void
deadlines_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct deadlines *dq = arg;
	struct timespec mono;

	clock_gettime(CLOCK_BOOTTIME, &mono);
	deadlines_observe_clock(dq, time(NULL), mono.tv_sec);
	deadlines_turn(dq);
}

/* A new queue, ticking every second on base when there is one. */
struct deadlines *
deadlines_new(struct event_base *base, deadlines_fire_cb fire, void *arg)
{
	struct deadlines *dq = xcalloc(1, sizeof(*dq));
	struct timeval tv = { 1, 0 };
	struct timespec mono;

	dq->fire = fire;
	dq->arg = arg;
	dq->nbuckets = 64;
	dq->buckets = xcalloc(dq->nbuckets, sizeof(*dq->buckets));
	if (base != NULL) {
		dq->timer =
		    event_new(base, -1, EV_PERSIST, deadlines_timer_cb, dq);
		dq->more = evtimer_new(base, deadlines_more_cb, dq);
		if (dq->timer == NULL || dq->more == NULL ||
		    event_add(dq->timer, &tv) != 0)
			fatalx("deadlines: cannot add the tick timer");
		/* The first tick already sees a jump made before it. */
		clock_gettime(CLOCK_BOOTTIME, &mono);
		deadlines_observe_clock(dq, time(NULL), mono.tv_sec);
	}
	return dq;
}

/*
 * Size the index for up to n entries at once (two a bucket), so that it
 * is not rebuilt while they are scheduled, e.g. by a storm's escalations
 * (the buckets are calloc'ed: pages untouched stay unused).
 */
void
deadlines_reserve(struct deadlines *dq, size_t n)
{
	size_t nb = dq->nbuckets;

	while (nb * 2 < n && nb < ((size_t)1 << 24))
		nb *= 2;
	if (nb > dq->nbuckets)
		deadlines_rehash_to(dq, nb);
}

/* Free the queue and its timer. */
void
deadlines_free(struct deadlines *dq)
{
	size_t i;

	if (dq == NULL)
		return;
	if (dq->timer != NULL)
		event_free(dq->timer);
	if (dq->more != NULL)
		event_free(dq->more);
	for (i = 0; i < dq->n; i++)
		free(dq->heap[i]);
	free(dq->heap);
	free(dq->buckets);
	free(dq);
}

/* Schedule (kind, id) at due, replacing an earlier schedule of it. */
void
deadlines_schedule(struct deadlines *dq, int kind, uint64_t id, time_t due)
{
	struct dl_entry *e;
	size_t h;

	if ((e = deadlines_find(dq, kind, id)) != NULL) {
		e->due = due;
		e->seq = dq->seq++;
		deadlines_up(dq, e->pos);
		deadlines_down(dq, e->pos);
		return;
	}
	if (dq->n == dq->cap) {
		dq->cap = dq->cap ? dq->cap * 2 : 64;
		dq->heap = xreallocarray(dq->heap, dq->cap, sizeof(*dq->heap));
	}
	if (dq->n >= 2 * dq->nbuckets)
		deadlines_rehash_to(dq, dq->nbuckets * 2);
	e = xcalloc(1, sizeof(*e));
	e->kind = kind;
	e->id = id;
	e->due = due;
	e->seq = dq->seq++;
	h = deadlines_hash(kind, id) & (dq->nbuckets - 1);
	e->next = dq->buckets[h];
	dq->buckets[h] = e;
	deadlines_place(dq, e, dq->n++);
	deadlines_up(dq, e->pos);
}

/* Cancel (kind, id). */
int
deadlines_cancel(struct deadlines *dq, int kind, uint64_t id)
{
	struct dl_entry *e;

	if ((e = deadlines_find(dq, kind, id)) == NULL)
		return 0;
	deadlines_remove(dq, e);
	free(e);
	return 1;
}

/* Whether (kind, id) is scheduled, and when. */
int
deadlines_pending(const struct deadlines *dq, int kind, uint64_t id,
    time_t *due)
{
	struct dl_entry *e;

	if ((e = deadlines_find(dq, kind, id)) == NULL)
		return 0;
	if (due != NULL)
		*due = e->due;
	return 1;
}

/* The earliest entry. */
int
deadlines_next(const struct deadlines *dq, int *kind, uint64_t *id, time_t *due)
{
	if (dq->n == 0)
		return 0;
	if (kind != NULL)
		*kind = dq->heap[0]->kind;
	if (id != NULL)
		*id = dq->heap[0]->id;
	if (due != NULL)
		*due = dq->heap[0]->due;
	return 1;
}

/* Number of entries. */
size_t
deadlines_count(const struct deadlines *dq)
{
	return dq->n;
}

/* Fire what is due at now, earliest first, each removed before it fires. */
size_t
deadlines_tick(struct deadlines *dq, time_t now)
{
	return deadlines_tick_until(dq, now, 0);
}

/* Whether an entry is due at now. */
int
deadlines_due(const struct deadlines *dq, time_t now)
{
	return dq->n > 0 && dq->heap[0]->due <= now;
}

/*
 * deadlines_tick until a monotonic deadline (stats_mono_us, 0: none): from
 * the DEADLINES_CHECK-th entry on, one that would fire after it is left for
 * a later tick.
 */
size_t
deadlines_tick_until(struct deadlines *dq, time_t now, uint64_t until_us)
{
	struct dl_entry *e;
	size_t fired = 0, limit = dq->n;
	int kind;
	uint64_t id;
	time_t due;

	if (dq->ticking)
		return 0;
	dq->ticking = 1;
	dq->cut = 0;
	while (dq->n > 0 && fired < limit && dq->heap[0]->due <= now) {
		if (until_us != 0 && fired > 0 &&
		    fired % DEADLINES_CHECK == 0 &&
		    stats_mono_us() >= until_us) {
			dq->cut = 1;
			break;
		}
		e = dq->heap[0];
		kind = e->kind;
		id = e->id;
		due = e->due;
		deadlines_remove(dq, e);
		free(e);
		fired++;
		dq->fire(dq, kind, id, due, dq->arg);
	}
	dq->ticking = 0;
	return fired;
}

/* Compare wall and monotonic clocks with the last tick; log a jump. */
long long
deadlines_observe_clock(struct deadlines *dq, time_t wall, time_t mono)
{
	long long diff = (long long)wall - (long long)mono, jump = 0;
	size_t n = 0;

	if (dq->have_clock) {
		jump = diff - dq->clock_diff;
		if (jump > -DEADLINES_JUMP_SECONDS &&
		    jump < DEADLINES_JUMP_SECONDS)
			jump = 0;
		else {
			dq->jumps++;
			if (dq->jump != NULL)
				n = dq->jump(dq, jump, dq->jump_arg);
			log_warnx("clock jumped by %lld s; %zu deadlines "
				  "re-anchored",
			    jump, n);
		}
	}
	dq->have_clock = 1;
	dq->clock_diff = diff;
	return jump;
}

/* Number of clock jumps seen. */
unsigned long long
deadlines_clock_jumps(const struct deadlines *dq)
{
	return dq->jumps;
}

/* Who hears of a clock jump. */
void
deadlines_set_jump_cb(struct deadlines *dq, deadlines_jump_cb cb, void *arg)
{
	dq->jump = cb;
	dq->jump_arg = arg;
}
