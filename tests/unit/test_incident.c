/* test_incident.c: dedup, thresholds, clears, lifecycle, bounds, reload, views. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "config.h"
#include "event.h"
#include "incident.h"
#include "rules.h"
#include "stats.h"
#include "unit.h"

#define T0  1795741323LL /* 2026-11-27T01:02:03Z */
#define SEC 1000000LL

struct fixture {
	char dir[64];
	char *state_dir;
	struct config cfg;
	struct event_base *base;
	struct incidents *is;
};

/* Open the incidents on the fixture's config. */
static void
fx_open(struct fixture *fx)
{
	char *cause = NULL;

	fx->is = incidents_open(fx->base, &fx->cfg, &cause);
	if (fx->is == NULL)
		fail_msg("incidents_open: %s", cause);
}

/* A temporary state dir, an event base and default limits. */
static int
setup(void **state)
{
	struct fixture *fx;

	fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sopd-inc-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	if (asprintf(&fx->state_dir, "%s/var", fx->dir) < 0)
		return -1;
	unit_incident_config(&fx->cfg, fx->state_dir);
	fx->base = event_base_new();
	memset(&stats, 0, sizeof(stats));
	fx_open(fx);
	*state = fx;
	return 0;
}

/* Close everything and remove the state dir. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	incidents_close(fx->is);
	event_base_free(fx->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx->state_dir);
	free(fx);
	return 0;
}

/* A syslog event from host at T0 + sec seconds. */
static struct logevent
mkevent(const char *host, const char *msg, long long sec)
{
	struct logevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.format = EVENT_FMT_RFC5424;
	ev.transport = "udp";
	ev.received_us = (T0 + sec) * SEC;
	ev.timestamp_us = ev.received_us;
	ev.host = host;
	ev.peer = "127.0.0.1";
	ev.facility = 1;
	ev.severity = 3;
	ev.program = "test";
	ev.pid = NULL;
	ev.msgid = NULL;
	ev.message = msg;
	ev.message_len = strlen(msg);
	return ev;
}

/* A rule built by hand. */
static struct rule
mkrule(const char *name, const char *key, int severity)
{
	struct rule r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.file = "rules/test.yaml";
	r.line = 7;
	r.col = 3;
	r.action = RULE_INCIDENT;
	r.severity = severity;
	r.title = "{rule} on {host}";
	r.key = (char *)key;
	return r;
}

/* Feed one event through a rule, with an optional ifIndex capture. */
static void
feed(struct incidents *is, const struct rule *r, int clear, const char *host,
    const char *ifindex, long long sec)
{
	struct rule_hit hit;
	struct logevent ev = mkevent(host, "Interface went down", sec);

	memset(&hit, 0, sizeof(hit));
	hit.rule = r;
	hit.clear = clear;
	if (ifindex != NULL) {
		hit.ncap = 1;
		hit.cap_name[0] = "ifIndex";
		snprintf(hit.buf, sizeof(hit.buf), "%s", ifindex);
		hit.cap_value[0] = hit.buf;
	}
	incidents_event(is, &ev, &hit);
}

/* The list document for a filter (caller decrefs). */
static json_t *
list(struct incidents *is, int st, int active, int sev, const char *host,
    const char *rule, size_t limit, size_t offset)
{
	struct incident_filter f = { st, active, sev, host, rule, limit, offset,
		0, NULL };

	return incidents_list_json(is, &f);
}

/* The integer of a key of an object. */
static long long
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* The string of a key of an object. */
static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

/* The nth listed incident of a list document. */
static json_t *
nth(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "incidents"), i);
}

/* Repeated events of one key are one incident with a count. */
static void
test_dedup(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_HIGH);
	json_t *doc, *inc;

	feed(fx->is, &r, 0, "db1", NULL, 0);
	feed(fx->is, &r, 0, "db1", NULL, 5);
	feed(fx->is, &r, 0, "db1", NULL, 9);
	feed(fx->is, &r, 0, "db2", NULL, 10);
	assert_int_equal(incidents_active_count(fx->is), 2);
	assert_int_equal(stats.incidents_opened, 2);
	doc = list(fx->is, -1, 0, -1, NULL, NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 2);
	inc = nth(doc, 1);
	assert_int_equal(jint(inc, "id"), 1);
	assert_string_equal(jstr(inc, "key"), "disk-full:db1");
	assert_int_equal(jint(inc, "count"), 3);
	assert_string_equal(jstr(inc, "first_seen"), "2026-11-27T01:02:03Z");
	assert_string_equal(jstr(inc, "last_seen"), "2026-11-27T01:02:12Z");
	assert_string_equal(jstr(inc, "severity"), "high");
	assert_string_equal(jstr(inc, "level"), "L1");
	assert_string_equal(jstr(inc, "title"), "disk-full on db1");
	json_decref(doc);
}

