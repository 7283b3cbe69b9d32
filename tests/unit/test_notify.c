/* test_notify.c: notifications out: config, keys, backoff, and every transport. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "notify.h"
#include "notify_int.h"
#include "rules.h"
#include "snmp_bridge.h"
#include "yamlnode.h"

extern char **environ;

static struct event_base *base;
static struct event *tick;
static struct config cfg;
static struct sopd sd;
static struct ynode *root;
static struct notifier *nf;
static char dir[] = "/tmp/sopd-notify.XXXXXX";
static int port; /* the current test's */

/* A port nobody uses on 127.0.0.1 right now (UDP and TCP). */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, fd2, p;

	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
		    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
			close(fd);
			return -1;
		}
		p = ntohs(sin.sin_port);
		fd2 = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(fd2, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd2);
			close(fd);
			return p;
		}
		close(fd2);
		close(fd);
	}
}

/* A persistent short timer so EVLOOP_ONCE never sleeps for long. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until pred() holds or ms passed; returns pred(). */
static int
run_until(int (*pred)(void), int ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		if (pred())
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if ((b.tv_sec - a.tv_sec) * 1000 +
			(b.tv_nsec - a.tv_nsec) / 1000000 >
		    ms)
			return pred();
		event_base_loop(base, EVLOOP_ONCE);
	}
}

/* Parse a config text into cfg (notify: section). */
static void
load_yaml(const char *text)
{
	struct errlist errs = { 0 };

	if (root != NULL)
		ynode_free(root);
	root = ynode_load("notify.yaml", text, strlen(text), &errs);
	assert_non_null(root);
	errlist_free(&errs);
	cfg.file = "notify.yaml";
	cfg.sec_notify = ynode_get(root, "notify");
}

/* Start a notifier on a config text. */
static struct notifier *
start(const char *text)
{
	char *cause = NULL;

	load_yaml(text);
	nf = notify_new(&sd, &cause);
	if (nf == NULL)
		fprintf(stderr, "notify_new: %s\n", cause);
	assert_non_null(nf);
	return nf;
}

/* One counter of one target. */
static long long
stat_of(const char *target, const char *field)
{
	json_t *st = notify_stats_json(nf), *v;
	long long r = -1;

	v = json_object_get(json_object_get(json_object_get(st, "targets"),
				target),
	    field);
	if (v != NULL)
		r = json_integer_value(v);
	json_decref(st);
	return r;
}

/* An incident as the incidents module would describe it. */
static struct incident_info info = {
	.id = 42,
	.severity = SEV_CRITICAL,
	.state = INC_OPEN,
	.level = "L2",
	.host = "web01",
	.rule = "disk-full",
	.title = "disk \"/var\" full",
	.key = "web01:/var",
	.in_window = NULL,
	.count = 3,
	.first_seen_us = 1795000000000000LL,
	.last_seen_us = 1795000060000000LL,
	.next_escalation_us = 1795003600000000LL,
};

/* Send one notice. */
static void
send_notice(const char *level, enum notice_kind kind, int step)
{
	struct notice no = { kind, &info, step, level,
		(int64_t)time(NULL) * 1000000, "test", NULL, NULL, NULL };

	notify_send(nf, level, &no);
}

/* Write a file (mode 0755 for scripts). */
static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* Read a whole file into a static buffer ("" if missing). */
static const char *
read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	base = event_base_new();
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = { 0, 20000 };
	event_add(tick, &tv);
	cfg.state_dir = dir;
	sd.base = base;
	sd.cfg = &cfg;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	if (root != NULL)
		ynode_free(root);
	event_free(tick);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh port for each test. */
static int
before(void **state)
{
	port = free_port();
	return port > 0 ? 0 : -1;
}

/* Programs a test started (rsyslogd, snmptrapd): stopped by after(). */
static pid_t children[4];

static void reap(pid_t);

/* Free the test's notifier after each test, and stop what it started. */
static int
after(void **state)
{
	size_t i;

	notify_free(nf);
	nf = NULL;
	for (i = 0; i < sizeof(children) / sizeof(*children); i++)
		reap(children[i]);
	return 0;
}

/* Does any error message contain s? */
static int
has_error(const struct errlist *e, const char *s)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (strstr(e->msgs[i], s) != NULL)
			return 1;
	}
	return 0;
}

