/* expect.c: expected events by a calendar deadline, and silent hosts. */
#include "expect.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "clock.h"
#include "deadline.h"
#include "event.h"
#include "hash.h"
#include "incident.h"
#include "keytab.h"
#include "log.h"
#include "rules.h"
#include "store.h"
#include "xmalloc.h"

#define EXPECT_BUCKETS	   4096
#define EXPECT_SEARCH_DAYS 400 /* a deadline is found within this */
#define EXPECT_NAME_MAX	   512
#define EXPECT_TITLE                                  \
	"{rule}: expected event from {host} missing " \
	"at {deadline}"
#define SILENT_TITLE	  "Host {host} silent since {last}"
#define SILENT_RULE	  ""	      /* rule of the per-host tracker's keys */
#define EXPECT_VIEW_MAX	  1000	      /* silent hosts listed per rule */
#define EXPECT_FAIL_MAX	  4	      /* failure incidents a re-run resolves */
#define EXPECT_DAYS_SHOWN 7	      /* day records in the status */
#define EXPECT_FAIL_KEEP  (3 * 86400) /* stored failures older are dropped */

/* The record of one host and day (of a deadline), in the store's meta. */
enum xday {
	XDAY_PENDING = 0,
	XDAY_OK,
	XDAY_LATE,
	XDAY_MISSING,
	XDAY_FAILED,
	XDAY_RERUN_OK,
};
static const char *const xday_names[] = { "pending", "ok", "late", "missing",
	"failed", "re-run ok" };

/* One expectation: a rule and one of its hosts. */
struct xent {
	uint64_t id;
	char *rule;
	char *host;
	const struct rule *r;
	time_t arrival;	 /* last matching event, 0: none */
	time_t handled;	 /* last deadline checked */
	time_t next;	 /* scheduled deadline */
	int missed;	 /* the last deadline opened an incident */
	time_t fail_day; /* the deadline of the failures below */
	size_t nfail;
	char *fail_rule[EXPECT_FAIL_MAX]; /* incidents that failed it */
	char *fail_key[EXPECT_FAIL_MAX];
	int fdirty; /* the failures differ from the store's rows */
	struct xent *hnext;
	struct xent *onext; /* in rule and host order */
};

/*
 * One host heard by a silent rule's scope, keyed (SILENT_RULE, host) with
 * case folded; its keytab hash is its deadline id.  A host whose last
 * differs from what the store holds is on the dirty list until a commit
 * writes it.
 */
struct shost {
	struct keytab_entry ent;
	time_t last;
	time_t stored; /* last in the store, 0: none */
	int dirty;
	int silent; /* its deadline fired: may hold incidents */
	struct shost *dnext;
};

struct expect {
	struct incidents *is;
	struct deadlines *dq;
	const struct calendar *cal;
	struct xent *xb[EXPECT_BUCKETS];
	struct xent *xhead; /* in rule and host order */
	struct xent *xtail;
	size_t nx;
	struct keytab *hosts; /* silent-host tracker */
	struct shost *dhead;  /* not yet in the store */
	struct store *st;     /* where hosts are kept */
	int loaded;
	int fail_loaded;    /* the stored failures were read */
	int fail_prune;	    /* drop old stored failures with the next commit */
	size_t nfdirty;	    /* expectations with fdirty set */
	struct xent *stash; /* failures kept across a reload */
	uint64_t untracked;
	const struct rule **silent; /* the silent rules */
	size_t nsilent;
};

static void expect_silent_load(struct expect *);
static struct xent *expect_find(const struct expect *, const char *,
    const char *);

/* FNV-1a 64 over a, a NUL and b (b lowercased: host names). */
static uint64_t
expect_hash(const char *a, const char *b)
{
	return hash_str_lower(hash_byte(hash_str(HASH_INIT, a), 0), b);
}

/* Free a tracked host the table let go of. */
static void
expect_shost_free_cb(struct keytab_entry *e, void *arg)
{
	free(keytab_item(e, struct shost, ent));
}

static const char expect_fail_del_sql[] =
    "DELETE FROM expect_fail WHERE rule = ?1 AND host = ?2";
static const char expect_fail_add_sql[] =
    "INSERT OR REPLACE INTO expect_fail (rule, host, day, fail_rule, "
    "fail_key) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char expect_fail_prune_sql[] =
    "DELETE FROM expect_fail WHERE day < ?1";
static const char expect_fail_load_sql[] =
    "SELECT rule, host, day, fail_rule, fail_key FROM expect_fail "
    "WHERE day >= ?1 ORDER BY rowid";

/* Replace the stored failures of one expectation with its own. */
static int
expect_fail_write(struct store *st, const struct xent *x)
{
	struct store_param p[5] = { { .text = x->rule }, { .text = x->host } };
	size_t i;

	if (store_write(st, expect_fail_del_sql, p, 2) == -1)
		return -1;
	p[2].num = (int64_t)x->fail_day;
	for (i = 0; i < x->nfail; i++) {
		p[3].text = x->fail_rule[i];
		p[4].text = x->fail_key[i];
		if (store_write(st, expect_fail_add_sql, p, 5) == -1)
			return -1;
	}
	return 0;
}

