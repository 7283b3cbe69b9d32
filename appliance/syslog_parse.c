/* syslog_parse.c: RFC 5424, RFC 3164 and device variants into an event, in place. */
#include "syslog_parse.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#define SP_HOST_MAX    255
#define SP_TAG_MAX     48
#define SP_PID_MAX     128
#define SP_APP_MAX     48
#define SP_MSGID_MAX   32
#define SP_SDID_MAX    32
#define SP_DEFAULT_PRI 13 /* user.notice */

/* A broken-down timestamp as read from the message. */
struct sp_time {
	int year; /* 0 when the message gave none */
	int mon, day, hour, min, sec;
	int usec;
	int has_off; /* offset given (RFC 3339, or a UTC zone) */
	int off_min;
	int unsync; /* Cisco '*': clock never synchronised */
	int bad;    /* read, but not a valid date and time */
	int lax;    /* read, but not as RFC 3339 writes it */
};

static const char sp_months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

/* Whether c is a space or a tab. */
static inline int
syslog_parse_isblank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether c is an ASCII digit. */
static inline int
syslog_parse_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skip spaces. */
static char *
syslog_parse_skipsp(char *p, char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* Read exactly n digits into *v; NULL if they are not there. */
static char *
syslog_parse_digits(char *p, char *end, int n, int *v)
{
	int x = 0;

	if (end - p < n)
		return NULL;
	while (n-- > 0) {
		if (!syslog_parse_isdigit(*p))
			return NULL;
		x = x * 10 + (*p++ - '0');
	}
	*v = x;
	return p;
}

/* The days of a month; year 0 stands for a leap year (year not known). */
static int
syslog_parse_mdays(int y, int m)
{
	static const char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	if (m != 2)
		return mdays[m - 1];
	return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
syslog_parse_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The Gregorian year of a day count since 1970-01-01. */
static int
syslog_parse_year(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return (int)(yoe + era * 400 + (mp >= 10));
}

/* Seconds since the epoch of a broken-down time read as if it were UTC. */
static int64_t
syslog_parse_secs(const struct sp_time *t, int year)
{
	return syslog_parse_days(year, t->mon, t->day) * 86400 +
	    t->hour * 3600 + t->min * 60 + t->sec;
}

/*
 * The UTC offset (seconds east) of local time lsec (a local time read as if
 * UTC), from mktime; cached per local hour since mktime is slow, in one of
 * two slots (0: message times, 1: reception times) so that both stay hot.
 */
static int64_t
syslog_parse_localoff(int64_t lsec, int slot)
{
	static _Thread_local int64_t c_hour[2] = { INT64_MIN, INT64_MIN };
	static _Thread_local long c_tz[2];
	static _Thread_local int64_t c_off[2];
	int64_t hour;
	time_t t;
	struct tm tm;

	hour = (lsec >= 0 ? lsec : lsec - 3599) / 3600;
	if (hour == c_hour[slot] && timezone == c_tz[slot])
		return c_off[slot];
	t = (time_t)(hour * 3600);
	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	c_off[slot] = t == (time_t)-1 ? 0 : hour * 3600 - (int64_t)t;
	c_hour[slot] = hour;
	c_tz[slot] = timezone;
	return c_off[slot];
}

/*
 * The year of a timestamp that gave none: the latest of the years around
 * reception that puts it at most a day ahead of reception (a sender's clock
 * may run a little fast, never months) and in which the date exists
 * (Feb 29). 0 if there is none.
 */
static int
syslog_parse_guessyear(const struct sp_time *t, int64_t received_us,
    int64_t *lsec)
{
	static _Thread_local int64_t c_day = INT64_MIN, c_next;
	static _Thread_local int c_ry;
	int64_t rsec, day, lim;
	int y;

	rsec = received_us / 1000000;
	/* Reception in the timestamp's zone, read as if UTC. */
	rsec += t->has_off ? (int64_t)t->off_min * 60 :
			     syslog_parse_localoff(rsec, 1);
	day = (rsec >= 0 ? rsec : rsec - 86399) / 86400;
	if (day != c_day) { /* the year of reception and when it ends */
		c_ry = syslog_parse_year(day);
		c_next = syslog_parse_days(c_ry + 1, 1, 1) * 86400;
		c_day = day;
	}
	lim = rsec + 86400;
	/* Next year only on the last day of this one. */
	for (y = lim >= c_next ? c_ry + 1 : c_ry; y >= c_ry - 1; y--)
		if (t->day <= syslog_parse_mdays(y, t->mon) &&
		    (*lsec = syslog_parse_secs(t, y)) <= lim)
			return y;
	return 0;
}

/*
 * Convert a parsed timestamp to UTC microseconds and its offset; -1 when
 * it is no valid date and time.
 */
static int
syslog_parse_utc(const struct sp_time *t, int64_t received_us, int64_t *us,
    int *off_min)
{
	int64_t lsec, off;
	int y = t->year;

	if (t->bad || (y != 0 && t->day > syslog_parse_mdays(y, t->mon)))
		return -1;
	if (y != 0)
		lsec = syslog_parse_secs(t, y);
	else if (syslog_parse_guessyear(t, received_us, &lsec) == 0)
		return -1;
	off = t->has_off ? (int64_t)t->off_min * 60 :
			   syslog_parse_localoff(lsec, 0);
	*off_min = (int)(off / 60);
	*us = (lsec - off) * 1000000 + t->usec;
	return 0;
}

/* Read ".frac" (any number of digits, microseconds kept). */
static char *
syslog_parse_frac(char *p, char *end, int *usec)
{
	int n = 0, v = 0;

	*usec = 0;
	if (p >= end || *p != '.')
		return p;
	p++;
	if (p >= end || !syslog_parse_isdigit(*p))
		return NULL;
	for (; p < end && syslog_parse_isdigit(*p); p++, n++)
		if (n < 6)
			v = v * 10 + (*p - '0');
	for (; n < 6; n++)
		v *= 10;
	*usec = v;
	return p;
}

/*
 * Read "hh:mm:ss[.frac]" (the hour may have one digit: lax). Out-of-range
 * values (hour 24, second 60) make it bad, not unreadable.
 */
static char *
syslog_parse_clock(char *p, char *end, struct sp_time *t)
{
	if (p + 1 < end && syslog_parse_isdigit(p[0]) && p[1] == ':') {
		t->hour = p[0] - '0';
		t->lax = 1;
		p++;
	} else if ((p = syslog_parse_digits(p, end, 2, &t->hour)) == NULL)
		return NULL;
	if (p >= end || *p++ != ':' ||
	    (p = syslog_parse_digits(p, end, 2, &t->min)) == NULL || p >= end ||
	    *p++ != ':' ||
	    (p = syslog_parse_digits(p, end, 2, &t->sec)) == NULL)
		return NULL;
	if (t->hour > 23 || t->min > 59 || t->sec > 59)
		t->bad = 1;
	return syslog_parse_frac(p, end, &t->usec);
}

/*
 * Read a numeric offset "+hh:mm"; "+hhmm", "+h:mm" and "+hh" are read too
 * (lax). An offset of 24 hours or more makes the time bad.
 */
static char *
syslog_parse_offset(char *p, char *end, struct sp_time *t)
{
	int sign = *p == '-' ? -1 : 1, h = 0, m = 0, n = 0;
	char *q = p + 1;

	for (; q < end && n < 2 && syslog_parse_isdigit(*q); q++, n++)
		h = h * 10 + (*q - '0');
	if (n == 0)
		return NULL;
	if (n == 1 || q >= end || *q != ':')
		t->lax = 1;
	if (q < end && *q == ':')
		q++;
	if (syslog_parse_digits(q, end, 2, &m) != NULL)
		q += 2;
	else if (q[-1] == ':')
		return NULL;
	if (h > 23 || m > 59)
		t->bad = 1;
	t->has_off = 1;
	t->off_min = sign * (h * 60 + m);
	return q;
}

/* Read an RFC 3339 timestamp; the offset is optional (then local time). */
static char *
syslog_parse_rfc3339(char *p, char *end, struct sp_time *t)
{
	if ((p = syslog_parse_digits(p, end, 4, &t->year)) == NULL ||
	    p >= end || *p++ != '-' ||
	    (p = syslog_parse_digits(p, end, 2, &t->mon)) == NULL || p >= end ||
	    *p++ != '-' ||
	    (p = syslog_parse_digits(p, end, 2, &t->day)) == NULL || p >= end ||
	    (*p != 'T' && *p != 't'))
		return NULL;
	if (t->year == 0 || t->mon < 1 || t->mon > 12 || t->day < 1 ||
	    t->day > syslog_parse_mdays(t->year, t->mon))
		t->bad = 1;
	if ((p = syslog_parse_clock(p + 1, end, t)) == NULL)
		return NULL;
	if (p < end && (*p == 'Z' || *p == 'z')) {
		t->has_off = 1;
		return p + 1;
	}
	if (p < end && (*p == '+' || *p == '-'))
		return syslog_parse_offset(p, end, t);
	return p;
}

/* Read a month abbreviation (any case); 1..12 or 0. */
static int
syslog_parse_month(const char *p, const char *end)
{
	const char *m;
	char a, b, c;

	if (end - p < 4 || p[3] != ' ')
		return 0;
	a = p[0] | 0x20;
	b = p[1] | 0x20;
	c = p[2] | 0x20;
	for (m = sp_months; *m != '\0'; m += 3)
		if (m[0] == a && m[1] == b && m[2] == c)
			return (int)(m - sp_months) / 3 + 1;
	return 0;
}

/* Read a Cisco zone name before the closing ':' ("UTC:", "JST:"). */
static char *
syslog_parse_zone(char *p, char *end, struct sp_time *t)
{
	char *q = p + 1;

	if (p >= end || *p != ' ')
		return p;
	while (q < end && q - p <= 5 && *q >= 'A' && *q <= 'Z')
		q++;
	if (q - p < 4 || q >= end || *q != ':')
		return p;
	if (memcmp(p + 1, "UTC:", 4) == 0 || memcmp(p + 1, "GMT:", 4) == 0) {
		t->has_off = 1;
		t->off_min = 0;
	}
	return q;
}

/* Read "[YYYY ]Mmm dd [YYYY ]hh:mm:ss[.frac][ ZONE]" (BSD and Cisco). */
static char *
syslog_parse_bsdtime(char *p, char *end, struct sp_time *t)
{
	int y;

	if (syslog_parse_digits(p, end, 4, &y) != NULL && end - p > 4 &&
	    p[4] == ' ') {
		t->year = y;
		p += 5;
	}
	if ((t->mon = syslog_parse_month(p, end)) == 0)
		return NULL;
	p = syslog_parse_skipsp(p + 4, end);
	if (p >= end || !syslog_parse_isdigit(*p))
		return NULL;
	t->day = *p++ - '0';
	if (p < end && syslog_parse_isdigit(*p))
		t->day = t->day * 10 + (*p++ - '0');
	if (p >= end || *p != ' ')
		return NULL;
	if (t->day == 0 || t->day > syslog_parse_mdays(t->year, t->mon))
		t->bad = 1;
	p = syslog_parse_skipsp(p, end);
	if (t->year == 0 && syslog_parse_digits(p, end, 4, &y) != NULL &&
	    end - p > 4 && p[4] == ' ') {
		t->year = y;
		p += 5;
	}
	if ((p = syslog_parse_clock(p, end, t)) == NULL)
		return NULL;
	/* Some devices put the year after the time: "22:18:24 2009 host". */
	if (t->year == 0 && end - p >= 5 && p[0] == ' ' &&
	    syslog_parse_digits(p + 1, end, 4, &y) != NULL &&
	    (end - p == 5 || p[5] == ' ') && y >= 1970 && y < 2200) {
		t->year = y;
		p += 5;
	}
	return syslog_parse_zone(p, end, t);
}

/*
 * Read a 3164-position timestamp with its optional Cisco '*' or '.' marker
 * and closing ':'; NULL when there is none. It must end at a space or the end.
 */
static char *
syslog_parse_ts(char *p, char *end, struct sp_time *t)
{
	char *q;
	int unsync = 0;

	if (p < end && (*p == '*' || *p == '.')) {
		unsync = *p == '*';
		p++;
	}
	memset(t, 0, sizeof *t);
	if (p < end && syslog_parse_isdigit(*p) &&
	    (q = syslog_parse_rfc3339(p, end, t)) != NULL)
		p = q;
	else {
		memset(t, 0, sizeof *t);
		if ((p = syslog_parse_bsdtime(p, end, t)) == NULL)
			return NULL;
	}
	t->unsync = unsync;
	if (p < end && *p == ':')
		p++;
	if (p < end && *p != ' ')
		return NULL;
	return p;
}

/*
 * Set the event's time from a parsed timestamp; reception time if it is
 * untrusted (NO_TIME) or no valid date and time (BAD_TIME).
 */
static void
syslog_parse_settime(struct logevent *ev, const struct sp_time *t)
{
	if (t->unsync) {
		ev->flags |= EVENT_F_NO_TIME;
		return;
	}
	ev->flags &= ~EVENT_F_NO_TIME;
	if (syslog_parse_utc(t, ev->received_us, &ev->timestamp_us,
		&ev->tz_offset_min) == -1) {
		ev->timestamp_us = ev->received_us;
		ev->tz_offset_min = 0;
		ev->flags |= EVENT_F_BAD_TIME;
	}
}

/* Cut at a UTF-8 character boundary at or before n (buf has > n bytes). */
static size_t
syslog_parse_cut(const char *buf, size_t n)
{
	size_t i = n;

	while (i > 0 && n - i < 3 && ((unsigned char)buf[i] & 0xc0) == 0x80)
		i--;
	if (((unsigned char)buf[i] & 0xc0) == 0x80)
		return n;
	return i;
}

/* Length of the valid UTF-8 sequence at p (non-ASCII lead), or 0. */
static size_t
syslog_parse_utf8len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Replace NULs by spaces and invalid UTF-8 bytes by '?'; return flags. */
static unsigned
syslog_parse_fixbytes(char *buf, size_t len)
{
	unsigned char *p = (unsigned char *)buf, *end = p + len;
	unsigned flags = 0;
	uint64_t w;
	size_t n;

	while (p < end) {
		if (end - p >= 8) {
			memcpy(&w, p, 8);
			if (((w | ((w - 0x0101010101010101ULL) & ~w)) &
				0x8080808080808080ULL) == 0) {
				p += 8;
				continue;
			}
		}
		if (*p == 0) {
			*p++ = ' ';
			flags |= EVENT_F_NUL;
		} else if (*p < 0x80)
			p++;
		else if ((n = syslog_parse_utf8len(p, end)) != 0)
			p += n;
		else {
			*p++ = '?';
			flags |= EVENT_F_BAD_UTF8;
		}
	}
	return flags;
}

/* Strip the line end, truncate and repair the bytes; return the new length. */
static size_t
syslog_parse_clean(char *buf, size_t len, size_t max_len, unsigned *flags)
{
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		buf[len - 1] == '\0'))
		len--;
	if (len > max_len) {
		len = syslog_parse_cut(buf, max_len);
		*flags |= EVENT_F_TRUNCATED;
	}
	buf[len] = '\0';
	*flags |= syslog_parse_fixbytes(buf, len);
	return len;
}

