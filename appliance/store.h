/* store.h: the SQLite file that keeps incidents and their history. */
#ifndef SOPD_STORE_H
#define SOPD_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_FILE   "sopd.db"
#define STORE_APP_ID 0x534f5044 /* "SOPD" */

struct store;

/*
 * One incident row. Times are seconds since the epoch, 0 for NULL; strings
 * may be NULL. Rows handed to callbacks are valid during the call only.
 */
struct store_incident {
	uint64_t id;
	const char *rule;
	const char *rule_file;
	int rule_line;
	const char *key;
	const char *severity; /* "critical" .. "info" */
	const char *state;    /* "open", "acknowledged", ... */
	const char *level;    /* "L1" .. "L3" */
	const char *host;
	const char *title;
	uint64_t count;
	int64_t first_seen;
	int64_t last_seen;
	int64_t resolved_at;
	int64_t acked_at;
	const char *owner;
	int64_t next_escalation;
	const char *in_window;
	const char *samples; /* JSON array text */
	const char *impact;  /* for the client; NULL: not said */
	const char *workaround;
	int64_t eta;	       /* expected recovery, 0: not said */
	const char *last_note; /* the latest note given */
};

/* One history row of an incident. */
struct store_history {
	uint64_t incident_id;
	int64_t at;
	const char *actor;
	const char *action; /* "open", "ack", "resolve", "note" */
	const char *from_state;
	const char *to_state;
	const char *note;
};

/* Filters of a list query; NULL / -1 mean any. */
struct store_filter {
	const char *state;
	int active; /* 1: open or acknowledged */
	const char *severity;
	const char *host; /* fnmatch(3) pattern */
	const char *rule;
	size_t limit;
	size_t offset;
	int triage;	  /* 1: unacked criticals, severity, age */
	const char *text; /* in title, host or rule, any case */
};

typedef int (*store_incident_cb)(const struct store_incident *, void *);
typedef int (*store_history_cb)(const struct store_history *, void *);

/*
 * Open (creating dir and file) dir/sopd.db, check it, quarantine it when
 * damaged and migrate its schema. synchronous is "normal" or "full".
 */
struct store *store_open(const char *dir, const char *synchronous,
    char **cause);
void store_close(struct store *);
const char *store_path(const struct store *);
/* The current schema version written by this code. */
int store_schema_version(void);

/*
 * A store that keeps no incidents (a replay's, thrown away at the end):
 * from then on incident, history and escalation rows are not written (the
 * calls succeed and do nothing), so reads find none of them; every other
 * table is kept as usual. It cannot be turned back.
 */
void store_set_no_incidents(struct store *);
int store_keeps_incidents(const struct store *);

/* Write transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). */
int store_begin(struct store *);
int store_commit(struct store *);
void store_rollback(struct store *);
/* Insert or update one incident row; 1 on a constraint error. */
int store_put_incident(struct store *, const struct store_incident *);
int store_update_incident(struct store *, const struct store_incident *);
/* Append one history row; 1 on a constraint error (unknown incident). */
int store_add_history(struct store *, const struct store_history *);
int store_add_histories(struct store *, const struct store_history *, size_t);
int store_set_meta(struct store *, const char *name, int64_t value);
/* Read a meta value; 0 with *value set, 1 when absent, -1 on error. */
int store_get_meta(struct store *, const char *name, int64_t *value);
/* The largest incident id, 0 when there is none. */
int64_t store_max_id(struct store *);
/* Run a WAL checkpoint: passive, or truncate (when idle). */
int store_checkpoint(struct store *, int truncate);
/*
 * Whether the WAL has grown enough since the last checkpoint for one to be
 * due (run it with store_checkpoint in a turn of its own).
 */
int store_checkpoint_due(const struct store *);

/* Call cb for every open or acknowledged incident, in id order. */
int store_load_active(struct store *, store_incident_cb, void *);
/* Call cb for the matching incidents, newest first, and count them all. */
int store_list(struct store *, const struct store_filter *, store_incident_cb,
    void *, size_t *total);
