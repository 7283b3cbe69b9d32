/* replay.h: run rules and the SOP clock on a captured log in simulated time. */
#ifndef SOPD_REPLAY_H
#define SOPD_REPLAY_H

#include <time.h>

struct calendar;

/*
 * While a replay runs, what sopd would do is made into lines by record.c,
 * each prefixed with the simulated time (clock_now(), RFC 3339 in the
 * calendar's zone), and printed or compared with the golden file's next
 * line as it is made: none is kept. replay.c feeds the
 * recorder as an observer: an incident hook (open, update, resolve) and a
 * recording notifier (notify); the escalation engine records its steps.
 * The stable line formats (replay tests compare them byte for byte):
 *
 *	open #ID SEVERITY RULE HOST 'TITLE'	(incident hook)
 *	update #ID flapping N		(incident hook: a flapping cycle)
 *	resolve #ID [late|flapping ended|...]	(incident hook; the note)
 *	escalate #ID LEVEL		(escalation: a step fell due)
 *	notify LEVEL KIND #ID		(recording notifier: KIND opened,
 *					 escalated, acknowledged, resolved)
 *
 * The recording notifier delivers nothing, and the escalation engine reads
 * the time only through clock_now() (clock.h) and schedules through the
 * deadline queue, which replay ticks to each message's timestamp before
 * handling it.
 */

struct replay_opts {
	const char *config; /* -c */
	const char *log;    /* captured syslog lines, "-": stdin */
	const char *expect; /* golden file or NULL */
	const char *start;  /* time of the first line (3164 year) */
	const char *until;  /* run the clock on to this time */
};

/* Run a replay and print (or compare) its outcome; the exit status. */
int replay_run(const struct replay_opts *);

#endif
