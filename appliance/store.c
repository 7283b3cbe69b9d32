/*
 * store.c: the SQLite file (<state_dir>/sopd.db) that keeps incidents.
 *
 * One connection, used only from the event loop's thread, does every write
 * and every checkpoint. The file is in WAL mode; the incident module batches
 * the changes of one loop turn (at most commit_interval_ms, default 100 ms)
 * into one BEGIN IMMEDIATE transaction, and commits people's actions (ack,
 * resolve, note) before it answers them.
 *
 * What a crash can lose:
 * - kill -9 or a crash of sopd: every committed transaction survives; the
 *   events of the last commit interval (up to commit_interval_ms) that were
 *   not yet committed are lost (counts, samples, incidents opened in that
 *   interval). Acknowledged actions of people are never lost.
 * - power loss or an OS crash with synchronous=normal: in addition, the
 *   transactions committed since the last WAL sync may roll back; the
 *   passive checkpoint every few seconds syncs the WAL, so this is at most
 *   about one checkpoint interval (5 s). With synchronous=full every commit
 *   is synced and nothing committed is lost, if the disk honours flushes.
 *
 * Another process holding the write lock (a sqlite3 shell in a transaction,
 * a backup) never stalls the loop: once open, the connection waits at most
 * STORE_LOOP_BUSY_MS for a lock; a busy commit keeps its batch and is
 * retried on a timer (counted as store.busy_retries), and RELP acks and
 * inform answers wait for the commit that finally succeeds.
 *
 * A WAL file is replayed into whatever database it lies next to. So that a
 * WAL from another database (copied in with a restore, or left by another
 * file of the same name) is not replayed, sopd records the salts of its WAL's
 * header (which SQLite draws anew each time it restarts the WAL) in
 * sopd.db-walsalt after every commit that changed them, before the commit is
 * acknowledged; at start a WAL whose salts differ from the record is moved
 * aside (sopd.db-wal.foreign-<UTC time>, with the -shm) with a warning.
 *
 * At start a damaged file (PRAGMA quick_check fails, or it is no database)
 * is renamed aside as sopd.db.corrupt-<UTC time> and an empty one is made.
 */
#include "store.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "xmalloc.h"

#define STORE_BUSY_MS	    2000 /* while opening, before the loop runs */
#define STORE_LOOP_BUSY_MS  5	 /* afterwards: the loop never waits longer */
#define STORE_WAL_CKPT	    250	 /* pages: a checkpoint is due */
#define STORE_WAL_FORCE	    4000 /* pages: checkpoint within the commit */
#define STORE_JOURNAL_LIMIT (4 * 1024 * 1024)

/* Statements kept prepared, by the address of their SQL text. */
#define STORE_STMT_CACHE 48

/* Rows written by one statement of store_put_escs, store_add_histories. */
#define STORE_ROWS_MAX 4

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *put;
	sqlite3_stmt *hist;
	sqlite3_stmt *meta_set;
	sqlite3_stmt *meta_get;
	sqlite3_stmt *silent_put;    /* prepared on first use */
	sqlite3_stmt *metric_put[2]; /* prepared on first use */
	store_write_cb hook_write;
	store_written_cb hook_written;
	void *hook_arg;
	struct store_cached {
		const char *sql; /* the caller's text, by address */
		sqlite3_stmt *stmt;
		int busy; /* handed out, not yet released */
	} cache[STORE_STMT_CACHE];
	size_t ncache;
	unsigned char wal_salt[8]; /* the WAL's salts, as last recorded */
	int wal_known;
	int sync_full;	  /* synchronous=full: the record synced */
	int no_incidents; /* incident, history, escalation rows not written */
	int ckpt_due;	  /* the WAL passed STORE_WAL_CKPT pages */
};

/* Schema migrations: entry i moves a file from version i to i + 1. */
static const char *store_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	");"
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  rule TEXT NOT NULL,"
	"  rule_file TEXT,"
	"  rule_line INTEGER,"
	"  key TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  level TEXT NOT NULL DEFAULT 'L1',"
	"  host TEXT,"
	"  title TEXT,"
	"  count INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  resolved_at INTEGER,"
	"  acked_at INTEGER,"
	"  owner TEXT,"
	"  next_escalation INTEGER,"
	"  in_window TEXT,"
	"  samples TEXT"
	");"
	"CREATE INDEX incidents_state ON incidents (state);"
	"CREATE INDEX incidents_rule_key ON incidents (rule, key);"
	"CREATE TABLE incident_history ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL"
	"    REFERENCES incidents (id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  from_state TEXT,"
	"  to_state TEXT,"
	"  note TEXT"
	");"
	"CREATE INDEX incident_history_incident"
	"  ON incident_history (incident_id);"
	"INSERT INTO meta (name, value) VALUES ('next_id', 1);",
	/*
	 * 1 -> 2: escalation steps (step -1 keeps the clock's start in due),
	 * windows created through the API, and what happened in each window
	 * occurrence.
	 */
	"CREATE TABLE escalation ("
	"  incident_id INTEGER NOT NULL,"
	"  step INTEGER NOT NULL,"
	"  due INTEGER,"
	"  fired_at INTEGER,"
	"  level TEXT,"
	"  PRIMARY KEY (incident_id, step)"
	");"
	"CREATE TABLE windows ("
	"  id TEXT PRIMARY KEY,"
	"  doc TEXT NOT NULL"
	");"
	"CREATE TABLE window_log ("
	"  window_id TEXT NOT NULL,"
	"  start INTEGER NOT NULL,"
	"  end INTEGER NOT NULL,"
	"  ended INTEGER NOT NULL DEFAULT 0,"
	"  record TEXT,"
	"  PRIMARY KEY (window_id, start)"
	");",
	/*
	 * 2 -> 3: the notifier's outbox (one row per notice and target until
	 * it is delivered; state 'failed' once it gave up) and the hosts the
	 * silent-host rules last heard from.
	 */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  target TEXT NOT NULL,"
	"  idem_key TEXT NOT NULL,"
	"  notice TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  UNIQUE (target, idem_key)"
	");"
	"CREATE INDEX outbox_state ON outbox (state, id);"
	"CREATE TABLE silent_hosts ("
	"  rule TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  last_heard INTEGER NOT NULL,"
	"  PRIMARY KEY (rule, host)"
	");",
	/*
	 * 3 -> 4: retention finds the oldest resolved incidents and ended
	 * window records without a scan.
	 */
	"CREATE INDEX incidents_resolved ON incidents (resolved_at)"
	"  WHERE resolved_at IS NOT NULL;"
	"CREATE INDEX window_log_end ON window_log (\"end\");",
	/*
	 * 4 -> 5: polled host metrics, rolled up as they are written: one
	 * row per (host, metric, instance) and 5-minute bucket (kept 8 days),
	 * and per hour (kept 400 days), each with sum, count, min and max.
	 */
	"CREATE TABLE metric_5m ("
	"  host TEXT NOT NULL,"
	"  metric TEXT NOT NULL,"
	"  inst TEXT NOT NULL DEFAULT '',"
	"  at INTEGER NOT NULL,"
	"  sum REAL NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  min REAL NOT NULL,"
	"  max REAL NOT NULL,"
	"  UNIQUE (host, metric, inst, at)"
	");"
	"CREATE INDEX metric_5m_at ON metric_5m (at);"
	"CREATE TABLE metric_1h ("
	"  host TEXT NOT NULL,"
	"  metric TEXT NOT NULL,"
	"  inst TEXT NOT NULL DEFAULT '',"
	"  at INTEGER NOT NULL,"
	"  sum REAL NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  min REAL NOT NULL,"
	"  max REAL NOT NULL,"
	"  UNIQUE (host, metric, inst, at)"
	");"
	"CREATE INDEX metric_1h_at ON metric_1h (at);",
	/*
	 * 5 -> 6: each run of a scheduled job (scheduled time, when it ran,
	 * outcome) and the reports the jobs made, as they were made.
	 */
	"CREATE TABLE schedule_runs ("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL,"
	"  scheduled INTEGER NOT NULL,"
	"  ran_at INTEGER NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  detail TEXT,"
	"  report_id INTEGER,"
	"  UNIQUE (job, scheduled)"
	");"
	"CREATE TABLE reports ("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  made_at INTEGER NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  doc TEXT NOT NULL"
	");"
	"CREATE INDEX reports_made ON reports (made_at);",
	/*
	 * 6 -> 7: what the client is told of an incident (impact, workaround,
	 * expected recovery) and its latest note.
	 */
	"ALTER TABLE incidents ADD COLUMN impact TEXT;"
	"ALTER TABLE incidents ADD COLUMN workaround TEXT;"
	"ALTER TABLE incidents ADD COLUMN eta INTEGER;"
	"ALTER TABLE incidents ADD COLUMN last_note TEXT;",
	/*
	 * 7 -> 8: the reload audit (SOP 5.2): what each reload changed.
	 */
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  generation INTEGER NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  doc TEXT NOT NULL"
	");",
	/* 8 -> 9: RELP messages committed lately (hash of sender and bytes). */
	"CREATE TABLE relp_seen ("
	"  seq INTEGER PRIMARY KEY,"
	"  hash INTEGER NOT NULL"
	");",
	/*
	 * 9 -> 10: the failure incidents of an expectation's failed day
	 * (deadline day) that a successful re-run resolves, kept across
	 * restarts: at most a few per (rule, host), dropped after some days.
	 */
	"CREATE TABLE expect_fail ("
	"  rule TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  day INTEGER NOT NULL,"
	"  fail_rule TEXT NOT NULL,"
	"  fail_key TEXT NOT NULL,"
	"  PRIMARY KEY (rule, host, fail_rule, fail_key)"
	");",
	/*
	 * 10 -> 11: every incident notice sent, per incident (idem_key), with
	 * its targets and outcome; it goes with its incident (retention).
	 */
	"CREATE TABLE notice_log ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL,"
	"  idem_key TEXT NOT NULL UNIQUE,"
	"  at INTEGER NOT NULL,"
	"  notification TEXT NOT NULL,"
	"  level TEXT NOT NULL,"
	"  targets TEXT NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  nlog_index INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX notice_log_incident ON notice_log (incident_id, at);"
	"CREATE TRIGGER notice_log_gone AFTER DELETE ON incidents BEGIN"
	"  DELETE FROM notice_log WHERE incident_id = old.id;"
	"END;",
	/*
	 * 11 -> 12: errors and warnings each host logged per hour (the server
	 * check's last 24 hours), and when it was last heard in that hour.
	 */
	"CREATE TABLE host_hours ("
	"  host TEXT NOT NULL,"
	"  hour INTEGER NOT NULL,"
	"  err INTEGER NOT NULL,"
	"  warn INTEGER NOT NULL,"
	"  last INTEGER NOT NULL,"
	"  PRIMARY KEY (host, hour)"
	");"
	"CREATE INDEX host_hours_hour ON host_hours (hour);",
};
#define STORE_VERSION \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