/* Whether [p, end) holds nothing but whitespace. */
static int
syslog_parse_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!syslog_parse_isblank(*p) && *p != '\r' && *p != '\n' &&
		    *p != '\v' && *p != '\f')
			return 0;
	return 1;
}

/* Read <PRI>; an invalid "<digits>" token is skipped like a missing one. */
static char *
syslog_parse_pri(struct logevent *ev, char *p, char *end)
{
	char *q = p + 1;
	int v = 0;

	ev->facility = SP_DEFAULT_PRI >> 3;
	ev->severity = SP_DEFAULT_PRI & 7;
	ev->flags |= EVENT_F_NO_PRI;
	if (p >= end || *p != '<')
		return p;
	while (q < end && q - p <= 32 && syslog_parse_isdigit(*q))
		q++;
	if (q == p + 1 || q >= end || *q != '>')
		return p;
	if (q - p > 4 || (p[1] == '0' && q - p > 2))
		return q + 1;
	for (p++; p < q; p++)
		v = v * 10 + (*p - '0');
	if (v > 191)
		return q + 1;
	ev->facility = v >> 3;
	ev->severity = v & 7;
	ev->flags &= ~EVENT_F_NO_PRI;
	return q + 1;
}

/*
 * Cut the RFC 5424 header field at *pp and move *pp past it and its space.
 * 1 if a space followed, 0 if the message ended, -1 (*pp unchanged) if the
 * field is empty or too long.
 */
