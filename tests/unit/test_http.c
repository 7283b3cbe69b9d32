/* test_http.c: the HTTP API against real incidents, through an evhttp client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "http.h"
#include "incident.h"
#include "rules.h"
#include "stats.h"
#include "unit.h"

static char dir[] = "/tmp/sopd-http.XXXXXX";
static struct sopd sd;
static struct http *srv;
static int port;

/* What one request got back. */
struct reply {
	int code;
	char *body;
	char *ctype;
	char *csp;
	char *nosniff;
	int done;
};

/* A free loopback port (bound then released). */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, p;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

/* Feed one syslog line from a host through the rules into the incidents. */
static void
feed(const char *host, const char *program, const char *message)
{
	struct logevent ev;
	struct rule_hit hit;
	int64_t now = (int64_t)time(NULL) * 1000000;

	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.format = EVENT_FMT_RFC3164;
	ev.transport = "udp";
	ev.received_us = ev.timestamp_us = now;
	ev.host = host;
	ev.peer = "127.0.0.1";
	ev.facility = 0;
	ev.severity = 2;
	ev.program = program;
	ev.pid = ev.msgid = NULL;
	ev.message = message;
	ev.message_len = strlen(message);
	assert_int_equal(ruleset_match(sd.rules, &ev, &hit), 1);
	incidents_event(sd.incidents, &ev, &hit);
	assert_int_equal(incidents_flush(sd.incidents), 0);
}

