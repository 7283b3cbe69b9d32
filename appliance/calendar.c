/* calendar.c: business calendar with its own TZif reader and holiday set. */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"
#include "yamlnode.h"

#define CAL_TZDIR	"/usr/share/zoneinfo"
#define CAL_TZ_MAXFILE	(1024 * 1024)
#define CAL_TZ_MAXTRANS 100000
#define CAL_NAME_MAX	200
#define CAL_SEARCH	(30 * 3600)	     /* beyond any UTC offset */
#define CAL_TLIMIT	(1000000000000000LL) /* instants we compute with */

struct cal_type {
	int32_t utoff;
	int isdst;
	char abbr[16];
};

/* A date of a POSIX TZ rule: Jn, n or Mm.w.d, and a time of day. */
struct cal_rdate {
	char kind; /* 'J', 'n' or 'M' */
	int n, m, w, d;
	int32_t secs;
};

struct cal_rule {
	int present;
	int hasdst;
	struct cal_type std, dst;
	struct cal_rdate start, end;
};

struct cal_span {
	int start, end; /* minutes after local midnight */
};

struct cal_holiday {
	int32_t ymd; /* y * 10000 + m * 100 + d */
	char *name;
};

struct calendar {
	char *tzname;
	int64_t *trans;
	uint8_t *tidx;
	size_t ntrans;
	struct cal_type *types;
	size_t ntypes;
	struct cal_rule rule;
	struct cal_span hours[7][CALENDAR_MAX_SPANS];
	int nhours[7];
	long long day_seconds; /* 0: derived from hours */
	struct cal_holiday *hol;
	size_t nhol;
};

/* Floor division for possibly negative numerators. */
static int64_t
calendar_fdiv(int64_t a, int64_t b)
{
	return (a >= 0) ? a / b : -((-a + b - 1) / b);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month may overflow). */
static int64_t
calendar_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y += calendar_fdiv(m - 1, 12);
	m = m - 1 - calendar_fdiv(m - 1, 12) * 12 + 1;
	if (m <= 2)
		y--;
	era = calendar_fdiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of a day number. */
static void
calendar_civil(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = calendar_fdiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Weekday (0 = Sunday) of a day number. */
static int
calendar_wday(int64_t day)
{
	return (int)(day - calendar_fdiv(day + 4, 7) * 7 + 4);
}

/* Whether a year is a leap year. */
static int
calendar_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Big-endian 32-bit signed value. */
static int32_t
calendar_be32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/* Big-endian 64-bit signed value. */
static int64_t
calendar_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)(uint32_t)calendar_be32(p) << 32 |
	    (uint32_t)calendar_be32(p + 4));
}

/* Parse a POSIX TZ name: alphabetic, or quoted in <>. */
static const char *
calendar_rule_name(const char *s, char *out, size_t len)
{
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s != '\0' && *s != '>'; s++)
			if (n + 1 < len)
				out[n++] = *s;
		if (*s++ != '>')
			return NULL;
	} else {
		for (; isalpha((unsigned char)*s); s++)
			if (n + 1 < len)
				out[n++] = *s;
	}
	out[n] = '\0';
	return n < 3 ? NULL : s;
}

/* Parse [+-]hh[:mm[:ss]] with hours up to maxh; NULL if malformed. */
static const char *
calendar_rule_hms(const char *s, int maxh, int32_t *out)
{
	long v[3] = { 0, 0, 0 };
	int i, sign = 1;
	char *end;

	if (*s == '+' || *s == '-')
		sign = (*s++ == '-') ? -1 : 1;
	for (i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s))
			return NULL;
		v[i] = strtol(s, &end, 10);
		s = end;
		if (*s != ':')
			break;
		s++;
	}
	if (v[0] > maxh || v[1] > 59 || v[2] > 59)
		return NULL;
	*out = (int32_t)(sign * (v[0] * 3600 + v[1] * 60 + v[2]));
	return s;
}

/* Parse a rule date ",Jn", ",n" or ",Mm.w.d" with an optional "/time". */
static const char *
calendar_rule_date(const char *s, struct cal_rdate *rd)
{
	char *end;

	if (*s++ != ',')
		return NULL;
	rd->secs = 7200;
	if (*s == 'M') {
		rd->kind = 'M';
		rd->m = (int)strtol(s + 1, &end, 10);
		if (*end != '.' || rd->m < 1 || rd->m > 12)
			return NULL;
		rd->w = (int)strtol(end + 1, &end, 10);
		if (*end != '.' || rd->w < 1 || rd->w > 5)
			return NULL;
		rd->d = (int)strtol(end + 1, &end, 10);
		if (rd->d < 0 || rd->d > 6)
			return NULL;
	} else {
		rd->kind = (*s == 'J') ? 'J' : 'n';
		if (*s == 'J')
			s++;
		if (!isdigit((unsigned char)*s))
			return NULL;
		rd->n = (int)strtol(s, &end, 10);
		if (rd->n > 365 || (rd->kind == 'J' && rd->n < 1))
			return NULL;
	}
	s = end;
	if (*s == '/')
		s = calendar_rule_hms(s + 1, 167, &rd->secs);
	return s;
}

