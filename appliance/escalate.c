/*
 * escalate.c: the SOP's clock: per active incident, the escalation steps of
 * its severity fall due on absolute times kept in the store; windows hold
 * the clock of the incidents they cover; notices are written to the
 * notifier's outbox in the commit that records them and go out after it.
 */
#include "escalate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "incident.h"
#include "log.h"
#include "notify.h"
#include "policy.h"
#include "record.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "winset.h"
#include "xmalloc.h"

#define ESC_OUTBOX_MAX	10000 /* notices waiting for a commit */
#define ESC_RECORD_MAX	1000  /* ids per list of a window record */
#define ESC_NOTE_MAX	256
#define ESC_WRITE_CHECK 8 /* incidents written between clock reads */

/* The escalation state of one active incident. */
struct escinc {
	uint64_t id;
	int severity;
	int64_t start;	/* clock start; 0 while held */
	unsigned fired; /* bit n: step n fired or skipped */
	int64_t due[POLICY_MAX_STEPS];
	int64_t fired_at[POLICY_MAX_STEPS];
	char *held; /* the window that holds its clock, NULL: none */
	int acked;
	int64_t remind_due; /* impact reminder, 0: none */
	int64_t reminded;   /* when it fired (or was dropped) */
	int dirty;
	int dead;	/* resolved: freed after the commit */
	unsigned stale; /* rows changed since the last commit (ESC_ROW_*) */
	struct escinc *hnext;
	struct escinc *dnext;
};

/* The bits of escinc.stale: the reminder's row, the start's, each step's. */
#define ESC_ROW_REMIND	0x1U
#define ESC_ROW_START	0x2U
#define ESC_ROW_STEP(i) (0x4U << (i))
#define ESC_ROW_ALL	(~0U)

/* A notice waiting for the commit of what it tells. */
struct outnote {
	enum notice_kind kind;
	int step;
	char *level; /* the level told */
	char *idem;  /* NULL: the incident's */
	int64_t at_us;
	char *note;
	struct incident_info ii;
	char *end; /* ii's strings are copied here, after the notice */
	struct outnote *next;
};

/* One window occurrence in progress, and what happened in it. */
struct winrec {
	char id[WINSET_ID_MAX + 1];
	int64_t start;
	int64_t end;
	int ended;
	int dirty;
	json_t *rec; /* {opened: [], resolved: [], ...} */
	struct winrec *next;
};

struct escalator {
	struct escalate_deps d; /* what it works on, now */
	struct escinc **hb;
	size_t nb;
	size_t n;
	struct escinc *dhead;
	struct escinc *dstop; /* the first not written by the last batch */
	struct outnote *ohead;
	struct outnote *otail;
	struct outnote *ostop; /* the first not staged by the last batch */
	int wpart;	       /* the last batch left notices or rows */
	size_t nout;
	uint64_t out_dropped;
	struct winrec *wrecs;
};

static void escalate_hooks_change(const struct incident_info *,
    enum incident_change, void *);
static int escalate_hooks_write(struct store *, void *, uint64_t);
static void escalate_hooks_written(void *);

/* The escalator's observer of the incidents. */
static const struct incident_hooks escalate_hooks = { escalate_hooks_change,
	escalate_hooks_write, escalate_hooks_written };

/* Join the strings given, up to a NULL, into buf of size bytes (cut). */
static void
escalate_join(char *buf, size_t size, ...)
{
	const char *s;
	size_t n = 0, len;
	va_list ap;

	va_start(ap, size);
	while ((s = va_arg(ap, const char *)) != NULL) {
		len = strnlen(s, size - 1 - n);
		memcpy(buf + n, s, len);
		n += len;
	}
	va_end(ap);
	buf[n] = '\0';
}

/* The rank of a level name: L1 0, L2 1, L3 2 (unknown: 0). */
static int
escalate_rank(const char *level)
{
	int l = policy_level_from_name(level);

	return l >= POLICY_L1 && l <= POLICY_L3 ? l : POLICY_L1;
}

/* The state of an incident, or NULL. */
static struct escinc *
escalate_find(struct escalator *e, uint64_t id)
{
	struct escinc *ei;

	for (ei = e->hb[id & (e->nb - 1)]; ei != NULL; ei = ei->hnext) {
		if (ei->id == id)
			return ei;
	}
	return NULL;
}

/* Double the hash table. */
static void
escalate_grow(struct escalator *e)
{
	struct escinc **hb, *ei, *next;
	size_t i, nb = e->nb * 2;

	hb = xcalloc(nb, sizeof(*hb));
	for (i = 0; i < e->nb; i++) {
		for (ei = e->hb[i]; ei != NULL; ei = next) {
			next = ei->hnext;
			ei->hnext = hb[ei->id & (nb - 1)];
			hb[ei->id & (nb - 1)] = ei;
		}
	}
	free(e->hb);
	e->hb = hb;
	e->nb = nb;
}

/* Set the window that holds an incident's clock, by id (NULL: none). */
static void
escalate_held_set(struct escinc *ei, const char *winid)
{
	free(ei->held);
	ei->held = winid != NULL ? xstrndup(winid, WINSET_ID_MAX) : NULL;
}

/* Free the state of an incident. */
static void
escalate_inc_free(struct escinc *ei)
{
	free(ei->held);
	free(ei);
}

/* A new state for an incident. */
static struct escinc *
escalate_add(struct escalator *e, uint64_t id, int severity)
{
	struct escinc *ei;

	if (e->n + 1 > 2 * e->nb)
		escalate_grow(e);
	ei = xcalloc(1, sizeof(*ei));
	ei->id = id;
	ei->severity = severity;
	ei->stale = ESC_ROW_ALL;
	ei->hnext = e->hb[id & (e->nb - 1)];
	e->hb[id & (e->nb - 1)] = ei;
	e->n++;
	return ei;
}

/* Take a state out of the table; freed now or after the next commit. */
static void
escalate_remove(struct escalator *e, struct escinc *ei)
{
	struct escinc **pp;

	for (pp = &e->hb[ei->id & (e->nb - 1)]; *pp != ei; pp = &(*pp)->hnext)
		;
	*pp = ei->hnext;
	e->n--;
	deadlines_cancel(e->d.deadlines, ESCALATE_DL_STEP, ei->id);
	deadlines_cancel(e->d.deadlines, ESCALATE_DL_IMPACT, ei->id);
	if (ei->dirty)
		ei->dead = 1;
	else
		escalate_inc_free(ei);
}

