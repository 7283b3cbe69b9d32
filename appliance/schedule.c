/* schedule.c: the SOP's jobs at their local times: checks and reports, stored and delivered. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "deadline.h"
#include "event.h"
#include "expect.h"
#include "incident.h"
#include "keytab.h"
#include "log.h"
#include "notify.h"
#include "policy.h"
#include "report.h"
#include "schedule.h"
#include "store.h"
#include "xmalloc.h"
#include "yamlnode.h"

enum sched_days {
	DAYS_DAILY = 0,
	DAYS_WEEKDAYS,
	DAYS_BUSINESS,
	DAYS_MONDAYS,
	DAYS_FIRST,
};
static const char *const sched_days_names[] = { "daily", "weekdays", "business",
	"mondays", "first" };
static const char *const sched_job_names[SCHED_NJOBS] = { "server-check",
	"backup-check", "performance-report", "daily-report", "weekly-report",
	"monthly-report" };
static const char *const sched_job_titles[SCHED_NJOBS] = { "server check",
	"backup check", "performance report", "daily report", "weekly report",
	"monthly report" };

#define SCHED_SEARCH_DAYS 400 /* how far an occurrence is looked for */
#define SCHED_HOURS	  24  /* the server check's window, in hours */

struct sjob {
	int on;
	int at_min;   /* minutes after local midnight */
	int days;     /* enum sched_days */
	char *notify; /* level told, NULL: nobody */
};

#define SCHED_PRUNE_MAX 10000 /* host_hours rows deleted per commit */

/*
 * A host heard lately: errors and warnings per hour of the last day.  The
 * hours counted since the last commit are dirty: their rows of table
 * host_hours are written with the incidents' next commit, and read back
 * at start, so a restart keeps the counts.
 */
struct shost {
	struct keytab_entry ent;
	time_t last;
	int64_t hour[SCHED_HOURS]; /* hour number of the bucket */
	uint32_t err[SCHED_HOURS];
	uint32_t warn[SCHED_HOURS];
	uint32_t dirty;	      /* a bit per bucket not stored yet */
	struct shost *dnext;  /* the dirty list */
	struct shost **dprev; /* NULL: not on it */
};

struct schedule {
	struct sopd *sd;
	struct sjob jobs[SCHED_NJOBS];
	struct keytab *hosts;
	struct schedule_metrics m;
	int has_m;
	struct shost *dhead; /* hosts with counts to store */
	int64_t pruned_hr;   /* host_hours pruned up to this hour */
	int64_t prune_hr;    /* pruned in the commit under way */
	int wrote;	     /* the commit under way has the rows */
};

int
schedule_job_from_name(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < SCHED_NJOBS; i++)
		if (strcmp(s, sched_job_names[i]) == 0)
			return i;
	return -1;
}

const char *
schedule_job_name(int job)
{
	if (job < 0 || job >= SCHED_NJOBS)
		return "unknown";
	return sched_job_names[job];
}

/* Free the parsed jobs. */
static void
sched_jobs_free(struct sjob *jobs)
{
	int i;

	for (i = 0; i < SCHED_NJOBS; i++) {
		free(jobs[i].notify);
		memset(&jobs[i], 0, sizeof(jobs[i]));
	}
}

/* One job's settings: at (required), days, notify. */
static void
sched_parse_job(const struct ynode *kn, const struct ynode *v, const char *file,
    struct sjob *j, struct errlist *errs)
{
	const struct ynode *k, *x;
	size_t i;
	int d, found;

	if (v->type != YNODE_MAP) {
		errlist_add(errs, file, v->line, v->col,
		    "schedule: %s: "
		    "expected a map of at, days, notify",
		    kn->value);
		return;
	}
	j->days = DAYS_DAILY;
	j->at_min = -1;
	for (i = 0; i < v->n; i++) {
		k = v->keys[i];
		x = v->items[i];
		if (strcmp(k->value, "at") == 0) {
			if (x->type != YNODE_SCALAR ||
			    calendar_parse_hhmm(x->value, &j->at_min) == -1 ||
			    j->at_min >= 24 * 60)
				errlist_add(errs, file, x->line, x->col,
				    "schedule: %s: at: expected HH:MM",
				    kn->value);
		} else if (strcmp(k->value, "days") == 0) {
			found = 0;
			for (d = 0; x->type == YNODE_SCALAR && d <= DAYS_FIRST;
			     d++)
				if (strcmp(x->value, sched_days_names[d]) ==
				    0) {
					j->days = d;
					found = 1;
				}
			if (!found)
				errlist_add(errs, file, x->line, x->col,
				    "schedule: %s: days: expected daily, "
				    "weekdays, business, mondays or first",
				    kn->value);
		} else if (strcmp(k->value, "notify") == 0) {
			if (x->type != YNODE_SCALAR || *x->value == '\0')
				errlist_add(errs, file, x->line, x->col,
				    "schedule: %s: notify: expected a level",
				    kn->value);
			else {
				free(j->notify);
				j->notify = xstrdup(x->value);
			}
		} else
			errlist_add(errs, file, k->line, k->col,
			    "schedule: "
			    "%s: unknown setting %s (expected at, days, "
			    "notify)",
			    kn->value, k->value);
	}
	if (j->at_min == -1)
		errlist_add(errs, file, kn->line, kn->col,
		    "schedule: %s: needs at:", kn->value);
	j->on = 1;
}

