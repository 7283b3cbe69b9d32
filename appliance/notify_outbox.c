/* notify_outbox.c: the notifier's outbox: notices kept in the store until delivered. */

/*
 * Every notice queued to a target is first a row of the store's outbox
 * table, written in the transaction that records what the notice tells
 * (the escalator's commit), or in a transaction of its own.  A delivered
 * notice's row is deleted; one given up is kept as "failed" (the newest
 * NOTIFY_OB_FAILED_KEEP of them); a retry's attempts and next try are
 * recorded.  Those three changes are lazy: they are batched and written
 * every NOTIFY_OB_PERSIST_MS, so a crash may deliver a notice once more
 * (with the same idempotency key) but never loses one that was committed.
 * At start the pending rows go back into their targets' queues.
 *
 * Every incident notice is also a row of the notice_log table (the
 * incident's timeline): written, then its outcome updated, with the same
 * lazy batches; the page reads the table plus the batch not yet written.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "notify_int.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

#define NOTIFY_OB_OPS_MAX     4096 /* lazy changes before a forced write */
#define NOTIFY_OB_PERSIST_MS  1000
#define NOTIFY_OB_FAILED_KEEP 1000
#define NOTIFY_OB_STR_MAX     1024
#define NOTIFY_OB_LOG_MAX     1024 /* notice log changes before a write */

enum notify_ob_what {
	NOTIFY_OB_DELETE,
	NOTIFY_OB_RETRY,
	NOTIFY_OB_FAILED,
};

/* One lazy change of a row. */
struct notify_ob_op {
	enum notify_ob_what what;
	char target[NOTIFY_NAME_MAX + 1];
	char idem[96];
	int attempts;
	int64_t next_try;
};

/* One notice's row of the notice log, as it is now. */
struct notify_ob_log {
	uint64_t incident;
	char idem[96];
	int64_t at_us;
	char notification[16];
	char level[16];
	char *targets; /* "" keeps the row's */
	char outcome[12];
	uint32_t index; /* sopNotifLogIndex, 0: none */
};

struct notify_outbox {
	struct store *st;
	struct event *persist;
	struct notify_ob_op *ops;
	size_t nops;
	struct notify_ob_log *logs;
	size_t nlogs;
	uint64_t errors;
};

static void notify_outbox_persist_cb(evutil_socket_t, short, void *);
static void notify_outbox_log_clear(struct notify_outbox *);
static int notify_outbox_log_write(struct notify_outbox *,
    const struct notify_ob_log *);

/* An outbox on a store (NULL: none, notices live in memory only). */
struct notify_outbox *
notify_outbox_new(struct event_base *base, struct store *st)
{
	struct notify_outbox *ob;

	if (st == NULL)
		return NULL;
	ob = xcalloc(1, sizeof(*ob));
	ob->st = st;
	ob->ops = xcalloc(NOTIFY_OB_OPS_MAX, sizeof(*ob->ops));
	ob->logs = xcalloc(NOTIFY_OB_LOG_MAX, sizeof(*ob->logs));
	if (base != NULL &&
	    (ob->persist = evtimer_new(base, notify_outbox_persist_cb, ob)) ==
		NULL)
		fatalx("notify: evtimer_new failed");
	return ob;
}

/* Write the lazy changes, then free the outbox. */
void
notify_outbox_free(struct notify_outbox *ob)
{
	if (ob == NULL)
		return;
	notify_outbox_persist(ob);
	if (ob->persist != NULL)
		event_free(ob->persist);
	notify_outbox_log_clear(ob);
	free(ob->logs);
	free(ob->ops);
	free(ob);
}

/* Write errors so far (for stats). */
uint64_t
notify_outbox_errors(const struct notify_outbox *ob)
{
	return ob != NULL ? ob->errors : 0;
}

/* Apply one lazy change inside the open transaction. */
static int
notify_outbox_apply(struct notify_outbox *ob, const struct notify_ob_op *op)
{
	struct store_outbox o;

	if (op->what == NOTIFY_OB_DELETE)
		return store_outbox_del(ob->st, op->target, op->idem);
	memset(&o, 0, sizeof(o));
	o.target = op->target;
	o.idem_key = op->idem;
	o.attempts = op->attempts;
	o.next_try = op->next_try;
	o.state = op->what == NOTIFY_OB_FAILED ? "failed" : "pending";
	return store_outbox_set(ob->st, &o);
}