/* Mark a state for the next commit. */
static void
escalate_dirty(struct escalator *e, struct escinc *ei)
{
	if (!ei->dirty) {
		ei->dirty = 1;
		ei->dnext = e->dhead;
		e->dhead = ei;
	}
	incidents_want_commit(e->d.incidents);
}

/* Compute the due times of the steps not fired, from the clock's start. */
static void
escalate_compute(struct escalator *e, struct escinc *ei)
{
	int i, n = policy_nsteps(e->d.policy, ei->severity);
	int64_t due;
	time_t t;

	for (i = 0; i < POLICY_MAX_STEPS; i++) {
		if (ei->fired & (1U << i))
			continue;
		due = 0;
		if (i < n && ei->start != 0) {
			t = policy_due(e->d.policy, ei->severity, i,
			    (time_t)ei->start);
			due = t == (time_t)-1 ? 0 : (int64_t)t;
		}
		if (ei->due[i] != due)
			ei->stale |= ESC_ROW_STEP(i);
		ei->due[i] = due;
	}
}

/* The next step to fire (-1: none) and its due time. */
static int
escalate_next(struct escalator *e, const struct escinc *ei, int64_t *due)
{
	const struct policy_step *st;
	int i, best = -1, n = policy_nsteps(e->d.policy, ei->severity);

	for (i = 0; i < n; i++) {
		st = policy_step(e->d.policy, ei->severity, i);
		if ((ei->fired & (1U << i)) || ei->due[i] == 0 ||
		    (st->unless_acked && ei->acked))
			continue;
		if (best == -1 || ei->due[i] < ei->due[best])
			best = i;
	}
	*due = best >= 0 ? ei->due[best] : 0;
	return best;
}

/* Arm the deadline of an incident's next step (none while held). */
static void
escalate_arm(struct escalator *e, struct escinc *ei)
{
	int64_t due;

	if (ei->held == NULL && escalate_next(e, ei, &due) >= 0)
		deadlines_schedule(e->d.deadlines, ESCALATE_DL_STEP, ei->id,
		    (time_t)due);
	else
		deadlines_cancel(e->d.deadlines, ESCALATE_DL_STEP, ei->id);
}

/* Tell the incident its level, next step and window; history if action. */
static void
escalate_show(struct escalator *e, struct escinc *ei, const char *level,
    const char *action, const char *note)
{
	const struct policy_step *st;
	struct incident_esc ie;
	int64_t due = 0;
	int next = -1;

	if (ei->held == NULL)
		next = escalate_next(e, ei, &due);
	st = next >= 0 ? policy_step(e->d.policy, ei->severity, next) : NULL;
	memset(&ie, 0, sizeof(ie));
	ie.level = level;
	ie.next_escalation = due;
	ie.next_step = next;
	ie.next_level = st != NULL ? policy_level_name(st->level) : NULL;
	ie.in_window = ei->held;
	ie.action = action;
	ie.note = note;
	ie.at = (int64_t)clock_now();
	incidents_set_escalation(e->d.incidents, ei->id, &ie);
}

/* Free a queued notice (one block with its strings). */
static void
escalate_outnote_free(struct outnote *o)
{
	free(o);
}