static void
test_check_errors(void **state)
{
	struct errlist errs = { 0 };

	load_yaml("notify:\n"
		  "  targets:\n"
		  "    nms: { type: snmp-trap, address: 127.0.0.1 }\n"
		  "    pager: { type: exec, command: page }\n"
		  "    odd: { type: carrier-pigeon }\n"
		  "    hook: { type: webhook, url: ftp://x/y, colour: red }\n"
		  "    col: { type: syslog, transport: sctp, address: "
		  "127.0.0.1:514 }\n"
		  "    w: { type: webhook }\n"
		  "  retry: { initial: 0s }\n"
		  "  levels:\n"
		  "    L1: [col, nobody]\n");
	assert_int_equal(notify_check(&cfg, &errs), -1);
	assert_true(has_error(&errs,
	    "notify.yaml:3:38: notify: expected an "
	    "address as host:port"));
	assert_true(has_error(&errs,
	    "notify.yaml:4:35: notify: command must "
	    "be an absolute path"));
	assert_true(has_error(&errs,
	    "notify.yaml:5:18: notify: target odd: "
	    "unknown type \"carrier-pigeon\""));
	assert_true(has_error(&errs, "notify.yaml:6:33: notify: url must be"));
	assert_true(has_error(&errs,
	    "notify.yaml:6:44: notify: target hook: "
	    "unknown key \"colour\""));
	assert_true(has_error(&errs,
	    "notify.yaml:7:37: notify: unknown syslog "
	    "transport \"sctp\""));
	assert_true(has_error(&errs,
	    "notify.yaml:8:8: notify: target w needs "
	    "url"));
	assert_true(has_error(&errs, "notify.yaml:9:10: notify: retry: need"));
	assert_true(has_error(&errs,
	    "notify.yaml:11:15: notify: level L1: "
	    "unknown target \"nobody\""));
	errlist_free(&errs);

	load_yaml(
	    "notify:\n"
	    "  queue_size: 10\n"
	    "  retry: { max_attempts: 3, initial: 1s, max: 1m }\n"
	    "  targets:\n"
	    "    nms: { type: snmp-trap, address: 127.0.0.1:162, community: x "
	    "}\n"
	    "    inf: { type: snmp-inform, address: 127.0.0.1:162, retries: 5, "
	    "timeout: 2s }\n"
	    "    col: { type: syslog, transport: relp, address: 127.0.0.1:2514,"
	    " app_name: sopd, facility: local3 }\n"
	    "    pager: { type: exec, command: /bin/true, args: [a, b], "
	    "timeout: 10s }\n"
	    "    client: { type: webhook, url: 'http://127.0.0.1:9/h', "
	    "timeout: 5s }\n"
	    "  levels: { L1: [col], L2: [col, nms], L3: [col, nms, pager], "
	    "client: [client] }\n");
	assert_int_equal(notify_check(&cfg, &errs), 0);
	assert_int_equal(errs.n, 0);
	cfg.sec_notify = NULL;
	assert_int_equal(notify_check(&cfg, &errs), 0);
}

static void
test_key(void **state)
{
	char buf[96];

	notify_key(42, NOTICE_OPENED, -1, buf, sizeof(buf));
	assert_string_equal(buf, "42-opened");
	notify_key(42, NOTICE_ESCALATED, 1, buf, sizeof(buf));
	assert_string_equal(buf, "42-escalated-1");
	notify_key(18446744073709551615ULL, NOTICE_RESOLVED, -1, buf,
	    sizeof(buf));
	assert_string_equal(buf, "18446744073709551615-resolved");
	notify_key(7, NOTICE_ACKNOWLEDGED, -1, buf, sizeof(buf));
	assert_string_equal(buf, "7-acknowledged");
}

static void
test_backoff(void **state)
{
	assert_int_equal(notify_backoff(1, 300, 1), 1);
	assert_int_equal(notify_backoff(1, 300, 2), 2);
	assert_int_equal(notify_backoff(1, 300, 3), 4);
	assert_int_equal(notify_backoff(1, 300, 9), 256);
	assert_int_equal(notify_backoff(1, 300, 10), 300);
	assert_int_equal(notify_backoff(1, 300, 1000), 300);
	assert_int_equal(notify_backoff(5, 60, 2), 10);
	assert_int_equal(notify_backoff(0, 60, 1), 1);
}

