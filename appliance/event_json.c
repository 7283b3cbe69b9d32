/* event_json.c: render a normalized event as a JSON object for the store, API and logs. */
#include "event_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static const struct {
	unsigned flag;
	const char *name;
} event_json_repairs[] = {
	{ EVENT_F_TRUNCATED, "truncated" },
	{ EVENT_F_NUL, "nul" },
	{ EVENT_F_BAD_UTF8, "bad_utf8" },
	{ EVENT_F_NO_PRI, "no_pri" },
	{ EVENT_F_NO_HOST, "no_host" },
	{ EVENT_F_NO_TIME, "no_time" },
	{ EVENT_F_BAD_TIME, "bad_time" },
	{ EVENT_F_BAD_5424, "bad_5424" },
};

/* The JSON name of one repair flag. */
const char *
event_json_repair_name(unsigned flag)
{
	size_t i;

	for (i = 0; i < sizeof event_json_repairs / sizeof *event_json_repairs;
	     i++)
		if (event_json_repairs[i].flag == flag)
			return event_json_repairs[i].name;
	return NULL;
}

/* Length of the valid UTF-8 sequence at p, or 0 (RFC 3629 rules). */
static size_t
event_json_utf8len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string of s (len bytes); invalid UTF-8 bytes become '?'. */
static json_t *
event_json_stringn(const char *s, size_t len)
{
	json_t *j;
	char *copy;
	size_t i, n;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	for (i = 0; i < len; i += n) {
		if ((n = event_json_utf8len((unsigned char *)copy + i,
			 len - i)) == 0) {
			copy[i] = '?';
			n = 1;
		}
	}
	j = json_stringn(copy, len);
	free(copy);
	return j != NULL ? j : json_string("");
}

/* A JSON string of a NUL-terminated string, or null. */
static json_t *
event_json_string(const char *s)
{
	if (s == NULL)
		return json_null();
	return event_json_stringn(s, strlen(s));
}

/* n as width decimal digits at p (n < 10^width); the end. */
static char *
event_json_digits(char *p, unsigned n, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + n % 10);
		n /= 10;
	}
	return p + width;
}

/*
 * The common case of event_json_timetext without gmtime_r and printf: a
 * time of the years 0 to 9999 (days to the civil date as in "chrono-
 * Compatible Low-Level Date Algorithms", H. Hinnant); -1 outside them.
 */
static int
event_json_timefast(int64_t sec, int64_t frac, int off_min, char *buf,
    size_t len)
{
	int64_t days, rem, era, y;
	unsigned doe, yoe, doy, mp, d, m;
	char *p = buf;

	if (len < 33)
		return -1;
	days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	rem = sec - days * 86400;
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999)
		return -1;
	p = event_json_digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = event_json_digits(p, m, 2);
	*p++ = '-';
	p = event_json_digits(p, d, 2);
	*p++ = 'T';
	p = event_json_digits(p, (unsigned)(rem / 3600), 2);
	*p++ = ':';
	p = event_json_digits(p, (unsigned)(rem / 60 % 60), 2);
	*p++ = ':';
	p = event_json_digits(p, (unsigned)(rem % 60), 2);
	*p++ = '.';
	p = event_json_digits(p, (unsigned)frac, 6);
	if (off_min == 0)
		*p++ = 'Z';
	else {
		*p++ = off_min < 0 ? '-' : '+';
		p = event_json_digits(p, (unsigned)(abs(off_min) / 60 % 100),
		    2);
		*p++ = ':';
		p = event_json_digits(p, (unsigned)(abs(off_min) % 60), 2);
	}
	*p = '\0';
	return 0;
}

/* An RFC 3339 time with microseconds at the given offset ("Z" for 0). */
static int
event_json_timetext(int64_t us, int off_min, char *buf, size_t len)
{
	struct tm tm;
	time_t t;
	int64_t local, sec, frac;
	char zone[8];

	local = us + (int64_t)off_min * 60 * 1000000;
	sec = local >= 0 ? local / 1000000 : -((-local + 999999) / 1000000);
	frac = local - sec * 1000000;
	if (event_json_timefast(sec, frac, off_min, buf, len) == 0)
		return 0;
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (off_min == 0)
		snprintf(zone, sizeof zone, "Z");
	else
		snprintf(zone, sizeof zone, "%c%02d:%02d",
		    off_min < 0 ? '-' : '+', abs(off_min) / 60 % 100,
		    abs(off_min) % 60);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)frac, zone);
	return 0;
}

/* That time as a JSON string, or null. */
static json_t *
event_json_time(int64_t us, int off_min)
{
	char buf[64];

	if (event_json_timetext(us, off_min, buf, sizeof buf) == -1)
		return json_null();
	return json_string(buf);
}

