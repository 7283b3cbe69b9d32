/* test_agent.c: the SOP-APPLIANCE-MIB agent answers snmpget/snmpwalk. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "agent.h"
#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "rules.h"
#include "snmp_bridge.h"
#include "stats.h"
#include "stats.h"

extern char **environ;

#define NINC 10000

/*
 * A stand-in for the incident index (10,000 rows without the pipeline;
 * tests/integration/agent.sh reads the real one): NINC incidents with ids
 * 2, 4, ..., 2*NINC, so that GETNEXT has gaps to jump. Nothing else in
 * the test pulls incident.o from the library, so these take its place.
 */
struct incidents {
	uint64_t version;
	size_t n;
};

static struct incidents fake = { 1, NINC };

/* Every active incident of the stand-in, in id order. */
void
incidents_foreach_active(struct incidents *is,
    void (*cb)(const struct incident_info *, void *), void *arg)
{
	struct incident_info ii;
	char host[32], title[64], key[64];
	size_t i;

	for (i = 1; i <= is->n; i++) {
		memset(&ii, 0, sizeof(ii));
		ii.id = 2 * i;
		ii.severity = (int)(i % SEV_MAX);
		ii.state = (int)(i % 2);
		ii.level = i % 3 == 0 ? "L3" : i % 3 == 1 ? "L1" : "L2";
		snprintf(host, sizeof(host), "host%zu", i);
		snprintf(title, sizeof(title), "title of %zu", 2 * i);
		snprintf(key, sizeof(key), "rule:host%zu", i);
		ii.host = host;
		ii.rule = "disk_error";
		ii.title = title;
		ii.key = key;
		ii.count = i;
		/* 2026-11-27 00:00:00 UTC */
		ii.first_seen_us = 1795737600LL * 1000000;
		ii.last_seen_us = ii.first_seen_us + 1000000;
		ii.next_escalation_us = i == 1 ? ii.first_seen_us : 0;
		cb(&ii, arg);
	}
}

/* The stand-in keeps no store (the log's index stays in memory). */
struct store *
incidents_store(struct incidents *is)
{
	return NULL;
}

/* The stand-in's version. */
uint64_t
incidents_version(struct incidents *is)
{
	return is->version;
}

/* The stand-in's last change: never. */
int64_t
incidents_changed_us(struct incidents *is)
{
	return 0;
}

static struct event_base *base;
static struct config cfg;
static struct sopd sd;
static int port;
static char *communities[] = { "public", "nms@127.0.0.1" };
static char outfile[] = "/tmp/test_agent.XXXXXX";
static char statedir[] = "/tmp/test_agent-state.XXXXXX";
static char big[16 << 20];