static int
pager_sent(void)
{
	return stat_of("pager", "sent") + stat_of("pager", "failed") >= 1;
}

static void
test_exec_env(void **state)
{
	char script[256], conf[1024], out[256];

	snprintf(script, sizeof(script), "%s/hook.sh", dir);
	snprintf(out, sizeof(out), "%s/hook.out", dir);
	write_file(script,
	    "#!/bin/sh\nenv | grep ^SOPD_ | sort > \"$1\"\n"
	    "echo \"args: $2\"\necho to-stderr >&2\n",
	    0755);
	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    pager: "
	    "{ type: exec, command: %s, args: [%s, two], timeout: 5s }\n"
	    "  levels: { L3: [pager] }\n",
	    script, out);
	start(conf);
	send_notice("L3", NOTICE_ESCALATED, 1);
	assert_true(run_until(pager_sent, 5000));
	assert_int_equal(stat_of("pager", "sent"), 1);
	assert_int_equal(stat_of("pager", "queued"), 0);
	const char *env = read_file(out);
	assert_non_null(strstr(env, "SOPD_INCIDENT_ID=42\n"));
	assert_non_null(strstr(env, "SOPD_SEVERITY=critical\n"));
	assert_non_null(strstr(env, "SOPD_LEVEL=L3\n"));
	assert_non_null(strstr(env, "SOPD_KIND=escalated\n"));
	assert_non_null(strstr(env, "SOPD_HOST=web01\n"));
	assert_non_null(strstr(env, "SOPD_TITLE=disk \"/var\" full\n"));
	assert_non_null(strstr(env, "SOPD_RULE=disk-full\n"));
	assert_non_null(strstr(env, "SOPD_KEY=web01:/var\n"));
	assert_non_null(strstr(env, "SOPD_IDEMPOTENCY_KEY=42-escalated-1\n"));
	assert_non_null(strstr(env, "SOPD_STEP=1\n"));
	assert_non_null(strstr(env, "SOPD_FIRST_SEEN=2026-"));
}

static void
test_exec_timeout(void **state)
{
	char script[256], conf[1024], pidf[256];
	const char *p;
	pid_t pid;

	snprintf(script, sizeof(script), "%s/slow.sh", dir);
	snprintf(pidf, sizeof(pidf), "%s/slow.pid", dir);
	write_file(script,
	    "#!/bin/sh\necho $$ > \"$1\"\nsleep 30\n"
	    "echo finished >> \"$1\"\n",
	    0755);
	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    pager: "
	    "{ type: exec, command: %s, args: [%s], timeout: 1s, "
	    "max_attempts: 1 }\n  levels: { L3: [pager] }\n",
	    script, pidf);
	start(conf);
	send_notice("L3", NOTICE_OPENED, -1);
	assert_true(run_until(pager_sent, 5000));
	assert_int_equal(stat_of("pager", "failed"), 1);
	assert_int_equal(stat_of("pager", "sent"), 0);
	p = read_file(pidf);
	assert_null(strstr(p, "finished"));
	pid = (pid_t)atoi(p);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), -1);
}

static int
pager_done_twice(void)
{
	return stat_of("pager", "sent") >= 1;
}

static void
test_exec_retry(void **state)
{
	char script[256], conf[1024], cnt[256];

	snprintf(script, sizeof(script), "%s/flaky.sh", dir);
	snprintf(cnt, sizeof(cnt), "%s/flaky.count", dir);
	write_file(script,
	    "#!/bin/sh\necho x >> \"$1\"\n"
	    "[ $(wc -l < \"$1\") -ge 2 ]\n",
	    0755);
	snprintf(conf, sizeof(conf),
	    "notify:\n  retry: { initial: 1s, max: 1s }"
	    "\n  targets:\n    pager: { type: exec, command: %s, args: [%s] }\n"
	    "  levels: { L3: [pager] }\n",
	    script, cnt);
	start(conf);
	send_notice("L3", NOTICE_OPENED, -1);
	assert_true(run_until(pager_done_twice, 6000));
	assert_int_equal(stat_of("pager", "sent"), 1);
	assert_int_equal(stat_of("pager", "retried"), 1);
	assert_int_equal(stat_of("pager", "failed"), 0);
}

