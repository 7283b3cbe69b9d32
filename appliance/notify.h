/* notify.h: notifications out: SNMP traps/informs, syslog, exec hook, webhook. */
#ifndef SOPD_NOTIFY_H
#define SOPD_NOTIFY_H

#include <stdint.h>

#include <jansson.h>

#include "yamlnode.h"

struct sopd;
struct config;
struct incident_info;
struct notifier;

enum notice_kind {
	NOTICE_OPENED = 0,   /* sopIncidentOpened */
	NOTICE_ESCALATED,    /* sopIncidentEscalated: a step fell due */
	NOTICE_ACKNOWLEDGED, /* sopIncidentAcknowledged */
	NOTICE_RESOLVED,     /* sopIncidentResolved */
	NOTICE_WINDOW,	     /* a window ended: its summary */
	NOTICE_CHANGE,	     /* a change moved to a new state */
	NOTICE_REPORT,	     /* a scheduled job's report (body below) */
	NOTICE_REMINDER,     /* a critical has no impact for the client */
	NOTICE_RELOAD,	     /* a reload and what it changed (audit) */
	NOTICE_MAX
};

/* One thing to tell the targets of a level. */
struct notice {
	enum notice_kind kind;
	const struct incident_info *inc; /* the incident, as it is now */
	int step;			 /* escalation step index, -1 if none */
	const char *level;		 /* the level whose targets hear it */
	int64_t at_us;			 /* when it happened (wall clock) */
	const char *note;		 /* optional text, e.g. why */
	const char *idem;		 /* NULL: the incident's */
	/* NOTICE_REPORT: the text (exec stdin) and JSON (webhook body). */
	const char *body;
	const char *body_json;
};

/*
 * Check cfg->sec_notify (targets and the targets of each level) and report
 * every mistake as file:line:col; 0 when valid.
 */
int notify_check(const struct config *, struct errlist *);
/* Start the notifier with cfg's targets; NULL with *cause on failure. */
struct notifier *notify_new(struct sopd *, char **cause);
/*
 * A recording notifier (replay): it delivers nothing and calls sink with
 * every notice it is given once its transaction committed, in order; the
 * sink's notice carries kind, step, level and the incident's id only.
 */
typedef void (
    *notify_sink_cb)(const char *level, const struct notice *, void *);
struct notifier *notify_new_sink(notify_sink_cb, void *arg);
/* Take a reloaded config (new targets; deliveries in flight finish). */
void notify_reconfigure(struct notifier *, const struct config *);
/*
 * Queue a notice to every target of a level ("L1", "L2", "L3", "client").
 * Never blocks; deliveries are retried with backoff and carry an
 * idempotency key made of incident id, kind and step.
 */
void notify_send(struct notifier *, const char *level, const struct notice *);
/*
 * The same, durably, for a caller that records what the notice tells in
 * its own store transaction: notify_stage writes the notice to the
 * outbox inside that open transaction (-1: roll it back), notify_commit
 * queues what was staged once it committed, notify_unstage forgets it
 * when it was rolled back.  A notice is then delivered at least once, also
 * across a crash or restart, until it is delivered or given up.
 */
int notify_stage(struct notifier *, const char *level, const struct notice *);
void notify_commit(struct notifier *);
void notify_unstage(struct notifier *);
/*
 * Queue a report to every target of a level, through the outbox like any
 * notice: exec hooks read the text on stdin with the subject in
 * SOPD_SUBJECT, webhooks get body_json, syslog targets the subject.
 * notify_send_report writes it in a transaction of its own;
 * notify_stage_report inside the caller's (the one that stores the
 * report), then notify_commit / notify_unstage as for notices.
 */
void notify_send_report(struct notifier *, const char *level,
    const char *subject, const char *text, const char *body_json,
    const char *idem);
int notify_stage_report(struct notifier *, const char *level,
    const char *subject, const char *text, const char *body_json,
    const char *idem);
/* Counters (sent, failed, retried, queued) per target, and the outbox's. */
json_t *notify_stats_json(struct notifier *);
/*
 * The notices sent for an incident, oldest first, from the store's notice
 * log (bounded by retention with the incident); NULL without a store.
 */
json_t *notify_notices_json(struct notifier *, uint64_t incident);
void notify_free(struct notifier *);

/* A notice kind's name, as in keys, syslog, JSON and replay ("opened"). */
const char *notify_kind_name(enum notice_kind);

#endif
