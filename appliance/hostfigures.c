/* hostfigures.c: the schedule's host figures from SNMP polling. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "daemon.h"
#include "hostfigures.h"
#include "metrics.h"
#include "perfstat.h"
#include "poller.h"
#include "schedule.h"
#include "xmalloc.h"

/* Samples of one series: times and values. */
struct hf_series {
	double *t, *v;
	size_t n, cap;
};

static void
hf_add(struct hf_series *s, double t, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->t = xreallocarray(s->t, s->cap, sizeof(*s->t));
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->t[s->n] = t;
	s->v[s->n] = v;
	s->n++;
}

static void
hf_clear(struct hf_series *s)
{
	free(s->t);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * The stored points of a metric in [from, to): the 5-minute ones when the
 * range lies within their METRICS_KEEP_5M and they are not too many, else
 * the hourly rollups.  One step for the whole range, so that every hour
 * weighs the same: the week before a weekly report's (its "change")
 * starts 14 days back, where only hourly rows are left.
 */
static json_t *
hf_points(struct sopd *sd, const char *host, const char *metric, time_t from,
    time_t to)
{
	struct metrics *m = poll_metrics(sd->poller);
	json_t *doc;

	if (m == NULL)
		return NULL;
	if (from < clock_now() - METRICS_KEEP_5M)
		return metrics_series_json(m, host, metric, NULL, from, to, 1);
	doc = metrics_series_json(m, host, metric, NULL, from, to, 0);
	if (doc != NULL && json_is_true(json_object_get(doc, "truncated"))) {
		json_decref(doc);
		doc = metrics_series_json(m, host, metric, NULL, from, to, 1);
	}
	return doc;
}

/* One metric without instances (cpu, memory) as one series. */
static void
hf_read(struct sopd *sd, const char *host, const char *metric, time_t from,
    time_t to, struct hf_series *s)
{
	json_t *doc, *x;
	size_t i;

	doc = hf_points(sd, host, metric, from, to);
	json_array_foreach(json_object_get(doc, "points"), i, x)
	    hf_add(s, (double)json_integer_value(json_object_get(x, "at")),
		json_real_value(json_object_get(x, "avg")));
	json_decref(doc);
}

static int
hf_cmp(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Traffic: every interface's bits per second in and out, summed per point. */
static void
hf_traffic(struct sopd *sd, const char *host, time_t from, time_t to,
    struct hf_series *s)
{
	static const char *const dir[] = { "if.in_bps", "if.out_bps" };
	double *pt = NULL;
	size_t n = 0, cap = 0, i, k;
	json_t *doc, *x;

	for (k = 0; k < 2; k++) {
		doc = hf_points(sd, host, dir[k], from, to);
		json_array_foreach(json_object_get(doc, "points"), i, x)
		{
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				pt = xreallocarray(pt, cap, 2 * sizeof(*pt));
			}
			pt[2 * n] = (double)json_integer_value(
			    json_object_get(x, "at"));
			pt[2 * n + 1] =
			    json_real_value(json_object_get(x, "avg"));
			n++;
		}
		json_decref(doc);
	}
	if (n > 0)
		qsort(pt, n, 2 * sizeof(*pt), hf_cmp);
	for (i = 0; i < n; i++) {
		if (s->n > 0 && s->t[s->n - 1] == pt[2 * i])
			s->v[s->n - 1] += pt[2 * i + 1];
		else
			hf_add(s, pt[2 * i], pt[2 * i + 1]);
	}
	free(pt);
}

/*
 * File systems: the fullest one (by its maximum) as "disk" with its
 * mount, and every one that is full within HOSTFIG_FULL_DAYS.
 */
static void
hf_disks(struct sopd *sd, const char *host, time_t from, time_t to, json_t *fig)
{
	struct hf_series s = { 0 }, prev = { 0 };
	struct perfstat_sum sum;
	json_t *doc, *pdoc, *pts, *x, *full, *best = NULL;
	const char *inst;
	double bestmax = -1, days;
	size_t i, j, start;

	full = json_array();
	doc = hf_points(sd, host, "disk.used_pct", from, to);
	pdoc = hf_points(sd, host, "disk.used_pct", from - (to - from), from);
	pts = json_object_get(doc, "points");
	for (start = 0; start < json_array_size(pts); start = i) {
		inst = json_string_value(
		    json_object_get(json_array_get(pts, start), "inst"));
		for (i = start; i < json_array_size(pts); i++) {
			x = json_array_get(pts, i);
			if (strcmp(json_string_value(
				       json_object_get(x, "inst")),
				inst) != 0)
				break;
			hf_add(&s,
			    (double)json_integer_value(
				json_object_get(x, "at")),
			    json_real_value(json_object_get(x, "avg")));
		}
		days = perfstat_days_to_full(s.t, s.v, s.n, 100.0);
		if (days >= 0 && days <= HOSTFIG_FULL_DAYS)
			json_array_append_new(full,
			    json_pack("{s:s, s:f}", "mount", inst, "days",
				days));
		if (perfstat_summary(s.v, s.n, &sum) == 0 &&
		    sum.max > bestmax) {
			json_array_foreach(json_object_get(pdoc, "points"), j,
			    x) if (strcmp(json_string_value(json_object_get(x,
					      "inst")),
				       inst) == 0) hf_add(&prev, 0,
			    json_real_value(json_object_get(x, "avg")));
			json_decref(best);
			best = perfstat_metric_json(s.t, s.v, s.n, prev.v,
			    prev.n, 0);
			json_object_set_new(best, "mount", json_string(inst));
			bestmax = sum.max;
			hf_clear(&prev);
		}
		hf_clear(&s);
	}
	json_object_set_new(fig, "disk", best != NULL ? best : json_null());
	json_object_set_new(fig, "disks_full_in_30d", full);
	json_decref(doc);
	json_decref(pdoc);
}

/* One figure of a plain series and its previous period. */
static json_t *
hf_figure(struct sopd *sd, const char *host, const char *metric, time_t from,
    time_t to, double threshold)
{
	struct hf_series s = { 0 }, prev = { 0 };
	json_t *o;

	if (metric != NULL) {
		hf_read(sd, host, metric, from, to, &s);
		hf_read(sd, host, metric, from - (to - from), from, &prev);
	} else {
		hf_traffic(sd, host, from, to, &s);
		hf_traffic(sd, host, from - (to - from), from, &prev);
	}
	o = perfstat_metric_json(s.t, s.v, s.n, prev.v, prev.n, threshold);
	hf_clear(&s);
	hf_clear(&prev);
	return o;
}

static json_t *
hf_hosts(void *arg)
{
	struct sopd *sd = arg;
	json_t *doc, *a, *x;
	size_t i;

	if (sd->poller == NULL)
		return NULL;
	doc = poll_hosts_json(sd->poller);
	a = json_array();
	json_array_foreach(json_object_get(doc, "hosts"), i, x)
	    json_array_append(a, json_object_get(x, "name"));
	json_decref(doc);
	return a;
}

static json_t *
hf_now(void *arg, const char *host)
{
	struct sopd *sd = arg;
	json_t *h, *latest, *o, *disks, *v;
	const char *mount;

	if ((h = poll_host_json(sd->poller, host)) == NULL)
		return NULL;
	latest = json_object_get(h, "latest");
	disks = json_array();
	json_object_foreach(json_object_get(latest, "disk.used_pct"), mount, v)
	    json_array_append_new(disks,
		json_pack("{s:s, s:O}", "mount", mount, "used_pct", v));
	o = json_pack("{s:O, s:O?, s:O?, s:o}", "reachable",
	    json_object_get(h, "reachable"), "cpu_pct",
	    json_object_get(latest, "cpu.load_pct"), "mem_pct",
	    json_object_get(latest, "mem.used_pct"), "disks", disks);
	json_decref(h);
	return o;
}

static json_t *
hf_period(void *arg, const char *host, time_t from, time_t to)
{
	struct sopd *sd = arg;
	json_t *fig, *cpu, *mem;
	double hi = 0;

	if (sd->poller == NULL || !poll_has_host(sd->poller, host))
		return NULL;
	cpu = hf_figure(sd, host, "cpu.load_pct", from, to, HOSTFIG_HIGH_PCT);
	mem = hf_figure(sd, host, "mem.used_pct", from, to, HOSTFIG_HIGH_PCT);
	if (json_is_object(cpu))
		hi = json_real_value(json_object_get(cpu, "high_seconds"));
	if (json_is_object(mem) &&
	    json_real_value(json_object_get(mem, "high_seconds")) > hi)
		hi = json_real_value(json_object_get(mem, "high_seconds"));
	fig = json_pack("{s:o, s:o, s:o, s:b}", "cpu", cpu, "mem", mem,
	    "traffic", hf_figure(sd, host, NULL, from, to, 0),
	    "sustained_high_load", hi >= HOSTFIG_HIGH_SECS);
	hf_disks(sd, host, from, to, fig);
	return fig;
}

void
hostfigures_metrics(struct sopd *sd, struct schedule_metrics *m)
{
	m->hosts = hf_hosts;
	m->now = hf_now;
	m->period = hf_period;
	m->arg = sd;
}
