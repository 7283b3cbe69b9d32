/* test_store.c: the SQLite store: schema, migration, reopen, quarantine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "metrics.h"
#include "store.h"
#include "unit.h"

/* A fresh temporary state directory (a subdirectory that does not exist). */
static char *
tmpdir(void)
{
	char *t = unit_tmpdir("sopd-store"), *d;

	assert_true(asprintf(&d, "%s/state", t) > 0);
	free(t);
	return d;
}

/* Remove a directory made by tmpdir and everything in it. */
static void
rmtree(char *dir)
{
	char *p;

	p = strrchr(dir, '/');
	*p = '\0';
	assert_int_equal(unit_rmtree(dir), 0);
	free(dir);
}

/* Read one integer with a second connection. */
static long long
query_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Run SQL on a file with a second connection. */
static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The file's path inside a state directory. */
static char *
dbpath(const char *dir)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, STORE_FILE) > 0);
	return p;
}

/* Count the files of a directory whose name contains s. */
static int
count_files(const char *dir, const char *s)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, s) != NULL)
			n++;
	}
	closedir(d);
	return n;
}

/* A sample incident row. */
static void
sample_row(struct store_incident *r, uint64_t id, const char *state)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->rule = "link-down";
	r->rule_file = "rules/net.yaml";
	r->rule_line = 12;
	r->key = "sw1:3";
	r->severity = "high";
	r->state = state;
	r->level = "L1";
	r->host = "sw1";
	r->title = "link down on sw1";
	r->count = 4;
	r->first_seen = 1795741323;
	r->last_seen = 1795741383;
	r->samples = "[{\"message\":\"x\"}]";
}

/* A new file gets the schema, WAL, the application id and the version. */
static void
test_schema(void **state)
{
	char *dir = tmpdir(), *path = dbpath(dir), *cause = NULL;
	struct store *st;
	struct stat sb;

	st = store_open(dir, "full", &cause);
	assert_non_null(st);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(query_int(path, "PRAGMA user_version"),
	    store_schema_version());
	assert_int_equal(query_int(path, "PRAGMA application_id"),
	    STORE_APP_ID);
	assert_int_equal(query_int(path,
			     "SELECT count(*) FROM sqlite_master "
			     "WHERE name IN ('incidents', 'incident_history', "
			     "'meta')"),
	    3);
	assert_int_equal(query_int(path,
			     "SELECT value FROM meta WHERE "
			     "name = 'next_id'"),
	    1);
	store_close(st);
	free(path);
	rmtree(dir);
}

/* A v0 file (a database without tables) is migrated forward. */
static void
test_migrate_v0(void **state)
{
	char *dir = tmpdir(), *path, *cause = NULL;
	struct store *st;

	assert_int_equal(mkdir(dir, 0750), 0);
	path = dbpath(dir);
	exec_sql(path, "CREATE TABLE junk (a); DROP TABLE junk;");
	assert_int_equal(query_int(path, "PRAGMA user_version"), 0);
	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	assert_int_equal(query_int(path, "PRAGMA user_version"),
	    store_schema_version());
	/* The WAL and the record of its salts. */
	assert_int_equal(count_files(dir, "sopd.db-wal"), 2);
	assert_int_equal(count_files(dir, "sopd.db-walsalt"), 1);
	store_close(st);
	/* An empty (0 byte) file is a v0 database too. */
	unlink(path);
	close(open(path, O_CREAT | O_WRONLY, 0640));
	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	assert_int_equal(query_int(path, "PRAGMA user_version"),
	    store_schema_version());
	store_close(st);
	assert_int_equal(count_files(dir, "corrupt"), 0);
	free(path);
	rmtree(dir);
}

/* A newer schema or another program's file is refused, not touched. */
static void
test_refuse(void **state)
{
	char *dir = tmpdir(), *path, *cause = NULL;
	struct store *st;

	assert_int_equal(mkdir(dir, 0750), 0);
	path = dbpath(dir);
	exec_sql(path, "PRAGMA user_version = 99; CREATE TABLE t (a);");
	st = store_open(dir, NULL, &cause);
	assert_null(st);
	assert_non_null(strstr(cause, "newer"));
	free(cause);
	unlink(path);
	exec_sql(path, "PRAGMA application_id = 42; CREATE TABLE t (a);");
	cause = NULL;
	st = store_open(dir, NULL, &cause);
	assert_null(st);
	assert_non_null(strstr(cause, "not a sopd database"));
	free(cause);
	free(path);
	rmtree(dir);
}

