/* unit.h: helpers every unit test is linked with (tests/unit/unit.c). */
#ifndef SOPD_TEST_UNIT_H
#define SOPD_TEST_UNIT_H

#include <time.h>

struct calendar;

/* Write text to dir/name; the path (static: the next call reuses it). */
char *unit_write_file(const char *dir, const char *name, const char *text);
/* A new directory /tmp/<prefix>.XXXXXX (free it); fails the test if not. */
char *unit_tmpdir(const char *prefix);
/* The incidents store's settings the store tests share, kept in state_dir. */
struct config;
void unit_incident_config(struct config *, char *state_dir);
/* Remove a directory and everything in it; system()'s status. */
int unit_rmtree(const char *dir);
/* A calendar in a zone (NULL: the default), failing the test if not. */
struct calendar *unit_calendar(const char *tz);
/* A local time "YYYY-MM-DD HH:MM[:SS]" in the calendar's zone, or fail. */
time_t unit_at(const struct calendar *, const char *);
/* An instant in the calendar's zone, as strftime's format (8 buffers). */
const char *unit_local(const struct calendar *, time_t, const char *format);

#endif
