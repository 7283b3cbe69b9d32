/* incident.h: incidents: dedup by key, thresholds, lifecycle, kept in the store. */
#ifndef SOPD_INCIDENT_H
#define SOPD_INCIDENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "deadline.h"

struct event_base;
struct config;
struct logevent;
struct rule_hit;
struct incidents;

enum incident_state {
	INC_OPEN = 0,
	INC_ACKNOWLEDGED,
	INC_RESOLVED,
	INC_CLOSED,
};

/* Filters of GET /api/v1/incidents (NULL / -1: any). */
struct incident_filter {
	int state;	  /* enum incident_state, -1 any; */
	int active;	  /* 1: open or acknowledged only */
	int severity;	  /* enum sop_severity, -1 any */
	const char *host; /* exact or glob */
	const char *rule; /* exact */
	size_t limit;	  /* default 100, at most 1000 */
	size_t offset;
	int triage;	  /* 1: triage order, not newest first */
	const char *text; /* in title, host or rule */
};

const char *incident_state_name(int);
int incident_state_from_name(const char *);

/*
 * Open the store under cfg->state_dir (creating it), migrate its schema and
 * load the incidents that are not closed. -1 with *cause on failure.
 */
struct incidents *incidents_open(struct event_base *, const struct config *,
    char **cause);
/*
 * Keep incidents in memory only (a replay's, whose store is thrown away):
 * the store keeps no incident, history or escalation rows
 * (store_set_no_incidents), no history rows are queued, no sample events
 * are rendered (nor the latest event's text kept), and a resolved incident
 * is freed at the next commit. Commits, hooks and the commit hook run as
 * usual. Call it right after incidents_open, before any incident changes.
 */
void incidents_set_throwaway(struct incidents *);
/* Apply a reloaded config (limits, sample size); incidents are kept. */
void incidents_reconfigure(struct incidents *, const struct config *);
/* Feed one event that a rule took (open, update, count or clear). */
void incidents_event(struct incidents *, const struct logevent *,
    const struct rule_hit *);
/*
 * Incidents that no event raised (expectations, silent hosts; flapping):
 * raise opens (rule, key), or counts one more on the active one, and gives
 * its id (0: over the bounds); settle resolves it with a note (1 if there
 * was one).  Timestamps are seconds since the epoch.
 */
struct rule;
struct store;
struct deadlines;
uint64_t incidents_raise(struct incidents *, const struct rule *,
    const char *key, const char *host, const char *title, int64_t at);
int incidents_settle(struct incidents *, const char *rule, const char *key,
    const char *note, int64_t at);
/* The id of the active incident (rule, key), 0 if none. */
uint64_t incidents_active_id(struct incidents *, const char *rule,
    const char *key);
/* The store, for modules that keep a little state in its meta table. */
struct store *incidents_store(struct incidents *);
/* Deadline kinds of the incidents (see incidents_fire). */
#define INCIDENTS_DL_FLAP  DEADLINE_INCIDENT_FLAP
#define INCIDENTS_DL_QUIET DEADLINE_INCIDENT_QUIET
/* Use the daemon's deadline queue (for the ends of flapping). */
void incidents_set_deadlines(struct incidents *, struct deadlines *);
/* Arm the quiet expiry of open incidents of rules with "quiet:". */
struct ruleset;
void incidents_rearm_quiet(struct incidents *, const struct ruleset *);
/* Handle a due deadline of an incidents kind; 0 if the kind is not ours. */
int incidents_fire(struct incidents *, int kind, uint64_t id, time_t due);

/* Commit every pending change now (one transaction). */
int incidents_flush(struct incidents *);
/* Buckets of an index of up to max_open active incidents (a power of 2). */
size_t incidents_buckets(size_t max_open);
/* The bound of active incidents in force. */
size_t incidents_max_open(const struct incidents *);
/*
 * Commit one batch, as the commit timer does: what is written within
 * budget_us (incidents from the oldest, their history rows, then the
 * observers' rows); 1 when some is left for another batch, 0 when all is
 * stored, -1 on failure (the batch is kept for a retry).
 */
int incidents_flush_batch(struct incidents *, uint64_t budget_us);
/* Flush and close the store. */
void incidents_close(struct incidents *);

/* Lifecycle changes by people (API, sopctl); -1 with *err ("not found", ...). */
int incidents_ack(struct incidents *, uint64_t id, const char *actor,
    const char *note, char **err);
int incidents_resolve(struct incidents *, uint64_t id, const char *actor,
    const char *note, char **err);
int incidents_note(struct incidents *, uint64_t id, const char *actor,
    const char *note, char **err);
/*
 * Set what the client is told of an incident: impact, workaround
 * (NULL: unchanged, "": cleared) and expected recovery (eta seconds since
 * the epoch; -1 unchanged, 0 cleared).  Recorded as a "set" history row.
 */
