/* metrics.h: polled host metrics: stored, rolled up, pruned, and held to rules. */
#ifndef SOPD_METRICS_H
#define SOPD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct sopd;
struct metrics;
struct store;

#define METRICS_KEEP_5M	    (8 * 86400)	  /* 5-minute points: 8 days */
#define METRICS_KEEP_1H	    (400 * 86400) /* hourly points: 400 days */
#define METRICS_PRUNE_SLICE 500		  /* rows a DELETE takes, at most */
#define METRICS_PRUNE_US    4000	  /* microseconds a turn may take */
#define METRICS_PRUNE_SOON  1		  /* s to the next turn: behind */
#define METRICS_PRUNE_EVERY 60		  /* s to the next turn: caught up */
#define METRICS_MAX_STATES  100000	  /* rule conditions tracked */
#define METRICS_MAX_POINTS  2000	  /* points a read returns */
#define METRICS_WRITE_MAX   2000	  /* samples written per commit */
#define METRICS_PENDING_MAX 200000	  /* samples waiting for a commit */

/* One sample of a poll; inst is the file system or interface, or NULL. */
struct metric_sample {
	const char *metric;
	const char *inst;
	double value;
};

struct metrics *metrics_new(struct sopd *);
void metrics_free(struct metrics *);
/*
 * Store the samples of one poll of host (taken at at, seconds; written
 * with the incidents' next batched commit, many polls in one transaction,
 * or on their own when METRICS_PENDING_MAX wait already) and hold
 * each against the metric rules of the current rule set: a condition that
 * held for its duration opens an incident (rule, "RULE:HOST[:INST]"); its
 * clear condition resolves it.
 */
void metrics_record(struct metrics *, const char *host,
    const struct metric_sample *, size_t n, int64_t at);
/*
 * One turn of pruning at now: delete expired rows, METRICS_PRUNE_SLICE
 * a statement, until none is left or the next slice would take the turn
 * past METRICS_PRUNE_US (one slice at least); the seconds until the next
 * turn: METRICS_PRUNE_SOON while expired rows remain, else
 * METRICS_PRUNE_EVERY.  The rows deleted in *deleted.
 */
int metrics_prune_turn(struct store *, int64_t now, size_t *deleted);
/* metrics_prune_turn on the incidents' store. */
int metrics_prune(struct metrics *, int64_t now);
/*
 * The stored points of host's metric (inst NULL: every instance) in
 * [from, to): 5-minute points, or hourly ones when hourly is set, each
 * with avg, min and max; at most METRICS_MAX_POINTS.  NULL on error.
 */
json_t *metrics_series_json(struct metrics *, const char *host,
    const char *metric, const char *inst, int64_t from, int64_t to, int hourly);

/*
 * The reports' reads, not held to METRICS_MAX_POINTS: each row goes to cb
 * as the store gives it (instance, time, average; cb != 0 stops), so the caller keeps what it needs
 * and no more.  METRICS_EACH_SUM: one point per time (inst ""), the sum of
 * every instance's average then; else every instance's points, ordered by
 * instance and time.  Bounded by the store's STORE_QUERY_MAX_OPS.  0, or
 * -1 on an error.
 */
#define METRICS_EACH_HOURLY 1 /* hourly points, not 5-minute ones */
#define METRICS_EACH_SUM    2 /* summed over the instances per time */
typedef int (*metrics_point_cb)(const char *, int64_t, double, void *);
int metrics_series_each(struct metrics *, const char *host, const char *metric,
    const char *inst, int64_t from, int64_t to, int flags, metrics_point_cb,
    void *);
/*
 * The most 5-minute points one instance of host's metric has in
 * [from, to) (0 when none), or -1 on an error.
 */
int64_t metrics_most_points(struct metrics *, const char *host,
    const char *metric, int64_t from, int64_t to);

#endif
