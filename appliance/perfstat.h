/* perfstat.h: the performance report's figures from a series of samples. */
#ifndef SOPD_PERFSTAT_H
#define SOPD_PERFSTAT_H

#include <stddef.h>

#include <jansson.h>

/*
 * What the weekly performance report says of one metric of one host
 * (SOP 2.2), from samples (t: Unix seconds, ascending; v: the value) that
 * a metrics source hands over: average, 95th percentile (nearest rank),
 * maximum; the longest time the value stayed at or above a threshold
 * (sustained high load); and for a file system's used percentage, the
 * days until it is full by a least-squares line through the samples.
 * Pure functions: no allocation but the JSON the last one builds.
 */
struct perfstat_sum {
	size_t n;
	double avg, p95, max;
};

/* Average, p95 and maximum of n values; -1 when n is 0. */
int perfstat_summary(const double *v, size_t n, struct perfstat_sum *);
/*
 * The longest stretch (seconds) the samples stayed at or above threshold,
 * each sample standing until the next one (the last one for no time).
 */
double perfstat_sustained(const double *t, const double *v, size_t n,
    double threshold);
/*
 * Days from the last sample until v reaches full (e.g. 100 for a used
 * percentage) along the least-squares line; -1 when it does not grow (or
 * fewer than 2 samples span no time), 0 when already full.
 */
double perfstat_days_to_full(const double *t, const double *v, size_t n,
    double full);
/*
 * The report's object of one metric: {avg, p95, max, change_pct} with the
 * change of the average against the previous period's (null without
 * one), and high_seconds when threshold > 0.
 */
json_t *perfstat_metric_json(const double *t, const double *v, size_t n,
    const double *prev_v, size_t prev_n, double threshold);

#endif
