/* sopd.c: the daemon's main: arguments, config, modules in order, the loop. */
#include <sys/stat.h>

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "backup.h"
#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "core.h"
#include "daemon.h"
#include "event.h"
#include "event_json.h"
#include "auth.h"
#include "http.h"
#include "incident.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "deadline.h"
#include "schedule.h"
#include "escalate.h"
#include "expect.h"
#include "pipeline.h"
#include "policy.h"
#include "privdrop.h"
#include "replay.h"
#include "retain.h"
#include "rules.h"
#include "sdnotify.h"
#include "poller.h"
#include "hostfigures.h"
#include "snmp_bridge.h"
#include "stats.h"
#include "store.h"
#include "syslog_parse.h"
#include "traps.h"
#include "winset.h"
#include "version.h"
#include "xmalloc.h"
#include "yamlnode.h"

struct sopd_run {
	struct sopd sd;
	struct listener *udp;
	struct listener *tcp;
	struct listener *tls;
	struct listener *relp;
	struct traps *traps;
	struct http *http;
	struct event *sighup, *sigterm, *sigint;
	struct retain *retain;
	json_t *fixed; /* the settings only a restart applies, as started */
};

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr,
	    "usage: sopd [-dtv] [-c config] [--parse "
	    "[--received TIME]] [--version]\n"
	    "  -c FILE   configuration (default /etc/sopd/sopd.yaml)\n"
	    "  -d        stay in the foreground and log to stderr\n"
	    "  -t        check the configuration and rules, then exit\n"
	    "  -v [LIST] debug logging, of every subsystem or of a comma-\n"
	    "            separated LIST of %s\n"
	    "  --parse   read raw syslog lines on stdin, print each "
	    "normalized\n"
	    "            event as JSON (with -c: also the rule that takes "
	    "it);\n"
	    "            --received sets the reception time (RFC 3339, or\n"
	    "            local time without an offset)\n"
	    "  --replay FILE -c CONFIG [--expect GOLDEN] [--start TIME] "
	    "[--until TIME]\n"
	    "            run the rules and the SOP clock on a captured log in\n"
	    "            simulated time; print the outcome or compare it\n",
	    log_debug_names());
	exit(2);
}

/*
 * Load the calendar, escalation policies and windows of a config; kept in
 * *polp and *wsp when those are not NULL.  -1 with errors in errs.
 */
static int
sopd_load_clock(const struct config *cfg, struct policy **polp,
    struct winset **wsp, struct errlist *errs)
{
	struct policy *pol;
	struct winset *ws;

	if ((pol = policy_load(cfg, errs)) == NULL)
		return -1;
	if ((ws = winset_load(cfg, policy_calendar(pol), errs)) == NULL) {
		policy_free(pol);
		return -1;
	}
	if (polp != NULL)
		*polp = pol;
	else
		policy_free(pol);
	if (wsp != NULL)
		*wsp = ws;
	else
		winset_free(ws);
	return 0;
}

/* Load config and rules; print every error; NULL config on failure. */
static int
sopd_load(const char *file, struct config **cfgp, struct ruleset **rsp,
    struct errlist *errs)
{
	int bad;

	*cfgp = config_load(file, errs);
	*rsp = NULL;
	if (*cfgp == NULL)
		return -1;
	*rsp = ruleset_load(*cfgp, errs);
	bad = notify_check(*cfgp, errs) == -1;
	bad |= auth_check(*cfgp, errs) == -1;
	bad |= poll_check(*cfgp, errs) == -1;
	bad |= schedule_check(*cfgp, errs) == -1;
	if (*rsp == NULL || sopd_load_clock(*cfgp, NULL, NULL, errs) == -1 ||
	    bad) {
		ruleset_free(*rsp);
		*rsp = NULL;
		config_free(*cfgp);
		*cfgp = NULL;
		return -1;
	}
	return 0;
}

#define SOPD_HOLIDAYS_WARN 90 /* days: -t warns of the holidays' end */

/* -t: warn when the calendar's holiday data ends within 90 days. */
static void
sopd_check_holidays(const char *file, const struct config *cfg)
{
	struct errlist errs = { 0 };
	struct policy *pol;
	const struct calendar *cal;
	char end[16];

	if ((pol = policy_load(cfg, &errs)) == NULL) {
		errlist_free(&errs);
		return;
	}
	cal = policy_calendar(pol);
	if (calendar_holidays_end(cal, end, sizeof(end)) &&
	    calendar_holidays_ending(cal, clock_now(), SOPD_HOLIDAYS_WARN))
		fprintf(stderr,
		    "%s: warning: the holiday data ends %s, "
		    "within %d days: add the next year's holidays\n",
		    file, end, SOPD_HOLIDAYS_WARN);
	policy_free(pol);
}

