/*
 * winset.c: the set of patch and change windows: read from the config's
 * windows: section or built from API requests, scoped to hosts and host
 * groups, and asked which window covers a host at a time.
 */
#include "winset.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "rules.h"
#include "xmalloc.h"
#include "yamlnode.h"

struct winset {
	struct win **w;
	size_t n;
	size_t cap;
};

#define WINSET_DEFAULT_PATCH "fri 20:00-24:00"
#define WINSET_HISTORY_MAX   100 /* steps kept per change */

static const char *change_states[CHANGE_NSTATES] = { "requested", "approved",
	"in_progress", "verified", "failed", "rolled_back", "closed",
	"cancelled" };

/* Bit n: the change may go from state n to the state of the row. */
#define CS(x) (1U << CHANGE_##x)
static const unsigned change_from[CHANGE_NSTATES] = {
	0,					       /* requested */
	CS(REQUESTED),				       /* approved */
	CS(APPROVED),				       /* in_progress */
	CS(APPROVED) | CS(IN_PROGRESS),		       /* verified */
	CS(APPROVED) | CS(IN_PROGRESS),		       /* failed */
	CS(IN_PROGRESS) | CS(VERIFIED) | CS(FAILED),   /* rolled_back */
	CS(VERIFIED) | CS(FAILED) | CS(ROLLED_BACK),   /* closed */
	CS(REQUESTED) | CS(APPROVED) | CS(IN_PROGRESS) /* cancelled */
};
#undef CS

/* The name of a change state. */
const char *
change_state_name(int st)
{
	return st >= 0 && st < CHANGE_NSTATES ? change_states[st] : "unknown";
}

/* A change state by name; -1 if unknown. */
int
change_state_from_name(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < CHANGE_NSTATES; i++) {
		if (strcmp(change_states[i], name) == 0)
			return i;
	}
	return -1;
}

/* Keep the flags of old (approved, cancelled) in step with the state. */
static void
winset_change_flags(struct win *w)
{
	w->approved = w->approved_by != NULL ||
	    (w->state != CHANGE_REQUESTED && w->state != CHANGE_CANCELLED);
	w->cancelled = w->state == CHANGE_CANCELLED;
}

