/* test_audit.c: what the reload audit finds changed between two configurations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "rules.h"

static char dir[] = "/tmp/sopd-audit.XXXXXX";

/* Write text to a file in the temp dir and return its path. */
static char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* A configuration (with its rules) from text; both freed by unload. */
struct loaded {
	struct config *cfg;
	struct ruleset *rs;
};

static struct loaded
load(const char *name, const char *config, const char *rules)
{
	struct errlist errs = { 0 };
	struct loaded l;
	char cname[64], text[4096];

	snprintf(cname, sizeof(cname), "%s.yaml", name);
	snprintf(text, sizeof(text), "rules: [%s]\n%s", write_file(name, rules),
	    config);
	l.cfg = config_load(write_file(cname, text), &errs);
	errlist_print(&errs, stderr);
	assert_non_null(l.cfg);
	l.rs = ruleset_load(l.cfg, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(l.rs);
	return l;
}

static void
unload(struct loaded *l)
{
	ruleset_free(l->rs);
	config_free(l->cfg);
}

static const char rules1[] =
    "rules:\n"
    "  - {name: a, match: {message: 'A'}, severity: high}\n"
    "  - {name: b, match: {message: 'B'}, severity: medium, title: b}\n"
    "  - {name: c, match: {message: 'C'}, severity: low}\n";

/* Rules added, removed and changed (with the keys), targets and policies. */
static void
test_diff(void **state)
{
	static const char rules2[] =
	    "rules:\n"
	    "  - {name: b, match: {message: 'B'}, severity: high, title: b2}\n"
	    "  - {severity: low, match: {message: 'C'}, name: c}\n"
	    "  - {name: d, match: {message: 'D'}, severity: critical}\n";
	static const char cfg1[] =
	    "notify:\n"
	    "  targets: {t1: {type: webhook, url: 'http://192.0.2.1/'}}\n"
	    "  levels: {L1: [t1]}\n";
	static const char cfg2[] =
	    "escalation:\n"
	    "  high: [{after: 0, level: L1}]\n"
	    "notify:\n"
	    "  targets: {t1: {type: webhook, url: 'http://192.0.2.2/'}}\n"
	    "  levels: {L1: [t1]}\n";
	struct loaded o, n;
	json_t *d, *want;
	char *s;

	(void)state;
	o = load("r1", cfg1, rules1);
	n = load("r2", cfg2, rules2);
	d = audit_diff(o.cfg, o.rs, n.cfg, n.rs);
	/* c only changed the order of its keys: not a change. */
	want = json_pack("{s:[s], s:[s], s:[{s:s, s:[s,s]}]}", "added", "d",
	    "removed", "a", "changed", "name", "b", "fields", "severity",
	    "title");
	assert_true(json_equal(json_object_get(d, "rules"), want));
	json_decref(want);
	want = json_pack("{s:[], s:[], s:[{s:s, s:[s]}]}", "added", "removed",
	    "changed", "name", "t1", "fields", "url");
	assert_true(json_equal(json_object_get(d, "targets"), want));
	json_decref(want);
	want = json_pack("{s:[s], s:[], s:[]}", "added", "high", "removed",
	    "changed");
	assert_true(json_equal(json_object_get(d, "policies"), want));
	json_decref(want);
	s = audit_summary(d);
	assert_string_equal(s,
	    "rules: added d; removed a; changed b "
	    "(severity, title). policies: added high. targets: changed t1 "
	    "(url).");
	free(s);
	json_decref(d);
	unload(&o);
	unload(&n);
}

/* The same configuration again: nothing changed. */
static void
test_no_changes(void **state)
{
	struct loaded o, n;
	json_t *d;
	char *s;

	(void)state;
	o = load("s1", "", rules1);
	n = load("s2", "", rules1);
	d = audit_diff(o.cfg, o.rs, n.cfg, n.rs);
	s = audit_summary(d);
	assert_string_equal(s, "no changes");
	free(s);
	json_decref(d);
	unload(&o);
	unload(&n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_no_changes),
	};
	char cmd[64];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