/* -t: check and report. */
static int
sopd_check(const char *file)
{
	struct errlist errs = { 0 };
	struct config *cfg;
	struct ruleset *rs;
	char *cause = NULL;

	if (sopd_load(file, &cfg, &rs, &errs) == -1) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		return 1;
	}
	if (tls_check(cfg, &cause) == -1) {
		fprintf(stderr, "%s: syslog tls: %s\n", file, cause);
		free(cause);
		ruleset_free(rs);
		config_free(cfg);
		return 1;
	}
	sopd_check_holidays(file, cfg);
	printf("configuration OK (%zu rules)\n", ruleset_count(rs));
	ruleset_free(rs);
	config_free(cfg);
	return 0;
}

/* Whether an expect rule names the host (as the daemon matches it). */
static int
sopd_parse_expected(const struct rule_expect *e, const char *host)
{
	size_t i;

	for (i = 0; e != NULL && host != NULL && i < e->nhosts; i++)
		if (strcasecmp(e->hosts[i], host) == 0)
			return 1;
	return 0;
}

/* Add what a rule makes of an event to its JSON. */
static void
sopd_parse_rule(struct ruleset *rs, const struct logevent *ev, json_t *o)
{
	struct rule_hit hit;
	char buf[1024];

	if (!ruleset_match(rs, ev, &hit)) {
		json_object_set_new(o, "rule", json_null());
		return;
	}
	json_object_set_new(o, "rule", json_string(hit.rule->name));
	json_object_set_new(o, "rule_file",
	    json_sprintf("%s:%d", hit.rule->file, hit.rule->line));
	if (hit.rule->action == RULE_EXPECT) {
		/* An arrival for the expectation "rule:host"; no template. */
		json_object_set_new(o, "action", json_string("expect"));
		json_object_set_new(o, "key",
		    json_sprintf("%s:%s", hit.rule->name, ev->host));
		json_object_set_new(o, "expected_host",
		    json_boolean(
			sopd_parse_expected(hit.rule->expect, ev->host)));
		return;
	}
	json_object_set_new(o, "action",
	    json_string(hit.rule->action == RULE_DROP ? "drop" :
		    hit.clear			      ? "clear" :
							"incident"));
	if (hit.rule->action == RULE_DROP || hit.rule->key == NULL)
		return;
	json_object_set_new(o, "incident_severity",
	    json_string(severity_name(hit.rule->severity)));
	rule_render(hit.rule->key, ev, &hit, buf, sizeof(buf));
	json_object_set_new(o, "key", json_string(buf));
	if (hit.rule->title != NULL) {
		rule_render(hit.rule->title, ev, &hit, buf, sizeof(buf));
		json_object_set_new(o, "title", json_string(buf));
	}
}

/*
 * Read one line of at most max + 1 bytes (NULs included, the LF not);
 * the rest of a longer line is skipped. -1 at the end of the input.
 */
static ssize_t
sopd_parse_getline(FILE *f, char *line, size_t max)
{
	size_t len = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n')
		if (len <= max)
			line[len++] = (char)c;
	if (c == EOF && len == 0)
		return -1;
	return (ssize_t)len;
}

/*
 * --received TIME: "YYYY-MM-DDTHH:MM:SS" (or a space for the T) with "Z"
 * or "+hh:mm", or without: local time (TZ). -1 if malformed.
 */
static int
sopd_parse_when(const char *s, int64_t *us)
{
	struct tm tm;
	const char *p;
	time_t t;
	int h, m, n = 0;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL &&
	    (p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '\0') {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	} else if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0)
		t = timegm(&tm);
	else if ((*p == '+' || *p == '-') &&
	    sscanf(p + 1, "%2d:%2d%n", &h, &m, &n) == 2 && p[1 + n] == '\0' &&
	    n == 5 && h < 24 && m < 60)
		t = timegm(&tm) - (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
	else
		return -1;
	*us = (int64_t)t * 1000000;
	return 0;
}

/*
 * Whether the parser recognised nothing of a header (no timestamp, host,
 * tag or mnemonic): the message starts where the text after a "<digits>"
 * prefix and spaces starts.
 */