/* Append a step to a change's history (bounded; the request is kept). */
static void
winset_change_log(struct win *w, const char *actor, const char *from,
    enum change_state to, const char *note, time_t now)
{
	char at[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (w->history == NULL)
		w->history = json_array();
	if (json_array_size(w->history) >= WINSET_HISTORY_MAX)
		json_array_remove(w->history, 1);
	json_array_append_new(w->history,
	    json_pack("{s:s, s:s, s:o, s:s, "
		      "s:o}",
		"at", at, "actor", actor, "from",
		from != NULL ? json_string(from) : json_null(), "to",
		change_state_name(to), "note",
		note != NULL ? json_string(note) : json_null()));
}

/* Move a change to a state and record the step. */
int
winset_change_move(struct win *w, enum change_state to, const char *actor,
    const char *note, time_t now, char **err)
{
	if (w->kind != WIN_CHANGE || (int)to < 0 || to >= CHANGE_NSTATES ||
	    !(change_from[to] & (1U << w->state))) {
		xasprintf(err, "change %s is %s: it cannot become %s", w->id,
		    change_state_name(w->state), change_state_name(to));
		return -1;
	}
	if (actor == NULL || *actor == '\0')
		actor = "sopd";
	if (to == CHANGE_APPROVED) {
		free(w->approved_by);
		w->approved_by = xstrndup(actor, 256);
		w->approved_at = now;
	}
	winset_change_log(w, actor, change_state_name(w->state), to, note, now);
	w->state = to;
	winset_change_flags(w);
	return 0;
}

/* An empty set. */
struct winset *
winset_new(void)
{
	return xcalloc(1, sizeof(struct winset));
}

/* Free a string vector. */
static void
winset_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Free one window. */
void
winset_win_free(struct win *w)
{
	if (w == NULL)
		return;
	free(w->id);
	free(w->title);
	free(w->owner);
	free(w->description);
	free(w->impact);
	free(w->risk);
	free(w->rollback);
	free(w->requester);
	free(w->approved_by);
	json_decref(w->history);
	winset_strv_free(w->hosts, w->nhosts);
	winset_strv_free(w->groups, w->ngroups);
	free(w);
}

/* Free a set and its windows. */
void
winset_free(struct winset *ws)
{
	size_t i;

	if (ws == NULL)
		return;
	for (i = 0; i < ws->n; i++)
		winset_win_free(ws->w[i]);
	free(ws->w);
	free(ws);
}

/* Append a window without checks. */
static void
winset_push(struct winset *ws, struct win *w)
{
	if (ws->n == ws->cap) {
		ws->cap = ws->cap == 0 ? 8 : ws->cap * 2;
		ws->w = xreallocarray(ws->w, ws->cap, sizeof(*ws->w));
	}
	ws->w[ws->n++] = w;
}

/*
 * A change of the config that is still approved on the same times keeps
 * what its window did before the reload (in progress, verified, failed).
 */
static void
winset_keep_state(struct winset *ws, struct win *o)
{
	struct win *w = winset_find(ws, o->id);
	json_t *h;

	if (w == NULL || w->from_api || w->kind != WIN_CHANGE ||
	    o->kind != WIN_CHANGE || w->state != CHANGE_APPROVED ||
	    o->state <= CHANGE_APPROVED || w->spec.start != o->spec.start ||
	    w->spec.end != o->spec.end)
		return;
	w->state = o->state;
	h = w->history;
	w->history = o->history;
	o->history = h;
	winset_change_flags(w);
}

/* Move the API-created windows of old into ws. */
void
winset_adopt(struct winset *ws, struct winset *old)
{
	size_t i, k = 0;

	for (i = 0; i < old->n; i++) {
		if (!old->w[i]->from_api)
			winset_keep_state(ws, old->w[i]);
		if (old->w[i]->from_api &&
		    winset_find(ws, old->w[i]->id) == NULL)
			winset_push(ws, old->w[i]);
		else
			old->w[k++] = old->w[i];
	}
	old->n = k;
}

size_t
winset_count(const struct winset *ws)
{
	return ws != NULL ? ws->n : 0;
}

/* The i-th window. */
struct win *
winset_get(const struct winset *ws, size_t i)
{
	return i < ws->n ? ws->w[i] : NULL;
}

/* A window by id, or NULL. */
struct win *
winset_find(const struct winset *ws, const char *id)
{
	size_t i;

	for (i = 0; ws != NULL && id != NULL && i < ws->n; i++) {
		if (strcmp(ws->w[i]->id, id) == 0)
			return ws->w[i];
	}
	return NULL;
}

/* Whether an id is well formed: 1-64 of [A-Za-z0-9._-]. */
static int
winset_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= WINSET_ID_MAX &&
	    strspn(id,
		"abcdefghijklmnopq"
		"rstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Add a window (taken) unless its id exists or the source is full. */
int
winset_add(struct winset *ws, struct win *w, char **err)
{
	size_t i, same = 0;

	for (i = 0; i < ws->n; i++)
		same += ws->w[i]->from_api == w->from_api;
	if (winset_find(ws, w->id) != NULL) {
		xasprintf(err, "window %s exists", w->id);
		return -1;
	}
	if (same >= WINSET_MAX) {
		xasprintf(err, "too many windows (at most %d)", WINSET_MAX);
		return -1;
	}
	winset_push(ws, w);
	return 0;
}

/* Whether a window counts: a patch window, an approved change. */
int
winset_counts(const struct win *w)
{
	if (w->kind == WIN_PATCH)
		return w->approved && !w->cancelled;
	return w->state == CHANGE_APPROVED || w->state == CHANGE_IN_PROGRESS;
}

/* Whether a window holds incidents of a severity. */
int
winset_holds(const struct win *w, int severity)
{
	return severity >= 0 && severity < SEV_MAX &&
	    (w->sevmask & (1U << severity)) != 0;
}

/* Whether a host matches any pattern of a list. */
static int
winset_match(char **pats, size_t n, const char *host)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fnmatch(pats[i], host, 0) == 0)
			return 1;
	}
	return 0;
}

