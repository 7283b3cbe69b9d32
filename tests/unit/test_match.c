/* test_match.c: rule conditions, first-match order, captures and templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "match.h"
#include "rules.h"
#include "xmalloc.h"

static char path[] = "/tmp/sopd-match.XXXXXX";

/* Load a rule set from YAML text; fails the test on any error. */
static struct ruleset *
load(const char *text)
{
	struct config cfg = { 0 };
	struct errlist errs = { 0 };
	struct ruleset *rs;
	char *paths[1] = { path };
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	cfg.rule_paths = paths;
	cfg.nrule_paths = 1;
	rs = ruleset_load(&cfg, &errs);
	errlist_print(&errs, stderr);
	assert_int_equal(errs.n, 0);
	assert_non_null(rs);
	return rs;
}

/* A syslog event. */
static struct logevent
sl(const char *host, const char *prog, int fac, int sev, const char *msg)
{
	struct logevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_SYSLOG;
	ev.host = host;
	ev.peer = "192.0.2.1:514";
	ev.program = prog;
	ev.facility = fac;
	ev.severity = sev;
	ev.message = msg;
	ev.message_len = msg != NULL ? strlen(msg) : 0;
	return ev;
}

/* A trap event with up to two varbinds. */
static struct logevent
trap(const char *host, const char *oid, const char *vb1, const char *val1,
    const char *vb2, const char *val2)
{
	struct logevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = EVENT_TRAP;
	ev.format = EVENT_FMT_TRAP_V2C;
	ev.host = host;
	ev.peer = host;
	ev.facility = ev.severity = -1;
	ev.trap_oid = oid;
	if (vb1 != NULL) {
		ev.vb[ev.nvb].oid = vb1;
		ev.vb[ev.nvb].type = "INTEGER";
		ev.vb[ev.nvb++].value = val1;
	}
	if (vb2 != NULL) {
		ev.vb[ev.nvb].oid = vb2;
		ev.vb[ev.nvb].type = "OCTET STRING";
		ev.vb[ev.nvb++].value = val2;
	}
	return ev;
}

/* The name of the rule that takes ev, or "-". */
static const char *
who(struct ruleset *rs, const struct logevent *ev)
{
	static struct rule_hit hit;

	if (!ruleset_match(rs, ev, &hit))
		return "-";
	return hit.rule->name;
}

/* The value of a capture in a hit, or NULL. */
static const char *
cap(const struct rule_hit *hit, const char *name)
{
	size_t i;

	for (i = 0; i < hit->ncap; i++)
		if (strcmp(hit->cap_name[i], name) == 0)
			return hit->cap_value[i];
	return NULL;
}

/* source, program (exact, glob, list), facility and severity forms. */
static void
test_syslog_criteria(void **state)
{
	struct ruleset *rs = load(
	    "rules:\n"
	    "  - {name: exact, match: {program: CRON}, severity: low}\n"
	    "  - {name: glob, match: {program: 'sshd*'}, severity: low}\n"
	    "  - {name: list, match: {program: [ntpd, chronyd]}, severity: "
	    "low}\n"
	    "  - {name: fac, match: {facility: [mail, local7]}, severity: "
	    "low}\n"
	    "  - {name: bound, match: {severity: '<= crit'}, severity: low}\n"
	    "  - {name: range, match: {severity: {min: err, max: warning}},"
	    " severity: low}\n"
	    "  - {name: one, match: {severity: debug, source: syslog}, "
	    "severity: low}\n");
	struct logevent ev;

	ev = sl("h", "CRON", 9, 6, "x");
	assert_string_equal(who(rs, &ev), "exact");
	ev = sl("h", "cron", 9, 6, "x");
	assert_string_equal(who(rs, &ev), "-");
	ev = sl("h", "sshd(pam_unix)", 4, 6, "x");
	assert_string_equal(who(rs, &ev), "glob");
	ev = sl("h", "chronyd", 3, 6, "x");
	assert_string_equal(who(rs, &ev), "list");
	ev = sl("h", NULL, 23, 6, "x");
	assert_string_equal(who(rs, &ev), "fac");
	ev = sl("h", NULL, 1, 2, "x");
	assert_string_equal(who(rs, &ev), "bound");
	ev = sl("h", NULL, 1, 0, "x");
	assert_string_equal(who(rs, &ev), "bound");
	ev = sl("h", NULL, 1, 3, "x");
	assert_string_equal(who(rs, &ev), "range");
	ev = sl("h", NULL, 1, 4, "x");
	assert_string_equal(who(rs, &ev), "range");
	ev = sl("h", NULL, 1, 5, "x");
	assert_string_equal(who(rs, &ev), "-");
	ev = sl("h", NULL, 1, 7, "x");
	assert_string_equal(who(rs, &ev), "one");
	ev = trap("h", "1.3.6.1.6.3.1.1.5.1", NULL, NULL, NULL, NULL);
	assert_string_equal(who(rs, &ev), "-");
	ruleset_free(rs);
}