#define STORE_COLS                                                            \
	"id, rule, rule_file, rule_line, key, severity, state, level, host, " \
	"title, count, first_seen, last_seen, resolved_at, acked_at, owner, " \
	"next_escalation, in_window, samples, impact, workaround, eta, "      \
	"last_note"

static const char store_put_sql[] =
    "INSERT INTO incidents (" STORE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
    "?20, ?21, ?22, ?23) "
    "ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, "
    "rule_file = excluded.rule_file, rule_line = excluded.rule_line, "
    "key = excluded.key, severity = excluded.severity, "
    "state = excluded.state, level = excluded.level, "
    "host = excluded.host, title = excluded.title, "
    "count = excluded.count, first_seen = excluded.first_seen, "
    "last_seen = excluded.last_seen, resolved_at = excluded.resolved_at, "
    "acked_at = excluded.acked_at, owner = excluded.owner, "
    "next_escalation = excluded.next_escalation, "
    "in_window = excluded.in_window, impact = excluded.impact, "
    "workaround = excluded.workaround, eta = excluded.eta, "
    "last_note = excluded.last_note, "
    "samples = coalesce(excluded.samples, incidents.samples)";

static const char store_hist_sql[] =
    "INSERT INTO incident_history (incident_id, at, actor, action, "
    "from_state, to_state, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/* The schema version this code writes. */
int
store_schema_version(void)
{
	return STORE_VERSION;
}

/* The file's path. */
const char *
store_path(const struct store *st)
{
	return st->path;
}

/* The connection's last error message. */
const char *
store_error(const struct store *st)
{
	return st->db != NULL ? sqlite3_errmsg(st->db) : "no database";
}

/* The monotonic clock in milliseconds. */
static int64_t
store_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Progress handler: interrupt the statement past its deadline. */
static int
store_deadline_cb(void *arg)
{
	const int64_t *deadline = arg;

	return store_mono_ms() > *deadline;
}

/*
 * Run PRAGMA integrity_check on a connection for at most budget_ms (0: no
 * limit): 1 sound, 0 damaged (the first problem in *result), -1
 * interrupted or failed.
 */
static int
store_integrity_db(sqlite3 *db, int budget_ms, char **result)
{
	sqlite3_stmt *stmt;
	const char *text;
	int64_t deadline;
	int rc, ok = 1;

	*result = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &stmt,
		NULL) != SQLITE_OK)
		return -1;
	deadline = store_mono_ms() + budget_ms;
	if (budget_ms > 0)
		sqlite3_progress_handler(db, 1000, store_deadline_cb,
		    &deadline);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(stmt, 0);
		if (text != NULL && strcmp(text, "ok") == 0)
			continue;
		ok = 0;
		if (*result == NULL)
			*result = xstrdup(text != NULL ? text : "?");
	}
	sqlite3_finalize(stmt);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	if (rc != SQLITE_DONE) {
		free(*result);
		*result = NULL;
		return -1;
	}
	return ok;
}

/* The same on the store's connection, in the loop (replay, tests). */
int
store_integrity(struct store *st, int budget_ms, char **result)
{
	return store_integrity_db(st->db, budget_ms, result);
}

/*
 * sopd --integrity-check FILE: the full check in a process of its own, on
 * a read-only connection of its own, with no time limit (the daemon runs
 * it so, and its loop goes on meanwhile). Prints "ok" or the first problem
 * found; exits 0 sound, 1 damaged, 2 when the check could not run.
 */
int
store_integrity_main(const char *path)
{
	sqlite3 *db = NULL;
	char *problem = NULL;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		printf("cannot open %s: %s\n", path,
		    db != NULL ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return 2;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	rc = store_integrity_db(db, 0, &problem);
	if (rc == 1)
		printf("ok\n");
	else if (rc == 0)
		printf("%s\n", problem != NULL ? problem : "?");
	else
		printf("check failed: %s\n", sqlite3_errmsg(db));
	free(problem);
	sqlite3_close(db);
	return rc == 1 ? 0 : rc == 0 ? 1 : 2;
}

/* Whether the last error was another connection's lock (try again later). */
int
store_busy(const struct store *st)
{
	int rc;

	if (st->db == NULL)
		return 0;
	rc = sqlite3_errcode(st->db);
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* Route SQLite's own log into ours. */
static void
store_log_cb(void *arg, int code, const char *msg)
{
	if ((code & 0xff) == SQLITE_WARNING || code == SQLITE_NOTICE)
		log_debugs(LOG_SYS_STORE, "sqlite: %s", msg);
	else if ((code & 0xff) != SQLITE_SCHEMA)
		log_warnx("sqlite (%d): %s", code, msg);
}

/*
 * SQL function fnmatch(pattern, string): 1 when the glob matches, ignoring
 * case as rules do when they match hosts.
 */
static void
store_fnmatch_cb(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *pat, *s;

	pat = sqlite3_value_text(argv[0]);
	s = sqlite3_value_text(argv[1]);
	if (pat == NULL || s == NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	sqlite3_result_int(ctx,
	    fnmatch((const char *)pat, (const char *)s, FNM_CASEFOLD) == 0);
}

/* Run SQL without results; -1 with *cause on failure. */
static int
store_exec(sqlite3 *db, const char *sql, char **cause)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	if (cause != NULL)
		xasprintf(cause, "%s", msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/* Read one integer from a one-row query, -1 on error. */
static int
store_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Create the state directory (and its parents) with mode 0750. */
static int
store_mkdir(const char *dir, char **cause)
{
	char *p, *s;

	p = xstrdup(dir);
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) == -1 && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(p, 0750) == -1 && errno != EEXIST)
		goto fail;
	free(p);
	return 0;
fail:
	xasprintf(cause, "mkdir %s: %s", p, strerror(errno));
	free(p);
	return -1;
}

/*
 * Whether the file is sound: 1 yes, 0 damaged (quick_check fails or it is
 * no database), -1 another error (in *cause).
 */
static int
store_check(sqlite3 *db, char **cause)
{
	sqlite3_stmt *stmt;
	const char *res;
	int rc, ok;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &stmt, NULL);
	if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
		return 0;
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		res = (const char *)sqlite3_column_text(stmt, 0);
		ok = res != NULL && strcmp(res, "ok") == 0;
		if (!ok)
			log_warnx("quick_check: %s", res != NULL ? res : "?");
		sqlite3_finalize(stmt);
		return ok;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
		return 0;
fail:
	xasprintf(cause, "quick_check: %s", sqlite3_errmsg(db));
	return -1;
}

/* Rename a damaged file (and its WAL and shm) aside with a UTC time. */
static int
store_quarantine(const char *path, char **cause)
{
	static const char *sfx[] = { "", "-wal", "-shm" };
	char stamp[32], from[4096], to[4200];
	struct tm tm;
	time_t now;
	size_t i;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%s%s", path, stamp,
		    sfx[i]);
		if (rename(from, to) == -1 && errno != ENOENT) {
			xasprintf(cause, "rename %s: %s", from,
			    strerror(errno));
			return -1;
		}
	}
	log_warnx("%s is damaged: moved aside as %s.corrupt-%s, starting "
		  "with an empty store",
	    path, path, stamp);
	return 0;
}

/*
 * Read the salts of the WAL next to path: 1 read, 0 no WAL header. With
 * writeback, also start writing the WAL's dirty pages to the disk without
 * waiting (sync_file_range): a checkpoint's sync of the WAL, which holds
 * the loop, then finds little left to write. It promises nothing: what a
 * crash may take is as before.
 */