/* The schedule section into jobs; 0 when valid. */
static int
sched_parse(const struct config *cfg, struct sjob *jobs, struct errlist *errs)
{
	const struct ynode *sec = cfg->sec_schedule, *kn;
	size_t i, nerr = errs->n;
	int job;

	memset(jobs, 0, sizeof(*jobs) * SCHED_NJOBS);
	if (sec == NULL)
		return 0;
	if (sec->type != YNODE_MAP) {
		errlist_add(errs, cfg->file, sec->line, sec->col,
		    "schedule: expected a map of jobs");
		return -1;
	}
	for (i = 0; i < sec->n; i++) {
		kn = sec->keys[i];
		if ((job = schedule_job_from_name(kn->value)) == -1) {
			errlist_add(errs, cfg->file, kn->line, kn->col,
			    "schedule: unknown job %s (expected server-check, "
			    "backup-check, performance-report, daily-report, "
			    "weekly-report, monthly-report)",
			    kn->value);
			continue;
		}
		sched_parse_job(kn, sec->items[i], cfg->file, &jobs[job], errs);
	}
	return errs->n == nerr ? 0 : -1;
}

int
schedule_check(const struct config *cfg, struct errlist *errs)
{
	struct sjob jobs[SCHED_NJOBS];
	int rc;

	rc = sched_parse(cfg, jobs, errs);
	sched_jobs_free(jobs);
	return rc;
}

static const struct calendar *
sched_cal(struct schedule *s)
{
	return policy_calendar(s->sd->policy);
}

/* Whether the job runs on this local date. */
static int
sched_day_ok(const struct calendar *cal, int days, const struct tm *tm)
{
	switch (days) {
	case DAYS_WEEKDAYS:
		return tm->tm_wday >= 1 && tm->tm_wday <= 5;
	case DAYS_BUSINESS:
		return calendar_is_working_day(cal, tm->tm_year + 1900,
		    tm->tm_mon + 1, tm->tm_mday);
	case DAYS_MONDAYS:
		return tm->tm_wday == 1;
	case DAYS_FIRST:
		return tm->tm_mday == 1;
	default:
		return 1;
	}
}

/* The occurrence dir days from the local date of t (0 if not a run day). */
static time_t
sched_occ(const struct calendar *cal, const struct sjob *j, time_t t, int dir)
{
	struct tm tm, chk;
	time_t occ;

	calendar_localtime(cal, t, &tm);
	tm.tm_mday += dir;
	tm.tm_hour = j->at_min / 60;
	tm.tm_min = j->at_min % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	occ = calendar_mktime(cal, &tm);
	calendar_localtime(cal, occ, &chk);
	return sched_day_ok(cal, j->days, &chk) ? occ : 0;
}

/* The first occurrence after t; 0 if none within a year. */
static time_t
sched_next(const struct calendar *cal, const struct sjob *j, time_t t)
{
	time_t occ;
	int i;

	for (i = 0; i < SCHED_SEARCH_DAYS; i++)
		if ((occ = sched_occ(cal, j, t, i)) > t)
			return occ;
	return 0;
}

/* The last occurrence at or before t; 0 if none within a year. */
static time_t
sched_prev(const struct calendar *cal, const struct sjob *j, time_t t)
{
	time_t occ;
	int i;

	for (i = 0; i < SCHED_SEARCH_DAYS; i++)
		if ((occ = sched_occ(cal, j, t, -i)) != 0 && occ <= t)
			return occ;
	return 0;
}

time_t
schedule_occurrence(const struct calendar *cal, const char *at,
    const char *days, time_t t, int dir)
{
	struct sjob j;

	memset(&j, 0, sizeof(j));
	if (calendar_parse_hhmm(at, &j.at_min) == -1 || j.at_min >= 24 * 60)
		return 0;
	for (j.days = 0; j.days <= DAYS_FIRST; j.days++)
		if (strcmp(days, sched_days_names[j.days]) == 0)
			break;
	if (j.days > DAYS_FIRST)
		return 0;
	return dir > 0 ? sched_next(cal, &j, t) : sched_prev(cal, &j, t);
}

static struct store *
sched_store(struct schedule *s)
{
	return s->sd->incidents != NULL ? incidents_store(s->sd->incidents) :
					  NULL;
}

/* The meta name of a job's last handled occurrence. */
static void
sched_meta_name(int job, char *buf, size_t len)
{
	snprintf(buf, len, "schedule.last:%s", sched_job_names[job]);
}

/*
 * Arm a job: an occurrence missed since the last one handled fires at
 * once (the latest only), else the next one after now.
 */
