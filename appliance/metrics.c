/* metrics.c: polled host metrics: stored, rolled up, pruned, held to rules. */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "incident.h"
#include "log.h"
#include "metrics.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

#define METRICS_WRITE_STEP 250 /* samples between clock reads */

/* Since when a rule's condition holds for (rule, host, instance). */
struct mstate {
	char *key; /* "RULE\tHOST\tINST" */
	int64_t since;
	int superseded; /* its incident was settled for a worse one */
};

/* A sample waiting for the incidents' next commit. */
struct mrow {
	char *host, *metric, *inst;
	int64_t at;
	double value;
};

/*
 * The samples of every poll wait in pend and are written by the incidents'
 * batched commit (an observer's write hook), METRICS_WRITE_MAX a commit,
 * so the polls of many hosts cost one transaction, not one each.
 */
struct metrics {
	struct sopd *sd;
	void *states; /* tsearch(3) tree of struct mstate */
	size_t nstates;
	uint64_t dropped; /* states not tracked (over bound) */
	struct mrow *pend;
	size_t npend, cap;
	size_t nwrote; /* the first nwrote are in the commit under way */
};

static int
metrics_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mstate *)a)->key,
	    ((const struct mstate *)b)->key);
}

static int metrics_write_cb(struct store *, void *, uint64_t);
static void metrics_written_cb(void *);
static const struct incident_hooks metrics_hooks = { NULL, metrics_write_cb,
	metrics_written_cb };

struct metrics *
metrics_new(struct sopd *sd)
{
	struct metrics *m;

	m = xcalloc(1, sizeof(*m));
	m->sd = sd;
	if (sd->incidents != NULL)
		incidents_add_hooks(sd->incidents, &metrics_hooks, m);
	return m;
}

/* Forget the first n waiting samples. */
static void
metrics_pend_drop(struct metrics *m, size_t n)
{
	size_t i;

	if (n == 0 || m->npend == 0)
		return;
	for (i = 0; i < n && i < m->npend; i++) {
		free(m->pend[i].host);
		free(m->pend[i].metric);
		free(m->pend[i].inst);
	}
	m->npend -= i;
	memmove(m->pend, m->pend + i, m->npend * sizeof(*m->pend));
}

/*
 * Write the first waiting samples in the commit: at most METRICS_WRITE_MAX,
 * METRICS_WRITE_STEP at a time until the commit's deadline (0: none). The
 * rest asks for the next commit (metrics_written_cb).
 */
static int
metrics_write_cb(struct store *st, void *arg, uint64_t until_us)
{
	struct metrics *m = arg;
	struct store_metric *rows;
	size_t i, n, k;
	int rc = 0;

	m->nwrote = 0;
	if ((n = m->npend) == 0)
		return 0;
	if (n > METRICS_WRITE_MAX)
		n = METRICS_WRITE_MAX;
	rows = xcalloc(n, sizeof(*rows));
	for (i = 0; i < n; i++) {
		rows[i].host = m->pend[i].host;
		rows[i].metric = m->pend[i].metric;
		rows[i].inst = m->pend[i].inst;
		rows[i].at = m->pend[i].at;
		rows[i].value = m->pend[i].value;
	}
	for (i = 0; i < n && rc == 0; i += k) {
		if (i > 0 && until_us != 0 && stats_mono_us() >= until_us)
			break;
		k = n - i < METRICS_WRITE_STEP ? n - i : METRICS_WRITE_STEP;
		rc = store_put_metrics(st, rows + i, k);
	}
	free(rows);
	if (rc == 0)
		m->nwrote = i;
	return rc;
}

/* The commit succeeded: the samples written go; the rest in the next one. */
static void
metrics_written_cb(void *arg)
{
	struct metrics *m = arg;

	metrics_pend_drop(m, m->nwrote);
	m->nwrote = 0;
	if (m->npend > 0)
		incidents_want_commit(m->sd->incidents);
}

static void
metrics_free_state(void *p)
{
	struct mstate *s = p;

	free(s->key);
	free(s);
}