static int
store_wal_salt(const char *path, unsigned char salt[8], int writeback)
{
	unsigned char hdr[32];
	char wal[4096];
	uint32_t magic;
	int fd;
	ssize_t n;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((fd = open(wal, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return 0;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (writeback)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	close(fd);
	if (n != (ssize_t)sizeof(hdr))
		return 0;
	magic = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	if (magic != 0x377f0682 && magic != 0x377f0683)
		return 0;
	memcpy(salt, hdr + 16, 8);
	return 1;
}

/* Read the recorded salts: 1 read, 0 no record. */
static int
store_wal_record_read(const char *path, unsigned char salt[8])
{
	char rec[4096], text[32];
	FILE *f;
	int ok, i;
	unsigned v;

	snprintf(rec, sizeof(rec), "%s-walsalt", path);
	if ((f = fopen(rec, "re")) == NULL)
		return 0;
	ok = fgets(text, sizeof(text), f) != NULL && strlen(text) >= 16;
	fclose(f);
	for (i = 0; ok && i < 8; i++) {
		ok = sscanf(text + 2 * i, "%2x", &v) == 1;
		salt[i] = (unsigned char)v;
	}
	return ok;
}

/* Sync the directory holding path (a rename in it lasts). */
static int
store_sync_dir(const char *path)
{
	char dir[4096], *slash;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Record the WAL's salts (through a temporary file, synced if asked). */
static int
store_wal_record(struct store *st, const unsigned char salt[8])
{
	char rec[4096], tmp[4200];
	int fd, i, ok;
	char text[18];

	for (i = 0; i < 8; i++)
		snprintf(text + 2 * i, 3, "%02x", salt[i]);
	text[16] = '\n';
	snprintf(rec, sizeof(rec), "%s-walsalt", st->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", rec);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) ==
	    -1)
		return -1;
	ok = write(fd, text, 17) == 17 && (!st->sync_full || fsync(fd) == 0);
	close(fd);
	if (!ok || rename(tmp, rec) == -1) {
		unlink(tmp);
		return -1;
	}
	if (st->sync_full && store_sync_dir(rec) == -1)
		return -1;
	memcpy(st->wal_salt, salt, 8);
	st->wal_known = 1;
	return 0;
}

/* After a commit: record the WAL's salts if SQLite restarted it. */
static void
store_wal_note(struct store *st)
{
	unsigned char salt[8];

	if (store_wal_salt(st->path, salt, 1) != 1 ||
	    (st->wal_known && memcmp(salt, st->wal_salt, 8) == 0))
		return;
	if (store_wal_record(st, salt) == -1)
		log_warn("%s-walsalt", st->path);
}

/*
 * SQLite calls this after every commit (explicit or not) of the connection,
 * before the commit returns: the salts are recorded before anything is
 * acknowledged. It replaces the automatic checkpoint: from STORE_WAL_CKPT
 * pages on one is due, which the owner runs in a turn of the loop of its
 * own (store_checkpoint_due), so that a commit does not hold the loop for
 * the checkpoint's syncs too; only a WAL that still grew past
 * STORE_WAL_FORCE pages is checkpointed here, as SQLite would (passive).
 */
static int
store_wal_hook_cb(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;

	store_wal_note(st);
	st->ckpt_due = pages >= STORE_WAL_CKPT;
	if (pages >= STORE_WAL_FORCE) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
		st->ckpt_due = 0;
	}
	return SQLITE_OK;
}

/*
 * Before opening: a WAL whose salts are not the recorded ones belongs to
 * another database; move it (and the shm) aside. Without a record (first
 * start) the WAL is taken as ours.
 */
static int
store_wal_check(const char *path, char **cause)
{
	static const char *sfx[] = { "-wal", "-shm" };
	unsigned char salt[8], rec[8];
	char stamp[32], from[4096], to[4200];
	struct tm tm;
	time_t now;
	size_t i;

	if (store_wal_salt(path, salt, 0) != 1 ||
	    store_wal_record_read(path, rec) != 1 || memcmp(salt, rec, 8) == 0)
		return 0;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s%s.foreign-%s", path, sfx[i],
		    stamp);
		if (rename(from, to) == -1 && errno != ENOENT) {
			xasprintf(cause, "rename %s: %s", from,
			    strerror(errno));
			return -1;
		}
	}
	log_warnx("%s-wal belongs to another database (its salts are not the "
		  "ones sopd recorded): not replayed, moved aside as "
		  "%s-wal.foreign-%s",
	    path, path, stamp);
	return 0;
}

/* Open the file and check it; 0 when damaged (closed again), 1 when good. */
static int
store_open_file(struct store *st, char **cause)
{
	int rc, flags;

	flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "%s: %s", st->path,
		    st->db != NULL ? sqlite3_errmsg(st->db) :
				     sqlite3_errstr(rc));
		return -1;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(st->db, 0);
	rc = store_check(st->db, cause);
	if (rc != 1) {
		sqlite3_close(st->db);
		st->db = NULL;
	}
	return rc;
}