/* The room a string takes in a notice's block. */
static size_t
escalate_room(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copy a string into a notice's block. */
static char *
escalate_keep(struct outnote *o, const char *s)
{
	size_t len;
	char *p = o->end;

	if (s == NULL)
		return NULL;
	len = strlen(s) + 1;
	memcpy(p, s, len);
	o->end += len;
	return p;
}

/* Queue a notice for a level by name until the next commit. */
static void
escalate_queue_to(struct escalator *e, const struct incident_info *ii,
    enum notice_kind kind, int step, const char *level, const char *note,
    const char *idem)
{
	struct outnote *o;

	if (e->d.notifier == NULL)
		return;
	if (e->nout >= ESC_OUTBOX_MAX) {
		if (e->out_dropped++ == 0)
			log_warnx("escalation: too many notices waiting for a "
				  "commit; dropping (counted)");
		return;
	}
	o = xmalloc(sizeof(*o) + escalate_room(ii->level) +
	    escalate_room(ii->host) + escalate_room(ii->rule) +
	    escalate_room(ii->title) + escalate_room(ii->key) +
	    escalate_room(ii->in_window) + escalate_room(ii->owner) +
	    escalate_room(ii->impact) + escalate_room(ii->workaround) +
	    escalate_room(ii->last_note) + escalate_room(ii->last_event) +
	    escalate_room(level) + escalate_room(idem) + escalate_room(note));
	o->end = (char *)(o + 1);
	o->ii = *ii;
	o->ii.level = escalate_keep(o, o->ii.level);
	o->ii.host = escalate_keep(o, o->ii.host);
	o->ii.rule = escalate_keep(o, o->ii.rule);
	o->ii.title = escalate_keep(o, o->ii.title);
	o->ii.key = escalate_keep(o, o->ii.key);
	o->ii.in_window = escalate_keep(o, o->ii.in_window);
	o->ii.next_level = NULL;
	o->ii.owner = escalate_keep(o, o->ii.owner);
	o->ii.impact = escalate_keep(o, o->ii.impact);
	o->ii.workaround = escalate_keep(o, o->ii.workaround);
	o->ii.last_note = escalate_keep(o, o->ii.last_note);
	o->ii.last_event = escalate_keep(o, o->ii.last_event);
	o->ii.cause = NULL;
	o->ii.note = NULL;
	o->kind = kind;
	o->step = step;
	o->level = escalate_keep(o, level);
	o->idem = escalate_keep(o, idem);
	o->at_us = clock_now_us();
	o->note = escalate_keep(o, note);
	o->next = NULL;
	if (e->otail != NULL)
		e->otail->next = o;
	else
		e->ohead = o;
	e->otail = o;
	e->nout++;
	incidents_want_commit(e->d.incidents);
}

/* Queue a notice for one level until the next commit. */
static void
escalate_queue(struct escalator *e, const struct incident_info *ii,
    enum notice_kind kind, int step, int level, const char *note)
{
	escalate_queue_to(e, ii, kind, step, policy_level_name(level), note,
	    NULL);
}

/* Queue one notice per level of a mask (ii NULL: look the id up). */
static void
escalate_queue_mask(struct escalator *e, uint64_t id,
    const struct incident_info *ii, enum notice_kind kind, int step,
    unsigned mask, const char *note)
{
	struct incident_info now;
	int l;

	if (ii == NULL) {
		if (incidents_info(e->d.incidents, id, &now) != 0)
			return;
		ii = &now;
	}
	if (policy_client(e->d.policy, ii->severity) == POLICY_CLIENT_NEVER)
		mask &= ~(1U << POLICY_CLIENT);
	for (l = 0; l < POLICY_NLEVELS; l++) {
		if (mask & (1U << l))
			escalate_queue(e, ii, kind, step, l, note);
	}
}

/*
 * Fire every step of an incident due at or before now, in due order; one
 * notice per level notified.  With a note (a window's end), every notice is
 * an escalation notice carrying it, also when no step fell due.
 */
static void
escalate_fire_due(struct escalator *e, struct escinc *ei, int64_t now,
    const char *note)
{
	const struct policy_step *st;
	struct incident_info ii;
	char level[8], why[ESC_NOTE_MAX], id[RECORD_U64_LEN], n[RECORD_U64_LEN];
	unsigned mask = 0;
	int64_t due;
	int i, last = -1, opening = 1;

	if (incidents_info(e->d.incidents, ei->id, &ii) != 0)
		return;
	strcopy(level, sizeof(level), ii.level);
	while ((i = escalate_next(e, ei, &due)) >= 0 && due <= now) {
		st = policy_step(e->d.policy, ei->severity, i);
		ei->fired |= 1U << i;
		ei->fired_at[i] = now;
		ei->stale |= ESC_ROW_STEP(i);
		if (st->level > escalate_rank(level))
			strcopy(level, sizeof(level),
			    policy_level_name(st->level));
		mask |= st->notify;
		opening &= due <= ei->start;
		last = i;
	}
	if (last >= 0) {
		escalate_dirty(e, ei);
		st = policy_step(e->d.policy, ei->severity, last);
		/* The note goes to the history only with an action. */
		why[0] = '\0';
		if (!opening || note != NULL)
			escalate_join(why, sizeof(why), "step ",
			    record_u64(n, (uint64_t)last), ": ",
			    st->unless_acked ? "not acknowledged within " :
					       "not resolved within ",
			    st->text, ": escalated to ", level, NULL);
		record_cat("escalate #", record_u64(id, ei->id), " ", level,
		    NULL);
		escalate_show(e, ei, level,
		    opening && note == NULL ? NULL : "escalate", why);
	} else
		escalate_show(e, ei, NULL, NULL, NULL);
	if (note != NULL)
		mask |= 1U << escalate_rank(level);
	escalate_queue_mask(e, ei->id, NULL,
	    note != NULL || !opening ? NOTICE_ESCALATED : NOTICE_OPENED, last,
	    mask, note);
	escalate_arm(e, ei);
}

/* Append an incident id to a list of a window record (bounded). */
static void
escalate_record(struct escalator *e, const char *winid, const char *list,
    uint64_t id)
{
	struct winrec *r;
	json_t *a;

	for (r = e->wrecs; r != NULL; r = r->next) {
		if (r->ended || strcmp(r->id, winid) != 0)
			continue;
		if ((a = json_object_get(r->rec, list)) == NULL) {
			a = json_array();
			json_object_set_new(r->rec, list, a);
		}
		if (json_array_size(a) < ESC_RECORD_MAX)
			json_array_append_new(a, json_integer((json_int_t)id));
		r->dirty = 1;
		incidents_want_commit(e->d.incidents);
		return;
	}
}

/* Hold an incident's clock in a window. */
static void
escalate_hold(struct escalator *e, struct escinc *ei, const struct win *w)
{
	char note[ESC_NOTE_MAX];

	escalate_held_set(ei, w->id);
	escalate_dirty(e, ei);
	snprintf(note, sizeof(note), "inside %s window %s: no escalation",
	    w->kind == WIN_PATCH ? "patch" : "change", w->id);
	escalate_show(e, ei, NULL, "window", note);
	escalate_arm(e, ei);
}

/* Tell L1 at once that an incident opened inside a window holds it. */
static void
escalate_tell_held(struct escalator *e, const struct incident_info *ii,
    const struct win *w)
{
	struct incident_info held = *ii;
	char note[ESC_NOTE_MAX];

	held.in_window = w->id;
	snprintf(note, sizeof(note),
	    "opened during %s window %s: no "
	    "escalation until it ends",
	    w->kind == WIN_PATCH ? "patch" : "change", w->id);
	escalate_queue(e, &held, NOTICE_OPENED, -1, POLICY_L1, note);
}

/*
 * A new incident: hold it in a window that holds its severity (and tell
 * L1 at once), or start its clock; a window that covers the host without
 * holding the severity records it as opened in it.
 */
static void
escalate_opened(struct escalator *e, const struct incident_info *ii)
{
	struct escinc *ei;
	struct win *w;
	int64_t now = (int64_t)clock_now();

	if ((ei = escalate_find(e, ii->id)) != NULL)
		return;
	ei = escalate_add(e, ii->id, ii->severity);
	escalate_dirty(e, ei);
	if (ii->severity == SEV_CRITICAL && ii->impact == NULL) {
		ei->remind_due =
		    ii->first_seen_us / 1000000 + ESCALATE_IMPACT_AFTER;
		deadlines_schedule(e->d.deadlines, ESCALATE_DL_IMPACT, ei->id,
		    (time_t)ei->remind_due);
	}
	w = winset_holding(e->d.windows, e->d.cfg, policy_calendar(e->d.policy),
	    ii->host, ii->severity, (time_t)now);
	if (w != NULL) {
		escalate_record(e, w->id, "opened", ii->id);
		escalate_hold(e, ei, w);
		escalate_tell_held(e, ii, w);
		return;
	}
	if ((w = winset_active_for(e->d.windows, e->d.cfg,
		 policy_calendar(e->d.policy), ii->host, (time_t)now)) != NULL)
		escalate_record(e, w->id, "opened", ii->id);
	/* The clock starts with the event that opened the incident. */
	ei->start = ii->last_seen_us > 0 ? ii->last_seen_us / 1000000 : now;
	ei->stale |= ESC_ROW_START;
	escalate_compute(e, ei);
	escalate_fire_due(e, ei, now > ei->start ? now : ei->start, NULL);
}

/* An acknowledgement: skip ack_within steps, tell who heard of it. */
static void
escalate_acked(struct escalator *e, struct escinc *ei, const char *note)
{
	unsigned mask;

	ei->acked = 1;
	escalate_dirty(e, ei);
	if (ei->held != NULL)
		return;
	mask = policy_notified(e->d.policy, ei->severity, ei->fired);
	escalate_queue_mask(e, ei->id, NULL, NOTICE_ACKNOWLEDGED, -1, mask,
	    note);
	escalate_show(e, ei, NULL, NULL, NULL);
	escalate_arm(e, ei);
}

/* A resolution: stop the clock, tell who heard of it, record it. */
static void
escalate_resolved(struct escalator *e, struct escinc *ei,
    const struct incident_info *ii)
{
	unsigned mask;

	if (ei->held != NULL)
		escalate_record(e, ei->held, "resolved", ei->id);
	else {
		mask = policy_notified(e->d.policy, ei->severity, ei->fired);
		if (policy_client(e->d.policy, ei->severity) ==
		    POLICY_CLIENT_RESOLVED)
			mask |= 1U << POLICY_CLIENT;
		escalate_queue_mask(e, ei->id, ii, NOTICE_RESOLVED, -1, mask,
		    ii->note);
	}
	escalate_remove(e, ei);
}

/* The incidents' hook: an incident opened, was acknowledged or resolved. */
static void
escalate_hooks_change(const struct incident_info *ii, enum incident_change what,
    void *arg)
{
	struct escalator *e = arg;
	struct escinc *ei;

	if (what == INC_CHANGE_OPEN) {
		escalate_opened(e, ii);
		return;
	}
	if ((ei = escalate_find(e, ii->id)) == NULL)
		return;
	if (what == INC_CHANGE_ACK)
		escalate_acked(e, ei, ii->note);
	else if (what == INC_CHANGE_RESOLVE)
		escalate_resolved(e, ei, ii);
}

/* Write one incident's clock and steps (the changed rows, in one go). */
static int
escalate_write_one(struct escalator *e, struct store *st,
    const struct escinc *ei)
{
	const struct policy_step *ps;
	struct store_esc r[POLICY_MAX_STEPS + 2];
	size_t n = 0;
	int i;

	memset(r, 0, sizeof(r));
	if (ei->stale & ESC_ROW_START) {
		r[n].incident_id = ei->id;
		r[n].step = -1;
		r[n++].due = ei->start;
	}
	/* step -2: the impact reminder */
	if (ei->remind_due != 0 && (ei->stale & ESC_ROW_REMIND)) {
		r[n].incident_id = ei->id;
		r[n].step = -2;
		r[n].due = ei->remind_due;
		r[n++].fired_at = ei->reminded;
	}
	for (i = 0; i < policy_nsteps(e->d.policy, ei->severity) &&
	     i < POLICY_MAX_STEPS;
	     i++) {
		if (!(ei->stale & ESC_ROW_STEP(i)))
			continue;
		ps = policy_step(e->d.policy, ei->severity, i);
		r[n].incident_id = ei->id;
		r[n].step = i;
		r[n].due = ei->due[i];
		r[n].fired_at = ei->fired_at[i];
		r[n].level =
		    r[n].fired_at != 0 ? policy_level_name(ps->level) : NULL;
		n++;
	}
	return n > 0 ? store_put_escs(st, r, n) : 0;
}

/* Write one window record. */
static int
escalate_write_rec(struct store *st, const struct winrec *r)
{
	struct store_winlog w;
	char *text;
	int rc;

	text = json_dumps(r->rec, JSON_COMPACT);
	w.window_id = r->id;
	w.start = r->start;
	w.end = r->end;
	w.ended = r->ended;
	w.record = text;
	rc = store_put_winlog(st, &w);
	free(text);
	return rc;
}

/* Write the API changes whose state moved. */
static int
escalate_write_wins(struct escalator *e, struct store *st)
{
	struct win *w;
	json_t *doc;
	char *text;
	size_t i;
	int rc = 0;

	for (i = 0; i < winset_count(e->d.windows) && rc == 0; i++) {
		w = winset_get(e->d.windows, i);
		if (!w->dirty || !w->from_api)
			continue;
		doc = winset_win_doc(w);
		text = json_dumps(doc, JSON_COMPACT);
		rc = store_put_window(st, w->id, text);
		free(text);
		json_decref(doc);
	}
	return rc;
}

/* A queued notice as the notifier takes it. */
static void
escalate_notice(const struct outnote *o, struct notice *n)
{
	memset(n, 0, sizeof(*n));
	n->kind = o->kind;
	n->inc = &o->ii;
	n->step = o->step;
	n->level = o->level;
	n->at_us = o->at_us;
	n->note = o->note;
	n->idem = o->idem;
}

/*
 * Write the queued notices to the notifier's outbox (same transaction),
 * from the oldest, until the deadline (stats_mono_us, 0: none); 1 when
 * some are left for the next batch (from e->ostop on).
 */
static int
escalate_stage(struct escalator *e, uint64_t until_us)
{
	struct outnote *o;
	struct notice n;
	unsigned k = 0;

	notify_unstage(e->d.notifier); /* a rolled back attempt's */
	for (o = e->ohead; o != NULL; o = o->next) {
		if (until_us != 0 && ++k % ESC_WRITE_CHECK == 0 &&
		    stats_mono_us() >= until_us)
			break;
		escalate_notice(o, &n);
		if (notify_stage(e->d.notifier, n.level, &n) == -1)
			return -1;
	}
	e->ostop = o;
	return o != NULL;
}

/*
 * The incidents' hook inside the commit's transaction, until the deadline:
 * the queued notices (1: some left, from e->ostop on), then the changed
 * incidents' rows (1: some left, from e->dstop on), then the window
 * records.
 */
static int
escalate_hooks_write(struct store *st, void *arg, uint64_t until_us)
{
	struct escalator *e = arg;
	struct escinc *ei;
	struct winrec *r;
	unsigned n = 0;
	int rc;

	e->wpart = 1;
	e->dstop = e->dhead;
	if ((rc = escalate_stage(e, until_us)) != 0)
		return rc;
	for (ei = e->dhead; ei != NULL; ei = ei->dnext) {
		if (until_us != 0 && ++n % ESC_WRITE_CHECK == 0 &&
		    stats_mono_us() >= until_us)
			break;
		if (!ei->dead && escalate_write_one(e, st, ei) != 0)
			return -1;
	}
	e->dstop = ei;
	if (ei != NULL)
		return 1;
	e->wpart = 0;
	for (r = e->wrecs; r != NULL; r = r->next) {
		if (r->dirty && escalate_write_rec(st, r) != 0)
			return -1;
	}
	return escalate_write_wins(e, st);
}

/* After a commit: send the notices it staged, and forget them. */
static void
escalate_sent(struct escalator *e)
{
	struct outnote *o;

	notify_commit(e->d.notifier);
	while ((o = e->ohead) != NULL && o != e->ostop) {
		e->ohead = o->next;
		escalate_outnote_free(o);
		e->nout--;
	}
	if (e->ohead == NULL)
		e->otail = NULL;
	e->ostop = NULL;
}

/* The incidents' hook after a commit: clear marks, send the notices. */
static void
escalate_hooks_written(void *arg)
{
	struct escalator *e = arg;
	struct escinc *ei, *next;
	struct winrec *r, **rp;
	size_t i;

	for (ei = e->dhead; ei != e->dstop; ei = next) {
		next = ei->dnext;
		ei->dirty = 0;
		ei->stale = 0; /* every changed row is stored */
		if (ei->dead)
			escalate_inc_free(ei);
	}
	e->dhead = e->dstop;
	e->dstop = NULL;
	if (e->wpart) {
		e->wpart = 0;
		escalate_sent(e);
		return; /* the windows' records with the last batch */
	}
	for (i = 0; i < winset_count(e->d.windows); i++)
		winset_get(e->d.windows, i)->dirty = 0;
	for (rp = &e->wrecs; (r = *rp) != NULL;) {
		r->dirty = 0;
		if (r->ended) {
			*rp = r->next;
			json_decref(r->rec);
			free(r);
		} else
			rp = &r->next;
	}
	escalate_sent(e);
}

/* Context of one sweep over the active incidents. */
struct esc_sweep {
	struct escalator *e;
	const char *held_by; /* window ending */
	int64_t end;
	uint64_t *ids;
	size_t n;
	size_t cap;
};

/* Collect the incidents a sweep concerns (changing them is done after). */
static void
escalate_sweep_cb(const struct incident_info *ii, void *arg)
{
	struct esc_sweep *sw = arg;
	struct escinc *ei = escalate_find(sw->e, ii->id);

	if (ei == NULL)
		return;
	if (sw->held_by != NULL &&
	    (ei->held == NULL || strcmp(ei->held, sw->held_by) != 0))
		return;
	if (sw->n == sw->cap) {
		sw->cap = sw->cap == 0 ? 64 : sw->cap * 2;
		sw->ids = xreallocarray(sw->ids, sw->cap, sizeof(*sw->ids));
	}
	sw->ids[sw->n++] = ii->id;
}

/* A window's scope as one line ("all hosts" when it names none). */
static void
escalate_scope(const struct win *w, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < w->nhosts && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
		    used ? "," : "", w->hosts[i]);
	for (i = 0; i < w->ngroups && used < len; i++)
		used += snprintf(buf + used, len - used, "%sgroup %s",
		    used ? "," : "", w->groups[i]);
	if (used == 0)
		snprintf(buf, len, "all hosts");
}