int incidents_set_fields(struct incidents *, uint64_t id, const char *actor,
    const char *impact, const char *workaround, int64_t eta, char **err);
int incidents_assign(struct incidents *, uint64_t id, const char *actor,
    const char *owner, char **err);

/* Views: JSON documents for the API (caller decrefs); NULL if not found. */
json_t *incidents_list_json(struct incidents *, const struct incident_filter *);
json_t *incidents_get_json(struct incidents *, uint64_t id);
/*
 * GET /api/v1/incidents/{id}/report: what the client is given: the
 * incident's fields, its timeline (every history row), its notes and its
 * recent events; NULL if not found.  The text form renders that document.
 */
json_t *incidents_report_json(struct incidents *, uint64_t id);
char *incidents_report_text(const json_t *report);
/* Counts of active incidents per severity, plus totals, for stats. */
json_t *incidents_stats_json(struct incidents *);
size_t incidents_active_count(struct incidents *);

/*
 * Iteration for the SNMP agent (additive, issue 4): the agent keeps a
 * sorted snapshot of the active incidents and rebuilds it only when
 * incidents_version changed, so a walk of 10,000 rows stays fast.
 */
struct incident_info {
	uint64_t id;
	int severity;	   /* enum sop_severity */
	int state;	   /* enum incident_state */
	const char *level; /* "L1".."L3" */
	const char *host, *rule, *title, *key,
	    *in_window; /* in_window may be NULL */
	uint64_t count;
	int64_t first_seen_us, last_seen_us, next_escalation_us; /* 0: none */
	int next_step;		       /* escalation step due next, -1: none */
	const char *next_level;	       /* its level, NULL: none */
	const char *owner;	       /* who acknowledged, NULL: nobody */
	const char *note;	       /* hooks: the change's note, else NULL */
	int64_t acked_us, resolved_us; /* 0: not (yet) */
	const char *cause;	/* trap OID or "program msgid"; may be NULL */
	const char *impact;	/* for the client; NULL: not said */
	const char *workaround; /* NULL: not said */
	int64_t eta_us;		/* expected recovery, 0: not said */
	const char *last_note;	/* the latest note given, NULL: none */
	const char *last_event; /* the latest event's text, or NULL */
};
/* Call cb for every active (open or acknowledged) incident, in id order. */
void incidents_foreach_active(struct incidents *,
    void (*cb)(const struct incident_info *, void *), void *);
/* A number that changes whenever any active incident changes. */
uint64_t incidents_version(struct incidents *);
/* When the active incidents last changed, in microseconds. */
int64_t incidents_changed_us(struct incidents *);

/*
 * Observers' hooks (the escalator's, replay's): change is called after an
 * incident opened, was acknowledged or resolved, or a flapping incident
 * counted a cycle (in memory, before the commit); write runs inside every
 * commit's transaction (-1 aborts it); written runs after each successful
 * commit. Observers are called in the order they were added.
 */
enum incident_change {
	INC_CHANGE_OPEN,
	INC_CHANGE_ACK,
	INC_CHANGE_RESOLVE,
	INC_CHANGE_FLAP
};
struct incident_hooks {
	void (*change)(const struct incident_info *, enum incident_change,
	    void *);
	/*
	 * Inside a commit, once every incident is written: write until the
	 * deadline (stats_mono_us, 0: none); 0 all written, 1 rows left for
	 * the next batch, -1 error. written() follows the commit, for what
	 * that write covered.
	 */
	int (*write)(struct store *, void *, uint64_t until_us);
	void (*written)(void *);
};
#define INC_HOOKS_MAX 4 /* observers at once */
/* Add an observer, or remove the one added with the same hooks and arg. */
void incidents_add_hooks(struct incidents *, const struct incident_hooks *,
    void *arg);
void incidents_remove_hooks(struct incidents *, const struct incident_hooks *,
    void *arg);
/* What the escalator sets on an active incident. */
struct incident_esc {
	const char *level;	 /* NULL: unchanged */
	int64_t next_escalation; /* 0: none */
	int next_step;		 /* -1: none */
	const char *next_level;	 /* NULL: none */
	const char *in_window;	 /* NULL: none */
	const char *action;	 /* history row when not NULL */
	const char *note;
	int64_t at;
};
/* Set an active incident's escalation fields; -1 if it is not active. */
int incidents_set_escalation(struct incidents *, uint64_t id,
    const struct incident_esc *);
/* An active incident's fields (valid until it changes); -1 if none. */
int incidents_info(struct incidents *, uint64_t id, struct incident_info *);
/* Ask for a commit soon although no incident changed. */
void incidents_want_commit(struct incidents *);

#endif