/* Hosts: exact (any case), glob, list, peer address; msgid; not. */
static void
test_host_msgid_not(void **state)
{
	struct ruleset *rs = load("rules:\n"
				  "  - name: hosts\n"
				  "    match: {host: [rt-1, 'sw-*', 10.9.9.9], "
				  "not: {program: quiet}}\n"
				  "    severity: low\n"
				  "  - {name: msgid, match: {msgid: "
				  "'LINK-?-UPDOWN'}, severity: low}\n");
	struct logevent ev;

	ev = sl("RT-1", "x", 1, 6, "m");
	assert_string_equal(who(rs, &ev), "hosts");
	ev = sl("sw-7", "x", 1, 6, "m");
	assert_string_equal(who(rs, &ev), "hosts");
	ev = sl("sw-7", "quiet", 1, 6, "m");
	assert_string_equal(who(rs, &ev), "-");
	ev = sl("other", "x", 1, 6, "m");
	ev.peer = "10.9.9.9:40000";
	assert_string_equal(who(rs, &ev), "hosts");
	ev.peer = "[2001:db8::1]:514";
	assert_string_equal(who(rs, &ev), "-");
	ev = sl("other", NULL, 23, 3, "Interface Gi0/1, changed state to down");
	ev.msgid = "LINK-3-UPDOWN";
	assert_string_equal(who(rs, &ev), "msgid");
	ev.msgid = "LINK-5-CHANGED";
	assert_string_equal(who(rs, &ev), "-");
	ruleset_free(rs);
}

/* Message regex with captures, message_contains, and first-match order. */
static void
test_message_and_order(void **state)
{
	struct ruleset *rs =
	    load("rules:\n"
		 "  - name: specific\n"
		 "    match: {message: 'Failed password for (invalid user )?"
		 "(?<user>\\S+) from (?<src>[0-9.]+)'}\n"
		 "    severity: medium\n"
		 "  - name: contains\n"
		 "    match: {message_contains: 'Failed password'}\n"
		 "    severity: low\n"
		 "  - name: any-ssh\n"
		 "    match: {program: sshd}\n"
		 "    severity: info\n");
	struct rule_hit hit;
	struct logevent ev;

	ev = sl("h", "sshd", 4, 6,
	    "Failed password for invalid user bob "
	    "from 10.0.0.7 port 22 ssh2");
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "specific");
	assert_int_equal(hit.clear, 0);
	assert_int_equal(hit.ncap, 2);
	assert_string_equal(cap(&hit, "user"), "bob");
	assert_string_equal(cap(&hit, "src"), "10.0.0.7");
	ev = sl("h", "sshd", 4, 6, "Failed password for root from ::1");
	assert_string_equal(who(rs, &ev), "contains");
	ev = sl("h", "sshd", 4, 6, "Accepted publickey for root");
	assert_string_equal(who(rs, &ev), "any-ssh");
	ev = sl("h", "su", 4, 6, "Accepted publickey for root");
	assert_string_equal(who(rs, &ev), "-");
	ev = sl("h", "sshd", 4, 6, NULL);
	assert_string_equal(who(rs, &ev), "any-ssh");
	assert_int_equal(ruleset_rule(rs, 0)->matched, 1);
	assert_int_equal(ruleset_rule(rs, 1)->matched, 1);
	assert_int_equal(ruleset_rule(rs, 2)->matched, 2);
	ruleset_free(rs);
}