static int
syslog_parse_field(char **pp, char *end, size_t max, const char **out)
{
	char *p = *pp, *s = p;

	while (p < end && *p != ' ')
		p++;
	if (p == s || (size_t)(p - s) > max)
		return -1;
	*out = (p - s == 1 && *s == '-') ? NULL : s;
	if (p == end) {
		*pp = p;
		return 0;
	}
	*p = '\0';
	*pp = p + 1;
	return 1;
}

/* Where the strings of one recorded SD param end (NULs written on success). */
struct sp_sdend {
	char *id, *name, *value; /* name NULL: a param-less element */
	char *vstart;		 /* the value's first byte */
	int esc;		 /* the value holds escapes */
};

/* Record one SD param (or a param-less element) if there is room. */
static void
syslog_parse_sdadd(struct logevent *ev, struct sp_sdend *ends, char *id,
    char *id_end, char *name, char *name_end, char *value, char *value_end,
    int esc)
{
	if (ev->nsd >= EVENT_MAX_SD)
		return;
	ev->sd[ev->nsd].id = id;
	ev->sd[ev->nsd].name = name;
	ev->sd[ev->nsd].value = value;
	ends[ev->nsd].id = id_end;
	ends[ev->nsd].name = name_end;
	ends[ev->nsd].value = value_end;
	ends[ev->nsd].vstart = value;
	ends[ev->nsd].esc = esc;
	ev->nsd++;
}