/* Start a server with two incidents: a disk error and an OOM kill. */
static int
setup(void **state)
{
	char cfgtext[1024], *cause = NULL;
	struct errlist errs = { 0 };

	assert_non_null(mkdtemp(dir));
	port = free_port();
	unit_write_file(dir, "rules.yaml",
	    "rules:\n"
	    "  - name: disk-error\n"
	    "    severity: critical\n"
	    "    match:\n"
	    "      message: 'EXT4-fs error \\(device (?<dev>\\w+)\\)'\n"
	    "    title: 'disk error on {host} ({dev})'\n"
	    "  - name: oom\n"
	    "    severity: high\n"
	    "    match:\n"
	    "      message: 'Out of memory'\n");
	snprintf(cfgtext, sizeof(cfgtext),
	    "state_dir: %s/var\nhttp:\n  listen: 127.0.0.1:%d\n"
	    "rules: [%s/rules.yaml]\n",
	    dir, port, dir);
	memset(&sd, 0, sizeof(sd));
	sd.base = event_base_new();
	sd.cfg = config_load(unit_write_file(dir, "sopd.yaml", cfgtext), &errs);
	errlist_print(&errs, stderr);
	assert_non_null(sd.cfg);
	sd.rules = ruleset_load(sd.cfg, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(sd.rules);
	sd.incidents = incidents_open(sd.base, sd.cfg, &cause);
	if (sd.incidents == NULL)
		fail_msg("incidents_open: %s", cause);
	sd.started = time(NULL) - 5;
	feed("web1", "kernel", "EXT4-fs error (device sda1): ext4_find_entry");
	feed("db1", "kernel", "Out of memory: Killed process 1234 (java)");
	setenv("SOPD_WEBDIR", "web", 1);
	srv = http_start(&sd, &cause);
	if (srv == NULL)
		fail_msg("http_start: %s", cause);
	return 0;
}

/* Stop everything and remove the temp dir. */
static int
teardown(void **state)
{

	http_stop(srv);
	incidents_close(sd.incidents);
	ruleset_free(sd.rules);
	config_free(sd.cfg);
	event_base_free(sd.base);
	if (unit_rmtree(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return 0;
}

/* Copy a response header (or NULL). */
static char *
header_dup(struct evhttp_request *req, const char *name)
{
	const char *v;

	v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
	return v != NULL ? strdup(v) : NULL;
}

/* Client callback: keep what came back and stop the loop. */
static void
reply_cb(struct evhttp_request *req, void *arg)
{
	struct reply *rp = arg;
	struct evbuffer *b;
	size_t n;

	rp->done = 1;
	event_base_loopbreak(sd.base);
	if (req == NULL)
		return;
	rp->code = evhttp_request_get_response_code(req);
	b = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(b);
	rp->body = calloc(1, n + 1);
	evbuffer_remove(b, rp->body, n);
	rp->ctype = header_dup(req, "Content-Type");
	rp->csp = header_dup(req, "Content-Security-Policy");
	rp->nosniff = header_dup(req, "X-Content-Type-Options");
}

/* Free a reply's strings. */
static void
reply_free(struct reply *rp)
{
	free(rp->body);
	free(rp->ctype);
	free(rp->csp);
	free(rp->nosniff);
	memset(rp, 0, sizeof(*rp));
}

/* Make one request (extra header "Name: value" optional) and wait for it. */
static void
request(enum evhttp_cmd_type cmd, const char *path, const char *body,
    const char *hname, const char *hvalue, struct reply *rp)
{
	struct evhttp_connection *c;
	struct evhttp_request *req;
	struct evkeyvalq *h;

	memset(rp, 0, sizeof(*rp));
	c = evhttp_connection_base_new(sd.base, NULL, "127.0.0.1", port);
	evhttp_connection_set_timeout(c, 5);
	req = evhttp_request_new(reply_cb, rp);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", "127.0.0.1");
	if (hname != NULL)
		evhttp_add_header(h, hname, hvalue);
	if (body != NULL) {
		if (hname == NULL || strcmp(hname, "Content-Type") != 0)
			evhttp_add_header(h, "Content-Type",
			    "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    strlen(body));
	}
	assert_int_equal(evhttp_make_request(c, req, cmd, path), 0);
	while (!rp->done)
		event_base_dispatch(sd.base);
	evhttp_connection_free(c);
}

/* GET a path and parse the JSON answer; expect a status code. */
static json_t *
get_json(const char *path, int code)
{
	struct reply rp;
	json_t *doc;

	request(EVHTTP_REQ_GET, path, NULL, NULL, NULL, &rp);
	assert_int_equal(rp.code, code);
	assert_non_null(rp.ctype);
	assert_string_equal(rp.ctype, "application/json");
	doc = json_loads(rp.body, 0, NULL);
	assert_non_null(doc);
	reply_free(&rp);
	return doc;
}

/* POST a body and parse the JSON answer; expect a status code. */
static json_t *
post_json(const char *path, const char *body, int code)
{
	struct reply rp;
	json_t *doc;

	request(EVHTTP_REQ_POST, path, body, NULL, NULL, &rp);
	if (rp.code != code)
		fail_msg("POST %s: %d, expected %d: %s", path, rp.code, code,
		    rp.body != NULL ? rp.body : "(none)");
	doc = json_loads(rp.body, 0, NULL);
	assert_non_null(doc);
	reply_free(&rp);
	return doc;
}

/* The id of the incident of a rule, from the list. */
static json_int_t
incident_id(const char *rule)
{
	char path[128];
	json_t *doc;
	json_int_t id;

	snprintf(path, sizeof(path), "/api/v1/incidents?rule=%s", rule);
	doc = get_json(path, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "incidents")), 1);
	id = json_integer_value(
	    json_object_get(json_array_get(json_object_get(doc, "incidents"),
				0),
		"id"));
	json_decref(doc);
	return id;
}

/* /healthz says ok and counts active incidents. */
static void
test_healthz(void **state)
{
	json_t *doc = get_json("/healthz", 200);

	assert_string_equal(json_string_value(json_object_get(doc, "status")),
	    "ok");
	assert_int_equal(json_integer_value(
			     json_object_get(doc, "incidents_active")),
	    2);
	assert_true(json_integer_value(json_object_get(doc, "uptime")) >= 5);
	json_decref(doc);
}

/* The list filters by state, severity, host and rule, and pages. */
static void
test_list_filters(void **state)
{
	static const struct {
		const char *query;
		size_t n;
	} t[] = {
		{ "", 2 },
		{ "?state=active", 2 },
		{ "?state=open", 2 },
		{ "?state=resolved", 0 },
		{ "?severity=critical", 1 },
		{ "?severity=low", 0 },
		{ "?host=web1", 1 },
		{ "?host=web*", 1 },
		{ "?rule=oom", 1 },
		{ "?limit=1", 1 },
		{ "?limit=1&offset=1", 1 },
		{ "?offset=2", 0 },
		{ "?state=open&severity=high&host=db1", 1 },
	};
	char path[256];
	json_t *doc;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/incidents%s", t[i].query);
		doc = get_json(path, 200);
		if (json_array_size(json_object_get(doc, "incidents")) !=
		    t[i].n)
			fail_msg("%s: %zu incidents, expected %zu", path,
			    json_array_size(json_object_get(doc, "incidents")),
			    t[i].n);
		json_decref(doc);
	}
}

/* Bad query values are 400 with a JSON error. */
static void
test_list_bad(void **state)
{
	static const char *bad[] = {
		"?state=bogus",
		"?severity=urgent",
		"?limit=0",
		"?limit=1001",
		"?limit=ten",
		"?offset=-1",
		"?colour=red",
		"?host=",
		"?limit=99999999999999999999999",
	};
	char path[256];
	json_t *doc;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/incidents%s", bad[i]);
		doc = get_json(path, 400);
		assert_true(json_is_string(json_object_get(doc, "error")));
		json_decref(doc);
	}
}