/* Only the message bytes count: a length shorter than the string limits the match. */
static void
test_message_length(void **state)
{
	struct ruleset *rs =
	    load("rules:\n"
		 "  - {name: tail, match: {message: 'abc$'}, severity: low}\n"
		 "  - {name: lit, match: {message_contains: 'xyz'}, severity: "
		 "low}\n");
	struct logevent ev = sl("h", "p", 1, 6, "abcxyz");

	ev.message_len = 3;
	assert_string_equal(who(rs, &ev), "tail");
	ev.message_len = 5;
	assert_string_equal(who(rs, &ev), "-");
	ev.message_len = 6;
	assert_string_equal(who(rs, &ev), "lit");
	ruleset_free(rs);
}

/* Optional captures come out empty; long ones are cut to the buffer. */
static void
test_capture_bounds(void **state)
{
	struct ruleset *rs =
	    load("rules:\n"
		 "  - {name: c, match: {message: '^(?<a>x)?(?<b>y+)$'}, "
		 "severity: low, key: '{a}-{b}'}\n");
	static char big[RULE_CAPBUF * 2];
	struct rule_hit hit;
	struct logevent ev;
	char out[64];

	ev = sl("h", "p", 1, 6, "yy");
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(cap(&hit, "a"), "");
	assert_string_equal(cap(&hit, "b"), "yy");
	rule_render(hit.rule->key, &ev, &hit, out, sizeof(out));
	assert_string_equal(out, "-yy");
	memset(big, 'y', sizeof(big) - 1);
	ev = sl("h", "p", 1, 6, big);
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_int_equal(strlen(cap(&hit, "b")), RULE_CAPBUF - 2);
	ruleset_free(rs);
}

/* Traps: numeric and named OIDs, varbind tests, clear conditions. */
static void
test_traps_and_clear(void **state)
{
	struct ruleset *rs =
	    load("rules:\n"
		 "  - name: down\n"
		 "    match: {trap_oid: IF-MIB::linkDown, varbinds: "
		 "{ifAdminStatus: '1'}}\n"
		 "    clear: {trap_oid: 1.3.6.1.6.3.1.1.5.4}\n"
		 "    severity: high\n"
		 "    key: '{host}:{vb:ifIndex}'\n"
		 "  - name: admin-down\n"
		 "    match: {trap_oid: linkDown, varbinds: {ifDescr: {regex: "
		 "'^Gi'}}}\n"
		 "    severity: low\n"
		 "  - name: any-cold\n"
		 "    match: {trap_oid: [coldStart, .1.3.6.1.6.3.1.1.5.2], "
		 "varbinds: {sysUpTime: {}}}\n"
		 "    severity: low\n"
		 "  - name: listed\n"
		 "    match: {source: trap, varbinds: {ifIndex: ['1', '2']}}\n"
		 "    severity: low\n");
	struct rule_hit hit;
	struct logevent ev;
	char out[128];

	ev = trap("10.0.0.1", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.12",
	    "12", "1.3.6.1.2.1.2.2.1.7.12", "1");
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "down");
	rule_render(hit.rule->key, &ev, &hit, out, sizeof(out));
	assert_string_equal(out, "10.0.0.1:12");
	ev = trap("10.0.0.1", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.1.12",
	    "12", NULL, NULL);
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "down");
	assert_int_equal(hit.clear, 1);
	assert_int_equal(hit.rule->cleared, 1);
	assert_int_equal(hit.rule->matched, 1);
	/* ifAdminStatus down(2): the first rule does not hold. */
	ev = trap("10.0.0.1", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.7.12",
	    "2", "1.3.6.1.2.1.2.2.1.2.12", "Gi0/12");
	assert_string_equal(who(rs, &ev), "admin-down");
	ev = trap("10.0.0.1", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.7.12",
	    "2", "1.3.6.1.2.1.2.2.1.2.12", "Te1/1");
	assert_string_equal(who(rs, &ev), "-");
	ev = trap("10.0.0.2", "1.3.6.1.6.3.1.1.5.2", "1.3.6.1.2.1.1.3.0", "123",
	    NULL, NULL);
	assert_string_equal(who(rs, &ev), "any-cold");
	ev = trap("10.0.0.2", "1.3.6.1.6.3.1.1.5.1", NULL, NULL, NULL, NULL);
	assert_string_equal(who(rs, &ev), "-");
	/* ifIndex is 1.3.6.1.2.1.2.2.1.1: 1.3.6.1.2.1.2.2.1.10.x is not under it. */
	ev = trap("10.0.0.3", "1.3.6.1.4.1.9.0.1", "1.3.6.1.2.1.2.2.1.10.2",
	    "2", NULL, NULL);
	assert_string_equal(who(rs, &ev), "-");
	ev = trap("10.0.0.3", "1.3.6.1.4.1.9.0.1", "1.3.6.1.2.1.2.2.1.1.2", "2",
	    NULL, NULL);
	assert_string_equal(who(rs, &ev), "listed");
	ruleset_free(rs);
}