/* Run a shell command while the loop serves the agent; its output in buf. */
static int
run(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[1024], *argv[4];
	va_list ap;
	pid_t pid;
	int status;
	FILE *f;
	size_t n;
	struct timeval tv = { 0, 2000 };

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 64, fmt, ap);
	va_end(ap);
	strcat(cmd, " >");
	strcat(cmd, outfile);
	strcat(cmd, " 2>&1");
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	f = fopen(outfile, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (getenv("TEST_AGENT_VERBOSE") != NULL)
		fprintf(stderr, "$ %s\n%.2000s\n", cmd, buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Count the lines of a buffer. */
static size_t
lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* A UDP port on 127.0.0.1 that nothing uses now, chosen by the kernel. */
static int
free_udp_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, p = -1;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

/* Start the agent on a free loopback port, its state in a private directory. */
static int
setup(void **state)
{
	char *cause = NULL;
	int fd;

	fd = mkstemp(outfile);
	if (fd == -1)
		return -1;
	close(fd);
	if (mkdtemp(statedir) == NULL)
		return -1;
	if ((port = free_udp_port()) == -1)
		return -1;
	base = event_base_new();
	cfg.state_dir = statedir;
	if (asprintf(&cfg.agent_listen, "127.0.0.1:%d", port) == -1)
		return -1;
	cfg.agent_communities = communities;
	cfg.nagent_communities = 2;
	cfg.sys_name = "sop-test";
	cfg.sys_contact = "ops@example.org";
	cfg.sys_location = "rack 7";
	sd.base = base;
	sd.cfg = &cfg;
	sd.incidents = &fake;
	sd.started = time(NULL) - 10;
	if (snmp_bridge_start(&sd, &cause) != 0) {
		fprintf(stderr, "snmp_bridge_start: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Stop the agent. */
static int
teardown(void **state)
{
	char cmd[128];

	snmp_bridge_stop();
	event_base_free(base);
	free(cfg.agent_listen);
	unlink(outfile);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", statedir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

#define GET "snmpget -v2c -c public -t 2 -r 1 -On -Oe -Oq 127.0.0.1:%d "
#define WALK                                             \
	"snmpwalk -v2c -c public -t 5 -r 1 -On -Oe -Oq " \
	"127.0.0.1:%d "
#define BULK                                                 \
	"snmpbulkwalk -v2c -c public -t 5 -r 1 -On -Oe -Oq " \
	"127.0.0.1:%d "
#define SOP ".1.3.6.1.4.1.32473.1"

/* The system group comes from config and points into our subtree. */
static void
test_system(void **state)
{
	char buf[4096];

	/* sysDescr, sysObjectID, sysUpTime, sysContact, sysName, sysLocation */
	assert_int_equal(run(buf, sizeof(buf),
			     GET ".1.3.6.1.2.1.1.1.0 "
				 ".1.3.6.1.2.1.1.2.0 .1.3.6.1.2.1.1.3.0 "
				 ".1.3.6.1.2.1.1.4.0 "
				 ".1.3.6.1.2.1.1.5.0 .1.3.6.1.2.1.1.6.0",
			     port),
	    0);
	assert_non_null(strstr(buf, "sopd "));
	assert_non_null(strstr(buf, ".1.3.6.1.2.1.1.2.0 " SOP ".3.1\n"));
	assert_non_null(strstr(buf, "sop-test"));
	assert_non_null(strstr(buf, "ops@example.org"));
	assert_non_null(strstr(buf, "rack 7"));
	assert_int_equal(run(buf, sizeof(buf), WALK ".1.3.6.1.2.1.1.9", port),
	    0);
	assert_non_null(strstr(buf, SOP "\n"));
}

/* Scalars of the appliance and summary groups. */
static void
test_scalars(void **state)
{
	char buf[4096];

	stats.in[INPUT_TCP].received = 5000000000ULL;
	assert_int_equal(run(buf, sizeof(buf),
			     GET SOP ".1.1.1.0 " SOP ".1.1.6.0 " SOP
				     ".1.3.1.0 " SOP ".1.3.2.0 " SOP
				     ".1.2.1.1.3.2",
			     port),
	    0);
	assert_non_null(strstr(buf, SOP ".1.1.6.0 1\n")); /* never */
	assert_non_null(strstr(buf, SOP ".1.3.1.0 10000\n"));
	assert_non_null(strstr(buf, SOP ".1.3.2.0 2000\n"));
	assert_non_null(strstr(buf, SOP ".1.2.1.1.3.2 5000000000\n"));
}

/* GET of rows that exist and do not. */
static void
test_get(void **state)
{
	char buf[4096];

	run(buf, sizeof(buf),
	    GET SOP ".1.4.1.7.10 " SOP ".1.4.1.2.10 " SOP ".1.4.1.7.11 " SOP
		    ".1.4.1.99.10 " SOP ".1.4.1.11.2 " SOP ".1.4.1.11.4",
	    port);
	assert_non_null(strstr(buf, SOP ".1.4.1.7.10 \"title of 10\"\n"));
	assert_non_null(strstr(buf, SOP ".1.4.1.2.10 1\n")); /* 5%5=0 */
	assert_non_null(strstr(buf, SOP ".1.4.1.7.11 No Such Instance"));
	assert_non_null(strstr(buf, SOP ".1.4.1.99.10 No Such Object"));
	/* 2026-11-27 00:00:00 UTC, and "none" as 8 zero octets. */
	assert_non_null(strstr(buf,
	    SOP ".1.4.1.11.2 "
		"\"07 EA 0B 1B 00 00 00 00 2B 00 00 \""));
	assert_non_null(strstr(buf,
	    SOP ".1.4.1.11.4 "
		"\"00 00 00 00 00 00 00 00 \""));
}

/* GETNEXT jumps gaps, columns and sections. */
static void
test_getnext(void **state)
{
	char buf[4096];

	run(buf, sizeof(buf),
	    "snmpgetnext -v2c -c public -t 2 -r 1 -On -Oq "
	    "127.0.0.1:%d " SOP " " SOP ".1.4.1.7.11 " SOP ".1.4.1.7.20000 " SOP
	    ".1.4.1.13.20000 " SOP ".1.5 " SOP ".1.2.2.1.4.%d.%d",
	    port, INPUT_MAX, REASON_MAX); /* the reason table's last row */
	assert_non_null(strstr(buf, SOP ".1.1.1.0 "));
	assert_non_null(strstr(buf, SOP ".1.4.1.7.12 \"title of 12\""));
	assert_non_null(strstr(buf, SOP ".1.4.1.8.2 "));
	/* The window table is empty: on to the notification log. */
	assert_non_null(strstr(buf, SOP ".1.6.1.0 500"));
	assert_non_null(strstr(buf, SOP ".1.3.1.0 10000"));
	/* After the last object of our subtree: past it, not within it. */
	assert_null(strstr(buf, SOP ".1.4.1.13.20000 "));
}

/* A walk of a 10,000-row column is complete and fast. */
static void
test_walk_fast(void **state)
{
	char *buf = big;
	struct timespec t0, t1;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run(buf, sizeof(big), BULK SOP ".1.4", port), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("walk of sopIncidentTable (%d rows, 20 columns): "
		      "%.2f s\n",
	    NINC, secs);
	assert_int_equal(lines(buf), NINC * 20);
	assert_true(secs < 20);
	assert_int_equal(run(buf, sizeof(big), WALK SOP, port), 0);
	assert_null(strstr(buf, "not increasing"));
	assert_non_null(strstr(buf, SOP ".1.4.1.13.20000 \"rule:host10000\""));
}

/* The notification log keeps the latest entries. */
static void
test_nlog(void **state)
{
	char *buf = big;
	int i;

	for (i = 0; i < 505; i++)
		assert_int_equal(agent_nlog_add("sopIncidentOpened",
				     (uint64_t)i + 1, SEV_HIGH, "L2",
				     "nms,pager", "host1: disk failing"),
		    i + 1);
	assert_int_equal(agent_nlog_add("sopIncidentBogus", 1, SEV_HIGH, "L2",
			     "nms", "x"),
	    0);
	agent_nlog_outcome(504, 1, 1, 0);
	agent_nlog_outcome(505, 1, 0, 1);
	agent_nlog_outcome(3, 1, 0, 0); /* bumped: nothing */
	assert_int_equal(run(buf, sizeof(big), WALK SOP ".1.6", port), 0);
	assert_non_null(strstr(buf, SOP ".1.6.2.0 505\n"));
	assert_non_null(strstr(buf, SOP ".1.6.3.0 5\n"));
	assert_null(strstr(buf, SOP ".1.6.4.1.3.5 "));
	assert_non_null(strstr(buf, SOP ".1.6.4.1.3.6 " SOP ".0.1\n"));
	assert_non_null(strstr(buf, SOP ".1.6.4.1.4.505 505\n"));
	assert_non_null(strstr(buf, SOP ".1.6.4.1.6.505 2\n"));
	assert_non_null(strstr(buf, SOP ".1.6.4.1.8.505 \"nms,pager\"\n"));
	assert_non_null(strstr(buf, SOP ".1.6.4.1.9.503 1\n")); /* pending */
	assert_non_null(strstr(buf, SOP ".1.6.4.1.9.504 3\n")); /* partial */
	assert_non_null(strstr(buf, SOP ".1.6.4.1.9.505 1\n"));
	agent_nlog_outcome(505, 2, 0, 0);
	assert_int_equal(run(buf, sizeof(big), WALK SOP ".1.6.4.1.9", port), 0);
	assert_non_null(strstr(buf, SOP ".1.6.4.1.9.505 2\n")); /* delivered */
}

/* The snapshot follows the incident set's version. */
static void
test_refresh(void **state)
{
	char buf[4096];

	fake.n = 3;
	fake.version++;
	run(buf, sizeof(buf), GET SOP ".1.3.1.0 " SOP ".1.4.1.7.8", port);
	assert_non_null(strstr(buf, SOP ".1.3.1.0 3\n"));
	assert_non_null(strstr(buf, SOP ".1.4.1.7.8 No Such Instance"));
	fake.n = NINC;
	fake.version++;
}

/* Unknown communities get no answer; source-bound ones work from there. */
static void
test_community(void **state)
{
	char buf[4096];

	assert_int_not_equal(run(buf, sizeof(buf),
				 "snmpget -v2c -c wrong "
				 "-t 1 -r 0 127.0.0.1:%d .1.3.6.1.2.1.1.1.0",
				 port),
	    0);
	assert_non_null(strstr(buf, "Timeout"));
	assert_int_equal(run(buf, sizeof(buf),
			     "snmpget -v2c -c nms -t 2 "
			     "-r 0 -On 127.0.0.1:%d " SOP ".1.3.1.0",
			     port),
	    0);
	assert_non_null(strstr(buf, "Gauge32: 10000"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_getnext),
		cmocka_unit_test(test_walk_fast),
		cmocka_unit_test(test_nlog),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_community),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