/* Count rows handed to a callback. */
static int
count_cb(const struct store_incident *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Check the row read back. */
static int
check_cb(const struct store_incident *r, void *arg)
{
	assert_int_equal(r->id, 7);
	assert_string_equal(r->rule, "link-down");
	assert_string_equal(r->rule_file, "rules/net.yaml");
	assert_int_equal(r->rule_line, 12);
	assert_string_equal(r->key, "sw1:3");
	assert_string_equal(r->state, "acknowledged");
	assert_string_equal(r->owner, "alice");
	assert_int_equal(r->count, 4);
	assert_int_equal(r->resolved_at, 0);
	assert_int_equal(r->acked_at, 1795741400);
	assert_string_equal(r->samples, "[{\"message\":\"x\"}]");
	return 0;
}

/* Count history rows. */
static int
hist_cb(const struct store_history *h, void *arg)
{
	(*(int *)arg)++;
	assert_string_equal(h->actor, "alice");
	return 0;
}

/* Rows, history and meta survive a close and reopen. */
static void
test_reopen(void **state)
{
	char *dir = tmpdir(), *cause = NULL;
	struct store *st;
	struct store_incident r;
	struct store_history h = { 7, 1795741400, "alice", "ack", "open",
		"acknowledged", "on it" };
	int64_t v;
	int n = 0;

	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	sample_row(&r, 7, "acknowledged");
	r.owner = "alice";
	r.acked_at = 1795741400;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_add_history(st, &h), 0);
	h.incident_id = 8; /* no such incident: a constraint error */
	assert_int_equal(store_add_history(st, &h), 1);
	assert_int_equal(store_set_meta(st, "next_id", 8), 0);
	assert_int_equal(store_commit(st), 0);
	/* An update without samples keeps them. */
	r.samples = NULL;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_commit(st), 0);
	store_close(st);

	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	assert_int_equal(store_get_meta(st, "next_id", &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(store_get_meta(st, "nothing", &v), 1);
	assert_int_equal(store_max_id(st), 7);
	assert_int_equal(store_get(st, 7, check_cb, NULL), 0);
	assert_int_equal(store_get(st, 9, check_cb, NULL), 1);
	assert_int_equal(store_load_active(st, count_cb, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_history(st, 7, hist_cb, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_checkpoint(st, 0), 0);
	assert_int_equal(store_checkpoint(st, 1), 0);
	store_close(st);
	rmtree(dir);
}

/*
 * The narrow update of a stored row: no row is 2 (nothing written); else
 * the changing columns are written, the samples kept when not given, and
 * rule, key, first sighting and state stay as stored.
 */
static void
test_update(void **state)
{
	char *dir = tmpdir(), *cause = NULL, *path;
	struct store *st;
	struct store_incident r;

	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	path = dbpath(dir);
	sample_row(&r, 5, "open");
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_update_incident(st, &r), 2);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_commit(st), 0);
	r.rule = "other";
	r.key = "other";
	r.first_seen = 1;
	r.state = "resolved";
	r.level = "L3";
	r.count = 9;
	r.last_seen = 1795741999;
	r.samples = NULL;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_update_incident(st, &r), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(query_int(path,
			     "SELECT count FROM incidents WHERE id = 5 AND "
			     "level = 'L3' AND last_seen = 1795741999 AND "
			     "rule = 'link-down' AND key = 'sw1:3' AND "
			     "first_seen = 1795741323 AND state = 'open' AND "
			     "samples = '[{\"message\":\"x\"}]'"),
	    9);
	assert_int_equal(query_int(path,
			     "SELECT COUNT(*) FROM incidents "
			     "INDEXED BY incidents_rule_key WHERE rule = "
			     "'link-down' AND key = 'sw1:3'"),
	    1);
	store_close(st);
	free(path);
	rmtree(dir);
}

/*
 * History and escalation rows written several to a statement: a row whose
 * incident is not stored is left out, the others of its batch are kept;
 * a step row written again is updated, its first firing kept.
 */
static void
test_rows(void **state)
{
	char *dir = tmpdir(), *cause = NULL, *path;
	struct store *st;
	struct store_incident r;
	struct store_history h[6];
	struct store_esc e[6];
	size_t i;

	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	path = dbpath(dir);
	sample_row(&r, 5, "open");
	memset(h, 0, sizeof(h));
	memset(e, 0, sizeof(e));
	for (i = 0; i < 6; i++) {
		h[i].incident_id = i == 2 ? 9 : 5; /* 9: no such incident */
		h[i].at = 1795741400 + (int64_t)i;
		h[i].action = "note";
		e[i].incident_id = 5;
		e[i].step = (int)i - 1;
		e[i].due = 1795741400 + (int64_t)i * 60;
	}
	e[1].fired_at = 1795741401;
	e[1].level = "L2";
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_add_histories(st, h, 6), 0);
	assert_int_equal(store_put_escs(st, e, 6), 0);
	assert_int_equal(store_commit(st), 0);
	e[1].fired_at = 1795749999;
	e[1].due = 1795741500;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_escs(st, &e[1], 1), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(query_int(path,
			     "SELECT COUNT(*) FROM incident_history WHERE "
			     "incident_id = 5 AND at <> 1795741402"),
	    5);
	assert_int_equal(query_int(path,
			     "SELECT COUNT(*) FROM "
			     "incident_history WHERE "
			     "incident_id = 9"),
	    0);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM escalation"), 6);
	assert_int_equal(query_int(path,
			     "SELECT fired_at FROM escalation WHERE step = 0 "
			     "AND due = 1795741500 AND level = 'L2'"),
	    1795741401);
	store_close(st);
	free(path);
	rmtree(dir);
}

