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
#define RECORD_CHUNK	 (256 * 1024) /* lines' text is kept in chunks */

/* A block of lines' text; a line never spans two. */
struct record_chunk {
	struct record_chunk *next;
	size_t used;
	char text[RECORD_CHUNK];
};

/* The outcome lines of the running replay. */
static struct {
	int active;
	const struct calendar *cal;
	char **lines;
	size_t n;
	size_t cap;
	uint64_t dropped;
	struct record_chunk *chunks; /* the newest first */
	time_t when;		     /* the instant when_text shows */
	char when_text[64];	     /* "" until the first line */
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

/* Two decimal digits of v (0..99) at p. */
static char *
record_2d(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* An instant as RFC 3339 with the calendar zone's offset. */
static size_t
record_time(time_t t, char *buf)
{
	struct tm tm;
	long off;
	char c = '+', *p = buf;
	int y;

	calendar_localtime(record_out.cal, t, &tm);
	off = calendar_utcoff(record_out.cal, t);
	if (off < 0) {
		c = '-';
		off = -off;
	}
	y = tm.tm_year + 1900;
	if (y < 0 || y > 9999) /* not in a log's timestamps; as printf did */
		return (size_t)snprintf(buf, 64,
		    "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", y,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    c, off / 3600, off / 60 % 60);
	p = record_2d(record_2d(p, y / 100), y % 100);
	*p++ = '-';
	p = record_2d(p, tm.tm_mon + 1);
	*p++ = '-';
	p = record_2d(p, tm.tm_mday);
	*p++ = 'T';
	p = record_2d(p, tm.tm_hour);
	*p++ = ':';
	p = record_2d(p, tm.tm_min);
	*p++ = ':';
	p = record_2d(p, tm.tm_sec);
	*p++ = c;
	p = record_2d(p, (int)(off / 3600)); /* zones are within 26 hours */
	*p++ = ':';
	p = record_2d(p, (int)(off / 60 % 60));
	*p = '\0';
	return (size_t)(p - buf);
}

/* Room for a line of len bytes (with its NUL) in the newest chunk. */
static char *
record_room(size_t len)
{
	struct record_chunk *c = record_out.chunks;

	if (c == NULL || RECORD_CHUNK - c->used < len) {
		c = xmalloc(sizeof(*c));
		c->used = 0;
		c->next = record_out.chunks;
		record_out.chunks = c;
	}
	c->used += len;
	return c->text + c->used - len;
}

/* Keep the n bytes of what, prefixed with the simulated time. */
static void
record_keep(const char *what, size_t n)
{
	char *line;
	time_t now;

	/* Many lines share a second: its text is made once. */
	now = clock_now();
	if (record_out.when_text[0] == '\0' || now != record_out.when) {
		record_out.when_len = record_time(now, record_out.when_text);
		record_out.when = now;
	}
	line = record_room(record_out.when_len + 1 + n + 1);
	memcpy(line, record_out.when_text, record_out.when_len);
	line[record_out.when_len] = ' ';
	memcpy(line + record_out.when_len + 1, what, n);
	line[record_out.when_len + 1 + n] = '\0';
	if (record_out.n == record_out.cap) {
		record_out.cap = record_out.cap ? record_out.cap * 2 : 64;
		record_out.lines = xreallocarray(record_out.lines,
		    record_out.cap, sizeof(*record_out.lines));
	}
	record_out.lines[record_out.n++] = line;
}

/* Whether one more line is kept (else counted as dropped). */
static int
record_room_for_line(void)
{
	if (!record_out.active)
		return 0;
	if (record_out.n >= RECORD_MAX_LINES) {
		record_out.dropped++;
		return 0;
	}
	return 1;
}

/* Keep one outcome line, prefixed with the simulated time. */
void
record_line(const char *fmt, ...)
{
	char what[RECORD_LINE_MAX];
	va_list ap;
	int n;

	if (!record_room_for_line())
		return;
	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(what))
		n = sizeof(what) - 1;
	record_keep(what, (size_t)n);
}

/* Keep one outcome line made of the strings given, up to a NULL. */
void
record_cat(const char *s, ...)
{
	char what[RECORD_LINE_MAX];
	size_t n = 0, len;
	va_list ap;

	if (!record_room_for_line())
		return;
	va_start(ap, s);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		len = strlen(s);
		if (len > sizeof(what) - 1 - n)
			len = sizeof(what) - 1 - n;
		memcpy(what + n, s, len);
		n += len;
	}
	va_end(ap);
	record_keep(what, n);
}

/* The decimal digits of v. */
char *
record_u64(char buf[RECORD_U64_LEN], uint64_t v)
{
	char *p = buf + RECORD_U64_LEN - 1;
	size_t n;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	n = (size_t)(buf + RECORD_U64_LEN - p);
	memmove(buf, p, n);
	return buf;
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
	struct record_chunk *c, *next;

	for (c = record_out.chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(record_out.lines);
	memset(&record_out, 0, sizeof(record_out));
}