/* A threshold opens at N events within the window, not when spread. */
static void
test_threshold(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("auth-fail", "{host}", SEV_MEDIUM);
	json_t *doc;

	r.threshold_count = 3;
	r.threshold_window = 60;
	/* Spread: every 3 consecutive events span more than 60 s. */
	feed(fx->is, &r, 0, "h1", NULL, 0);
	feed(fx->is, &r, 0, "h1", NULL, 40);
	feed(fx->is, &r, 0, "h1", NULL, 100);
	feed(fx->is, &r, 0, "h1", NULL, 150);
	assert_int_equal(incidents_active_count(fx->is), 0);
	/* Within: 150, 161, 170 (100, 150, 161 spans 61 s). */
	feed(fx->is, &r, 0, "h1", NULL, 161);
	assert_int_equal(incidents_active_count(fx->is), 0);
	feed(fx->is, &r, 0, "h1", NULL, 170);
	assert_int_equal(incidents_active_count(fx->is), 1);
	feed(fx->is, &r, 0, "h1", NULL, 500);
	assert_int_equal(incidents_active_count(fx->is), 1);
	doc = list(fx->is, -1, 0, -1, NULL, NULL, 0, 0);
	assert_int_equal(jint(nth(doc, 0), "count"), 4);
	assert_string_equal(jstr(nth(doc, 0), "first_seen"),
	    "2026-11-27T01:04:33Z");
	json_decref(doc);
	/* Another key counts on its own. */
	feed(fx->is, &r, 0, "h2", NULL, 170);
	feed(fx->is, &r, 0, "h2", NULL, 171);
	assert_int_equal(incidents_active_count(fx->is), 1);
}

/* The threshold state is bounded: the oldest keys are evicted. */
static void
test_threshold_bound(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("auth-fail", "{host}", SEV_MEDIUM);
	char host[16];
	json_t *st;
	int i;

	fx->cfg.max_threshold_keys = 10;
	incidents_reconfigure(fx->is, &fx->cfg);
	r.threshold_count = 2;
	r.threshold_window = 60;
	for (i = 0; i < 50; i++) {
		snprintf(host, sizeof(host), "h%d", i);
		feed(fx->is, &r, 0, host, NULL, i);
	}
	st = incidents_stats_json(fx->is);
	assert_int_equal(jint(st, "threshold_keys"), 10);
	assert_int_equal(jint(st, "threshold_evicted"), 40);
	json_decref(st);
	feed(fx->is, &r, 0, "h0", NULL, 51); /* evicted: starts over */
	assert_int_equal(incidents_active_count(fx->is), 0);
	feed(fx->is, &r, 0, "h49", NULL, 52); /* kept: opens */
	assert_int_equal(incidents_active_count(fx->is), 1);
}

/* A clear resolves the incident of its own key only. */
static void
test_clear(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("link-down", "{host}:{ifIndex}", SEV_HIGH);
	json_t *doc, *inc, *hist, *st;

	feed(fx->is, &r, 0, "sw1", "1", 0);
	feed(fx->is, &r, 0, "sw1", "2", 1);
	assert_int_equal(incidents_active_count(fx->is), 2);
	feed(fx->is, &r, 1, "sw1", "1", 30);
	assert_int_equal(incidents_active_count(fx->is), 1);
	assert_int_equal(stats.incidents_resolved, 1);
	feed(fx->is, &r, 1, "sw1", "3", 31); /* nothing to clear */
	assert_int_equal(incidents_active_count(fx->is), 1);
	st = incidents_stats_json(fx->is);
	assert_int_equal(jint(st, "clear_unmatched"), 1);
	json_decref(st);

	inc = incidents_get_json(fx->is, 1);
	assert_non_null(inc);
	assert_string_equal(jstr(inc, "state"), "resolved");
	assert_string_equal(jstr(inc, "key"), "sw1:1");
	assert_string_equal(jstr(inc, "resolved_at"), "2026-11-27T01:02:33Z");
	hist = json_object_get(inc, "history");
	assert_int_equal(json_array_size(hist), 2);
	assert_string_equal(jstr(json_array_get(hist, 1), "actor"),
	    "rule:link-down");
	assert_string_equal(jstr(json_array_get(hist, 1), "action"), "resolve");
	assert_string_equal(jstr(json_array_get(hist, 1), "from"), "open");
	assert_string_equal(jstr(json_array_get(hist, 1), "to"), "resolved");
	json_decref(inc);

	/* The key fails again: a new incident, a new id. */
	feed(fx->is, &r, 0, "sw1", "1", 60);
	doc = list(fx->is, INC_OPEN, 0, -1, NULL, NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 2);
	assert_int_equal(jint(nth(doc, 0), "id"), 3);
	assert_string_equal(jstr(nth(doc, 0), "key"), "sw1:1");
	json_decref(doc);
}