/* Set the connection's pragmas (WAL, synchronous, limits). */
static int
store_pragmas(struct store *st, const char *synchronous, char **cause)
{
	char sql[256];
	int64_t appid;
	const char *sync;
	sqlite3_stmt *stmt;
	int wal = 0, off;

	if (store_int(st->db, "PRAGMA application_id", &appid) == -1)
		goto fail;
	if (appid != 0 && appid != STORE_APP_ID) {
		xasprintf(cause,
		    "%s: not a sopd database (application_id "
		    "%lld)",
		    st->path, (long long)appid);
		return -1;
	}
	/*
	 * Replay's throw-away store (synchronous off, never the daemon's)
	 * need not survive a crash: no WAL, whose commits write each page
	 * twice; the rollback journal in memory (a failed statement or
	 * transaction is still undone) and the file locked for good.
	 */
	off = synchronous != NULL && strcasecmp(synchronous, "off") == 0;
	if (sqlite3_prepare_v2(st->db,
		off ? "PRAGMA journal_mode = MEMORY" :
		      "PRAGMA journal_mode = WAL",
		-1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		wal = strcmp((const char *)sqlite3_column_text(stmt, 0),
			  off ? "memory" : "wal") == 0;
	sqlite3_finalize(stmt);
	if (!wal) {
		xasprintf(cause, "%s: cannot switch to %s mode", st->path,
		    off ? "memory journal" : "WAL");
		return -1;
	}
	sync = "NORMAL";
	if (off) {
		sync = "OFF";
		if (store_exec(st->db, "PRAGMA locking_mode = EXCLUSIVE",
			cause) == -1)
			return -1;
	} else
		sqlite3_wal_hook(st->db, store_wal_hook_cb, st);
	if (synchronous != NULL && strcasecmp(synchronous, "full") == 0)
		sync = "FULL";
	snprintf(sql, sizeof(sql),
	    "PRAGMA synchronous = %s; "
	    "PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = %d;",
	    sync, STORE_JOURNAL_LIMIT);
	return store_exec(st->db, sql, cause);
fail:
	xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return -1;
}

/*
 * Pages freed by retention go back to the file system in steps
 * (incremental vacuum). A file without that setting (new, or made by an
 * older sopd) is rebuilt once, after its schema is known to be ours and
 * before anything is served: a VACUUM is what applies the setting to a
 * file that has a header already.
 */
static int
store_auto_vacuum(struct store *st, char **cause)
{
	int64_t mode, incidents;
	char *why = NULL;

	if (store_int(st->db, "PRAGMA auto_vacuum", &mode) == -1 ||
	    store_int(st->db, "SELECT COUNT(*) FROM incidents", &incidents) ==
		-1) {
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	if (mode == 2) /* INCREMENTAL */
		return 0;
	if (store_exec(st->db, "PRAGMA auto_vacuum = INCREMENTAL", &why) == 0) {
		if (incidents > 0)
			log_info("%s: rebuilding the file once for "
				 "incremental vacuum (%lld incidents)",
			    st->path, (long long)incidents);
		store_exec(st->db, "VACUUM", &why);
	}
	if (why != NULL) {
		xasprintf(cause, "%s: auto_vacuum: %s", st->path, why);
		free(why);
		return -1;
	}
	return 0;
}

/* Bring the schema up to date in one transaction. */
static int
store_migrate(struct store *st, char **cause)
{
	char sql[128], *why = NULL;
	int64_t version;
	int v;

	if (store_exec(st->db, "BEGIN IMMEDIATE", &why) == -1)
		goto fail;
	if (store_int(st->db, "PRAGMA user_version", &version) == -1) {
		why = xstrdup(sqlite3_errmsg(st->db));
		goto rollback;
	}
	if (version > STORE_VERSION) {
		xasprintf(&why, "schema version %lld is newer than %d",
		    (long long)version, STORE_VERSION);
		goto rollback;
	}
	for (v = (int)version; v < STORE_VERSION; v++) {
		if (store_exec(st->db, store_migrations[v], &why) == -1)
			goto rollback;
		log_info("%s: schema migrated to version %d", st->path, v + 1);
	}
	snprintf(sql, sizeof(sql),
	    "PRAGMA user_version = %d; "
	    "PRAGMA application_id = %d;",
	    STORE_VERSION, STORE_APP_ID);
	if (store_exec(st->db, sql, &why) == -1 ||
	    store_exec(st->db, "COMMIT", &why) == -1)
		goto rollback;
	return 0;
rollback:
	store_exec(st->db, "ROLLBACK", NULL);
fail:
	xasprintf(cause, "%s: migration: %s", st->path, why);
	free(why);
	return -1;
}

/* Prepare the statements used on every commit. */
static int
store_prepare(struct store *st, char **cause)
{
	if (sqlite3_prepare_v3(st->db, store_put_sql, -1,
		SQLITE_PREPARE_PERSISTENT, &st->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db, store_hist_sql, -1,
		SQLITE_PREPARE_PERSISTENT, &st->hist, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db,
		"INSERT INTO meta (name, value) "
		"VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET "
		"value = excluded.value",
		-1, SQLITE_PREPARE_PERSISTENT, &st->meta_set,
		NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db,
		"SELECT value FROM meta WHERE "
		"name = ?1",
		-1, SQLITE_PREPARE_PERSISTENT, &st->meta_get,
		NULL) != SQLITE_OK) {
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* Open, check, quarantine if damaged, and migrate the store. */
struct store *
store_open(const char *dir, const char *synchronous, char **cause)
{
	static int logging;
	struct store *st;
	int rc;

	if (!logging) {
		sqlite3_config(SQLITE_CONFIG_LOG, store_log_cb, NULL);
		/* No global memory counters: no mutex around each malloc. */
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		logging = 1;
	}
	if (dir == NULL || *dir == '\0') {
		xasprintf(cause, "no state directory");
		return NULL;
	}
	if (store_mkdir(dir, cause) == -1)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	xasprintf(&st->path, "%s/%s", dir, STORE_FILE);
	st->sync_full =
	    synchronous != NULL && strcasecmp(synchronous, "full") == 0;
	if (store_wal_check(st->path, cause) == -1)
		goto fail;
	rc = store_open_file(st, cause);
	if (rc == 0) {
		if (store_quarantine(st->path, cause) == -1)
			goto fail;
		rc = store_open_file(st, cause);
		if (rc == 0)
			xasprintf(cause, "%s: damaged after re-creation",
			    st->path);
	}
	if (rc != 1)
		goto fail;
	sqlite3_create_function(st->db, "fnmatch", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, store_fnmatch_cb, NULL,
	    NULL);
	if (store_pragmas(st, synchronous, cause) == -1 ||
	    store_migrate(st, cause) == -1 ||
	    store_auto_vacuum(st, cause) == -1 ||
	    store_prepare(st, cause) == -1)
		goto fail;
	sqlite3_busy_timeout(st->db, STORE_LOOP_BUSY_MS);
	return st;
fail:
	store_close(st);
	return NULL;
}

/* Finalize the statements and close the file. */
void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	sqlite3_finalize(st->put);
	sqlite3_finalize(st->hist);
	sqlite3_finalize(st->meta_set);
	sqlite3_finalize(st->meta_get);
	sqlite3_finalize(st->silent_put);
	for (i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_finalize(st->metric_put[0]);
	sqlite3_finalize(st->metric_put[1]);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("%s: close: %s", st->path, sqlite3_errmsg(st->db));
	free(st->path);
	free(st);
}

/* Start a write transaction. */
int
store_begin(struct store *st)
{
	return store_exec(st->db, "BEGIN IMMEDIATE", NULL);
}

/* Commit the write transaction, with the hook's rows. */
int
store_commit(struct store *st)
{
	if (st->hook_write != NULL && st->hook_write(st, st->hook_arg) == -1)
		return -1;
	if (store_exec(st->db, "COMMIT", NULL) == -1)
		return -1;
	if (st->hook_written != NULL)
		st->hook_written(st->hook_arg);
	return 0;
}

/* Set (or with NULLs clear) the commit hook. */
void
store_set_commit_hook(struct store *st, store_write_cb write,
    store_written_cb written, void *arg)
{
	st->hook_write = write;
	st->hook_written = written;
	st->hook_arg = arg;
}

/* Roll the write transaction back (if one is open). */
void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		store_exec(st->db, "ROLLBACK", NULL);
}

/* Bind a string or NULL. */
static void
store_bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

/* Bind a time, 0 as NULL. */
static void
store_bind_time(sqlite3_stmt *stmt, int i, int64_t t)
{
	if (t == 0)
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_int64(stmt, i, t);
}

/* Step a write statement once and reset it; 1 on a constraint error. */
static int
store_step_write(sqlite3_stmt *stmt)
{
	int rc;

	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT)
		return 1;
	return -1;
}

/* Keep no incident, history or escalation rows from now on. */
void
store_set_no_incidents(struct store *st)
{
	st->no_incidents = 1;
}

/* 0 once store_set_no_incidents was called. */
int
store_keeps_incidents(const struct store *st)
{
	return !st->no_incidents;
}

/*
 * Bind an incident's 23 columns as ?1-?23, the numbering both the insert and
 * the update use (a statement that leaves a number out ignores its value).
 */
static void
store_bind_incident(sqlite3_stmt *s, const struct store_incident *r)
{
	sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id);
	store_bind_text(s, 2, r->rule);
	store_bind_text(s, 3, r->rule_file);
	sqlite3_bind_int(s, 4, r->rule_line);
	store_bind_text(s, 5, r->key);
	store_bind_text(s, 6, r->severity);
	store_bind_text(s, 7, r->state);
	store_bind_text(s, 8, r->level != NULL ? r->level : "L1");
	store_bind_text(s, 9, r->host);
	store_bind_text(s, 10, r->title);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)r->count);
	sqlite3_bind_int64(s, 12, r->first_seen);
	sqlite3_bind_int64(s, 13, r->last_seen);
	store_bind_time(s, 14, r->resolved_at);
	store_bind_time(s, 15, r->acked_at);
	store_bind_text(s, 16, r->owner);
	store_bind_time(s, 17, r->next_escalation);
	store_bind_text(s, 18, r->in_window);
	store_bind_text(s, 19, r->samples);
	store_bind_text(s, 20, r->impact);
	store_bind_text(s, 21, r->workaround);
	store_bind_time(s, 22, r->eta);
	store_bind_text(s, 23, r->last_note);
}

/* Insert or update one incident row. */
int
store_put_incident(struct store *st, const struct store_incident *r)
{
	if (st->no_incidents)
		return 0;
	store_bind_incident(st->put, r);
	return store_step_write(st->put);
}

static sqlite3_stmt *store_stmt(struct store *, const char *);
static void store_release(struct store *, sqlite3_stmt *);
static const char *store_rows_sql(char *, size_t, size_t, int, const char *,
    const char *);

/*
 * Update a stored incident whose rule, key, first sighting, state and
 * resolution time are as stored: no index is rewritten. 2 if there is no
 * such row (store_put_incident writes it then).
 */
int
store_update_incident(struct store *st, const struct store_incident *r)
{
	sqlite3_stmt *s;
	int rc;

	if (st->no_incidents)
		return 0;
	s = store_stmt(st,
	    "UPDATE incidents SET rule_file = ?3, rule_line = ?4, "
	    "severity = ?6, level = ?8, host = ?9, title = ?10, "
	    "count = ?11, last_seen = ?13, acked_at = ?15, owner = ?16, "
	    "next_escalation = ?17, in_window = ?18, "
	    "samples = coalesce(?19, samples), impact = ?20, "
	    "workaround = ?21, eta = ?22, last_note = ?23 WHERE id = ?1");
	if (s == NULL)
		return -1;
	store_bind_incident(s, r);
	rc = sqlite3_step(s);
	rc = rc != SQLITE_DONE		 ? (rc == SQLITE_CONSTRAINT ? 1 : -1) :
	    sqlite3_changes(st->db) == 0 ? 2 :
					   0;
	store_release(st, s);
	return rc;
}

/* Append one history row. */
int
store_add_history(struct store *st, const struct store_history *h)
{
	sqlite3_stmt *s = st->hist;

	if (st->no_incidents)
		return 0;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)h->incident_id);
	sqlite3_bind_int64(s, 2, h->at);
	store_bind_text(s, 3, h->actor != NULL ? h->actor : "unknown");
	store_bind_text(s, 4, h->action);
	store_bind_text(s, 5, h->from_state);
	store_bind_text(s, 6, h->to_state);
	store_bind_text(s, 7, h->note);
	return store_step_write(s);
}

/*
 * Append n history rows, up to STORE_ROWS_MAX in one statement; a batch
 * refused by a constraint (a row whose incident is not stored) is written
 * row by row, and such rows are left out as store_add_history does.
 */