/* Write the failures changed since the last commit (and prune old ones). */
static int
expect_fail_write_all(struct expect *ex, struct store *st)
{
	struct store_param p = { .num =
				     (int64_t)clock_now() - EXPECT_FAIL_KEEP };
	struct xent *x;

	if (ex->fail_prune &&
	    store_write(st, expect_fail_prune_sql, &p, 1) == -1)
		return -1;
	for (x = ex->xhead; ex->nfdirty > 0 && x != NULL; x = x->onext)
		if (x->fdirty && expect_fail_write(st, x) == -1)
			return -1;
	return 0;
}

/* Write the hosts heard since the last commit, inside its transaction. */
static int
expect_write_cb(struct store *st, void *arg)
{
	struct expect *ex = arg;
	struct shost *s;

	for (s = ex->dhead; s != NULL; s = s->dnext) {
		if (store_put_silent(st, SILENT_RULE, s->ent.key,
			(int64_t)s->last) == -1)
			return -1;
	}
	return expect_fail_write_all(ex, st);
}

/* After a commit: what was written is clean. */
static void
expect_written_cb(void *arg)
{
	struct expect *ex = arg;
	struct shost *s, *next;
	struct xent *x;

	for (x = ex->xhead; ex->nfdirty > 0 && x != NULL; x = x->onext)
		x->fdirty = 0;
	ex->nfdirty = 0;
	ex->fail_prune = 0;
	for (s = ex->dhead; s != NULL; s = next) {
		next = s->dnext;
		s->stored = s->last;
		s->dirty = 0;
		s->dnext = NULL;
	}
	ex->dhead = NULL;
}

/* A new, empty set; silent hosts ride on the incidents' commits. */
struct expect *
expect_new(struct incidents *is, struct deadlines *dq,
    const struct calendar *cal)
{
	struct expect *ex = xcalloc(1, sizeof(*ex));

	ex->is = is;
	ex->dq = dq;
	ex->cal = cal;
	ex->hosts = keytab_new(EXPECT_MAX_HOSTS, KEYTAB_CASEFOLD,
	    expect_shost_free_cb, NULL);
	ex->st = is != NULL ? incidents_store(is) : NULL;
	if (ex->st != NULL)
		store_set_commit_hook(ex->st, expect_write_cb,
		    expect_written_cb, ex);
	return ex;
}

/* Mark an expectation's failures as to be written with the next commit. */
static void
expect_fail_dirty(struct expect *ex, struct xent *x)
{
	if (!x->fdirty) {
		x->fdirty = 1;
		ex->nfdirty++;
	}
	if (ex->is != NULL)
		incidents_want_commit(ex->is);
}

/* Forget the failure incidents noted for a day. */
static void
expect_fail_forget(struct xent *x)
{
	size_t i;

	for (i = 0; i < x->nfail; i++) {
		free(x->fail_rule[i]);
		free(x->fail_key[i]);
	}
	x->nfail = 0;
	x->fail_day = 0;
}

/* Note a failure incident (rule, key) of the day of deadline d. */
static void
expect_fail_add(struct xent *x, time_t d, const char *rule, const char *key)
{
	size_t i;

	if (x->fail_day != d)
		expect_fail_forget(x);
	x->fail_day = d;
	for (i = 0; i < x->nfail; i++)
		if (strcmp(x->fail_rule[i], rule) == 0 &&
		    strcmp(x->fail_key[i], key) == 0)
			return;
	if (x->nfail < EXPECT_FAIL_MAX) {
		x->fail_rule[x->nfail] = xstrdup(rule);
		x->fail_key[x->nfail++] = xstrdup(key);
	}
}

/* Free one expectation. */
static void
expect_xent_free(struct xent *x)
{
	expect_fail_forget(x);
	free(x->rule);
	free(x->host);
	free(x);
}

/*
 * Drop every expectation and its deadline; with keep, those with failures
 * (or failures not yet stored) go to the stash for the next rule set.
 */
static void
expect_clear(struct expect *ex, int keep)
{
	struct xent *x, *next;
	size_t i;

	for (i = 0; i < EXPECT_BUCKETS; i++) {
		for (x = ex->xb[i]; x != NULL; x = next) {
			next = x->hnext;
			deadlines_cancel(ex->dq, EXPECT_DL_DEADLINE, x->id);
			if (keep && (x->nfail > 0 || x->fdirty)) {
				x->hnext = ex->stash;
				ex->stash = x;
				continue;
			}
			expect_xent_free(x);
		}
		ex->xb[i] = NULL;
	}
	ex->xhead = ex->xtail = NULL;
	ex->nx = 0;
	if (!keep)
		ex->nfdirty = 0;
}

/*
 * Give the stashed failures to the expectations of the new rule set with
 * the same rule and host; those of expectations gone stay in the store
 * until they are pruned.
 */