/* Ack, resolve and notes, their errors and their history. */
static void
test_lifecycle(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_CRITICAL);
	char *err = NULL;
	json_t *inc, *hist, *h;

	feed(fx->is, &r, 0, "db1", NULL, 0);
	assert_int_equal(incidents_ack(fx->is, 1, "alice", "on it", &err), 0);
	assert_int_equal(incidents_ack(fx->is, 1, "bob", NULL, &err), -1);
	assert_string_equal(err, "incident 1 is already acknowledged");
	free(err);
	assert_int_equal(incidents_ack(fx->is, 99, "bob", NULL, &err), -1);
	assert_string_equal(err, "no incident 99");
	free(err);
	assert_int_equal(incidents_note(fx->is, 1, "bob", "disk replaced",
			     &err),
	    0);
	assert_int_equal(incidents_resolve(fx->is, 1, "alice", "fixed", &err),
	    0);
	assert_int_equal(incidents_active_count(fx->is), 0);
	assert_int_equal(incidents_resolve(fx->is, 1, "alice", NULL, &err), -1);
	assert_string_equal(err, "incident 1 is resolved");
	free(err);
	assert_int_equal(incidents_ack(fx->is, 1, "alice", NULL, &err), -1);
	assert_string_equal(err, "incident 1 is resolved");
	free(err);
	assert_int_equal(incidents_note(fx->is, 1, "carol", "post-mortem",
			     &err),
	    0);
	assert_int_equal(incidents_note(fx->is, 77, "carol", "x", &err), -1);
	assert_string_equal(err, "no incident 77");
	free(err);

	inc = incidents_get_json(fx->is, 1);
	assert_string_equal(jstr(inc, "state"), "resolved");
	assert_string_equal(jstr(inc, "owner"), "alice");
	assert_string_equal(jstr(inc, "level"), "L2");
	assert_true(json_is_string(json_object_get(inc, "acked_at")));
	hist = json_object_get(inc, "history");
	assert_int_equal(json_array_size(hist), 5);
	h = json_array_get(hist, 0);
	assert_string_equal(jstr(h, "action"), "open");
	assert_true(json_is_null(json_object_get(h, "from")));
	h = json_array_get(hist, 1);
	assert_string_equal(jstr(h, "action"), "ack");
	assert_string_equal(jstr(h, "actor"), "alice");
	assert_string_equal(jstr(h, "note"), "on it");
	assert_string_equal(jstr(h, "to"), "acknowledged");
	h = json_array_get(hist, 2);
	assert_string_equal(jstr(h, "action"), "note");
	assert_string_equal(jstr(h, "from"), "acknowledged");
	h = json_array_get(hist, 3);
	assert_string_equal(jstr(h, "action"), "resolve");
	assert_string_equal(jstr(h, "from"), "acknowledged");
	assert_string_equal(jstr(h, "to"), "resolved");
	h = json_array_get(hist, 4);
	assert_string_equal(jstr(h, "note"), "post-mortem");
	assert_string_equal(jstr(h, "to"), "resolved");
	json_decref(inc);
	assert_null(incidents_get_json(fx->is, 42));

	/* Open -> resolved directly. */
	feed(fx->is, &r, 0, "db1", NULL, 100);
	assert_int_equal(incidents_resolve(fx->is, 2, "bob", NULL, &err), 0);
}

/* An owner assigned by someone, taken away, replaced by an ack. */
static void
test_assign(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_CRITICAL);
	char *err = NULL;
	json_t *inc, *hist, *h;

	feed(fx->is, &r, 0, "db1", NULL, 0);
	assert_int_equal(incidents_assign(fx->is, 1, "alice", "bob", &err), 0);
	inc = incidents_get_json(fx->is, 1);
	assert_string_equal(jstr(inc, "owner"), "bob");
	assert_string_equal(jstr(inc, "state"), "open");
	hist = json_object_get(inc, "history");
	assert_int_equal(json_array_size(hist), 2);
	h = json_array_get(hist, 1);
	assert_string_equal(jstr(h, "action"), "assign");
	assert_string_equal(jstr(h, "actor"), "alice");
	assert_string_equal(jstr(h, "note"), "bob");
	assert_string_equal(jstr(h, "from"), "open");
	assert_string_equal(jstr(h, "to"), "open");
	json_decref(inc);

	assert_int_equal(incidents_assign(fx->is, 1, "alice", "", &err), 0);
	inc = incidents_get_json(fx->is, 1);
	assert_true(json_is_null(json_object_get(inc, "owner")));
	h = json_array_get(json_object_get(inc, "history"), 2);
	assert_string_equal(jstr(h, "note"), "nobody");
	json_decref(inc);

	assert_int_equal(incidents_ack(fx->is, 1, "carol", NULL, &err), 0);
	inc = incidents_get_json(fx->is, 1);
	assert_string_equal(jstr(inc, "owner"), "carol");
	json_decref(inc);
	assert_int_equal(incidents_assign(fx->is, 1, "carol", "dave", &err), 0);
	assert_int_equal(incidents_resolve(fx->is, 1, "dave", NULL, &err), 0);
	assert_int_equal(incidents_assign(fx->is, 1, "carol", "erin", &err),
	    -1);
	assert_string_equal(err, "incident 1 is resolved");
	free(err);
	assert_int_equal(incidents_assign(fx->is, 9, "carol", "erin", &err),
	    -1);
	assert_string_equal(err, "no incident 9");
	free(err);
	inc = incidents_get_json(fx->is, 1); /* from the store now */
	assert_string_equal(jstr(inc, "owner"), "dave");
	assert_int_equal(json_array_size(json_object_get(inc, "history")), 6);
	json_decref(inc);
}