/* Drop rules are found like any other; thresholds do not delay a match. */
static void
test_drop_and_threshold(void **state)
{
	struct ruleset *rs = load(
	    "rules:\n"
	    "  - {name: noisy-cron, match: {program: CRON}, action: drop}\n"
	    "  - name: brute\n"
	    "    match: {message: 'from (?<src>\\S+)'}\n"
	    "    threshold: {count: 5, within: 2m}\n"
	    "    severity: medium\n"
	    "    key: '{host}:{src}'\n");
	struct rule_hit hit;
	struct logevent ev;

	ev = sl("h", "CRON", 9, 6,
	    "(root) CMD (run-parts /etc/cron.hourly) "
	    "from x");
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_int_equal(hit.rule->action, RULE_DROP);
	ev = sl("h", "sshd", 4, 6, "Failed password for root from 1.2.3.4");
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "brute");
	assert_int_equal(hit.rule->threshold_count, 5);
	ruleset_free(rs);
}

/* A regex the prefilter refuses still matches, in rule order. */
static void
test_prefilter_fallback(void **state)
{
	struct ruleset *rs = load(
	    "rules:\n"
	    "  - {name: refused, match: {message: '(?|a(?<x>1)|b(?<x>2))'}, "
	    "severity: low, key: '{x}'}\n"
	    "  - {name: refused-prog, match: {program: p, message: "
	    "'(?|c(?<x>3)|d(?<x>4))'}, severity: low}\n"
	    "  - {name: plain, match: {message: '[a-d][1-4]'}, severity: low}\n"
	    "  - {name: generic, match: {host: 'h*'}, severity: low}\n");
	struct logevent ev;

	ev = sl("h", "p", 1, 6, "b2");
	assert_string_equal(who(rs, &ev), "refused");
	ev = sl("h", "p", 1, 6, "d4");
	assert_string_equal(who(rs, &ev), "refused-prog");
	ev = sl("h", "q", 1, 6, "d4");
	assert_string_equal(who(rs, &ev), "plain");
	ev = sl("h", "q", 1, 6, "zz");
	assert_string_equal(who(rs, &ev), "generic");
	ruleset_free(rs);
}

/*
 * Regexes prefiltered on a literal run: optional characters, classes,
 * groups and escapes around it do not lose a match, and rules sharing the
 * run with others still match in rule order.
 */