/* Read a quoted PARAM-VALUE (after its '"'); return its closing quote. */
static char *
syslog_parse_sdvalue(char *p, char *end, int *esc)
{
	for (; p < end && *p != '"'; p++)
		if (*p == '\\' && p + 1 < end &&
		    (p[1] == '"' || p[1] == '\\' || p[1] == ']')) {
			*esc = 1;
			p++;
		}
	return p < end ? p : NULL;
}

/* Unescape a PARAM-VALUE in place up to its closing quote; NUL-terminate it. */
static void
syslog_parse_sdunescape(char *p, char *quote)
{
	char *w = p;

	for (; p < quote; p++) {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == ']'))
			p++;
		*w++ = *p;
	}
	*w = '\0';
}

/* Whether c may appear in an SD-NAME. */
static inline int
syslog_parse_sdname(char c)
{
	return c > ' ' && c < 127 && c != '=' && c != ']' && c != '"';
}

/* Read an SD-ID or SD-NAME; return past it, NULL if empty or too long. */
static char *
syslog_parse_sdtoken(char *p, char *end)
{
	char *s = p;

	while (p < end && syslog_parse_sdname(*p))
		p++;
	if (p == s || p - s > SP_SDID_MAX || p >= end)
		return NULL;
	return p;
}

/* Skip stray spaces inside an SD-ELEMENT; count them in *lax. */
static char *
syslog_parse_sdspace(char *p, char *end, int *lax)
{
	char *q = syslog_parse_skipsp(p, end);

	*lax |= q != p;
	return q;
}

