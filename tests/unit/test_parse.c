/* test_parse.c: the syslog parser and the event JSON renderer against golden files and the loghub corpus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "event.h"
#include "event_json.h"
#include "syslog_parse.h"

/*
 * Golden files: tests/golden/parse/NAME.in holds one raw message per line,
 * NAME.json the expected JSON object per message (or {"rejected":"REASON"}).
 * In .in files: "\\" is a backslash, "\xHH" a byte, "\0" NUL, "\r" CR,
 * "\n" LF, "\t" TAB, "\-" nothing (a line "\-" is the empty message).
 * Empty lines and lines starting with '#' are skipped in both files, except
 * directives in .in files: "#!max_len N", "#!received RFC3339-UTC",
 * "#!peer ADDR" apply to the messages that follow. With
 * SOPD_GOLDEN_UPDATE=1 in the environment the .json files are rewritten.
 */

#define GOLDEN_DIR  "tests/golden/parse"
#define LOGHUB_DIR  "../shared/corpus/loghub"
#define RECEIVED_US 1795741200000000LL /* 2026-11-27T01:00:00Z */
#define MAXLINE	    70000

struct golden_opts {
	size_t max_len;
	int64_t received_us;
	char peer[64];
};

/* Parse "YYYY-MM-DDTHH:MM:SSZ" as UTC microseconds. */
static int64_t
test_utc(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		fail_msg("bad time %s", s);
	return (int64_t)timegm(&tm) * 1000000;
}

/* Decode the golden escape convention; return the length. */
static size_t
test_unescape(const char *s, char *out)
{
	size_t n = 0;
	unsigned v;

	while (*s != '\0') {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'x':
			if (sscanf(s + 1, "%2x", &v) != 1)
				fail_msg("bad \\x escape");
			out[n++] = (char)v;
			s += 3;
			continue;
		case '0':
			out[n++] = '\0';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case '-':
			break;
		default:
			out[n++] = *s;
			break;
		}
		s++;
	}
	return n;
}

/* Parse one raw message into JSON (or a rejection object). */
static json_t *
test_parse_json(char *buf, size_t len, const struct golden_opts *o)
{
	struct logevent *ev = calloc(1, sizeof *ev);
	enum stats_reason reason = REASON_MAX;
	json_t *j;

	ev->source = EVENT_SYSLOG;
	ev->transport = "udp";
	ev->peer = o->peer;
	ev->received_us = o->received_us;
	if (syslog_parse(buf, len, o->max_len, ev, &reason) == -1) {
		assert_true(
		    reason == REASON_EMPTY || reason == REASON_MALFORMED);
		j = json_pack("{s:s}", "rejected", stats_reason_name(reason));
	} else
		j = event_to_json(ev);
	free(ev);
	assert_non_null(j);
	return j;
}

/* Strip the line end of a line read with fgets. */
static void
test_chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Apply a "#!" directive. */
static void
test_directive(const char *s, struct golden_opts *o)
{
	if (strncmp(s, "#!max_len ", 10) == 0)
		o->max_len = strtoul(s + 10, NULL, 10);
	else if (strncmp(s, "#!received ", 11) == 0)
		o->received_us = test_utc(s + 11);
	else if (strncmp(s, "#!peer ", 7) == 0)
		snprintf(o->peer, sizeof o->peer, "%.63s", s + 7);
}