/* Call cb for one incident; 0 found, 1 not found, -1 error. */
int store_get(struct store *, uint64_t id, store_incident_cb, void *);
/* Set a stored incident's impact, workaround and eta; 1 if none. */
int store_set_client(struct store *, uint64_t id, const char *impact,
    const char *workaround, int64_t eta);
/* Call cb for an incident's history rows, oldest first. */
int store_history(struct store *, uint64_t id, store_history_cb, void *);

/*
 * Escalation (additive, issue 3): one row per (incident, step) with its
 * absolute due time and, once it fired, when; step -1 keeps the time the
 * incident's escalation clock started (in due).
 */
struct store_esc {
	uint64_t incident_id;
	int step;
	int64_t due;	  /* 0: none */
	int64_t fired_at; /* 0: pending */
	const char *level;
};
/* One window occurrence and what happened in it (record: JSON text). */
struct store_winlog {
	const char *window_id;
	int64_t start;
	int64_t end;
	int ended;
	const char *record;
};
typedef int (*store_esc_cb)(const struct store_esc *, void *);
typedef int (*store_window_cb)(const char *id, const char *doc, void *);
typedef int (*store_winlog_cb)(const struct store_winlog *, void *);

/* Insert or update a step row; a fired_at once set is never cleared. */
int store_put_esc(struct store *, const struct store_esc *);
int store_put_escs(struct store *, const struct store_esc *, size_t);
/* Call cb for the escalation rows of every active incident. */
int store_load_esc(struct store *, store_esc_cb, void *);
/* How many steps of an incident fired (step rows, not the clock). */
int store_count_fired(struct store *, uint64_t id);
/* One reload's audit row: what it changed (doc: JSON text). */
struct store_audit {
	uint64_t id;
	int64_t at;
	unsigned generation;
	const char *summary;
	const char *doc;
};
typedef int (*store_audit_cb)(const struct store_audit *, void *);
/* Append one audit row (id set by the store), keeping the newest keep. */
int store_put_audit(struct store *, const struct store_audit *, size_t keep);
/* The newest audit rows, newest first. */
int store_load_audit(struct store *, size_t limit, store_audit_cb, void *);
/* API-created windows: definition as JSON text. */
int store_put_window(struct store *, const char *id, const char *doc);
int store_load_windows(struct store *, store_window_cb, void *);
/* Window occurrences. */
int store_put_winlog(struct store *, const struct store_winlog *);
int store_load_winlog(struct store *, const char *id, size_t limit,
    store_winlog_cb, void *);

/*
 * A commit hook (additive, for rows written in batches with the incidents'
 * commits): write runs inside every transaction just before its COMMIT
 * (-1 fails the commit, the caller rolls back), written after a COMMIT
 * that succeeded.  One hook per store; NULLs clear it.
 */
typedef int (*store_write_cb)(struct store *, void *);
typedef void (*store_written_cb)(void *);
void store_set_commit_hook(struct store *, store_write_cb, store_written_cb,
    void *arg);

/* When silent-host rules last heard from a host (the silent_hosts table). */
typedef int (*store_silent_cb)(const char *rule, const char *host,
    int64_t last_heard, void *);
int store_put_silent(struct store *, const char *rule, const char *host,
    int64_t last_heard);
/* Keep only the keep most recently heard rows. */
int store_trim_silent(struct store *, size_t keep);
/* Call cb for every row, most recently heard first (cb != 0 stops). */
int store_load_silent(struct store *, store_silent_cb, void *);

/*
 * The notifier's outbox (additive): one row per notice and target until it
 * is delivered; state "pending" or "failed" (gave up, kept for stats).
 */
struct store_outbox {
	int64_t id;
	const char *target;
	const char *idem_key;
	const char *notice; /* JSON text */
	int attempts;
	int64_t next_try;
	int64_t created;
	const char *state;
};
typedef int (*store_outbox_cb)(const struct store_outbox *, void *);
/* Insert a pending row (an existing one with its key is made pending). */
int store_outbox_put(struct store *, const struct store_outbox *);
/* Delete the row of (target, idem_key). */
int store_outbox_del(struct store *, const char *target, const char *idem);
/* Set attempts, next_try and state of the row of (target, idem_key). */
int store_outbox_set(struct store *, const struct store_outbox *);
/* Keep only the newest keep failed rows. */
int store_outbox_trim(struct store *, size_t keep);
/* Call cb for the pending rows, oldest first (cb != 0 stops). */
int store_outbox_load(struct store *, store_outbox_cb, void *);