/* Whether a host is in a window's scope. */
int
winset_in_scope(const struct config *cfg, const struct win *w, const char *host)
{
	const struct hostgroup *g;
	size_t i;

	if (w->nhosts == 0 && w->ngroups == 0)
		return 1;
	if (host == NULL)
		return 0;
	if (winset_match(w->hosts, w->nhosts, host))
		return 1;
	for (i = 0; i < w->ngroups; i++) {
		g = config_group(cfg, w->groups[i]);
		if (g != NULL && winset_match(g->patterns, g->n, host))
			return 1;
	}
	return 0;
}

/* Whether a window is active at t. */
int
winset_active(const struct calendar *cal, const struct win *w, time_t t,
    time_t *start, time_t *end)
{
	return winspec_active_at(cal, &w->spec, t, start, end);
}

/* The first counting window active at t for host. */
struct win *
winset_active_for(const struct winset *ws, const struct config *cfg,
    const struct calendar *cal, const char *host, time_t t)
{
	size_t i;

	for (i = 0; ws != NULL && i < ws->n; i++) {
		if (winset_counts(ws->w[i]) &&
		    winset_active(cal, ws->w[i], t, NULL, NULL) &&
		    winset_in_scope(cfg, ws->w[i], host))
			return ws->w[i];
	}
	return NULL;
}

/* The first counting window active at t for host that holds severity. */
struct win *
winset_holding(const struct winset *ws, const struct config *cfg,
    const struct calendar *cal, const char *host, int severity, time_t t)
{
	size_t i;

	for (i = 0; ws != NULL && i < ws->n; i++) {
		if (winset_counts(ws->w[i]) &&
		    winset_holds(ws->w[i], severity) &&
		    winset_active(cal, ws->w[i], t, NULL, NULL) &&
		    winset_in_scope(cfg, ws->w[i], host))
			return ws->w[i];
	}
	return NULL;
}

/* The next start or end of any counting window after t. */
time_t
winset_next_change(const struct winset *ws, const struct calendar *cal,
    time_t t)
{
	time_t best = -1, s, e;
	size_t i;

	for (i = 0; ws != NULL && i < ws->n; i++) {
		if (!winset_counts(ws->w[i]))
			continue;
		if (winspec_active_at(cal, &ws->w[i]->spec, t, &s, &e) &&
		    e > t && (best == -1 || e < best))
			best = e;
		s = winspec_next_start(cal, &ws->w[i]->spec, t, &e);
		if (s != -1 && (best == -1 || s < best))
			best = s;
	}
	return best;
}

/* A time as RFC 3339 UTC, or null. */
static json_t *
winset_time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* A string vector as a JSON array. */
static json_t *
winset_strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* A severity mask as a JSON list of names. */
static json_t *
winset_sev_json(unsigned mask)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < SEV_MAX; i++) {
		if (mask & (1U << i))
			json_array_append_new(a, json_string(severity_name(i)));
	}
	return a;
}

/* A string or null. */
static json_t *
winset_str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The change fields of a window's JSON. */
static void
winset_change_json(const struct win *w, json_t *o)
{
	json_object_set_new(o, "severities", winset_sev_json(w->sevmask));
	json_object_set_new(o, "owner", winset_str_json(w->owner));
	if (w->kind != WIN_CHANGE)
		return;
	json_object_set_new(o, "state",
	    json_string(change_state_name(w->state)));
	json_object_set_new(o, "description", winset_str_json(w->description));
	json_object_set_new(o, "impact", winset_str_json(w->impact));
	json_object_set_new(o, "risk", winset_str_json(w->risk));
	json_object_set_new(o, "rollback", winset_str_json(w->rollback));
	json_object_set_new(o, "requester", winset_str_json(w->requester));
	json_object_set_new(o, "approved_by", winset_str_json(w->approved_by));
	json_object_set_new(o, "approved_at", winset_time_json(w->approved_at));
	json_object_set_new(o, "history",
	    w->history != NULL ? json_deep_copy(w->history) : json_array());
}