/* Read the next expected JSON line (skipping comments); NULL at the end. */
static json_t *
test_next_expected(FILE *f, int *lineno)
{
	char line[MAXLINE];
	json_error_t err;
	json_t *j;

	while (fgets(line, sizeof line, f) != NULL) {
		(*lineno)++;
		test_chomp(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((j = json_loads(line, 0, &err)) == NULL)
			fail_msg("json line %d: %s", *lineno, err.text);
		return j;
	}
	return NULL;
}

/* Compare (or, in update mode, write) one result. */
static int
test_check(json_t *got, FILE *exp, FILE *upd, const char *name, int inline_no)
{
	static int jline;
	json_t *want;
	char *g, *w;
	int ok;

	if (inline_no < 0) {
		jline = 0;
		return 1;
	}
	if (upd != NULL) {
		g = json_dumps(got, JSON_COMPACT);
		fprintf(upd, "%s\n", g);
		free(g);
		return 1;
	}
	if ((want = test_next_expected(exp, &jline)) == NULL) {
		print_error("%s.in:%d: no expected line\n", name, inline_no);
		return 0;
	}
	ok = json_equal(got, want);
	if (!ok) {
		g = json_dumps(got, JSON_COMPACT);
		w = json_dumps(want, JSON_COMPACT);
		print_error("%s.in:%d (json line %d)\n  got:  %s\n  want: %s\n",
		    name, inline_no, jline, g, w);
		free(g);
		free(w);
	}
	json_decref(want);
	return ok;
}

/* Run one golden pair NAME.in / NAME.json. */
static void
test_golden(void **state)
{
	const char *in_path = *state;
	char path[4096], name[256], line[MAXLINE];
	char buf[MAXLINE];
	struct golden_opts o = { 65536, RECEIVED_US, "192.0.2.1" };
	FILE *in, *exp = NULL, *upd = NULL;
	json_t *got;
	int lineno = 0, bad = 0;
	size_t n;

	snprintf(path, sizeof path, "%.*s.json", (int)(strlen(in_path) - 3),
	    in_path);
	snprintf(name, sizeof name, "%s", strrchr(in_path, '/') + 1);
	name[strlen(name) - 3] = '\0';
	assert_non_null(in = fopen(in_path, "r"));
	if (getenv("SOPD_GOLDEN_UPDATE") != NULL)
		assert_non_null(upd = fopen(path, "w"));
	else if ((exp = fopen(path, "r")) == NULL)
		fail_msg("missing %s", path);
	test_check(NULL, exp, upd, name, -1);
	while (fgets(line, sizeof line, in) != NULL) {
		lineno++;
		test_chomp(line);
		if (strncmp(line, "#!", 2) == 0)
			test_directive(line, &o);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		n = test_unescape(line, buf);
		got = test_parse_json(buf, n, &o);
		bad += !test_check(got, exp, upd, name, lineno);
		json_decref(got);
	}
	if (exp != NULL && test_next_expected(exp, &lineno) != NULL) {
		print_error("%s.json has extra lines\n", name);
		bad++;
	}
	fclose(in);
	if (exp != NULL)
		fclose(exp);
	if (upd != NULL)
		fclose(upd);
	assert_int_equal(bad, 0);
}

/* What a loghub line should give, worked out independently of the parser. */
struct oracle {
	char host[64];
	char program[64];
	char pid[32];
	char message[MAXLINE];
	int mon, day, hour, min, sec;
};

/* Split a loghub line "Mmm dd hh:mm:ss host tag: message" by hand. */
static void
test_oracle(const char *line, struct oracle *o)
{
	static const char *months = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4], tag[256];
	const char *p, *b;
	int used = 0;

	memset(o, 0, sizeof *o);
	assert_int_equal(sscanf(line, "%3s %d %d:%d:%d %63s %n", mon, &o->day,
			     &o->hour, &o->min, &o->sec, o->host, &used),
	    6);
	o->mon = (int)(strstr(months, mon) - months) / 3 + 1;
	p = line + used;
	b = strchr(p, ' ');
	snprintf(tag, sizeof tag, "%.*s", b ? (int)(b - p) : (int)strlen(p), p);
	if (tag[strlen(tag) - 1] == ':' || strchr(tag, '[') != NULL) {
		if (tag[strlen(tag) - 1] == ':')
			tag[strlen(tag) - 1] = '\0';
		if (strchr(tag, '[') != NULL) {
			sscanf(strchr(tag, '[') + 1, "%31[^]]", o->pid);
			*strchr(tag, '[') = '\0';
		}
		snprintf(o->program, sizeof o->program, "%.63s", tag);
		p = b ? b : p + strlen(p);
	}
	while (*p == ' ')
		p++;
	snprintf(o->message, sizeof o->message, "%s", p);
}