/*
 * A store that keeps no incidents (replay's): incident, history and
 * escalation rows are accepted and not written, so none is read back;
 * the meta table and the other tables are kept.
 */
static void
test_no_incidents(void **state)
{
	char *dir = tmpdir(), *cause = NULL, *path;
	struct store *st;
	struct store_incident r;
	struct store_history h = { 0 };
	struct store_esc e = { 0 };
	int64_t v = 0;
	int n = 0;

	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	path = dbpath(dir);
	assert_int_equal(store_keeps_incidents(st), 1);
	store_set_no_incidents(st);
	assert_int_equal(store_keeps_incidents(st), 0);
	sample_row(&r, 5, "open");
	h.incident_id = 5;
	h.at = 1795741400;
	h.action = "open";
	e.incident_id = 5;
	e.due = 1795741460;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_update_incident(st, &r), 0);
	assert_int_equal(store_add_history(st, &h), 0);
	assert_int_equal(store_add_histories(st, &h, 1), 0);
	assert_int_equal(store_put_escs(st, &e, 1), 0);
	assert_int_equal(store_set_meta(st, "next_id", 6), 0);
	assert_int_equal(store_put_silent(st, "silent", "web1", 1795741400), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_get(st, 5, count_cb, &n), 1);
	assert_int_equal(store_load_active(st, count_cb, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_max_id(st), 0);
	assert_int_equal(store_get_meta(st, "next_id", &v), 0);
	assert_int_equal(v, 6);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM incidents"), 0);
	assert_int_equal(query_int(path,
			     "SELECT COUNT(*) FROM incident_history"),
	    0);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM escalation"), 0);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM silent_hosts"),
	    1);
	store_close(st);
	free(path);
	rmtree(dir);
}

