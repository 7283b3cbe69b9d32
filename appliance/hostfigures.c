/*
 * hostfigures.c: the schedule's host figures from SNMP polling.
 *
 * The figures read every stored point of the period (metrics_series_each,
 * not the API's METRICS_MAX_POINTS), so a switch's 48 interfaces or a
 * server's 20 file systems all count for the whole week.  Memory per host
 * stays bounded by the points of one series, not by its instances: CPU and
 * memory one series each; traffic one point per time step and direction
 * (the store sums the interfaces); file systems two at a time (the one
 * read and the fullest so far), at most METRICS_MAX_POINTS 5-minute
 * points each, else hourly ones (168 a week).
 */
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
 * Whether the figures of a metric in [from, to) come from its hourly
 * points: when the range reaches past METRICS_KEEP_5M, or one instance
 * (an interface, a file system) has more than METRICS_MAX_POINTS 5-minute
 * ones in it (a full week has 2,016).  One step for the whole range, so
 * that every hour weighs the same: the week before a weekly report's (its
 * "change") starts 14 days back, where only hourly rows are left.
 */
static int
hf_hourly(struct metrics *m, const char *host, const char *metric, time_t from,
    time_t to)
{
	if (from < clock_now() - METRICS_KEEP_5M)
		return 1;
	return metrics_most_points(m, host, metric, from, to) >
	    METRICS_MAX_POINTS;
}

static int
hf_point_cb(const char *inst, int64_t at, double avg, void *arg)
{
	(void)inst;
	hf_add(arg, (double)at, avg);
	return 0;
}

/*
 * Every point of one metric in [from, to) into s, summed over its
 * instances per time with METRICS_EACH_SUM; hourly as hf_hourly says.
 */
static void
hf_read(struct sopd *sd, const char *host, const char *metric, time_t from,
    time_t to, int flags, struct hf_series *s)
{
	struct metrics *m = poll_metrics(sd->poller);

	if (m == NULL)
		return;
	if (hf_hourly(m, host, metric, from, to))
		flags |= METRICS_EACH_HOURLY;
	if (metrics_series_each(m, host, metric, NULL, from, to, flags,
		hf_point_cb, s) == -1)
		s->n = 0;
}

/*
 * Traffic: every interface's bits per second in and out, summed per
 * point.  The store sums the interfaces (METRICS_EACH_SUM), so a switch's
 * 48 ports cost what one does: one point per time and direction.
 */
static void
hf_traffic(struct sopd *sd, const char *host, time_t from, time_t to,
    struct hf_series *s)
{
	struct metrics *m = poll_metrics(sd->poller);
	struct hf_series in = { 0 }, out = { 0 };
	size_t i = 0, j = 0;
	int flags = METRICS_EACH_SUM;

	if (m == NULL)
		return;
	if (hf_hourly(m, host, "if.in_bps", from, to) ||
	    hf_hourly(m, host, "if.out_bps", from, to))
		flags |= METRICS_EACH_HOURLY;
	if (metrics_series_each(m, host, "if.in_bps", NULL, from, to, flags,
		hf_point_cb, &in) == -1 ||
	    metrics_series_each(m, host, "if.out_bps", NULL, from, to, flags,
		hf_point_cb, &out) == -1)
		in.n = out.n = 0;
	while (i < in.n || j < out.n) {
		if (j == out.n || (i < in.n && in.t[i] < out.t[j])) {
			hf_add(s, in.t[i], in.v[i]);
			i++;
		} else if (i == in.n || out.t[j] < in.t[i]) {
			hf_add(s, out.t[j], out.v[j]);
			j++;
		} else {
			hf_add(s, in.t[i], in.v[i] + out.v[j]);
			i++, j++;
		}
	}
	hf_clear(&in);
	hf_clear(&out);
}

/*
 * The file systems as they are read, one at a time: cur holds the points
 * of inst, best those of the fullest so far (by its maximum), bestinst.
 */
struct hf_disks {
	struct hf_series cur, best;
	char *inst, *bestinst;
	double bestmax;
	json_t *full;
};

/* The points of d->inst are all read: full soon, the fullest so far. */
static void
hf_disk_done(struct hf_disks *d)
{
	struct perfstat_sum sum;
	struct hf_series swap;
	double days;

	if (d->inst == NULL)
		return;
	days = perfstat_days_to_full(d->cur.t, d->cur.v, d->cur.n, 100.0);
	if (days >= 0 && days <= HOSTFIG_FULL_DAYS)
		json_array_append_new(d->full,
		    json_pack("{s:s, s:f}", "mount", d->inst, "days", days));
	if (perfstat_summary(d->cur.v, d->cur.n, &sum) == 0 &&
	    sum.max > d->bestmax) {
		swap = d->best;
		d->best = d->cur;
		d->cur = swap;
		free(d->bestinst);
		d->bestinst = d->inst;
		d->inst = NULL;
		d->bestmax = sum.max;
	}
	d->cur.n = 0;
	free(d->inst);
	d->inst = NULL;
}

static int
hf_disk_cb(const char *inst, int64_t at, double avg, void *arg)
{
	struct hf_disks *d = arg;

	if (d->inst != NULL && strcmp(d->inst, inst) != 0)
		hf_disk_done(d);
	if (d->inst == NULL)
		d->inst = xstrdup(inst);
	hf_add(&d->cur, (double)at, avg);
	return 0;
}

/*
 * File systems: the fullest one (by its maximum) as "disk" with its
 * mount, and every one that is full within HOSTFIG_FULL_DAYS.  At most
 * two file systems' points are held (the one read, the fullest so far),
 * then the week before of the fullest.
 */
static void
hf_disks(struct sopd *sd, const char *host, time_t from, time_t to, json_t *fig)
{
	struct metrics *m = poll_metrics(sd->poller);
	struct hf_disks d = { .bestmax = -1 };
	struct hf_series prev = { 0 };
	json_t *best = NULL;
	int flags = 0;

	d.full = json_array();
	if (m != NULL && hf_hourly(m, host, "disk.used_pct", from, to))
		flags = METRICS_EACH_HOURLY;
	if (m != NULL &&
	    metrics_series_each(m, host, "disk.used_pct", NULL, from, to, flags,
		hf_disk_cb, &d) == 0)
		hf_disk_done(&d);
	if (d.bestinst != NULL) {
		flags = 0;
		if (hf_hourly(m, host, "disk.used_pct", from - (to - from),
			from))
			flags = METRICS_EACH_HOURLY;
		if (metrics_series_each(m, host, "disk.used_pct", d.bestinst,
			from - (to - from), from, flags, hf_point_cb,
			&prev) == -1)
			prev.n = 0;
		best = perfstat_metric_json(d.best.t, d.best.v, d.best.n,
		    prev.v, prev.n, 0);
		json_object_set_new(best, "mount", json_string(d.bestinst));
	}
	json_object_set_new(fig, "disk", best != NULL ? best : json_null());
	json_object_set_new(fig, "disks_full_in_30d", d.full);
	hf_clear(&d.cur);
	hf_clear(&d.best);
	hf_clear(&prev);
	free(d.inst);
	free(d.bestinst);
}

/* One figure of a plain series and its previous period. */
static json_t *
hf_figure(struct sopd *sd, const char *host, const char *metric, time_t from,
    time_t to, double threshold)
{
	struct hf_series s = { 0 }, prev = { 0 };
	json_t *o;

	if (metric != NULL) {
		hf_read(sd, host, metric, from, to, 0, &s);
		hf_read(sd, host, metric, from - (to - from), from, 0, &prev);
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