/* max_open_per_rule and max_open_incidents stop new incidents, counted. */
static void
test_bounds(void **state)
{
	struct fixture *fx = *state;
	struct rule a = mkrule("a", NULL, SEV_LOW);
	struct rule b = mkrule("b", NULL, SEV_LOW);
	json_t *st;

	fx->cfg.max_open_per_rule = 2;
	fx->cfg.max_open_incidents = 3;
	incidents_reconfigure(fx->is, &fx->cfg);
	feed(fx->is, &a, 0, "h1", NULL, 0);
	feed(fx->is, &a, 0, "h2", NULL, 0);
	feed(fx->is, &a, 0, "h3", NULL, 0); /* per rule */
	feed(fx->is, &a, 0, "h1", NULL, 1); /* an update still counts */
	assert_int_equal(incidents_active_count(fx->is), 2);
	feed(fx->is, &b, 0, "h1", NULL, 0);
	feed(fx->is, &b, 0, "h2", NULL, 0); /* in total */
	assert_int_equal(incidents_active_count(fx->is), 3);
	st = incidents_stats_json(fx->is);
	assert_int_equal(jint(st, "dropped"), 2);
	assert_int_equal(jint(st, "active"), 3);
	assert_int_equal(jint(json_object_get(st, "by_severity"), "low"), 3);
	json_decref(st);
	/* A resolution makes room again. */
	assert_int_equal(incidents_resolve(fx->is, 1, "x", NULL, NULL), 0);
	feed(fx->is, &a, 0, "h3", NULL, 2);
	assert_int_equal(incidents_active_count(fx->is), 3);
}

/* Close and reopen keeps incidents, their state, samples and the ids. */
static void
test_reload(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_HIGH);
	json_t *inc, *st;

	feed(fx->is, &r, 0, "db1", NULL, 0);
	feed(fx->is, &r, 0, "db1", NULL, 1);
	feed(fx->is, &r, 0, "db2", NULL, 2);
	feed(fx->is, &r, 0, "db3", NULL, 3);
	assert_int_equal(incidents_ack(fx->is, 2, "alice", NULL, NULL), 0);
	assert_int_equal(incidents_resolve(fx->is, 3, "alice", NULL, NULL), 0);
	feed(fx->is, &r, 0, "db1", NULL, 4); /* committed by close */
	incidents_close(fx->is);
	fx_open(fx);
	assert_int_equal(incidents_active_count(fx->is), 2);
	inc = incidents_get_json(fx->is, 1);
	assert_int_equal(jint(inc, "count"), 3);
	assert_int_equal(json_array_size(json_object_get(inc, "events")), 3);
	json_decref(inc);
	inc = incidents_get_json(fx->is, 2);
	assert_string_equal(jstr(inc, "state"), "acknowledged");
	assert_string_equal(jstr(inc, "owner"), "alice");
	json_decref(inc);
	st = incidents_stats_json(fx->is);
	assert_int_equal(jint(st, "open"), 1);
	assert_int_equal(jint(st, "acknowledged"), 1);
	json_decref(st);
	/* Dedup continues on the reloaded incident; ids are not reused. */
	feed(fx->is, &r, 0, "db1", NULL, 5);
	feed(fx->is, &r, 0, "db3", NULL, 6);
	inc = incidents_get_json(fx->is, 4);
	assert_non_null(inc);
	assert_string_equal(jstr(inc, "key"), "disk-full:db3");
	json_decref(inc);
	incidents_close(fx->is);
	fx_open(fx);
	feed(fx->is, &r, 0, "db9", NULL, 7);
	assert_non_null(inc = incidents_get_json(fx->is, 5));
	assert_int_equal(jint(inc, "count"), 1);
	json_decref(inc);
	assert_non_null(inc = incidents_get_json(fx->is, 1));
	assert_int_equal(jint(inc, "count"), 4);
	json_decref(inc);
}

