/*
 * bench_match.c: matching cost per message for 10, 100 and 1000 generated
 * rules, or (BENCH_NEARMISS) for 10 to 10,000 near-miss Cisco rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules.h"
#include "syslog_parse.h"
#include "xmalloc.h"

#define BENCH_MAX_LINES 8192
#define BENCH_LINE	2048

struct sample {
	char buf[BENCH_LINE];
	struct logevent ev;
};

static struct sample *samples;
static size_t nsamples;

/* Parse every line of a syslog stream into an event (pri: prefix one). */
static void
bench_parse(FILE *fp, int pri)
{
	char line[BENCH_LINE];
	enum stats_reason reason;
	struct sample *s;
	size_t len;

	while (nsamples < BENCH_MAX_LINES && fgets(line, sizeof(line), fp)) {
		s = &samples[nsamples];
		len = strcspn(line, "\n");
		line[len] = '\0';
		len = (size_t)snprintf(s->buf, sizeof(s->buf), "%s%s",
		    pri ? "<38>" : "", line);
		memset(&s->ev, 0, sizeof(s->ev));
		s->ev.source = EVENT_SYSLOG;
		s->ev.peer = "192.0.2.1";
		s->ev.transport = "udp";
		if (syslog_parse(s->buf, len, sizeof(s->buf) - 1, &s->ev,
			&reason) == 0)
			nsamples++;
	}
}

/* Parse every line of a syslog file into an event. */
static void
bench_read(const char *file)
{
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL) {
		perror(file);
		exit(1);
	}
	bench_parse(fp, 1);
	fclose(fp);
}

/* The sopbench binary that generates the near-miss rules and lines. */
static const char *
bench_sopbench(void)
{
	return getenv("BENCH_SOPBENCH") ? getenv("BENCH_SOPBENCH") :
					  "build/sopbench";
}

/*
 * The near-miss load aimed at n Cisco rules: its rules into path, the first
 * BENCH_MAX_LINES of its lines (as sopbench sends them) into the samples.
 */
static void
bench_nearmiss(int n, const char *path)
{
	char cmd[1024];
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "%s rules %d nearmiss > '%s'",
	    bench_sopbench(), n, path);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "%s lines %d nearmiss %d", bench_sopbench(),
	    n, BENCH_MAX_LINES);
	if ((fp = popen(cmd, "r")) == NULL) {
		perror(cmd);
		exit(1);
	}
	nsamples = 0;
	bench_parse(fp, 0);
	if (pclose(fp) != 0 || nsamples == 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
}

/*
 * Messages aimed at generated rules: at the first ten (taken at every size,
 * so every size does the same confirmation work) or, with spread, at all
 * thousand (fewer rules then take fewer messages).
 */
static void
bench_synthetic(int n, int spread)
{
	int t;

	enum stats_reason reason;
	struct sample *s;
	size_t len;
	int i;

	for (i = 0; i < n && nsamples < BENCH_MAX_LINES; i++) {
		s = &samples[nsamples];
		t = spread ? (i * 10) % 1000 : i % 3;
		if (i % 2 == 0)
			len = (size_t)snprintf(s->buf, sizeof(s->buf),
			    "<27>Mar "
			    "12 03:00:00 rack%d kernel: device dev%d: CRC "
			    "error on port %d",
			    i % 40, t, i % 48);
		else
			len = (size_t)snprintf(s->buf, sizeof(s->buf),
			    "<38>Mar "
			    "12 03:00:00 gw sshd[%d]: Failed password for "
			    "root from 10.%d.%d.7 port 22 ssh2",
			    1000 + i, (t + 5) / 256, (t + 5) % 256);
		memset(&s->ev, 0, sizeof(s->ev));
		s->ev.source = EVENT_SYSLOG;
		s->ev.peer = "192.0.2.1";
		if (syslog_parse(s->buf, len, sizeof(s->buf) - 1, &s->ev,
			&reason) == 0)
			nsamples++;
	}
}

/* One generated rule: distinct per-device and per-error patterns. */
static void
bench_rule(FILE *fp, int i)
{
	fprintf(fp, "  - name: gen-%d\n    severity: low\n    match:\n", i);
	switch (i % 10) {
	case 0:
	case 1:
	case 2:
		fprintf(fp,
		    "      message: 'device dev%d: (?<err>I/O|CRC|"
		    "timeout) error on port (?<port>\\d+)'\n",
		    i);
		break;
	case 3:
	case 4:
		fprintf(fp,
		    "      program: app%d\n      message: 'job "
		    "(?<job>\\S+) failed after \\d+ retries'\n",
		    i);
		break;
	case 5:
	case 6:
		fprintf(fp,
		    "      message: 'Failed password for (invalid user "
		    ")?(?<user>\\S+) from 10\\.%d\\.%d\\.\\d+ port'\n",
		    i / 256, i % 256);
		break;
	case 7:
		fprintf(fp, "      message_contains: 'ERR-%05d:'\n", i);
		break;
	case 8:
		fprintf(fp, "      trap_oid: 1.3.6.1.4.1.%d.0.1\n", 9000 + i);
		break;
	default:
		fprintf(fp,
		    "      message: '(?i)^session (?<sid>\\d+) of "
		    "user%d (?:closed|expired)'\n",
		    i);
		break;
	}
}