static int
sopd_parse_noheader(const struct logevent *ev, const char *line)
{
	const char *p = line;

	if (ev->format != EVENT_FMT_RFC3164)
		return 0;
	if (*p == '<') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
		p = *p == '>' ? p + 1 : line;
	}
	while (*p == ' ')
		p++;
	return ev->message == p;
}

/* The JSON of a rejected line: its number, the reason and the input. */
static json_t *
sopd_parse_reject(long lineno, enum stats_reason reason, const char *raw,
    size_t len)
{
	json_t *in;

	if ((in = json_stringn(raw, len)) == NULL) /* not UTF-8 */
		in = json_string("(not UTF-8)");
	return json_pack("{s:s, s:s, s:i, s:o}", "error", "rejected", "reason",
	    stats_reason_name(reason), "line", (json_int_t)lineno, "input", in);
}

/*
 * --parse: stdin lines to JSON lines, each parsed as the daemon parses a
 * datagram (NULs and overlong lines included); received_us < 0: now.
 */
static int
sopd_parse_stdin(const char *file, int64_t received_us)
{
	struct errlist errs = { 0 };
	struct config *cfg = NULL;
	struct ruleset *rs = NULL;
	struct logevent ev;
	enum stats_reason reason;
	size_t max = 65536;
	ssize_t len;
	long lineno = 0;
	char *line, *raw;
	json_t *o;

	if (file != NULL) {
		if (sopd_load(file, &cfg, &rs, &errs) == -1) {
			errlist_print(&errs, stderr);
			errlist_free(&errs);
			return 1;
		}
		max = cfg->max_message_size;
	}
	line = xmalloc(max + 2);
	raw = xmalloc(max + 2);
	while ((len = sopd_parse_getline(stdin, line, max)) >= 0) {
		lineno++;
		memcpy(raw, line, (size_t)len);
		memset(&ev, 0, sizeof(ev));
		ev.source = EVENT_SYSLOG;
		ev.transport = "stdin";
		ev.peer = "stdin";
		ev.received_us =
		    received_us >= 0 ? received_us : pipeline_now_us();
		if (syslog_parse(line, (size_t)len, max, &ev, &reason) == -1)
			o = sopd_parse_reject(lineno, reason, raw, (size_t)len);
		else {
			o = event_to_json(&ev);
			if (sopd_parse_noheader(&ev, line))
				json_object_set_new(o, "warning",
				    json_string(
					"no syslog header recognised (no "
					"timestamp, "
					"host or tag): the whole line is the "
					"message"));
			if (rs != NULL)
				sopd_parse_rule(rs, &ev, o);
		}
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	}
	free(raw);
	free(line);
	ruleset_free(rs);
	config_free(cfg);
	return 0;
}

/*
 * Swap in a reloaded calendar, policies and windows (windows created
 * through the API are kept); open incidents get their steps recomputed.
 */
static void
sopd_reload_clock(struct sopd *sd, struct policy *pol, struct winset *ws)
{
	if (sd->windows != NULL)
		winset_adopt(ws, sd->windows);
	winset_free(sd->windows);
	sd->windows = ws;
	policy_free(sd->policy);
	sd->policy = pol;
	if (sd->escalator != NULL)
		escalate_reconfigure(sd->escalator, pol, ws, sd->cfg);
}

/* An optional string as JSON (null when not set). */
static json_t *
sopd_str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The settings a reload cannot apply, by name, as configured. */
static json_t *
sopd_fixed(const struct config *cfg)
{
	static const char *http[] = { "listen", "tls", "tls_cert", "tls_key" };
	json_t *o = json_object(), *v;
	char name[32];
	size_t i;

	json_object_set_new(o, "state_dir", sopd_str_json(cfg->state_dir));
	json_object_set_new(o, "user", sopd_str_json(cfg->user));
	json_object_set_new(o, "group", sopd_str_json(cfg->group));
	json_object_set_new(o, "syslog.udp", sopd_str_json(cfg->syslog_udp));
	json_object_set_new(o, "syslog.tcp", sopd_str_json(cfg->syslog_tcp));
	json_object_set_new(o, "syslog.tls", sopd_str_json(cfg->syslog_tls));
	json_object_set_new(o, "syslog.relp", sopd_str_json(cfg->syslog_relp));
	for (i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
		snprintf(name, sizeof(name), "http.%s", http[i]);
		v = ynode_json(ynode_get(cfg->sec_http, http[i]));
		json_object_set_new(o, name, v != NULL ? v : json_null());
	}
	return o;
}

/*
 * Say which settings changed since the start that a reload cannot apply
 * (the running values stay): logged, kept for the stats and returned for
 * the audit (NULL when none).
 */
