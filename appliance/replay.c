/*
 * replay.c: run the rules, incidents, expectations and the SOP clock on a
 * captured log, in simulated time taken from the messages' timestamps,
 * and print (or compare with a golden file) what sopd would have done.
 */
#include "replay.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "core.h"
#include "daemon.h"
#include "deadline.h"
#include "escalate.h"
#include "event.h"
#include "expect.h"
#include "incident.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "policy.h"
#include "record.h"
#include "rules.h"
#include "syslog_parse.h"
#include "winset.h"
#include "xmalloc.h"
#include "yamlnode.h"

#define REPLAY_MAX_LINES 1000000 /* golden lines read */
#define REPLAY_LINE_MAX	 1024
#define REPLAY_MSG_MAX	 65536

/* The observers' outcome lines (the stable formats are in replay.h). */
static void
replay_incident_cb(const struct incident_info *ii, enum incident_change what,
    void *arg)
{
	char id[RECORD_U64_LEN], n[RECORD_U64_LEN];

	switch (what) {
	case INC_CHANGE_OPEN:
		record_cat("open #", record_u64(id, ii->id), " ",
		    severity_name(ii->severity), " ", ii->rule, " ",
		    ii->host != NULL ? ii->host : "-", " '", ii->title, "'",
		    NULL);
		break;
	case INC_CHANGE_RESOLVE:
		record_cat("resolve #", record_u64(id, ii->id),
		    ii->note != NULL ? " " : "",
		    ii->note != NULL ? ii->note : "", NULL);
		break;
	case INC_CHANGE_FLAP:
		record_cat("update #", record_u64(id, ii->id), " flapping ",
		    record_u64(n, ii->count), NULL);
		break;
	case INC_CHANGE_ACK:
		break;
	}
}

/* The recording notifier's sink: a notice nobody is told of. */
static void
replay_notice_cb(const char *level, const struct notice *no, void *arg)
{
	char id[RECORD_U64_LEN];

	record_cat("notify ", level, " ", notify_kind_name(no->kind), " #",
	    record_u64(id, no->inc->id), NULL);
}

/* Every module's deadlines, at their own simulated time. */
static void
replay_fire_cb(struct deadlines *dq, int kind, uint64_t id, time_t due,
    void *arg)
{
	struct sopd *sd = arg;

	/* What the last simulated second changed is committed first. */
	if (due > clock_now()) {
		incidents_flush(sd->incidents);
		clock_set_fake(due);
	}
	if (!core_fire(sd, kind, id, due))
		log_debug("replay: deadline of unknown kind %d", kind);
}

/* Run the simulated clock on to t: every deadline due before it fires. */
static void
replay_advance(struct sopd *sd, time_t t)
{
	while (deadlines_tick(sd->deadlines, t) > 0)
		;
	if (clock_now() < t) {
		incidents_flush(sd->incidents);
		clock_set_fake(t);
	}
}

/* A private state directory for the replay's store. */
static char *
replay_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	xasprintf(&dir, "%s/sopd-replay.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		log_warn("replay: mkdtemp %s", dir);
		free(dir);
		return NULL;
	}
	return dir;
}

/* Remove the replay's store and its directory. */
static void
replay_rmdir(const char *dir)
{
	static const char *const files[] = { "sopd.db", "sopd.db-wal",
		"sopd.db-shm", "sopd.db-journal", NULL };
	char path[4096];
	size_t i;

	for (i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		log_warn("replay: rmdir %s", dir);
}

/* Load config and rules; the calendar from the config's policy. */
static int
replay_load(struct sopd *sd, const char *file, const char *dir)
{
	struct errlist errs = { 0 };

	if ((sd->cfg = config_load(file, &errs)) == NULL ||
	    (sd->rules = ruleset_load(sd->cfg, &errs)) == NULL ||
	    (sd->policy = policy_load(sd->cfg, &errs)) == NULL ||
	    (sd->windows = winset_load(sd->cfg, policy_calendar(sd->policy),
		 &errs)) == NULL) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		return -1;
	}
	free(sd->cfg->state_dir);
	sd->cfg->state_dir = xstrdup(dir);
	/* A store thrown away at the end need not survive a crash. */
	free(sd->cfg->synchronous);
	sd->cfg->synchronous = xstrdup("off");
	return 0;
}