/*
 * Read one SD-ELEMENT starting after its '['; return past its ']'. Stray
 * spaces (after '[', around '=', before ']', doubled) are read and set
 * *lax. Params are recorded with where their strings end; nothing is
 * written.
 */
static char *
syslog_parse_sdelem(struct logevent *ev, struct sp_sdend *ends, char *p,
    char *end, int *lax)
{
	char *id, *id_end, *name, *name_end, *value, *sp;
	int params = 0, esc;

	id = p = syslog_parse_sdspace(p, end, lax);
	if ((id_end = p = syslog_parse_sdtoken(p, end)) == NULL)
		return NULL;
	while (*p == ' ') {
		sp = p;
		p = syslog_parse_skipsp(p + 1, end);
		*lax |= p - sp > 1;
		if (p < end && *p == ']') {
			*lax = 1;
			break;
		}
		name = p;
		if ((name_end = p = syslog_parse_sdtoken(p, end)) == NULL)
			return NULL;
		p = syslog_parse_sdspace(p, end, lax);
		if (p >= end || *p != '=')
			return NULL;
		p = syslog_parse_sdspace(p + 1, end, lax);
		if (p >= end || *p != '"')
			return NULL;
		value = p + 1;
		esc = 0;
		if ((p = syslog_parse_sdvalue(value, end, &esc)) == NULL ||
		    ++p >= end)
			return NULL;
		syslog_parse_sdadd(ev, ends, id, id_end, name, name_end, value,
		    p - 1, esc);
		params++;
	}
	if (*p != ']')
		return NULL;
	if (params == 0)
		syslog_parse_sdadd(ev, ends, id, id_end, NULL, NULL, NULL, NULL,
		    0);
	return p + 1;
}