/* Check one parsed loghub line against the oracle. */
static void
test_loghub_line(const char *file, int lineno, char *line)
{
	struct oracle o;
	struct logevent *ev = calloc(1, sizeof *ev);
	enum stats_reason reason;
	struct tm tm;
	time_t t;
	char raw[MAXLINE];
	size_t n = strlen(line);

	memcpy(raw, line, n + 1);
	test_chomp(raw);
	test_oracle(raw, &o);
	ev->peer = "192.0.2.1";
	ev->received_us = RECEIVED_US;
	if (syslog_parse(line, n, 65536, ev, &reason) != 0)
		fail_msg("%s:%d: rejected", file, lineno);
	assert_int_equal(ev->format, EVENT_FMT_RFC3164);
	assert_int_equal(ev->flags, EVENT_F_NO_PRI);
	assert_string_equal(ev->host, o.host);
	if (o.program[0] == '\0')
		assert_null(ev->program);
	else
		assert_string_equal(ev->program, o.program);
	if (o.pid[0] == '\0')
		assert_null(ev->pid);
	else
		assert_string_equal(ev->pid, o.pid);
	assert_string_equal(ev->message, o.message);
	assert_int_equal(ev->message_len, strlen(o.message));
	t = (time_t)(ev->timestamp_us / 1000000);
	gmtime_r(&t, &tm);
	assert_int_equal(tm.tm_mon + 1, o.mon);
	assert_int_equal(tm.tm_mday, o.day);
	assert_int_equal(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec,
	    o.hour * 3600 + o.min * 60 + o.sec);
	/* Received 2026-11-27: never more than a day ahead of that. */
	assert_int_equal(tm.tm_year + 1900,
	    o.mon == 12 || (o.mon == 11 && o.day > 28) ? 2025 : 2026);
	free(ev);
}

/* Every line of the loghub corpus parses to what the oracle says. */
static void
test_loghub(void **state)
{
	const char *files[] = { "Linux_2k.log", "OpenSSH_2k.log" };
	char path[512], line[MAXLINE];
	FILE *f;
	size_t i;
	int lineno, total = 0;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", LOGHUB_DIR, files[i]);
		if ((f = fopen(path, "r")) == NULL) {
			print_message("skipping loghub: %s not found\n", path);
			skip();
		}
		for (lineno = 1; fgets(line, sizeof line, f) != NULL;
		     lineno++, total++)
			test_loghub_line(files[i], lineno, line);
		fclose(f);
	}
	assert_int_equal(total, 4000);
}

/* A parse with fixed defaults; returns syslog_parse's result. */
static int
test_parse1(const char *msg, size_t max_len, struct logevent *ev,
    enum stats_reason *reason, char *buf)
{
	size_t n = strlen(msg);

	memcpy(buf, msg, n + 1);
	memset(ev, 0, sizeof *ev);
	ev->peer = "192.0.2.1";
	ev->received_us = RECEIVED_US;
	return syslog_parse(buf, n, max_len, ev, reason);
}

/* 3164 local times follow TZ (mktime), including DST. */
static void
test_local_tz(void **state)
{
	struct logevent *ev = calloc(1, sizeof *ev);
	enum stats_reason r;
	char buf[256];

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	assert_int_equal(test_parse1("<13>Nov 27 10:00:00 h p: x", 1024, ev, &r,
			     buf),
	    0);
	assert_int_equal(ev->timestamp_us, RECEIVED_US);
	assert_int_equal(ev->tz_offset_min, 540);
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	assert_int_equal(test_parse1("<13>Jul  1 12:00:00 h p: x", 1024, ev, &r,
			     buf),
	    0);
	assert_int_equal(ev->tz_offset_min, 120);
	assert_int_equal(ev->timestamp_us, test_utc("2026-07-01T10:00:00Z"));
	assert_int_equal(test_parse1("<13>Nov 27 02:00:00 h p: x", 1024, ev, &r,
			     buf),
	    0);
	assert_int_equal(ev->tz_offset_min, 60);
	assert_int_equal(ev->timestamp_us, RECEIVED_US);
	setenv("TZ", "UTC", 1);
	tzset();
	free(ev);
}

