/* test_rules.c: the rule loader, its error messages, and the default rule set's examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mibnames.h"
#include "rules.h"
#include "syslog_parse.h"
#include "unit.h"
#include "xmalloc.h"

#define GOLDEN "tests/golden/rules"

static char tmpdir[] = "/tmp/sopd-rules.XXXXXX";

/* A config that reads rules from paths (and optional groups and MIB dirs). */
static struct config *
cfg_new(const char *path)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->rule_paths = xcalloc(1, sizeof(char *));
	cfg->rule_paths[0] = xstrdup(path);
	cfg->nrule_paths = 1;
	return cfg;
}

/* Free what cfg_new and the tests put in a config. */
static void
cfg_free(struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nrule_paths; i++)
		free(cfg->rule_paths[i]);
	free(cfg->rule_paths);
	for (i = 0; i < cfg->nmib_dirs; i++)
		free(cfg->mib_dirs[i]);
	free(cfg->mib_dirs);
	for (i = 0; i < cfg->ngroups; i++) {
		for (j = 0; j < cfg->groups[i].n; j++)
			free(cfg->groups[i].patterns[j]);
		free(cfg->groups[i].patterns);
		free(cfg->groups[i].name);
	}
	free(cfg->groups);
	free(cfg);
}

/* Load rules from one text written to a temp file. */
static struct ruleset *
load_text(const char *text, struct errlist *errs)
{
	struct config *cfg = cfg_new(unit_write_file(tmpdir, "r.yaml", text));
	struct ruleset *rs = ruleset_load(cfg, errs);

	cfg_free(cfg);
	return rs;
}