/*
 * Read SD-ELEMENTs at p (a '['); return what follows them, or NULL with
 * nothing recorded or changed when one is broken. *lax is set when one had
 * stray spaces. The strings are cut (and unescaped) in place only once all
 * of it was read.
 */
static char *
syslog_parse_sd(struct logevent *ev, char *p, char *end, int *lax)
{
	struct sp_sdend ends[EVENT_MAX_SD];
	size_t i;

	while (p < end && *p == '[')
		if ((p = syslog_parse_sdelem(ev, ends, p + 1, end, lax)) ==
		    NULL) {
			ev->nsd = 0;
			return NULL;
		}
	for (i = 0; i < ev->nsd; i++) {
		*ends[i].id = '\0';
		if (ends[i].name == NULL)
			continue;
		*ends[i].name = '\0';
		if (ends[i].esc)
			syslog_parse_sdunescape(ends[i].vstart, ends[i].value);
		else
			*ends[i].value = '\0';
	}
	return p;
}

/* Set the message to what follows p (a BOM and leading spaces dropped). */
static void
syslog_parse_body(struct logevent *ev, char *p, char *end)
{
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	/*
	 * Relays (rsyslog's %msg% of a message it got as RFC 3164) keep the
	 * space that followed the tag: drop leading spaces, as for 3164.
	 */
	p = syslog_parse_skipsp(p, end);
	ev->message = p;
	ev->message_len = (size_t)(end - p);
}

/*
 * Read the RFC 5424 TIMESTAMP; return past it (at a space or the end), NULL
 * if unreadable.
 */
static char *
syslog_parse_5424time(struct logevent *ev, char *p, char *end)
{
	struct sp_time t;

	if (*p == '-')
		p++;
	else {
		memset(&t, 0, sizeof t);
		if ((p = syslog_parse_rfc3339(p, end, &t)) == NULL ||
		    (p < end && *p != ' '))
			return NULL;
		if (t.lax)
			ev->flags |= EVENT_F_BAD_5424;
		syslog_parse_settime(ev, &t);
	}
	return p < end && *p != ' ' ? NULL : p;
}

/*
 * Parse the RFC 5424 part after "<PRI>1 ". Where the grammar breaks, what
 * was read is kept, the rest is the message, and BAD_5424 says so.
 */
static void
syslog_parse_5424(struct logevent *ev, char *p, char *end)
{
	static const size_t max[4] = { SP_HOST_MAX, SP_APP_MAX, SP_PID_MAX,
		SP_MSGID_MAX };
	const char **out[4] = { &ev->host, &ev->program, &ev->pid, &ev->msgid };
	char *q;
	int i, sep, lax = 0;

	ev->format = EVENT_FMT_RFC5424;
	if ((q = syslog_parse_5424time(ev, p, end)) == NULL)
		goto broken;
	sep = q < end;
	p = q + sep;
	for (i = 0; i < 4; i++) {
		if (!sep)
			goto broken;
		if ((sep = syslog_parse_field(&p, end, max[i], out[i])) == -1)
			goto broken;
	}
	if (!sep)
		goto broken;
	if (p < end && *p == '-' && (p + 1 == end || p[1] == ' '))
		p++;
	else if (p >= end || *p != '[' ||
	    (q = syslog_parse_sd(ev, p, end, &lax)) == NULL)
		goto broken;
	else
		p = q;
	if (p < end && *p == ' ')
		p++;
	else if (p < end)
		lax = 1; /* no space between SD and MSG */
	if (lax)
		ev->flags |= EVENT_F_BAD_5424;
	syslog_parse_body(ev, p, end);
	return;
broken:
	ev->flags |= EVENT_F_BAD_5424;
	syslog_parse_body(ev, p, end);
}