/* A window as JSON. */
json_t *
winset_win_json(const struct win *w, const struct calendar *cal, time_t now)
{
	char spec[128];
	time_t s = 0, e = 0;
	int active;
	json_t *o;

	winspec_format(&w->spec, spec, sizeof(spec));
	active = winset_active(cal, w, now, &s, &e);
	if (!active)
		s = winspec_next_start(cal, &w->spec, now, &e);
	o = json_object();
	json_object_set_new(o, "id", json_string(w->id));
	json_object_set_new(o, "title",
	    w->title ? json_string(w->title) : json_null());
	json_object_set_new(o, "kind",
	    json_string(w->kind == WIN_PATCH ? "patch" : "change"));
	json_object_set_new(o, "schedule", json_string(spec));
	json_object_set_new(o, "hosts", winset_strv_json(w->hosts, w->nhosts));
	json_object_set_new(o, "groups",
	    winset_strv_json(w->groups, w->ngroups));
	json_object_set_new(o, "approved", json_boolean(w->approved));
	json_object_set_new(o, "cancelled", json_boolean(w->cancelled));
	json_object_set_new(o, "source",
	    json_string(w->from_api ? "api" : "config"));
	json_object_set_new(o, "active",
	    json_boolean(active && winset_counts(w)));
	if (s <= 0 && w->spec.kind == WINDOW_ONEOFF) {
		s = w->spec.start; /* over: when it was */
		e = w->spec.end;
	}
	json_object_set_new(o, "start", winset_time_json(s));
	json_object_set_new(o, "end", winset_time_json(s > 0 ? e : 0));
	winset_change_json(w, o);
	return o;
}

/* A scope list from YAML (a string or a list of strings); -1 on error. */
static int
winset_yaml_strv(const char *file, const struct ynode *n, char ***v, size_t *nv,
    struct errlist *errs)
{
	size_t i, cnt = n->type == YNODE_SEQ ? n->n : 1;
	const struct ynode *it;

	if (n->type == YNODE_MAP || cnt > WINSET_MAX_SCOPE) {
		errlist_add(errs, file, n->line, n->col,
		    "windows: expected "
		    "a list of at most %d names",
		    WINSET_MAX_SCOPE);
		return -1;
	}
	*v = xcalloc(cnt + 1, sizeof(char *));
	for (i = 0; i < cnt; i++) {
		it = n->type == YNODE_SEQ ? n->items[i] : n;
		if (it->type != YNODE_SCALAR) {
			errlist_add(errs, file, it->line, it->col,
			    "windows: expected a name");
			return -1;
		}
		(*v)[(*nv)++] = xstrdup(it->value);
	}
	return 0;
}

/* Check that every group a window names exists. */
static int
winset_check_groups(const struct config *cfg, const struct win *w, char **err)
{
	size_t i;

	for (i = 0; i < w->ngroups; i++) {
		if (config_group(cfg, w->groups[i]) == NULL) {
			xasprintf(err,
			    "unknown host group %s (see host_groups)",
			    w->groups[i]);
			return -1;
		}
	}
	return 0;
}

/* The schedule of a window from when:, or start: and end:. */
static int
winset_yaml_when(const struct calendar *cal, const struct ynode *m,
    struct win *w, char **cause)
{
	const char *when, *start, *end;
	char buf[256];

	when = ynode_str(m, "when");
	start = ynode_str(m, "start");
	end = ynode_str(m, "end");
	if (when == NULL && w->kind == WIN_PATCH && start == NULL)
		when = WINSET_DEFAULT_PATCH;
	if (when == NULL) {
		if (start == NULL || end == NULL) {
			xasprintf(cause,
			    "a window needs when: or start: and "
			    "end:");
			return -1;
		}
		snprintf(buf, sizeof(buf), "%s/%s", start, end);
		when = buf;
	}
	return winspec_parse(cal, when, &w->spec, cause);
}

