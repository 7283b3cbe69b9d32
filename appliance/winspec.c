/* winspec.c: when recurring weekly and one-off windows open and close. */
#include "winspec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "xmalloc.h"

/* Smallest distance in days from a selected weekday to the next one. */
static int
winspec_min_gap(unsigned days)
{
	int d, k, gap = 7;

	for (d = 0; d < 7; d++) {
		if (!(days & (1U << d)))
			continue;
		for (k = 1; k < 7; k++)
			if (days & (1U << ((d + k) % 7)))
				break;
		if (k < gap)
			gap = k;
	}
	return gap;
}

/* Fill a weekly spec after checking its range. */
int
winspec_weekly(struct window_spec *ws, unsigned days, int start_min,
    int end_min, char **cause)
{
	if (days == 0 || days > 0x7f) {
		xasprintf(cause, "no weekday selected");
		return -1;
	}
	if (start_min < 0 || start_min >= 1440 || end_min <= start_min ||
	    end_min - start_min > WINDOW_MAX_MINUTES) {
		xasprintf(cause, "a window must last from 1 minute to 7 days");
		return -1;
	}
	if (end_min - start_min > winspec_min_gap(days) * 1440) {
		xasprintf(cause,
		    "the window is longer than the time between "
		    "its weekdays, so it would overlap itself");
		return -1;
	}
	memset(ws, 0, sizeof(*ws));
	ws->kind = WINDOW_WEEKLY;
	ws->days = days;
	ws->start_min = start_min;
	ws->end_min = end_min;
	return 0;
}

/* Fill a one-off spec. */
int
winspec_oneoff(struct window_spec *ws, time_t start, time_t end, char **cause)
{
	if (end <= start) {
		xasprintf(cause, "a window must end after it starts");
		return -1;
	}
	memset(ws, 0, sizeof(*ws));
	ws->kind = WINDOW_ONEOFF;
	ws->start = start;
	ws->end = end;
	return 0;
}

/* Parse a duration such as "4h", "90m", "1h30m" or "2d" into minutes. */
static int
winspec_parse_duration(const char *s, int *minutes)
{
	long v, total = 0;
	char *end;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = strtol(s, &end, 10);
		if (v > WINDOW_MAX_MINUTES)
			return -1;
		if (*end == 'd')
			v *= 1440;
		else if (*end == 'h')
			v *= 60;
		else if (*end != 'm')
			return -1;
		total += v;
		if (total > WINDOW_MAX_MINUTES)
			return -1;
		s = end + 1;
	}
	*minutes = (int)total;
	return 0;
}

/* Parse "HH:MM-HH:MM", "HH:MM+DUR" or "HH:MM for DUR" after the days. */
static int
winspec_parse_times(const char *s, int *start, int *end)
{
	char first[8];
	size_t n = strcspn(s, "-+ ");
	int dur;

	if (n == 0 || n >= sizeof(first))
		return -1;
	memcpy(first, s, n);
	first[n] = '\0';
	if (calendar_parse_hhmm(first, start) != 0 || *start >= 1440)
		return -1;
	s += n;
	if (*s == '-') {
		if (calendar_parse_hhmm(s + 1, end) != 0 || *end == *start)
			return -1;
		if (*end <= *start)
			*end += 1440;
		return 0;
	}
	if (*s == '+')
		s++;
	else if (strncmp(s, " for ", 5) == 0)
		s += 5;
	else
		return -1;
	if (winspec_parse_duration(s, &dur) != 0 || dur == 0)
		return -1;
	*end = *start + dur;
	return 0;
}

/* Parse a one-off "START/END" or "START - END". */
static int
winspec_parse_oneoff(const struct calendar *cal, const char *text,
    struct window_spec *ws, char **cause)
{
	char *copy = xstrdup(text), *sep;
	time_t start, end;
	int rc = -1;

	if ((sep = strstr(copy, " - ")) != NULL) {
		*sep = '\0';
		sep += 3;
	} else if ((sep = strchr(copy, '/')) != NULL)
		*sep++ = '\0';
	if (sep == NULL || cal == NULL ||
	    calendar_parse_time(cal, copy, &start) != 0 ||
	    calendar_parse_time(cal, sep, &end) != 0)
		xasprintf(cause,
		    "invalid window \"%s\" (expected START/END, "
		    "e.g. 2026-11-27T20:00/2026-11-28T02:00)",
		    text);
	else
		rc = winspec_oneoff(ws, start, end, cause);
	free(copy);
	return rc;
}

/* Parse a window from text (see winspec.h for the forms). */
int
winspec_parse(const struct calendar *cal, const char *text,
    struct window_spec *ws, char **cause)
{
	char days[64];
	unsigned mask;
	size_t n;
	int start, end;

	while (*text == ' ' || *text == '\t')
		text++;
	if (isdigit((unsigned char)*text))
		return winspec_parse_oneoff(cal, text, ws, cause);
	n = strcspn(text, " \t");
	if (n == 0 || n >= sizeof(days))
		goto bad;
	memcpy(days, text, n);
	days[n] = '\0';
	if (calendar_parse_days(days, &mask) != 0)
		goto bad;
	while (text[n] == ' ' || text[n] == '\t')
		n++;
	if (winspec_parse_times(text + n, &start, &end) != 0)
		goto bad;
	return winspec_weekly(ws, mask, start, end, cause);
bad:
	xasprintf(cause,
	    "invalid window \"%s\" (expected e.g. \"fri "
	    "20:00-24:00\", \"mon-fri 22:00-02:00\" or \"sat 22:00+6h\")",
	    text);
	return -1;
}