/*
 * Read-only aggregate queries (additive, for reports): run one SELECT with
 * parameters ?1.. (text when text is not NULL, else num) and call cb per
 * row (cb != 0 stops).  A statement that would write is refused, and one
 * that runs longer than STORE_QUERY_MAX_OPS virtual machine steps is
 * interrupted (-1), so a view's read on the event loop stays bounded.
 */
#define STORE_QUERY_COLS    16
#define STORE_QUERY_MAX_OPS 200000000LL
struct store_param {
	const char *text;
	int64_t num;
};
struct store_qrow {
	int ncol;
	int64_t num[STORE_QUERY_COLS]; /* 0 for NULL */
	double real[STORE_QUERY_COLS];
	const char *text[STORE_QUERY_COLS]; /* NULL for NULL */
};
typedef int (*store_qrow_cb)(const struct store_qrow *, void *);
int store_query(struct store *, const char *sql, const struct store_param *,
    size_t nparam, store_qrow_cb, void *);

/*
 * One writing statement (the scheduler's runs and stored reports), with
 * parameters as for store_query; the inserted rowid (0: none) or -1.
 */
int64_t store_write(struct store *, const char *sql, const struct store_param *,
    size_t nparam);

/*
 * Retention: delete up to limit resolved incidents (history, events,
 * escalation steps), ended window records, stored reports and schedule
 * runs older than `before` (Unix seconds); rows deleted or -1.  Then give up to `pages` free pages back
 * to the file system; the free pages left or -1.
 */
int store_prune(struct store *, int64_t before, int limit);
int64_t store_vacuum_step(struct store *, int pages);

/* Online backup into a new file, a bounded number of pages per step. */
struct store_backup;
struct store_backup *store_backup_start(struct store *, const char *path,
    char **cause);
/* 1 when complete, 0 when there is more, -1 with a cause. */
int store_backup_step(struct store_backup *, int pages, char **cause);
void store_backup_free(struct store_backup *);

/*
 * Polled host metrics (additive): every sample is folded into a 5-minute
 * row and an hourly row (sum, count, min, max) as it is written.
 */
#define STORE_METRIC_5M 300
#define STORE_METRIC_1H 3600
struct store_metric {
	const char *host;
	const char *metric; /* "cpu.load_pct", "disk.used_pct", ... */
	const char *inst;   /* file system, interface; NULL: none */
	int64_t at;	    /* seconds since the epoch */
	double value;
};
/* Write the samples of one poll (one transaction). */
int store_put_metrics(struct store *, const struct store_metric *, size_t);
/* Delete at most max expired rows; how many were deleted, or -1. */
int store_prune_metrics(struct store *, int64_t keep5m, int64_t keep1h,
    size_t max);

/* The last SQLite error message of the connection. */
const char *store_error(const struct store *);
/*
 * PRAGMA integrity_check within budget_ms: 1 sound, 0 damaged (first
 * problem in *result, to free), -1 interrupted or failed.
 */
int store_integrity(struct store *, int budget_ms, char **result);
/*
 * The same in a process of its own (sopd --integrity-check FILE): prints
 * "ok" or the first problem; 0 sound, 1 damaged, 2 not checked.
 */
int store_integrity_main(const char *path);
/* Whether the last error was a lock held by another connection. */
int store_busy(const struct store *);

/*
 * Hashes of RELP messages committed lately, to know a resend after a
 * restart: put remembers n numbered from seq (in their own transaction)
 * and keeps the last keep; load calls cb for the last max, oldest first.
 */
int store_relp_seen_put(struct store *, int64_t seq, const uint64_t *hash,
    size_t n, size_t keep);
int store_relp_seen_load(struct store *, size_t max,
    void (*)(int64_t, uint64_t, void *), void *);

#endif