int
store_add_histories(struct store *st, const struct store_history *h, size_t n)
{
	static char sql[STORE_ROWS_MAX][512];
	const char *text;
	sqlite3_stmt *s;
	size_t i, k;
	int p, rc;

	if (st->no_incidents)
		return 0;
	for (; n > 0; n -= k, h += k) {
		k = n < STORE_ROWS_MAX ? n : STORE_ROWS_MAX;
		if (k == 1) {
			if (store_add_history(st, h) == -1)
				return -1;
			continue;
		}
		text = store_rows_sql(sql[k - 1], sizeof(sql[k - 1]), k, 7,
		    "INSERT INTO incident_history (incident_id, at, actor, "
		    "action, from_state, to_state, note) VALUES ",
		    "");
		if (text == NULL || (s = store_stmt(st, text)) == NULL)
			return -1;
		for (i = 0, p = 1; i < k; i++, p += 7) {
			sqlite3_bind_int64(s, p,
			    (sqlite3_int64)h[i].incident_id);
			sqlite3_bind_int64(s, p + 1, h[i].at);
			store_bind_text(s, p + 2,
			    h[i].actor != NULL ? h[i].actor : "unknown");
			store_bind_text(s, p + 3, h[i].action);
			store_bind_text(s, p + 4, h[i].from_state);
			store_bind_text(s, p + 5, h[i].to_state);
			store_bind_text(s, p + 6, h[i].note);
		}
		rc = sqlite3_step(s);
		store_release(st, s);
		if (rc == SQLITE_CONSTRAINT) {
			for (i = 0; i < k; i++)
				if (store_add_history(st, &h[i]) == -1)
					return -1;
		} else if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/* Set a meta value. */
int
store_set_meta(struct store *st, const char *name, int64_t value)
{
	sqlite3_bind_text(st->meta_set, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->meta_set, 2, value);
	return store_step_write(st->meta_set) == 0 ? 0 : -1;
}

/* Read a meta value. */
int
store_get_meta(struct store *st, const char *name, int64_t *value)
{
	int rc;

	sqlite3_bind_text(st->meta_get, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->meta_get);
	if (rc == SQLITE_ROW)
		*value = sqlite3_column_int64(st->meta_get, 0);
	sqlite3_reset(st->meta_get);
	sqlite3_clear_bindings(st->meta_get);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

/* The largest id in the incidents table. */
int64_t
store_max_id(struct store *st)
{
	int64_t id = 0;

	if (store_int(st->db, "SELECT coalesce(max(id), 0) FROM incidents",
		&id) == -1)
		return 0;
	return id;
}

/*
 * WAL checkpoint: passive (copies what it can without waiting), or
 * truncate (also empties the WAL file) when the store is idle.
 */
int
store_checkpoint(struct store *st, int truncate)
{
	int rc;

	rc = sqlite3_wal_checkpoint_v2(st->db, NULL,
	    truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	st->ckpt_due = 0;
	return rc == SQLITE_OK ? 0 : -1;
}

/* Whether a checkpoint is due (the WAL passed STORE_WAL_CKPT pages). */
int
store_checkpoint_due(const struct store *st)
{
	return st != NULL && st->ckpt_due;
}

/* A text column or NULL. */
static const char *
store_col_text(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

/* Fill a row from the columns of STORE_COLS. */
static void
store_row(sqlite3_stmt *s, struct store_incident *r)
{
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sqlite3_column_int64(s, 0);
	r->rule = store_col_text(s, 1);
	r->rule_file = store_col_text(s, 2);
	r->rule_line = sqlite3_column_int(s, 3);
	r->key = store_col_text(s, 4);
	r->severity = store_col_text(s, 5);
	r->state = store_col_text(s, 6);
	r->level = store_col_text(s, 7);
	r->host = store_col_text(s, 8);
	r->title = store_col_text(s, 9);
	r->count = (uint64_t)sqlite3_column_int64(s, 10);
	r->first_seen = sqlite3_column_int64(s, 11);
	r->last_seen = sqlite3_column_int64(s, 12);
	r->resolved_at = sqlite3_column_int64(s, 13);
	r->acked_at = sqlite3_column_int64(s, 14);
	r->owner = store_col_text(s, 15);
	r->next_escalation = sqlite3_column_int64(s, 16);
	r->in_window = store_col_text(s, 17);
	r->samples = store_col_text(s, 18);
	r->impact = store_col_text(s, 19);
	r->workaround = store_col_text(s, 20);
	r->eta = sqlite3_column_int64(s, 21);
	r->last_note = store_col_text(s, 22);
}

static void store_release(struct store *, sqlite3_stmt *);

/* A caller's callback (of the query's kind) and its argument. */
struct store_visit {
	union {
		store_incident_cb incident;
		store_history_cb history;
		store_esc_cb esc;
		store_window_cb window;
		store_winlog_cb winlog;
		store_silent_cb silent;
		store_outbox_cb outbox;
		store_qrow_cb qrow;
	} cb;
	void *arg;
};

/*
 * Step a query to its end, handing each row to fn (nonzero stops it, not
 * an error), and give the statement back with store_release (a statement
 * not from store_stmt is finalized). 0, or -1 (logged) on an error.
 */
static int
store_rows(struct store *st, sqlite3_stmt *stmt,
    int (*fn)(sqlite3_stmt *, struct store_visit *), struct store_visit *v)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (fn(stmt, v) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		log_warnx("%s: query: %s", st->path, sqlite3_errmsg(st->db));
	store_release(st, stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One incident row to the caller. */
static int
store_incident_row(sqlite3_stmt *stmt, struct store_visit *v)
{
	struct store_incident r;

	store_row(stmt, &r);
	return v->cb.incident(&r, v->arg);
}

/* Step a prepared query and call cb per row; finalizes the statement. */
static int
store_each(struct store *st, sqlite3_stmt *stmt, store_incident_cb cb,
    void *arg)
{
	struct store_visit v = { .cb.incident = cb, .arg = arg };

	return store_rows(st, stmt, store_incident_row, &v);
}

/* Every active incident, oldest first. */
int
store_load_active(struct store *st, store_incident_cb cb, void *arg)
{
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(st->db,
		"SELECT " STORE_COLS " FROM incidents "
		"WHERE state IN ('open', 'acknowledged') ORDER BY id",
		-1, &stmt, NULL) != SQLITE_OK)
		return -1;
	return store_each(st, stmt, cb, arg);
}

/* Build a filter's WHERE clause. */
static void
store_where(const struct store_filter *f, char *buf, size_t len)
{
	snprintf(buf, len, "WHERE 1%s%s%s%s%s%s",
	    f->state != NULL ? " AND state = :state" : "",
	    f->active ? " AND state IN ('open', 'acknowledged')" : "",
	    f->severity != NULL ? " AND severity = :severity" : "",
	    f->host != NULL ? " AND fnmatch(:host, host)" : "",
	    f->rule != NULL ? " AND rule = :rule" : "",
	    f->text != NULL ?
		" AND (instr(lower(title), lower(:text)) OR "
		"instr(lower(host), lower(:text)) OR instr(lower(rule), "
		"lower(:text)))" :
		"");
}

/* Bind a filter's parameters by name. */
static void
store_bind_filter(sqlite3_stmt *stmt, const struct store_filter *f)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(stmt, ":state")) > 0)
		store_bind_text(stmt, i, f->state);
	if ((i = sqlite3_bind_parameter_index(stmt, ":severity")) > 0)
		store_bind_text(stmt, i, f->severity);
	if ((i = sqlite3_bind_parameter_index(stmt, ":host")) > 0)
		store_bind_text(stmt, i, f->host);
	if ((i = sqlite3_bind_parameter_index(stmt, ":rule")) > 0)
		store_bind_text(stmt, i, f->rule);
	if ((i = sqlite3_bind_parameter_index(stmt, ":text")) > 0)
		store_bind_text(stmt, i, f->text);
	if ((i = sqlite3_bind_parameter_index(stmt, ":limit")) > 0)
		sqlite3_bind_int64(stmt, i, (sqlite3_int64)f->limit);
	if ((i = sqlite3_bind_parameter_index(stmt, ":offset")) > 0)
		sqlite3_bind_int64(stmt, i, (sqlite3_int64)f->offset);
}

/*
 * Triage order: open criticals first, then by severity, open before
 * acknowledged, active before resolved, the oldest first.
 */
#define STORE_TRIAGE_ORDER                                          \
	"(state = 'open' AND severity = 'critical') DESC, "         \
	"CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "  \
	"WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, "       \
	"CASE state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 " \
	"ELSE 2 END, first_seen, id"

/* Matching incidents newest first or in triage order, limit and offset. */
int
store_list(struct store *st, const struct store_filter *f, store_incident_cb cb,
    void *arg, size_t *total)
{
	char where[512], sql[1536];
	sqlite3_stmt *stmt;
	int64_t n = 0;

	store_where(f, where, sizeof(where));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents %s", where);
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	store_bind_filter(stmt, f);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	*total = (size_t)n;
	snprintf(sql, sizeof(sql),
	    "SELECT " STORE_COLS " FROM incidents %s "
	    "ORDER BY %s LIMIT :limit OFFSET :offset",
	    where, f->triage ? STORE_TRIAGE_ORDER : "id DESC");
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	store_bind_filter(stmt, f);
	return store_each(st, stmt, cb, arg);
fail:
	log_warnx("%s: list: %s", st->path, sqlite3_errmsg(st->db));
	return -1;
}

/* Find one incident: 1 when there is none. */
int
store_get(struct store *st, uint64_t id, store_incident_cb cb, void *arg)
{
	sqlite3_stmt *stmt;
	struct store_incident r;
	int rc;

	if (sqlite3_prepare_v2(st->db,
		"SELECT " STORE_COLS " FROM incidents "
		"WHERE id = ?1",
		-1, &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		store_row(stmt, &r);
		if (cb != NULL)
			cb(&r, arg);
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

/* One history row to the caller. */
static int
store_history_row(sqlite3_stmt *stmt, struct store_visit *v)
{
	struct store_history h;

	h.incident_id = (uint64_t)sqlite3_column_int64(stmt, 0);
	h.at = sqlite3_column_int64(stmt, 1);
	h.actor = store_col_text(stmt, 2);
	h.action = store_col_text(stmt, 3);
	h.from_state = store_col_text(stmt, 4);
	h.to_state = store_col_text(stmt, 5);
	h.note = store_col_text(stmt, 6);
	return v->cb.history(&h, v->arg);
}

/* An incident's history, oldest first. */
int
store_history(struct store *st, uint64_t id, store_history_cb cb, void *arg)
{
	struct store_visit v = { .cb.history = cb, .arg = arg };
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(st->db,
		"SELECT incident_id, at, actor, "
		"action, from_state, to_state, note FROM incident_history "
		"WHERE incident_id = ?1 ORDER BY id",
		-1, &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)id);
	return store_rows(st, stmt, store_history_row, &v);
}

/*
 * A statement for sql, kept prepared across calls (SQL texts are string
 * constants, found by address and checked by text); give it back with
 * store_release. One already handed out (a callback querying again) or
 * beyond the cache is prepared for this call only. NULL (logged) on error.
 */
static sqlite3_stmt *
store_stmt(struct store *st, const char *sql)
{
	struct store_cached *c = NULL;
	sqlite3_stmt *stmt;
	size_t i;

	for (i = 0; i < st->ncache; i++) {
		if (st->cache[i].sql != sql ||
		    strcmp(sqlite3_sql(st->cache[i].stmt), sql) != 0)
			continue;
		if (st->cache[i].busy)
			break;
		st->cache[i].busy = 1;
		return st->cache[i].stmt;
	}
	if (i == st->ncache && st->ncache < STORE_STMT_CACHE)
		c = &st->cache[st->ncache];
	if (sqlite3_prepare_v3(st->db, sql, -1,
		c != NULL ? SQLITE_PREPARE_PERSISTENT : 0, &stmt,
		NULL) != SQLITE_OK) {
		log_warnx("%s: %s", st->path, sqlite3_errmsg(st->db));
		return NULL;
	}
	if (c != NULL) {
		c->sql = sql;
		c->stmt = stmt;
		c->busy = 1;
		st->ncache++;
	}
	return stmt;
}

/* Give back a statement of store_stmt: reset if kept, else finalized. */
static void
store_release(struct store *st, sqlite3_stmt *stmt)
{
	size_t i;

	for (i = 0; i < st->ncache; i++)
		if (st->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			st->cache[i].busy = 0;
			return;
		}
	sqlite3_finalize(stmt);
}

/* Run a one-off write statement and finalize it. */
static int
store_run(struct store *st, sqlite3_stmt *stmt)
{
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("%s: write: %s", st->path, sqlite3_errmsg(st->db));
	return -1;
}

/*
 * The text of an INSERT of k rows of ncols parameters each, between head
 * and tail, made once into buf (a statement of store_stmt, so its address
 * stays the same); NULL if it does not fit.
 */
static const char *
store_rows_sql(char *buf, size_t len, size_t k, int ncols, const char *head,
    const char *tail)
{
	size_t i, off;
	int c, n;

	if (buf[0] != '\0')
		return buf;
	n = snprintf(buf, len, "%s", head);
	for (i = 0, off = (size_t)n; i < k && off < len; i++) {
		for (c = 0; c < ncols && off < len; c++) {
			n = snprintf(buf + off, len - off, "%s?%zu",
			    c == 0 ? (i == 0 ? "(" : ", (") : ", ",
			    i * (size_t)ncols + (size_t)c + 1);
			off += (size_t)n;
		}
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, ")");
	}
	if (off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s", tail);
	if (off >= len) {
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}

/*
 * Insert or update n escalation step rows, up to STORE_ROWS_MAX in one
 * statement (one statement's fixed cost for an incident's rows).
 */
int
store_put_escs(struct store *st, const struct store_esc *e, size_t n)
{
	static char sql[STORE_ROWS_MAX][768];
	const char *text;
	sqlite3_stmt *s;
	size_t i, k;
	int p;

	if (st->no_incidents)
		return 0;
	for (; n > 0; n -= k, e += k) {
		k = n < STORE_ROWS_MAX ? n : STORE_ROWS_MAX;
		text = store_rows_sql(sql[k - 1], sizeof(sql[k - 1]), k, 5,
		    "INSERT INTO escalation (incident_id, step, due, "
		    "fired_at, level) VALUES ",
		    " ON CONFLICT (incident_id, step) DO UPDATE SET due = "
		    "excluded.due, fired_at = coalesce(escalation.fired_at, "
		    "excluded.fired_at), level = coalesce(excluded.level, "
		    "escalation.level)");
		if (text == NULL || (s = store_stmt(st, text)) == NULL)
			return -1;
		for (i = 0, p = 1; i < k; i++, p += 5) {
			sqlite3_bind_int64(s, p,
			    (sqlite3_int64)e[i].incident_id);
			sqlite3_bind_int(s, p + 1, e[i].step);
			store_bind_time(s, p + 2, e[i].due);
			store_bind_time(s, p + 3, e[i].fired_at);
			store_bind_text(s, p + 4, e[i].level);
		}
		if (store_run(st, s) == -1)
			return -1;
	}
	return 0;
}

/* Insert or update one escalation step row. */
int
store_put_esc(struct store *st, const struct store_esc *e)
{
	return store_put_escs(st, e, 1);
}

/* One escalation row to the caller. */
static int
store_esc_row(sqlite3_stmt *s, struct store_visit *v)
{
	struct store_esc e;

	e.incident_id = (uint64_t)sqlite3_column_int64(s, 0);
	e.step = sqlite3_column_int(s, 1);
	e.due = sqlite3_column_int64(s, 2);
	e.fired_at = sqlite3_column_int64(s, 3);
	e.level = store_col_text(s, 4);
	return v->cb.esc(&e, v->arg);
}

/* Call cb for every escalation row of an active incident. */
int
store_load_esc(struct store *st, store_esc_cb cb, void *arg)
{
	struct store_visit v = { .cb.esc = cb, .arg = arg };
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "SELECT e.incident_id, e.step, e.due, e.fired_at, "
	    "e.level FROM escalation e JOIN incidents i ON i.id = "
	    "e.incident_id WHERE i.state IN ('open', 'acknowledged') "
	    "ORDER BY e.incident_id, e.step");
	if (s == NULL)
		return -1;
	return store_rows(st, s, store_esc_row, &v);
}

/* Set the client fields of one (resolved) incident; 1 if there is none. */
int
store_set_client(struct store *st, uint64_t id, const char *impact,
    const char *workaround, int64_t eta)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st,
	    "UPDATE incidents SET impact = ?2, "
	    "workaround = ?3, eta = ?4 WHERE id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	store_bind_text(s, 2, impact);
	store_bind_text(s, 3, workaround);
	store_bind_time(s, 4, eta);
	rc = store_step_write(s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = 1;
	store_release(st, s);
	return rc;
}

/* Append one audit row and keep the newest keep rows. */
int
store_put_audit(struct store *st, const struct store_audit *a, size_t keep)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st,
	    "INSERT INTO audit (at, generation, summary, doc) "
	    "VALUES (?1, ?2, ?3, ?4)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->at);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)a->generation);
	store_bind_text(s, 3, a->summary);
	store_bind_text(s, 4, a->doc);
	rc = store_step_write(s);
	store_release(st, s);
	if (rc != 0)
		return -1;
	s = store_stmt(st,
	    "DELETE FROM audit WHERE id <= "
	    "(SELECT max(id) FROM audit) - ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)keep);
	rc = store_step_write(s);
	store_release(st, s);
	return rc == 0 ? 0 : -1;
}

/* Call cb for the newest audit rows, newest first. */
int
store_load_audit(struct store *st, size_t limit, store_audit_cb cb, void *arg)
{
	struct store_audit a;
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st,
	    "SELECT id, at, generation, summary, doc FROM "
	    "audit ORDER BY id DESC LIMIT ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		a.id = (uint64_t)sqlite3_column_int64(s, 0);
		a.at = sqlite3_column_int64(s, 1);
		a.generation = (unsigned)sqlite3_column_int64(s, 2);
		a.summary = store_col_text(s, 3);
		a.doc = store_col_text(s, 4);
		if (cb(&a, arg) != 0)
			break;
	}
	store_release(st, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Count the fired rows of one incident's escalation (tests, views). */
int
store_count_fired(struct store *st, uint64_t id)
{
	sqlite3_stmt *s;
	int n = -1;

	s = store_stmt(st,
	    "SELECT count(*) FROM escalation WHERE "
	    "incident_id = ?1 AND step >= 0 AND fired_at IS NOT NULL");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	store_release(st, s);
	return n;
}

/* Insert or replace an API-created window's definition (JSON text). */
int
store_put_window(struct store *st, const char *id, const char *doc)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "INSERT INTO windows (id, doc) VALUES (?1, ?2) "
	    "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, doc);
	return store_run(st, s);
}

/* One window definition to the caller. */
static int
store_window_row(sqlite3_stmt *s, struct store_visit *v)
{
	return v->cb.window(store_col_text(s, 0), store_col_text(s, 1), v->arg);
}

/* Call cb for every stored window definition. */
int
store_load_windows(struct store *st, store_window_cb cb, void *arg)
{
	struct store_visit v = { .cb.window = cb, .arg = arg };
	sqlite3_stmt *s;

	if ((s = store_stmt(st, "SELECT id, doc FROM windows ORDER BY id")) ==
	    NULL)
		return -1;
	return store_rows(st, s, store_window_row, &v);
}

/* Insert or update the record of one window occurrence. */
int
store_put_winlog(struct store *st, const struct store_winlog *w)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "INSERT INTO window_log (window_id, start, end, "
	    "ended, record) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT "
	    "(window_id, start) DO UPDATE SET end = excluded.end, "
	    "ended = excluded.ended, record = excluded.record");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->window_id);
	sqlite3_bind_int64(s, 2, w->start);
	sqlite3_bind_int64(s, 3, w->end);
	sqlite3_bind_int(s, 4, w->ended);
	store_bind_text(s, 5, w->record);
	return store_run(st, s);
}

/* One window occurrence to the caller. */
static int
store_winlog_row(sqlite3_stmt *s, struct store_visit *v)
{
	struct store_winlog w;

	w.window_id = store_col_text(s, 0);
	w.start = sqlite3_column_int64(s, 1);
	w.end = sqlite3_column_int64(s, 2);
	w.ended = sqlite3_column_int(s, 3);
	w.record = store_col_text(s, 4);
	return v->cb.winlog(&w, v->arg);
}

/*
 * Call cb for window occurrences, newest first: of one window (id not
 * NULL), or those not yet ended (id NULL); at most limit rows.
 */
int
store_load_winlog(struct store *st, const char *id, size_t limit,
    store_winlog_cb cb, void *arg)
{
	struct store_visit v = { .cb.winlog = cb, .arg = arg };
	sqlite3_stmt *s;

	s = store_stmt(st,
	    id != NULL ?
		"SELECT window_id, start, end, ended, "
		"record FROM window_log WHERE window_id = ?1 ORDER BY start "
		"DESC "
		"LIMIT ?2" :
		"SELECT window_id, start, end, ended, record FROM "
		"window_log WHERE ended = 0 AND ?1 IS NULL ORDER BY start DESC "
		"LIMIT ?2");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	return store_rows(st, s, store_winlog_row, &v);
}

/* Insert or update when a silent-host rule last heard from a host. */
int
store_put_silent(struct store *st, const char *rule, const char *host,
    int64_t last_heard)
{
	sqlite3_stmt *s;
	int rc;

	if (st->silent_put == NULL &&
	    sqlite3_prepare_v2(st->db,
		"INSERT INTO silent_hosts (rule, host, last_heard) VALUES "
		"(?1, ?2, ?3) ON CONFLICT (rule, host) DO UPDATE SET "
		"last_heard = excluded.last_heard",
		-1, &st->silent_put, NULL) != SQLITE_OK)
		return -1;
	s = st->silent_put;
	store_bind_text(s, 1, rule);
	store_bind_text(s, 2, host);
	sqlite3_bind_int64(s, 3, last_heard);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Keep only the keep most recently heard silent_hosts rows. */
int
store_trim_silent(struct store *st, size_t keep)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "DELETE FROM silent_hosts WHERE rowid NOT IN "
	    "(SELECT rowid FROM silent_hosts ORDER BY last_heard DESC "
	    "LIMIT ?1)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)keep);
	return store_run(st, s);
}

/* One silent_hosts row to the caller. */
static int
store_silent_row(sqlite3_stmt *s, struct store_visit *v)
{
	return v->cb.silent(store_col_text(s, 0), store_col_text(s, 1),
	    sqlite3_column_int64(s, 2), v->arg);
}

/* Call cb for the silent_hosts rows, most recently heard first. */
int
store_load_silent(struct store *st, store_silent_cb cb, void *arg)
{
	struct store_visit v = { .cb.silent = cb, .arg = arg };
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "SELECT rule, host, last_heard FROM silent_hosts "
	    "ORDER BY last_heard DESC");
	if (s == NULL)
		return -1;
	return store_rows(st, s, store_silent_row, &v);
}

/* Insert a pending outbox row, or make the row of its key pending again. */
int
store_outbox_put(struct store *st, const struct store_outbox *o)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "INSERT INTO outbox (target, idem_key, notice, "
	    "attempts, next_try, created, state) VALUES (?1, ?2, ?3, 0, 0, "
	    "?4, 'pending') ON CONFLICT (target, idem_key) DO UPDATE SET "
	    "notice = excluded.notice, attempts = 0, next_try = 0, "
	    "state = 'pending'");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, o->target);
	store_bind_text(s, 2, o->idem_key);
	store_bind_text(s, 3, o->notice);
	sqlite3_bind_int64(s, 4, o->created);
	return store_run(st, s);
}