/* The test's webhook receiver. */
static struct {
	int hits;
	int fail_first; /* answer 500 to this many */
	char keys[8][96];
	char body[4096];
} hook;

static void
hook_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *k;
	size_t n;

	k = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Idempotency-Key");
	if (hook.hits < 8)
		snprintf(hook.keys[hook.hits], sizeof(hook.keys[0]), "%s",
		    k != NULL ? k : "");
	n = evbuffer_get_length(in);
	if (n >= sizeof(hook.body))
		n = sizeof(hook.body) - 1;
	evbuffer_remove(in, hook.body, n);
	hook.body[n] = '\0';
	hook.hits++;
	if (hook.hits <= hook.fail_first)
		evhttp_send_reply(req, 500, "Busy", NULL);
	else
		evhttp_send_reply(req, 200, "OK", NULL);
}

static int
client_done(void)
{
	return stat_of("client", "sent") + stat_of("client", "failed") >= 1;
}

/* Run one webhook delivery against an in-test server. */
static struct evhttp *
hook_server(int p, int fail_first)
{
	struct evhttp *http = evhttp_new(base);

	memset(&hook, 0, sizeof(hook));
	hook.fail_first = fail_first;
	assert_int_equal(evhttp_bind_socket(http, "127.0.0.1",
			     (unsigned short)p),
	    0);
	evhttp_set_gencb(http, hook_cb, NULL);
	return http;
}

static void
test_webhook(void **state)
{
	struct evhttp *http = hook_server(port, 0);
	char conf[512];
	json_t *doc;

	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    client: "
	    "{ type: webhook, url: 'http://127.0.0.1:%d/hook?x=1', timeout: 2s "
	    "}"
	    "\n  levels: { client: [client] }\n",
	    port);
	start(conf);
	send_notice("client", NOTICE_OPENED, -1);
	assert_true(run_until(client_done, 5000));
	assert_int_equal(stat_of("client", "sent"), 1);
	assert_int_equal(hook.hits, 1);
	assert_string_equal(hook.keys[0], "42-opened");
	doc = json_loads(hook.body, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")),
	    "opened");
	assert_string_equal(json_string_value(
				json_object_get(doc, "idempotency_key")),
	    "42-opened");
	assert_string_equal(json_string_value(json_object_get(doc, "level")),
	    "client");
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(doc, "incident"),
				 "id")),
	    42);
	assert_string_equal(json_string_value(
				json_object_get(json_object_get(doc,
						    "incident"),
				    "severity")),
	    "critical");
	json_decref(doc);
	evhttp_free(http);
}

static void
test_webhook_retry(void **state)
{
	struct evhttp *http = hook_server(port, 2);
	char conf[512];

	snprintf(conf, sizeof(conf),
	    "notify:\n  retry: { initial: 1s, max: 1s, "
	    "max_attempts: 5 }\n  targets:\n    client: { type: webhook, "
	    "url: 'http://127.0.0.1:%d/', timeout: 2s }\n"
	    "  levels: { client: [client] }\n",
	    port);
	start(conf);
	send_notice("client", NOTICE_ESCALATED, 2);
	assert_true(run_until(client_done, 8000));
	assert_int_equal(stat_of("client", "sent"), 1);
	assert_int_equal(stat_of("client", "retried"), 2);
	assert_int_equal(stat_of("client", "failed"), 0);
	assert_int_equal(hook.hits, 3);
	assert_string_equal(hook.keys[0], "42-escalated-2");
	assert_string_equal(hook.keys[1], "42-escalated-2");
	assert_string_equal(hook.keys[2], "42-escalated-2");
	evhttp_free(http);
}

static void
test_webhook_down(void **state)
{
	char conf[512];

	snprintf(conf, sizeof(conf),
	    "notify:\n  retry: { initial: 1s, max: 1s, "
	    "max_attempts: 2 }\n  targets:\n    client: { type: webhook, "
	    "url: 'http://127.0.0.1:%d/', timeout: 1s }\n"
	    "  levels: { client: [client] }\n",
	    port);
	start(conf);
	send_notice("client", NOTICE_OPENED, -1);
	assert_true(run_until(client_done, 8000));
	assert_int_equal(stat_of("client", "failed"), 1);
	assert_int_equal(stat_of("client", "retried"), 1);
}