/* Write n generated rules plus the default rule set's files after them. */
static struct ruleset *
bench_load(int n, const char *dir)
{
	struct config cfg = { 0 };
	struct errlist errs = { 0 };
	struct ruleset *rs;
	char path[256], *paths[2];
	FILE *fp;
	int i;

	snprintf(path, sizeof(path), "%s/00-generated.yaml", dir);
	paths[0] = path;
	if (getenv("BENCH_NEARMISS") != NULL) {
		bench_nearmiss(n, path);
		cfg.rule_paths = paths;
		cfg.nrule_paths = 1;
		goto load;
	}
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(fp, "rules:\n");
	for (i = 0; i < n; i++)
		bench_rule(fp, i);
	fclose(fp);
	paths[1] = getenv("BENCH_RULES") ? getenv("BENCH_RULES") : "rules";
	cfg.rule_paths = paths;
	cfg.nrule_paths = 2;
load:
	rs = ruleset_load(&cfg, &errs);
	if (rs == NULL) {
		errlist_print(&errs, stderr);
		exit(1);
	}
	return rs;
}

/* Nanoseconds of matching per message, over rounds passes. */
static double
bench_run(struct ruleset *rs, int rounds, size_t *hits)
{
	struct timespec t0, t1;
	struct rule_hit hit;
	size_t i;
	int r;

	*hits = 0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (r = 0; r < rounds; r++)
		for (i = 0; i < nsamples; i++)
			*hits +=
			    (size_t)ruleset_match(rs, &samples[i].ev, &hit);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
	    ((double)rounds * (double)nsamples);
}

/* The best of nine runs of thread CPU time: other processes only ever add time. */
static double
bench_best(struct ruleset *rs, int rounds, size_t *hits)
{
	double best = 0, ns;
	int i;

	for (i = 0; i < 9; i++) {
		ns = bench_run(rs, rounds, hits);
		if (i == 0 || ns < best)
			best = ns;
	}
	return best;
}

int
main(int argc, char **argv)
{
	static const int sizes[] = { 10, 100, 1000, 10000 };
	char dir[] = "/tmp/sopd-bench.XXXXXX";
	const char *corpus = "../shared/corpus/loghub";
	char file[512];
	struct ruleset *rs;
	double ns, base = 0;
	size_t hits, k;
	int rounds = argc > 1 ? atoi(argv[1]) : 50;

	if (argc > 2)
		corpus = argv[2];
	samples = xcalloc(BENCH_MAX_LINES, sizeof(*samples));
	snprintf(file, sizeof(file), "%s/Linux_2k.log", corpus);
	bench_read(file);
	snprintf(file, sizeof(file), "%s/OpenSSH_2k.log", corpus);
	bench_read(file);
	if (getenv("BENCH_SYNTHETIC") != NULL) {
		nsamples = 0;
		bench_synthetic(4000,
		    strcmp(getenv("BENCH_SYNTHETIC"), "spread") == 0);
		corpus = "synthetic lines aimed at generated rules";
	}
	if (getenv("BENCH_NEARMISS") != NULL) {
		nsamples = BENCH_MAX_LINES; /* generated per rule set */
		corpus = "the near-miss load (sopbench lines N nearmiss)";
	}
	if (nsamples == 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "no samples or no temp dir\n");
		return 1;
	}
	printf("match: %zu messages from %s, %d rounds\n", nsamples, corpus,
	    rounds);
	for (k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
		/* BENCH_ONLY=N: one rule count (for callgrind's counts). */
		if (getenv("BENCH_ONLY") != NULL &&
		    atoi(getenv("BENCH_ONLY")) != sizes[k])
			continue;
		/* 10,000 rules only on the near-miss load. */
		if (sizes[k] > 1000 && getenv("BENCH_NEARMISS") == NULL)
			continue;
		rs = bench_load(sizes[k], dir);
		(void)bench_run(rs, 2, &hits); /* warm up */
		ns = bench_best(rs, rounds, &hits);
		if (k == 0)
			base = ns;
		printf("match: %5d generated + %zu other rules: %7.1f "
		       "ns/message (%+.0f%% vs 10), %zu of %zu taken\n",
		    sizes[k], ruleset_count(rs) - (size_t)sizes[k], ns,
		    100.0 * (ns - base) / base, hits / (size_t)rounds,
		    nsamples);
		ruleset_free(rs);
	}
	snprintf(file, sizeof(file), "rm -rf '%s'", dir);
	return system(file) == 0 ? 0 : 1;
}
