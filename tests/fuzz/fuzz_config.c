/* fuzz_config.c: libFuzzer harness for the config loader and the sections read from it (calendar, escalation, windows). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "winset.h"
#include "yamlnode.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Load the input as a config file, then its policy and windows. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct errlist errs = { NULL, 0 };
	struct config *cfg;
	struct policy *p;
	struct winset *ws;
	FILE *f;

	if (size > 65536)
		return 0;
	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/fuzz_config.%d.yaml",
		    (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if ((cfg = config_load(path, &errs)) == NULL) {
		if (errs.n == 0)
			abort();
		errlist_free(&errs);
		return 0;
	}
	if ((p = policy_load(cfg, &errs)) != NULL) {
		ws = winset_load(cfg, policy_calendar(p), &errs);
		winset_free(ws);
		policy_free(p);
	}
	errlist_free(&errs);
	config_free(cfg);
	return 0;
}