/* List filters: state, active, severity, host glob, rule, paging. */
static void
test_list(void **state)
{
	char *dir = tmpdir(), *cause = NULL;
	struct store *st;
	struct store_incident r;
	struct store_filter f;
	size_t total;
	int n;

	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	assert_int_equal(store_begin(st), 0);
	sample_row(&r, 1, "open");
	assert_int_equal(store_put_incident(st, &r), 0);
	sample_row(&r, 2, "resolved");
	r.host = "web01";
	assert_int_equal(store_put_incident(st, &r), 0);
	sample_row(&r, 3, "acknowledged");
	r.host = "web02";
	r.severity = "critical";
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_commit(st), 0);

	memset(&f, 0, sizeof(f));
	f.limit = 10;
	n = 0;
	assert_int_equal(store_list(st, &f, count_cb, &n, &total), 0);
	assert_int_equal(n, 3);
	assert_int_equal(total, 3);
	f.active = 1;
	n = 0;
	assert_int_equal(store_list(st, &f, count_cb, &n, &total), 0);
	assert_int_equal(total, 2);
	f.active = 0;
	f.host = "web*";
	n = 0;
	assert_int_equal(store_list(st, &f, count_cb, &n, &total), 0);
	assert_int_equal(total, 2);
	f.severity = "critical";
	assert_int_equal(store_list(st, &f, count_cb, &n, &total), 0);
	assert_int_equal(total, 1);
	memset(&f, 0, sizeof(f));
	f.limit = 1;
	f.offset = 1;
	n = 0;
	assert_int_equal(store_list(st, &f, count_cb, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_int_equal(total, 3);
	store_close(st);
	rmtree(dir);
}

/* A file of garbage is moved aside and an empty store is made. */
static void
test_quarantine_garbage(void **state)
{
	char *dir = tmpdir(), *path, *cause = NULL, junk[8192];
	struct store *st;
	FILE *f;
	size_t i;

	assert_int_equal(mkdir(dir, 0750), 0);
	path = dbpath(dir);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	assert_int_equal(count_files(dir, "sopd.db.corrupt-"), 1);
	assert_int_equal(query_int(path, "PRAGMA user_version"),
	    store_schema_version());
	store_close(st);
	free(path);
	rmtree(dir);
}

/* A database whose pages are damaged fails quick_check: moved aside. */
static void
test_quarantine_pages(void **state)
{
	char *dir = tmpdir(), *path, *cause = NULL, junk[4096];
	struct store *st;
	int fd;

	assert_int_equal(mkdir(dir, 0750), 0);
	path = dbpath(dir);
	exec_sql(path,
	    "PRAGMA page_size = 4096; CREATE TABLE t (a TEXT); "
	    "CREATE INDEX ti ON t (a); WITH RECURSIVE c(x) AS (SELECT 1 UNION "
	    "ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO t SELECT "
	    "printf('%0100d', x) FROM c;");
	memset(junk, 0x5a, sizeof(junk));
	assert_true((fd = open(path, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096 * 5),
	    (ssize_t)sizeof(junk));
	close(fd);
	st = store_open(dir, NULL, &cause);
	assert_non_null(st);
	assert_int_equal(count_files(dir, "sopd.db.corrupt-"), 1);
	assert_int_equal(query_int(path,
			     "SELECT count(*) FROM sqlite_master "
			     "WHERE name = 't'"),
	    0);
	store_close(st);
	free(path);
	rmtree(dir);
}

/* Insert a resolved incident with one history row and an escalation step. */
static void
put_resolved(struct store *st, uint64_t id, int64_t resolved_at)
{
	struct store_incident r;
	struct store_history h;
	struct store_esc e;

	sample_row(&r, id, "resolved");
	r.resolved_at = resolved_at;
	memset(&h, 0, sizeof(h));
	h.incident_id = id;
	h.at = resolved_at;
	h.actor = "test";
	h.action = "resolve";
	memset(&e, 0, sizeof(e));
	e.incident_id = id;
	e.step = 0;
	e.due = resolved_at;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_add_history(st, &h), 0);
	assert_int_equal(store_put_esc(st, &e), 0);
	assert_int_equal(store_commit(st), 0);
}

/*
 * New files use incremental auto-vacuum; a file made without it is
 * rebuilt once at open, keeping its rows.
 */
static void
test_auto_vacuum(void **state)
{
	char *dir = tmpdir(), *path = dbpath(dir), *cause = NULL;
	struct store *st;

	assert_non_null(st = store_open(dir, NULL, &cause));
	put_resolved(st, 7, 1000);
	store_close(st);
	assert_int_equal(query_int(path, "PRAGMA auto_vacuum"), 2);
	exec_sql(path, "PRAGMA auto_vacuum = NONE; VACUUM;");
	assert_int_equal(query_int(path, "PRAGMA auto_vacuum"), 0);
	assert_non_null(st = store_open(dir, NULL, &cause));
	store_close(st);
	assert_int_equal(query_int(path, "PRAGMA auto_vacuum"), 2);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM incidents"), 1);
	free(path);
	rmtree(dir);
}

/*
 * Pruning deletes at most `limit` resolved incidents per call, the oldest
 * first, with their history, escalation steps and notices; newer ones and
 * active ones stay; the free pages then go back to the file system.
 */
static void
test_prune(void **state)
{
	char *dir = tmpdir(), *path = dbpath(dir), *cause = NULL;
	struct store_incident r;
	struct store *st;
	uint64_t id;

	assert_non_null(st = store_open(dir, NULL, &cause));
	for (id = 1; id <= 5; id++)
		put_resolved(st, id, 1000 + (int64_t)id); /* old */
	put_resolved(st, 6, 5000);			  /* recent */
	sample_row(&r, 7, "open");
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put_incident(st, &r), 0);
	assert_int_equal(store_commit(st), 0);
	exec_sql(path,
	    "INSERT INTO notice_log (incident_id, idem_key, at, notification, "
	    "level, targets, outcome) VALUES (1, '1-opened-0', 1, 'opened', "
	    "'L1', 'noc', 'delivered'), (6, '6-opened-0', 1, 'opened', 'L1', "
	    "'noc', 'failed');");
	assert_int_equal(store_prune(st, 2000, 2), 2);
	assert_int_equal(query_int(path, "SELECT MIN(id) FROM incidents"), 3);
	assert_int_equal(store_prune(st, 2000, 2), 2);
	assert_int_equal(store_prune(st, 2000, 2), 1);
	assert_int_equal(store_prune(st, 2000, 2), 0);
	assert_int_equal(query_int(path,
			     "SELECT group_concat(id) = '6,7' "
			     "FROM (SELECT id FROM incidents ORDER BY id)"),
	    1);
	assert_int_equal(query_int(path,
			     "SELECT COUNT(*) FROM "
			     "incident_history WHERE incident_id < 6"),
	    0);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM escalation"), 1);
	/* The notices sent for an incident go with it. */
	assert_int_equal(query_int(path,
			     "SELECT group_concat(incident_id) = '6' "
			     "FROM notice_log"),
	    1);
	assert_true(store_vacuum_step(st, 1000) == 0);
	store_close(st);
	free(path);
	rmtree(dir);
}