/* Delete the outbox row of a target and key. */
int
store_outbox_del(struct store *st, const char *target, const char *idem)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "DELETE FROM outbox WHERE target = ?1 AND "
	    "idem_key = ?2");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, target);
	store_bind_text(s, 2, idem);
	return store_run(st, s);
}

/* Record the retry state (or the failure) of an outbox row. */
int
store_outbox_set(struct store *st, const struct store_outbox *o)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "UPDATE outbox SET attempts = ?3, next_try = ?4, "
	    "state = ?5 WHERE target = ?1 AND idem_key = ?2");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, o->target);
	store_bind_text(s, 2, o->idem_key);
	sqlite3_bind_int(s, 3, o->attempts);
	sqlite3_bind_int64(s, 4, o->next_try);
	store_bind_text(s, 5, o->state != NULL ? o->state : "pending");
	return store_run(st, s);
}

/* Delete the failed outbox rows but the newest keep. */
int
store_outbox_trim(struct store *st, size_t keep)
{
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "DELETE FROM outbox WHERE state = 'failed' AND "
	    "id NOT IN (SELECT id FROM outbox WHERE state = 'failed' "
	    "ORDER BY id DESC LIMIT ?1)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)keep);
	return store_run(st, s);
}

/* One pending outbox row to the caller (rows missing a field skipped). */
static int
store_outbox_row(sqlite3_stmt *s, struct store_visit *v)
{
	struct store_outbox o;

	o.id = sqlite3_column_int64(s, 0);
	o.target = store_col_text(s, 1);
	o.idem_key = store_col_text(s, 2);
	o.notice = store_col_text(s, 3);
	o.attempts = sqlite3_column_int(s, 4);
	o.next_try = sqlite3_column_int64(s, 5);
	o.created = sqlite3_column_int64(s, 6);
	o.state = store_col_text(s, 7);
	if (o.target == NULL || o.idem_key == NULL || o.notice == NULL)
		return 0;
	return v->cb.outbox(&o, v->arg);
}