/* One incident has the contract's fields; unknown or bad ids are refused. */
static void
test_get(void **state)
{
	static const char *fields[] = {
		"id",
		"rule",
		"key",
		"severity",
		"state",
		"level",
		"host",
		"title",
		"count",
		"first_seen",
		"last_seen",
		"resolved_at",
		"next_escalation",
		"in_window",
		"events",
		"history",
	};
	char path[128];
	json_t *doc;
	json_int_t id = incident_id("disk-error");
	size_t i;

	snprintf(path, sizeof(path), "/api/v1/incidents/%lld", (long long)id);
	doc = get_json(path, 200);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (json_object_get(doc, fields[i]) == NULL)
			fail_msg("field %s missing", fields[i]);
	}
	assert_string_equal(json_string_value(json_object_get(doc, "title")),
	    "disk error on web1 (sda1)");
	assert_string_equal(json_string_value(json_object_get(doc, "severity")),
	    "critical");
	json_decref(doc);
	json_decref(get_json("/api/v1/incidents/999999", 404));
	json_decref(get_json("/api/v1/incidents/abc", 400));
	json_decref(get_json("/api/v1/incidents/0", 400));
	json_decref(get_json("/api/v1/incidents/99999999999999999999999", 400));
}

/* Ack, note and resolve with the right codes for wrong transitions. */
static void
test_lifecycle(void **state)
{
	char base[128], path[160];
	json_t *doc;
	json_int_t id = incident_id("oom");

	snprintf(base, sizeof(base), "/api/v1/incidents/%lld", (long long)id);
	snprintf(path, sizeof(path), "%s/ack", base);
	doc =
	    post_json(path, "{\"actor\":\"alice\",\"note\":\"looking\"}", 200);
	assert_string_equal(json_string_value(json_object_get(doc, "state")),
	    "acknowledged");
	json_decref(doc);
	json_decref(post_json(path, "{}", 409));
	json_decref(post_json("/api/v1/incidents/999999/ack", NULL, 404));
	json_decref(post_json(path, "{\"actor\":", 400));
	json_decref(post_json(path, "[1]", 400));
	json_decref(post_json(path, "{\"actor\":5}", 400));
	snprintf(path, sizeof(path), "%s/notes", base);
	json_decref(post_json(path, "{\"actor\":\"bob\"}", 400));
	doc =
	    post_json(path, "{\"actor\":\"bob\",\"note\":\"swap added\"}", 200);
	assert_true(json_array_size(json_object_get(doc, "history")) >= 2);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/resolve", base);
	doc = post_json(path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(doc, "state")),
	    "resolved");
	json_decref(doc);
	json_decref(post_json(path, NULL, 409));
	doc = get_json("/api/v1/incidents?state=active", 200);
	assert_int_equal(json_array_size(json_object_get(doc, "incidents")), 1);
	json_decref(doc);
}

/* POSTs a foreign page could send are refused. */
static void
test_post_guards(void **state)
{
	struct reply rp;
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/incidents/%lld/ack",
	    (long long)incident_id("disk-error"));
	request(EVHTTP_REQ_POST, path, "{}", "Content-Type", "text/plain", &rp);
	assert_int_equal(rp.code, 415);
	reply_free(&rp);
	request(EVHTTP_REQ_POST, path, "{}", "Origin", "http://evil.example",
	    &rp);
	assert_int_equal(rp.code, 403);
	reply_free(&rp);
	request(EVHTTP_REQ_GET, path, NULL, NULL, NULL, &rp);
	assert_int_equal(rp.code, 405);
	reply_free(&rp);
	request(EVHTTP_REQ_PUT, path, NULL, NULL, NULL, &rp);
	assert_true(rp.code == 405 || rp.code == 501);
	reply_free(&rp);
}

/* An over-long body is refused by evhttp's limit, and sopd lives on. */
static void
test_body_limit(void **state)
{
	struct reply rp;
	char *big;
	size_t n = HTTP_MAX_BODY + 1024;

	big = malloc(n + 1);
	memset(big, ' ', n);
	big[n] = '\0';
	request(EVHTTP_REQ_POST, "/api/v1/incidents/1/notes", big, NULL, NULL,
	    &rp);
	assert_true(rp.code == 413 || rp.code == 0);
	reply_free(&rp);
	free(big);
	json_decref(get_json("/healthz", 200));
}

