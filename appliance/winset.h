/* winset.h: the patch and change windows: from config and from the API. */
#ifndef SOPD_WINSET_H
#define SOPD_WINSET_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "winspec.h"

struct calendar;
struct config;
struct errlist;

/*
 * A patch window recurs weekly, names the hosts or groups it covers and
 * must lie outside business hours unless allow_business_hours is set.  A
 * change window is one-off and is the schedule of a change (SOP 4): a
 * record with a title, description, impact, risk, rollback plan,
 * requester, scope and a state (see enum change_state); only an approved
 * change, or one in progress, counts.  A change window with neither hosts
 * nor groups covers every host.  A window holds the severities of its
 * mask (default all but critical; only a change holds a critical, and
 * only when it lists it).  Its owner is a notify level that hears of its
 * end (and of every step of a change), as L1 does.
 */
enum win_kind {
	WIN_PATCH,
	WIN_CHANGE
};

#define WINSET_MAX	 1000 /* windows per source (config, API) */
#define WINSET_MAX_SCOPE 256  /* hosts or groups per window */
#define WINSET_ID_MAX	 64

/* The states of a change, in the order a change goes through them. */
enum change_state {
	CHANGE_REQUESTED = 0,
	CHANGE_APPROVED,
	CHANGE_IN_PROGRESS,
	CHANGE_VERIFIED,
	CHANGE_FAILED,
	CHANGE_ROLLED_BACK,
	CHANGE_CLOSED,
	CHANGE_CANCELLED,
	CHANGE_NSTATES
};

#define WINSET_SEV_DEFAULT 0x1eU /* high, medium, low, info */
#define WINSET_TEXT_MAX	   4096	 /* description, impact... */

struct win {
	char *id;
	char *title;
	enum win_kind kind;
	struct window_spec spec;
	char **hosts;
	size_t nhosts;
	char **groups;
	size_t ngroups;
	int approved;
	int cancelled;
	int from_api;
	int allow_business_hours;
	time_t created;
	unsigned sevmask; /* bit n: severity n is held */
	char *owner;	  /* a notify level */
	/* A change's record (WIN_CHANGE). */
	enum change_state state;
	char *description, *impact, *risk, *rollback;
	char *requester;
	char *approved_by;
	time_t approved_at;
	json_t *history; /* [{at, actor, to...}] */
	int dirty;	 /* store it at the commit */
};

struct winset;

/* Read cfg's windows: section (absent: the default patch window). */
struct winset *winset_load(const struct config *, const struct calendar *,
    struct errlist *);
struct winset *winset_new(void);
void winset_free(struct winset *);
/* Move the API-created windows of old into ws (on reload). */
void winset_adopt(struct winset *ws, struct winset *old);

size_t winset_count(const struct winset *);
struct win *winset_get(const struct winset *, size_t);
struct win *winset_find(const struct winset *, const char *id);

/*
 * Build an API window from JSON; NULL and *err (for a 400) if invalid.
 * stored: the document comes from the store (state and history are
 * taken); otherwise a new change is requested, or approved when the body
 * says approved: true (the window API of old).
 */
struct win *winset_parse_json(const struct config *, const struct calendar *,
    const json_t *, int stored, char **err);
/* The stored document of an API window (what winset_parse_json reads). */
json_t *winset_win_doc(const struct win *);
/* Add a window (taken); -1 and *err if the id exists or the set is full. */
int winset_add(struct winset *, struct win *, char **err);
void winset_win_free(struct win *);

/* Whether a window counts (a patch window; an approved change). */
int winset_counts(const struct win *);
/* Whether a window holds incidents of a severity. */
int winset_holds(const struct win *, int severity);
const char *change_state_name(int);
int change_state_from_name(const char *); /* -1 if unknown */
/*
 * Move a change to a state, recording who, when and why in its history;
 * -1 and *err if the change cannot go there from where it is.
 */
int winset_change_move(struct win *, enum change_state, const char *actor,
    const char *note, time_t now, char **err);
/* Whether a host is in a window's scope. */
int winset_in_scope(const struct config *, const struct win *,
    const char *host);
/* 1 if w is active at t (occurrence bounds in *start, *end). */
int winset_active(const struct calendar *, const struct win *, time_t t,
    time_t *start, time_t *end);
/*
 * The first counting window active at t for host, or NULL; with
 * winset_holding, the first that also holds the severity.
 */
struct win *winset_active_for(const struct winset *, const struct config *,
    const struct calendar *, const char *host, time_t t);
struct win *winset_holding(const struct winset *, const struct config *,
    const struct calendar *, const char *host, int severity, time_t t);
/* The next time after t any counting window starts or ends; -1 if none. */
time_t winset_next_change(const struct winset *, const struct calendar *,
    time_t t);

/* A window as JSON (definition, state at now, next occurrence). */
json_t *winset_win_json(const struct win *, const struct calendar *,
    time_t now);

#endif
