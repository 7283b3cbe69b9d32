/* record.c: the outcome lines of a replay, stamped with the simulated time. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "clock.h"
#include "record.h"

#define RECORD_LINE_MAX 1024 /* a line's text, after its time */
#define RECORD_TIME_MAX 64

/* The running replay's recorder. */
static struct {
	int active;
	const struct calendar *cal;
	record_sink *sink;
	void *arg;
	time_t when;	 /* the instant the line's prefix shows */
	size_t when_len; /* its length; 0 until the first line */
	char line[RECORD_TIME_MAX + 1 + RECORD_LINE_MAX]; /* time, ' ', text */
} record_out;

/* Start handing lines to sink. */
void
record_start(const struct calendar *cal, record_sink *sink, void *arg)
{
	record_out.active = 1;
	record_out.cal = cal;
	record_out.sink = sink;
	record_out.arg = arg;
	record_out.when_len = 0;
}

/* Whether lines are made. */
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
		return (size_t)snprintf(buf, RECORD_TIME_MAX,
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

/* The text of the line being made, after its time prefix and a space. */
static char *
record_text(void)
{
	time_t now;

	/* Many lines share a second: its text is made once. */
	now = clock_now();
	if (record_out.when_len == 0 || now != record_out.when) {
		record_out.when_len = record_time(now, record_out.line);
		record_out.when = now;
		record_out.line[record_out.when_len] = ' ';
	}
	return record_out.line + record_out.when_len + 1;
}

/* Hand the line made, its text n bytes long, to the sink. */
static void
record_emit(size_t n)
{
	size_t len = record_out.when_len + 1 + n;

	record_out.line[len] = '\0';
	record_out.sink(record_out.line, len, record_out.arg);
}

/* One outcome line, prefixed with the simulated time. */
void
record_line(const char *fmt, ...)
{
	char *what;
	va_list ap;
	int n;

	if (!record_out.active)
		return;
	what = record_text();
	va_start(ap, fmt);
	n = vsnprintf(what, RECORD_LINE_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	else if (n >= RECORD_LINE_MAX)
		n = RECORD_LINE_MAX - 1;
	record_emit((size_t)n);
}

/* One outcome line made of the strings given, up to a NULL. */
void
record_cat(const char *s, ...)
{
	char *what;
	size_t n = 0, len;
	va_list ap;

	if (!record_out.active)
		return;
	what = record_text();
	va_start(ap, s);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		len = strlen(s);
		if (len > RECORD_LINE_MAX - 1 - n)
			len = RECORD_LINE_MAX - 1 - n;
		memcpy(what + n, s, len);
		n += len;
	}
	va_end(ap);
	record_emit(n);
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

/* Stop making lines. */
void
record_stop(void)
{
	memset(&record_out, 0, sizeof(record_out));
}