static void
sched_arm(struct schedule *s, int job)
{
	const struct calendar *cal = sched_cal(s);
	struct store *st = sched_store(s);
	struct sjob *j = &s->jobs[job];
	time_t now = clock_now(), prev, next;
	int64_t last;
	char name[64];

	deadlines_cancel(s->sd->deadlines, SCHEDULE_DL_JOB, (uint64_t)job);
	if (!j->on)
		return;
	prev = sched_prev(cal, j, now);
	sched_meta_name(job, name, sizeof(name));
	if (st != NULL && store_get_meta(st, name, &last) == 0) {
		if (prev != 0 && prev > last) {
			log_info("schedule: %s of %lld was missed, running it "
				 "now",
			    sched_job_names[job], (long long)prev);
			deadlines_schedule(s->sd->deadlines, SCHEDULE_DL_JOB,
			    (uint64_t)job, prev);
			return;
		}
	} else if (st != NULL &&
	    store_set_meta(st, name, prev != 0 ? prev : now) != 0)
		log_warnx("schedule: cannot store %s: %s", name,
		    store_error(st));
	if ((next = sched_next(cal, j, now)) != 0)
		deadlines_schedule(s->sd->deadlines, SCHEDULE_DL_JOB,
		    (uint64_t)job, next);
}

/* Take a host off the dirty list. */
static void
sched_host_clean(struct shost *h)
{
	if (h->dprev == NULL)
		return;
	if (h->dnext != NULL)
		h->dnext->dprev = h->dprev;
	*h->dprev = h->dnext;
	h->dnext = NULL;
	h->dprev = NULL;
	h->dirty = 0;
}

/* A host forgotten (the least recently heard when full): counts unsaved go. */
static void
sched_host_free(struct keytab_entry *e, void *arg)
{
	struct shost *h = keytab_item(e, struct shost, ent);

	(void)arg;
	sched_host_clean(h);
	free(h);
}

/* Write the dirty hours, and prune old ones, inside the incidents' commit. */
static int
sched_hours_write(struct store *st, void *arg, uint64_t until_us)
{
	static const char put[] =
	    "INSERT INTO host_hours (host, hour, err, warn, last) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (host, hour) DO UPDATE "
	    "SET err = excluded.err, warn = excluded.warn, "
	    "last = max(last, excluded.last)";
	static const char prune[] =
	    "DELETE FROM host_hours WHERE rowid IN (SELECT rowid FROM "
	    "host_hours WHERE hour <= ?1 LIMIT ?2)";
	static const char cap[] =
	    "DELETE FROM host_hours WHERE rowid IN (SELECT rowid FROM "
	    "host_hours ORDER BY hour DESC LIMIT ?2 OFFSET ?1)";
	struct schedule *s = arg;
	struct store_param p[5];
	struct shost *h;
	int64_t hr = (int64_t)(clock_now() / 3600);
	int b;

	s->wrote = 0;
	memset(p, 0, sizeof(p));
	for (h = s->dhead; h != NULL; h = h->dnext) {
		for (b = 0; b < SCHED_HOURS; b++) {
			if (!(h->dirty & (1u << b)))
				continue;
			p[0].text = h->ent.key;
			p[1].num = h->hour[b];
			p[2].num = h->err[b];
			p[3].num = h->warn[b];
			p[4].num = h->last;
			if (store_write(st, put, p, 5) == -1)
				return -1;
		}
	}
	s->prune_hr = s->pruned_hr;
	if (hr != s->pruned_hr) {
		p[0].text = NULL;
		p[0].num = hr - SCHED_HOURS;
		p[1].num = SCHED_PRUNE_MAX;
		if (store_write(st, prune, p, 2) == -1)
			return -1;
		p[0].num = (int64_t)SCHED_HOURS * SCHEDULE_HOSTS_MAX;
		if (store_write(st, cap, p, 2) == -1)
			return -1;
		s->prune_hr = hr;
	}
	s->wrote = 1;
	return 0;
}

/* The commit that had the rows succeeded: the hours are stored. */
static void
sched_hours_written(void *arg)
{
	struct schedule *s = arg;

	if (!s->wrote)
		return; /* a commit of a batch before the hooks' turn */
	s->wrote = 0;
	while (s->dhead != NULL)
		sched_host_clean(s->dhead);
	s->pruned_hr = s->prune_hr;
}

static const struct incident_hooks sched_hooks = { NULL, sched_hours_write,
	sched_hours_written };

/* A host of the store: its entry, made when new. */
static struct shost *
sched_host(struct schedule *s, const char *host)
{
	struct keytab_entry *e;
	struct shost *h;

	if ((e = keytab_find(s->hosts, "", host)) != NULL) {
		keytab_touch(s->hosts, e);
		return keytab_item(e, struct shost, ent);
	}
	h = xcalloc(1, sizeof(*h));
	keytab_insert(s->hosts, &h->ent, "", host);
	return h;
}

/* One row of host_hours of the last day back into its host's bucket. */
static int
sched_hours_load_cb(const struct store_qrow *q, void *arg)
{
	struct schedule *s = arg;
	struct shost *h;
	int b;

	if (q->text[0] == NULL || *q->text[0] == '\0')
		return 0;
	h = sched_host(s, q->text[0]);
	b = (int)(q->num[1] % SCHED_HOURS);
	h->hour[b] = q->num[1];
	h->err[b] = (uint32_t)q->num[2];
	h->warn[b] = (uint32_t)q->num[3];
	if (h->last < (time_t)q->num[4])
		h->last = (time_t)q->num[4];
	return 0;
}