/* Read a whole file into a string. */
static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xcalloc(1, (size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return buf;
}

/* The default rule set loads without error. */
static void
test_default_set_loads(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = cfg_new("rules");
	struct ruleset *rs = ruleset_load(cfg, &errs);

	errlist_print(&errs, stderr);
	assert_int_equal(errs.n, 0);
	assert_non_null(rs);
	assert_true(ruleset_count(rs) >= 15);
	assert_string_equal(ruleset_rule(rs, 0)->name, "link-down");
	assert_string_equal(ruleset_rule(rs, ruleset_count(rs) - 1)->name,
	    "syslog-critical");
	assert_null(ruleset_rule(rs, ruleset_count(rs)));
	ruleset_free(rs);
	cfg_free(cfg);
}

/* Storage for one replayed event's strings. */
struct replay {
	char buf[8192];
	char oid[128];
	char vboid[EVENT_MAX_VARBINDS][128];
};

/* Build an event from "syslog: LINE" or "trap: OID" with host and varbinds. */
static void
replay_event(const struct ynode *item, struct logevent *ev, struct replay *rp)
{
	const char *line = ynode_str(item, "syslog");
	const struct ynode *vbs = ynode_get(item, "varbinds");
	enum stats_reason reason;
	size_t i, len;

	memset(ev, 0, sizeof(*ev));
	ev->peer = "192.0.2.250";
	ev->transport = "udp";
	if (line != NULL) {
		len = strlen(line);
		assert_true(len < sizeof(rp->buf));
		memcpy(rp->buf, line, len + 1);
		ev->source = EVENT_SYSLOG;
		assert_int_equal(syslog_parse(rp->buf, len, 8000, ev, &reason),
		    0);
		return;
	}
	ev->source = EVENT_TRAP;
	ev->format = EVENT_FMT_TRAP_V2C;
	ev->facility = ev->severity = -1;
	assert_non_null(ynode_str(item, "trap"));
	assert_int_equal(mibnames_resolve(ynode_str(item, "trap"), NULL, 0,
			     rp->oid, sizeof(rp->oid)),
	    0);
	ev->trap_oid = rp->oid;
	ev->host = ynode_str(item, "host");
	for (i = 0; vbs != NULL && i < vbs->n; i++) {
		assert_int_equal(mibnames_resolve(vbs->keys[i]->value, NULL, 0,
				     rp->vboid[i], sizeof(rp->vboid[i])),
		    0);
		ev->vb[i].oid = rp->vboid[i];
		ev->vb[i].type = "OCTET STRING";
		ev->vb[i].value = vbs->items[i]->value;
		ev->nvb++;
	}
}

/* Check what the rule set did with one event against "expect". */
static const char *
replay_check(struct ruleset *rs, const struct ynode *item, const char *file)
{
	const struct ynode *exp = ynode_get(item, "expect");
	struct replay rp;
	struct logevent ev;
	struct rule_hit hit;
	char out[1024];
	const char *s;
	int got;

	assert_non_null(exp);
	replay_event(item, &ev, &rp);
	got = ruleset_match(rs, &ev, &hit);
	if (exp->type == YNODE_SCALAR) {
		if (got)
			fprintf(stderr, "%s:%d: expected none, got %s\n", file,
			    item->line, hit.rule->name);
		assert_string_equal(exp->value, "none");
		assert_int_equal(got, 0);
		return NULL;
	}
	if (!got)
		fprintf(stderr, "%s:%d: expected %s, got none\n", file,
		    item->line, ynode_str(exp, "rule"));
	assert_int_equal(got, 1);
	assert_string_equal(hit.rule->name, ynode_str(exp, "rule"));
	s = ynode_str(exp, "clear");
	assert_int_equal(hit.clear, s != NULL && strcmp(s, "true") == 0);
	if ((s = ynode_str(exp, "key")) != NULL) {
		rule_render(hit.rule->key, &ev, &hit, out, sizeof(out));
		assert_string_equal(out, s);
	}
	if ((s = ynode_str(exp, "title")) != NULL) {
		rule_render(hit.rule->title, &ev, &hit, out, sizeof(out));
		assert_string_equal(out, s);
	}
	return hit.rule->name;
}

/* Every default rule has rules/tests/NAME.yaml, and its examples hold. */
static void
test_default_set_examples(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = cfg_new("rules");
	struct ruleset *rs = ruleset_load(cfg, &errs);
	struct ynode *doc;
	const struct ynode *events;
	char path[512];
	size_t i, j;
	int seen;

	assert_non_null(rs);
	for (i = 0; i < ruleset_count(rs); i++) {
		const char *name = ruleset_rule(rs, i)->name;

		/* Metric rules take samples, not events: tests/integration/poll.sh. */
		if (ruleset_rule(rs, i)->action == RULE_METRIC)
			continue;
		snprintf(path, sizeof(path), "rules/tests/%s.yaml", name);
		doc = ynode_load(path, NULL, 0, &errs);
		errlist_print(&errs, stderr);
		assert_non_null(doc);
		assert_non_null(events = ynode_get(doc, "events"));
		seen = 0;
		for (j = 0; j < events->n; j++) {
			const char *r =
			    replay_check(rs, events->items[j], path);
			if (r != NULL && strcmp(r, name) == 0)
				seen = 1;
		}
		if (!seen)
			fprintf(stderr, "%s: no example fires %s\n", path,
			    name);
		assert_true(seen);
		ynode_free(doc);
	}
	assert_true(ruleset_rule(rs, 0)->matched >= 1);
	assert_true(ruleset_rule(rs, 0)->cleared >= 1);
	ruleset_free(rs);
	cfg_free(cfg);
}

/* Each broken file yields exactly the errors of its golden .err file. */
static void
test_broken_golden(void **state)
{
	struct dirent **ents;
	struct errlist errs;
	struct config *cfg;
	struct ruleset *rs;
	char path[512], *want, *got;
	size_t k, len;
	int i, n, checked = 0;

	n = scandir(GOLDEN, &ents, NULL, alphasort);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		len = strlen(ents[i]->d_name);
		if (strncmp(ents[i]->d_name, "bad-", 4) != 0 || len < 5 ||
		    strcmp(ents[i]->d_name + len - 5, ".yaml") != 0)
			goto next;
		snprintf(path, sizeof(path), GOLDEN "/%s", ents[i]->d_name);
		memset(&errs, 0, sizeof(errs));
		cfg = cfg_new(path);
		rs = ruleset_load(cfg, &errs);
		assert_null(rs);
		got = xstrdup("");
		for (k = 0; k < errs.n; k++) {
			char *t;
			xasprintf(&t, "%s%s\n", got, errs.msgs[k]);
			free(got);
			got = t;
		}
		snprintf(path + strlen(path) - 5, 6, ".err");
		want = read_file(path);
		if (strcmp(want, got) != 0)
			fprintf(stderr, "%s: want\n%sgot\n%s", path, want, got);
		assert_string_equal(want, got);
		free(want);
		free(got);
		errlist_free(&errs);
		cfg_free(cfg);
		checked++;
	next:
		free(ents[i]);
	}
	free(ents);
	assert_true(checked >= 5);
}