static void
expect_unstash(struct expect *ex)
{
	struct xent *o, *next, *x;
	size_t i;

	ex->nfdirty = 0;
	for (o = ex->stash; o != NULL; o = next) {
		next = o->hnext;
		x = expect_find(ex, o->rule, o->host);
		if (x != NULL) {
			x->fail_day = o->fail_day;
			x->nfail = o->nfail;
			for (i = 0; i < o->nfail; i++) {
				x->fail_rule[i] = o->fail_rule[i];
				x->fail_key[i] = o->fail_key[i];
			}
			o->nfail = 0;
			if (o->fdirty)
				expect_fail_dirty(ex, x);
		}
		expect_xent_free(o);
	}
	ex->stash = NULL;
}

/* One stored failure: back to its expectation. */
static int
expect_fail_row(const struct store_qrow *row, void *arg)
{
	struct expect *ex = arg;
	struct xent *x;

	if (row->ncol < 5 || row->text[0] == NULL || row->text[1] == NULL ||
	    row->text[3] == NULL || row->text[4] == NULL)
		return 0;
	x = expect_find(ex, row->text[0], row->text[1]);
	if (x != NULL && (x->nfail == 0 || x->fail_day == row->num[2]))
		expect_fail_add(x, (time_t)row->num[2], row->text[3],
		    row->text[4]);
	return 0;
}

/* Read the failures a re-run may still resolve (once, at the start). */
static void
expect_fail_load(struct expect *ex)
{
	struct store_param p = { .num =
				     (int64_t)clock_now() - EXPECT_FAIL_KEEP };

	ex->fail_loaded = 1;
	if (ex->st == NULL)
		return;
	if (store_query(ex->st, expect_fail_load_sql, &p, 1, expect_fail_row,
		ex) == -1)
		log_warnx("expect: cannot read the stored failures: %s",
		    store_error(ex->st));
	ex->fail_prune = 1;
	if (ex->is != NULL)
		incidents_want_commit(ex->is);
}

/* Commit the hosts and failures not yet stored, then free everything. */
void
expect_free(struct expect *ex)
{
	if (ex == NULL)
		return;
	if ((ex->dhead != NULL || ex->nfdirty > 0) && ex->is != NULL) {
		incidents_want_commit(ex->is);
		incidents_flush(ex->is);
	}
	if (ex->st != NULL)
		store_set_commit_hook(ex->st, NULL, NULL, NULL);
	expect_clear(ex, 0);
	keytab_free(ex->hosts);
	free(ex->silent);
	free(ex);
}

/* The expectation with this id, or NULL. */
static struct xent *
expect_find_id(const struct expect *ex, uint64_t id)
{
	struct xent *x;

	for (x = ex->xb[id % EXPECT_BUCKETS]; x != NULL; x = x->hnext)
		if (x->id == id)
			return x;
	return NULL;
}

/* The expectation of (rule, host), or NULL. */
static struct xent *
expect_find(const struct expect *ex, const char *rule, const char *host)
{
	struct xent *x;

	x = expect_find_id(ex, expect_hash(rule, host));
	if (x != NULL &&
	    (strcmp(x->rule, rule) != 0 || strcasecmp(x->host, host) != 0))
		return NULL;
	return x;
}

/* The local date of t at minutes min, moved by days. */
static time_t
expect_at(const struct calendar *cal, time_t t, int days, int min)
{
	struct tm tm;

	calendar_localtime(cal, t, &tm);
	tm.tm_mday += days;
	tm.tm_hour = min / 60;
	tm.tm_min = min % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return calendar_mktime(cal, &tm);
}

/* Whether the day of instant t has a deadline of e. */
static int
expect_day_ok(const struct calendar *cal, const struct rule_expect *e, time_t t)
{
	struct tm tm;

	calendar_localtime(cal, t, &tm);
	if (e->every == EVERY_WEEK)
		return tm.tm_wday == e->by_wday;
	if (e->every == EVERY_WEEKDAY)
		return calendar_is_working_day(cal, tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday);
	return 1;
}

/* The first deadline after t (dir 1), or the last at or before t (-1). */
static time_t
expect_deadline(const struct calendar *cal, const struct rule_expect *e,
    time_t t, int dir)
{
	time_t d;
	int i;

	for (i = -1; i <= EXPECT_SEARCH_DAYS; i++) {
		d = expect_at(cal, t, dir * i, e->by_min);
		if ((dir > 0 ? d > t : d <= t) && expect_day_ok(cal, e, d))
			return d;
	}
	return 0;
}

/* Where the period that ends at deadline d starts. */
static time_t
expect_since(const struct calendar *cal, const struct rule_expect *e, time_t d)
{
	time_t s;

	if (e->since_min < 0)
		return expect_deadline(cal, e, d - 1, -1);
	s = expect_at(cal, d, 0, e->since_min);
	return s > d ? expect_at(cal, d, -1, e->since_min) : s;
}