/*
 * Metric samples fold into 5-minute and hourly rows (sum, count, min, max)
 * as they are written; pruning deletes expired rows only, at most max a
 * step, the 5-minute rows first.
 */
static void
test_metrics(void **state)
{
	char *dir = tmpdir(), *path = dbpath(dir), *cause = NULL;
	struct store *st;
	struct store_metric m[3] = {
		{ "web-1", "cpu.load_pct", NULL, 1000000000 + 10, 20 },
		{ "web-1", "cpu.load_pct", NULL, 1000000000 + 70, 60 },
		{ "web-1", "disk.used_pct", "/var", 1000000000 + 400, 91 },
	};
	int64_t t0 = 1000000000 - (1000000000 % 3600);
	int n;

	assert_non_null(st = store_open(dir, "normal", &cause));
	assert_int_equal(store_put_metrics(st, m, 3), 0);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_5m"), 2);
	assert_int_equal(query_int(path,
			     "SELECT n * 1000 + min * 10 + max "
			     "FROM metric_5m WHERE metric = 'cpu.load_pct'"),
	    2000 + 200 + 60);
	assert_int_equal(query_int(path,
			     "SELECT sum FROM metric_5m WHERE "
			     "metric = 'cpu.load_pct'"),
	    80);
	assert_int_equal(query_int(path,
			     "SELECT at FROM metric_5m WHERE "
			     "inst = '/var'"),
	    1000000200);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_1h"), 2);
	assert_int_equal(query_int(path, "SELECT at FROM metric_1h LIMIT 1"),
	    t0);
	/* Nothing is expired before t0: nothing goes. */
	assert_int_equal(store_prune_metrics(st, t0, t0, 100), 0);
	/* One row a step: the two 5-minute rows, then the two hourly ones. */
	assert_int_equal(store_prune_metrics(st, t0 + 3600, t0 + 3600, 1), 1);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_5m"), 1);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_1h"), 2);
	n = store_prune_metrics(st, t0 + 3600, t0, 10);
	assert_int_equal(n, 1);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_1h"), 2);
	assert_int_equal(store_prune_metrics(st, t0 + 3600, t0 + 3600, 10), 2);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_1h"), 0);
	store_close(st);
	free(path);
	rmtree(dir);
}