/* Write every lazy change in one transaction (kept on failure). */
void
notify_outbox_persist(struct notify_outbox *ob)
{
	size_t i;
	int failed = 0;

	if (ob == NULL || (ob->nops == 0 && ob->nlogs == 0))
		return;
	if (store_begin(ob->st) == -1)
		goto fail;
	for (i = 0; i < ob->nops; i++) {
		if (notify_outbox_apply(ob, &ob->ops[i]) == -1)
			goto fail;
		failed |= ob->ops[i].what == NOTIFY_OB_FAILED;
	}
	for (i = 0; i < ob->nlogs; i++) {
		if (notify_outbox_log_write(ob, &ob->logs[i]) == -1)
			goto fail;
	}
	if ((failed &&
		store_outbox_trim(ob->st, NOTIFY_OB_FAILED_KEEP) == -1) ||
	    store_commit(ob->st) == -1)
		goto fail;
	ob->nops = 0;
	notify_outbox_log_clear(ob);
	return;
fail:
	if (store_busy(ob->st)) /* another process's lock: counted */
		stats.store_busy_retries++;
	else {
		ob->errors++;
		log_warnx("notify: outbox not written, will retry: %s",
		    store_error(ob->st));
	}
	store_rollback(ob->st);
	if (ob->nops >= NOTIFY_OB_OPS_MAX)
		ob->nops = 0; /* bounded: the rows are delivered again */
	if (ob->nlogs >= NOTIFY_OB_LOG_MAX)
		notify_outbox_log_clear(
		    ob); /* bounded: the timeline misses them */
	if (ob->persist != NULL && !evtimer_pending(ob->persist, NULL))
		notify_outbox_arm(ob);
}

/* The persist timer. */
static void
notify_outbox_persist_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_outbox_persist(arg);
}

/* Arm the persist timer (if not armed). */
void
notify_outbox_arm(struct notify_outbox *ob)
{
	struct timeval tv = { NOTIFY_OB_PERSIST_MS / 1000,
		(NOTIFY_OB_PERSIST_MS % 1000) * 1000 };

	if (ob->persist != NULL && !evtimer_pending(ob->persist, NULL))
		evtimer_add(ob->persist, &tv);
}

/* Queue a lazy change; a full batch is written at once. */
static void
notify_outbox_op(struct notify_outbox *ob, enum notify_ob_what what,
    const char *target, const char *idem, int attempts, int64_t next_try)
{
	struct notify_ob_op *op;

	if (ob == NULL)
		return;
	if (ob->nops >= NOTIFY_OB_OPS_MAX)
		notify_outbox_persist(ob);
	op = &ob->ops[ob->nops++];
	op->what = what;
	snprintf(op->target, sizeof(op->target), "%s", target);
	snprintf(op->idem, sizeof(op->idem), "%s", idem);
	op->attempts = attempts;
	op->next_try = next_try;
	notify_outbox_arm(ob);
}

/* A notice was delivered (or dropped): its row goes. */
void
notify_outbox_delivered(struct notify_outbox *ob, const char *target,
    const char *idem)
{
	notify_outbox_op(ob, NOTIFY_OB_DELETE, target, idem, 0, 0);
}

/* A delivery failed and is retried at next_try. */
void
notify_outbox_retry(struct notify_outbox *ob, const char *target,
    const char *idem, int attempts, int64_t next_try)
{
	notify_outbox_op(ob, NOTIFY_OB_RETRY, target, idem, attempts, next_try);
}

/* A notice was given up: its row is kept as failed. */
void
notify_outbox_failed(struct notify_outbox *ob, const char *target,
    const char *idem, int attempts)
{
	notify_outbox_op(ob, NOTIFY_OB_FAILED, target, idem, attempts, 0);
}

/* Forget lazy changes of a row that is written anew. */
static void
notify_outbox_forget(struct notify_outbox *ob, const char *target,
    const char *idem)
{
	size_t i, j = 0;

	for (i = 0; i < ob->nops; i++) {
		if (strcmp(ob->ops[i].target, target) == 0 &&
		    strcmp(ob->ops[i].idem, idem) == 0)
			continue;
		if (j != i)
			ob->ops[j] = ob->ops[i];
		j++;
	}
	ob->nops = j;
}

