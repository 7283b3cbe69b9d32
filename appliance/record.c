/* record.c: the outcome lines of a replay, stamped with the simulated time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "clock.h"
#include "record.h"
#include "xmalloc.h"

#define RECORD_MAX_LINES 1000000 /* outcome lines kept */
#define RECORD_LINE_MAX	 1024

/* The outcome lines of the running replay. */
static struct {
	int active;
	const struct calendar *cal;
	char **lines;
	size_t n;
	size_t cap;
	uint64_t dropped;
	time_t when;	    /* the instant when_text shows */
	char when_text[64]; /* "" until the first line */
	size_t when_len;
} record_out;

/* Start keeping lines. */
void
record_start(const struct calendar *cal)
{
	record_out.active = 1;
	record_out.cal = cal;
	record_out.when_text[0] = '\0';
}

/* Whether lines are kept. */
int
record_active(void)
{
	return record_out.active;
}

/* An instant as RFC 3339 with the calendar zone's offset. */
static void
record_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	long off;
	char c = '+';

	calendar_localtime(record_out.cal, t, &tm);
	off = calendar_utcoff(record_out.cal, t);
	if (off < 0) {
		c = '-';
		off = -off;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, c, off / 3600, off / 60 % 60);
}

/* Keep one outcome line, prefixed with the simulated time. */
void
record_line(const char *fmt, ...)
{
	char what[RECORD_LINE_MAX], *line;
	va_list ap;
	time_t now;
	int n;

	if (!record_out.active)
		return;
	if (record_out.n >= RECORD_MAX_LINES) {
		record_out.dropped++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(what))
		n = sizeof(what) - 1;
	/* Many lines share a second: its text is made once. */
	now = clock_now();
	if (record_out.when_text[0] == '\0' || now != record_out.when) {
		record_time(now, record_out.when_text,
		    sizeof(record_out.when_text));
		record_out.when_len = strlen(record_out.when_text);
		record_out.when = now;
	}
	line = xmalloc(record_out.when_len + 1 + (size_t)n + 1);
	memcpy(line, record_out.when_text, record_out.when_len);
	line[record_out.when_len] = ' ';
	memcpy(line + record_out.when_len + 1, what, (size_t)n + 1);
	if (record_out.n == record_out.cap) {
		record_out.cap = record_out.cap ? record_out.cap * 2 : 64;
		record_out.lines = xreallocarray(record_out.lines,
		    record_out.cap, sizeof(*record_out.lines));
	}
	record_out.lines[record_out.n++] = line;
}

/* The lines kept so far. */
const char *const *
record_lines(size_t *n)
{
	*n = record_out.n;
	return (const char *const *)record_out.lines;
}

/* Lines not kept: over RECORD_MAX_LINES. */
uint64_t
record_dropped(void)
{
	return record_out.dropped;
}

/* Forget every line and stop. */
void
record_stop(void)
{
	size_t i;

	for (i = 0; i < record_out.n; i++)
		free(record_out.lines[i]);
	free(record_out.lines);
	memset(&record_out, 0, sizeof(record_out));
}