/* The replay's observer of the incidents. */
static const struct incident_hooks replay_hooks = { replay_incident_cb, NULL,
	NULL };

/* Start the modules the way the daemon does, without inputs. */
static int
replay_start(struct sopd *sd, time_t start)
{
	char *cause = NULL;
	const struct calendar *cal = policy_calendar(sd->policy);

	clock_set_fake(start);
	record_start(cal);
	setenv("TZ", calendar_tzname(cal), 1); /* 3164 times are local */
	tzset();
	if ((sd->incidents = incidents_open(NULL, sd->cfg, &cause)) == NULL) {
		fprintf(stderr, "sopd: replay: store: %s\n", cause);
		free(cause);
		return -1;
	}
	/* Replay reads back no incident: they live in memory only. */
	incidents_set_throwaway(sd->incidents);
	incidents_add_hooks(sd->incidents, &replay_hooks, NULL);
	sd->notifier = notify_new_sink(replay_notice_cb, NULL);
	core_start(sd, NULL, replay_fire_cb);
	return 0;
}

/*
 * Start the clock at t: expectations count from here, and the escalation
 * clock starts (it reads the time through clock_now()).
 */
static int
replay_begin(struct sopd *sd, time_t t)
{
	char *cause = NULL;

	clock_set_fake(t);
	if (core_begin(sd, &cause) == -1) {
		fprintf(stderr, "sopd: replay: escalation: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Stop the modules in reverse order. */
static void
replay_stop(struct sopd *sd)
{
	if (sd->escalator != NULL)
		escalate_free(sd->escalator);
	notify_free(sd->notifier);
	expect_free(sd->expect);
	if (sd->incidents != NULL)
		incidents_close(sd->incidents);
	if (sd->deadlines != NULL)
		deadlines_free(sd->deadlines);
	winset_free(sd->windows);
	if (sd->policy != NULL)
		policy_free(sd->policy);
	ruleset_free(sd->rules);
	config_free(sd->cfg);
}

/* The reference time for years: --start, else the log file's mtime. */
static int
replay_reference(const struct replay_opts *o, const struct calendar *cal,
    time_t *t)
{
	struct stat st;

	if (o->start != NULL) {
		if (calendar_parse_time(cal, o->start, t) != 0) {
			fprintf(stderr, "sopd: replay: bad --start \"%s\"\n",
			    o->start);
			return -1;
		}
		return 0;
	}
	if (strcmp(o->log, "-") != 0 && stat(o->log, &st) == 0) {
		*t = st.st_mtime;
		return 0;
	}
	*t = clock_now();
	return 0;
}

/* Feed one log line: clock to its timestamp, then the pipeline. */
static void
replay_line(struct sopd *sd, char *line, size_t len, time_t *ref, int *begun)
{
	struct logevent ev;
	enum stats_reason reason;
	time_t t;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (len == 0 || line[0] == '#')
		return;
	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.transport = "udp";
	ev.peer = "replay";
	ev.received_us = (int64_t)*ref * 1000000;
	if (syslog_parse(line, len, sd->cfg->max_message_size, &ev, &reason) ==
	    -1)
		return;
	t = (time_t)(ev.timestamp_us / 1000000);
	if (!*begun) {
		*begun = 1;
		if (replay_begin(sd, t) == -1)
			return;
	}
	if (t < clock_now())
		t = clock_now(); /* time never runs backwards */
	/*
	 * The daemon commits every commit_interval_ms; a replay once per
	 * simulated second, before the clock moves on (replay_advance): the
	 * lines and deadlines of one second share a transaction, and the
	 * notices that follow a commit keep their second.
	 */
	replay_advance(sd, t - 1); /* an event at a deadline is in time */
	if (t > clock_now()) {
		incidents_flush(sd->incidents);
		clock_set_fake(t);
	}
	ev.received_us = (int64_t)t * 1000000;
	*ref = t;
	pipeline_event(sd, &ev);
}

/* Read the log and feed every line. */
static int
replay_feed(struct sopd *sd, const struct replay_opts *o, time_t ref)
{
	FILE *f = stdin;
	char *line = xmalloc(REPLAY_MSG_MAX + 2);
	int begun = o->start != NULL;

	if (strcmp(o->log, "-") != 0 && (f = fopen(o->log, "r")) == NULL) {
		fprintf(stderr, "sopd: replay: %s: %s\n", o->log,
		    strerror(errno));
		free(line);
		return -1;
	}
	while (fgets(line, REPLAY_MSG_MAX + 2, f) != NULL)
		replay_line(sd, line, strlen(line), &ref, &begun);
	incidents_flush(sd->incidents); /* the last second's lines */
	if (f != stdin)
		fclose(f);
	free(line);
	return 0;
}

/* Read a golden file's lines (blank lines and # comments skipped). */
static char **
replay_golden(const char *file, size_t *n)
{
	FILE *f;
	char buf[REPLAY_LINE_MAX + 64], **v = NULL;
	size_t len;

	*n = 0;
	if ((f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "sopd: replay: %s: %s\n", file,
		    strerror(errno));
		return NULL;
	}
	while (fgets(buf, sizeof(buf), f) != NULL && *n < REPLAY_MAX_LINES) {
		len = strcspn(buf, "\r\n");
		buf[len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(buf);
	}
	fclose(f);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	return v;
}

/* Compare the outcome with a golden file; print the differences. */
static int
replay_compare(const char *file)
{
	const char *const *got;
	char **want;
	size_t n, ngot, i = 0, j = 0;
	int bad = 0;

	got = record_lines(&ngot);
	if ((want = replay_golden(file, &n)) == NULL)
		return 1;
	while (i < n || j < ngot) {
		if (i < n && j < ngot && strcmp(want[i], got[j]) == 0) {
			i++, j++;
			continue;
		}
		bad = 1;
		if (i < n)
			printf("-%s\n", want[i++]);
		if (j < ngot)
			printf("+%s\n", got[j++]);
	}
	for (i = 0; i < n; i++)
		free(want[i]);
	free(want);
	if (bad)
		printf("replay: %s: outcome differs (- expected, + got)\n",
		    file);
	return bad;
}

/* Print the outcome lines, gathered in a buffer (a line is < 1100 bytes). */
static void
replay_print(void)
{
	static char buf[65536];
	const char *const *lines;
	size_t i, n, len, used = 0;

	fflush(stdout);
	for (lines = record_lines(&n), i = 0; i < n; i++) {
		len = strlen(lines[i]);
		if (used + len + 1 > sizeof(buf)) {
			fwrite(buf, 1, used, stdout);
			used = 0;
		}
		memcpy(buf + used, lines[i], len);
		used += len;
		buf[used++] = '\n';
	}
	fwrite(buf, 1, used, stdout);
}

/* Print the outcome, or compare it; free it. */
static int
replay_report(const struct replay_opts *o)
{
	int rc = 0;

	if (o->expect != NULL)
		rc = replay_compare(o->expect);
	else
		replay_print();
	if (record_dropped() > 0)
		fprintf(stderr, "sopd: replay: %llu outcome lines dropped\n",
		    (unsigned long long)record_dropped());
	record_stop();
	return rc;
}

/* Run a replay; 0 on success (and a match), 1 on a mismatch, 2 on error. */
int
replay_run(const struct replay_opts *o)
{
	struct sopd sd;
	char *dir;
	time_t ref, until;
	int rc = 2;

	memset(&sd, 0, sizeof(sd));
	if ((dir = replay_tmpdir()) == NULL)
		return 2;
	if (replay_load(&sd, o->config, dir) == -1 ||
	    replay_reference(o, policy_calendar(sd.policy), &ref) == -1)
		goto out;
	if (replay_start(&sd, ref) == -1)
		goto out;
	if (o->start != NULL && replay_begin(&sd, ref) == -1)
		goto out;
	if (replay_feed(&sd, o, ref) == -1)
		goto out;
	if (o->until != NULL) {
		if (calendar_parse_time(policy_calendar(sd.policy), o->until,
			&until) != 0) {
			fprintf(stderr, "sopd: replay: bad --until \"%s\"\n",
			    o->until);
			goto out;
		}
		replay_advance(&sd, until);
	}
	incidents_flush(sd.incidents);
	rc = 0;
out:
	replay_stop(&sd);
	rc = rc == 0 ? replay_report(o) : (replay_report(o), 2);
	clock_clear_fake();
	replay_rmdir(dir);
	free(dir);
	return rc;
}
