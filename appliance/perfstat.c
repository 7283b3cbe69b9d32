/* perfstat.c: the performance report's figures from a series of samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "perfstat.h"
#include "xmalloc.h"

static int
perfstat_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
perfstat_summary(const double *v, size_t n, struct perfstat_sum *s)
{
	double *sorted, sum = 0;
	size_t i, rank;

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return -1;
	sorted = xcalloc(n, sizeof(*sorted));
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), perfstat_cmp);
	for (i = 0; i < n; i++)
		sum += v[i];
	/* Nearest rank: the smallest value with 95% of values at or below. */
	rank = (size_t)ceil(0.95 * (double)n);
	s->n = n;
	s->avg = sum / (double)n;
	s->p95 = sorted[rank > 0 ? rank - 1 : 0];
	s->max = sorted[n - 1];
	free(sorted);
	return 0;
}

double
perfstat_sustained(const double *t, const double *v, size_t n, double threshold)
{
	double run = 0, best = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] < threshold) {
			run = 0;
			continue;
		}
		if (i + 1 < n)
			run += t[i + 1] - t[i];
		if (run > best)
			best = run;
	}
	return best;
}

double
perfstat_days_to_full(const double *t, const double *v, size_t n, double full)
{
	double mt = 0, mv = 0, sxx = 0, sxy = 0, slope, at_last;
	size_t i;

	if (n > 0 && v[n - 1] >= full)
		return 0;
	if (n < 2)
		return -1;
	for (i = 0; i < n; i++) {
		mt += t[i];
		mv += v[i];
	}
	mt /= (double)n;
	mv /= (double)n;
	for (i = 0; i < n; i++) {
		sxx += (t[i] - mt) * (t[i] - mt);
		sxy += (t[i] - mt) * (v[i] - mv);
	}
	if (sxx <= 0 || (slope = sxy / sxx) <= 0)
		return -1;
	at_last = mv + slope * (t[n - 1] - mt);
	if (at_last >= full)
		return 0;
	return (full - at_last) / slope / 86400.0;
}

json_t *
perfstat_metric_json(const double *t, const double *v, size_t n,
    const double *prev_v, size_t prev_n, double threshold)
{
	struct perfstat_sum s, p;
	json_t *o;

	if (perfstat_summary(v, n, &s) == -1)
		return json_null();
	o = json_pack("{s:f, s:f, s:f}", "avg", s.avg, "p95", s.p95, "max",
	    s.max);
	if (perfstat_summary(prev_v, prev_n, &p) == 0 && p.avg != 0)
		json_object_set_new(o, "change_pct",
		    json_real((s.avg - p.avg) / p.avg * 100.0));
	else
		json_object_set_new(o, "change_pct", json_null());
	if (threshold > 0)
		json_object_set_new(o, "high_seconds",
		    json_real(perfstat_sustained(t, v, n, threshold)));
	return o;
}