/* A missing path is an error naming it. */
static void
test_missing_path(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = cfg_new("/nonexistent/rules.yaml");

	assert_null(ruleset_load(cfg, &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0],
	    "/nonexistent/rules.yaml:0:0: "
	    "cannot open: No such file or directory");
	errlist_free(&errs);
	cfg_free(cfg);
}

/* Files of a directory load in name order; hidden and other files are skipped. */
static void
test_directory_order(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;
	struct ruleset *rs;
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	unit_write_file(tmpdir, "d/20-b.yml",
	    "rules:\n  - name: b\n    match: "
	    "{program: b}\n    action: drop\n");
	unit_write_file(tmpdir, "d/10-a.yaml",
	    "rules:\n  - name: a\n    match: {program: a}\n    action: drop\n");
	unit_write_file(tmpdir, "d/.hidden.yaml", "garbage: [");
	unit_write_file(tmpdir, "d/README", "not a rule file");
	cfg = cfg_new(dir);
	rs = ruleset_load(cfg, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(rs);
	assert_int_equal(ruleset_count(rs), 2);
	assert_string_equal(ruleset_rule(rs, 0)->name, "a");
	assert_string_equal(ruleset_rule(rs, 1)->name, "b");
	assert_int_equal(ruleset_rule(rs, 1)->line, 2);
	assert_int_equal(ruleset_rule(rs, 1)->col, 5);
	ruleset_free(rs);
	cfg_free(cfg);
}

/* Host groups come from the config and from rule files, across files. */
static void
test_host_groups(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;
	struct ruleset *rs;
	struct logevent ev = { .source = EVENT_SYSLOG,
		.facility = 1,
		.severity = 3,
		.program = "app",
		.message = "x",
		.message_len = 1 };
	struct rule_hit hit;

	cfg = cfg_new(unit_write_file(tmpdir, "g.yaml",
	    "host_groups:\n  lab: [\"lab-*\"]\n"
	    "rules:\n  - name: core\n    match: {host: {group: core}}\n"
	    "    severity: high\n  - name: lab\n    match: {host: [{group: "
	    "lab}, build1]}\n    severity: low\n"));
	cfg->groups = xcalloc(1, sizeof(*cfg->groups));
	cfg->groups[0].name = xstrdup("core");
	cfg->groups[0].patterns = xcalloc(2, sizeof(char *));
	cfg->groups[0].patterns[0] = xstrdup("sw-core-*");
	cfg->groups[0].patterns[1] = xstrdup("10.1.1.1");
	cfg->groups[0].n = 2;
	cfg->ngroups = 1;
	rs = ruleset_load(cfg, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(rs);
	ev.host = "SW-CORE-7";
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "core");
	ev.host = "unknown";
	ev.peer = "10.1.1.1:514";
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "core");
	ev.peer = "192.0.2.1";
	ev.host = "lab-3";
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "lab");
	ev.host = "build1";
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	ev.host = "build2";
	assert_int_equal(ruleset_match(rs, &ev, &hit), 0);
	assert_int_equal(ruleset_rule(rs, 0)->matched, 2);
	assert_int_equal(ruleset_rule(rs, 1)->matched, 2);
	ruleset_free(rs);
	cfg_free(cfg);
}

/* Rule fields: defaults, thresholds, templates rewritten to numeric OIDs. */
static void
test_rule_fields(void **state)
{
	struct errlist errs = { 0 };
	struct ruleset *rs;
	struct rule *r;

	rs = load_text("rules:\n"
		       "  - name: t\n"
		       "    description: d\n"
		       "    match: {trap_oid: linkDown}\n"
		       "    severity: critical\n"
		       "    title: \"{{literal}} {vb:ifIndex} "
		       "{vb:IF-MIB::ifDescr.2}\"\n"
		       "  - name: s\n"
		       "    match: {message: 'from (?<src>\\S+)'}\n"
		       "    threshold: {count: 5, within: 2m}\n"
		       "    severity: info\n"
		       "    key: \"{src}\"\n",
	    &errs);
	errlist_print(&errs, stderr);
	assert_non_null(rs);
	r = ruleset_rule(rs, 0);
	assert_string_equal(r->title,
	    "{{literal}} {vb:1.3.6.1.2.1.2.2.1.1} "
	    "{vb:1.3.6.1.2.1.2.2.1.2.2}");
	assert_string_equal(r->key, "{rule}:{host}");
	assert_string_equal(r->description, "d");
	assert_int_equal(r->severity, SEV_CRITICAL);
	assert_int_equal(r->action, RULE_INCIDENT);
	assert_int_equal(r->threshold_count, 0);
	assert_null(r->clear);
	r = ruleset_rule(rs, 1);
	assert_string_equal(r->title, "{rule} on {host}");
	assert_int_equal(r->threshold_count, 5);
	assert_int_equal(r->threshold_window, 120);
	assert_int_equal(r->severity, SEV_INFO);
	ruleset_free(rs);
}

