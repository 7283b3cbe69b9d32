/* schedule.h: the SOP's jobs at their local times: checks and reports, stored and delivered. */
#ifndef SOPD_SCHEDULE_H
#define SOPD_SCHEDULE_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct sopd;
struct config;
struct errlist;
struct logevent;
struct schedule;

/*
 * The "schedule:" section maps a job to when it runs and who hears it:
 *
 *   schedule:
 *     server-check:       {at: "09:00", days: daily, notify: L1}
 *     backup-check:       {at: "10:00", days: daily}
 *     performance-report: {at: "10:00", days: mondays, notify: client}
 *     daily-report:       {at: "09:00", days: daily, notify: client}
 *     weekly-report:      {at: "10:00", days: mondays, notify: client}
 *     monthly-report:     {at: "10:00", days: first, notify: client}
 *
 * Times are local to the business calendar's zone; days is daily,
 * weekdays (Monday to Friday), business (working days of the calendar:
 * no weekend, no holiday), mondays, or first (the 1st of the month).
 * Each job is one entry of the daemon's deadline queue (kind
 * SCHEDULE_DL_JOB, id: the job); when it falls due the job runs, its
 * report is stored (table reports) and sent to the targets of the notify
 * level, and the run is recorded (table schedule_runs: job, scheduled
 * time, when it ran, outcome).  The last scheduled time handled per job
 * is kept in the store's meta table (schedule.last:JOB), so an
 * occurrence missed while sopd was down runs once after the restart (the
 * latest one only), and none runs twice.  A job new to the configuration
 * starts with its next occurrence.
 */
#define SCHEDULE_DL_JOB	   DEADLINE_SCHEDULE_JOB
#define SCHEDULE_HOSTS_MAX 10000 /* hosts the server check tracks */
#define SCHEDULE_LIST_MAX  1000	 /* runs or reports listed at once */

enum schedule_job {
	SCHED_SERVER_CHECK = 0,
	SCHED_BACKUP_CHECK,
	SCHED_PERFORMANCE,
	SCHED_DAILY,
	SCHED_WEEKLY,
	SCHED_MONTHLY,
	SCHED_NJOBS
};

/*
 * Host metrics come from a source the scheduler does not own (SNMP
 * polling).  Until one is set every host has "no data" (null figures).
 * Each function returns a new JSON value (caller decrefs) or NULL:
 *   hosts: an array of the polled host names;
 *   now: {"reachable": bool, "cpu_pct", "mem_pct", "disks": [{"mount",
 *        "used_pct"}] } for the server check;
 *   period: per-host figures for [from, to) as the performance report
 *        lists them ("cpu", "mem", "disk", "traffic": {avg, p95, max,
 *        change_pct}, "sustained_high_load", "disks_full_in_30d"),
 *        made from samples with the functions of perfstat.h.
 */
struct schedule_metrics {
	json_t *(*hosts)(void *arg);
	json_t *(*now)(void *arg, const char *host);
	json_t *(*period)(void *arg, const char *host, time_t from, time_t to);
	void *arg;
};

/* Check cfg's schedule section; every mistake as file:line:col. */
int schedule_check(const struct config *, struct errlist *);
/* Start with sd's config (after the store, deadlines and notifier). */
struct schedule *schedule_new(struct sopd *, char **cause);
/* Take a reloaded (checked) configuration. */
void schedule_reconfigure(struct schedule *, const struct config *);
void schedule_free(struct schedule *);
/* Set (NULL: clear) the host metrics source. */
void schedule_set_metrics(struct schedule *, const struct schedule_metrics *);
/* Any accepted event: the host was heard (errors and warnings counted). */
void schedule_heard(struct schedule *, const struct logevent *);
/* A deadline fell due; 0 if the kind is not ours. */
int schedule_fire(struct schedule *, int kind, uint64_t id, time_t due);
/* Run a job as if scheduled at `scheduled`; the run's id or -1. */
int64_t schedule_run(struct schedule *, int job, time_t scheduled);
/*
 * Run a job now on demand (configured or not; told to its level if it has
 * one); recorded as a run scheduled now, the schedule's own clock (which
 * occurrence was handled) is left alone.  The run's id or -1.
 */
int64_t schedule_run_now(struct schedule *, int job);

/*
 * The first time after t (dir > 0) or the last at or before t (dir <= 0)
 * of a job at local HH:MM on days ("daily", "weekdays", "business",
 * "mondays", "first") in the calendar; 0 on a bad spec or none in a year.
 */
struct calendar;
time_t schedule_occurrence(const struct calendar *, const char *at,
    const char *days, time_t t, int dir);

/* "server-check" ... to a job; -1 if unknown. */
int schedule_job_from_name(const char *);
const char *schedule_job_name(int);

/* GET /api/v1/schedule: the jobs, their next time, and recent runs. */
json_t *schedule_status_json(struct schedule *, size_t limit);
/* GET /api/v1/reports/stored: the newest stored reports (no documents). */
json_t *schedule_reports_json(struct schedule *, const char *job, size_t limit);
/* One stored report with its document; NULL if there is none. */
json_t *schedule_report_json(struct schedule *, int64_t id);

/* A report document as text or as HTML (with inline SVG charts). */
char *schedule_render_text(const json_t *doc);
char *schedule_render_html(const json_t *doc);

#endif