/*
 * Tell L1 and the window's owner (a notify level) about a window or a
 * change; each level's notice has a key of its own (prefix-level).
 */
static void
escalate_tell_owner(struct escalator *e, const struct win *w,
    enum notice_kind kind, const char *title, const char *note,
    const char *prefix)
{
	struct incident_info ii;
	char scope[512], idem[96];

	memset(&ii, 0, sizeof(ii));
	escalate_scope(w, scope, sizeof(scope));
	ii.severity = SEV_INFO;
	ii.level = "L1";
	ii.host = scope;
	ii.rule = w->kind == WIN_PATCH ? "patch-window" : "change";
	ii.title = title;
	ii.key = w->id;
	ii.in_window = w->id;
	snprintf(idem, sizeof(idem), "%s-L1", prefix);
	escalate_queue_to(e, &ii, kind, -1, "L1", note, idem);
	if (w->owner != NULL && strcmp(w->owner, "L1") != 0) {
		snprintf(idem, sizeof(idem), "%s-%s", prefix, w->owner);
		escalate_queue_to(e, &ii, kind, -1, w->owner, note, idem);
	}
}

/*
 * Move a change to a state, record it (stored at the next commit) and
 * tell its owner and L1; -1 and *err if it cannot go there.
 */
int
escalate_change_move(struct escalator *e, struct win *w, int to,
    const char *actor, const char *note, char **err)
{
	char title[512], prefix[96];

	if (winset_change_move(w, to, actor, note, clock_now(), err) != 0)
		return -1;
	w->dirty = 1;
	snprintf(title, sizeof(title), "change %s %s by %s: %s", w->id,
	    change_state_name(to),
	    actor != NULL && *actor != '\0' ? actor : "sopd",
	    w->title != NULL ? w->title : "");
	snprintf(prefix, sizeof(prefix), "change-%s-%zu", w->id,
	    json_array_size(w->history));
	escalate_tell_owner(e, w, NOTICE_CHANGE, title, note, prefix);
	log_info("%s%s%s", title, note != NULL ? ": " : "",
	    note != NULL ? note : "");
	incidents_want_commit(e->d.incidents);
	return 0;
}