/* Parse the POSIX TZ string of a TZif footer. */
static int
calendar_rule_parse(struct cal_rule *r, const char *s)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	if ((s = calendar_rule_name(s, r->std.abbr, sizeof(r->std.abbr))) ==
		NULL ||
	    (s = calendar_rule_hms(s, 24, &off)) == NULL)
		return -1;
	r->std.utoff = -off;
	r->present = 1;
	if (*s == '\0')
		return 0;
	if ((s = calendar_rule_name(s, r->dst.abbr, sizeof(r->dst.abbr))) ==
	    NULL)
		return -1;
	r->hasdst = 1;
	r->dst.isdst = 1;
	r->dst.utoff = r->std.utoff + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = calendar_rule_hms(s, 24, &off)) == NULL)
			return -1;
		r->dst.utoff = -off;
	}
	if (*s == '\0')
		s = ",M3.2.0,M11.1.0";
	if ((s = calendar_rule_date(s, &r->start)) == NULL ||
	    (s = calendar_rule_date(s, &r->end)) == NULL)
		return -1;
	return *s == '\0' ? 0 : -1;
}

/* The day number of a rule date in a year. */
static int64_t
calendar_rule_day(const struct cal_rdate *rd, int64_t y)
{
	int64_t first, day;
	int mlen[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	first = calendar_days(y, rd->kind == 'M' ? rd->m : 1, 1);
	if (rd->kind == 'J')
		return first + rd->n - 1 + (calendar_leap(y) && rd->n >= 60);
	if (rd->kind == 'n')
		return first + rd->n;
	if (calendar_leap(y))
		mlen[1] = 29;
	day = first + (rd->d - calendar_wday(first) + 7) % 7 + (rd->w - 1) * 7;
	while (day >= first + mlen[rd->m - 1])
		day -= 7;
	return day;
}

/* The type a POSIX rule gives an instant. */
static const struct cal_type *
calendar_rule_type(const struct cal_rule *r, int64_t t)
{
	int64_t s, e;
	int y, m, d;

	if (!r->hasdst)
		return &r->std;
	calendar_civil(calendar_fdiv(t + r->std.utoff, 86400), &y, &m, &d);
	s = calendar_rule_day(&r->start, y) * 86400 + r->start.secs -
	    r->std.utoff;
	e = calendar_rule_day(&r->end, y) * 86400 + r->end.secs - r->dst.utoff;
	if (s < e)
		return (t >= s && t < e) ? &r->dst : &r->std;
	return (t >= e && t < s) ? &r->std : &r->dst;
}

/* Keep instants within +-30 million years so that offsets cannot overflow. */
static int64_t
calendar_clamp(int64_t t)
{
	if (t > CAL_TLIMIT)
		return CAL_TLIMIT;
	return t < -CAL_TLIMIT ? -CAL_TLIMIT : t;
}

/* The local time type at an instant. */
static const struct cal_type *
calendar_type(const struct calendar *cal, int64_t t)
{
	size_t lo = 0, hi = cal->ntrans;

	t = calendar_clamp(t);
	if (cal->ntrans == 0 || t < cal->trans[0]) {
		if (cal->ntrans == 0 && cal->rule.present)
			return calendar_rule_type(&cal->rule, t);
		return &cal->types[0];
	}
	if (t >= cal->trans[cal->ntrans - 1] && cal->rule.present)
		return calendar_rule_type(&cal->rule, t);
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &cal->types[cal->tidx[lo]];
}

/* Read the whole TZif file of a zone name. */
static unsigned char *
calendar_tz_read(const char *name, size_t *len, char **cause)
{
	const char *dir = getenv("TZDIR");
	char path[1024];
	unsigned char *buf;
	FILE *fp;

	if (*name == '\0' || *name == '/' || strstr(name, "..") != NULL ||
	    strspn(name,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789/_+-") != strlen(name)) {
		xasprintf(cause, "invalid time zone name \"%s\"", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : CAL_TZDIR, name);
	if ((fp = fopen(path, "rb")) == NULL) {
		xasprintf(cause, "unknown time zone \"%s\": %s", name,
		    strerror(errno));
		return NULL;
	}
	buf = xmalloc(CAL_TZ_MAXFILE + 1);
	*len = fread(buf, 1, CAL_TZ_MAXFILE + 1, fp);
	fclose(fp);
	if (*len > CAL_TZ_MAXFILE) {
		xasprintf(cause, "time zone file of \"%s\" too large", name);
		free(buf);
		return NULL;
	}
	return buf;
}

struct cal_tzhdr {
	int version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* Parse a TZif header at p; size of the data block that follows. */
static int
calendar_tz_header(const unsigned char *p, size_t len, int tsize,
    struct cal_tzhdr *h, size_t *block)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4];
	h->isutcnt = (uint32_t)calendar_be32(p + 20);
	h->isstdcnt = (uint32_t)calendar_be32(p + 24);
	h->leapcnt = (uint32_t)calendar_be32(p + 28);
	h->timecnt = (uint32_t)calendar_be32(p + 32);
	h->typecnt = (uint32_t)calendar_be32(p + 36);
	h->charcnt = (uint32_t)calendar_be32(p + 40);
	if (h->timecnt > CAL_TZ_MAXTRANS || h->typecnt == 0 ||
	    h->typecnt > 256 || h->charcnt > 65536 || h->leapcnt > 65536 ||
	    h->isutcnt > 256 || h->isstdcnt > 256)
		return -1;
	*block = (size_t)h->timecnt * (tsize + 1) + h->typecnt * 6 +
	    h->charcnt + h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
	return (44 + *block <= len) ? 0 : -1;
}

/* Fill the calendar's transitions and types from one TZif data block. */
static int
calendar_tz_block(struct calendar *cal, const unsigned char *p,
    const struct cal_tzhdr *h, int tsize)
{
	const unsigned char *ti, *tt, *chars;
	size_t i, k;

	ti = p + (size_t)h->timecnt * tsize;
	tt = ti + h->timecnt;
	chars = tt + (size_t)h->typecnt * 6;
	cal->ntrans = h->timecnt;
	cal->trans = xcalloc(h->timecnt + 1, sizeof(*cal->trans));
	cal->tidx = xcalloc(h->timecnt + 1, 1);
	for (i = 0; i < h->timecnt; i++) {
		cal->trans[i] = (tsize == 8) ? calendar_be64(p + i * 8) :
					       calendar_be32(p + i * 4);
		cal->tidx[i] = ti[i];
		if (ti[i] >= h->typecnt ||
		    (i > 0 && cal->trans[i] <= cal->trans[i - 1]))
			return -1;
	}
	cal->ntypes = h->typecnt;
	cal->types = xcalloc(h->typecnt, sizeof(*cal->types));
	for (i = 0; i < h->typecnt; i++) {
		cal->types[i].utoff = calendar_be32(tt + i * 6);
		cal->types[i].isdst = tt[i * 6 + 4] != 0;
		if (cal->types[i].utoff < -89999 ||
		    cal->types[i].utoff > 93599 || tt[i * 6 + 5] >= h->charcnt)
			return -1;
		for (k = 0; k + 1 < sizeof(cal->types[i].abbr) &&
		     tt[i * 6 + 5] + k < h->charcnt &&
		     chars[tt[i * 6 + 5] + k] != '\0';
		     k++)
			cal->types[i].abbr[k] = (char)chars[tt[i * 6 + 5] + k];
	}
	return 0;
}

/* Parse the TZif footer (a POSIX TZ string between newlines). */
static int
calendar_tz_footer(struct calendar *cal, const unsigned char *p, size_t len)
{
	char rule[128];
	const unsigned char *nl;

	if (len < 2 || p[0] != '\n')
		return 0;
	if ((nl = memchr(p + 1, '\n', len - 1)) == NULL ||
	    (size_t)(nl - p - 1) >= sizeof(rule))
		return -1;
	if (nl == p + 1)
		return 0;
	memcpy(rule, p + 1, nl - p - 1);
	rule[nl - p - 1] = '\0';
	return calendar_rule_parse(&cal->rule, rule);
}

/* Load the zone's TZif file (version 1, or the 64-bit data of 2+). */
static int
calendar_tz_load(struct calendar *cal, const char *name, char **cause)
{
	struct cal_tzhdr h;
	unsigned char *buf;
	size_t len, block, off = 0;
	int tsize = 4;

	if ((buf = calendar_tz_read(name, &len, cause)) == NULL)
		return -1;
	if (calendar_tz_header(buf, len, 4, &h, &block) != 0)
		goto bad;
	if (h.version >= '2') {
		off = 44 + block;
		tsize = 8;
		if (calendar_tz_header(buf + off, len - off, 8, &h, &block) !=
		    0)
			goto bad;
	}
	if (h.leapcnt != 0) {
		xasprintf(cause,
		    "time zone \"%s\" counts leap seconds "
		    "(not supported)",
		    name);
		free(buf);
		return -1;
	}
	if (calendar_tz_block(cal, buf + off + 44, &h, tsize) != 0 ||
	    (tsize == 8 &&
		calendar_tz_footer(cal, buf + off + 44 + block,
		    len - off - 44 - block) != 0))
		goto bad;
	free(buf);
	return 0;
bad:
	xasprintf(cause, "time zone file of \"%s\" is not valid TZif", name);
	free(buf);
	return -1;
}

/* A new calendar in a zone with the default hours and no holidays. */
struct calendar *
calendar_new(const char *tzname, char **cause)
{
	struct calendar *cal = xcalloc(1, sizeof(*cal));
	int wd;

	if (tzname == NULL || *tzname == '\0')
		tzname = CALENDAR_DEFAULT_TZ;
	cal->tzname = xstrdup(tzname);
	if (calendar_tz_load(cal, tzname, cause) != 0) {
		calendar_free(cal);
		return NULL;
	}
	for (wd = 1; wd <= 5; wd++)
		calendar_set_hours(cal, wd, 9 * 60, 18 * 60);
	return cal;
}

/* Free a calendar. */
void
calendar_free(struct calendar *cal)
{
	size_t i;

	if (cal == NULL)
		return;
	for (i = 0; i < cal->nhol; i++)
		free(cal->hol[i].name);
	free(cal->hol);
	free(cal->trans);
	free(cal->tidx);
	free(cal->types);
	free(cal->tzname);
	free(cal);
}

/* The zone's name. */
const char *
calendar_tzname(const struct calendar *cal)
{
	return cal->tzname;
}

/* Replace a weekday's hours with one interval (none when start == end). */
int
calendar_set_hours(struct calendar *cal, int wday, int start_min, int end_min)
{
	if (wday < 0 || wday > 6 || start_min < 0 || end_min > 1440 ||
	    start_min > end_min)
		return -1;
	cal->nhours[wday] = 0;
	if (start_min == end_min)
		return 0;
	return calendar_add_hours(cal, wday, start_min, end_min);
}

/* Add an interval to a weekday's hours, kept sorted and disjoint. */
int
calendar_add_hours(struct calendar *cal, int wday, int start_min, int end_min)
{
	struct cal_span *h;
	int i, n;

	if (wday < 0 || wday > 6 || start_min < 0 || end_min > 1440 ||
	    start_min >= end_min || cal->nhours[wday] >= CALENDAR_MAX_SPANS)
		return -1;
	h = cal->hours[wday];
	n = cal->nhours[wday];
	for (i = 0; i < n; i++)
		if (start_min < h[i].end && h[i].start < end_min)
			return -1;
	for (i = n; i > 0 && h[i - 1].start > start_min; i--)
		h[i] = h[i - 1];
	h[i].start = start_min;
	h[i].end = end_min;
	cal->nhours[wday]++;
	return 0;
}

/* Skip blanks. */
static const char *
calendar_skip(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Set the hours of the named days from "DAYS HH:MM-HH:MM[,HH:MM-HH:MM]". */
int
calendar_set_hours_spec(struct calendar *cal, const char *spec, char **cause)
{
	char days[64], *list = NULL, *iv, *last, *dash;
	const char *rest;
	unsigned mask;
	int wd, s, e, n;
	struct calendar tmp;

	spec = calendar_skip(spec);
	n = (int)strcspn(spec, " \t");
	if (n == 0 || (size_t)n >= sizeof(days))
		goto bad;
	memcpy(days, spec, n);
	days[n] = '\0';
	rest = calendar_skip(spec + n);
	if (calendar_parse_days(days, &mask) != 0 || *rest == '\0')
		goto bad;
	memcpy(tmp.hours, cal->hours, sizeof(tmp.hours));
	memcpy(tmp.nhours, cal->nhours, sizeof(tmp.nhours));
	for (wd = 0; wd < 7; wd++)
		if (mask & (1U << wd))
			tmp.nhours[wd] = 0;
	list = xstrdup(strcasecmp(rest, "closed") == 0 ? "" : rest);
	for (iv = strtok_r(list, ",", &last); iv != NULL;
	     iv = strtok_r(NULL, ",", &last)) {
		if ((dash = strchr(iv, '-')) == NULL)
			goto bad;
		*dash = '\0';
		if (calendar_parse_hhmm(calendar_skip(iv), &s) != 0 ||
		    calendar_parse_hhmm(calendar_skip(dash + 1), &e) != 0)
			goto bad;
		for (wd = 0; wd < 7; wd++)
			if ((mask & (1U << wd)) &&
			    calendar_add_hours(&tmp, wd, s, e) != 0)
				goto bad;
	}
	free(list);
	memcpy(cal->hours, tmp.hours, sizeof(tmp.hours));
	memcpy(cal->nhours, tmp.nhours, sizeof(tmp.nhours));
	return 0;
bad:
	free(list);
	xasprintf(cause,
	    "invalid working hours \"%s\" (expected e.g. "
	    "\"mon-fri 09:00-18:00\" or \"sat closed\")",
	    spec);
	return -1;
}

/* Copy a weekday's working intervals out. */
int
calendar_get_hours(const struct calendar *cal, int wday, int *start, int *end,
    int max)
{
	int i;

	if (wday < 0 || wday > 6)
		return 0;
	for (i = 0; i < cal->nhours[wday] && i < max; i++) {
		start[i] = cal->hours[wday][i].start;
		end[i] = cal->hours[wday][i].end;
	}
	return i;
}

/* Nominal business seconds of a weekday's hours. */
long long
calendar_weekday_seconds(const struct calendar *cal, int wday)
{
	long long sum = 0;
	int i;

	if (wday < 0 || wday > 6)
		return 0;
	for (i = 0; i < cal->nhours[wday]; i++)
		sum +=
		    (cal->hours[wday][i].end - cal->hours[wday][i].start) * 60;
	return sum;
}

/* Fix the length of "1 business day"; 0 derives it from the hours. */
void
calendar_set_business_day(struct calendar *cal, long long seconds)
{
	cal->day_seconds = seconds > 0 ? seconds : 0;
}

/* "1 business day": the set value, else the most common weekday length. */
long long
calendar_business_day_seconds(const struct calendar *cal)
{
	long long len, best = 0;
	int i, j, count, bestcount = 0;

	if (cal->day_seconds > 0)
		return cal->day_seconds;
	for (i = 0; i < 7; i++) {
		if ((len = calendar_weekday_seconds(cal, i)) == 0)
			continue;
		for (count = 0, j = 0; j < 7; j++)
			count += calendar_weekday_seconds(cal, j) == len;
		if (count > bestcount || (count == bestcount && len > best)) {
			best = len;
			bestcount = count;
		}
	}
	return best;
}

/* Index of the first holiday with ymd >= key. */
static size_t
calendar_hol_find(const struct calendar *cal, int32_t key)
{
	size_t lo = 0, hi = cal->nhol;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->hol[mid].ymd < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether y-m-d is a real date. */
static int
calendar_valid_date(int y, int m, int d)
{
	int y2, m2, d2;

	if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return 0;
	calendar_civil(calendar_days(y, m, d), &y2, &m2, &d2);
	return y2 == y && m2 == m && d2 == d;
}

/* Add one holiday; -1 if the date is invalid, taken, or the set is full. */
int
calendar_add_holiday(struct calendar *cal, int y, int m, int d,
    const char *name)
{
	int32_t key;
	size_t i;

	if (!calendar_valid_date(y, m, d) || name == NULL ||
	    strlen(name) > CAL_NAME_MAX || cal->nhol >= CALENDAR_MAX_HOLIDAYS)
		return -1;
	key = y * 10000 + m * 100 + d;
	i = calendar_hol_find(cal, key);
	if (i < cal->nhol && cal->hol[i].ymd == key)
		return -1;
	cal->hol = xreallocarray(cal->hol, cal->nhol + 1, sizeof(*cal->hol));
	memmove(&cal->hol[i + 1], &cal->hol[i],
	    (cal->nhol - i) * sizeof(*cal->hol));
	cal->hol[i].ymd = key;
	cal->hol[i].name = xstrdup(name);
	cal->nhol++;
	return 0;
}

/* Whether y-m-d is a holiday, and its name. */
int
calendar_is_holiday(const struct calendar *cal, int y, int m, int d,
    const char **name)
{
	int32_t key;
	size_t i;

	if (!calendar_valid_date(y, m, d))
		return 0;
	key = y * 10000 + m * 100 + d;
	i = calendar_hol_find(cal, key);
	if (i < cal->nhol && cal->hol[i].ymd == key) {
		if (name != NULL)
			*name = cal->hol[i].name;
		return 1;
	}
	return 0;
}

/* Number of holidays known. */
size_t
calendar_holiday_count(const struct calendar *cal)
{
	return cal->nhol;
}

/* The last holiday known as "YYYY-MM-DD"; 0 when there is none. */
int
calendar_holidays_end(const struct calendar *cal, char *buf, size_t len)
{
	int32_t ymd;

	if (cal->nhol == 0)
		return 0;
	ymd = cal->hol[cal->nhol - 1].ymd;
	snprintf(buf, len, "%04d-%02d-%02d", ymd / 10000, ymd / 100 % 100,
	    ymd % 100);
	return 1;
}

/* 1 when the holiday data ends within days of t (or there is none). */
int
calendar_holidays_ending(const struct calendar *cal, time_t t, int days)
{
	struct tm tm;
	int32_t ymd;

	if (cal->nhol == 0)
		return 1;
	calendar_localtime(cal, t + (time_t)days * 86400, &tm);
	ymd = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	return cal->hol[cal->nhol - 1].ymd < ymd;
}

/* Check one {date, name} entry of a holiday file. */
static int
calendar_hol_entry(const struct ynode *e, const char *file, int *y, int *m,
    int *d, const char **name, struct errlist *errs)
{
	const struct ynode *dn;
	size_t i;
	int n = 0;

	if (e->type != YNODE_MAP) {
		errlist_add(errs, file, e->line, e->col,
		    "expected {date: YYYY-MM-DD, name: text}");
		return -1;
	}
	for (i = 0; i < e->n; i++)
		if (strcmp(e->keys[i]->value, "date") != 0 &&
		    strcmp(e->keys[i]->value, "name") != 0)
			errlist_add(errs, file, e->keys[i]->line,
			    e->keys[i]->col,
			    "unknown key \"%s\" (expected "
			    "date or name)",
			    e->keys[i]->value);
	dn = ynode_get(e, "date");
	if (dn == NULL || dn->type != YNODE_SCALAR ||
	    sscanf(dn->value, "%4d-%2d-%2d%n", y, m, d, &n) != 3 ||
	    dn->value[n] != '\0' || strlen(dn->value) != 10 ||
	    !calendar_valid_date(*y, *m, *d)) {
		errlist_add(errs, file, dn ? dn->line : e->line,
		    dn ? dn->col : e->col, "expected a date YYYY-MM-DD%s%s%s",
		    dn && dn->value ? ", not \"" : "",
		    dn && dn->value ? dn->value : "",
		    dn && dn->value ? "\"" : "");
		return -1;
	}
	*name = ynode_str(e, "name");
	if (*name == NULL || **name == '\0' || strlen(*name) > CAL_NAME_MAX) {
		errlist_add(errs, file, e->line, e->col,
		    "expected a name "
		    "(1 to %d bytes)",
		    CAL_NAME_MAX);
		return -1;
	}
	return 0;
}

/* Load a holiday file; all or nothing, every error in errs. */
int
calendar_load_holidays(struct calendar *cal, const char *file,
    struct errlist *errs)
{
	struct ynode *root;
	struct calendar tmp;
	const char *name;
	size_t i, nerr = errs->n;
	int y, m, d;

	if ((root = ynode_load(file, NULL, 0, errs)) == NULL)
		return -1;
	if (root->type != YNODE_SEQ) {
		errlist_add(errs, file, root->line, root->col,
		    "expected a "
		    "list of {date: YYYY-MM-DD, name: text}");
		ynode_free(root);
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	for (i = 0; i < root->n; i++) {
		if (calendar_hol_entry(root->items[i], file, &y, &m, &d, &name,
			errs) != 0)
			continue;
		if (calendar_is_holiday(cal, y, m, d, NULL) ||
		    calendar_is_holiday(&tmp, y, m, d, NULL))
			errlist_add(errs, file, root->items[i]->line,
			    root->items[i]->col,
			    "duplicate holiday %04d-%02d-%02d", y, m, d);
		else if (calendar_add_holiday(&tmp, y, m, d, name) != 0)
			errlist_add(errs, file, root->items[i]->line,
			    root->items[i]->col, "more than %d holidays",
			    CALENDAR_MAX_HOLIDAYS);
	}
	if (cal->nhol + tmp.nhol > CALENDAR_MAX_HOLIDAYS)
		errlist_add(errs, file, root->line, root->col,
		    "more than %d holidays", CALENDAR_MAX_HOLIDAYS);
	for (i = 0; i < tmp.nhol && errs->n == nerr; i++)
		calendar_add_holiday(cal, tmp.hol[i].ymd / 10000,
		    tmp.hol[i].ymd / 100 % 100, tmp.hol[i].ymd % 100,
		    tmp.hol[i].name);
	for (i = 0; i < tmp.nhol; i++)
		free(tmp.hol[i].name);
	free(tmp.hol);
	ynode_free(root);
	return errs->n == nerr ? 0 : -1;
}

/* Offset from UTC at an instant. */
long
calendar_utcoff(const struct calendar *cal, time_t t)
{
	return calendar_type(cal, t)->utoff;
}

/* Break an instant into local fields. */
void
calendar_localtime(const struct calendar *cal, time_t t, struct tm *tm)
{
	const struct cal_type *ty;
	int64_t local, day, secs;

	t = (time_t)calendar_clamp(t);
	ty = calendar_type(cal, t);
	local = (int64_t)t + ty->utoff;
	int y, m, d;

	day = calendar_fdiv(local, 86400);
	secs = local - day * 86400;
	calendar_civil(day, &y, &m, &d);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_wday = calendar_wday(day);
	tm->tm_yday = (int)(day - calendar_days(y, 1, 1));
	tm->tm_isdst = ty->isdst;
	tm->tm_gmtoff = ty->utoff;
	tm->tm_zone = ty->abbr;
}

/* The first instant in (lo, hi] whose offset differs from lo's. */
static int64_t
calendar_transition(const struct calendar *cal, int64_t lo, int64_t hi)
{
	int32_t off = calendar_type(cal, lo)->utoff;

	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (calendar_type(cal, mid)->utoff == off)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* Local seconds (local fields counted as if UTC) to an instant. */
static int64_t
calendar_from_local(const struct calendar *cal, int64_t local, int isdst)
{
	const struct cal_type *c[5];
	int64_t best = 0, pick = 0, lo = INT64_MAX, hi = INT64_MIN, t;
	int i, nvalid = 0, npick = 0;

	local = calendar_clamp(local);
	c[0] = calendar_type(cal, local - CAL_SEARCH);
	c[1] = calendar_type(cal, local + CAL_SEARCH);
	c[2] = calendar_type(cal, local);
	c[3] = calendar_type(cal, local - c[0]->utoff);
	c[4] = calendar_type(cal, local - c[1]->utoff);
	for (i = 0; i < 5; i++) {
		t = local - c[i]->utoff;
		if (calendar_type(cal, t)->utoff != c[i]->utoff) {
			lo = t < lo ? t : lo;
			hi = t > hi ? t : hi;
			continue;
		}
		if (nvalid++ == 0 || t < best)
			best = t;
		if (isdst >= 0 && calendar_type(cal, t)->isdst == (isdst > 0) &&
		    (npick == 0 || t != pick)) {
			npick++;
			pick = t;
		}
	}
	if (nvalid > 0)
		return npick == 1 ? pick : best;
	return calendar_transition(cal, lo, hi);
}

/* Local fields to an instant (fields may overflow, as with mktime). */
time_t
calendar_mktime(const struct calendar *cal, const struct tm *tm)
{
	int64_t local;

	local = calendar_days(tm->tm_year + 1900LL, tm->tm_mon + 1LL, 1);
	local = (local + tm->tm_mday - 1) * 86400 + tm->tm_hour * 3600LL +
	    tm->tm_min * 60LL + tm->tm_sec;
	return (time_t)calendar_from_local(cal, local, tm->tm_isdst);
}

/* The local day number of an instant. */
static int64_t
calendar_local_day(const struct calendar *cal, time_t t)
{
	int64_t c = calendar_clamp(t);

	return calendar_fdiv(c + calendar_type(cal, c)->utoff, 86400);
}

/* Whether a local day number is a working day. */
static int
calendar_day_works(const struct calendar *cal, int64_t day)
{
	int y, m, d;

	if (cal->nhours[calendar_wday(day)] == 0)
		return 0;
	calendar_civil(day, &y, &m, &d);
	return !calendar_is_holiday(cal, y, m, d, NULL);
}

/* A local day's working intervals as instants; returns their number. */
static int
calendar_day_spans(const struct calendar *cal, int64_t day, time_t span[][2])
{
	const struct cal_span *h = cal->hours[calendar_wday(day)];
	int i, n = 0;

	if (!calendar_day_works(cal, day))
		return 0;
	for (i = 0; i < cal->nhours[calendar_wday(day)]; i++) {
		span[n][0] = calendar_from_local(cal,
		    day * 86400 + h[i].start * 60LL, -1);
		span[n][1] =
		    calendar_from_local(cal, day * 86400 + h[i].end * 60LL, -1);
		if (span[n][1] > span[n][0])
			n++;
	}
	return n;
}

/* Whether any weekday has working hours. */
static int
calendar_has_hours(const struct calendar *cal)
{
	int i;

	for (i = 0; i < 7; i++)
		if (cal->nhours[i] > 0)
			return 1;
	return 0;
}

/* Whether y-m-d is a working day (has hours and is not a holiday). */
int
calendar_is_working_day(const struct calendar *cal, int y, int m, int d)
{
	if (!calendar_valid_date(y, m, d))
		return 0;
	return calendar_day_works(cal, calendar_days(y, m, d));
}

/* Whether an instant is inside working hours of a working day. */
int
calendar_is_business_time(const struct calendar *cal, time_t t)
{
	time_t span[CALENDAR_MAX_SPANS][2];
	int i, n;

	n = calendar_day_spans(cal, calendar_local_day(cal, t), span);
	for (i = 0; i < n; i++)
		if (t >= span[i][0] && t < span[i][1])
			return 1;
	return 0;
}

/* First business instant at or after t. */
time_t
calendar_next_open(const struct calendar *cal, time_t t)
{
	time_t span[CALENDAR_MAX_SPANS][2];
	int64_t day = calendar_local_day(cal, t), k;
	int i, n;

	if (!calendar_has_hours(cal))
		return (time_t)-1;
	for (k = 0; k < CALENDAR_MAX_DAYS; k++) {
		n = calendar_day_spans(cal, day + k, span);
		for (i = 0; i < n; i++)
			if (span[i][1] > t)
				return span[i][0] > t ? span[i][0] : t;
	}
	return (time_t)-1;
}

/* The instant when business_seconds of business time have passed. */
time_t
calendar_add_business(const struct calendar *cal, time_t start,
    long long business_seconds)
{
	time_t span[CALENDAR_MAX_SPANS][2], s;
	int64_t day = calendar_local_day(cal, start), k;
	long long left = business_seconds;
	int i, n;

	if (left < 0 || !calendar_has_hours(cal))
		return (time_t)-1;
	if (left == 0)
		return start;
	for (k = 0; k < CALENDAR_MAX_DAYS; k++) {
		n = calendar_day_spans(cal, day + k, span);
		for (i = 0; i < n; i++) {
			s = span[i][0] > start ? span[i][0] : start;
			if (span[i][1] <= s)
				continue;
			if (left <= span[i][1] - s)
				return s + left;
			left -= span[i][1] - s;
		}
	}
	return (time_t)-1;
}

/* Business seconds in [a, b). */
long long
calendar_business_between(const struct calendar *cal, time_t a, time_t b)
{
	time_t span[CALENDAR_MAX_SPANS][2], s, e;
	int64_t day, last;
	long long sum = 0;
	int i, n;

	if (b < a)
		return -calendar_business_between(cal, b, a);
	day = calendar_local_day(cal, a);
	last = calendar_local_day(cal, b);
	if (last - day > CALENDAR_MAX_DAYS)
		last = day + CALENDAR_MAX_DAYS;
	for (; day <= last; day++) {
		n = calendar_day_spans(cal, day, span);
		for (i = 0; i < n; i++) {
			s = span[i][0] > a ? span[i][0] : a;
			e = span[i][1] < b ? span[i][1] : b;
			if (e > s)
				sum += e - s;
		}
	}
	return sum;
}

/* Parse "+HH:MM", "-HH:MM" or "Z" at the end of an RFC 3339 time. */
static int
calendar_parse_zone(const char *s, long *off)
{
	int h, m, n = 0;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') ||
	    sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 ||
	    s[n + 1] != '\0' || h > 23 || m > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

/* Parse "HH:MM[:SS[.frac]]" at p; the rest of the text, NULL if malformed. */
static const char *
calendar_parse_clock(const char *p, int *h, int *mi, int *sec)
{
	int n = 0;

	if (sscanf(p, "%2d:%2d%n", h, mi, &n) != 2 || n != 5 ||
	    !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[3]))
		return NULL;
	p += 5;
	if (*p == ':') {
		if (!isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]))
			return NULL;
		*sec = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
	}
	if (*h > 23 || *mi > 59 || *sec > 60)
		return NULL;
	return p;
}

/* Parse an RFC 3339 time, or a local one in the calendar's zone. */
int
calendar_parse_time(const struct calendar *cal, const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	long off;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    !isdigit((unsigned char)s[0]) || !calendar_valid_date(y, mo, d))
		return -1;
	p = s + n;
	if ((*p == 'T' || *p == 't' || *p == ' ') &&
	    (p = calendar_parse_clock(p + 1, &h, &mi, &sec)) == NULL)
		return -1;
	if (*p != '\0') {
		if (calendar_parse_zone(p, &off) != 0)
			return -1;
		*out = (time_t)((calendar_days(y, mo, d) * 86400) + h * 3600 +
		    mi * 60 + sec - off);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	*out = calendar_mktime(cal, &tm);
	return 0;
}

/* A weekday name or its three-letter abbreviation; -1 if unknown. */
static int
calendar_day_name(const char *s, size_t len)
{
	static const char *names[] = { "sunday", "monday", "tuesday",
		"wednesday", "thursday", "friday", "saturday" };
	int i;

	for (i = 0; i < 7; i++)
		if (len >= 3 && len <= strlen(names[i]) &&
		    strncasecmp(s, names[i], len) == 0 &&
		    (len == 3 || len == strlen(names[i])))
			return i;
	return -1;
}

/* Parse weekdays: "daily", "mon-fri", "sat,sun", "fri" (0 = Sunday). */
int
calendar_parse_days(const char *s, unsigned *mask)
{
	const char *item, *dash;
	size_t len;
	int a, b;

	*mask = 0;
	if (strcasecmp(s, "daily") == 0 || strcmp(s, "*") == 0) {
		*mask = 0x7f;
		return 0;
	}
	for (item = s; *item != '\0'; item += len + (item[len] == ',')) {
		len = strcspn(item, ",");
		dash = memchr(item, '-', len);
		a = calendar_day_name(item, dash ? (size_t)(dash - item) : len);
		b = dash ?
		    calendar_day_name(dash + 1, len - (dash + 1 - item)) :
		    a;
		if (a < 0 || b < 0)
			return -1;
		for (;; a = (a + 1) % 7) {
			*mask |= 1U << a;
			if (a == b)
				break;
		}
		if (item[len] == ',' && item[len + 1] == '\0')
			return -1;
	}
	return *mask ? 0 : -1;
}

/* Parse "HH:MM" from 00:00 to 24:00 into minutes. */
int
calendar_parse_hhmm(const char *s, int *minutes)
{
	int h, m, n = 0;

	if (!isdigit((unsigned char)s[0]) ||
	    sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || s[n] != '\0' || n < 4 ||
	    s[n - 3] != ':' || !isdigit((unsigned char)s[n - 2]) ||
	    !isdigit((unsigned char)s[n - 1]) || h > 24 || m > 59 ||
	    (h == 24 && m != 0))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}