/* The counts of the last 24 hours, as stored before the start. */
static void
sched_hours_load(struct schedule *s)
{
	static const char sql[] =
	    "SELECT host, hour, err, warn, last FROM host_hours "
	    "WHERE hour > ?1 ORDER BY last";
	struct store *st = sched_store(s);
	struct store_param p = { NULL, 0 };

	if (st == NULL)
		return;
	p.num = (int64_t)(clock_now() / 3600) - SCHED_HOURS;
	if (store_query(st, sql, &p, 1, sched_hours_load_cb, s) == -1)
		log_warnx("schedule: the hosts' counts of the last 24 hours "
			  "were not read: %s",
		    store_error(st));
}

struct schedule *
schedule_new(struct sopd *sd, char **cause)
{
	struct schedule *s;
	struct errlist errs = { 0 };
	int i;

	s = xcalloc(1, sizeof(*s));
	s->sd = sd;
	if (sched_parse(sd->cfg, s->jobs, &errs) == -1) {
		xasprintf(cause, "%s", errs.n > 0 ? errs.msgs[0] : "schedule");
		errlist_free(&errs);
		sched_jobs_free(s->jobs);
		free(s);
		return NULL;
	}
	s->hosts = keytab_new(SCHEDULE_HOSTS_MAX, KEYTAB_CASEFOLD,
	    sched_host_free, NULL);
	sched_hours_load(s);
	if (sd->incidents != NULL)
		incidents_add_hooks(sd->incidents, &sched_hooks, s);
	for (i = 0; i < SCHED_NJOBS; i++)
		sched_arm(s, i);
	return s;
}

void
schedule_reconfigure(struct schedule *s, const struct config *cfg)
{
	struct sjob jobs[SCHED_NJOBS];
	struct errlist errs = { 0 };
	int i;

	if (s == NULL)
		return;
	if (sched_parse(cfg, jobs, &errs) == -1) {
		errlist_free(&errs);
		sched_jobs_free(jobs);
		return;
	}
	sched_jobs_free(s->jobs);
	memcpy(s->jobs, jobs, sizeof(jobs));
	for (i = 0; i < SCHED_NJOBS; i++)
		sched_arm(s, i);
}

void
schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	if (s->sd->incidents != NULL) {
		if (s->dhead != NULL) {
			incidents_want_commit(s->sd->incidents);
			incidents_flush(s->sd->incidents);
		}
		incidents_remove_hooks(s->sd->incidents, &sched_hooks, s);
	}
	sched_jobs_free(s->jobs);
	keytab_free(s->hosts);
	free(s);
}

void
schedule_set_metrics(struct schedule *s, const struct schedule_metrics *m)
{
	if (s == NULL)
		return;
	s->has_m = m != NULL;
	if (m != NULL)
		s->m = *m;
}

void
schedule_heard(struct schedule *s, const struct logevent *ev)
{
	struct shost *h;
	time_t now = clock_now();
	int64_t hr = now / 3600;
	int b = (int)(hr % SCHED_HOURS);

	if (s == NULL || ev->host == NULL || *ev->host == '\0')
		return;
	h = sched_host(s, ev->host);
	h->last = now;
	if (h->hour[b] != hr) { /* the host's first line of the hour */
		h->hour[b] = hr;
		h->err[b] = h->warn[b] = 0;
		h->dirty |= 1u << b;
	}
	if (ev->severity >= 0 && ev->severity <= 3) {
		h->err[b]++;
		h->dirty |= 1u << b;
	} else if (ev->severity == 4) {
		h->warn[b]++;
		h->dirty |= 1u << b;
	}
	if (h->dirty == 0)
		return;
	if (h->dprev == NULL && s->sd->incidents != NULL) {
		if ((h->dnext = s->dhead) != NULL)
			h->dnext->dprev = &h->dnext;
		s->dhead = h;
		h->dprev = &s->dhead;
		incidents_want_commit(s->sd->incidents);
	}
}

/* RFC 3339 UTC, seconds. */
static void
sched_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Add a row's count to the host's open incidents. */
static int
sched_open_cb(const struct store_qrow *q, void *arg)
{
	json_t *o = arg;

	if (q->text[0] != NULL)
		json_object_set_new(o, q->text[0], json_integer(q->num[1]));
	return 0;
}

/* A host's line of the server check. */
static json_t *
sched_host_json(struct schedule *s, const char *host, const struct shost *h,
    json_t *open, time_t now)
{
	int64_t hr = now / 3600;
	json_t *o, *m = NULL, *x;
	long err = 0, warn = 0;
	int b;
	char at[32];

	for (b = 0; h != NULL && b < SCHED_HOURS; b++) {
		if (h->hour[b] > hr - SCHED_HOURS) {
			err += h->err[b];
			warn += h->warn[b];
		}
	}
	if (s->has_m && s->m.now != NULL)
		m = s->m.now(s->m.arg, host);
	x = json_object_get(open, host);
	o = json_pack("{s:s, s:i, s:i, s:I}", "host", host, "errors_24h",
	    (int)err, "warnings_24h", (int)warn, "open_incidents",
	    (json_int_t)(x != NULL ? json_integer_value(x) : 0));
	if (h != NULL && h->last > 0) {
		sched_utc(h->last, at, sizeof(at));
		json_object_set_new(o, "last_heard", json_string(at));
	} else
		json_object_set_new(o, "last_heard", json_null());
	json_object_set_new(o, "reachable",
	    m != NULL ? json_incref(json_object_get(m, "reachable")) :
			json_null());
	if (json_object_get(o, "reachable") == NULL)
		json_object_set_new(o, "reachable", json_null());
	json_object_set_new(o, "metrics", m != NULL ? m : json_null());
	return o;
}