/* One key a window map may have. */
static int
winset_known_key(const char *k)
{
	static const char *keys[] = { "id", "title", "when", "start", "end",
		"hosts", "groups", "approved", "allow_business_hours",
		"severities", "owner", "description", "impact", "risk",
		"rollback", "requester", NULL };
	int i;

	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(k, keys[i]) == 0)
			return 1;
	}
	return 0;
}

/* A severity list from YAML into a mask; -1 on error. */
static int
winset_yaml_sev(const char *file, const struct ynode *n, unsigned *mask,
    struct errlist *errs)
{
	size_t i, cnt = n->type == YNODE_SEQ ? n->n : 1;
	const struct ynode *it;
	int sev;

	*mask = 0;
	if (n->type == YNODE_MAP) {
		errlist_add(errs, file, n->line, n->col,
		    "windows: severities: "
		    "expected a list of severities");
		return -1;
	}
	for (i = 0; i < cnt; i++) {
		it = n->type == YNODE_SEQ ? n->items[i] : n;
		if (it->type != YNODE_SCALAR ||
		    (sev = severity_from_name(it->value)) < 0) {
			errlist_add(errs, file, it->line, it->col,
			    "windows: "
			    "severities: expected critical, high, medium, low "
			    "or info");
			return -1;
		}
		*mask |= 1U << sev;
	}
	return 0;
}

/* The change record's texts of a window map. */
static void
winset_yaml_texts(const struct ynode *m, struct win *w)
{
	static const char *keys[] = { "owner", "description", "impact", "risk",
		"rollback", "requester" };
	char **dst[] = { &w->owner, &w->description, &w->impact, &w->risk,
		&w->rollback, &w->requester };
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		if ((v = ynode_str(m, keys[i])) != NULL)
			*dst[i] = xstrndup(v, WINSET_TEXT_MAX);
	}
}

/* The scope and flags of a window map. */
static int
winset_yaml_fields(const struct config *cfg, const struct ynode *m,
    struct win *w, struct errlist *errs)
{
	const struct ynode *v;
	size_t i;
	int rc = 0;

	for (i = 0; i < m->n; i++) {
		if (!winset_known_key(m->keys[i]->value)) {
			errlist_add(errs, cfg->file, m->keys[i]->line,
			    m->keys[i]->col, "windows: unknown key %s",
			    m->keys[i]->value);
			rc = -1;
		}
	}
	if ((v = ynode_get(m, "hosts")) != NULL &&
	    winset_yaml_strv(cfg->file, v, &w->hosts, &w->nhosts, errs) != 0)
		rc = -1;
	if ((v = ynode_get(m, "groups")) != NULL &&
	    winset_yaml_strv(cfg->file, v, &w->groups, &w->ngroups, errs) != 0)
		rc = -1;
	w->approved = w->kind == WIN_PATCH;
	if ((v = ynode_get(m, "approved")) != NULL &&
	    ynode_bool(v, cfg->file, &w->approved, errs) != 0)
		rc = -1;
	w->state = w->approved ? CHANGE_APPROVED : CHANGE_REQUESTED;
	w->sevmask = WINSET_SEV_DEFAULT;
	if ((v = ynode_get(m, "severities")) != NULL &&
	    winset_yaml_sev(cfg->file, v, &w->sevmask, errs) != 0)
		rc = -1;
	else if (v != NULL && w->kind == WIN_PATCH &&
	    (w->sevmask & (1U << SEV_CRITICAL))) {
		errlist_add(errs, cfg->file, v->line, v->col,
		    "windows: a "
		    "patch window never holds critical incidents (SOP 3.1: "
		    "escalate at once); only a change may, explicitly");
		rc = -1;
	}
	winset_yaml_texts(m, w);
	if ((v = ynode_get(m, "allow_business_hours")) != NULL &&
	    ynode_bool(v, cfg->file, &w->allow_business_hours, errs) != 0)
		rc = -1;
	return rc;
}

