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

#define REPLAY_LINE_MAX 2048 /* a golden line; an outcome line is shorter */
#define REPLAY_MSG_MAX	65536
#define REPLAY_OUT_BUF	65536 /* stdout is written in blocks of this size */

/* Replay's stdout: a fixed buffer, written out when full and at the end. */
static struct {
	char buf[REPLAY_OUT_BUF];
	size_t used;
	int error; /* errno of the first failed write, or 0 */
} replay_out;

/*
 * The golden file of --expect, read one line at a time as the outcome lines
 * come, and compared with them in order.
 */
struct replay_golden {
	const char *file;
	FILE *f;
	char line[REPLAY_LINE_MAX];
	size_t len;
	int eof;   /* no more lines */
	int error; /* errno of a read error, or 0 */
	int bad;   /* a difference was shown */
};

/* Write out what replay_out holds (nothing more once a write failed). */
static void
replay_out_flush(void)
{
	const char *p = replay_out.buf;
	size_t left = replay_out.used;
	ssize_t n;

	while (left > 0 && replay_out.error == 0) {
		if ((n = write(STDOUT_FILENO, p, left)) >= 0) {
			p += n;
			left -= (size_t)n;
		} else if (errno != EINTR)
			replay_out.error = errno;
	}
	replay_out.used = 0;
}

/* Add n bytes to stdout, in as many blocks as they take. */
static void
replay_out_put(const char *s, size_t n)
{
	size_t k;

	while (n > 0) {
		if (replay_out.used == sizeof(replay_out.buf))
			replay_out_flush();
		k = sizeof(replay_out.buf) - replay_out.used;
		if (k > n)
			k = n;
		memcpy(replay_out.buf + replay_out.used, s, k);
		replay_out.used += k;
		s += k;
		n -= k;
	}
}

/* One line on stdout: mark ("", "-" or "+"), the n bytes of s, a newline. */
static void
replay_out_line(const char *mark, const char *s, size_t n)
{
	size_t m = strlen(mark);
	char *p;

	if (m + n + 1 > sizeof(replay_out.buf) - replay_out.used) {
		replay_out_put(mark, m);
		replay_out_put(s, n);
		replay_out_put("\n", 1);
		return;
	}
	p = replay_out.buf + replay_out.used;
	memcpy(p, mark, m);
	memcpy(p + m, s, n);
	p[m + n] = '\n';
	replay_out.used += m + n + 1;
}

/* Write out the rest; -1 (and a message) if stdout could not be written. */
static int
replay_out_end(void)
{
	replay_out_flush();
	if (replay_out.error == 0)
		return 0;
	fprintf(stderr, "sopd: replay: stdout: %s\n",
	    strerror(replay_out.error));
	replay_out.error = 0;
	return -1;
}

/* The recorder's sink without --expect: print each line. */
static void
replay_print_cb(const char *line, size_t len, void *arg)
{
	replay_out_line("", line, len);
}

/* Open the golden file; -1 (and a message) if it cannot be read. */
static int
replay_golden_open(struct replay_golden *g, const char *file)
{
	memset(g, 0, sizeof(*g));
	g->file = file;
	if ((g->f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "sopd: replay: %s: %s\n", file,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Read the golden file's next line into g->line (blank lines and #
 * comments skipped); 0 at its end. Of a line longer than g->line, which
 * no outcome line is, the rest is skipped: it is one line, a mismatch.
 */
static int
replay_golden_next(struct replay_golden *g)
{
	size_t n;
	int c;

	while (!g->eof && fgets(g->line, sizeof(g->line), g->f) != NULL) {
		n = strlen(g->line);
		if (n == sizeof(g->line) - 1 && g->line[n - 1] != '\n')
			while ((c = getc(g->f)) != EOF && c != '\n')
				;
		g->len = strcspn(g->line, "\r\n");
		g->line[g->len] = '\0';
		if (g->len != 0 && g->line[0] != '#')
			return 1;
	}
	if (!g->eof && ferror(g->f))
		g->error = errno != 0 ? errno : EIO;
	g->eof = 1;
	return 0;
}

/*
 * The recorder's sink with --expect: each outcome line against the golden
 * file's next; a difference prints both, "-expected" then "+got".
 */
static void
replay_compare_cb(const char *line, size_t len, void *arg)
{
	struct replay_golden *g = arg;

	if (replay_golden_next(g)) {
		if (g->len == len && memcmp(g->line, line, len) == 0)
			return;
		replay_out_line("-", g->line, g->len);
	}
	g->bad = 1;
	replay_out_line("+", line, len);
}

/* The golden lines no outcome line came for; 1 if anything differed. */
static int
replay_golden_end(struct replay_golden *g)
{
	static const char what[] = ": outcome differs (- expected, + got)\n";

	while (replay_golden_next(g)) {
		g->bad = 1;
		replay_out_line("-", g->line, g->len);
	}
	if (g->error != 0) {
		fprintf(stderr, "sopd: replay: %s: %s\n", g->file,
		    strerror(g->error));
		return 2;
	}
	if (!g->bad)
		return 0;
	replay_out_put("replay: ", 8);
	replay_out_put(g->file, strlen(g->file));
	replay_out_put(what, sizeof(what) - 1);
	return 1;
}

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
replay_start(struct sopd *sd, time_t start, struct replay_golden *g)
{
	char *cause = NULL;
	const struct calendar *cal = policy_calendar(sd->policy);

	clock_set_fake(start);
	if (g != NULL)
		record_start(cal, replay_compare_cb, g);
	else
		record_start(cal, replay_print_cb, NULL);
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

/* The replay proper: load, start, feed the log, run on to --until. */
static int
replay_go(struct sopd *sd, const struct replay_opts *o, const char *dir,
    struct replay_golden *g)
{
	time_t ref, until;

	if (replay_load(sd, o->config, dir) == -1 ||
	    replay_reference(o, policy_calendar(sd->policy), &ref) == -1 ||
	    replay_start(sd, ref, g) == -1 ||
	    (o->start != NULL && replay_begin(sd, ref) == -1) ||
	    replay_feed(sd, o, ref) == -1)
		return -1;
	if (o->until != NULL) {
		if (calendar_parse_time(policy_calendar(sd->policy), o->until,
			&until) != 0) {
			fprintf(stderr, "sopd: replay: bad --until \"%s\"\n",
			    o->until);
			return -1;
		}
		replay_advance(sd, until);
	}
	incidents_flush(sd->incidents);
	return 0;
}

/*
 * Run a replay; 0 on success (and a match), 1 on a mismatch, 2 on error.
 * The outcome lines are printed (or compared) as they are made.
 */
int
replay_run(const struct replay_opts *o)
{
	struct sopd sd;
	struct replay_golden golden, *g = NULL;
	char *dir;
	int rc;

	memset(&sd, 0, sizeof(sd));
	if (o->expect != NULL) {
		if (replay_golden_open(&golden, o->expect) == -1)
			return 2;
		g = &golden;
	}
	fflush(stdout);
	if ((dir = replay_tmpdir()) != NULL) {
		rc = replay_go(&sd, o, dir, g) == 0 ? 0 : 2;
		replay_stop(&sd);
	} else
		rc = 2;
	if (g != NULL) {
		if (rc == 0)
			rc = replay_golden_end(g);
		fclose(g->f);
	}
	record_stop();
	if (replay_out_end() == -1)
		rc = 2;
	clock_clear_fake();
	if (dir != NULL) {
		replay_rmdir(dir);
		free(dir);
	}
	return rc;
}