/* A host of an incident seen in the last 24 hours (heard before a restart). */
static int
sched_seen_cb(const struct store_qrow *q, void *arg)
{
	struct schedule *s = arg;
	struct keytab_entry *e;
	struct shost *h;

	if (q->text[0] == NULL || *q->text[0] == '\0')
		return 0;
	if ((e = keytab_find(s->hosts, "", q->text[0])) != NULL) {
		h = keytab_item(e, struct shost, ent);
		if (h->last < (time_t)q->num[1])
			h->last = (time_t)q->num[1];
		return 0;
	}
	h = xcalloc(1, sizeof(*h));
	h->last = (time_t)q->num[1];
	keytab_insert(s->hosts, &h->ent, "", q->text[0]);
	return 0;
}

/* The 09:00 server check: every host heard in 24 h or polled. */
static json_t *
sched_server_check(struct schedule *s, time_t now)
{
	static const char sql[] =
	    "SELECT host, count(*) FROM incidents "
	    "WHERE state IN ('open', 'acknowledged') AND host IS NOT NULL "
	    "GROUP BY host";
	struct store *st = sched_store(s);
	struct keytab_entry *e;
	struct shost *h;
	json_t *doc, *hosts, *open, *polled = NULL, *x;
	size_t i;
	long nopen = 0;

	static const char seen[] =
	    "SELECT host, max(last_seen) FROM incidents "
	    "WHERE last_seen >= ?1 AND host IS NOT NULL GROUP BY host";
	struct store_param p = { NULL, now - SCHED_HOURS * 3600 };

	open = json_object();
	if (st != NULL &&
	    store_query(st, sql, NULL, 0, sched_open_cb, open) == -1)
		log_warnx("schedule: server check: open incidents not read");
	if (st != NULL && store_query(st, seen, &p, 1, sched_seen_cb, s) == -1)
		log_warnx("schedule: server check: incident hosts not read");
	hosts = json_array();
	for (e = keytab_first(s->hosts); e != NULL; e = keytab_next(e)) {
		h = keytab_item(e, struct shost, ent);
		if (h->last > now - SCHED_HOURS * 3600)
			json_array_append_new(hosts,
			    sched_host_json(s, e->key, h, open, now));
	}
	if (s->has_m && s->m.hosts != NULL)
		polled = s->m.hosts(s->m.arg);
	json_array_foreach(polled, i, x)
	{
		if ((e = keytab_find(s->hosts, "", json_string_value(x))) ==
			NULL ||
		    keytab_item(e, struct shost, ent)->last <=
			now - SCHED_HOURS * 3600)
			json_array_append_new(hosts,
			    sched_host_json(s, json_string_value(x), NULL, open,
				now));
	}
	json_decref(polled);
	json_array_foreach(hosts, i, x) nopen +=
	    (long)json_integer_value(json_object_get(x, "open_incidents"));
	doc = json_pack("{s:s, s:b, s:i, s:i, s:o}", "report", "server-check",
	    "metrics_available", s->has_m, "hosts_checked",
	    (int)json_array_size(hosts), "open_incidents", (int)nopen, "hosts",
	    hosts);
	json_decref(open);
	return doc;
}

/* The backup check: each expectation's record of today (else its state). */
static json_t *
sched_backup_check(struct schedule *s, time_t now)
{
	json_t *status, *doc, *x, *c, *list;
	const char *state;
	struct tm tm;
	size_t i;

	doc = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "report",
	    "backup-check", "ok", 0, "missing", 0, "late", 0, "pending", 0,
	    "failed", 0, "rerun_ok", 0);
	status = s->sd->expect != NULL ? expect_status_json(s->sd->expect) :
					 json_object();
	calendar_localtime(sched_cal(s), now, &tm);
	json_array_foreach(json_object_get(status, "expectations"), i, x)
	{
		if ((state = report_backup_record(sched_store(s), x,
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday)) != NULL)
			json_object_set_new(x, "today", json_string(state));
		else if ((state = json_string_value(
			      json_object_get(x, "state"))) == NULL)
			state = "";
		c = json_object_get(doc, state);
		if (json_is_integer(c))
			json_integer_set(c, json_integer_value(c) + 1);
	}
	if ((list = json_object_get(status, "expectations")) != NULL)
		json_object_set(doc, "expectations", list);
	else
		json_object_set_new(doc, "expectations", json_array());
	json_decref(status);
	return doc;
}

