/*
 * winapi.c: the patch and change windows as the API sees them: the views
 * of the windows and changes, a change requested, moved or cancelled, and
 * the stored documents of the windows created through it.
 */
#include "winapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clock.h"
#include "escalate.h"
#include "incident.h"
#include "log.h"
#include "policy.h"
#include "store.h"
#include "winset.h"
#include "xmalloc.h"

#define WINAPI_WINLOG_SHOWN 10 /* occurrences shown per window */

/* Where stored API windows go. */
struct winapi_load {
	struct winset *ws;
	const struct config *cfg;
	const struct calendar *cal;
};

/* Take one stored API window. */
static int
winapi_load_cb(const char *id, const char *doc, void *arg)
{
	struct winapi_load *l = arg;
	struct win *w;
	char *err = NULL;
	json_t *o;

	o = doc != NULL ? json_loads(doc, 0, NULL) : NULL;
	if (o == NULL ||
	    (w = winset_parse_json(l->cfg, l->cal, o, 1, &err)) == NULL ||
	    winset_add(l->ws, w, &err) != 0) {
		log_warnx("window %s from the store not loaded: %s", id,
		    err != NULL ? err : "bad JSON");
		free(err);
	}
	json_decref(o);
	return 0;
}

/* Add the windows created through the API, as stored. */
int
winapi_load(struct winset *ws, const struct config *cfg,
    const struct calendar *cal, struct store *st)
{
	struct winapi_load l = { ws, cfg, cal };

	return store_load_windows(st, winapi_load_cb, &l);
}

/* The calendar the escalator's windows run on. */
static const struct calendar *
winapi_cal(struct escalator *e)
{
	return policy_calendar(escalate_deps(e)->policy);
}

/* GET /api/v1/windows: active and upcoming windows. */
json_t *
winapi_windows_json(struct escalator *e)
{
	const json_t *rec;
	struct winset *ws = escalate_deps(e)->windows;
	struct win *w;
	json_t *a = json_array(), *o;
	time_t now = clock_now();
	size_t i;

	for (i = 0; i < winset_count(ws); i++) {
		w = winset_get(ws, i);
		if (w->spec.kind == WINDOW_ONEOFF && w->spec.end <= now)
			continue;
		o = winset_win_json(w, winapi_cal(e), now);
		if ((rec = escalate_window_record(e, w->id)) != NULL)
			json_object_set(o, "record", (json_t *)rec);
		json_array_append_new(a, o);
	}
	return json_pack("{s:o, s:s}", "windows", a, "timezone",
	    calendar_tzname(winapi_cal(e)));
}

/* GET /api/v1/changes: every change, ended ones too. */
json_t *
winapi_changes_json(struct escalator *e)
{
	struct winset *ws = escalate_deps(e)->windows;
	struct win *w;
	json_t *a = json_array();
	time_t now = clock_now();
	size_t i;

	for (i = 0; i < winset_count(ws); i++) {
		w = winset_get(ws, i);
		if (w->kind == WIN_CHANGE)
			json_array_append_new(a,
			    winset_win_json(w, winapi_cal(e), now));
	}
	return json_pack("{s:o, s:s}", "changes", a, "timezone",
	    calendar_tzname(winapi_cal(e)));
}

/* One stored occurrence as JSON. */
static int
winapi_occ_cb(const struct store_winlog *w, void *arg)
{
	json_t *rec;

	rec = w->record != NULL ? json_loads(w->record, 0, NULL) : NULL;
	json_array_append_new(arg,
	    json_pack("{s:I, s:I, s:b, s:o}", "start", (json_int_t)w->start,
		"end", (json_int_t)w->end, "ended", w->ended, "record",
		rec != NULL ? rec : json_object()));
	return 0;
}

/* GET /api/v1/windows/{id}: definition and its recent occurrences. */
json_t *
winapi_window_json(struct escalator *e, const char *id)
{
	struct incidents *inc = escalate_deps(e)->incidents;
	struct win *w;
	json_t *o, *occ;

	if ((w = winset_find(escalate_deps(e)->windows, id)) == NULL)
		return NULL;
	incidents_flush(inc);
	o = winset_win_json(w, winapi_cal(e), clock_now());
	occ = json_array();
	store_load_winlog(incidents_store(inc), id, WINAPI_WINLOG_SHOWN,
	    winapi_occ_cb, occ);
	json_object_set_new(o, "occurrences", occ);
	return o;
}