void
metrics_free(struct metrics *m)
{
	size_t left;

	if (m == NULL)
		return;
	if (m->sd->incidents != NULL) {
		/* Every waiting sample is committed before sopd stops. */
		while ((left = m->npend) > 0) {
			incidents_want_commit(m->sd->incidents);
			if (incidents_flush(m->sd->incidents) == -1 ||
			    m->npend >= left)
				break;
		}
		incidents_remove_hooks(m->sd->incidents, &metrics_hooks, m);
	}
	if (m->npend > 0)
		log_warnx("poll: %zu samples not stored", m->npend);
	metrics_pend_drop(m, m->npend);
	free(m->pend);
	tdestroy(m->states, metrics_free_state);
	free(m);
}

/* Find (or with create, add) the state of a key; NULL if absent or full. */
static struct mstate *
metrics_state(struct metrics *m, const char *key, int create)
{
	struct mstate q, *s, **found;

	q.key = (char *)key;
	if ((found = tfind(&q, &m->states, metrics_cmp)) != NULL)
		return *found;
	if (!create)
		return NULL;
	if (m->nstates >= METRICS_MAX_STATES) {
		m->dropped++;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->key = xstrdup(key);
	if (tsearch(s, &m->states, metrics_cmp) == NULL)
		fatalx("tsearch: out of memory");
	m->nstates++;
	return s;
}

static void
metrics_forget(struct metrics *m, const char *key)
{
	struct mstate *s;

	if ((s = metrics_state(m, key, 0)) == NULL)
		return;
	tdelete(s, &m->states, metrics_cmp);
	metrics_free_state(s);
	m->nstates--;
}

/* Expand a metric rule's title: {host}, {rule}, {metric}, {inst}, {value}. */
static void
metrics_title(const struct rule *r, const char *host,
    const struct metric_sample *s, char *out, size_t size)
{
	const char *p = r->title, *v;
	char num[64];
	size_t o = 0, len;

	if (p == NULL)
		p = "{rule} on {host}: {metric} {inst} is {value}";
	snprintf(num, sizeof(num), "%.4g", s->value);
	while (*p != '\0' && o + 1 < size) {
		v = NULL;
		if (strncmp(p, "{host}", 6) == 0)
			v = host, len = 6;
		else if (strncmp(p, "{rule}", 6) == 0)
			v = r->name, len = 6;
		else if (strncmp(p, "{metric}", 8) == 0)
			v = s->metric, len = 8;
		else if (strncmp(p, "{inst}", 6) == 0)
			v = s->inst != NULL ? s->inst : "", len = 6;
		else if (strncmp(p, "{value}", 7) == 0)
			v = num, len = 7;
		if (v == NULL) {
			out[o++] = *p++;
			continue;
		}
		o += (size_t)snprintf(out + o, size - o, "%s", v);
		if (o >= size)
			o = size - 1;
		p += len;
	}
	out[o] = '\0';
}

/* The incident key of a metric rule for host and the sample's instance. */
static void
metrics_key(const struct rule *r, const char *host,
    const struct metric_sample *s, char *key, size_t size)
{
	if (s->inst != NULL && *s->inst != '\0')
		snprintf(key, size, "%s:%s:%s", r->name, host, s->inst);
	else
		snprintf(key, size, "%s:%s", r->name, host);
}

/*
 * The most severe rule on the same metric, more severe than r, whose
 * incident is active for the same host and instance; NULL if none.
 */
static const struct rule *
metrics_worse(struct metrics *m, const struct rule *r, const char *host,
    const struct metric_sample *s)
{
	struct ruleset *rs = m->sd->rules;
	const struct rule *o, *worst = NULL;
	char key[512];
	size_t i, n = ruleset_count(rs);

	for (i = 0; i < n; i++) {
		o = ruleset_rule(rs, i);
		if (o == r || o->action != RULE_METRIC || o->metric == NULL ||
		    strcmp(o->metric->name, r->metric->name) != 0 ||
		    o->severity >= r->severity ||
		    (worst != NULL && o->severity >= worst->severity))
			continue;
		metrics_key(o, host, s, key, sizeof(key));
		if (incidents_active_id(m->sd->incidents, o->name, key) != 0)
			worst = o;
	}
	return worst;
}

/*
 * Hold one sample against one metric rule.  A rule whose incident was
 * settled for a more severe one (superseded) opens again, at once, when
 * the worse one resolves while the value has not reached its own clear.
 */
static void
metrics_rule(struct metrics *m, const struct rule *r, const char *host,
    const struct metric_sample *s, int64_t at)
{
	const struct rule_metric *rm = r->metric;
	char key[512], skey[640], title[512], note[128];
	struct mstate *st;
	int holds, clears, active, band;

	metrics_key(r, host, s, key, sizeof(key));
	snprintf(skey, sizeof(skey), "%s\t%s\t%s", r->name, host,
	    s->inst != NULL ? s->inst : "");
	active = incidents_active_id(m->sd->incidents, r->name, key) != 0;
	holds = rule_cmp_holds(rm->op, s->value, rm->value);
	clears = rm->has_clear ?
	    rule_cmp_holds(rm->clear_op, s->value, rm->clear_value) :
	    !holds;
	st = metrics_state(m, skey, 0);
	band = st != NULL && st->superseded && !clears;
	if ((holds || band) && !active) {
		if (st == NULL && (st = metrics_state(m, skey, 1)) == NULL)
			return;
		if (st->since == 0)
			st->since = at;
		if (!band && at - st->since < rm->for_s)
			return;
		if (metrics_worse(m, r, host, s) != NULL)
			return;
		st->superseded = 0;
		metrics_title(r, host, s, title, sizeof(title));
		incidents_raise(m->sd->incidents, r, key, host, title, at);
		return;
	}
	if (!holds && !band)
		metrics_forget(m, skey);
	if (active && clears) {
		snprintf(note, sizeof(note), "%s is %.4g", s->metric, s->value);
		incidents_settle(m->sd->incidents, r->name, key, note, at);
	}
}

/* Settle r's active incident if a more severe rule's is active too. */
static void
metrics_supersede(struct metrics *m, const struct rule *r, const char *host,
    const struct metric_sample *s, int64_t at)
{
	const struct rule *worse;
	struct mstate *st;
	char key[512], skey[640], note[160];

	metrics_key(r, host, s, key, sizeof(key));
	if (incidents_active_id(m->sd->incidents, r->name, key) == 0 ||
	    (worse = metrics_worse(m, r, host, s)) == NULL)
		return;
	snprintf(note, sizeof(note), "superseded by %s (%s): %s is %.4g",
	    worse->name, severity_name(worse->severity), s->metric, s->value);
	incidents_settle(m->sd->incidents, r->name, key, note, at);
	snprintf(skey, sizeof(skey), "%s\t%s\t%s", r->name, host,
	    s->inst != NULL ? s->inst : "");
	if ((st = metrics_state(m, skey, 1)) != NULL) {
		st->superseded = 1;
		if (st->since == 0)
			st->since = at;
	}
}

#define METRICS_MAX_SAME 32 /* rules on one metric sorted by severity */

static int
metrics_sevcmp(const void *a, const void *b)
{
	const struct rule *x = *(const struct rule *const *)a;
	const struct rule *y = *(const struct rule *const *)b;

	return (x->severity > y->severity) - (x->severity < y->severity);
}

/*
 * Hold one sample against every metric rule of its name, the most severe
 * first (so a worse incident resolving lets a superseded one reopen in the
 * same poll); then the more severe of two incidents open for the same host
 * and instance supersedes the other.
 */
static void
metrics_check(struct metrics *m, const char *host,
    const struct metric_sample *s, int64_t at)
{
	struct ruleset *rs = m->sd->rules;
	struct rule *r, *same[METRICS_MAX_SAME];
	size_t i, k = 0, n = ruleset_count(rs);

	for (i = 0; i < n; i++) {
		r = ruleset_rule(rs, i);
		if (r->action != RULE_METRIC || r->metric == NULL ||
		    strcmp(r->metric->name, s->metric) != 0)
			continue;
		if (k < METRICS_MAX_SAME)
			same[k++] = r;
		else
			metrics_rule(m, r, host, s, at);
	}
	qsort(same, k, sizeof(same[0]), metrics_sevcmp);
	for (i = 0; i < k; i++)
		metrics_rule(m, same[i], host, s, at);
	for (i = 0; i < k; i++)
		metrics_supersede(m, same[i], host, s, at);
}

/* Keep a poll's samples for the incidents' next commit; -1 when full. */
static int
metrics_pend(struct metrics *m, const char *host, const struct metric_sample *s,
    size_t n, int64_t at)
{
	struct mrow *r;
	size_t i;

	if (m->sd->incidents == NULL || m->npend + n > METRICS_PENDING_MAX)
		return -1;
	if (m->npend + n > m->cap) {
		m->cap = m->cap == 0 ? 1024 : m->cap * 2;
		while (m->cap < m->npend + n)
			m->cap *= 2;
		m->pend = xreallocarray(m->pend, m->cap, sizeof(*m->pend));
	}
	for (i = 0; i < n; i++) {
		r = &m->pend[m->npend++];
		r->host = xstrdup(host);
		r->metric = xstrdup(s[i].metric);
		r->inst = s[i].inst != NULL ? xstrdup(s[i].inst) : NULL;
		r->at = at;
		r->value = s[i].value;
	}
	if (m->npend == n)
		incidents_want_commit(m->sd->incidents);
	return 0;
}

void
metrics_record(struct metrics *m, const char *host,
    const struct metric_sample *s, size_t n, int64_t at)
{
	struct store_metric *rows;
	size_t i;

	if (metrics_pend(m, host, s, n, at) == 0) {
		for (i = 0; i < n; i++)
			metrics_check(m, host, &s[i], at);
		return;
	}
	/* Too many waiting (the store is stuck): this poll on its own. */
	rows = xcalloc(n ? n : 1, sizeof(*rows));
	for (i = 0; i < n; i++) {
		rows[i].host = host;
		rows[i].metric = s[i].metric;
		rows[i].inst = s[i].inst;
		rows[i].at = at;
		rows[i].value = s[i].value;
	}
	if (store_put_metrics(incidents_store(m->sd->incidents), rows, n) == -1)
		log_warnx("poll: %s: %zu samples not stored", host, n);
	free(rows);
	for (i = 0; i < n; i++)
		metrics_check(m, host, &s[i], at);
}

static int64_t
metrics_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
metrics_prune_turn(struct store *st, int64_t now, size_t *deleted)
{
	int64_t start, t0, t1 = 0;
	int n;

	*deleted = 0;
	start = metrics_mono_us();
	do {
		t0 = t1 != 0 ? t1 : start;
		n = store_prune_metrics(st, now - METRICS_KEEP_5M,
		    now - METRICS_KEEP_1H, METRICS_PRUNE_SLICE);
		if (n == -1)
			return METRICS_PRUNE_EVERY;
		*deleted += (size_t)n;
		if (n < METRICS_PRUNE_SLICE)
			return METRICS_PRUNE_EVERY;
		t1 = metrics_mono_us();
	} while ((t1 - start) + (t1 - t0) <= METRICS_PRUNE_US);
	return METRICS_PRUNE_SOON;
}

int
metrics_prune(struct metrics *m, int64_t now)
{
	size_t n;
	int next;

	next = metrics_prune_turn(incidents_store(m->sd->incidents), now, &n);
	if (n > 0)
		log_debug("poll: pruned %zu expired metric rows%s", n,
		    next == METRICS_PRUNE_SOON ? ", more to go" : "");
	return next;
}

struct metrics_read {
	json_t *points;
	size_t n;
};

static int
metrics_row_cb(const struct store_qrow *r, void *arg)
{
	struct metrics_read *rd = arg;

	if (rd->n++ >= METRICS_MAX_POINTS)
		return 1;
	json_array_append_new(rd->points,
	    json_pack("{s:s, s:I, s:f, s:f, "
		      "s:f, s:I}",
		"inst", r->text[0] != NULL ? r->text[0] : "", "at",
		(json_int_t)r->num[1], "avg",
		r->num[3] > 0 ? r->real[2] / (double)r->num[3] : 0.0, "min",
		r->real[4], "max", r->real[5], "samples",
		(json_int_t)r->num[3]));
	return 0;
}

json_t *
metrics_series_json(struct metrics *m, const char *host, const char *metric,
    const char *inst, int64_t from, int64_t to, int hourly)
{
	char sql[512];
	struct store_param p[4];
	struct metrics_read rd;

	snprintf(sql, sizeof(sql),
	    "SELECT inst, at, sum, n, min, max FROM "
	    "%s WHERE host = ?1 AND metric = ?2 AND at >= ?3 AND at < ?4 %s "
	    "ORDER BY inst, at LIMIT %d",
	    hourly ? "metric_1h" : "metric_5m",
	    inst != NULL ? "AND inst = ?5" : "", METRICS_MAX_POINTS + 1);
	memset(p, 0, sizeof(p));
	p[0].text = host;
	p[1].text = metric;
	p[2].num = from;
	p[3].num = to;
	rd.points = json_array();
	rd.n = 0;
	if (inst != NULL) {
		struct store_param q[5];

		memcpy(q, p, sizeof(p));
		q[4].text = inst;
		q[4].num = 0;
		if (store_query(incidents_store(m->sd->incidents), sql, q, 5,
			metrics_row_cb, &rd) == -1)
			goto fail;
	} else if (store_query(incidents_store(m->sd->incidents), sql, p, 4,
		       metrics_row_cb, &rd) == -1)
		goto fail;
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:b}", "host", host,
	    "metric", metric, "step", hourly ? "1h" : "5m", "from",
	    (json_int_t)from, "to", (json_int_t)to, "points", rd.points,
	    "truncated", rd.n > METRICS_MAX_POINTS);
