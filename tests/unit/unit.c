/* unit.c: helpers every unit test is linked with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
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
