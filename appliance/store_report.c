/*
 * store_report.c: the aggregate queries the reports make on the store's
 * incidents, history, escalation steps and window records.
 */
#include "store_report.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* How a severity sorts (0 = critical), for "worst" columns. */
#define SR_RANK                                              \
	"(CASE severity WHEN 'critical' THEN 0 WHEN 'high' " \
	"THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END)"
/* Incidents opened in [?1, ?2). */
#define SR_OPENED "first_seen >= ?1 AND first_seen < ?2"
/* Incidents active at ?3. */
#define SR_ACTIVE                                      \
	"first_seen < ?3 AND (resolved_at IS NULL OR " \
	"resolved_at >= ?3)"
/* Hosts of incidents opened in the period or active at ?3. */
#define SR_SERVERS "host IS NOT NULL AND ((" SR_OPENED ") OR (" SR_ACTIVE "))"
/* When an incident's escalation clock started (held by a window: later). */
#define SR_CLOCK                                        \
	"COALESCE((SELECT due FROM escalation e WHERE " \
	"e.incident_id = i.id AND e.step = -1), i.first_seen)"
/* The incidents of severity ?4 opened in the period, their clock start. */
#define SR_SLA                                                             \
	"SELECT " SR_CLOCK " AS cs, i.resolved_at AS ra FROM incidents i " \
	"WHERE i.severity = ?4 AND i.first_seen >= ?1 AND i.first_seen < ?2"

/* Parameters ?1 start, ?2 end, ?3 at (np of them used). */
static void
store_report_params(const struct store_period *pd, struct store_param *p)
{
	memset(p, 0, 5 * sizeof(*p));
	p[0].num = pd->start;
	p[1].num = pd->end;
	p[2].num = pd->at;
}

/* Rows (severity, count) of a set of incidents. */
int
store_report_severities(struct store *st, const struct store_period *pd,
    enum store_report_set set, store_qrow_cb cb, void *arg)
{
	static const char *sql[] = {
		"SELECT severity, COUNT(*) FROM incidents WHERE " SR_OPENED
		" GROUP BY severity",
		"SELECT severity, COUNT(*) FROM incidents WHERE resolved_at >= "
		"?1 AND resolved_at < ?2 GROUP BY severity",
		"SELECT severity, COUNT(*) FROM incidents WHERE " SR_ACTIVE
		" GROUP BY severity"
	};
	struct store_param p[5];

	store_report_params(pd, p);
	return store_query(st, sql[set], p, 3, cb, arg);
}

/* One row of a single number. */
static int
store_report_num_cb(const struct store_qrow *q, void *arg)
{
	*(int64_t *)arg = q->num[0];
	return 1;
}

/* One number of the period. */
int
store_report_count(struct store *st, const struct store_period *pd,
    enum store_report_num what, int64_t *n)
{
	static const char *sql[] = { "SELECT COALESCE(SUM(count), 0) FROM "
				     "incidents WHERE " SR_OPENED,
		"SELECT COUNT(*) FROM incident_history WHERE action = "
		"'escalate' AND at >= ?1 AND at < ?2",
		"SELECT COUNT(*) FROM incident_history WHERE action = "
		"'verify-failed' AND at >= ?1 AND at < ?2",
		"SELECT COUNT(DISTINCT host) FROM incidents "
		"WHERE " SR_SERVERS };
	struct store_param p[5];

	*n = 0;
	store_report_params(pd, p);
	return store_query(st, sql[what], p, 3, store_report_num_cb, n);
}

/* Hosts or rules with at least min incidents opened. */
int
store_report_noisy(struct store *st, const struct store_period *pd, int by_rule,
    int min, int limit, store_qrow_cb cb, void *arg)
{
	const char *what = by_rule ? "rule" : "host";
	struct store_param p[5];
	char *sql;
	int rc;

	xasprintf(&sql,
	    "SELECT %s, COUNT(*), SUM(count), MIN(" SR_RANK
	    ") FROM incidents WHERE " SR_OPENED " AND %s IS NOT NULL "
	    "GROUP BY %s HAVING COUNT(*) >= %d ORDER BY %s, %s LIMIT %d",
	    what, what, what, min,
	    min > 1 ? "2 DESC, 3 DESC" : "3 DESC, 2 DESC", what, limit);
	store_report_params(pd, p);
	rc = store_query(st, sql, p, 3, cb, arg);
	free(sql);
	return rc;
}