/* The weekday list in its shortest form ("mon-fri,sun"). */
static void
winspec_format_days(unsigned days, char *buf, size_t len)
{
	static const char *names[] = { "sun", "mon", "tue", "wed", "thu", "fri",
		"sat" };
	size_t used = 0;
	int d, e;

	buf[0] = '\0';
	if (days == 0x7f) {
		snprintf(buf, len, "daily");
		return;
	}
	for (d = 0; d < 7 && used < len; d = e + 1) {
		e = d;
		if (!(days & (1U << d)))
			continue;
		while (e + 1 < 7 && (days & (1U << (e + 1))))
			e++;
		used += snprintf(buf + used, len - used, "%s%s",
		    used ? "," : "", names[d]);
		if (e > d && used < len)
			used += snprintf(buf + used, len - used, "%s%s",
			    e == d + 1 ? "," : "-", names[e]);
	}
}

/* Text form of a spec. */
void
winspec_format(const struct window_spec *ws, char *buf, size_t len)
{
	char days[64], a[32], b[32];
	struct tm tm;
	int dur, e;

	if (ws->kind == WINDOW_ONEOFF) {
		gmtime_r(&ws->start, &tm);
		strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", &tm);
		gmtime_r(&ws->end, &tm);
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(buf, len, "%s/%s", a, b);
		return;
	}
	winspec_format_days(ws->days, days, sizeof(days));
	dur = ws->end_min - ws->start_min;
	e = ws->end_min > 1440 ? ws->end_min - 1440 : ws->end_min;
	if (dur < 1440 || (dur == 1440 && ws->start_min == 0))
		snprintf(buf, len, "%s %02d:%02d-%02d:%02d", days,
		    ws->start_min / 60, ws->start_min % 60, e / 60, e % 60);
	else
		snprintf(buf, len, "%s %02d:%02d+%dm", days, ws->start_min / 60,
		    ws->start_min % 60, dur);
}

/* The instant of a wall-clock minute counted from a local date's midnight. */
static time_t
winspec_instant(const struct calendar *cal, const struct tm *day, int minutes)
{
	struct tm tm = *day;

	tm.tm_hour = 0;
	tm.tm_min = minutes;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return calendar_mktime(cal, &tm);
}

/* The occurrence that starts on the local date k days after t's date. */
static int
winspec_occurrence(const struct calendar *cal, const struct window_spec *ws,
    time_t t, int k, time_t *start, time_t *end)
{
	struct tm tm;

	calendar_localtime(cal, t, &tm);
	tm.tm_mday += k;
	tm.tm_wday = ((tm.tm_wday + k) % 7 + 7) % 7;
	if (!(ws->days & (1U << tm.tm_wday)))
		return 0;
	*start = winspec_instant(cal, &tm, ws->start_min);
	*end = winspec_instant(cal, &tm, ws->end_min);
	return *end > *start; /* not when it lies in a skipped hour */
}

/* Whether t is inside an occurrence, and its bounds. */
int
winspec_active_at(const struct calendar *cal, const struct window_spec *ws,
    time_t t, time_t *start, time_t *end)
{
	time_t s, e;
	int k;

	if (ws->kind == WINDOW_ONEOFF) {
		s = ws->start;
		e = ws->end;
		if (t < s || t >= e)
			return 0;
		goto found;
	}
	for (k = 0; k >= -(ws->end_min / 1440) - 1; k--)
		if (winspec_occurrence(cal, ws, t, k, &s, &e) && s <= t &&
		    t < e)
			goto found;
	return 0;
found:
	if (start != NULL)
		*start = s;
	if (end != NULL)
		*end = e;
	return 1;
}

/* The first occurrence starting strictly after `after`. */
time_t
winspec_next_start(const struct calendar *cal, const struct window_spec *ws,
    time_t after, time_t *end)
{
	time_t s, e;
	int k;

	if (ws->kind == WINDOW_ONEOFF) {
		if (ws->start <= after)
			return (time_t)-1;
		if (end != NULL)
			*end = ws->end;
		return ws->start;
	}
	for (k = 0; k <= 8; k++)
		if (winspec_occurrence(cal, ws, after, k, &s, &e) &&
		    s > after) {
			if (end != NULL)
				*end = e;
			return s;
		}
	return (time_t)-1;
}

/* Whether [a, b) minutes of the week meets a weekday's working hours. */
static int
winspec_meets_hours(const struct calendar *cal, int a, int b)
{
	int wd, i, n, s[CALENDAR_MAX_SPANS], e[CALENDAR_MAX_SPANS], off;

	for (wd = 0; wd < 7; wd++) {
		n = calendar_get_hours(cal, wd, s, e, CALENDAR_MAX_SPANS);
		for (i = 0; i < n; i++)
			for (off = -7; off <= 7; off += 7)
				if (a < (wd + off) * 1440 + e[i] &&
				    (wd + off) * 1440 + s[i] < b)
					return 1;
	}
	return 0;
}

/* Whether a window overlaps working hours (see winspec.h). */
int
winspec_overlaps_business(const struct calendar *cal,
    const struct window_spec *ws)
{
	int d;

	if (ws->kind == WINDOW_ONEOFF)
		return calendar_business_between(cal, ws->start, ws->end) > 0;
	for (d = 0; d < 7; d++)
		if ((ws->days & (1U << d)) &&
		    winspec_meets_hours(cal, d * 1440 + ws->start_min,
			d * 1440 + ws->end_min))
			return 1;
	return 0;
}