static void
test_prefilter_literal(void **state)
{
	struct ruleset *rs = load(
	    "rules:\n"
	    "  - {name: opt, match: {message: 'disk failure: colou?r code "
	    "[0-9]+'}, "
	    "severity: low}\n"
	    "  - {name: rep, match: {message: 'fan trayX{0,2}Y gone'}, "
	    "severity: low}\n"
	    "  - {name: cls, match: {message: 'port[[:space:]]]closed for "
	    "good'}, "
	    "severity: low}\n"
	    "  - {name: esc, match: {message: 'cost\\.total\\x41 above "
	    "limit'}, "
	    "severity: low}\n"
	    "  - {name: a, match: {message: '%LINK-[0-7]-UPDOWN: Interface "
	    "(?:Gi|Te)[0-9]'}, severity: low}\n"
	    "  - {name: b, match: {message: '%SYS-[0-7]-UPDOWN: Interface "
	    "(?:Gi|Te)[0-9]'}, severity: low}\n"
	    "  - {name: c, match: {message: 'UPDOWN: Interface Te[0-9]'}, "
	    "severity: low}\n");
	struct logevent ev;

	ev = sl("h", "p", 1, 6, "disk failure: color code 7");
	assert_string_equal(who(rs, &ev), "opt");
	ev = sl("h", "p", 1, 6, "disk failure: colour code 7");
	assert_string_equal(who(rs, &ev), "opt");
	ev = sl("h", "p", 1, 6, "fan trayY gone");
	assert_string_equal(who(rs, &ev), "rep");
	ev = sl("h", "p", 1, 6, "fan trayXXY gone");
	assert_string_equal(who(rs, &ev), "rep");
	ev = sl("h", "p", 1, 6, "port ]closed for good");
	assert_string_equal(who(rs, &ev), "cls");
	ev = sl("h", "p", 1, 6, "cost.totalA above limit");
	assert_string_equal(who(rs, &ev), "esc");
	ev = sl("h", "p", 1, 6, "%SYS-3-UPDOWN: Interface Te1");
	assert_string_equal(who(rs, &ev), "b");
	ev = sl("h", "p", 1, 6, "%LINK-3-UPDOWN: Interface Gi1");
	assert_string_equal(who(rs, &ev), "a");
	ev = sl("h", "p", 1, 6, "%PM-3-UPDOWN: Interface Te1");
	assert_string_equal(who(rs, &ev), "c");
	ev = sl("h", "p", 1, 6, "%LINK-3-UPDOWNX: Interface Gi1");
	assert_string_equal(who(rs, &ev), "-");
	ruleset_free(rs);
}

/* The engine files conditions under the right index. */
static void
test_index(void **state)
{
	struct rule_cond *c[4];
	struct matcher *m;
	struct rule_hit hit;
	struct logevent ev;
	char err[128];
	size_t off, nmulti, nfall, ngen;

	c[0] = match_cond_new();
	assert_int_equal(match_cond_set_regex(c[0], "foo(?<n>\\d+)", err,
			     sizeof(err), &off),
	    0);
	c[1] = match_cond_new();
	c[1]->contains = xstrdup("bar.*");
	c[2] = match_cond_new();
	assert_int_equal(match_cond_set_regex(c[2], "a\\Kb", err, sizeof(err),
			     &off),
	    0);
	c[3] = match_cond_new();
	assert_int_equal(match_cond_set_regex(c[3], "x(", err, sizeof(err),
			     &off),
	    -1);
	assert_int_equal(off, 2);
	assert_string_equal(err, "missing closing parenthesis");
	match_cond_free(c[3]);
	c[3] = NULL;
	m = match_build(c, 4);
	match_info(m, &nmulti, &nfall, &ngen);
	assert_int_equal(nmulti, 2);
	assert_int_equal(nfall, 1);
	assert_int_equal(ngen, 0);
	ev = sl("h", "p", 1, 6, "x bar.* foo12");
	assert_int_equal(match_event(m, &ev, &hit), 0);
	assert_string_equal(hit.cap_value[0], "12");
	ev = sl("h", "p", 1, 6, "x bar.*");
	assert_int_equal(match_event(m, &ev, &hit), 1);
	ev = sl("h", "p", 1, 6, "x barx");
	assert_int_equal(match_event(m, &ev, &hit), -1);
	ev = sl("h", "p", 1, 6, "ab");
	assert_int_equal(match_event(m, &ev, &hit), 2);
	match_free(m);
	match_cond_free(c[0]);
	match_cond_free(c[1]);
	match_cond_free(c[2]);
}

/* A condition with a message regex; fails the test if it does not compile. */
static struct rule_cond *
re_cond(const char *re)
{
	struct rule_cond *c = match_cond_new();
	char err[128];
	size_t off;

	assert_int_equal(match_cond_set_regex(c, re, err, sizeof(err), &off),
	    0);
	return c;
}

/*
 * Candidates that share a literal factor but whose first plain run the
 * message lacks are passed over without running their regex; the run is one
 * that every match holds (optional last characters, escapes), so nothing
 * that matched before is lost.
 */