/* The hosts with incidents opened or active, the most active first. */
int
store_report_hosts(struct store *st, const struct store_period *pd, int limit,
    store_qrow_cb cb, void *arg)
{
	struct store_param p[5];
	char *sql;
	int rc;

	xasprintf(&sql,
	    "SELECT host, COUNT(*), SUM(%s), SUM(count), MIN(" SR_RANK
	    ") FROM incidents WHERE %s GROUP BY host ORDER BY 3 "
	    "DESC, 5, 2 DESC, host LIMIT %d",
	    SR_ACTIVE, SR_SERVERS, limit);
	store_report_params(pd, p);
	rc = store_query(st, sql, p, 3, cb, arg);
	free(sql);
	return rc;
}

/* The incidents of a JSON array of ids, with their hosts. */
int
store_report_incidents(struct store *st, const char *ids, int limit,
    store_qrow_cb cb, void *arg)
{
	struct store_param p[2];

	p[0].text = ids;
	p[0].num = 0;
	p[1].text = NULL;
	p[1].num = limit;
	return store_query(st,
	    "SELECT host, id, " SR_RANK " FROM incidents WHERE id IN (SELECT "
	    "value FROM json_each(?1)) ORDER BY id LIMIT ?2",
	    p, 2, cb, arg);
}

/* The window occurrences overlapping the period. */
int
store_report_windows(struct store *st, const struct store_period *pd, int limit,
    store_qrow_cb cb, void *arg)
{
	struct store_param p[5];
	char *sql;
	int rc;

	xasprintf(&sql,
	    "SELECT window_id, start, end, ended, record FROM "
	    "window_log WHERE start < ?2 AND end > ?1 ORDER BY start, "
	    "window_id LIMIT %d",
	    limit);
	store_report_params(pd, p);
	rc = store_query(st, sql, p, 2, cb, arg);
	free(sql);
	return rc;
}

/* SLA counts of a severity against a wall-clock deadline. */
int
store_report_sla(struct store *st, const struct store_period *pd,
    const char *severity, int64_t secs, store_qrow_cb cb, void *arg)
{
	struct store_param p[5];

	store_report_params(pd, p);
	p[3].text = severity;
	p[4].num = secs;
	return store_query(st,
	    "SELECT COUNT(*), COALESCE(SUM(ra IS NOT NULL AND ra <= cs + ?5), "
	    "0), COALESCE(SUM((ra IS NOT NULL AND ra > cs + ?5) OR (ra IS "
	    "NULL AND cs + ?5 <= ?3)), 0) FROM (" SR_SLA ")",
	    p, 5, cb, arg);
}

/* The incidents of a severity for a business-time deadline. */
int
store_report_sla_rows(struct store *st, const struct store_period *pd,
    const char *severity, int limit, store_qrow_cb cb, void *arg)
{
	struct store_param p[5];
	char *sql;
	int rc;

	xasprintf(&sql, "%s ORDER BY i.id LIMIT %d", SR_SLA, limit);
	store_report_params(pd, p);
	p[3].text = severity;
	rc = store_query(st, sql, p, 4, cb, arg);
	free(sql);
	return rc;
}

/* Mean times to acknowledge and resolve per severity. */
int
store_report_times(struct store *st, const struct store_period *pd,
    store_qrow_cb cb, void *arg)
{
	struct store_param p[5];

	store_report_params(pd, p);
	return store_query(st,
	    "SELECT severity, COUNT(*), COUNT(acked_at), "
	    "CAST(ROUND(AVG(MAX(acked_at - first_seen, 0))) AS INTEGER), "
	    "COUNT(resolved_at), CAST(ROUND(AVG(MAX(resolved_at - first_seen, "
	    "0))) AS INTEGER) FROM incidents WHERE " SR_OPENED " GROUP BY "
	    "severity",
	    p, 2, cb, arg);
}