/* List filters (state, active, severity, host glob, rule) and paging. */
static void
test_list_filters(void **state)
{
	struct fixture *fx = *state;
	struct rule a = mkrule("a", NULL, SEV_CRITICAL);
	struct rule b = mkrule("b", NULL, SEV_LOW);
	json_t *doc;

	feed(fx->is, &a, 0, "web01", NULL, 0); /* 1 */
	feed(fx->is, &a, 0, "web02", NULL, 0); /* 2 */
	feed(fx->is, &b, 0, "db01", NULL, 0);  /* 3 */
	feed(fx->is, &b, 0, "web03", NULL, 0); /* 4 */
	feed(fx->is, &a, 0, "db02", NULL, 0);  /* 5 */
	assert_int_equal(incidents_resolve(fx->is, 2, "x", NULL, NULL), 0);
	assert_int_equal(incidents_ack(fx->is, 4, "x", NULL, NULL), 0);

	doc = list(fx->is, -1, 0, -1, NULL, NULL, 2, 1);
	assert_int_equal(jint(doc, "total"), 5);
	assert_int_equal(jint(doc, "limit"), 2);
	assert_int_equal(jint(doc, "offset"), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "incidents")), 2);
	assert_int_equal(jint(nth(doc, 0), "id"), 4);
	assert_int_equal(jint(nth(doc, 1), "id"), 3);
	json_decref(doc);
	doc = list(fx->is, INC_RESOLVED, 0, -1, NULL, NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 1);
	assert_int_equal(jint(nth(doc, 0), "id"), 2);
	assert_int_equal(jint(doc, "limit"), 100);
	json_decref(doc);
	doc = list(fx->is, -1, 1, -1, NULL, NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 4);
	json_decref(doc);
	doc = list(fx->is, -1, 0, SEV_CRITICAL, "web*", NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 2);
	json_decref(doc);
	/* Hosts are matched ignoring case, as rules match them. */
	doc = list(fx->is, -1, 0, SEV_CRITICAL, "WEB*", NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 2);
	json_decref(doc);
	doc = list(fx->is, -1, 1, -1, "web0[13]", NULL, 0, 0);
	assert_int_equal(jint(doc, "total"), 2);
	json_decref(doc);
	doc = list(fx->is, INC_ACKNOWLEDGED, 0, -1, NULL, "b", 0, 0);
	assert_int_equal(jint(doc, "total"), 1);
	assert_string_equal(jstr(nth(doc, 0), "host"), "web03");
	json_decref(doc);
	doc = list(fx->is, -1, 0, -1, "db01", "a", 5000, 0);
	assert_int_equal(jint(doc, "total"), 0);
	assert_int_equal(jint(doc, "limit"), 1000);
	json_decref(doc);
}

/* A title or key cut at its limit ends on a character boundary. */
static void
test_utf8_cut(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("long", "{message}", SEV_HIGH);
	struct rule_hit hit;
	struct logevent ev;
	char msg[601];
	json_t *doc, *inc;
	size_t i;

	/* 200 three-byte characters: the 511-byte limit falls inside one. */
	for (i = 0; i < 200; i++)
		memcpy(msg + 3 * i, "\xe3\x81\x82", 3);
	msg[600] = '\0';
	r.title = "{message}";
	ev = mkevent("db1", msg, 0);
	memset(&hit, 0, sizeof(hit));
	hit.rule = &r;
	incidents_event(fx->is, &ev, &hit);
	doc = list(fx->is, -1, 0, -1, NULL, "long", 0, 0);
	assert_int_equal(jint(doc, "total"), 1);
	inc = nth(doc, 0);
	assert_int_equal(strlen(jstr(inc, "title")), 510);
	assert_int_equal(strlen(jstr(inc, "key")), 510);
	json_decref(doc);
	doc = incidents_get_json(fx->is, 1);
	assert_int_equal(strlen(jstr(doc, "title")), 510);
	json_decref(doc);
	/* The same event again is the same incident (same cut key). */
	incidents_event(fx->is, &ev, &hit);
	doc = list(fx->is, -1, 0, -1, NULL, "long", 0, 0);
	assert_int_equal(jint(doc, "total"), 1);
	assert_int_equal(jint(nth(doc, 0), "count"), 2);
	json_decref(doc);
}