/* Call cb for every pending outbox row, oldest first. */
int
store_outbox_load(struct store *st, store_outbox_cb cb, void *arg)
{
	struct store_visit v = { .cb.outbox = cb, .arg = arg };
	sqlite3_stmt *s;

	s = store_stmt(st,
	    "SELECT id, target, idem_key, notice, attempts, "
	    "next_try, created, state FROM outbox WHERE state = 'pending' "
	    "ORDER BY id");
	if (s == NULL)
		return -1;
	return store_rows(st, s, store_outbox_row, &v);
}

/* Count virtual machine steps of a query; nonzero interrupts it. */
static int
store_progress_cb(void *arg)
{
	long long *ops = arg;

	*ops += 1000;
	return *ops > STORE_QUERY_MAX_OPS;
}

/* Copy the columns of the current row into a row for the caller. */
static void
store_qrow_fill(sqlite3_stmt *s, struct store_qrow *q)
{
	int i;

	q->ncol = sqlite3_column_count(s);
	if (q->ncol > STORE_QUERY_COLS)
		q->ncol = STORE_QUERY_COLS;
	for (i = 0; i < q->ncol; i++) {
		q->num[i] = sqlite3_column_int64(s, i);
		q->real[i] = sqlite3_column_double(s, i);
		q->text[i] = store_col_text(s, i);
	}
}

/* One row of a query to the caller. */
static int
store_qrow_row(sqlite3_stmt *s, struct store_visit *v)
{
	struct store_qrow q;

	memset(&q, 0, sizeof(q));
	store_qrow_fill(s, &q);
	return v->cb.qrow(&q, v->arg);
}

/* Run one bounded read-only query and call cb for each row. */
int
store_query(struct store *st, const char *sql, const struct store_param *p,
    size_t np, store_qrow_cb cb, void *arg)
{
	struct store_visit v = { .cb.qrow = cb, .arg = arg };
	sqlite3_stmt *s;
	long long ops = 0;
	size_t i;
	int rc;

	if ((s = store_stmt(st, sql)) == NULL)
		return -1;
	if (!sqlite3_stmt_readonly(s)) {
		log_warnx("%s: query refused: not read-only", st->path);
		store_release(st, s);
		return -1;
	}
	for (i = 0; i < np; i++) {
		if (p[i].text != NULL)
			store_bind_text(s, (int)i + 1, p[i].text);
		else
			sqlite3_bind_int64(s, (int)i + 1, p[i].num);
	}
	sqlite3_progress_handler(st->db, 1000, store_progress_cb, &ops);
	rc = store_rows(st, s, store_qrow_row, &v);
	sqlite3_progress_handler(st->db, 0, NULL, NULL);
	return rc;
}

/*
 * Run one writing statement with parameters ?1.. (text when text is not
 * NULL, else num); the rowid it inserted (0 if none) or -1.
 */
int64_t
store_write(struct store *st, const char *sql, const struct store_param *p,
    size_t np)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if ((s = store_stmt(st, sql)) == NULL)
		return -1;
	for (i = 0; i < np; i++) {
		if (p[i].text != NULL)
			store_bind_text(s, (int)i + 1, p[i].text);
		else
			sqlite3_bind_int64(s, (int)i + 1, p[i].num);
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		log_warnx("%s: write: %s", st->path, sqlite3_errmsg(st->db));
	store_release(st, s);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(st->db) > 0 ?
	    (int64_t)sqlite3_last_insert_rowid(st->db) :
	    0;
}