static void
test_first_run(void **state)
{
	static const char *re[] = {
		"%LINK-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"%SYS-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"%OSPF-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"%BGP-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"colou?r\\.code [0-9]+ for tray X",
		"fan trayX{0,2}Y gone from rack",
		"(?i)%ltm-[0-7]-UPDOWN: Interface Gi[0-9]",
		"(?:%PM|%EC)-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
	};
	struct rule_cond *c[8];
	struct matcher *m;
	struct rule_hit hit;
	struct logevent ev;
	unsigned long long runs;
	size_t i;

	for (i = 0; i < 8; i++)
		c[i] = re_cond(re[i]);
	m = match_build(c, 8);
	ev = sl("h", "p", 1, 6, "%BGP-3-UPDOWN: Interface Te1");
	assert_int_equal(match_event(m, &ev, &hit), 3);
	runs = match_regex_runs(m);
	assert_int_equal(runs, 1); /* not the other facilities' */
	ev = sl("h", "p", 1, 6, "%LINK-3-UPDOWNX: Interface Gi1");
	assert_int_equal(match_event(m, &ev, &hit), -1);
	ev = sl("h", "p", 1, 6, "%B%BG%BGP-3-UPDOWN: Interface Te1");
	assert_int_equal(match_event(m, &ev, &hit), 3);
	ev = sl("h", "p", 1, 6, "%BG");
	assert_int_equal(match_event(m, &ev, &hit), -1);
	ev = sl("h", "p", 1, 6, "%LINK-3-UPDOWN: Interface Gi1");
	assert_int_equal(match_event(m, &ev, &hit), 0);
	ev = sl("h", "p", 1, 6, "%LTM-3-UPDOWN: Interface Gi1");
	assert_int_equal(match_event(m, &ev, &hit), 6);
	ev = sl("h", "p", 1, 6, "%EC-3-UPDOWN: Interface Gi1");
	assert_int_equal(match_event(m, &ev, &hit), 7);
	ev = sl("h", "p", 1, 6, "color.code 12 for tray X");
	assert_int_equal(match_event(m, &ev, &hit), 4);
	ev = sl("h", "p", 1, 6, "colour.code 12 for tray X");
	assert_int_equal(match_event(m, &ev, &hit), 4);
	ev = sl("h", "p", 1, 6, "fan trayY gone from rack");
	assert_int_equal(match_event(m, &ev, &hit), 5);
	ev = sl("h", "p", 1, 6, "fan trayXXY gone from rack");
	assert_int_equal(match_event(m, &ev, &hit), 5);
	match_free(m);
	for (i = 0; i < 8; i++)
		match_cond_free(c[i]);
}

/*
 * When the prefilter's literal is a condition's first run (a facility no
 * other rule has), the run checked is the next one: a near miss on the
 * mnemonic runs no regex. A long run is checked by its start.
 */
static void
test_first_run_after_factor(void **state)
{
	static const char *re[] = {
		"%STACKMGR-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"%LINK-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"%SYS-[0-7]-UPDOWN: Interface (?:Gi|Te)[0-9]",
		"[0-9] Temperature sensor\\.reading [0-9]+C exceeds",
	};
	struct rule_cond *c[4];
	struct matcher *m;
	struct rule_hit hit;
	struct logevent ev;
	size_t i;

	for (i = 0; i < 4; i++)
		c[i] = re_cond(re[i]);
	m = match_build(c, 4);
	ev = sl("h", "p", 1, 6, "%STACKMGR-3-UPDOWNX: Interface Gi1");
	assert_int_equal(match_event(m, &ev, &hit), -1);
	assert_int_equal(match_regex_runs(m), 0);
	ev = sl("h", "p", 1, 6, "%STACKMGR-3-UPDOWN: Interface Gi1");
	assert_int_equal(match_event(m, &ev, &hit), 0);
	assert_int_equal(match_regex_runs(m), 1);
	ev = sl("h", "p", 1, 6, "2 Temperature sensor.reading 71C exceeds");
	assert_int_equal(match_event(m, &ev, &hit), 3);
	ev = sl("h", "p", 1, 6, "2 Temperature sensor.readinG 71C exceeds");
	assert_int_equal(match_event(m, &ev, &hit), -1);
	match_free(m);
	for (i = 0; i < 4; i++)
		match_cond_free(c[i]);
}

