/* escalate.h: the SOP's clock: escalation steps and patch/change windows. */
#ifndef SOPD_ESCALATE_H
#define SOPD_ESCALATE_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "deadline.h"

struct config;
struct deadlines;
struct escalator;
struct incidents;
struct notifier;
struct policy;
struct win;
struct winset;

/*
 * The escalator keeps, per active incident, when its escalation clock
 * started and which steps of its severity's policy fired; the due times
 * are absolute and kept in the store's escalation table, and the daemon's
 * deadline queue fires them.  A step is marked fired in the same
 * transaction as the level change it makes, its notices are written to
 * the notifier's outbox in that same transaction and go out after it
 * committed, so no step fires twice, one that fell due while sopd was down
 * fires once after the restart, and no notice of a fired step is lost.
 *
 * An incident opened while a counting window covers its host carries the
 * window's id (in_window) and its clock is held: no step fires and nobody
 * is notified; incidents already open when a window starts keep theirs.  When the window ends, incidents it still holds are
 * reported as a failed post-change verification and their clock starts at
 * the window's end.  Each window occurrence records the incidents opened,
 * resolved and still open (failed verification) in it.
 *
 * A reload that changes a policy keeps the steps already fired (by
 * position) and recomputes the others from the clock's start.
 */
#define ESCALATE_DL_STEP      DEADLINE_ESCALATE_STEP
#define ESCALATE_DL_WINDOW    DEADLINE_ESCALATE_WINDOW
#define ESCALATE_DL_IMPACT    DEADLINE_ESCALATE_IMPACT
/* A critical without impact this long after opening reminds its level. */
#define ESCALATE_IMPACT_AFTER (15 * 60)

/* What the escalator works on; the caller keeps it alive. */
struct escalate_deps {
	struct incidents *incidents; /* watched through their hooks */
	struct deadlines *deadlines; /* steps, reminders, window changes */
	struct notifier *notifier;   /* NULL: nobody is told */
	const struct policy *policy; /* the steps, the calendar */
	struct winset *windows;	     /* patch and change windows */
	const struct config *cfg;    /* host groups of window scopes */
};

/* Start on the incidents: load their clocks, arm their deadlines. */
struct escalator *escalate_new(const struct escalate_deps *, char **cause);
void escalate_free(struct escalator *);
/* Take a new policy, windows and config (after a reload swapped them). */
void escalate_reconfigure(struct escalator *, const struct policy *,
    struct winset *, const struct config *);
/* Tell another notifier (NULL: nobody, before it is freed). */
void escalate_set_notifier(struct escalator *, struct notifier *);
/* Notices dropped because too many waited for a commit (for stats). */
uint64_t escalate_notices_dropped(const struct escalator *);
/* A deadline fell due; 0 if the kind is not ours. */
int escalate_fire(struct escalator *, int kind, uint64_t id, time_t due);
/* The wall clock jumped: move running escalation clocks; how many moved. */
size_t escalate_clock_jumped(struct escalator *, long long jump);

/* What the escalator works on, now (for the window API, winapi.c). */
const struct escalate_deps *escalate_deps(const struct escalator *);
/* The record of a window's occurrence in progress (borrowed), or NULL. */
const json_t *escalate_window_record(const struct escalator *, const char *id);
/*
 * Move a change to a state (enum change_state), record it in its history
 * (stored at the next commit) and tell its owner and L1; -1 and *err if
 * it cannot go there.
 */
int escalate_change_move(struct escalator *, struct win *, int to,
    const char *actor, const char *note, char **err);
/* A change was requested: tell its owner and L1 the steps it went through. */
void escalate_change_requested(struct escalator *, const struct win *);
/*
 * Bring the windows up to date now: end the occurrences that are over,
 * start those that began, arm the deadline of the next change.
 */
void escalate_windows_sync(struct escalator *);

#endif