/* Check what needs the whole window: groups, business hours. */
static int
winset_yaml_check(const struct config *cfg, const struct calendar *cal,
    const struct ynode *m, struct win *w, struct errlist *errs)
{
	char *cause = NULL;

	if (winset_check_groups(cfg, w, &cause) != 0) {
		errlist_add(errs, cfg->file, m->line, m->col, "windows: %s: %s",
		    w->id, cause);
		free(cause);
		return -1;
	}
	if (w->kind == WIN_PATCH && w->nhosts == 0 && w->ngroups == 0) {
		errlist_add(errs, cfg->file, m->line, m->col,
		    "windows: %s: a "
		    "patch window names the hosts or groups it covers (hosts: "
		    "or groups:)",
		    w->id);
		return -1;
	}
	if (w->kind == WIN_PATCH && !w->allow_business_hours &&
	    winspec_overlaps_business(cal, &w->spec)) {
		errlist_add(errs, cfg->file, m->line, m->col,
		    "windows: %s: "
		    "patch window overlaps business hours (set "
		    "allow_business_hours: true to allow it)",
		    w->id);
		return -1;
	}
	return 0;
}

/* One window of the patch: or change: list. */
static struct win *
winset_yaml_one(const struct config *cfg, const struct calendar *cal,
    const struct ynode *m, enum win_kind kind, size_t idx, struct errlist *errs)
{
	struct win *w;
	const char *id, *title;
	char *cause = NULL;

	if (m->type != YNODE_MAP) {
		errlist_add(errs, cfg->file, m->line, m->col,
		    "windows: a window is a map with id, when or start/end");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->kind = kind;
	id = ynode_str(m, "id");
	if (id == NULL && kind == WIN_PATCH)
		xasprintf(&w->id, "patch-%zu", idx + 1);
	else
		w->id = xstrdup(id != NULL ? id : "");
	if ((title = ynode_str(m, "title")) != NULL)
		w->title = xstrdup(title);
	if (!winset_id_ok(w->id)) {
		errlist_add(errs, cfg->file, m->line, m->col,
		    "windows: id: "
		    "expected 1 to %d letters, digits, '.', '_' or '-'",
		    WINSET_ID_MAX);
		goto fail;
	}
	if (winset_yaml_fields(cfg, m, w, errs) != 0)
		goto fail;
	if (winset_yaml_when(cal, m, w, &cause) != 0) {
		errlist_add(errs, cfg->file, m->line, m->col, "windows: %s: %s",
		    w->id, cause);
		free(cause);
		goto fail;
	}
	if (winset_yaml_check(cfg, cal, m, w, errs) != 0)
		goto fail;
	return w;
fail:
	winset_win_free(w);
	return NULL;
}

/* A patch: or change: list into the set. */
static void
winset_yaml_list(const struct config *cfg, const struct calendar *cal,
    struct winset *ws, const struct ynode *n, enum win_kind kind,
    struct errlist *errs)
{
	struct win *w;
	char *err = NULL;
	size_t i;

	if (n->type != YNODE_SEQ) {
		errlist_add(errs, cfg->file, n->line, n->col,
		    "windows: expected a list of windows");
		return;
	}
	for (i = 0; i < n->n; i++) {
		if ((w = winset_yaml_one(cfg, cal, n->items[i], kind, i,
			 errs)) == NULL)
			continue;
		if (winset_add(ws, w, &err) != 0) {
			errlist_add(errs, cfg->file, n->items[i]->line,
			    n->items[i]->col, "windows: %s", err);
			free(err);
			err = NULL;
			winset_win_free(w);
		}
	}
}

/* Read the windows: section. */
struct winset *
winset_load(const struct config *cfg, const struct calendar *cal,
    struct errlist *errs)
{
	const struct ynode *sec = cfg->sec_windows, *v;
	struct winset *ws = winset_new();
	size_t i, before = errs->n;

	if (sec != NULL && sec->type != YNODE_MAP)
		errlist_add(errs, cfg->file, sec->line, sec->col,
		    "windows: "
		    "expected a map with patch: and change: lists");
	for (i = 0; sec != NULL && sec->type == YNODE_MAP && i < sec->n; i++) {
		v = sec->items[i];
		if (strcmp(sec->keys[i]->value, "patch") == 0)
			winset_yaml_list(cfg, cal, ws, v, WIN_PATCH, errs);
		else if (strcmp(sec->keys[i]->value, "change") == 0)
			winset_yaml_list(cfg, cal, ws, v, WIN_CHANGE, errs);
		else
			errlist_add(errs, cfg->file, sec->keys[i]->line,
			    sec->keys[i]->col,
			    "windows: unknown key %s "
			    "(expected patch, change)",
			    sec->keys[i]->value);
	}
	if (errs->n != before) {
		winset_free(ws);
		return NULL;
	}
	return ws;
}

/* A JSON list of names into a vector; -1 and *err if malformed. */
static int
winset_json_strv(const json_t *a, const char *name, char ***v, size_t *nv,
    char **err)
{
	size_t i;
	json_t *it;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > WINSET_MAX_SCOPE) {
		xasprintf(err, "%s: expected a list of at most %d names", name,
		    WINSET_MAX_SCOPE);
		return -1;
	}
	*v = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, it)
	{
		if (!json_is_string(it) || json_string_length(it) == 0 ||
		    json_string_length(it) > 255) {
			xasprintf(err, "%s: expected names", name);
			return -1;
		}
		(*v)[(*nv)++] = xstrdup(json_string_value(it));
	}
	return 0;
}