/* Random bytes never crash the parser and always render as valid JSON. */
static void
test_random(void **state)
{
	static const char alpha[] = "<>0123456789 :[]-%*.T\"\\=ZAMarJun"
				    "\x00\xc3\xa9\xff\xe2\x82\r\n";
	struct logevent *ev = calloc(1, sizeof *ev);
	enum stats_reason r;
	char buf[300], *s;
	size_t n, i, max;
	json_t *j;
	int iter;

	srandom(42);
	for (iter = 0; iter < 200000; iter++) {
		n = (size_t)random() % 200;
		for (i = 0; i < n; i++)
			buf[i] = random() % 4 == 0 ?
			    (char)random() :
			    alpha[random() % (sizeof alpha - 1)];
		max = 20 + (size_t)random() % 200;
		memset(ev, 0, sizeof *ev);
		ev->peer = "192.0.2.1";
		if (syslog_parse(buf, n, max, ev, &r) == -1) {
			/* Only blank messages are rejected. */
			assert_int_equal(r, REASON_EMPTY);
			continue;
		}
		assert_true(ev->message >= buf && ev->message <= buf + n);
		assert_true(ev->message_len <= max);
		j = event_to_json(ev);
		s = json_dumps(j, JSON_COMPACT);
		assert_non_null(s);
		assert_true(strstr(s, "\"message\":null") == NULL);
		free(s);
		json_decref(j);
		j = json_stringn(ev->message, ev->message_len);
		assert_non_null(j);
		json_decref(j);
	}
	free(ev);
}

/* event_json_text(ev, t) is json_dumps of event_to_json, plus the mark. */
static void
test_text_same(const struct logevent *ev)
{
	json_t *j = event_to_json(ev);
	char *want, *got;

	got = event_json_text(ev, 0);
	if (ev->source == EVENT_TRAP || ev->nsd != 0) {
		assert_null(got);
		json_decref(j);
		return;
	}
	want = json_dumps(j, JSON_COMPACT);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_object_set_new(j, "sample_truncated", json_true());
	want = json_dumps(j, JSON_COMPACT);
	got = event_json_text(ev, 1);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(j);
}

/*
 * The text written without jansson matches jansson's byte for byte on
 * random messages: control bytes, quotes, backslashes, NUL, UTF-8 valid
 * and not, in the message and the header fields; repairs; 5424 with and
 * without structured data (with it: not handled, NULL).
 */
static void
test_json_text(void **state)
{
	static const char alpha[] = "<>0123456789 :[]-%*.T\"\\=ZAMarJun"
				    "\x00\x01\x1f\x7f\b\f\t\xc3\xa9\xff"
				    "\xe2\x82\xac\xed\xa0\xf0\x9f\x98\x80\r\n/";
	struct logevent *ev = calloc(1, sizeof *ev);
	enum stats_reason r;
	char buf[300];
	size_t h, n, i;
	int iter;

	srandom(7);
	for (iter = 0; iter < 50000; iter++) {
		h = 0, n = (size_t)random() % 200;
		if (iter % 3 == 0) { /* a header that parses, then bytes */
			h = (size_t)snprintf(buf, sizeof buf, "%s",
			    iter % 2 ? "<34>Nov 27 10:00:00 h\xc3\xa9 p[1]: " :
				       "<34>1 2026-11-27T10:00:00+09:00 h p 1 "
				       "m - ");
			n = h + 60;
		}
		for (i = h; i < n; i++)
			buf[i] = random() % 4 == 0 ?
			    (char)random() :
			    alpha[random() % (sizeof alpha - 1)];
		memset(ev, 0, sizeof *ev);
		ev->source = EVENT_SYSLOG;
		ev->transport = iter % 5 == 0 ? "u\"d\\p\x01" : "udp";
		ev->peer = iter % 7 == 0 ? "192.0.2.1\xff" : "192.0.2.1";
		ev->received_us = RECEIVED_US + iter;
		if (syslog_parse(buf, n, 20 + (size_t)random() % 200, ev, &r) ==
		    -1)
			continue;
		if (iter % 11 == 0)
			ev->community = "c\xc3";
		if (iter % 13 == 0)
			ev->trap_oid = "1.3.6";
		test_text_same(ev);
	}
	ev->source = EVENT_TRAP;
	test_text_same(ev);
	free(ev);
}