fail:
	json_decref(rd.points);
	return NULL;
}

struct metrics_each {
	metrics_point_cb cb;
	void *arg;
};

static int
metrics_each_cb(const struct store_qrow *r, void *arg)
{
	struct metrics_each *e = arg;

	return e->cb(r->text[0] != NULL ? r->text[0] : "", r->num[1],
	    r->real[2], e->arg);
}

int
metrics_series_each(struct metrics *m, const char *host, const char *metric,
    const char *inst, int64_t from, int64_t to, int flags, metrics_point_cb cb,
    void *arg)
{
	const char *table =
	    flags & METRICS_EACH_HOURLY ? "metric_1h" : "metric_5m";
	struct metrics_each e = { cb, arg };
	struct store_param p[5];
	char sql[512];

	if (flags & METRICS_EACH_SUM)
		snprintf(sql, sizeof(sql),
		    "SELECT '', at, sum(sum / n) FROM %s WHERE host = ?1 AND "
		    "metric = ?2 AND at >= ?3 AND at < ?4 AND n > 0 "
		    "GROUP BY at ORDER BY at",
		    table);
	else
		snprintf(sql, sizeof(sql),
		    "SELECT inst, at, CASE WHEN n > 0 THEN sum / n ELSE 0 END "
		    "FROM %s WHERE host = ?1 AND metric = ?2 AND at >= ?3 AND "
		    "at < ?4 %s ORDER BY inst, at",
		    table, inst != NULL ? "AND inst = ?5" : "");
	memset(p, 0, sizeof(p));
	p[0].text = host;
	p[1].text = metric;
	p[2].num = from;
	p[3].num = to;
	p[4].text = inst;
	return store_query(incidents_store(m->sd->incidents), sql, p,
	    inst != NULL && !(flags & METRICS_EACH_SUM) ? 5 : 4,
	    metrics_each_cb, &e);
}

static int
metrics_count_cb(const struct store_qrow *r, void *arg)
{
	*(int64_t *)arg = r->num[0];
	return 1;
}

int64_t
metrics_most_points(struct metrics *m, const char *host, const char *metric,
    int64_t from, int64_t to)
{
	struct store_param p[4];
	int64_t most = 0;

	memset(p, 0, sizeof(p));
	p[0].text = host;
	p[1].text = metric;
	p[2].num = from;
	p[3].num = to;
	if (store_query(incidents_store(m->sd->incidents),
		"SELECT count(*) AS c FROM metric_5m WHERE host = ?1 AND "
		"metric = ?2 AND at >= ?3 AND at < ?4 GROUP BY inst "
		"ORDER BY c DESC LIMIT 1",
		p, 4, metrics_count_cb, &most) == -1)
		return -1;
	return most;
}