/*
 * Retention: delete up to limit resolved incidents (with their history,
 * events and escalation steps) resolved before `before`, and up to limit
 * window records that ended before it, in one transaction. The number of
 * rows deleted, -1 on error (rolled back).
 */
int
store_prune(struct store *st, int64_t before, int limit)
{
	static const char *sql[] = {
		"DELETE FROM escalation WHERE incident_id IN (SELECT id FROM "
		"incidents WHERE resolved_at IS NOT NULL AND resolved_at < ?1 "
		"AND state IN ('resolved', 'closed') ORDER BY resolved_at "
		"LIMIT ?2)",
		/* incident_history goes with it (ON DELETE CASCADE) */
		"DELETE FROM incidents WHERE id IN (SELECT id FROM incidents "
		"WHERE resolved_at IS NOT NULL AND resolved_at < ?1 AND state "
		"IN ('resolved', 'closed') ORDER BY resolved_at LIMIT ?2)",
		"DELETE FROM window_log WHERE rowid IN (SELECT rowid FROM "
		"window_log WHERE ended AND \"end\" < ?1 ORDER BY \"end\" "
		"LIMIT ?2)",
		"DELETE FROM reports WHERE id IN (SELECT id FROM reports "
		"WHERE made_at < ?1 ORDER BY made_at LIMIT ?2)",
		"DELETE FROM schedule_runs WHERE id IN (SELECT id FROM "
		"schedule_runs WHERE ran_at < ?1 ORDER BY ran_at LIMIT ?2)",
	};
	sqlite3_stmt *stmt;
	size_t i;
	int n = 0, rc;

	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((stmt = store_stmt(st, sql[i])) == NULL)
			goto fail;
		sqlite3_bind_int64(stmt, 1, before);
		sqlite3_bind_int(stmt, 2, limit);
		rc = sqlite3_step(stmt);
		store_release(st, stmt);
		if (rc != SQLITE_DONE)
			goto fail;
		if (i > 0)
			n += sqlite3_changes(st->db);
	}
	/* Not store_commit: the incidents' commit hook is not ours to run. */
	if (store_exec(st->db, "COMMIT", NULL) == -1)
		goto fail;
	return n;
fail:
	store_rollback(st);
	return -1;
}

/*
 * Give up to `pages` free pages back to the file system; the free pages
 * left, -1 on error.
 */
int64_t
store_vacuum_step(struct store *st, int pages)
{
	char sql[64];
	int64_t left;

	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", pages);
	if (store_exec(st->db, sql, NULL) == -1 ||
	    store_int(st->db, "PRAGMA freelist_count", &left) == -1)
		return -1;
	return left;
}

/* An online backup (SQLite's backup API) into a file of its own. */
struct store_backup {
	sqlite3 *dst;
	sqlite3_backup *bk;
};

struct store_backup *
store_backup_start(struct store *st, const char *path, char **cause)
{
	struct store_backup *b;

	b = xcalloc(1, sizeof(*b));
	if (sqlite3_open_v2(path, &b->dst,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK ||
	    (b->bk = sqlite3_backup_init(b->dst, "main", st->db, "main")) ==
		NULL) {
		xasprintf(cause, "%s: %s", path,
		    b->dst != NULL ? sqlite3_errmsg(b->dst) : "cannot open");
		store_backup_free(b);
		return NULL;
	}
	return b;
}

/* Copy up to `pages` pages: 1 when the copy is complete, 0 for more, -1. */
int
store_backup_step(struct store_backup *b, int pages, char **cause)
{
	int rc;

	rc = sqlite3_backup_step(b->bk, pages);
	if (rc == SQLITE_DONE) {
		rc = sqlite3_backup_finish(b->bk);
		b->bk = NULL;
		if (rc == SQLITE_OK)
			return 1;
	} else if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 0;
	xasprintf(cause, "backup: %s", sqlite3_errstr(rc));
	return -1;
}

void
store_backup_free(struct store_backup *b)
{
	if (b == NULL)
		return;
	if (b->bk != NULL)
		sqlite3_backup_finish(b->bk);
	sqlite3_close(b->dst);
	free(b);
}

/* Fold one sample into the row of its bucket in table i (0: 5m, 1: 1h). */
static int
store_metric_fold(struct store *st, int i, const struct store_metric *m)
{
	static const char *const sql[2] = {
		"INSERT INTO metric_5m (host, metric, inst, at, sum, n, min, "
		"max) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?5, ?5) ON CONFLICT "
		"(host, metric, inst, at) DO UPDATE SET sum = sum + ?5, "
		"n = n + 1, min = min(min, ?5), max = max(max, ?5)",
		"INSERT INTO metric_1h (host, metric, inst, at, sum, n, min, "
		"max) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?5, ?5) ON CONFLICT "
		"(host, metric, inst, at) DO UPDATE SET sum = sum + ?5, "
		"n = n + 1, min = min(min, ?5), max = max(max, ?5)",
	};
	static const int64_t step[2] = { STORE_METRIC_5M, STORE_METRIC_1H };
	sqlite3_stmt *s;
	int rc;

	if (st->metric_put[i] == NULL &&
	    sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		&st->metric_put[i], NULL) != SQLITE_OK)
		return -1;
	s = st->metric_put[i];
	store_bind_text(s, 1, m->host);
	store_bind_text(s, 2, m->metric);
	store_bind_text(s, 3, m->inst != NULL ? m->inst : "");
	sqlite3_bind_int64(s, 4, m->at - (m->at % step[i]));
	sqlite3_bind_double(s, 5, m->value);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Write the samples of one poll in one transaction of their own (or in the
 * one already open), without the commit hook: metric rows are not the
 * incidents' batch.
 */
int
store_put_metrics(struct store *st, const struct store_metric *m, size_t n)
{
	size_t i;
	int own = sqlite3_get_autocommit(st->db);

	if (own && store_exec(st->db, "BEGIN IMMEDIATE", NULL) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_metric_fold(st, 0, &m[i]) == -1 ||
		    store_metric_fold(st, 1, &m[i]) == -1) {
			log_warnx("%s: metrics: %s", st->path,
			    sqlite3_errmsg(st->db));
			if (own)
				store_exec(st->db, "ROLLBACK", NULL);
			return -1;
		}
	}
	if (own && store_exec(st->db, "COMMIT", NULL) == -1) {
		store_exec(st->db, "ROLLBACK", NULL);
		return -1;
	}
	return 0;
}

/*
 * Delete at most max rows older than their retention (5-minute points
 * before keep5m, hourly ones before keep1h); the number deleted, or -1.
 */
int
store_prune_metrics(struct store *st, int64_t keep5m, int64_t keep1h,
    size_t max)
{
	static const char *const sql[2] = {
		"DELETE FROM metric_5m WHERE rowid IN (SELECT rowid FROM "
		"metric_5m WHERE at < ?1 ORDER BY at LIMIT ?2)",
		"DELETE FROM metric_1h WHERE rowid IN (SELECT rowid FROM "
		"metric_1h WHERE at < ?1 ORDER BY at LIMIT ?2)",
	};
	int64_t before[2] = { keep5m, keep1h };
	sqlite3_stmt *s;
	int i, done = 0;

	for (i = 0; i < 2 && (size_t)done < max; i++) {
		if ((s = store_stmt(st, sql[i])) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, before[i]);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)(max - (size_t)done));
		if (store_run(st, s) == -1)
			return -1;
		done += sqlite3_changes(st->db);
	}
	return done;
}

/*
 * Remember the hashes of committed RELP messages (their own transaction),
 * numbered from seq on, and forget those numbered below seq + n - keep.
 */
int
store_relp_seen_put(struct store *st, int64_t seq, const uint64_t *hash,
    size_t n, size_t keep)
{
	sqlite3_stmt *s = NULL, *d = NULL;
	size_t i;
	int rc = -1;

	if (store_begin(st) == -1)
		return -1;
	if ((s = store_stmt(st,
		 "INSERT OR REPLACE INTO relp_seen (seq, hash) "
		 "VALUES (?1, ?2)")) == NULL ||
	    (d = store_stmt(st, "DELETE FROM relp_seen WHERE seq < ?1")) ==
		NULL)
		goto done;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, seq + (int64_t)i);
		sqlite3_bind_int64(s, 2, (int64_t)hash[i]);
		if (store_step_write(s) != 0)
			goto done;
	}
	sqlite3_bind_int64(d, 1, seq + (int64_t)n - (int64_t)keep);
	if (store_step_write(d) == 0 && store_exec(st->db, "COMMIT", NULL) == 0)
		rc = 0;
done:
	if (s != NULL)
		store_release(st, s);
	if (d != NULL)
		store_release(st, d);
	if (rc == -1)
		store_rollback(st);
	return rc;
}

/* Call cb for the last max remembered RELP messages, oldest first. */
int
store_relp_seen_load(struct store *st, size_t max,
    void (*cb)(int64_t seq, uint64_t hash, void *), void *arg)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st,
	    "SELECT seq, hash FROM (SELECT seq, hash FROM "
	    "relp_seen ORDER BY seq DESC LIMIT ?1) ORDER BY seq");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(sqlite3_column_int64(s, 0),
		    (uint64_t)sqlite3_column_int64(s, 1), arg);
	store_release(st, s);
	return rc == SQLITE_DONE ? 0 : -1;
}