/* An incident's JSON carries every field, RFC 3339 times and samples. */
static void
test_json(void **state)
{
	static const char *keys[] = { "id", "rule", "rule_file", "rule_line",
		"key", "severity", "state", "level", "host", "title", "count",
		"first_seen", "last_seen", "resolved_at", "acked_at", "owner",
		"next_escalation", "in_window", "events", "history" };
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_HIGH);
	struct rule_hit hit;
	struct logevent ev;
	char big[5000];
	json_t *inc, *events, *st;
	size_t i;
	int n;

	for (i = 0; i < 5; i++)
		feed(fx->is, &r, 0, "db1", NULL, (long long)i);
	/* A long message is cut in the sample. */
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	ev = mkevent("db1", big, 10);
	memset(&hit, 0, sizeof(hit));
	hit.rule = &r;
	incidents_event(fx->is, &ev, &hit);
	inc = incidents_get_json(fx->is, 1);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json_object_get(inc, keys[i]) == NULL)
			fail_msg("no %s", keys[i]);
	}
	assert_string_equal(jstr(inc, "rule_file"), "rules/test.yaml");
	assert_int_equal(jint(inc, "rule_line"), 7);
	assert_true(json_is_null(json_object_get(inc, "resolved_at")));
	assert_true(json_is_null(json_object_get(inc, "next_escalation")));
	assert_true(json_is_null(json_object_get(inc, "in_window")));
	assert_true(json_is_null(json_object_get(inc, "owner")));
	n = fnmatch("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:"
		    "[0-9][0-9]:[0-9][0-9]Z",
	    jstr(inc, "first_seen"), 0);
	assert_int_equal(n, 0);
	/* The ring keeps the newest sample_events (3) samples. */
	events = json_object_get(inc, "events");
	assert_int_equal(json_array_size(events), 3);
	assert_true(json_is_object(json_array_get(events, 0)));
	assert_string_equal(jstr(json_array_get(events, 0), "host"), "db1");
	assert_int_equal(strlen(jstr(json_array_get(events, 2), "message")),
	    1024);
	assert_true(json_is_true(
	    json_object_get(json_array_get(events, 2), "sample_truncated")));
	json_decref(inc);

	st = incidents_stats_json(fx->is);
	assert_int_equal(jint(st, "active"), 1);
	assert_int_equal(jint(st, "open"), 1);
	assert_int_equal(jint(json_object_get(st, "by_severity"), "high"), 1);
	assert_int_equal(jint(json_object_get(st, "by_severity"), "critical"),
	    0);
	assert_true(jint(st, "oldest_active_age") >= 0);
	json_decref(st);
}

/* Read one integer with a second connection. */
static long long
query_int(const char *dir, const char *sql)
{
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	snprintf(path, sizeof(path), "%s/sopd.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The commit timer writes a batch in one transaction without a flush. */
static void
test_commit_timer(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_HIGH);
	struct timeval tv = { 0, 200000 };
	uint64_t commits;
	int i;

	for (i = 0; i < 100; i++)
		feed(fx->is, &r, 0, i % 2 ? "a" : "b", NULL, i);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count(*) FROM incidents"),
	    0);
	commits = stats.store_commits;
	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
	assert_int_equal(stats.store_commits, commits + 1);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT sum(count) FROM incidents"),
	    100);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT value FROM meta WHERE name = 'next_id'"),
	    3);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count(*) FROM incident_history"),
	    2);
}

/*
 * A store locked by another connection fails the commit at once: the
 * changes are kept, retried and counted as busy retries.
 */
static void
test_store_error(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("link-down", "{host}:{ifIndex}", SEV_HIGH);
	char path[256], *err = NULL;
	sqlite3 *db;

	feed(fx->is, &r, 0, "sw1", "1", 0);
	feed(fx->is, &r, 0, "sw1", "2", 0);
	assert_int_equal(incidents_flush(fx->is), 0);
	snprintf(path, sizeof(path), "%s/sopd.db", fx->state_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	feed(fx->is, &r, 0, "sw1", "1", 1);
	feed(fx->is, &r, 1, "sw1", "2", 2); /* resolved while failing */
	feed(fx->is, &r, 0, "sw1", "3", 3);
	assert_int_equal(incidents_flush(fx->is), -1);
	assert_int_equal(stats.store_errors, 0);
	assert_int_equal(stats.store_busy_retries, 1);
	assert_int_equal(incidents_ack(fx->is, 1, "alice", NULL, &err), -1);
	assert_non_null(strstr(err, "incident 1 changed but not saved"));
	free(err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(incidents_flush(fx->is), 0);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count FROM incidents WHERE id = 1"),
	    2);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count(*) FROM incidents WHERE id = 2 AND "
			     "state = 'resolved'"),
	    1);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count(*) FROM incidents WHERE id = 3"),
	    1);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count(*) FROM incidents WHERE state = "
			     "'acknowledged'"),
	    1);
	assert_int_equal(query_int(fx->state_dir,
			     "SELECT count(*) FROM incident_history"),
	    5);
}

/* Count what the agent's iteration sees. */
static void
foreach_cb(const struct incident_info *ii, void *arg)
{
	uint64_t *last = arg;

	assert_true(ii->id > *last);
	assert_non_null(ii->level);
	assert_true(ii->first_seen_us > 0);
	*last = ii->id;
}