/* Skip a Cisco sequence number "123: "; return p unchanged if none. */
static char *
syslog_parse_seq(char *p, char *end)
{
	char *q = p;

	while (q < end && q - p < 20 && syslog_parse_isdigit(*q))
		q++;
	if (q == p || end - q < 2 || q[0] != ':' || q[1] != ' ')
		return p;
	return syslog_parse_skipsp(q + 1, end);
}

/*
 * Read a token that ends in ':' then ' ' ("router1: "); return what follows,
 * or NULL. The ':' is replaced by NUL only when the caller keeps it.
 */
static char *
syslog_parse_colonword(char *p, char *end, char **colon)
{
	char *q = p;

	while (q < end && *q != ' ' && *q != ':' && *q != '[' &&
	    q - p <= SP_HOST_MAX)
		q++;
	if (q == p || end - q < 2 || q[0] != ':' || q[1] != ' ')
		return NULL;
	*colon = q;
	return syslog_parse_skipsp(q + 1, end);
}

/* Read "%FAC-SEV-MNEMONIC:" into msgid; return what follows or NULL. */
static char *
syslog_parse_mnemonic(struct logevent *ev, char *p, char *end)
{
	char *q = p + 1, *dash = NULL, *prev = NULL;

	if (p >= end || *p != '%')
		return NULL;
	for (; q < end && q - p <= 64; q++) {
		if (*q == '-') {
			prev = dash;
			dash = q;
		} else if (!((*q >= 'A' && *q <= 'Z') ||
			       (*q >= 'a' && *q <= 'z') ||
			       syslog_parse_isdigit(*q) || *q == '_'))
			break;
	}
	if (q >= end || *q != ':' || (q + 1 < end && q[1] != ' ') ||
	    prev == NULL || dash != prev + 2 || prev == p + 1 ||
	    dash + 1 == q || prev[1] < '0' || prev[1] > '7')
		return NULL;
	*q = '\0';
	ev->msgid = p + 1;
	if (ev->flags & EVENT_F_NO_PRI)
		ev->severity = prev[1] - '0';
	return syslog_parse_skipsp(q + 1, end);
}

/*
 * Read a 3164 tag: "prog[pid]:" or "prog:" (whatever follows the ':',
 * except "//": "http://..." is no tag), or "prog[pid]" before a space or
 * the end; p if none.
 */
static char *
syslog_parse_tag(struct logevent *ev, char *p, char *end)
{
	char *q = p, *pid = NULL, *r;

	while (q < end && *q != ' ' && *q != ':' && *q != '[' &&
	    q - p <= SP_TAG_MAX)
		q++;
	if (q == p || q - p > SP_TAG_MAX || q >= end)
		return p;
	r = q;
	if (*q == '[') {
		for (r = q + 1;
		     r < end && *r != ']' && *r != ' ' && r - q <= SP_PID_MAX;
		     r++)
			;
		if (r >= end || *r != ']' || r == q + 1)
			return p;
		pid = r++;
	}
	if (r < end && *r == ':') {
		if (end - r >= 3 && r[1] == '/' && r[2] == '/')
			return p;
		r++;
	} else if (pid == NULL || (r < end && *r != ' '))
		return p;
	*q = '\0';
	ev->program = p;
	if (pid != NULL) {
		*pid = '\0';
		ev->pid = q + 1;
	}
	return r;
}

/*
 * Read the hostname token after a timestamp (the last token of the message
 * too), unless it looks like a tag: it holds '[', or a ':' and is not an
 * IPv6 address (hex digits, ':' and '.').
 */