/* The Monday performance report: metrics per host, noisiest from incidents. */
static json_t *
sched_performance(struct schedule *s, char **err)
{
	json_t *week, *doc, *hosts, *polled = NULL, *x, *f;
	time_t from, to;
	size_t i;

	if ((week = report_build(s->sd, REPORT_WEEKLY, NULL, err)) == NULL)
		return NULL;
	doc = json_pack("{s:s, s:O?, s:O?, s:b}", "report", "performance",
	    "period", json_object_get(week, "period"), "iso_week",
	    json_object_get(week, "iso_week"), "metrics_available", s->has_m);
	hosts = json_array();
	if (s->has_m && s->m.hosts != NULL)
		polled = s->m.hosts(s->m.arg);
	to = clock_now();
	from = to - 7 * 86400;
	json_array_foreach(polled, i, x)
	{
		f = s->m.period != NULL ?
		    s->m.period(s->m.arg, json_string_value(x), from, to) :
		    NULL;
		json_array_append_new(hosts,
		    json_pack("{s:O, s:o}", "host", x, "figures",
			f != NULL ? f : json_null()));
	}
	json_decref(polled);
	json_object_set_new(doc, "hosts", hosts);
	json_object_set(doc, "noisiest_hosts",
	    json_object_get(week, "noisiest_hosts"));
	json_object_set(doc, "noisiest_rules",
	    json_object_get(week, "noisiest_rules"));
	json_object_set(doc, "incidents", json_object_get(week, "incidents"));
	json_decref(week);
	return doc;
}

/* The document of a job, or NULL with *err. */
static json_t *
sched_build(struct schedule *s, int job, time_t now, char **err)
{
	switch (job) {
	case SCHED_SERVER_CHECK:
		return sched_server_check(s, now);
	case SCHED_BACKUP_CHECK:
		return sched_backup_check(s, now);
	case SCHED_PERFORMANCE:
		return sched_performance(s, err);
	case SCHED_DAILY:
		return report_build(s->sd, REPORT_DAILY, NULL, err);
	case SCHED_WEEKLY:
		return report_build(s->sd, REPORT_WEEKLY, NULL, err);
	default:
		return report_build(s->sd, REPORT_MONTHLY, NULL, err);
	}
}

/* The subject line: "sopd daily report 2026-11-30 09:00 JST". */
static char *
sched_subject(struct schedule *s, int job, time_t scheduled)
{
	struct tm tm;
	char when[64], *subj;

	calendar_localtime(sched_cal(s), scheduled, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm);
	xasprintf(&subj, "sopd %s %s", sched_job_titles[job], when);
	return subj;
}

/* Store a report; its id or -1. */
static int64_t
sched_store_report(struct schedule *s, int job, time_t now, const char *subject,
    const json_t *doc)
{
	static const char sql[] = "INSERT INTO reports (job, kind, made_at, "
				  "subject, doc) VALUES (?1, ?2, ?3, ?4, ?5)";
	struct store *st = sched_store(s);
	struct store_param p[5];
	const char *kind;
	char *text;
	int64_t id;

	if (st == NULL)
		return -1;
	kind = json_string_value(json_object_get(doc, "report"));
	text = json_dumps(doc, JSON_COMPACT);
	memset(p, 0, sizeof(p));
	p[0].text = sched_job_names[job];
	p[1].text = kind != NULL ? kind : sched_job_names[job];
	p[2].num = now;
	p[3].text = subject;
	p[4].text = text;
	id = store_write(st, sql, p, 5);
	free(text);
	return id;
}

/* Record a run (one row per job and scheduled time); its id or -1. */
static int64_t
sched_record(struct schedule *s, int job, time_t scheduled, time_t now,
    const char *outcome, const char *detail, int64_t report, int manual)
{
	static const char sql[] =
	    "INSERT INTO schedule_runs (job, scheduled, "
	    "ran_at, outcome, detail, report_id) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "nullif(?6, 0)) ON CONFLICT (job, scheduled) DO UPDATE SET "
	    "ran_at = excluded.ran_at, outcome = excluded.outcome, "
	    "detail = excluded.detail, report_id = excluded.report_id";
	struct store *st = sched_store(s);
	struct store_param p[6];
	char name[64];

	if (st == NULL)
		return -1;
	memset(p, 0, sizeof(p));
	p[0].text = sched_job_names[job];
	p[1].num = scheduled;
	p[2].num = now;
	p[3].text = outcome;
	p[4].text = detail != NULL ? detail : "";
	p[5].num = report > 0 ? report : 0;
	sched_meta_name(job, name, sizeof(name));
	if (!manual && store_set_meta(st, name, scheduled) != 0)
		log_warnx("schedule: cannot store %s: %s", name,
		    store_error(st));
	return store_write(st, sql, p, 6);
}

/*
 * Tell the job's level: text on the exec hook's stdin, JSON to webhooks.
 * With staged, the report is written to the notifier's outbox inside the
 * open transaction (0, or -1: roll it back); without, it is queued in a
 * transaction of its own.
 */