/* The agent's iteration visits active incidents in id order. */
static void
test_foreach(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_HIGH);
	uint64_t v, last = 0;

	feed(fx->is, &r, 0, "a", NULL, 0);
	feed(fx->is, &r, 0, "b", NULL, 0);
	feed(fx->is, &r, 0, "c", NULL, 0);
	assert_int_equal(incidents_resolve(fx->is, 2, "x", NULL, NULL), 0);
	v = incidents_version(fx->is);
	incidents_foreach_active(fx->is, foreach_cb, &last);
	assert_int_equal(last, 3);
	feed(fx->is, &r, 0, "a", NULL, 1);
	assert_true(incidents_version(fx->is) != v);
}

/* Report the cost of one dedup update (one incident, many events). */
static void
test_speed(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("link-down", "{host}:{ifIndex}", SEV_HIGH);
	struct rule_hit hit;
	struct logevent ev;
	struct timespec a, b;
	double ns;
	int i, n = 200000;

	ev = mkevent("sw1",
	    "Interface GigabitEthernet0/1 changed state to "
	    "down",
	    0);
	memset(&hit, 0, sizeof(hit));
	hit.rule = &r;
	hit.ncap = 1;
	hit.cap_name[0] = "ifIndex";
	hit.cap_value[0] = "3";
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		ev.received_us = T0 * SEC + i * 3; /* ~300,000/s */
		incidents_event(fx->is, &ev, &hit);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
	print_message("dedup update: %.0f ns per event (this build)\n", ns);
	assert_int_equal(incidents_active_count(fx->is), 1);
	assert_int_equal(incidents_flush(fx->is), 0);
}