static json_t *
sopd_reload_fixed(struct sopd_run *run, const struct config *cfg)
{
	struct sopd *sd = &run->sd;
	json_t *now = sopd_fixed(cfg), *list = json_array(), *v;
	const char *k;
	size_t used = 0;
	int n;

	sd->restart_needed[0] = '\0';
	json_object_foreach(run->fixed, k, v)
	{
		if (json_equal(v, json_object_get(now, k)))
			continue;
		json_array_append_new(list, json_string(k));
		n = snprintf(sd->restart_needed + used,
		    sizeof(sd->restart_needed) - used, "%s%s",
		    used > 0 ? ", " : "", k);
		if (n > 0 && (size_t)n < sizeof(sd->restart_needed) - used)
			used += (size_t)n;
	}
	json_decref(now);
	if (json_array_size(list) == 0) {
		json_decref(list);
		return NULL;
	}
	log_warnx("reload: %s changed: only a restart applies %s (the "
		  "running values stay)",
	    sd->restart_needed, json_array_size(list) > 1 ? "them" : "it");
	return list;
}

/* Reload the TLS input's certificates; the old ones stay on error. */
static void
sopd_reload_tls(struct sopd_run *run)
{
	char *cause = NULL;

	if (tls_reconfigure(run->tls, &cause) == -1) {
		log_warnx("reload: syslog tls: %s (keeping the old "
			  "certificates)",
		    cause);
		free(cause);
	}
}

/* SIGHUP: load a new config and rule set; keep the old ones on error. */
static void
sopd_reload(struct sopd_run *run)
{
	struct sopd *sd = &run->sd;
	struct errlist errs = { 0 };
	struct config *cfg;
	struct ruleset *rs;
	struct policy *pol = NULL;
	struct winset *ws = NULL;
	json_t *diff, *fixed;
	size_t i;

	sd->last_reload = time(NULL);
	if (sopd_load(sd->cfg->file, &cfg, &rs, &errs) == 0 &&
	    sopd_load_clock(cfg, &pol, &ws, &errs) == -1) {
		ruleset_free(rs);
		config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		for (i = 0; i < errs.n; i++)
			log_warnx("reload: %s", errs.msgs[i]);
		log_warnx("reload failed (%zu errors): keeping the running "
			  "configuration",
		    errs.n);
		snprintf(sd->last_reload_error, sizeof(sd->last_reload_error),
		    "%s%s", errs.n ? errs.msgs[0] : "error",
		    errs.n > 1 ? " (and more)" : "");
		sd->last_reload_ok = 0;
		stats.reload_failures++;
		errlist_free(&errs);
		return;
	}
	fixed = sopd_reload_fixed(run, cfg);
	diff = audit_diff(sd->cfg, sd->rules, cfg, rs);
	if (fixed != NULL)
		json_object_set_new(diff, "restart_needed", fixed);
	ruleset_free(sd->rules);
	sd->rules = rs;
	config_free(sd->cfg);
	sd->cfg = cfg;
	incidents_reconfigure(sd->incidents, cfg);
	notify_reconfigure(sd->notifier, cfg);
	expect_set_rules(sd->expect, rs);
	poll_reconfigure(sd->poller);
	sopd_reload_clock(sd, pol, ws);
	schedule_reconfigure(sd->schedule, cfg);
	sopd_reload_tls(run);
	if (run->traps != NULL && traps_reconfigure(run->traps, cfg) == -1 &&
	    privdrop_user() != NULL)
		log_warnx("reload: traps.listen %s: sopd runs as user %s and "
			  "cannot bind it (a privileged port needs a restart)",
		    cfg->trap_listen, privdrop_user());
	sd->generation++;
	sd->last_reload_ok = 1;
	sd->last_reload_error[0] = '\0';
	stats.reloads++;
	log_info("reloaded: generation %u, %zu rules", sd->generation,
	    ruleset_count(rs));
	audit_record(sd, diff);
}

/* Signals arrive as ordinary loop callbacks. */
static void
sopd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sopd_run *run = arg;

	if (sig == SIGHUP) {
		sdnotify_reloading(&run->sd);
		sopd_reload(run);
		sdnotify_reloaded(&run->sd);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(run->sd.base);
}

/* Open one input if configured; fatal when it cannot bind. */
static struct listener *
sopd_input(struct sopd *sd, const struct listener_ops *ops, const char *addr)
{
	struct listener *l;
	char *cause = NULL;

	if (addr == NULL)
		return NULL;
	if ((l = ops->open(sd, addr, &cause)) == NULL)
		fatalx("syslog %s: %s", ops->name, cause);
	return l;
}