/* Write an API window's definition now. */
static int
winapi_save(struct escalator *e, const struct win *w, char **err)
{
	struct incidents *inc = escalate_deps(e)->incidents;
	json_t *doc = winset_win_doc(w);
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	incidents_flush(inc);
	rc = store_put_window(incidents_store(inc), w->id, text);
	free(text);
	json_decref(doc);
	if (rc != 0)
		xasprintf(err, "window %s not saved", w->id);
	return rc;
}

/* POST /api/v1/windows and /api/v1/changes: request a change. */
int
winapi_window_add(struct escalator *e, const json_t *body, char **err,
    int *status)
{
	const struct escalate_deps *d = escalate_deps(e);
	struct win *w;

	*status = 400;
	if ((w = winset_parse_json(d->cfg, winapi_cal(e), body, 0, err)) ==
	    NULL)
		return -1;
	w->created = clock_now();
	if (w->spec.end <= w->created) {
		xasprintf(err, "end: the window is over already");
		winset_win_free(w);
		return -1;
	}
	*status = 409;
	if (winset_add(d->windows, w, err) != 0) {
		winset_win_free(w);
		return -1;
	}
	*status = 500;
	if (winapi_save(e, w, err) != 0)
		return -1;
	log_info("change %s requested by %s (%s)", w->id,
	    w->requester != NULL ? w->requester : "api",
	    change_state_name(w->state));
	escalate_change_requested(e, w);
	escalate_windows_sync(e);
	incidents_flush(d->incidents);
	*status = 201;
	return 0;
}

/* The state an action moves a change to; -1 if unknown. */
static int
winapi_action_state(const char *action)
{
	static const struct {
		const char *action;
		int state;
	} acts[] = { { "approve", CHANGE_APPROVED },
		{ "start", CHANGE_IN_PROGRESS },
		{ "verified", CHANGE_VERIFIED }, { "failed", CHANGE_FAILED },
		{ "rollback", CHANGE_ROLLED_BACK }, { "close", CHANGE_CLOSED },
		{ "cancel", CHANGE_CANCELLED } };
	size_t i;

	for (i = 0; action != NULL && i < sizeof(acts) / sizeof(*acts); i++) {
		if (strcmp(acts[i].action, action) == 0)
			return acts[i].state;
	}
	return -1;
}

/* POST /api/v1/changes/{id}/{action}: move a change, by whom and why. */
int
winapi_change_action(struct escalator *e, const char *id, const char *action,
    const json_t *body, char **err, int *status)
{
	const char *actor, *note;
	struct win *w;
	int to;

	*status = 404;
	if ((to = winapi_action_state(action)) < 0) {
		xasprintf(err,
		    "no action %s (approve, start, verified, "
		    "failed, rollback, close, cancel)",
		    action);
		return -1;
	}
	if ((w = winset_find(escalate_deps(e)->windows, id)) == NULL ||
	    w->kind != WIN_CHANGE) {
		xasprintf(err, "no change %s", id);
		return -1;
	}
	*status = 400;
	actor = json_string_value(json_object_get(body, "actor"));
	note = json_string_value(json_object_get(body, "note"));
	if ((actor != NULL && strlen(actor) > 256) ||
	    (note != NULL && strlen(note) > WINSET_TEXT_MAX)) {
		xasprintf(err, "actor, note: too long");
		return -1;
	}
	*status = 409;
	if (!w->from_api) {
		xasprintf(err, "change %s is defined in the configuration", id);
		return -1;
	}
	if (escalate_change_move(e, w, to, actor != NULL ? actor : "api", note,
		err) != 0)
		return -1;
	*status = 500;
	if (winapi_save(e, w, err) != 0)
		return -1;
	escalate_windows_sync(e);
	incidents_flush(escalate_deps(e)->incidents);
	*status = 200;
	return 0;
}

/* POST /api/v1/windows/{id}/cancel. */
int
winapi_window_cancel(struct escalator *e, const char *id, const char *actor,
    char **err, int *status)
{
	struct win *w;
	json_t *body;
	int rc;

	*status = 404;
	if ((w = winset_find(escalate_deps(e)->windows, id)) == NULL) {
		xasprintf(err, "no window %s", id);
		return -1;
	}
	*status = 409;
	if (!w->from_api) {
		xasprintf(err, "window %s is defined in the configuration", id);
		return -1;
	}
	if (w->cancelled) {
		xasprintf(err, "window %s is already cancelled", id);
		return -1;
	}
	body = actor != NULL ? json_pack("{s:s}", "actor", actor) : NULL;
	rc = winapi_change_action(e, id, "cancel", body, err, status);
	json_decref(body);
	return rc;
}