/* Rows of a table of the store file, read with a connection of its own. */
static long long
rows(const struct fixture *fx, const char *table)
{
	char path[128], sql[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	snprintf(path, sizeof(path), "%s/sopd.db", fx->state_dir);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * A storm of new incidents is committed on the timer in batches, the loop
 * getting a turn between them; in the end every incident and every history
 * row is stored, clears queued after the openings included.
 */
static void
test_storm_batches(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("storm", "{host}", SEV_LOW);
	char host[32];
	uint64_t c0;
	int i, n = 20000, turns = 0;

	fx->cfg.max_open_incidents = 100000;
	fx->cfg.max_open_per_rule = 100000;
	incidents_reconfigure(fx->is, &fx->cfg);
	for (i = 0; i < n; i++) {
		snprintf(host, sizeof(host), "dev%d", i);
		feed(fx->is, &r, 0, host, NULL, 0);
	}
	for (i = 0; i < 100; i++) { /* clears: history after the opens */
		snprintf(host, sizeof(host), "dev%d", i);
		feed(fx->is, &r, 1, host, NULL, 1);
	}
	c0 = stats.store_commits;
	while (stats.store_commits == c0 && turns++ < 20)
		event_base_loop(fx->base, EVLOOP_ONCE);
	assert_int_equal(stats.store_commits, c0 + 1);
	assert_true(rows(fx, "incidents") > 0);
	assert_true(rows(fx, "incidents") < n);
	while (rows(fx, "incident_history") < n + 100 && turns++ < 5000)
		event_base_loop(fx->base, EVLOOP_ONCE);
	assert_int_equal(rows(fx, "incidents"), n);
	assert_int_equal(rows(fx, "incident_history"), n + 100);
	assert_true(stats.store_commits > c0 + 1);
	assert_true(stats.loop_max_stall_us > 0);
	assert_int_equal(stats.store_errors, 0);
}

/* Count the hooks' changes: [open, resolve]. */
static void
throwaway_cb(const struct incident_info *ii, enum incident_change what,
    void *arg)
{
	unsigned *n = arg;

	if (what == INC_CHANGE_OPEN)
		n[0]++;
	else if (what == INC_CHANGE_RESOLVE)
		n[1]++;
}

static const struct incident_hooks throwaway_hooks = { throwaway_cb, NULL,
	NULL };

/*
 * Incidents kept in memory only (replay's): opened, counted, escalated and
 * resolved as usual, the hooks told, the commits made; but no incident or
 * history row is stored, no sample kept, and a resolved incident is gone.
 */
static void
test_throwaway(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("link-down", "{host}:{ifIndex}", SEV_HIGH);
	struct incident_esc ie = { "L2", 0, -1, NULL, NULL, "escalate", "up",
		T0 };
	struct incident_info ii;
	unsigned n[2] = { 0, 0 };
	uint64_t c0 = stats.store_commits;
	json_t *o;

	incidents_set_throwaway(fx->is);
	incidents_add_hooks(fx->is, &throwaway_hooks, n);
	feed(fx->is, &r, 0, "sw1", "1", 0);
	feed(fx->is, &r, 0, "sw1", "1", 5);
	feed(fx->is, &r, 0, "sw1", "2", 6);
	assert_int_equal(incidents_set_escalation(fx->is, 1, &ie), 0);
	assert_int_equal(incidents_active_count(fx->is), 2);
	assert_int_equal(n[0], 2);
	assert_int_equal(incidents_info(fx->is, 1, &ii), 0);
	assert_int_equal(ii.count, 2);
	assert_string_equal(ii.level, "L2");
	assert_null(ii.last_event); /* no sample kept */
	assert_int_equal(incidents_flush(fx->is), 0);
	assert_int_equal(stats.store_commits, c0 + 1);
	assert_int_equal(rows(fx, "incidents"), 0);
	assert_int_equal(rows(fx, "incident_history"), 0);
	o = incidents_get_json(fx->is, 1); /* the active one, from memory */
	assert_non_null(o);
	assert_int_equal(jint(o, "count"), 2);
	assert_int_equal(json_array_size(json_object_get(o, "events")), 0);
	json_decref(o);

	feed(fx->is, &r, 1, "sw1", "1", 30);
	assert_int_equal(n[1], 1);
	assert_int_equal(incidents_active_count(fx->is), 1);
	assert_int_equal(incidents_flush(fx->is), 0);
	assert_null(incidents_get_json(fx->is, 1)); /* resolved: gone */
	assert_int_equal(incidents_active_id(fx->is, "link-down", "sw1:1"), 0);
	feed(fx->is, &r, 0, "sw1", "1", 60); /* fails again: a new id */
	assert_int_equal(incidents_active_id(fx->is, "link-down", "sw1:1"), 3);
	assert_int_equal(incidents_flush(fx->is), 0);
	assert_int_equal(rows(fx, "incidents"), 0);
	assert_int_equal(stats.store_errors, 0);
	incidents_remove_hooks(fx->is, &throwaway_hooks, n);
}

/* Feed one event with its own message at T0 + sec through a rule. */
static void
feed_msg(struct incidents *is, const struct rule *r, const char *msg,
    long long sec)
{
	struct rule_hit hit;
	struct logevent ev = mkevent("db1", msg, sec);

	memset(&hit, 0, sizeof(hit));
	hit.rule = r;
	incidents_event(is, &ev, &hit);
}

/* Whether incident 1's samples are the messages given, oldest first. */
static void
assert_samples(struct incidents *is, const char *want)
{
	json_t *inc, *events;
	char got[256] = "";
	size_t i;

	inc = incidents_get_json(is, 1);
	assert_non_null(inc);
	events = json_object_get(inc, "events");
	for (i = 0; i < json_array_size(events); i++) {
		if (i > 0)
			strcat(got, " ");
		strcat(got, jstr(json_array_get(events, i), "message"));
	}
	assert_string_equal(got, want);
	assert_string_equal(jstr(inc, "title"), "disk-full on db1");
	assert_string_equal(jstr(inc, "host"), "db1");
	assert_string_equal(jstr(inc, "rule_file"), "rules/test.yaml");
	json_decref(inc);
}

/*
 * The samples ring keeps the newest sample_events samples as it fills,
 * after sample_events grows or shrinks at a reload, and after a restart.
 */
static void
test_sample_ring(void **state)
{
	struct fixture *fx = *state;
	struct rule r = mkrule("disk-full", NULL, SEV_HIGH);

	feed_msg(fx->is, &r, "m1", 1);
	assert_samples(fx->is, "m1");
	feed_msg(fx->is, &r, "m2", 2);
	assert_samples(fx->is, "m1 m2");
	feed_msg(fx->is, &r, "m3", 3);
	feed_msg(fx->is, &r, "m4", 4);
	assert_samples(fx->is, "m2 m3 m4");
	fx->cfg.sample_events = 5;
	incidents_reconfigure(fx->is, &fx->cfg);
	assert_samples(fx->is, "m2 m3 m4");
	feed_msg(fx->is, &r, "m5", 5);
	feed_msg(fx->is, &r, "m6", 6);
	assert_samples(fx->is, "m2 m3 m4 m5 m6");
	feed_msg(fx->is, &r, "m7", 7);
	assert_samples(fx->is, "m3 m4 m5 m6 m7");
	fx->cfg.sample_events = 2;
	incidents_reconfigure(fx->is, &fx->cfg);
	assert_samples(fx->is, "m6 m7");
	incidents_close(fx->is);
	fx_open(fx);
	assert_samples(fx->is, "m6 m7");
	feed_msg(fx->is, &r, "m8", 8);
	assert_samples(fx->is, "m7 m8");
	fx->cfg.sample_events = 4;
	incidents_reconfigure(fx->is, &fx->cfg);
	feed_msg(fx->is, &r, "m9", 9);
	feed_msg(fx->is, &r, "m10", 10);
	feed_msg(fx->is, &r, "m11", 11);
	assert_samples(fx->is, "m8 m9 m10 m11");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threshold, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_threshold_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_timer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throwaway, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_storm_batches, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sample_ring, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