/* The wall clock jumped: the escalation clocks move with it. */
static size_t
sopd_clock_jump_cb(struct deadlines *dq, long long jump, void *arg)
{
	struct sopd *sd = arg;

	(void)dq;
	if (sd->escalator == NULL)
		return 0;
	return escalate_clock_jumped(sd->escalator, jump);
}

/* The deadline queue, expectations and silent hosts (after the store). */
static void
sopd_start_clock(struct sopd *sd)
{
	struct errlist errs = { 0 };
	char *cause = NULL;

	if (sd->policy == NULL &&
	    (sd->policy = policy_load(sd->cfg, &errs)) == NULL) {
		errlist_print(&errs, stderr);
		fatalx("calendar: %zu errors", errs.n);
	}
	if (sd->windows == NULL &&
	    (sd->windows = winset_load(sd->cfg, policy_calendar(sd->policy),
		 &errs)) == NULL) {
		errlist_print(&errs, stderr);
		fatalx("windows: %zu errors", errs.n);
	}
	core_start(sd, sd->base, core_deadline_cb);
	deadlines_set_jump_cb(sd->deadlines, sopd_clock_jump_cb, sd);
	if (core_begin(sd, &cause) == -1)
		fatalx("escalation: %s", cause);
	if ((sd->schedule = schedule_new(sd, &cause)) == NULL)
		fatalx("schedule: %s", cause);
}

/* Start every module in order. */
static void
sopd_start(struct sopd_run *run)
{
	struct sopd *sd = &run->sd;
	struct schedule_metrics hm;
	char *cause = NULL;

	if ((sd->incidents = incidents_open(sd->base, sd->cfg, &cause)) == NULL)
		fatalx("store: %s", cause);
	if ((sd->notifier = notify_new(sd, &cause)) == NULL)
		fatalx("notify: %s", cause);
	sopd_start_clock(sd);
	run->udp = sopd_input(sd, &udp_ops, sd->cfg->syslog_udp);
	run->tcp = sopd_input(sd, &tcp_ops, sd->cfg->syslog_tcp);
	run->tls = sopd_input(sd, &tls_ops, sd->cfg->syslog_tls);
	run->relp = sopd_input(sd, &relp_ops, sd->cfg->syslog_relp);
	if (snmp_bridge_start(sd, &cause) == -1)
		fatalx("snmp: %s", cause);
	if ((sd->poller = poll_new(sd, &cause)) == NULL)
		fatalx("poll: %s", cause);
	hostfigures_metrics(sd, &hm); /* looks sd->poller up on each call */
	schedule_set_metrics(sd->schedule, &hm);
	if (sd->cfg->trap_listen != NULL &&
	    (run->traps = traps_start(sd->base, sd->cfg, pipeline_trap_cb, sd,
		 &cause)) == NULL)
		fatalx("traps: %s", cause);
	traps_set_commit(run->traps, pipeline_commit, sd);
	if (sd->cfg->http_listen != NULL &&
	    (run->http = http_start(sd, &cause)) == NULL)
		fatalx("http: %s", cause);
	/* Every port is bound, the store and net-snmp's files are open. */
	if (privdrop_drop(sd->cfg, &cause) == -1)
		fatalx("%s", cause);
	run->fixed = sopd_fixed(sd->cfg);
	run->sighup = evsignal_new(sd->base, SIGHUP, sopd_signal_cb, run);
	run->sigterm = evsignal_new(sd->base, SIGTERM, sopd_signal_cb, run);
	run->sigint = evsignal_new(sd->base, SIGINT, sopd_signal_cb, run);
	evsignal_add(run->sighup, NULL);
	evsignal_add(run->sigterm, NULL);
	evsignal_add(run->sigint, NULL);
	run->retain = retain_start(sd);
}