/* A notice as JSON text (every field, times in microseconds). */
static char *
notify_outbox_dump(const struct notify_msg *m)
{
	json_t *o;
	char *s;

	o = json_pack("{s:i s:i s:s s:I s:o s:I s:i s:i s:s s:s s:s s:s s:s "
		      "s:s s:I s:I s:I s:I s:s}",
	    "kind", (int)m->kind, "step", m->step, "level", m->level, "at",
	    (json_int_t)m->at_us, "note",
	    m->note != NULL ? json_string(m->note) : json_null(), "id",
	    (json_int_t)m->id, "severity", m->severity, "state", m->state,
	    "inc_level", m->inc_level, "host", m->host, "rule", m->rule,
	    "title", m->title, "key", m->key, "in_window", m->in_window,
	    "count", (json_int_t)m->count, "first_seen",
	    (json_int_t)m->first_seen_us, "last_seen",
	    (json_int_t)m->last_seen_us, "next_escalation",
	    (json_int_t)m->next_escalation_us, "idem", m->idem);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "owner",
	    json_string(m->owner != NULL ? m->owner : ""));
	json_object_set_new(o, "impact", json_string(m->impact));
	json_object_set_new(o, "workaround", json_string(m->workaround));
	json_object_set_new(o, "last_note", json_string(m->last_note));
	json_object_set_new(o, "last_event", json_string(m->last_event));
	json_object_set_new(o, "link", json_string(m->link));
	json_object_set_new(o, "eta", json_integer((json_int_t)m->eta_us));
	if ((m->body != NULL &&
		json_object_set_new(o, "body", json_string(m->body)) == -1) ||
	    (m->body_json != NULL &&
		json_object_set_new(o, "body_json",
		    json_string(m->body_json)) == -1)) {
		json_decref(o); /* not UTF-8 */
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/*
 * Write a pending row for a notice to a target inside the caller's open
 * transaction; 0, or -1 (the transaction must be rolled back).
 */
int
notify_outbox_put(struct notify_outbox *ob, const char *target,
    const struct notify_msg *m, int64_t now)
{
	struct store_outbox o;
	char *text;
	int rc;

	if (ob == NULL)
		return 0;
	if ((text = notify_outbox_dump(m)) == NULL)
		return 0; /* not representable: memory only */
	memset(&o, 0, sizeof(o));
	o.target = target;
	o.idem_key = m->idem;
	o.notice = text;
	o.created = now;
	rc = store_outbox_put(ob->st, &o);
	free(text);
	if (rc == 0)
		notify_outbox_forget(ob, target, m->idem);
	return rc == 0 ? 0 : -1;
}

/* A string member, bounded; NULL when missing. */
static char *
notify_outbox_str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? xstrndup(s, NOTIFY_OB_STR_MAX) : NULL;
}

/* A string member, bounded; "" when missing. */
static char *
notify_outbox_str0(const json_t *o, const char *name)
{
	char *s = notify_outbox_str(o, name);

	return s != NULL ? s : xstrdup("");
}

/* A string member of any length (a report's body); NULL when missing. */
static char *
notify_outbox_body(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? xstrdup(s) : NULL;
}

/* An integer member, 0 when missing. */
static int64_t
notify_outbox_int(const json_t *o, const char *name)
{
	return (int64_t)json_integer_value(json_object_get(o, name));
}