static int
client_retried(void)
{
	return stat_of("client", "retried") >= 1;
}

static int
client_sent(void)
{
	return stat_of("client", "sent") >= 1;
}

/* The incidents module and its store in dir/outbox (for the outbox). */
static struct incidents *
outbox_store(void)
{
	static char sdir[300];
	struct incidents *is;
	char *cause = NULL;

	snprintf(sdir, sizeof(sdir), "%s/outbox", dir);
	cfg.state_dir = sdir;
	cfg.synchronous = "normal";
	is = incidents_open(NULL, &cfg, &cause);
	if (is == NULL)
		fprintf(stderr, "incidents_open: %s\n", cause);
	assert_non_null(is);
	return is;
}

/*
 * A notice to a webhook target that is down survives closing the notifier
 * and its store: after the reopen it is delivered once, with its key.
 */
static void
test_outbox_restart(void **state)
{
	struct evhttp *http;
	char conf[512];

	snprintf(conf, sizeof(conf),
	    "notify:\n  retry: { initial: 1s, max: 1s, "
	    "max_attempts: 50 }\n  targets:\n    client: { type: webhook, "
	    "url: 'http://127.0.0.1:%d/', timeout: 1s }\n"
	    "  levels: { client: [client] }\n",
	    port);
	sd.incidents = outbox_store();
	start(conf);
	send_notice("client", NOTICE_ESCALATED, 1);
	assert_true(run_until(client_retried, 5000));
	assert_int_equal(stat_of("client", "sent"), 0);
	notify_free(nf);
	incidents_close(sd.incidents);

	/* Reopen; the target is up now. */
	http = hook_server(port, 0);
	sd.incidents = outbox_store();
	start(conf);
	assert_true(run_until(client_sent, 5000));
	run_until(client_retried, 300); /* no second delivery */
	assert_int_equal(hook.hits, 1);
	assert_string_equal(hook.keys[0], "42-escalated-1");
	notify_free(nf);
	nf = NULL;
	incidents_close(sd.incidents);

	/* Delivered: nothing is left for the next start. */
	sd.incidents = outbox_store();
	start(conf);
	run_until(client_sent, 300);
	assert_int_equal(hook.hits, 1);
	assert_int_equal(stat_of("client", "queued"), 0);
	notify_free(nf);
	nf = NULL;
	incidents_close(sd.incidents);
	sd.incidents = NULL;
	cfg.state_dir = dir;
	evhttp_free(http);
}

static void
test_queue_bound(void **state)
{
	json_t *st;
	int i;

	start("notify:\n  queue_size: 2\n  targets:\n    pager: { type: exec, "
	      "command: /bin/true }\n  levels: { L1: [pager] }\n");
	for (i = 0; i < 5; i++)
		send_notice("L1", NOTICE_ESCALATED, i);
	send_notice("L2", NOTICE_ESCALATED, 9); /* no such level: ignored */
	assert_int_equal(stat_of("pager", "dropped"), 3);
	assert_int_equal(stat_of("pager", "queued"), 2);
	st = notify_stats_json(nf);
	assert_int_equal(json_integer_value(json_object_get(st, "dropped")), 3);
	json_decref(st);
}

static int udp_fd = -1;

/* A bound UDP or listening TCP socket on 127.0.0.1:port. */
static int
sock_on(int type, int p)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 5), 0);
	return fd;
}

static int
col_done(void)
{
	return stat_of("col", "sent") + stat_of("col", "failed") >= 1;
}

