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
	NOTICE_OPENED = 0,	/* sopIncidentOpened */
	NOTICE_ESCALATED,	/* sopIncidentEscalated: a step fell due */
	NOTICE_ACKNOWLEDGED,	/* sopIncidentAcknowledged */
	NOTICE_RESOLVED,	/* sopIncidentResolved */
	NOTICE_WINDOW,		/* a window ended: its summary */
	NOTICE_CHANGE,		/* a change moved to a new state */
	NOTICE_REMINDER,	/* a critical has no impact for the client */
	NOTICE_RELOAD,		/* a reload and what it changed (audit) */
	NOTICE_MAX
};

/* One thing to tell the targets of a level. */
struct notice {
	enum notice_kind		 kind;
	const struct incident_info	*inc;	/* the incident, as it is now */
	int				 step;	/* escalation step index, -1 if none */
	const char			*level;	/* the level whose targets hear it */
	int64_t				 at_us;	/* when it happened (wall clock) */
	const char			*note;	/* optional text, e.g. why */
	const char			*idem;	/* NULL: the incident's */
};

/*
 * Check cfg->sec_notify (targets and the targets of each level) and report
 * every mistake as file:line:col; 0 when valid.
 */
int notifier_check(const struct config *, struct errlist *);
/* Start the notifier with cfg's targets; NULL with *cause on failure. */
struct notifier *notifier_new(struct sopd *, char **cause);
/* Take a reloaded config (new targets; deliveries in flight finish). */
void notifier_reconfigure(struct notifier *, const struct config *);
/*
 * Queue a notice to every target of a level ("L1", "L2", "L3", "client").
 * Never blocks; deliveries are retried with backoff and carry an
 * idempotency key made of incident id, kind and step.
 */
void notifier_send(struct notifier *, const char *level, const struct notice *);
/*
 * The same, durably, for a caller that records what the notice tells in
 * its own store transaction: notifier_stage writes the notice to the
 * outbox inside that open transaction (-1: roll it back), notifier_commit
 * queues what was staged once it committed, notifier_unstage forgets it
 * when it was rolled back.  A notice is then delivered at least once, also
 * across a crash or restart, until it is delivered or given up.
 */
int notifier_stage(struct notifier *, const char *level, const struct notice *);
void notifier_commit(struct notifier *);
void notifier_unstage(struct notifier *);
/* Counters (sent, failed, retried, queued) per target, and the outbox's. */
json_t *notifier_stats_json(struct notifier *);
void notifier_free(struct notifier *);

#endif