/* Add one SD param to the structured_data object (repeats become arrays). */
static void
event_json_sdparam(json_t *sd, const struct event_sdparam *p)
{
	json_t *elem, *old, *arr;

	if (p->id == NULL)
		return;
	if ((elem = json_object_get(sd, p->id)) == NULL) {
		elem = json_object();
		json_object_set_new(sd, p->id, elem);
	}
	if (p->name == NULL)
		return;
	if ((old = json_object_get(elem, p->name)) == NULL) {
		json_object_set_new(elem, p->name, event_json_string(p->value));
		return;
	}
	if (!json_is_array(old)) {
		arr = json_array();
		json_array_append(arr, old);
		json_object_set_new(elem, p->name, arr);
		old = arr;
	}
	json_array_append_new(old, event_json_string(p->value));
}

/* The structured_data object, or null. */
static json_t *
event_json_sd(const struct logevent *ev)
{
	json_t *sd;
	size_t i;

	if (ev->nsd == 0)
		return json_null();
	sd = json_object();
	for (i = 0; i < ev->nsd && i < EVENT_MAX_SD; i++)
		event_json_sdparam(sd, &ev->sd[i]);
	return sd;
}

/* The varbinds array for a trap, or null. */
static json_t *
event_json_varbinds(const struct logevent *ev)
{
	json_t *a, *o;
	size_t i;

	if (ev->source != EVENT_TRAP)
		return json_null();
	a = json_array();
	for (i = 0; i < ev->nvb && i < EVENT_MAX_VARBINDS; i++) {
		o = json_object();
		json_object_set_new(o, "oid", event_json_string(ev->vb[i].oid));
		json_object_set_new(o, "type",
		    event_json_string(ev->vb[i].type));
		json_object_set_new(o, "value",
		    event_json_string(ev->vb[i].value));
		json_array_append_new(a, o);
	}
	return a;
}

/* The repairs array: the names of the event's flags. */
static json_t *
event_json_repairlist(unsigned flags)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof event_json_repairs / sizeof *event_json_repairs;
	     i++)
		if (flags & event_json_repairs[i].flag)
			json_array_append_new(a,
			    json_string(event_json_repairs[i].name));
	return a;
}

/* A name from a table lookup as a JSON string, or null. */
static json_t *
event_json_name(const char *name)
{
	return name != NULL ? json_string(name) : json_null();
}

/* The event as a new JSON object (see event_json.h). */
json_t *
event_to_json(const struct logevent *ev)
{
	json_t *o = json_object();

	json_object_set_new(o, "source",
	    json_string(ev->source == EVENT_TRAP ? "trap" : "syslog"));
	json_object_set_new(o, "format",
	    json_string(event_format_name(ev->format)));
	json_object_set_new(o, "transport", event_json_string(ev->transport));
	json_object_set_new(o, "received", event_json_time(ev->received_us, 0));
	json_object_set_new(o, "timestamp",
	    event_json_time(ev->timestamp_us, ev->tz_offset_min));
	json_object_set_new(o, "host", event_json_string(ev->host));
	json_object_set_new(o, "peer", event_json_string(ev->peer));
	json_object_set_new(o, "facility",
	    event_json_name(event_facility_name(ev->facility)));
	json_object_set_new(o, "severity",
	    event_json_name(event_severity_name(ev->severity)));
	json_object_set_new(o, "program", event_json_string(ev->program));
	json_object_set_new(o, "pid", event_json_string(ev->pid));
	json_object_set_new(o, "msgid", event_json_string(ev->msgid));
	json_object_set_new(o, "message",
	    ev->message == NULL ?
		json_null() :
		event_json_stringn(ev->message, ev->message_len));
	json_object_set_new(o, "structured_data", event_json_sd(ev));
	json_object_set_new(o, "trap_oid", event_json_string(ev->trap_oid));
	json_object_set_new(o, "varbinds", event_json_varbinds(ev));
	json_object_set_new(o, "community", event_json_string(ev->community));
	json_object_set_new(o, "repairs", event_json_repairlist(ev->flags));
	return o;
}

/* A growing text for event_json_text. */
struct event_json_buf {
	char *s;
	size_t len;
	size_t cap;
};

/* Room for n more bytes. */
static void
event_json_room(struct event_json_buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	while (b->len + n + 1 > b->cap)
		b->cap = b->cap != 0 ? b->cap * 2 : 1024;
	b->s = xrealloc(b->s, b->cap);
}