static void
test_syslog_udp(void **state)
{
	char conf[512], buf[4096];
	ssize_t n;

	udp_fd = sock_on(SOCK_DGRAM, port);
	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    col: { type: "
	    "syslog, address: '127.0.0.1:%d', app_name: sopd-test, facility: "
	    "local0 }\n  levels: { L3: [col] }\n",
	    port);
	start(conf);
	send_notice("L3", NOTICE_ESCALATED, 1);
	assert_true(run_until(col_done, 3000));
	assert_int_equal(stat_of("col", "sent"), 1);
	n = recv(udp_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	/* local0 (16) * 8 + crit (2) = 130 */
	assert_memory_equal(buf, "<130>1 ", 7);
	assert_non_null(strstr(buf,
	    " sopd-test - sopIncidentEscalated "
	    "[sopIncident@32473 id=\"42\" severity=\"critical\" level=\"L3\" "
	    "kind=\"escalated\" step=\"1\" host=\"web01\" rule=\"disk-full\" "
	    "key=\"web01:/var\" idempotency_key=\"42-escalated-1\"] incident "
	    "42"));
	close(udp_fd);
}

/* The test's stream peer: accumulates what arrives; may answer RELP. */
static struct {
	struct evbuffer *got;
	int relp;
	int frames;
} peer;

/* Answer complete RELP frames ("open" and "syslog") with 200 OK. */
static void
peer_relp(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *ok = "200 OK\nrelp_version=0\ncommands=syslog";
	char *line, cmd[16];
	size_t len;
	unsigned txnr, dlen;

	/* Every frame the notifier sends ends with a LF after its data. */
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (sscanf(line, "%u %15s %u", &txnr, cmd, &dlen) == 3) {
			if (strcmp(cmd, "open") == 0)
				evbuffer_add_printf(bufferevent_get_output(bev),
				    "%u rsp %zu %s\n", txnr, strlen(ok), ok);
			else if (strcmp(cmd, "syslog") == 0) {
				evbuffer_add_printf(bufferevent_get_output(bev),
				    "%u rsp 6 200 OK\n", txnr);
				evbuffer_add_printf(peer.got, "%s\n", line);
				peer.frames++;
			}
		}
		free(line);
	}
}

static void
peer_read_cb(struct bufferevent *bev, void *arg)
{
	if (peer.relp)
		peer_relp(bev);
	else
		evbuffer_add_buffer(peer.got, bufferevent_get_input(bev));
}

static void
peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static struct bufferevent *peer_bev;

static void
peer_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	peer_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(peer_bev, peer_read_cb, NULL, peer_event_cb, NULL);
	bufferevent_enable(peer_bev, EV_READ | EV_WRITE);
}

/* Listen on 127.0.0.1:port as the stream peer. */
static struct evconnlistener *
peer_listen(int p, int relp)
{
	struct evconnlistener *l;

	memset(&peer, 0, sizeof(peer));
	peer.got = evbuffer_new();
	peer.relp = relp;
	l = evconnlistener_new(base, peer_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
	    sock_on(SOCK_STREAM, p));
	assert_non_null(l);
	return l;
}

static int
peer_has_frame(void)
{
	return evbuffer_get_length(peer.got) > 0 && col_done();
}

static void
test_syslog_tcp(void **state)
{
	struct evconnlistener *l = peer_listen(port, 0);
	char conf[512], *s, *sp;
	size_t len;

	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    col: { type: "
	    "syslog, transport: tcp, address: '127.0.0.1:%d' }\n"
	    "  levels: { L2: [col] }\n",
	    port);
	start(conf);
	send_notice("L2", NOTICE_RESOLVED, -1);
	assert_true(run_until(peer_has_frame, 3000));
	run_until(peer_has_frame, 100);
	len = evbuffer_get_length(peer.got);
	s = calloc(1, len + 1);
	evbuffer_remove(peer.got, s, len);
	/* octet counting: "LEN SP MSG", LEN the size of MSG. */
	sp = strchr(s, ' ');
	assert_non_null(sp);
	assert_int_equal(strtoul(s, NULL, 10), strlen(sp + 1));
	assert_memory_equal(sp + 1, "<26>1 ", 6); /* daemon.crit */
	assert_non_null(strstr(sp, "kind=\"resolved\""));
	free(s);
	assert_int_equal(stat_of("col", "sent"), 1);
	notify_free(nf);
	nf = NULL;
	evconnlistener_free(l);
	evbuffer_free(peer.got);
}

static int
col_two(void)
{
	return stat_of("col", "sent") >= 2;
}

static void
test_syslog_relp(void **state)
{
	struct evconnlistener *l = peer_listen(port, 1);
	char conf[512];

	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    col: { type: "
	    "syslog, transport: relp, address: '127.0.0.1:%d' }\n"
	    "  levels: { L2: [col] }\n",
	    port);
	start(conf);
	send_notice("L2", NOTICE_OPENED, -1);
	send_notice("L2", NOTICE_ACKNOWLEDGED, -1);
	assert_true(run_until(col_two, 3000));
	assert_int_equal(stat_of("col", "sent"), 2);
	assert_int_equal(peer.frames, 2);
	notify_free(nf);
	nf = NULL;
	evconnlistener_free(l);
	evbuffer_free(peer.got);
}