/* Rebuild a message from its JSON text; NULL when it is not one of ours. */
static struct notify_msg *
notify_outbox_parse(const char *text, const char *idem)
{
	struct notify_msg *m;
	json_t *o;
	int64_t kind;

	if ((o = json_loads(text, 0, NULL)) == NULL)
		return NULL;
	kind = notify_outbox_int(o, "kind");
	if (!json_is_object(o) || kind < 0 || kind >= NOTICE_MAX ||
	    json_string_value(json_object_get(o, "level")) == NULL) {
		json_decref(o);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->kind = (enum notice_kind)kind;
	m->step = (int)notify_outbox_int(o, "step");
	m->level = notify_outbox_str(o, "level");
	m->at_us = notify_outbox_int(o, "at");
	m->note = notify_outbox_str(o, "note");
	m->id = (uint64_t)notify_outbox_int(o, "id");
	m->severity = (int)notify_outbox_int(o, "severity");
	m->state = (int)notify_outbox_int(o, "state");
	m->inc_level = notify_outbox_str(o, "inc_level");
	m->host = notify_outbox_str(o, "host");
	m->rule = notify_outbox_str(o, "rule");
	m->title = notify_outbox_str(o, "title");
	m->key = notify_outbox_str(o, "key");
	m->in_window = notify_outbox_str(o, "in_window");
	if ((m->owner = notify_outbox_str(o, "owner")) == NULL)
		m->owner = xstrdup(""); /* a row written before owners */
	m->impact = notify_outbox_str0(o, "impact"); /* "" in older rows */
	m->workaround = notify_outbox_str0(o, "workaround");
	m->last_note = notify_outbox_str0(o, "last_note");
	m->last_event = notify_outbox_str0(o, "last_event");
	m->link = notify_outbox_str0(o, "link");
	m->eta_us = notify_outbox_int(o, "eta");
	m->count = (uint64_t)notify_outbox_int(o, "count");
	m->first_seen_us = notify_outbox_int(o, "first_seen");
	m->last_seen_us = notify_outbox_int(o, "last_seen");
	m->next_escalation_us = notify_outbox_int(o, "next_escalation");
	m->body = notify_outbox_body(o, "body");
	m->body_json = notify_outbox_body(o, "body_json");
	snprintf(m->idem, sizeof(m->idem), "%s", idem);
	json_decref(o);
	return m;
}

/* Context of a load. */
struct notify_ob_load {
	struct notify_outbox *ob;
	notify_outbox_cb cb;
	void *arg;
	size_t n;
};

/* One pending row: back to its target, or failed when it cannot be. */
static int
notify_outbox_load_cb(const struct store_outbox *o, void *arg)
{
	struct notify_ob_load *ld = arg;
	struct notify_msg *m;

	m = notify_outbox_parse(o->notice, o->idem_key);
	if (m != NULL &&
	    ld->cb(o->target, m, o->attempts, o->next_try, ld->arg) == 0) {
		ld->n++;
		return 0;
	}
	log_warnx("notify %s: outbox notice %s cannot be delivered (%s)",
	    o->target, o->idem_key,
	    m == NULL ? "unreadable" : "no such target");
	notify_outbox_failed(ld->ob, o->target, o->idem_key, o->attempts);
	return 0;
}

/*
 * Hand every pending row to cb (which takes the message, refs 0, when it
 * returns 0); returns how many were taken, -1 on a store error.
 */
long
notify_outbox_load(struct notify_outbox *ob, notify_outbox_cb cb, void *arg)
{
	struct notify_ob_load ld = { ob, cb, arg, 0 };

	if (ob == NULL)
		return 0;
	if (store_outbox_load(ob->st, notify_outbox_load_cb, &ld) == -1)
		return -1;
	notify_outbox_persist(ob);
	return (long)ld.n;
}

/* Start and end a transaction of the notifier's own. */
int
notify_outbox_begin(struct notify_outbox *ob)
{
	return ob == NULL ? 0 : store_begin(ob->st);
}

/* Commit the notifier's own transaction (rolled back on failure). */
int
notify_outbox_commit(struct notify_outbox *ob)
{
	if (ob == NULL)
		return 0;
	if (store_commit(ob->st) == 0)
		return 0;
	ob->errors++;
	store_rollback(ob->st);
	return -1;
}

/* Roll the notifier's own transaction back. */
void
notify_outbox_rollback(struct notify_outbox *ob)
{
	if (ob != NULL)
		store_rollback(ob->st);
}

/* Forget the notice log changes of the batch. */
static void
notify_outbox_log_clear(struct notify_outbox *ob)
{
	size_t i;

	for (i = 0; i < ob->nlogs; i++)
		free(ob->logs[i].targets);
	ob->nlogs = 0;
}

/* Write one notice's log row inside the open transaction. */
static int
notify_outbox_log_write(struct notify_outbox *ob, const struct notify_ob_log *l)
{
	struct store_param p[8];

	memset(p, 0, sizeof(p));
	p[0].num = (int64_t)l->incident;
	p[1].text = l->idem;
	p[2].num = l->at_us;
	p[3].text = l->notification;
	p[4].text = l->level;
	p[5].text = l->targets;
	p[6].text = l->outcome;
	p[7].num = l->index;
	return store_write(ob->st,
		   "INSERT INTO notice_log (incident_id, idem_key, at, "
		   "notification, level, targets, outcome, nlog_index) VALUES "
		   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (idem_key) DO "
		   "UPDATE SET outcome = excluded.outcome, targets = CASE WHEN "
		   "excluded.targets = '' THEN notice_log.targets ELSE "
		   "excluded.targets END, nlog_index = CASE WHEN "
		   "excluded.nlog_index = 0 THEN notice_log.nlog_index ELSE "
		   "excluded.nlog_index END",
		   p, 8) == -1 ?
	    -1 :
	    0;
}

/*
 * A notice of an incident was sent to targets ("a,b"; "" for an outcome
 * change) or its outcome changed: its notice log row, written lazily.
 */
void
notify_outbox_log(struct notify_outbox *ob, const struct notify_msg *m,
    const char *targets, const char *outcome)
{
	struct notify_ob_log *l = NULL;
	size_t i;

	if (ob == NULL || m->id == 0 || m->kind >= NOTICE_WINDOW)
		return;
	for (i = 0; i < ob->nlogs; i++) {
		if (strcmp(ob->logs[i].idem, m->idem) == 0) {
			l = &ob->logs[i];
			break;
		}
	}
	if (l == NULL) {
		if (ob->nlogs >= NOTIFY_OB_LOG_MAX)
			notify_outbox_persist(ob);
		if (ob->nlogs >= NOTIFY_OB_LOG_MAX)
			notify_outbox_log_clear(ob);
		l = &ob->logs[ob->nlogs++];
		memset(l, 0, sizeof(*l));
		l->incident = m->id;
		snprintf(l->idem, sizeof(l->idem), "%s", m->idem);
		l->at_us = m->at_us;
		snprintf(l->notification, sizeof(l->notification), "%s",
		    notify_kind_name(m->kind));
		snprintf(l->level, sizeof(l->level), "%s",
		    m->inc_level != NULL ? m->inc_level : "");
		l->targets = xstrdup("");
	}
	if (targets != NULL && *targets != '\0') {
		free(l->targets);
		l->targets = xstrdup(targets);
	}
	if (m->nlog != 0)
		l->index = m->nlog;
	snprintf(l->outcome, sizeof(l->outcome), "%s", outcome);
	notify_outbox_arm(ob);
}

/* A notice log row as the API shows it. */
static json_t *
notify_outbox_log_item(int64_t at_us, uint32_t index, const char *notif,
    const char *level, const char *targets, const char *outcome)
{
	char at[32];
	struct tm tm;
	time_t t = (time_t)(at_us / 1000000);

	if (gmtime_r(&t, &tm) == NULL)
		return NULL;
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "index",
	    (json_int_t)index, "at", at, "notification", notif, "level", level,
	    "targets", targets, "outcome", outcome);
}