/* Append len bytes as they are. */
static void
event_json_put(struct event_json_buf *b, const char *s, size_t len)
{
	event_json_room(b, len);
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

/*
 * Append s (len bytes) as a JSON string the way jansson's compact dump
 * writes it: '"', '\\' and control characters escaped (\b \f \n \r \t,
 * else \u00XX), the rest as is; bytes that are not valid UTF-8 become '?'.
 */
static void
event_json_putstr(struct event_json_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n, run;
	char *o;

	event_json_room(b, len * 6 + 2);
	o = b->s + b->len;
	*o++ = '"';
	for (i = 0; i < len; i += n) {
		if (p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' &&
		    p[i] != '\\') {
			for (run = i + 1; run < len && p[run] >= 0x20 &&
			     p[run] < 0x80 && p[run] != '"' && p[run] != '\\';
			     run++)
				;
			memcpy(o, p + i, run - i);
			o += run - i;
			n = run - i;
			continue;
		}
		if (p[i] >= 0x80) {
			if ((n = event_json_utf8len(p + i, len - i)) == 0) {
				*o++ = '?';
				n = 1;
			} else {
				memcpy(o, p + i, n);
				o += n;
			}
			continue;
		}
		n = 1;
		*o++ = '\\';
		switch (p[i]) {
		case '"':
		case '\\':
			*o++ = (char)p[i];
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[p[i] >> 4];
			o[4] = hex[p[i] & 0xf];
			o += 5;
			break;
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->s);
}

/*
 * Append ,"key": (without the comma for the first member); keys are this
 * file's names (letters and '_'), which JSON needs no escape for.
 */
static void
event_json_key(struct event_json_buf *b, const char *key)
{
	size_t len = strlen(key);
	char *o;

	event_json_room(b, len + 4);
	o = b->s + b->len;
	if (b->len > 1)
		*o++ = ',';
	*o++ = '"';
	memcpy(o, key, len);
	o += len;
	*o++ = '"';
	*o++ = ':';
	*o = '\0';
	b->len = (size_t)(o - b->s);
}

/* Append a member whose value is a string or null. */
static void
event_json_member(struct event_json_buf *b, const char *key, const char *v)
{
	event_json_key(b, key);
	if (v == NULL)
		event_json_put(b, "null", 4);
	else
		event_json_putstr(b, v, strlen(v));
}

/* Append an RFC 3339 time member as event_json_time renders it. */
static void
event_json_time_member(struct event_json_buf *b, const char *key, int64_t us,
    int off_min)
{
	char buf[64];

	event_json_member(b, key,
	    event_json_timetext(us, off_min, buf, sizeof buf) == 0 ? buf :
								     NULL);
}

/* The event as compact JSON text (see event_json.h); NULL if not plain. */
char *
event_json_text(const struct logevent *ev, int truncated)
{
	struct event_json_buf b = { 0 };
	const char *format = event_format_name(ev->format);
	size_t i;

	if (ev->source == EVENT_TRAP || ev->nsd != 0 || format == NULL)
		return NULL;
	event_json_put(&b, "{", 1);
	event_json_member(&b, "source", "syslog");
	event_json_member(&b, "format", format);
	event_json_member(&b, "transport", ev->transport);
	event_json_time_member(&b, "received", ev->received_us, 0);
	event_json_time_member(&b, "timestamp", ev->timestamp_us,
	    ev->tz_offset_min);
	event_json_member(&b, "host", ev->host);
	event_json_member(&b, "peer", ev->peer);
	event_json_member(&b, "facility", event_facility_name(ev->facility));
	event_json_member(&b, "severity", event_severity_name(ev->severity));
	event_json_member(&b, "program", ev->program);
	event_json_member(&b, "pid", ev->pid);
	event_json_member(&b, "msgid", ev->msgid);
	event_json_key(&b, "message");
	if (ev->message == NULL)
		event_json_put(&b, "null", 4);
	else
		event_json_putstr(&b, ev->message, ev->message_len);
	event_json_member(&b, "structured_data", NULL);
	event_json_member(&b, "trap_oid", ev->trap_oid);
	event_json_member(&b, "varbinds", NULL);
	event_json_member(&b, "community", ev->community);
	event_json_key(&b, "repairs");
	event_json_put(&b, "[", 1);
	for (i = 0; i < sizeof event_json_repairs / sizeof *event_json_repairs;
	     i++) {
		if (!(ev->flags & event_json_repairs[i].flag))
			continue;
		if (b.s[b.len - 1] != '[')
			event_json_put(&b, ",", 1);
		event_json_putstr(&b, event_json_repairs[i].name,
		    strlen(event_json_repairs[i].name));
	}
	event_json_put(&b, "]", 1);
	if (truncated)
		event_json_put(&b, ",\"sample_truncated\":true", 24);
	event_json_put(&b, "}", 1);
	/* Kept as an incident's sample: no more than the text. */
	return xrealloc(b.s, b.len + 1);
}