/* Stop every module in reverse order; the store is flushed last. */
static void
sopd_stop(struct sopd_run *run)
{
	struct sopd *sd = &run->sd;

	event_free(run->sighup);
	event_free(run->sigterm);
	event_free(run->sigint);
	json_decref(run->fixed);
	retain_free(run->retain);
	backup_stop();
	http_stop(run->http);
	traps_stop(run->traps);
	relp_ops.close(run->relp);	/* commits, then lets librelp ack */
	incidents_flush(sd->incidents); /* committed notices still go out */
	escalate_set_notifier(sd->escalator, NULL);
	notify_free(sd->notifier);
	sd->notifier = NULL;
	poll_free(sd->poller);
	sd->poller = NULL;
	snmp_bridge_stop();
	tls_ops.close(run->tls);
	tcp_ops.close(run->tcp);
	udp_ops.close(run->udp);
	expect_free(sd->expect);
	schedule_free(sd->schedule);
	sd->schedule = NULL;
	incidents_flush(sd->incidents);
	escalate_free(sd->escalator);
	incidents_close(sd->incidents);
	winset_free(sd->windows);
	deadlines_free(sd->deadlines);
	policy_free(sd->policy);
	ruleset_free(sd->rules);
	config_free(sd->cfg);
	event_base_free(sd->base);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = { { "parse", no_argument, NULL,
						      'P' },
		{ "received", required_argument, NULL, 'W' },
		{ "replay", required_argument, NULL, 'R' },
		{ "expect", required_argument, NULL, 'E' },
		{ "start", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "version", no_argument, NULL, 'V' },
		{ "integrity-check", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 } };
	static struct sopd_run run;
	struct sopd *sd = &run.sd;
	struct errlist errs = { 0 };
	const char *file = NULL;
	char *cause = NULL;
	struct replay_opts ro = { 0 };
	int ch, check = 0, fg = 0, verbose = 0, parse = 0;
	const char *received = NULL;
	int64_t received_us = -1;

	while ((ch = getopt_long(argc, argv, "c:dtv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'd':
			fg = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			verbose++;
			if (optind < argc && argv[optind][0] != '-' &&
			    log_debug_select(argv[optind++]) == -1) {
				fprintf(stderr,
				    "sopd: -v %s: want a comma-"
				    "separated list of %s\n",
				    argv[optind - 1], log_debug_names());
				return 2;
			}
			break;
		case 'P':
			parse = 1;
			break;
		case 'W':
			received = optarg;
			break;
		case 'R':
			ro.log = optarg;
			break;
		case 'E':
			ro.expect = optarg;
			break;
		case 'S':
			ro.start = optarg;
			break;
		case 'U':
			ro.until = optarg;
			break;
		case 'V':
			printf("sopd %s\n", SOPD_VERSION);
			return 0;
		case 'I': /* the daemon's own child, see incident.c */
			return store_integrity_main(optarg);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(fg || check || parse, verbose, "sopd");
	log_event_init();
	if (received != NULL &&
	    (!parse || sopd_parse_when(received, &received_us) == -1)) {
		fprintf(stderr,
		    "sopd: --received %s: want --parse and "
		    "YYYY-MM-DDTHH:MM:SS[Z|+hh:mm]\n",
		    received);
		return 2;
	}
	if (parse)
		return sopd_parse_stdin(file, received_us);
	if (ro.log != NULL || ro.expect != NULL) {
		if (ro.log == NULL || file == NULL)
			usage();
		ro.config = file;
		return replay_run(&ro);
	}
	if (file == NULL)
		file = "/etc/sopd/sopd.yaml";
	if (check)
		return sopd_check(file);

	if (sopd_load(file, &sd->cfg, &sd->rules, &errs) == -1) {
		errlist_print(&errs, stderr);
		fatalx("%zu configuration errors; not starting", errs.n);
	}
	if (privdrop_check(sd->cfg, &cause) == -1)
		fatalx("%s", cause);
	/*
	 * RFC 3164 times are local; name the zone file once so that mktime
	 * does not stat /etc/localtime for every message.
	 */
	setenv("TZ", ":/etc/localtime", 0);
	tzset();
	signal(SIGPIPE, SIG_IGN);
	umask(027); /* the store and net-snmp's files: not world-readable */
	if ((sd->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	sd->started = time(NULL);
	sd->last_reload_ok = 1;
	sopd_start(&run);
	/*
	 * No child of sopd inherits a descriptor above 2: neither what the
	 * parent left open nor what libraries opened without close-on-exec
	 * (net-snmp's internal pipe; their later sockets are marked by the
	 * SNMP bridge and the RELP input as they appear).
	 */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		log_warnx("close_range: %s", strerror(errno));
	log_info("sopd %s started: %zu rules, %zu active incidents",
	    SOPD_VERSION, ruleset_count(sd->rules),
	    incidents_active_count(sd->incidents));
	sdnotify_ready(sd);
	event_base_dispatch(sd->base);
	sdnotify_stopping();
	sopd_stop(&run);
	log_info("stopped");
	return 0;
}