/* A local time as "HH:MM", or "YYYY-MM-DD HH:MM" with date set. */
static void
expect_fmt(const struct calendar *cal, time_t t, int date, char *buf,
    size_t len)
{
	struct tm tm;

	calendar_localtime(cal, t, &tm);
	strftime(buf, len, date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
}

/* The meta name of one value of an expectation. */
static void
expect_meta_name(const struct xent *x, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "expect.%s:%s:%s", what, x->rule, x->host);
}

/* Read a meta value of an expectation (0 if absent). */
static time_t
expect_meta_get(struct expect *ex, const struct xent *x, const char *what)
{
	char name[EXPECT_NAME_MAX];
	int64_t v;
	struct store *st = ex->is != NULL ? incidents_store(ex->is) : NULL;

	expect_meta_name(x, what, name, sizeof(name));
	if (st == NULL || store_get_meta(st, name, &v) != 0)
		return 0;
	return (time_t)v;
}

/* Write a meta value of an expectation. */
static void
expect_meta_put(struct expect *ex, const struct xent *x, const char *what,
    time_t v)
{
	char name[EXPECT_NAME_MAX];
	struct store *st = ex->is != NULL ? incidents_store(ex->is) : NULL;

	expect_meta_name(x, what, name, sizeof(name));
	if (st != NULL && store_set_meta(st, name, (int64_t)v) != 0)
		log_warnx("expect: cannot store %s: %s", name, store_error(st));
}