/* Stats carry inputs with reasons, rules with counters, daemon state. */
static void
test_stats(void **state)
{
	json_t *doc, *rules;

	stats.in[INPUT_UDP].received = 7;
	stats.in[INPUT_UDP].reason[REASON_EMPTY] = 2;
	doc = get_json("/api/v1/stats", 200);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(doc, "inputs"),
				 "syslog_udp"),
			     "received")),
	    7);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(json_object_get(doc, "inputs"),
				    "syslog_udp"),
		    "reasons"),
		"empty")),
	    2);
	rules = json_object_get(doc, "rules");
	assert_int_equal(json_array_size(rules), 2);
	assert_string_equal(json_string_value(
				json_object_get(json_array_get(rules, 0),
				    "name")),
	    "disk-error");
	assert_int_equal(json_integer_value(
			     json_object_get(json_array_get(rules, 0),
				 "matched")),
	    1);
	assert_string_equal(json_string_value(
				json_object_get(json_object_get(doc, "daemon"),
				    "version")),
	    "0.1.0");
	assert_non_null(
	    json_object_get(json_object_get(doc, "incidents"), "by_severity"));
	json_decref(doc);
	doc = get_json("/api/v1/windows", 200);
	assert_true(json_is_array(json_object_get(doc, "windows")));
	json_decref(doc);
	/* This fixture has no policy (calendar): reports cannot be made. */
	json_decref(get_json("/api/v1/reports/daily", 503));
	json_decref(get_json("/api/v1/reports/yearly", 404));
	json_decref(get_json("/nope", 404));
}

/* /metrics is Prometheus text with per-input, per-rule, per-severity lines. */
static void
test_metrics(void **state)
{
	struct reply rp;

	request(EVHTTP_REQ_GET, "/metrics", NULL, NULL, NULL, &rp);
	assert_int_equal(rp.code, 200);
	assert_non_null(strstr(rp.ctype, "text/plain"));
	assert_non_null(strstr(rp.body,
	    "sopd_input_received_total{input=\"syslog_udp\"} 7\n"));
	assert_non_null(strstr(rp.body,
	    "sopd_input_dropped_total{input="
	    "\"syslog_udp\",reason=\"empty\"} 2\n"));
	assert_non_null(strstr(rp.body,
	    "sopd_rule_matched_total{rule=\"disk-error\"} 1\n"));
	assert_non_null(strstr(rp.body,
	    "sopd_incidents_active{severity=\"critical\"} 1\n"));
	assert_non_null(strstr(rp.body,
	    "# TYPE sopd_store_commits_total "
	    "counter\n"));
	reply_free(&rp);
}

/* The page and its files, with security headers and no traversal. */
static void
test_static(void **state)
{
	static const char *missing[] = {
		"/static/..%2fMakefile",
		"/static/../Makefile",
		"/static/.x",
		"/static/nope.js",
		"/static/",
		"/static/a/b",
	};
	struct reply rp;
	size_t i;

	request(EVHTTP_REQ_GET, "/", NULL, NULL, NULL, &rp);
	assert_int_equal(rp.code, 200);
	assert_string_equal(rp.ctype, "text/html; charset=utf-8");
	assert_string_equal(rp.csp, "default-src 'self'");
	assert_string_equal(rp.nosniff, "nosniff");
	reply_free(&rp);
	request(EVHTTP_REQ_GET, "/static/app.js", NULL, NULL, NULL, &rp);
	assert_int_equal(rp.code, 200);
	assert_string_equal(rp.ctype, "text/javascript; charset=utf-8");
	reply_free(&rp);
	request(EVHTTP_REQ_HEAD, "/static/style.css", NULL, NULL, NULL, &rp);
	assert_int_equal(rp.code, 200);
	assert_string_equal(rp.body, "");
	reply_free(&rp);
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		request(EVHTTP_REQ_GET, missing[i], NULL, NULL, NULL, &rp);
		if (rp.code != 404 && rp.code != 400)
			fail_msg("%s: %d", missing[i], rp.code);
		reply_free(&rp);
	}
}

/* Stop the loop after a while. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(sd.base);
}

/* Run the loop for some milliseconds. */
static void
run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = evtimer_new(sd.base, stop_cb, NULL);

	evtimer_add(ev, &tv);
	event_base_dispatch(sd.base);
	event_free(ev);
}

/* Connections are counted while open and released after they close. */
static void
test_connections(void **state)
{
	struct sockaddr_in sin;
	int fd[3], i;

	run_for(400);
	assert_int_equal(http_connections(srv), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 3; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(fd[i], (struct sockaddr *)&sin,
				     sizeof(sin)),
		    0);
	}
	run_for(100);
	assert_int_equal(http_connections(srv), 3);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	run_for(400);
	assert_int_equal(http_connections(srv), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_list_filters),
		cmocka_unit_test(test_list_bad),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_post_guards),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_connections),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
