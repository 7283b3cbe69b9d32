/* deadline.h: the one queue of wall-clock deadlines, checked by a tick. */
#ifndef SOPD_DEADLINE_H
#define SOPD_DEADLINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Every timed step of sopd (escalations, window starts and ends, expected
 * events, reports) is one entry keyed by (kind, id), with an absolute
 * wall-clock due time.  A 1-second periodic tick fires everything due at or
 * before time(NULL), in due order (ties in scheduling order).  Each entry
 * fires at most once: it is removed before its callback runs; the callback
 * may schedule (also itself again) or cancel anything.  Because due times
 * are absolute, entries that fell due during a clock jump or while the
 * daemon was down fire on the next tick.  The tick also compares the wall
 * clock with CLOCK_BOOTTIME (which also runs while the host is suspended)
 * and logs a jump of more than a few seconds.
 * Schedule and cancel cost O(log n) (a binary heap with a hash index).
 */

struct deadlines;
struct event_base;

/*
 * The kinds of entries, one per module's timed step; core.c hands each
 * kind to its module (one table, used by the daemon and replay alike).
 */
enum deadline_kind {
	DEADLINE_ESCALATE_STEP = 10,   /* id: the incident's */
	DEADLINE_ESCALATE_WINDOW = 11, /* id: 0, the next window change */
	DEADLINE_ESCALATE_IMPACT = 12, /* id: a critical's, impact reminder */
	DEADLINE_EXPECT = 20,	       /* id: hash of (rule, host) */
	DEADLINE_EXPECT_SILENT = 21,   /* id: hash of the host */
	DEADLINE_INCIDENT_FLAP = 30,   /* id: the flapping incident's */
	DEADLINE_INCIDENT_QUIET = 31,  /* id: an incident of a quiet rule */
	DEADLINE_SCHEDULE_JOB = 40,    /* id: enum schedule_job */
};

/* Called for a due entry; kind and id are the caller's. */
typedef void (*deadlines_fire_cb)(struct deadlines *, int kind, uint64_t id,
    time_t due, void *arg);

#define DEADLINES_JUMP_SECONDS 5 /* clock jumps smaller than this pass */

/* A queue; with a NULL base there is no timer (call deadlines_tick). */
struct deadlines *deadlines_new(struct event_base *, deadlines_fire_cb,
    void *arg);
/* Free the queue; not from inside its own callback. */
void deadlines_free(struct deadlines *);
/* Add or move the entry (kind, id) to fire at due. */
void deadlines_schedule(struct deadlines *, int kind, uint64_t id, time_t due);
/* Remove an entry; 1 if there was one. */
int deadlines_cancel(struct deadlines *, int kind, uint64_t id);
/* 1 and its due time if the entry is scheduled, else 0. */
int deadlines_pending(const struct deadlines *, int kind, uint64_t id,
    time_t *due);
/* The earliest entry; 0 when the queue is empty. */
int deadlines_next(const struct deadlines *, int *kind, uint64_t *id,
    time_t *due);
size_t deadlines_count(const struct deadlines *);
/* Size the index for up to n entries, so that it is not rebuilt meanwhile. */
void deadlines_reserve(struct deadlines *, size_t n);
/*
 * Fire every entry due at or before now; returns how many fired.  Entries
 * the callbacks schedule at or before now fire in the same tick, but one
 * tick fires at most as many entries as were queued when it began.
 */
size_t deadlines_tick(struct deadlines *, time_t now);
/*
 * The same, until a monotonic deadline in µs (stats_mono_us; 0: none): the
 * entries still due then are left for a later call. The daemon's tick
 * fires for at most 5 ms a turn of its loop and goes on in the next.
 */
size_t deadlines_tick_until(struct deadlines *, time_t now, uint64_t until_us);
/* Whether an entry is due at or before now. */
int deadlines_due(const struct deadlines *, time_t now);
/* Feed one wall/monotonic clock pair; the jump in seconds (0: none). */
long long deadlines_observe_clock(struct deadlines *, time_t wall, time_t mono);
/*
 * Called on a jump (before the log line, which tells the count it returns:
 * the deadlines re-anchored).
 */
typedef size_t (
    *deadlines_jump_cb)(struct deadlines *, long long jump, void *arg);
void deadlines_set_jump_cb(struct deadlines *, deadlines_jump_cb, void *arg);
/* Clock jumps seen so far. */
unsigned long long deadlines_clock_jumps(const struct deadlines *);

#endif