/*
 * A window started: record it.  Incidents opened before it keep their
 * clock (their problem predates the change); those opened inside are held.
 * An approved change is in progress from now.
 */
static void
escalate_window_started(struct escalator *e, struct win *w, int64_t start,
    int64_t end)
{
	struct winrec *r;
	char *err = NULL;

	if (w->kind == WIN_CHANGE && w->state == CHANGE_APPROVED &&
	    escalate_change_move(e, w, CHANGE_IN_PROGRESS, "sopd",
		"the change window started", &err) != 0) {
		log_warnx("%s", err);
		free(err);
	}

	r = xcalloc(1, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", w->id);
	r->start = start;
	r->end = end;
	r->rec = json_pack("{s:s, s:[], s:[], s:[]}", "kind",
	    w->kind == WIN_PATCH ? "patch" : "change", "opened", "resolved",
	    "failed_verification");
	r->dirty = 1;
	r->next = e->wrecs;
	e->wrecs = r;
	log_info("window %s started (until %lld)", w->id, (long long)end);
	incidents_want_commit(e->d.incidents);
}

/* Release an incident at a window's end: failed verification. */
static void
escalate_release(struct escalator *e, struct escinc *ei, const char *winid,
    int64_t end)
{
	char note[ESC_NOTE_MAX];

	snprintf(note, sizeof(note),
	    "post-change verification failed: still "
	    "open when window %s ended",
	    winid);
	escalate_record(e, winid, "failed_verification", ei->id);
	escalate_held_set(ei, NULL);
	ei->start = end;
	ei->stale |= ESC_ROW_START;
	escalate_compute(e, ei);
	escalate_dirty(e, ei);
	escalate_show(e, ei, NULL, "verify-failed", note);
	escalate_fire_due(e, ei, (int64_t)clock_now(), note);
}

/* The ids of a list of a window record as "#1, #2" (bounded). */
static void
escalate_rec_ids(const struct winrec *r, const char *list, char *buf,
    size_t len)
{
	json_t *a = json_object_get(r->rec, list), *v;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(a, i, v)
	{
		if (used >= len)
			break;
		used += snprintf(buf + used, len - used, "%s#%lld",
		    used ? ", " : "", (long long)json_integer_value(v));
	}
}

/*
 * One summary of a window's occurrence to its owner and L1: what opened,
 * resolved and failed verification; a change in progress is recorded as
 * verified or failed.
 */
static void
escalate_window_summary(struct escalator *e, const struct winrec *r)
{
	struct win *w = winset_find(e->d.windows, r->id), tmp;
	char title[256], note[ESC_NOTE_MAX * 4], failed[ESC_NOTE_MAX],
	    opened[ESC_NOTE_MAX], resolved[ESC_NOTE_MAX], prefix[96],
	    *err = NULL;
	size_t nf;

	if (w == NULL) { /* gone with a reload */
		memset(&tmp, 0, sizeof(tmp));
		tmp.id = (char *)r->id;
		w = &tmp;
	}
	nf = json_array_size(json_object_get(r->rec, "failed_verification"));
	escalate_rec_ids(r, "opened", opened, sizeof(opened));
	escalate_rec_ids(r, "resolved", resolved, sizeof(resolved));
	escalate_rec_ids(r, "failed_verification", failed, sizeof(failed));
	snprintf(title, sizeof(title),
	    "window %s ended: %zu opened, %zu "
	    "resolved, %zu failed verification",
	    r->id, json_array_size(json_object_get(r->rec, "opened")),
	    json_array_size(json_object_get(r->rec, "resolved")), nf);
	snprintf(note, sizeof(note),
	    "opened: %s; resolved: %s; failed "
	    "verification: %s",
	    opened[0] ? opened : "none", resolved[0] ? resolved : "none",
	    failed[0] ? failed : "none");
	snprintf(prefix, sizeof(prefix), "window-%s-%lld", r->id,
	    (long long)r->start);
	escalate_tell_owner(e, w, NOTICE_WINDOW, title, note, prefix);
	if (w != &tmp && w->kind == WIN_CHANGE &&
	    (w->state == CHANGE_IN_PROGRESS || w->state == CHANGE_APPROVED) &&
	    escalate_change_move(e, w, nf > 0 ? CHANGE_FAILED : CHANGE_VERIFIED,
		"sopd", note, &err) != 0) {
		log_warnx("%s", err);
		free(err);
	}
}

/* A window ended (or was cancelled) at end: release what it holds. */
static void
escalate_window_ended(struct escalator *e, struct winrec *r, int64_t end)
{
	struct esc_sweep sw = { .e = e, .held_by = r->id };
	struct escinc *ei;
	size_t i;

	log_info("window %s ended", r->id);
	incidents_foreach_active(e->d.incidents, escalate_sweep_cb, &sw);
	for (i = 0; i < sw.n; i++) {
		if ((ei = escalate_find(e, sw.ids[i])) != NULL)
			escalate_release(e, ei, r->id, end);
	}
	free(sw.ids);
	escalate_window_summary(e, r);
	r->end = end;
	r->ended = 1;
	r->dirty = 1;
	incidents_want_commit(e->d.incidents);
}

/* Whether a record's occurrence is still going on at now. */
static int
escalate_rec_live(struct escalator *e, const struct winrec *r, int64_t now)
{
	const struct win *w = winset_find(e->d.windows, r->id);
	time_t s, end;

	return w != NULL && winset_counts(w) &&
	    winset_active(policy_calendar(e->d.policy), w, (time_t)now, &s,
		&end) &&
	    (int64_t)s == r->start;
}

/* The record of a window's occurrence in progress, or NULL. */
const json_t *
escalate_window_record(const struct escalator *e, const char *id)
{
	const struct winrec *r;

	for (r = e->wrecs; r != NULL; r = r->next) {
		if (!r->ended && strcmp(r->id, id) == 0)
			return r->rec;
	}
	return NULL;
}

/* Whether a window has an occurrence in progress. */
static int
escalate_has_rec(struct escalator *e, const char *id)
{
	return escalate_window_record(e, id) != NULL;
}

/* Release incidents held by a window that has no occurrence any more. */
static void
escalate_orphans_cb(const struct incident_info *ii, void *arg)
{
	struct esc_sweep *sw = arg;
	struct escinc *ei = escalate_find(sw->e, ii->id);

	if (ei == NULL || ei->held == NULL || escalate_has_rec(sw->e, ei->held))
		return;
	if (sw->n == sw->cap) {
		sw->cap = sw->cap == 0 ? 64 : sw->cap * 2;
		sw->ids = xreallocarray(sw->ids, sw->cap, sizeof(*sw->ids));
	}
	sw->ids[sw->n++] = ii->id;
}

/* Release the incidents no window holds any more. */
static void
escalate_orphans(struct escalator *e, int64_t now)
{
	struct esc_sweep sw = { .e = e };
	struct escinc *ei;
	char winid[WINSET_ID_MAX + 1];
	size_t i;

	incidents_foreach_active(e->d.incidents, escalate_orphans_cb, &sw);
	for (i = 0; i < sw.n; i++) {
		if ((ei = escalate_find(e, sw.ids[i])) == NULL)
			continue;
		snprintf(winid, sizeof(winid), "%s", ei->held);
		escalate_release(e, ei, winid, now);
	}
	free(sw.ids);
}

/*
 * Bring the windows up to date at now: end the occurrences that are over,
 * start those that began, and arm the deadline of the next change.
 */
void
escalate_windows_sync(struct escalator *e)
{
	int64_t now = (int64_t)clock_now();
	struct winrec *r;
	struct win *w;
	time_t s, end, next;
	size_t i;

	for (r = e->wrecs; r != NULL; r = r->next) {
		if (!r->ended && !escalate_rec_live(e, r, now))
			escalate_window_ended(e, r,
			    r->end < now ? r->end : now);
	}
	for (i = 0; i < winset_count(e->d.windows); i++) {
		w = winset_get(e->d.windows, i);
		if (winset_counts(w) &&
		    winset_active(policy_calendar(e->d.policy), w, (time_t)now,
			&s, &end) &&
		    !escalate_has_rec(e, w->id))
			escalate_window_started(e, w, s, end);
	}
	escalate_orphans(e, now);
	next = winset_next_change(e->d.windows, policy_calendar(e->d.policy),
	    (time_t)now);
	if (next != (time_t)-1)
		deadlines_schedule(e->d.deadlines, ESCALATE_DL_WINDOW, 0, next);
	else
		deadlines_cancel(e->d.deadlines, ESCALATE_DL_WINDOW, 0);
}

/*
 * A critical's impact reminder fell due: once, and only when nobody said
 * yet what the client is affected by; its current level hears it.
 */
static void
escalate_remind(struct escalator *e, struct escinc *ei)
{
	struct incident_info ii;
	char note[ESC_NOTE_MAX];

	if (ei->reminded != 0)
		return;
	ei->reminded = (int64_t)clock_now();
	ei->stale |= ESC_ROW_REMIND;
	escalate_dirty(e, ei);
	if (incidents_info(e->d.incidents, ei->id, &ii) != 0 ||
	    ii.impact != NULL)
		return;
	snprintf(note, sizeof(note),
	    "impact not set %d minutes after "
	    "opening: tell the client (sopctl set %llu --impact ...)",
	    ESCALATE_IMPACT_AFTER / 60, (unsigned long long)ei->id);
	escalate_queue_to(e, &ii, NOTICE_REMINDER, -1, ii.level, note, NULL);
	escalate_show(e, ei, NULL, "remind", note);
}

/* A deadline fell due. */
int
escalate_fire(struct escalator *e, int kind, uint64_t id, time_t due)
{
	struct escinc *ei;

	(void)due;
	if (kind == ESCALATE_DL_WINDOW) {
		escalate_windows_sync(e);
		return 1;
	}
	if (kind == ESCALATE_DL_IMPACT) {
		if ((ei = escalate_find(e, id)) != NULL)
			escalate_remind(e, ei);
		return 1;
	}
	if (kind != ESCALATE_DL_STEP)
		return 0;
	if ((ei = escalate_find(e, id)) != NULL && ei->held == NULL)
		escalate_fire_due(e, ei, (int64_t)clock_now(), NULL);
	return 1;
}

/* Load one active incident's state. */
static void
escalate_load_cb(const struct incident_info *ii, void *arg)
{
	struct escalator *e = arg;
	struct escinc *ei;

	ei = escalate_add(e, ii->id, ii->severity);
	ei->acked = ii->state == INC_ACKNOWLEDGED;
	ei->start = ii->first_seen_us / 1000000;
	if (ii->in_window != NULL) {
		escalate_held_set(ei, ii->in_window);
		ei->start = 0;
	}
	ei->due[0] = -1; /* no stored rows yet */
	if (ii->severity == SEV_CRITICAL && ii->impact == NULL)
		ei->remind_due =
		    ii->first_seen_us / 1000000 + ESCALATE_IMPACT_AFTER;
}

/* Take one stored escalation row. */
static int
escalate_row_cb(const struct store_esc *r, void *arg)
{
	struct escalator *e = arg;
	struct escinc *ei;

	if ((ei = escalate_find(e, r->incident_id)) == NULL ||
	    r->step >= POLICY_MAX_STEPS)
		return 0;
	if (r->step == -2) {
		ei->remind_due = r->due;
		ei->reminded = r->fired_at;
		return 0;
	}
	if (ei->due[0] == -1)
		ei->due[0] = 0;
	if (r->step < 0) {
		ei->start = r->due;
		return 0;
	}
	ei->due[r->step] = r->due;
	ei->fired_at[r->step] = r->fired_at;
	if (r->fired_at != 0)
		ei->fired |= 1U << r->step;
	return 0;
}

/*
 * Compute missing due times of loaded incidents, arm them and show each
 * incident its next step (not stored: the steps are the escalator's).
 */
static void
escalate_load_arm(struct escalator *e)
{
	struct escinc *ei;
	size_t b;
	int i, n;

	for (b = 0; b < e->nb; b++) {
		for (ei = e->hb[b]; ei != NULL; ei = ei->hnext) {
			n = policy_nsteps(e->d.policy, ei->severity);
			if (ei->due[0] == -1) { /* never seen: from opening */
				ei->due[0] = 0;
				escalate_compute(e, ei);
				escalate_dirty(e, ei);
			}
			for (i = 0; i < n && ei->start != 0; i++) {
				if (ei->due[i] == 0 &&
				    !(ei->fired & (1U << i))) {
					ei->due[i] = policy_due(e->d.policy,
					    ei->severity, i, (time_t)ei->start);
					ei->stale |= ESC_ROW_STEP(i);
				}
			}
			escalate_show(e, ei, NULL, NULL, NULL);
			escalate_arm(e, ei);
			if (ei->remind_due != 0 && ei->reminded == 0)
				deadlines_schedule(e->d.deadlines,
				    ESCALATE_DL_IMPACT, ei->id,
				    (time_t)ei->remind_due);
		}
	}
}

/* Take one unfinished window occurrence from the store. */
static int
escalate_winlog_cb(const struct store_winlog *w, void *arg)
{
	struct escalator *e = arg;
	struct winrec *r;

	if (escalate_has_rec(e, w->window_id))
		return 0;
	r = xcalloc(1, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", w->window_id);
	r->start = w->start;
	r->end = w->end;
	r->rec = w->record != NULL ? json_loads(w->record, 0, NULL) : NULL;
	if (!json_is_object(r->rec)) {
		json_decref(r->rec);
		r->rec = json_object();
	}
	r->next = e->wrecs;
	e->wrecs = r;
	return 0;
}

/* Start the escalator: load state, arm deadlines, sync the windows. */
struct escalator *
escalate_new(const struct escalate_deps *d, char **cause)
{
	struct escalator *e;
	struct store *st = incidents_store(d->incidents);

	e = xcalloc(1, sizeof(*e));
	e->d = *d;
	/* one entry per active incident: sized for all, as their index */
	e->nb = incidents_buckets(incidents_max_open(d->incidents));
	/* a step and an impact reminder per active incident at most */
	if (d->deadlines != NULL)
		deadlines_reserve(d->deadlines,
		    2 * incidents_max_open(d->incidents));
	e->hb = xcalloc(e->nb, sizeof(*e->hb));
	incidents_foreach_active(e->d.incidents, escalate_load_cb, e);
	if (store_load_esc(st, escalate_row_cb, e) != 0 ||
	    store_load_winlog(st, NULL, WINSET_MAX * 2, escalate_winlog_cb,
		e) != 0) {
		xasprintf(cause, "loading escalations: %s", store_error(st));
		escalate_free(e);
		return NULL;
	}
	incidents_add_hooks(e->d.incidents, &escalate_hooks, e);
	escalate_load_arm(e);
	escalate_windows_sync(e);
	log_info("escalation: %zu incidents on the clock, %zu windows", e->n,
	    winset_count(e->d.windows));
	return e;
}

/* Take a reloaded policy and windows: recompute the steps not fired. */
void
escalate_reconfigure(struct escalator *e, const struct policy *pol,
    struct winset *ws, const struct config *cfg)
{
	struct escinc *ei;
	size_t b;

	e->d.policy = pol;
	e->d.windows = ws;
	e->d.cfg = cfg;

	for (b = 0; b < e->nb; b++) {
		for (ei = e->hb[b]; ei != NULL; ei = ei->hnext) {
			ei->stale = ESC_ROW_ALL; /* levels may have changed */
			escalate_compute(e, ei);
			escalate_dirty(e, ei);
			escalate_show(e, ei, NULL, NULL, NULL);
			escalate_arm(e, ei);
		}
	}
	escalate_windows_sync(e);
}

/*
 * The wall clock jumped by jump seconds (it was set right, or wrong): the
 * incidents whose clock runs were opened under the old clock, so their
 * start and the due times of their steps not yet fired move with it.  An
 * escalation measures the time an incident has been open, which the jump
 * did not change.  Returns how many incidents were re-anchored.
 */
size_t
escalate_clock_jumped(struct escalator *e, long long jump)
{
	struct escinc *ei;
	size_t b, n = 0;

	for (b = 0; b < e->nb; b++) {
		for (ei = e->hb[b]; ei != NULL; ei = ei->hnext) {
			if (ei->remind_due != 0 && ei->reminded == 0) {
				ei->remind_due += jump;
				ei->stale |= ESC_ROW_REMIND;
				deadlines_schedule(e->d.deadlines,
				    ESCALATE_DL_IMPACT, ei->id,
				    (time_t)ei->remind_due);
				escalate_dirty(e, ei);
			}
			if (ei->start == 0)
				continue;
			ei->start += jump;
			ei->stale |= ESC_ROW_START;
			escalate_compute(e, ei);
			escalate_dirty(e, ei);
			escalate_show(e, ei, NULL, NULL, NULL);
			escalate_arm(e, ei);
			n++;
		}
	}
	return n;
}

/* Tell another notifier from now on (NULL: nobody). */
void
escalate_set_notifier(struct escalator *e, struct notifier *n)
{
	if (e != NULL)
		e->d.notifier = n;
}

/* Notices that could not be queued for a commit (the queue was full). */
uint64_t
escalate_notices_dropped(const struct escalator *e)
{
	return e != NULL ? e->out_dropped : 0;
}

/* Free everything (notices not yet committed are dropped). */
void
escalate_free(struct escalator *e)
{
	struct escinc *ei, *next;
	struct outnote *o;
	struct winrec *r;
	size_t b;

	if (e == NULL)
		return;
	if (e->d.incidents != NULL)
		incidents_remove_hooks(e->d.incidents, &escalate_hooks, e);
	for (ei = e->dhead; ei != NULL; ei = next) {
		next = ei->dnext;
		if (ei->dead)
			escalate_inc_free(ei);
	}
	for (b = 0; b < e->nb; b++) {
		for (ei = e->hb[b]; ei != NULL; ei = next) {
			next = ei->hnext;
			escalate_inc_free(ei);
		}
	}
	while ((o = e->ohead) != NULL) {
		e->ohead = o->next;
		escalate_outnote_free(o);
	}
	while ((r = e->wrecs) != NULL) {
		e->wrecs = r->next;
		json_decref(r->rec);
		free(r);
	}
	free(e->hb);
	free(e);
}

/* What the escalator works on, now. */
const struct escalate_deps *
escalate_deps(const struct escalator *e)
{
	return &e->d;
}

/* A change was requested: tell the steps it went through (approved...). */
void
escalate_change_requested(struct escalator *e, const struct win *w)
{
	char title[512], prefix[96], note[ESC_NOTE_MAX * 4];
	size_t i, n = json_array_size(w->history);
	json_t *h;

	snprintf(note, sizeof(note), "impact: %s; risk: %s; rollback: %s",
	    w->impact != NULL ? w->impact : "-",
	    w->risk != NULL ? w->risk : "-",
	    w->rollback != NULL ? w->rollback : "-");
	for (i = 0; i < n; i++) {
		h = json_array_get(w->history, i);
		snprintf(title, sizeof(title), "change %s %s by %s: %s", w->id,
		    json_string_value(json_object_get(h, "to")),
		    json_string_value(json_object_get(h, "actor")),
		    w->title != NULL ? w->title : "");
		snprintf(prefix, sizeof(prefix), "change-%s-%zu", w->id, i + 1);
		escalate_tell_owner(e, w, NOTICE_CHANGE, title, note, prefix);
	}
}