/* The start and end of an API window. */
static int
winset_json_times(const struct calendar *cal, const json_t *o, struct win *w,
    char **err)
{
	const char *s, *e;
	time_t ts, te;
	char *cause = NULL;

	s = json_string_value(json_object_get(o, "start"));
	e = json_string_value(json_object_get(o, "end"));
	if (s == NULL || e == NULL || calendar_parse_time(cal, s, &ts) != 0 ||
	    calendar_parse_time(cal, e, &te) != 0) {
		xasprintf(err,
		    "start, end: expected RFC 3339 or local "
		    "\"YYYY-MM-DD HH:MM\" times");
		return -1;
	}
	if (winspec_oneoff(&w->spec, ts, te, &cause) != 0) {
		xasprintf(err, "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* A JSON severity list into a mask; -1 and *err if malformed. */
static int
winset_json_sev(const json_t *a, unsigned *mask, char **err)
{
	size_t i;
	json_t *it;
	int sev;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		goto bad;
	*mask = 0;
	json_array_foreach(a, i, it)
	{
		if ((sev = severity_from_name(json_string_value(it))) < 0)
			goto bad;
		*mask |= 1U << sev;
	}
	return 0;
bad:
	xasprintf(err,
	    "severities: expected a list of critical, high, "
	    "medium, low or info");
	return -1;
}

/* The texts of a change from JSON; -1 and *err if one is not a string. */
static int
winset_json_texts(const json_t *o, struct win *w, char **err)
{
	static const char *keys[] = { "title", "owner", "description", "impact",
		"risk", "rollback", "requester" };
	char **dst[] = { &w->title, &w->owner, &w->description, &w->impact,
		&w->risk, &w->rollback, &w->requester };
	const json_t *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		v = json_object_get(o, keys[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v) ||
		    json_string_length(v) > WINSET_TEXT_MAX) {
			xasprintf(err,
			    "%s: expected a text of at most %d "
			    "bytes",
			    keys[i], WINSET_TEXT_MAX);
			return -1;
		}
		*dst[i] = xstrdup(json_string_value(v));
	}
	return 0;
}

/* The state, approval and history of a stored change. */
static void
winset_json_state(const json_t *o, struct win *w)
{
	const char *by;
	time_t at;
	int st;

	if ((st = change_state_from_name(
		 json_string_value(json_object_get(o, "state")))) >= 0)
		w->state = st;
	else /* stored by an older sopd */
		w->state = json_is_true(json_object_get(o, "cancelled")) ?
		    CHANGE_CANCELLED :
		    w->approved ? CHANGE_APPROVED :
				  CHANGE_REQUESTED;
	if ((by = json_string_value(json_object_get(o, "approved_by"))) != NULL)
		w->approved_by = xstrdup(by);
	at = (time_t)json_integer_value(json_object_get(o, "approved_at"));
	w->approved_at = at;
	if (json_is_array(json_object_get(o, "history")))
		w->history = json_deep_copy(json_object_get(o, "history"));
	winset_change_flags(w);
}

/* Build an API change window from JSON. */
struct win *
winset_parse_json(const struct config *cfg, const struct calendar *cal,
    const json_t *o, int stored, char **err)
{
	struct win *w;
	const char *id;
	json_t *ap;

	id = json_string_value(json_object_get(o, "id"));
	if (id == NULL || !winset_id_ok(id)) {
		xasprintf(err,
		    "id: expected 1 to %d letters, digits, '.', "
		    "'_' or '-'",
		    WINSET_ID_MAX);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->id = xstrdup(id);
	w->kind = WIN_CHANGE;
	w->from_api = 1;
	w->sevmask = WINSET_SEV_DEFAULT;
	ap = json_object_get(o, "approved");
	w->approved = json_is_true(ap);
	if ((ap != NULL && !json_is_boolean(ap)) ||
	    winset_json_texts(o, w, err) != 0 ||
	    winset_json_strv(json_object_get(o, "hosts"), "hosts", &w->hosts,
		&w->nhosts, err) != 0 ||
	    winset_json_strv(json_object_get(o, "groups"), "groups", &w->groups,
		&w->ngroups, err) != 0 ||
	    winset_json_sev(json_object_get(o, "severities"), &w->sevmask,
		err) != 0 ||
	    winset_json_times(cal, o, w, err) != 0 ||
	    winset_check_groups(cfg, w, err) != 0) {
		if (*err == NULL)
			xasprintf(err, "approved: expected true or false");
		winset_win_free(w);
		return NULL;
	}
	if (w->title != NULL && strlen(w->title) > 256) {
		xasprintf(err, "title: longer than 256 bytes");
		winset_win_free(w);
		return NULL;
	}
	if (stored)
		winset_json_state(o, w);
	else {
		w->state = CHANGE_REQUESTED;
		winset_change_log(w,
		    w->requester != NULL ? w->requester : "api", NULL,
		    CHANGE_REQUESTED, NULL, clock_now());
		if (w->approved) /* the window API of old */
			winset_change_move(w, CHANGE_APPROVED,
			    w->requester != NULL ? w->requester : "api", NULL,
			    clock_now(), err);
		winset_change_flags(w);
	}
	return w;
}

/* The stored document of an API window. */
json_t *
winset_win_doc(const struct win *w)
{
	json_t *o;
	char s[32], en[32];
	struct tm tm;

	gmtime_r(&w->spec.start, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&w->spec.end, &tm);
	strftime(en, sizeof(en), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:b, s:b, s:o, s:o, "
		      "s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
	    "id", w->id, "title", winset_str_json(w->title), "hosts",
	    winset_strv_json(w->hosts, w->nhosts), "groups",
	    winset_strv_json(w->groups, w->ngroups), "start", s, "end", en,
	    "approved", w->approved, "cancelled", w->cancelled, "severities",
	    winset_sev_json(w->sevmask), "owner", winset_str_json(w->owner),
	    "state", change_state_name(w->state), "description",
	    winset_str_json(w->description), "impact",
	    winset_str_json(w->impact), "risk", winset_str_json(w->risk),
	    "rollback", winset_str_json(w->rollback), "requester",
	    winset_str_json(w->requester), "approved_by",
	    winset_str_json(w->approved_by), "approved_at",
	    (json_int_t)w->approved_at, "history",
	    w->history != NULL ? json_deep_copy(w->history) : json_array());
	return o;
}
