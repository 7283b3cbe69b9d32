/* winspec.h: time arithmetic of recurring weekly and one-off windows. */
#ifndef SOPD_WINSPEC_H
#define SOPD_WINSPEC_H

#include <stddef.h>
#include <time.h>

struct calendar;

/*
 * A weekly window opens on each selected weekday at start_min (local wall
 * clock, minutes after midnight) and closes end_min minutes after that
 * day's midnight, on the wall clock too: "fri 20:00-24:00" closes at
 * Saturday 00:00, "mon 22:00-02:00" at Tuesday 02:00, and "sat 22:00+6h"
 * at Sunday 04:00 wall-clock time (5 or 7 real hours on a night when the
 * clocks change).  Local times skipped or repeated by a clock change are
 * resolved as calendar_mktime does (see calendar.h); an occurrence that
 * lies wholly in a skipped hour does not happen.  The occurrences of
 * one window never overlap.  A one-off window is [start, end) in absolute
 * time.
 */
enum window_kind {
	WINDOW_WEEKLY,
	WINDOW_ONEOFF
};

#define WINDOW_MAX_MINUTES (7 * 1440)

struct window_spec {
	enum window_kind kind;
	unsigned days; /* WEEKLY: bit n = weekday n (0: Sunday) */
	int start_min; /* WEEKLY: 0 to 1439 */
	int end_min;   /* WEEKLY: start_min < end_min */
	time_t start;  /* ONEOFF */
	time_t end;    /* ONEOFF: start < end */
};

/*
 * Parse "fri 20:00-24:00", "mon-fri 22:00-02:00", "sat,sun 01:00+3h",
 * "sun 22:00 for 1h30m", or a one-off "START/END" (also "START - END")
 * with times as calendar_parse_time reads them.  -1 and *cause on error.
 */
int winspec_parse(const struct calendar *, const char *text,
    struct window_spec *, char **cause);
/* Build a weekly spec; -1 and *cause if out of range or self-overlapping. */
int winspec_weekly(struct window_spec *, unsigned days, int start_min,
    int end_min, char **cause);
/* Build a one-off spec; -1 and *cause unless start < end. */
int winspec_oneoff(struct window_spec *, time_t start, time_t end,
    char **cause);
/* Text form that window_spec_parse reads back (one-offs in UTC). */
void winspec_format(const struct window_spec *, char *buf, size_t len);

/* 1 if t is inside an occurrence (its bounds in start/end), else 0. */
int winspec_active_at(const struct calendar *, const struct window_spec *,
    time_t t, time_t *start, time_t *end);
/* Start of the first occurrence starting strictly after `after`; -1: none. */
time_t winspec_next_start(const struct calendar *, const struct window_spec *,
    time_t after, time_t *end);
/*
 * 1 if the window overlaps working hours.  Weekly windows are checked
 * against the weekly hours, ignoring holidays; one-off windows against the
 * business time of their actual span (a change on a holiday is fine).
 */
int winspec_overlaps_business(const struct calendar *,
    const struct window_spec *);

#endif