/* The meta name of the day record of deadline d. */
static void
expect_day_name(struct expect *ex, const struct xent *x, time_t d, char *buf,
    size_t len)
{
	struct tm tm;
	char day[16];

	calendar_localtime(ex->cal, d, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(buf, len, "expect.day:%s:%s:%s", x->rule, x->host, day);
}

/* The record of the day of deadline d. */
static enum xday
expect_day_get(struct expect *ex, const struct xent *x, time_t d)
{
	char name[EXPECT_NAME_MAX];
	int64_t v;
	struct store *st = ex->is != NULL ? incidents_store(ex->is) : NULL;

	expect_day_name(ex, x, d, name, sizeof(name));
	if (d <= 0 || st == NULL || store_get_meta(st, name, &v) != 0 ||
	    v < XDAY_PENDING || v > XDAY_RERUN_OK)
		return XDAY_PENDING;
	return (enum xday)v;
}

/* Set the record of the day of deadline d. */
static void
expect_day_put(struct expect *ex, const struct xent *x, time_t d, enum xday v)
{
	char name[EXPECT_NAME_MAX];
	struct store *st = ex->is != NULL ? incidents_store(ex->is) : NULL;

	expect_day_name(ex, x, d, name, sizeof(name));
	if (d > 0 && st != NULL && store_set_meta(st, name, (int64_t)v) != 0)
		log_warnx("expect: cannot store %s: %s", name, store_error(st));
}

/*
 * The deadline whose day an event at t belongs to: the last deadline d
 * when t is after it but before the next period starts (the next period's
 * "since", or the next midnight without one) and d's day is not ok, so a
 * late arrival or a re-run counts for d; else the next deadline at or
 * after t.  The next night's run is so never taken for yesterday's.
 */
static time_t
expect_day_of(struct expect *ex, const struct xent *x, time_t t)
{
	const struct rule_expect *e = x->r->expect;
	time_t d = x->handled, end;
	enum xday st;

	if (d > 0 && t > d) {
		if (e->since_min >= 0)
			end = expect_since(ex->cal, e,
			    expect_deadline(ex->cal, e, d, 1));
		else
			end = expect_at(ex->cal, d, 1, 0);
		st = expect_day_get(ex, x, d);
		if (t < end &&
		    (st == XDAY_MISSING || st == XDAY_FAILED ||
			st == XDAY_LATE))
			return d;
	}
	return expect_deadline(ex->cal, e, t - 1, 1);
}

/* Expand {rule}, {host}, {deadline}, {since} and {last} in a title. */
static void
expect_title(const char *tmpl, const char *const *vals, char *out, size_t size)
{
	static const char *const names[] = { "rule", "host", "deadline",
		"since", "last", NULL };
	size_t o = 0, i, n;
	const char *p = tmpl;

	while (*p != '\0' && o + 1 < size) {
		for (i = 0; *p == '{' && names[i] != NULL; i++) {
			n = strlen(names[i]);
			if (strncmp(p + 1, names[i], n) == 0 && p[n + 1] == '}')
				break;
		}
		if (*p != '{' || names[i] == NULL) {
			out[o++] = *p++;
			continue;
		}
		o += (size_t)snprintf(out + o, size - o, "%s",
		    vals[i] != NULL ? vals[i] : "");
		if (o >= size)
			o = size - 1;
		p += strlen(names[i]) + 2;
	}
	out[o] = '\0';
}

/* Schedule the deadline an expectation waits for. */
static void
expect_schedule(struct expect *ex, struct xent *x, time_t d)
{
	x->next = d;
	if (d > 0 && ex->dq != NULL)
		deadlines_schedule(ex->dq, EXPECT_DL_DEADLINE, x->id, d);
}

/*
 * Start one expectation from what the store remembers: a deadline that
 * passed unhandled while sopd was down is due at once; on the very first
 * start the past is not checked.
 */
static void
expect_add(struct expect *ex, const struct rule *r, const char *host,
    time_t now)
{
	struct xent *x;
	time_t prev;

	if (expect_find(ex, r->name, host) != NULL)
		return;
	x = xcalloc(1, sizeof(*x));
	x->id = expect_hash(r->name, host);
	x->rule = xstrdup(r->name);
	x->host = xstrdup(host);
	x->r = r;
	x->hnext = ex->xb[x->id % EXPECT_BUCKETS];
	ex->xb[x->id % EXPECT_BUCKETS] = x;
	if (ex->xtail != NULL)
		ex->xtail->onext = x;
	else
		ex->xhead = x;
	ex->xtail = x;
	ex->nx++;
	x->arrival = expect_meta_get(ex, x, "arrival");
	x->handled = expect_meta_get(ex, x, "handled");
	prev = expect_deadline(ex->cal, r->expect, now, -1);
	if (x->handled == 0) {
		x->handled = prev;
		expect_meta_put(ex, x, "handled", prev);
	}
	if (prev > x->handled)
		expect_schedule(ex, x, prev);
	else
		expect_schedule(ex, x,
		    expect_deadline(ex->cal, r->expect, now, 1));
}

/* Take the expect and silent rules of a rule set. */
void
expect_set_rules(struct expect *ex, struct ruleset *rs)
{
	const struct rule *r;
	time_t now = clock_now();
	size_t i, j;

	expect_clear(ex, 1);
	free(ex->silent);
	ex->silent = NULL;
	ex->nsilent = 0;
	for (i = 0; rs != NULL && i < ruleset_count(rs); i++) {
		r = ruleset_rule(rs, i);
		if (r->action == RULE_SILENT && r->silent != NULL) {
			ex->silent = xreallocarray(ex->silent, ex->nsilent + 1,
			    sizeof(*ex->silent));
			ex->silent[ex->nsilent++] = r;
		}
		if (r->action != RULE_EXPECT || r->expect == NULL)
			continue;
		for (j = 0; j < r->expect->nhosts; j++)
			expect_add(ex, r, r->expect->hosts[j], now);
	}
	expect_unstash(ex);
	if (!ex->fail_loaded)
		expect_fail_load(ex);
	if (!ex->loaded)
		expect_silent_load(ex);
}

/* A successful re-run: resolve the day's failure incidents. */
static void
expect_rerun(struct expect *ex, struct xent *x, time_t now)
{
	char note[64], at[32];
	size_t i;

	expect_fmt(ex->cal, now, 0, at, sizeof(at));
	snprintf(note, sizeof(note), "re-run ok at %s", at);
	for (i = 0; ex->is != NULL && i < x->nfail; i++)
		incidents_settle(ex->is, x->fail_rule[i], x->fail_key[i], note,
		    now);
	if (x->nfail > 0)
		expect_fail_dirty(ex, x);
	expect_fail_forget(x);
}

/*
 * An expected event arrived: note it and record its day. After a failure
 * that day it is a re-run that resolves the failure; after a missed
 * deadline, before the next period starts, it arrived late and resolves
 * that day's missing incident only.
 */
void
expect_arrival(struct expect *ex, const struct logevent *ev,
    const struct rule_hit *hit)
{
	struct xent *x;
	char key[EXPECT_NAME_MAX], note[64], at[32];
	time_t now = clock_now(), d;
	enum xday st;

	if (ev->host == NULL || hit->rule == NULL ||
	    (x = expect_find(ex, hit->rule->name, ev->host)) == NULL)
		return;
	d = expect_day_of(ex, x, now);
	st = expect_day_get(ex, x, d);
	x->arrival = now;
	expect_meta_put(ex, x, "arrival", now);
	if (st == XDAY_FAILED) {
		expect_day_put(ex, x, d, XDAY_RERUN_OK);
		expect_rerun(ex, x, now);
		return;
	}
	if (st == XDAY_MISSING && d == x->handled && d < now) {
		expect_day_put(ex, x, d, XDAY_LATE);
		snprintf(key, sizeof(key), "%s:%s", x->rule, x->host);
		expect_fmt(ex->cal, now, 0, at, sizeof(at));
		snprintf(note, sizeof(note), "arrived late at %s", at);
		if (ex->is != NULL)
			incidents_settle(ex->is, x->rule, key, note, now);
		return;
	}
	if (st == XDAY_PENDING)
		expect_day_put(ex, x, d, XDAY_OK);
}

/*
 * An incident rule took an event: when an expectation of that host names
 * the rule in "failed", the day failed; a later arrival (a re-run)
 * resolves the incident.
 */
void
expect_failure(struct expect *ex, const struct logevent *ev,
    const struct rule_hit *hit)
{
	char key[EXPECT_NAME_MAX];
	struct xent *x;
	time_t now = clock_now(), d;
	size_t i;

	if (ev->host == NULL || hit->rule == NULL || hit->clear)
		return;
	for (x = ex->xhead; x != NULL; x = x->onext) {
		if (strcasecmp(x->host, ev->host) != 0)
			continue;
		for (i = 0; i < x->r->expect->nfailed; i++)
			if (strcmp(x->r->expect->failed[i], hit->rule->name) ==
			    0)
				break;
		if (i == x->r->expect->nfailed)
			continue;
		/* The incidents' default key is "{rule}:{host}". */
		rule_render(hit->rule->key != NULL ? hit->rule->key :
						     "{rule}:{host}",
		    ev, hit, key, sizeof(key));
		d = expect_day_of(ex, x, now);
		expect_day_put(ex, x, d, XDAY_FAILED);
		expect_fail_add(x, d, hit->rule->name, key);
		expect_fail_dirty(ex, x);
	}
}

/* A deadline of an expectation: open the incident if nothing came. */
static void
expect_due(struct expect *ex, struct xent *x, time_t d)
{
	const struct rule_expect *e = x->r->expect;
	char key[EXPECT_NAME_MAX], title[512], dl[32], since[32];
	const char *vals[5];
	time_t s = expect_since(ex->cal, e, d);
	enum xday st = expect_day_get(ex, x, d);

	if (st == XDAY_FAILED)
		x->missed = 0; /* its failure incident tells it already */
	else if (x->arrival == 0 || x->arrival <= s || x->arrival > d) {
		expect_fmt(ex->cal, d, 0, dl, sizeof(dl));
		expect_fmt(ex->cal, s, 1, since, sizeof(since));
		vals[0] = x->rule;
		vals[1] = x->host;
		vals[2] = dl;
		vals[3] = since;
		vals[4] = since;
		expect_title(x->r->title != NULL ? x->r->title : EXPECT_TITLE,
		    vals, title, sizeof(title));
		snprintf(key, sizeof(key), "%s:%s", x->rule, x->host);
		if (ex->is != NULL)
			incidents_raise(ex->is, x->r, key, x->host, title, d);
		expect_day_put(ex, x, d, XDAY_MISSING);
		x->missed = 1;
	} else {
		if (st == XDAY_PENDING)
			expect_day_put(ex, x, d, XDAY_OK);
		x->missed = 0;
	}
	x->handled = d;
	expect_meta_put(ex, x, "handled", d);
	expect_schedule(ex, x, expect_deadline(ex->cal, e, d, 1));
}

/* The tracked host with this deadline id, or NULL. */
static struct shost *
expect_shost(const struct expect *ex, uint64_t id)
{
	struct keytab_entry *e = keytab_find_hash(ex->hosts, id);

	return e != NULL ? keytab_item(e, struct shost, ent) : NULL;
}

/* Whether a silent rule covers a host. */
static int
expect_covers(const struct rule *r, const char *host)
{
	size_t i;

	if (r->silent->all)
		return 1;
	for (i = 0; i < r->silent->nhosts; i++)
		if (fnmatch(r->silent->hosts[i], host, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

/* The shortest silence of the rules covering a host (0: none covers it). */
static long long
expect_after(const struct expect *ex, const char *host, time_t last, time_t now)
{
	long long best = 0, due;
	size_t i;

	for (i = 0; i < ex->nsilent; i++) {
		if (!expect_covers(ex->silent[i], host))
			continue;
		due = (long long)last + ex->silent[i]->silent->after;
		if (due > (long long)now && (best == 0 || due < best))
			best = due;
	}
	return best;
}

/* Start tracking a host; NULL (counted) when the tracker is full. */
static struct shost *
expect_track(struct expect *ex, const char *host)
{
	struct shost *s;

	if (keytab_count(ex->hosts) >= EXPECT_MAX_HOSTS) {
		ex->untracked++;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	keytab_insert(ex->hosts, &s->ent, SILENT_RULE, host);
	return s;
}

/* Put a host whose last heard time changed on the list for the next commit. */
static void
expect_dirty(struct expect *ex, struct shost *s)
{
	if (s->dirty || s->last == s->stored || ex->st == NULL)
		return;
	if (ex->dhead == NULL && ex->is != NULL)
		incidents_want_commit(ex->is);
	s->dirty = 1;
	s->dnext = ex->dhead;
	ex->dhead = s;
}

/* A host was heard: track it, resolve its silent incidents, re-arm. */
void
expect_heard(struct expect *ex, const struct logevent *ev)
{
	char key[EXPECT_NAME_MAX], note[64], at[32];
	struct keytab_entry *e;
	struct shost *s;
	time_t now = clock_now();
	long long due;
	size_t i;

	if (ex->nsilent == 0 || ev->host == NULL || *ev->host == '\0' ||
	    (due = expect_after(ex, ev->host, now, now)) == 0)
		return;
	if ((e = keytab_find(ex->hosts, SILENT_RULE, ev->host)) != NULL) {
		s = keytab_item(e, struct shost, ent);
		keytab_touch(ex->hosts, e);
	} else if ((s = expect_track(ex, ev->host)) == NULL)
		return;
	/*
	 * This runs for every event: within the same second nothing changes
	 * (same deadline), and only a host whose silence fired can have
	 * incidents to resolve.
	 */
	if (s->last == now && !s->silent)
		return;
	s->last = now;
	expect_dirty(ex, s);
	if (s->silent) {
		s->silent = 0;
		expect_fmt(ex->cal, now, 0, at, sizeof(at));
		snprintf(note, sizeof(note), "heard again at %s", at);
		for (i = 0; ex->is != NULL && i < ex->nsilent; i++) {
			snprintf(key, sizeof(key), "%s:%s", ex->silent[i]->name,
			    s->ent.key);
			incidents_settle(ex->is, ex->silent[i]->name, key, note,
			    now);
		}
	}
	if (ex->dq != NULL)
		deadlines_schedule(ex->dq, EXPECT_DL_SILENT, s->ent.hash,
		    (time_t)due);
}

/* A silent host's deadline: open the incidents of rules whose time is up. */
static void
expect_silent_due(struct expect *ex, struct shost *s, time_t now)
{
	const struct rule *r;
	const char *host = s->ent.key;
	char key[EXPECT_NAME_MAX], title[512], last[32];
	const char *vals[5] = { NULL, host, NULL, NULL, last };
	long long due;
	size_t i;

	s->silent = 1;
	expect_fmt(ex->cal, s->last, 1, last, sizeof(last));
	for (i = 0; i < ex->nsilent; i++) {
		r = ex->silent[i];
		if (!expect_covers(r, host) ||
		    (long long)s->last + r->silent->after > (long long)now)
			continue;
		snprintf(key, sizeof(key), "%s:%s", r->name, host);
		if (ex->is == NULL || incidents_active_id(ex->is, r->name, key))
			continue;
		vals[0] = r->name;
		expect_title(r->title != NULL ? r->title : SILENT_TITLE, vals,
		    title, sizeof(title));
		incidents_raise(ex->is, r, key, host, title,
		    (int64_t)s->last + r->silent->after);
	}
	if ((due = expect_after(ex, host, s->last, now)) != 0 && ex->dq != NULL)
		deadlines_schedule(ex->dq, EXPECT_DL_SILENT, s->ent.hash,
		    (time_t)due);
}

/*
 * One stored host: track it again with its last heard time, its silence
 * due at once if it ran out while sopd was down.  Rows of hosts no rule
 * covers now are skipped (and age out of the store).
 */
static int
expect_load_cb(const char *rule, const char *host, int64_t last, void *arg)
{
	struct expect *ex = arg;
	struct shost *s;
	long long due;

	if (keytab_count(ex->hosts) >= EXPECT_MAX_HOSTS)
		return 1;
	if (rule == NULL || host == NULL || strcmp(rule, SILENT_RULE) != 0 ||
	    *host == '\0' || last <= 0 ||
	    keytab_find(ex->hosts, SILENT_RULE, host) != NULL ||
	    (due = expect_after(ex, host, (time_t)last, (time_t)last)) == 0)
		return 0;
	if ((s = expect_track(ex, host)) == NULL)
		return 1;
	s->last = s->stored = (time_t)last;
	s->silent = 1; /* an incident from before the restart may be open */
	if (ex->dq != NULL)
		deadlines_schedule(ex->dq, EXPECT_DL_SILENT, s->ent.hash,
		    (time_t)due);
	return 0;
}

/* Reorder the tracker least recently heard first (the store gave newest first). */
static void
expect_silent_order(struct expect *ex)
{
	struct keytab_entry *e, **v;
	size_t n = 0, i;

	v = xreallocarray(NULL, keytab_count(ex->hosts) + 1, sizeof(*v));
	for (e = keytab_first(ex->hosts); e != NULL; e = keytab_next(e))
		v[n++] = e;
	for (i = n; i > 0; i--)
		keytab_touch(ex->hosts, v[i - 1]);
	free(v);
}

/*
 * Load the tracked hosts once, newest first so the bound keeps the most
 * recently heard, then trim the store's table to the bound.
 */
static void
expect_silent_load(struct expect *ex)
{
	if (ex->st == NULL || ex->nsilent == 0)
		return;
	ex->loaded = 1;
	if (store_load_silent(ex->st, expect_load_cb, ex) == -1) {
		log_warnx("silent hosts: cannot load: %s", store_error(ex->st));
		return;
	}
	expect_silent_order(ex);
	if (store_trim_silent(ex->st, EXPECT_MAX_HOSTS) == -1)
		log_warnx("silent hosts: cannot trim: %s", store_error(ex->st));
	if (keytab_count(ex->hosts) > 0)
		log_info("silent hosts: %zu tracked from the store",
		    keytab_count(ex->hosts));
}

/* A deadline fell due. */
int
expect_fire(struct expect *ex, int kind, uint64_t id, time_t due)
{
	struct xent *x;
	struct shost *s;

	if (kind == EXPECT_DL_DEADLINE) {
		if ((x = expect_find_id(ex, id)) != NULL)
			expect_due(ex, x, due);
		return 1;
	}
	if (kind == EXPECT_DL_SILENT) {
		if ((s = expect_shost(ex, id)) != NULL)
			expect_silent_due(ex, s, due);
		return 1;
	}
	return 0;
}

/* The number of expectations. */
size_t
expect_count(const struct expect *ex)
{
	return ex->nx;
}

/* Hosts tracked for silence. */
size_t
expect_tracked(const struct expect *ex)
{
	return keytab_count(ex->hosts);
}

/* Hosts not tracked because of the bound. */
uint64_t
expect_untracked(const struct expect *ex)
{
	return ex->untracked;
}

/* The scheduled deadline of (rule, host), 0 if none. */
time_t
expect_next(const struct expect *ex, const char *rule, const char *host)
{
	const struct xent *x = expect_find(ex, rule, host);

	return x != NULL ? x->next : 0;
}

/* A time as RFC 3339 UTC, or null for 0. */
static json_t *
expect_time_json(time_t t)
{
	struct tm tm;
	char buf[32];

	if (t <= 0)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/*
 * The state of an expectation now: missing (its incident is open, or the
 * last deadline found nothing and nothing came since), late (that one
 * came after the deadline), ok (this period's event has come), pending.
 */
static const char *
expect_state(struct expect *ex, const struct xent *x, time_t since)
{
	char key[EXPECT_NAME_MAX];

	snprintf(key, sizeof(key), "%s:%s", x->rule, x->host);
	if ((ex->is != NULL && incidents_active_id(ex->is, x->rule, key)) ||
	    (x->missed && x->arrival <= x->handled))
		return "missing";
	if (x->missed)
		return "late";
	if (x->arrival > since && since > 0)
		return "ok";
	return "pending";
}

/* The day records of the last deadlines, newest first. */
static json_t *
expect_days_json(struct expect *ex, const struct xent *x)
{
	json_t *a = json_array();
	struct tm tm;
	char day[16];
	time_t d = x->next;
	int i;

	for (i = 0; d > 0 && i < EXPECT_DAYS_SHOWN; i++) {
		calendar_localtime(ex->cal, d, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		json_array_append_new(a,
		    json_pack("{s:s, s:o, s:s}", "day", day, "deadline",
			expect_time_json(d), "state",
			xday_names[expect_day_get(ex, x, d)]));
		d = expect_deadline(ex->cal, x->r->expect, d - 1, -1);
	}
	return a;
}

/* One expectation as JSON. */
static json_t *
expect_xent_json(struct expect *ex, const struct xent *x)
{
	time_t since =
	    x->next > 0 ? expect_since(ex->cal, x->r->expect, x->next) : 0;

	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o}", "rule",
	    x->rule, "host", x->host, "last_arrival",
	    expect_time_json(x->arrival), "since", expect_time_json(since),
	    "next_deadline", expect_time_json(x->next), "last_deadline",
	    expect_time_json(x->handled), "state", expect_state(ex, x, since),
	    "days", expect_days_json(ex, x));
}

/* One silent rule and the tracked hosts it covers (least recently heard first). */
static json_t *
expect_silent_json(struct expect *ex, const struct rule *r, time_t now)
{
	struct keytab_entry *e;
	const struct shost *s;
	json_t *hosts = json_array();
	size_t total = 0;
	time_t due;

	for (e = keytab_first(ex->hosts); e != NULL; e = keytab_next(e)) {
		if (!expect_covers(r, e->key))
			continue;
		if (total++ >= EXPECT_VIEW_MAX)
			continue;
		s = keytab_item(e, struct shost, ent);
		due = s->last + (time_t)r->silent->after;
		json_array_append_new(hosts,
		    json_pack("{s:s, s:o, s:o, s:s}", "host", e->key,
			"last_heard", expect_time_json(s->last), "silent_at",
			expect_time_json(due), "state",
			due <= now ? "silent" : "ok"));
	}
	return json_pack("{s:s, s:I, s:I, s:o}", "rule", r->name, "after",
	    (json_int_t)r->silent->after, "hosts_total", (json_int_t)total,
	    "hosts", hosts);
}

/* Every expectation and silent rule with its state, for the API. */
json_t *
expect_status_json(struct expect *ex)
{
	json_t *xs = json_array(), *ss = json_array();
	const struct xent *x;
	time_t now = clock_now();
	size_t i;

	for (x = ex->xhead; x != NULL; x = x->onext)
		json_array_append_new(xs, expect_xent_json(ex, x));
	for (i = 0; i < ex->nsilent; i++)
		json_array_append_new(ss,
		    expect_silent_json(ex, ex->silent[i], now));
	return json_pack("{s:o, s:o, s:I, s:I, s:I}", "expectations", xs,
	    "silent", ss, "tracked_hosts", (json_int_t)keytab_count(ex->hosts),
	    "untracked_hosts", (json_int_t)ex->untracked, "max_tracked_hosts",
	    (json_int_t)EXPECT_MAX_HOSTS);
}