static char *
syslog_parse_host(struct logevent *ev, char *p, char *end)
{
	char *q = p;
	int colon = 0, v6 = 1;

	for (; q < end && *q != ' ' && *q != '[' && q - p <= SP_HOST_MAX; q++) {
		colon |= *q == ':';
		v6 &= syslog_parse_isdigit(*q) || *q == ':' || *q == '.' ||
		    ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'f');
	}
	if (q == p || (q < end && *q != ' ') || q[-1] == ':' ||
	    (colon && !v6) || q - p > SP_HOST_MAX)
		return p;
	ev->host = p;
	if (q == end)
		return q;
	*q = '\0';
	return q + 1;
}

/* Parse the Cisco prefixes and timestamp of a 3164 header. */
static char *
syslog_parse_3164head(struct logevent *ev, char *p, char *end)
{
	struct sp_time t;
	char *q, *colon;

	p = syslog_parse_seq(syslog_parse_skipsp(p, end), end);
	if (end - p >= 2 && p[0] == ':' && p[1] == ' ')
		p = syslog_parse_skipsp(p + 1, end);
	if ((q = syslog_parse_ts(p, end, &t)) == NULL &&
	    (q = syslog_parse_colonword(p, end, &colon)) != NULL &&
	    (q = syslog_parse_ts(q, end, &t)) != NULL) {
		*colon = '\0';
		ev->host = p;
	}
	if (q == NULL)
		return p;
	syslog_parse_settime(ev, &t);
	p = syslog_parse_skipsp(q, end);
	if (ev->host == NULL)
		p = syslog_parse_skipsp(syslog_parse_host(ev, p, end), end);
	if ((q = syslog_parse_seq(p, end)) != p) {
		p = q;
		if ((q = syslog_parse_ts(p, end, &t)) != NULL)
			p = syslog_parse_skipsp(q, end);
	}
	return p;
}

/* Parse the RFC 3164 part after the PRI (and the device variants). */
static void
syslog_parse_3164(struct logevent *ev, char *p, char *end)
{
	char *q, *colon;

	ev->format = EVENT_FMT_RFC3164;
	p = syslog_parse_3164head(ev, p, end);
	if (end - p >= 2 && p[0] == ':' && p[1] == ' ')
		p = syslog_parse_skipsp(p + 1, end);
	if ((q = syslog_parse_mnemonic(ev, p, end)) != NULL)
		p = q;
	else if ((q = syslog_parse_colonword(p, end, &colon)) != NULL &&
	    (q = syslog_parse_mnemonic(ev, q, end)) != NULL) {
		*colon = '\0';
		ev->host = p;
		p = q;
	} else
		p = syslog_parse_tag(ev, p, end);
	p = syslog_parse_skipsp(p, end);
	ev->message = p;
	ev->message_len = (size_t)(end - p);
}

/* Reset every field the parser owns. */
static void
syslog_parse_reset(struct logevent *ev)
{
	ev->format = EVENT_FMT_RFC3164;
	ev->timestamp_us = ev->received_us;
	ev->tz_offset_min = 0;
	ev->host = ev->program = ev->pid = ev->msgid = ev->message = NULL;
	ev->message_len = 0;
	ev->facility = ev->severity = -1;
	ev->flags = EVENT_F_NO_TIME;
	ev->nsd = 0;
	ev->trap_oid = ev->community = NULL;
	ev->nvb = 0;
}

/* Parse one syslog message in place (see syslog_parse.h). */
int
syslog_parse(char *buf, size_t len, size_t max_len, struct logevent *ev,
    enum stats_reason *reason)
{
	char *p, *end;

	syslog_parse_reset(ev);
	len = syslog_parse_clean(buf, len, max_len, &ev->flags);
	end = buf + len;
	if (syslog_parse_blank(buf, end))
		goto empty;
	p = syslog_parse_pri(ev, buf, end);
	if (syslog_parse_blank(p, end))
		goto empty;
	if (end - p >= 3 && p[0] == '1' && p[1] == ' ' &&
	    (p[2] == '-' || syslog_parse_isdigit(p[2])))
		syslog_parse_5424(ev, p + 2, end);
	else
		syslog_parse_3164(ev, p, end);
	if (ev->host == NULL) {
		ev->host = ev->peer;
		ev->flags |= EVENT_F_NO_HOST;
	}
	return 0;
empty:
	*reason = REASON_EMPTY;
	return -1;
}