static int
sched_deliver(struct schedule *s, int job, time_t scheduled, time_t now,
    const char *subject, json_t *doc, int64_t report, int staged)
{
	json_t *body;
	char *text, *js, idem[96], at[32];
	int rc = 0;

	if (s->jobs[job].notify == NULL || s->sd->notifier == NULL)
		return 0;
	snprintf(idem, sizeof(idem), "report-%s-%lld", sched_job_names[job],
	    (long long)scheduled);
	text = schedule_render_text(doc);
	body = json_pack("{s:s, s:s, s:s, s:s, s:I, s:O}", "kind", "report",
	    "idempotency_key", idem, "job", sched_job_names[job], "subject",
	    subject, "report_id", (json_int_t)report, "report", doc);
	sched_utc(scheduled, at, sizeof(at));
	json_object_set_new(body, "scheduled", json_string(at));
	sched_utc(now, at, sizeof(at));
	json_object_set_new(body, "ran_at", json_string(at));
	js = json_dumps(body, JSON_COMPACT);
	if (staged)
		rc = notify_stage_report(s->sd->notifier, s->jobs[job].notify,
		    subject, text, js, idem);
	else
		notify_send_report(s->sd->notifier, s->jobs[job].notify,
		    subject, text, js, idem);
	json_decref(body);
	free(text);
	free(js);
	return rc;
}

/* The run's one-line detail. */
static void
sched_detail(int job, const json_t *doc, const char *subject, char *detail,
    size_t len)
{
	if (job == SCHED_BACKUP_CHECK)
		snprintf(detail, len,
		    "ok %lld, missing %lld, late "
		    "%lld, pending %lld",
		    (long long)json_integer_value(json_object_get(doc, "ok")),
		    (long long)json_integer_value(
			json_object_get(doc, "missing")),
		    (long long)json_integer_value(json_object_get(doc, "late")),
		    (long long)json_integer_value(
			json_object_get(doc, "pending")));
	else if (job == SCHED_SERVER_CHECK)
		snprintf(detail, len,
		    "%lld hosts, %lld open "
		    "incidents",
		    (long long)json_integer_value(
			json_object_get(doc, "hosts_checked")),
		    (long long)json_integer_value(
			json_object_get(doc, "open_incidents")));
	else
		snprintf(detail, len, "%s", subject);
}

/*
 * Store the report, record the run and write the report's notices to the
 * outbox in one transaction, so a report is delivered, also after a crash
 * or restart, exactly when it is stored.  The run's id, or -1 when the
 * transaction failed (nothing written).
 */
static int64_t
sched_commit(struct schedule *s, int job, time_t scheduled, time_t now,
    const char *subject, json_t *doc, int manual, const char *detail)
{
	struct store *st = sched_store(s);
	int64_t report, run;

	if (st == NULL || store_begin(st) == -1)
		return -1;
	if ((report = sched_store_report(s, job, now, subject, doc)) <= 0 ||
	    (run = sched_record(s, job, scheduled, now, "ok", detail, report,
		 manual)) <= 0 ||
	    sched_deliver(s, job, scheduled, now, subject, doc, report, 1) ==
		-1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		notify_unstage(s->sd->notifier);
		return -1;
	}
	notify_commit(s->sd->notifier);
	return run;
}

static int64_t
sched_run(struct schedule *s, int job, time_t scheduled, int manual)
{
	time_t now = clock_now();
	json_t *doc;
	char *err = NULL, *subject, detail[256];
	int64_t report = -1, run;

	if (s == NULL || job < 0 || job >= SCHED_NJOBS)
		return -1;
	subject = sched_subject(s, job, scheduled);
	if ((doc = sched_build(s, job, now, &err)) == NULL) {
		log_warnx("schedule: %s: %s", sched_job_names[job],
		    err != NULL ? err : "failed");
		run = sched_record(s, job, scheduled, now, "failed", err, 0,
		    manual);
		free(err);
		free(subject);
		return run;
	}
	json_object_set_new(doc, "job", json_string(sched_job_names[job]));
	json_object_set_new(doc, "subject", json_string(subject));
	sched_detail(job, doc, subject, detail, sizeof(detail));
	if ((run = sched_commit(s, job, scheduled, now, subject, doc, manual,
		 detail)) == -1) {
		/* Not in one transaction: each part on its own. */
		log_warnx("schedule: %s: report not stored with its delivery",
		    sched_job_names[job]);
		report = sched_store_report(s, job, now, subject, doc);
		run = sched_record(s, job, scheduled, now,
		    report > 0 ? "ok" : "not stored", detail, report, manual);
		sched_deliver(s, job, scheduled, now, subject, doc, report, 0);
	}
	log_info("schedule: %s ran (%s)", sched_job_names[job], detail);
	json_decref(doc);
	free(subject);
	return run;
}

int64_t
schedule_run(struct schedule *s, int job, time_t scheduled)
{
	return sched_run(s, job, scheduled, 0);
}

int64_t
schedule_run_now(struct schedule *s, int job)
{
	return sched_run(s, job, clock_now(), 1);
}