/* A trap event with invalid UTF-8 still renders, with '?' in place. */
static void
test_json_trap(void **state)
{
	struct logevent *ev = calloc(1, sizeof *ev);
	json_t *j, *vb;

	ev->source = EVENT_TRAP;
	ev->format = EVENT_FMT_TRAP_V2C;
	ev->transport = "snmp";
	ev->received_us = RECEIVED_US;
	ev->timestamp_us = RECEIVED_US;
	ev->peer = "192.0.2.7";
	ev->host = "192.0.2.7";
	ev->facility = ev->severity = -1;
	ev->trap_oid = "1.3.6.1.6.3.1.1.5.3";
	ev->community = "pub\xfflic";
	ev->nvb = 2;
	ev->vb[0] =
	    (struct event_varbind){ "1.3.6.1.2.1.2.2.1.1.2", "INTEGER", "2" };
	ev->vb[1] = (struct event_varbind){ "1.3.6.1.2.1.2.2.1.2.2",
		"OCTET STRING", "eth\xc3\x28" };
	ev->message = "link down";
	ev->message_len = 9;
	j = event_to_json(ev);
	assert_string_equal(json_string_value(json_object_get(j, "source")),
	    "trap");
	assert_string_equal(json_string_value(json_object_get(j, "format")),
	    "snmpv2c");
	assert_true(json_is_null(json_object_get(j, "facility")));
	assert_string_equal(json_string_value(json_object_get(j, "community")),
	    "pub?lic");
	vb = json_array_get(json_object_get(j, "varbinds"), 1);
	assert_string_equal(json_string_value(json_object_get(vb, "value")),
	    "eth?(");
	assert_string_equal(json_string_value(json_object_get(j, "received")),
	    "2026-11-27T01:00:00.000000Z");
	assert_string_equal(event_json_repair_name(EVENT_F_NO_TIME), "no_time");
	json_decref(j);
	free(ev);
}

/* Golden tests, one per NAME.in, plus the fixed ones. */
int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_loghub),
		cmocka_unit_test(test_local_tz),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_json_trap),
		cmocka_unit_test(test_json_text),
	};
	struct CMUnitTest *tests;
	glob_t g;
	size_t i, n = sizeof fixed / sizeof *fixed;
	int rc;

	setenv("TZ", "UTC", 1);
	tzset();
	if (glob(GOLDEN_DIR "/*.in", 0, NULL, &g) != 0)
		g.gl_pathc = 0;
	tests = calloc(g.gl_pathc + n, sizeof *tests);
	for (i = 0; i < g.gl_pathc; i++) {
		tests[i].name = strrchr(g.gl_pathv[i], '/') + 1;
		tests[i].test_func = test_golden;
		tests[i].initial_state = g.gl_pathv[i];
	}
	memcpy(tests + g.gl_pathc, fixed, sizeof fixed);
	rc =
	    _cmocka_run_group_tests("parse", tests, g.gl_pathc + n, NULL, NULL);
	free(tests);
	if (g.gl_pathc > 0)
		globfree(&g);
	return rc;
}