/* Templates: every field, doubled braces, truncation. */
static void
test_render(void **state)
{
	struct logevent ev = sl("web1", "nginx", 3, 2, "disk full");
	struct rule r = { .name = "r1" };
	struct rule_hit hit = { .rule = &r, .ncap = 1 };
	char out[256];
	size_t n;

	hit.cap_name[0] = "who";
	hit.cap_value[0] = "alice";
	ev.pid = "42";
	ev.msgid = "ID7";
	ev.trap_oid = NULL;
	rule_render("{rule} {host} {program}[{pid}] {msgid} {facility}."
		    "{severity} {peer} <{trap_oid}> {who} {{x}} }} {message} "
		    "{nope}",
	    &ev, &hit, out, sizeof(out));
	assert_string_equal(out,
	    "r1 web1 nginx[42] ID7 daemon.crit "
	    "192.0.2.1:514 <> alice {x} } disk full ");
	rule_render("{unterminated", &ev, &hit, out, sizeof(out));
	assert_string_equal(out, "{unterminated");
	n = rule_render("{host}{host}{host}", &ev, &hit, out, 8);
	assert_int_equal(n, 7);
	assert_string_equal(out, "web1web");
	ev = trap("10.0.0.1", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.10.1",
	    "10", "1.3.6.1.2.1.2.2.1.1.1", "1");
	rule_render("{vb:1.3.6.1.2.1.2.2.1.1}|{vb:1.3.6.1.2.1.2.2.1.10}|"
		    "{facility}|{vb:9}",
	    &ev, NULL, out, sizeof(out));
	assert_string_equal(out, "1|10||");
	assert_int_equal(rule_render("x", &ev, NULL, out, 0), 0);
}

/* Many rules: the right one still wins, whatever index finds it. */
static void
test_many_rules(void **state)
{
	char *text = xstrdup("rules:\n"), *t;
	struct ruleset *rs;
	struct rule_hit hit;
	struct logevent ev;
	char msg[128], want[32];
	int i;

	for (i = 0; i < 600; i++) {
		if (i % 3 == 0)
			xasprintf(&t,
			    "%s  - {name: r%d, match: {message: "
			    "'device dev%d error (?<code>\\d+)'}, severity: "
			    "low}\n",
			    text, i, i);
		else if (i % 3 == 1)
			xasprintf(&t,
			    "%s  - {name: r%d, match: {program: "
			    "prog%d}, severity: low}\n",
			    text, i, i);
		else
			xasprintf(&t,
			    "%s  - {name: r%d, match: {trap_oid: "
			    "1.3.6.1.4.1.%d}, severity: low}\n",
			    text, i, i);
		free(text);
		text = t;
	}
	rs = load(text);
	free(text);
	for (i = 0; i < 600; i++) {
		snprintf(msg, sizeof(msg), "device dev%d error %d", i, i * 7);
		snprintf(want, sizeof(want), "prog%d", i);
		ev = sl("h", want, 1, 6, msg);
		if (i % 3 == 2) {
			snprintf(want, sizeof(want), "1.3.6.1.4.1.%d", i);
			ev = trap("h", want, NULL, NULL, NULL, NULL);
		}
		assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
		snprintf(want, sizeof(want), "r%d", i);
		assert_string_equal(hit.rule->name, want);
	}
	ev = sl("h", "prog1", 1, 6, "device dev0 error 5");
	assert_string_equal(who(rs, &ev), "r0");
	ruleset_free(rs);
}

/* An empty rule set takes nothing. */
static void
test_empty(void **state)
{
	struct ruleset *rs = load("rules: []\n");
	struct logevent ev = sl("h", "p", 1, 0, "x");

	assert_int_equal(ruleset_count(rs), 0);
	assert_string_equal(who(rs, &ev), "-");
	ruleset_free(rs);
}

/* Make the temp file. */
static int
setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Remove the temp file. */
static int
teardown(void **state)
{
	return unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syslog_criteria),
		cmocka_unit_test(test_host_msgid_not),
		cmocka_unit_test(test_message_and_order),
		cmocka_unit_test(test_message_length),
		cmocka_unit_test(test_capture_bounds),
		cmocka_unit_test(test_traps_and_clear),
		cmocka_unit_test(test_drop_and_threshold),
		cmocka_unit_test(test_prefilter_fallback),
		cmocka_unit_test(test_prefilter_literal),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_first_run),
		cmocka_unit_test(test_first_run_after_factor),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