int
schedule_fire(struct schedule *s, int kind, uint64_t id, time_t due)
{
	const struct calendar *cal;
	time_t now = clock_now(), next;

	if (kind != SCHEDULE_DL_JOB)
		return 0;
	if (s == NULL || id >= SCHED_NJOBS || !s->jobs[id].on)
		return 1;
	schedule_run(s, (int)id, due);
	cal = sched_cal(s);
	if ((next = sched_next(cal, &s->jobs[id], due > now ? due : now)) != 0)
		deadlines_schedule(s->sd->deadlines, SCHEDULE_DL_JOB, id, next);
	return 1;
}

/* A time column as RFC 3339 UTC. */
static json_t *
sched_time_json(int64_t t)
{
	char at[32];

	if (t <= 0)
		return json_null();
	sched_utc((time_t)t, at, sizeof(at));
	return json_string(at);
}

static int
sched_run_cb(const struct store_qrow *q, void *arg)
{
	json_t *a = arg, *o;

	o = json_pack("{s:I, s:s?, s:o, s:o, s:s?, s:s?}", "id",
	    (json_int_t)q->num[0], "job", q->text[1], "scheduled",
	    sched_time_json(q->num[2]), "ran_at", sched_time_json(q->num[3]),
	    "outcome", q->text[4], "detail", q->text[5]);
	json_object_set_new(o, "report_id",
	    q->text[6] != NULL ? json_integer(q->num[6]) : json_null());
	json_array_append_new(a, o);
	return 0;
}

json_t *
schedule_status_json(struct schedule *s, size_t limit)
{
	static const char sql[] =
	    "SELECT id, job, scheduled, ran_at, outcome, "
	    "detail, report_id FROM schedule_runs ORDER BY scheduled DESC, "
	    "id DESC LIMIT ?1";
	struct store_param p = { NULL, 0 };
	struct store *st;
	json_t *jobs, *runs, *o;
	time_t due;
	int i;
	char at[16];

	jobs = json_array();
	runs = json_array();
	for (i = 0; s != NULL && i < SCHED_NJOBS; i++) {
		if (!s->jobs[i].on)
			continue;
		snprintf(at, sizeof(at), "%02d:%02d", s->jobs[i].at_min / 60,
		    s->jobs[i].at_min % 60);
		o = json_pack("{s:s, s:s, s:s, s:s?}", "job",
		    sched_job_names[i], "at", at, "days",
		    sched_days_names[s->jobs[i].days], "notify",
		    s->jobs[i].notify);
		json_object_set_new(o, "next",
		    deadlines_pending(s->sd->deadlines, SCHEDULE_DL_JOB,
			(uint64_t)i, &due) ?
			sched_time_json(due) :
			json_null());
		json_array_append_new(jobs, o);
	}
	p.num =
	    (int64_t)(limit > SCHEDULE_LIST_MAX ? SCHEDULE_LIST_MAX : limit);
	if (s != NULL && (st = sched_store(s)) != NULL &&
	    store_query(st, sql, &p, 1, sched_run_cb, runs) == -1) {
		json_decref(jobs);
		json_decref(runs);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o}", "timezone",
	    s != NULL ? calendar_tzname(sched_cal(s)) : "UTC", "jobs", jobs,
	    "runs", runs);
}

static int
sched_report_cb(const struct store_qrow *q, void *arg)
{
	json_t *a = arg, *o, *doc;

	o = json_pack("{s:I, s:s?, s:s?, s:o, s:s?}", "id",
	    (json_int_t)q->num[0], "job", q->text[1], "kind", q->text[2],
	    "made_at", sched_time_json(q->num[3]), "subject", q->text[4]);
	if (q->ncol > 5 && q->text[5] != NULL) {
		doc = json_loads(q->text[5], 0, NULL);
		json_object_set_new(o, "report",
		    doc != NULL ? doc : json_null());
	}
	json_array_append_new(a, o);
	return 0;
}

json_t *
schedule_reports_json(struct schedule *s, const char *job, size_t limit)
{
	static const char sql[] =
	    "SELECT id, job, kind, made_at, subject "
	    "FROM reports WHERE ?1 = '' OR job = ?1 ORDER BY id DESC LIMIT ?2";
	struct store_param p[2];
	struct store *st;
	json_t *a = json_array();

	memset(p, 0, sizeof(p));
	p[0].text = job != NULL ? job : "";
	p[1].num =
	    (int64_t)(limit > SCHEDULE_LIST_MAX ? SCHEDULE_LIST_MAX : limit);
	if (s == NULL || (st = sched_store(s)) == NULL ||
	    store_query(st, sql, p, 2, sched_report_cb, a) == -1) {
		json_decref(a);
		return NULL;
	}
	return json_pack("{s:o}", "reports", a);
}

json_t *
schedule_report_json(struct schedule *s, int64_t id)
{
	static const char sql[] = "SELECT id, job, kind, made_at, subject, doc "
				  "FROM reports WHERE id = ?1";
	struct store_param p = { NULL, id };
	struct store *st;
	json_t *a = json_array(), *o;

	if (s == NULL || (st = sched_store(s)) == NULL ||
	    store_query(st, sql, &p, 1, sched_report_cb, a) == -1 ||
	    json_array_size(a) == 0) {
		json_decref(a);
		return NULL;
	}
	o = json_incref(json_array_get(a, 0));
	json_decref(a);
	return o;
}
