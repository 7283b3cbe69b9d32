/* fuzz_rules.c: libFuzzer harness for the rule loader (YAML text -> ruleset_load), then one match per loaded set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "rules.h"
#include "yamlnode.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Write the input to a private file once per run and reuse its path. */
static const char *
fuzz_rules_file(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE *f;

	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/fuzz_rules.%d.yaml",
		    (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	return path;
}

/* Match a fixed syslog and trap event against a loaded set and render. */
static void
fuzz_rules_match(struct ruleset *rs)
{
	static struct rule_hit hit;
	struct logevent ev;
	char out[512];
	size_t i;

	memset(&ev, 0, sizeof ev);
	ev.source = EVENT_SYSLOG;
	ev.host = "db1";
	ev.program = "kernel";
	ev.message = "EXT4-fs error (device sda1): link down eth0";
	ev.message_len = strlen(ev.message);
	ev.facility = 0;
	ev.severity = 2;
	if (ruleset_match(rs, &ev, &hit) == 1) {
		rule_render(hit.rule->title, &ev, &hit, out, sizeof out);
		rule_render(hit.rule->key, &ev, &hit, out, sizeof out);
	}
	for (i = 0; i < ruleset_count(rs); i++)
		if (ruleset_rule(rs, i)->title != NULL)
			rule_render(ruleset_rule(rs, i)->title, &ev, NULL, out,
			    sizeof out);
}

/* Load the input as the only rule file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hostgroup grp;
	static char *pats[] = { "web*", "db1" };
	struct config cfg;
	struct errlist errs = { NULL, 0 };
	struct ruleset *rs;
	char *paths[1];

	if (size > 65536)
		return 0;
	grp.name = "web";
	grp.patterns = pats;
	grp.n = 2;
	memset(&cfg, 0, sizeof cfg);
	paths[0] = (char *)fuzz_rules_file(data, size);
	cfg.rule_paths = paths;
	cfg.nrule_paths = 1;
	cfg.groups = &grp;
	cfg.ngroups = 1;
	cfg.file = "/tmp/fuzz.yaml";
	cfg.base_dir = "/tmp";
	if ((rs = ruleset_load(&cfg, &errs)) != NULL) {
		if (errs.n != 0)
			abort();
		fuzz_rules_match(rs);
		ruleset_free(rs);
	} else if (errs.n == 0)
		abort();
	errlist_free(&errs);
	return 0;
}