/* Start a program in the background; its pid. */
static pid_t
spawn(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	size_t i;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out,
	    O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; pid > 0 && i < sizeof(children) / sizeof(*children); i++)
		if (children[i] <= 0) {
			children[i] = pid;
			break;
		}
	return pid;
}

/* Stop a program started by spawn. */
static void
reap(pid_t pid)
{
	size_t i;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (i = 0; i < sizeof(children) / sizeof(*children); i++)
		if (children[i] == pid)
			children[i] = 0;
}

static const char *grep_file, *grep_what;

static int
file_has(void)
{
	return strstr(read_file(grep_file), grep_what) != NULL;
}

/* Wait up to ms for a file to contain s. */
static int
wait_file(const char *path, const char *s, int ms)
{
	grep_file = path;
	grep_what = s;
	return run_until(file_has, ms);
}

static int
relp_delivered(void)
{
	return col_done();
}

static void
test_syslog_relp_rsyslog(void **state)
{
	char conf[1024], cf[256], out[256], pidf[256], log[256], portstr[16];
	char *argv[] = { "/usr/sbin/rsyslogd", "-n", "-f", cf, "-i", pidf,
		NULL };
	pid_t pid;

	if (access("/usr/sbin/rsyslogd", X_OK) != 0 ||
	    access("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so", R_OK) != 0) {
		fprintf(stderr, "# rsyslog or rsyslog-relp missing: skipped\n");
		skip();
	}
	snprintf(cf, sizeof(cf), "%s/rsyslog.conf", dir);
	snprintf(out, sizeof(out), "%s/rsyslog.out", dir);
	snprintf(pidf, sizeof(pidf), "%s/rsyslog.pid", dir);
	snprintf(log, sizeof(log), "%s/rsyslog.log", dir);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(conf, sizeof(conf),
	    "global(workDirectory=\"%s\")\n"
	    "module(load=\"imrelp\")\n"
	    "template(name=\"raw\" type=\"string\" string=\"%%rawmsg%%\\n\")\n"
	    "ruleset(name=\"fromsopd\") { action(type=\"omfile\" file=\"%s\" "
	    "template=\"raw\") }\n"
	    "input(type=\"imrelp\" port=\"%s\" address=\"127.0.0.1\" "
	    "ruleset=\"fromsopd\")\n",
	    dir, out, portstr);
	write_file(cf, conf, 0644);
	pid = spawn(argv, log);
	assert_true(pid > 0);
	/* Wait until imrelp listens (rsyslogd needs a moment to start). */
	usleep(500000);
	snprintf(conf, sizeof(conf),
	    "notify:\n  retry: { initial: 1s, max: 1s }"
	    "\n  targets:\n    col: { type: syslog, transport: relp, "
	    "address: '127.0.0.1:%d' }\n  levels: { L3: [col] }\n",
	    port);
	start(conf);
	send_notice("L3", NOTICE_ESCALATED, 1);
	assert_true(run_until(relp_delivered, 8000));
	assert_int_equal(stat_of("col", "sent"), 1);
	if (!wait_file(out, "idempotency_key=\"42-escalated-1\"", 5000)) {
		fprintf(stderr, "# rsyslog log: %s\n", read_file(log));
		fail();
	}
	notify_free(nf);
	nf = NULL;
	reap(pid);
}

static int
nms_done(void)
{
	return stat_of("nms", "sent") + stat_of("nms", "failed") >= 1 &&
	    stat_of("inf", "sent") + stat_of("inf", "failed") >= 1;
}

