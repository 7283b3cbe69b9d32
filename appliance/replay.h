/* replay.h: run rules and the SOP clock on a captured log in simulated time. */
#ifndef SOPD_REPLAY_H
#define SOPD_REPLAY_H

#include <stdarg.h>
#include <time.h>

struct calendar;

/*
 * While a replay runs, every module reports what it would do with one
 * replay_record() call, and replay prints it as one line prefixed with the
 * simulated time (clock_now(), RFC 3339 in the calendar's zone).  Outside a
 * replay replay_record() does nothing, so modules call it unconditionally.
 * The stable line formats (replay tests compare them byte for byte):
 *
 *	open #ID SEVERITY RULE HOST 'TITLE'	(incident.c)
 *	update #ID flapping N		(incident.c: a cycle of a flapping key)
 *	resolve #ID [late|flapping ended|...]	(incident.c; the note if any)
 *	escalate #ID LEVEL		(escalation: a step fell due)
 *	notify LEVEL KIND #ID		(notifier: KIND opened, escalated,
 *					 acknowledged, resolved)
 *
 * The notifier delivers nothing while replay_active() is 1 (it records the
 * notify line instead), and the escalation engine reads the time only
 * through clock_now() (clock.h) and schedules through the deadline queue,
 * which replay ticks to each message's timestamp before handling it.
 */

/* 1 while a replay runs. */
int replay_active(void);
/* Report one outcome (printf format, no newline). */
void replay_record(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

struct replay_opts {
	const char	*config;	/* -c */
	const char	*log;		/* captured syslog lines, "-": stdin */
	const char	*expect;	/* golden file or NULL */
	const char	*start;		/* time of the first line (3164 year) */
	const char	*until;		/* run the clock on to this time */
};

/* Run a replay and print (or compare) its outcome; the exit status. */
int replay_run(const struct replay_opts *);

#endif
