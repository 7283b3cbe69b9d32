/* unit.c: helpers every unit test is linked with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "config.h"
#include "unit.h"

/* Write text to dir/name and return the path. */
char *
unit_write_file(const char *dir, const char *name, const char *text)
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

/* A new directory under /tmp. */
char *
unit_tmpdir(const char *prefix)
{
	char *d;

	assert_true(asprintf(&d, "/tmp/%s.XXXXXX", prefix) > 0);
	if (mkdtemp(d) == NULL)
		fail_msg("mkdtemp %s", d);
	return d;
}

/* Remove a directory and everything in it. */
int
unit_rmtree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* A calendar in a zone, failing the test if it cannot be made. */
struct calendar *
unit_calendar(const char *tz)
{
	struct calendar *cal;
	char *cause = NULL;

	cal = calendar_new(tz, &cause);
	if (cal == NULL)
		fail_msg("calendar_new(%s): %s", tz != NULL ? tz : "default",
		    cause);
	return cal;
}

/* A local time "YYYY-MM-DD HH:MM[:SS]" in the calendar's zone. */
time_t
unit_at(const struct calendar *cal, const char *s)
{
	time_t t;

	if (calendar_parse_time(cal, s, &t) != 0)
		fail_msg("bad time %s", s);
	return t;
}

/* An instant in the calendar's zone, formatted (8 rotating buffers). */
const char *
unit_local(const struct calendar *cal, time_t t, const char *format)
{
	static char buf[8][64];
	static int i;
	struct tm tm;

	i = (i + 1) % 8;
	calendar_localtime(cal, t, &tm);
	strftime(buf[i], sizeof(buf[i]), format, &tm);
	return buf[i];
}

/* Small bounds, three samples, a 20 ms commit: the store tests' config. */
void
unit_incident_config(struct config *cfg, char *state_dir)
{
	cfg->state_dir = state_dir;
	cfg->sample_events = 3;
	cfg->max_open_incidents = 1000;
	cfg->max_open_per_rule = 1000;
	cfg->max_threshold_keys = 1000;
	cfg->commit_interval_ms = 20;
}
