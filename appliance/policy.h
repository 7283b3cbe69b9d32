/* policy.h: the business calendar and escalation policies read from config. */
#ifndef SOPD_POLICY_H
#define SOPD_POLICY_H

#include <time.h>

struct calendar;
struct config;
struct errlist;
struct ynode;

/*
 * An escalation policy is a list of steps per severity.  A step falls due
 * `after` a duration counted from the incident's opening (or from the end of
 * the window that held it): wall-clock seconds ("30m", "1h", "4h") or
 * business time ("1bd" business days, "4bh" business hours, see
 * calendar.h).  When it falls due and the incident is not resolved, the
 * incident's level becomes at least the step's level and the step's levels
 * are notified.  A step with `ack_within:` instead of `after:` fires only if
 * the incident is still unacknowledged then.  Steps are named by their
 * position in the severity's list (step 0, 1, ...).
 */

#define POLICY_MAX_STEPS 16

enum policy_level {
	POLICY_L1 = 0,
	POLICY_L2,
	POLICY_L3,
	POLICY_CLIENT,
	POLICY_NLEVELS
};

struct policy_step {
	int business;	  /* 1: secs are business seconds */
	long long secs;	  /* after this much (wall or business) */
	long long bdays;  /* plus this many business days */
	int unless_acked; /* ack_within: skipped once acknowledged */
	int level;	  /* POLICY_L1 .. POLICY_L3 */
	unsigned notify;  /* bit n: notify level n */
	char text[32];	  /* the duration as written */
};

struct policy;

/* Read cfg's calendar: and escalation: sections; NULL with errors in errs. */
struct policy *policy_load(const struct config *, struct errlist *);
/* The SOP's defaults with a given calendar (taken); for tests. */
struct policy *policy_default(struct calendar *);
void policy_free(struct policy *);
/* Read a calendar: section (NULL: the defaults); NULL with errors. */
struct calendar *policy_calendar_load(const struct config *,
    const struct ynode *, struct errlist *);

struct calendar *policy_calendar(const struct policy *);
int policy_nsteps(const struct policy *, int severity);
const struct policy_step *policy_step(const struct policy *, int severity,
    int step);
/* When step falls due for a clock started at start; (time_t)-1 if never. */
time_t policy_due(const struct policy *, int severity, int step, time_t start);
/* Levels notified by the steps in the fired mask (bit n: step n fired). */
unsigned policy_notified(const struct policy *, int severity, unsigned fired);

/*
 * When the client hears of a severity's incidents ("escalation: client:
 * {SEVERITY: steps | resolved | never}"): steps, as the steps' notify say
 * (default); resolved, also of its resolution with its note, whatever the
 * steps say (default for high, as the SOP reports high incidents to the
 * client after recovery); never, not at all.
 */
enum policy_client {
	POLICY_CLIENT_STEPS = 0,
	POLICY_CLIENT_RESOLVED,
	POLICY_CLIENT_NEVER,
};
int policy_client(const struct policy *, int severity);

/* "L1", "L2", "L3", "client"; -1 if unknown. */
const char *policy_level_name(int);
int policy_level_from_name(const char *);
/*
 * Parse "30m", "1h30m", "4h", "2d" (wall) or "1bd", "4bh", "1bd4bh"
 * (business days and seconds); -1 if malformed or mixed.
 */
int policy_parse_duration(const char *, long long *secs, long long *bdays,
    int *business);

#endif
