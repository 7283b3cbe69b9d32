/* winset.h: the patch and change windows: from config and from the API. */
#ifndef SOPD_WINSET_H
#define SOPD_WINSET_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "windows.h"

struct calendar;
struct config;
struct errlist;

/*
 * A patch window recurs weekly (default "fri 20:00-24:00", all hosts) and
 * must lie outside business hours unless allow_business_hours is set.  A
 * change window is one-off, has an id, a title, a scope and an approval
 * state; only approved, not cancelled change windows count.  A window with
 * neither hosts nor groups covers every host.
 */
enum win_kind {
	WIN_PATCH,
	WIN_CHANGE
};

#define WINSET_MAX		1000	/* windows per source (config, API) */
#define WINSET_MAX_SCOPE	256	/* hosts or groups per window */
#define WINSET_ID_MAX		64

struct win {
	char			*id;
	char			*title;
	enum win_kind		 kind;
	struct window_spec	 spec;
	char			**hosts;
	size_t			 nhosts;
	char			**groups;
	size_t			 ngroups;
	int			 approved;
	int			 cancelled;
	int			 from_api;
	int			 allow_business_hours;
	time_t			 created;
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

/* Build an API window from JSON; NULL and *err (for a 400) if invalid. */
struct win *winset_parse_json(const struct config *, const struct calendar *,
    const json_t *, char **err);
/* Add a window (taken); -1 and *err if the id exists or the set is full. */
int winset_add(struct winset *, struct win *, char **err);
void winset_win_free(struct win *);

/* Whether a window counts (approved, not cancelled). */
int winset_counts(const struct win *);
/* Whether a host is in a window's scope. */
int winset_in_scope(const struct config *, const struct win *,
    const char *host);
/* 1 if w is active at t (occurrence bounds in *start, *end). */
int winset_active(const struct calendar *, const struct win *, time_t t,
    time_t *start, time_t *end);
/* The first counting window active at t for host, or NULL. */
struct win *winset_active_for(const struct winset *, const struct config *,
    const struct calendar *, const char *host, time_t t);
/* The next time after t any counting window starts or ends; -1 if none. */
time_t winset_next_change(const struct winset *, const struct calendar *,
    time_t t);

/* A window as JSON (definition, state at now, next occurrence). */
json_t *winset_win_json(const struct win *, const struct calendar *,
    time_t now);

#endif