/* Context of a notice log read. */
struct notify_ob_read {
	json_t *a;
	json_t *idems; /* idem_key -> position in a */
};

/* One stored notice log row. */
static int
notify_outbox_log_row(const struct store_qrow *q, void *arg)
{
	struct notify_ob_read *rd = arg;
	json_t *it;

	if (q->ncol < 7 || q->text[0] == NULL)
		return 0;
	it = notify_outbox_log_item(q->num[1], (uint32_t)q->num[6],
	    q->text[2] != NULL ? q->text[2] : "",
	    q->text[3] != NULL ? q->text[3] : "",
	    q->text[4] != NULL ? q->text[4] : "",
	    q->text[5] != NULL ? q->text[5] : "");
	if (it == NULL)
		return 0;
	json_object_set_new(rd->idems, q->text[0],
	    json_integer((json_int_t)json_array_size(rd->a)));
	json_array_append_new(rd->a, it);
	return 0;
}

/*
 * The notices of an incident, oldest first, from the notice log and the
 * batch not yet written; NULL when there is no store (or it failed).
 */
json_t *
notify_outbox_log_json(struct notify_outbox *ob, uint64_t incident)
{
	struct notify_ob_read rd;
	struct store_param p = { NULL, (int64_t)incident };
	const struct notify_ob_log *l;
	json_t *it, *pos, *old;
	size_t i;

	if (ob == NULL)
		return NULL;
	rd.a = json_array();
	rd.idems = json_object();
	if (store_query(ob->st,
		"SELECT idem_key, at, notification, level, targets, outcome, "
		"nlog_index FROM notice_log WHERE incident_id = ?1 ORDER BY "
		"at, id",
		&p, 1, notify_outbox_log_row, &rd) == -1) {
		json_decref(rd.a);
		json_decref(rd.idems);
		return NULL;
	}
	for (i = 0; i < ob->nlogs; i++) {
		l = &ob->logs[i];
		if (l->incident != incident)
			continue;
		pos = json_object_get(rd.idems, l->idem);
		it = notify_outbox_log_item(l->at_us, l->index, l->notification,
		    l->level, l->targets, l->outcome);
		if (it == NULL)
			continue;
		if (pos == NULL) {
			json_array_append_new(rd.a, it);
			continue;
		}
		/* The stored row's targets and index unless known here. */
		old = json_array_get(rd.a, (size_t)json_integer_value(pos));
		if (l->targets[0] == '\0')
			json_object_set(it, "targets",
			    json_object_get(old, "targets"));
		if (l->index == 0)
			json_object_set(it, "index",
			    json_object_get(old, "index"));
		json_array_set_new(rd.a, (size_t)json_integer_value(pos), it);
	}
	json_decref(rd.idems);
	return rd.a;
}
