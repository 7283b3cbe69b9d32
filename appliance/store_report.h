/* store_report.h: the aggregate queries of the reports on the store. */
#ifndef SOPD_STORE_REPORT_H
#define SOPD_STORE_REPORT_H

#include <stdint.h>
#include <time.h>

#include "store.h"

/*
 * Each query runs through store_query's bounded read and hands its rows
 * (struct store_qrow, columns as listed) to cb; 0, or -1 on an error.
 * "Opened" means first seen in [start, end); "active" means first seen
 * before at and not resolved before it.  A "worst" column is the rank of
 * the worst severity (0: critical ... 4: info).
 */
struct store_period {
	time_t start;
	time_t end;
	time_t at;
};

/* Which incidents store_report_severities counts. */
enum store_report_set {
	STORE_REPORT_OPENED,   /* opened in the period */
	STORE_REPORT_RESOLVED, /* resolved in [start, end) */
	STORE_REPORT_ACTIVE    /* active at at */
};

/* Single numbers of store_report_count. */
enum store_report_num {
	STORE_REPORT_EVENTS,	  /* events of the incidents opened */
	STORE_REPORT_ESCALATIONS, /* escalations made in [start, end) */
	STORE_REPORT_FAILED,	  /* failed verifications in [start, end) */
	STORE_REPORT_HOSTS	  /* hosts with incidents opened or active */
};

/* Rows (severity, count) of a set of incidents. */
int store_report_severities(struct store *, const struct store_period *,
    enum store_report_set, store_qrow_cb, void *);
/* One number of the period into *n (0 when there is nothing). */
int store_report_count(struct store *, const struct store_period *,
    enum store_report_num, int64_t *n);
/*
 * Rows (host or rule, incidents, events, worst) of the hosts (by_rule 0)
 * or rules with at least min incidents opened: with min 1 the most events
 * first, else the most incidents; at most limit rows.
 */
int store_report_noisy(struct store *, const struct store_period *, int by_rule,
    int min, int limit, store_qrow_cb, void *);
/*
 * Rows (host, incidents, active, events, worst) of the hosts with
 * incidents opened or active, the most active first; at most limit.
 */
int store_report_hosts(struct store *, const struct store_period *, int limit,
    store_qrow_cb, void *);
/* Rows (host, id, worst) of the incidents of a JSON array of ids. */
int store_report_incidents(struct store *, const char *ids, int limit,
    store_qrow_cb, void *);
/*
 * Rows (window id, start, end, ended, record) of the window occurrences
 * overlapping [start, end), by start; at most limit.
 */
int store_report_windows(struct store *, const struct store_period *, int limit,
    store_qrow_cb, void *);
/*
 * SLA of the incidents of a severity opened in the period, against a
 * deadline secs after their escalation clock started (held by a window:
 * at its end) as of at: one row (incidents, met, missed).
 */
int store_report_sla(struct store *, const struct store_period *,
    const char *severity, int64_t secs, store_qrow_cb, void *);
/*
 * The same incidents for a business-time deadline: rows (clock start,
 * resolved at or NULL), by id; at most limit.
 */
int store_report_sla_rows(struct store *, const struct store_period *,
    const char *severity, int limit, store_qrow_cb, void *);
/*
 * Rows (severity, incidents, acknowledged, mean seconds to acknowledge,
 * resolved, mean seconds to resolve) of the incidents opened; the means
 * are NULL without such an incident.
 */
int store_report_times(struct store *, const struct store_period *,
    store_qrow_cb, void *);

#endif