/*
 * Add the rows of 1,000 hosts of 34 series each (34,000 rows) to table at
 * bucket at, as their polls would.
 */
static void
put_fleet(const char *path, const char *table, int64_t at)
{
	char *sql;

	assert_true(asprintf(&sql,
			"WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT "
			"i + 1 FROM h WHERE i < 999), m(j) AS (SELECT 0 "
			"UNION ALL SELECT j + 1 FROM m WHERE j < 33) "
			"INSERT INTO %s (host, metric, inst, at, sum, n, min, "
			"max) SELECT printf('host-%%04d.example.com', i), "
			"printf('metric.%%02d', j), '', %lld, 50, 1, 50, 50 "
			"FROM h, m",
			table, (long long)at) > 0);
	exec_sql(path, sql);
	free(sql);
}

static long long
count_before(const char *path, const char *table, int64_t before)
{
	char *sql;
	long long n;

	assert_true(asprintf(&sql, "SELECT count(*) FROM %s WHERE at < %lld",
			table, (long long)before) > 0);
	n = query_int(path, sql);
	free(sql);
	return n;
}

/*
 * Pruning keeps up with 1,000 hosts of 34 series: every 5 minutes the
 * 34,000 5-minute rows of a bucket expire (and every hour 34,000 hourly
 * ones), while as many arrive.  Turns driven as the poller drives them
 * (the next one after the seconds the turn returns) on a simulated clock
 * leave no row expired for more than three minutes (the hour's 68,000
 * rows take at most 136 turns of one slice), so the tables hold what their
 * retention keeps and no backlog.
 */
static void
test_metrics_prune_keeps_up(void **state)
{
	char *dir = tmpdir(), *path = dbpath(dir), *cause = NULL;
	struct store *st;
	int64_t t0 = 2000000000 - (2000000000 % 3600) - 600, t, due, k;
	const int64_t span = 30 * 60;
	size_t n, total = 0;
	long long left;

	assert_non_null(st = store_open(dir, NULL, &cause));
	/*
	 * What expires in the next 30 minutes: a 5-minute bucket every 5
	 * minutes, and at the hour (t0 + 600) an hourly bucket with it.
	 */
	for (k = 0; k <= span; k += 300)
		put_fleet(path, "metric_5m", t0 - METRICS_KEEP_5M + k);
	put_fleet(path, "metric_1h", t0 + 600 - METRICS_KEEP_1H);
	due = t0;
	for (t = t0; t <= t0 + span; t++) {
		if ((t - t0) % 300 == 0)
			put_fleet(path, "metric_5m", t);
		if (t >= due) {
			due = t + metrics_prune_turn(st, t, &n);
			total += n;
		}
		if ((t - t0) % 60 != 59)
			continue;
		left =
		    count_before(path, "metric_5m", t - METRICS_KEEP_5M - 180) +
		    count_before(path, "metric_1h", t - METRICS_KEEP_1H - 180);
		if (left != 0)
			fail_msg("at +%llds %lld rows expired for over 3 "
				 "minutes remain",
			    (long long)(t - t0), left);
	}
	/* Every expired row went, and only those. */
	assert_int_equal(total, 6 * 34000 + 34000);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_1h"), 0);
	assert_int_equal(query_int(path, "SELECT count(*) FROM metric_5m"),
	    (1 + 7) * 34000);
	store_close(st);
	free(path);
	rmtree(dir);
}

/* Bytes the rows of the file take (its pages less the free ones). */
static long long
used_bytes(const char *path)
{
	return (query_int(path, "PRAGMA page_count") -
		   query_int(path, "PRAGMA freelist_count")) *
	    query_int(path, "PRAGMA page_size");
}