/* SOP severity names both ways. */
static void
test_severity(void **state)
{
	assert_string_equal(severity_name(SEV_CRITICAL), "critical");
	assert_string_equal(severity_name(SEV_INFO), "info");
	assert_null(severity_name(SEV_MAX));
	assert_null(severity_name(-1));
	assert_int_equal(severity_from_name("high"), SEV_HIGH);
	assert_int_equal(severity_from_name("urgent"), -1);
}

/* Trap names resolve through MIB files when the built-in table lacks them. */
static void
test_mib_files(void **state)
{
	char oid[128];
	char *dirs[] = { GOLDEN "/mibs" };

	assert_int_equal(mibnames_resolve("IF-MIB::linkUp", NULL, 0, oid,
			     sizeof(oid)),
	    0);
	assert_string_equal(oid, "1.3.6.1.6.3.1.1.5.4");
	assert_int_equal(mibnames_resolve(".1.3.6.1.4.1.9", NULL, 0, oid,
			     sizeof(oid)),
	    0);
	assert_string_equal(oid, "1.3.6.1.4.1.9");
	assert_int_equal(mibnames_resolve("ifOperStatus.7", NULL, 0, oid,
			     sizeof(oid)),
	    0);
	assert_string_equal(oid, "1.3.6.1.2.1.2.2.1.8.7");
	assert_int_equal(mibnames_resolve("SNMPv2-MIB::linkDown", NULL, 0, oid,
			     sizeof(oid)),
	    -1);
	assert_int_equal(mibnames_resolve("1..2", NULL, 0, oid, sizeof(oid)),
	    -1);
	assert_int_equal(mibnames_resolve("sopdTestDiskFull", dirs, 1, oid,
			     sizeof(oid)),
	    0);
	assert_string_equal(oid, "1.3.6.1.4.1.99999.1.0.2");
	assert_int_equal(mibnames_resolve("SOPD-TEST-MIB::sopdTestFanFailure",
			     dirs, 1, oid, sizeof(oid)),
	    0);
	assert_string_equal(oid, "1.3.6.1.4.1.99999.1.0.1");
	assert_int_equal(mibnames_resolve("noSuchObjectAnywhere", dirs, 1, oid,
			     sizeof(oid)),
	    -1);
	mibnames_shutdown();
}

/* Rules may name traps defined only in the config's MIB directories. */
static void
test_mib_rule(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = cfg_new(unit_write_file(tmpdir, "m.yaml",
	    "rules:\n"
	    "  - name: fan\n    match: {trap_oid: sopdTestFanFailure}\n"
	    "    severity: high\n"));
	struct ruleset *rs;
	struct logevent ev = { .source = EVENT_TRAP,
		.facility = -1,
		.severity = -1,
		.host = "192.0.2.1",
		.trap_oid = "1.3.6.1.4.1.99999.1.0.1" };
	struct rule_hit hit;

	cfg->mib_dirs = xcalloc(1, sizeof(char *));
	cfg->mib_dirs[0] = xstrdup(GOLDEN "/mibs");
	cfg->nmib_dirs = 1;
	rs = ruleset_load(cfg, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(rs);
	assert_int_equal(ruleset_match(rs, &ev, &hit), 1);
	assert_string_equal(hit.rule->name, "fan");
	ruleset_free(rs);
	cfg_free(cfg);
	mibnames_shutdown();
}

/* Make the temp directory. */
static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* Remove the temp directory. */
static int
teardown(void **state)
{
	return unit_rmtree(tmpdir) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_set_loads),
		cmocka_unit_test(test_default_set_examples),
		cmocka_unit_test(test_broken_golden),
		cmocka_unit_test(test_missing_path),
		cmocka_unit_test(test_directory_order),
		cmocka_unit_test(test_host_groups),
		cmocka_unit_test(test_rule_fields),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_mib_files),
		cmocka_unit_test(test_mib_rule),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
