/* unit.h: helpers every unit test is linked with (tests/unit/unit.c). */
#ifndef SOPD_TEST_UNIT_H
#define SOPD_TEST_UNIT_H

struct calendar;

/* Write text to dir/name; the path (static: the next call reuses it). */
char *unit_write_file(const char *dir, const char *name, const char *text);
/* A new directory /tmp/<prefix>.XXXXXX (free it); fails the test if not. */
char *unit_tmpdir(const char *prefix);
/* Remove a directory and everything in it; system()'s status. */
int unit_rmtree(const char *dir);
/* A calendar in a zone (NULL: the default), failing the test if not. */
struct calendar *unit_calendar(const char *tz);

#endif