/* Poll a typical server (24 series) at at; prune until caught up. */
static void
poll_server(struct store *st, int64_t at)
{
	static const char *const inst[] = { "/", "/var", "/home", "eth0",
		"eth1" };
	static const char *const host[] = { "host.up", "host.misses",
		"sys.uptime", "cpu.load_pct", "load.1", "load.5", "load.15",
		"mem.used_pct" };
	static const char *const disk[] = { "disk.used_pct",
		"disk.used_bytes" };
	static const char *const ifm[] = { "if.oper_up", "if.in_bps",
		"if.out_bps", "if.errors_ps", "if.discards_ps" };
	struct store_metric m[24];
	size_t i, j, n = 0, d;

	for (i = 0; i < 8; i++)
		m[n++] = (struct store_metric){ "web-01.example.com", host[i],
			NULL, at, 42.5 };
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++)
			m[n++] = (struct store_metric){ "web-01.example.com",
				disk[j], inst[i], at, 1e9 + (double)at };
	for (i = 3; i < 5; i++)
		for (j = 0; j < 5; j++)
			m[n++] = (struct store_metric){ "web-01.example.com",
				ifm[j], inst[i], at, 123456.0 };
	assert_int_equal(n, 24);
	assert_int_equal(store_put_metrics(st, m, n), 0);
	while (metrics_prune_turn(st, at, &d) == METRICS_PRUNE_SOON)
		;
}

/*
 * The figures README gives for a typical server (24 series, an
 * 18-character host name) hold: 24 x (288 + 24) rows its first day, at
 * most 2304 5-minute and 9600 hourly rows a series once pruned, at most
 * 140 bytes a row with the indexes: 1.05 MB a day, at most 40 MB.
 */
static void
test_metrics_size_per_host(void **state)
{
	char *dir = tmpdir(), *path = dbpath(dir), *cause = NULL;
	struct store *st;
	int64_t t0 = 2000000000 - (2000000000 % 86400), at;
	long long base, rows;

	assert_non_null(st = store_open(dir, NULL, &cause));
	base = used_bytes(path);
	/* Every 5 minutes for a day, then 8 more days. */
	for (at = t0 + 17; at < t0 + 86400; at += 300)
		poll_server(st, at);
	rows = query_int(path,
	    "SELECT (SELECT count(*) FROM metric_5m) + "
	    "(SELECT count(*) FROM metric_1h)");
	assert_int_equal(rows, 24 * (288 + 24));
	assert_true(used_bytes(path) - base <= rows * 140);
	for (; at < t0 + 9 * 86400; at += 300)
		poll_server(st, at);
	assert_int_equal(query_int(path,
			     "SELECT max(c) FROM (SELECT "
			     "count(*) c FROM metric_5m GROUP BY "
			     "metric, inst)"),
	    2304);
	/* Then once an hour (the rows are the same) to day 402. */
	for (; at < t0 + 402 * 86400; at += 3600)
		poll_server(st, at);
	assert_int_equal(query_int(path,
			     "SELECT max(c) FROM (SELECT "
			     "count(*) c FROM metric_1h GROUP BY "
			     "metric, inst)"),
	    9600);
	rows = query_int(path,
	    "SELECT (SELECT count(*) FROM metric_5m) + "
	    "(SELECT count(*) FROM metric_1h)");
	assert_true(rows <= 24 * (2304 + 9600));
	assert_true(used_bytes(path) - base <= rows * 140);
	store_close(st);
	free(path);
	rmtree(dir);
}

/* The online backup copies the rows into a sound file of its own. */
static void
test_backup(void **state)
{
	char *dir = tmpdir(), *path, *copy, *cause = NULL;
	struct store_backup *b;
	struct store *st;
	uint64_t id;
	int rc, steps = 0;

	assert_non_null(st = store_open(dir, NULL, &cause));
	for (id = 1; id <= 50; id++)
		put_resolved(st, id, 1000);
	assert_true(asprintf(&copy, "%s/copy.db", dir) > 0);
	assert_non_null(b = store_backup_start(st, copy, &cause));
	while ((rc = store_backup_step(b, 1, &cause)) == 0) {
		if (steps++ == 2) /* a write during the copy is in it */
			put_resolved(st, 51, 1000);
	}
	assert_int_equal(rc, 1);
	store_backup_free(b);
	assert_true(steps > 2);
	assert_int_equal(query_int(copy, "SELECT COUNT(*) FROM incidents"), 51);
	assert_int_equal(query_int(copy, "PRAGMA application_id"),
	    STORE_APP_ID);
	store_close(st);
	path = dbpath(dir);
	free(path);
	free(copy);
	rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_migrate_v0),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_no_incidents),
		cmocka_unit_test(test_quarantine_garbage),
		cmocka_unit_test(test_quarantine_pages),
		cmocka_unit_test(test_auto_vacuum),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_backup),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_metrics_prune_keeps_up),
		cmocka_unit_test(test_metrics_size_per_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