static void
test_snmp(void **state)
{
	char cf[256], log[256], conf[1024], listen[64], mibdirs[900];
	char cwd[400];
	char *argv[] = { "/usr/sbin/snmptrapd", "-f", "-Lf", log, "-C", "-c",
		cf, "-M", mibdirs, "-m", "ALL", listen, NULL };
	char *cause = NULL;
	pid_t pid;
	int symbolic;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	symbolic = access("build/ietf-mibs/SNMPv2-SMI.mib", R_OK) == 0 &&
	    access("mibs/SOP-APPLIANCE-MIB.txt", R_OK) == 0;
	snprintf(mibdirs, sizeof(mibdirs), "%s/mibs:%s/build/ietf-mibs", cwd,
	    cwd);
	if (!symbolic)
		argv[9] = "";
	snprintf(cf, sizeof(cf), "%s/snmptrapd.conf", dir);
	snprintf(log, sizeof(log), "%s/snmptrapd.log", dir);
	snprintf(listen, sizeof(listen), "udp:127.0.0.1:%d", port);
	write_file(cf,
	    "disableAuthorization yes\n"
	    "authCommunity log,execute,net public\n",
	    0644);
	pid = spawn(argv, log);
	assert_true(pid > 0);
	usleep(300000);

	assert_int_equal(snmp_bridge_start(&sd, &cause), 0);
	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n"
	    "    nms: { type: snmp-trap, address: '127.0.0.1:%d', "
	    "community: public }\n"
	    "    inf: { type: snmp-inform, address: '127.0.0.1:%d', "
	    "community: public, retries: 3, timeout: 1s }\n"
	    "  levels: { L2: [nms, inf] }\n",
	    port, port);
	start(conf);
	send_notice("L2", NOTICE_OPENED, -1);
	assert_true(run_until(nms_done, 8000));
	assert_int_equal(stat_of("nms", "sent"), 1);
	assert_int_equal(stat_of("inf", "sent"), 1);
	if (symbolic) {
		assert_true(wait_file(log, "sopIncidentOpened", 3000));
		assert_true(wait_file(log, "sopIncidentHost.42", 3000));
		assert_true(wait_file(log, "web01", 3000));
	} else
		assert_true(wait_file(log, "32473.1.0.1", 3000));
	notify_free(nf);
	nf = NULL;
	snmp_bridge_stop();
	reap(pid);
}

static void
test_reconfigure(void **state)
{
	struct evhttp *http = hook_server(port, 0);
	char conf[512];

	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    client: "
	    "{ type: webhook, url: 'http://127.0.0.1:%d/' }\n"
	    "  levels: { client: [client] }\n",
	    port);
	start(conf);
	send_notice("client", NOTICE_OPENED, -1);
	assert_true(run_until(client_done, 5000));
	snprintf(conf, sizeof(conf),
	    "notify:\n  targets:\n    client: "
	    "{ type: webhook, url: 'http://127.0.0.1:%d/' }\n"
	    "    pager: { type: exec, command: /bin/true }\n"
	    "  levels: { client: [client], L3: [pager] }\n",
	    port);
	load_yaml(conf);
	notify_reconfigure(nf, &cfg);
	/* The unchanged target keeps its counters; the new one starts at 0. */
	assert_int_equal(stat_of("client", "sent"), 1);
	assert_int_equal(stat_of("pager", "sent"), 0);
	send_notice("L3", NOTICE_OPENED, -1);
	assert_true(run_until(pager_sent, 5000));
	load_yaml("notify:\n  targets: {}\n  levels: {}\n");
	notify_reconfigure(nf, &cfg);
	assert_int_equal(stat_of("client", "sent"), -1);
	run_until(pager_sent, 100);
	evhttp_free(http);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_errors),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup_teardown(test_exec_env, before, after),
		cmocka_unit_test_setup_teardown(test_exec_timeout, before,
		    after),
		cmocka_unit_test_setup_teardown(test_exec_retry, before, after),
		cmocka_unit_test_setup_teardown(test_webhook, before, after),
		cmocka_unit_test_setup_teardown(test_webhook_retry, before,
		    after),
		cmocka_unit_test_setup_teardown(test_webhook_down, before,
		    after),
		cmocka_unit_test_setup_teardown(test_queue_bound, before,
		    after),
		cmocka_unit_test_setup_teardown(test_outbox_restart, before,
		    after),
		cmocka_unit_test_setup_teardown(test_syslog_udp, before, after),
		cmocka_unit_test_setup_teardown(test_syslog_tcp, before, after),
		cmocka_unit_test_setup_teardown(test_syslog_relp, before,
		    after),
		cmocka_unit_test_setup_teardown(test_syslog_relp_rsyslog,
		    before, after),
		cmocka_unit_test_setup_teardown(test_snmp, before, after),
		cmocka_unit_test_setup_teardown(test_reconfigure, before,
		    after),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
