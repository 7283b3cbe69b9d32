/* template.c: expansion of "{name}" placeholders in rule titles and keys. */
#include "template.h"

#include <string.h>

/* An output buffer that truncates silently. */
struct tbuf {
	char *out;
	size_t size;
	size_t len;
};

/* Step to the next placeholder, skipping literal text and doubled braces. */
int
template_next(const char *tmpl, size_t *pos, size_t *start, char *name,
    size_t namelen)
{
	const char *p = tmpl + *pos, *e;

	for (; *p != '\0'; p++) {
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			p++;
			continue;
		}
		if (*p != '{')
			continue;
		*start = (size_t)(p - tmpl);
		e = p + 1 + strcspn(p + 1, "{}\n");
		if (*e != '}' || e == p + 1 || (size_t)(e - p - 1) >= namelen)
			return -1;
		memcpy(name, p + 1, (size_t)(e - p - 1));
		name[e - p - 1] = '\0';
		*pos = (size_t)(e + 1 - tmpl);
		return 1;
	}
	*pos = (size_t)(p - tmpl);
	return 0;
}

/* The length of s[0..len) without an incomplete UTF-8 sequence at its end. */
size_t
template_utf8_whole(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = len, need;

	while (i > 0 && len - i < 4 && (u[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || u[i - 1] < 0xc0)
		return len; /* ASCII last, or no lead byte to judge */
	need = u[i - 1] >= 0xf0 ? 4 : u[i - 1] >= 0xe0 ? 3 : 2;
	return len - (i - 1) < need ? i - 1 : len;
}

/* Cut a NUL-ended string after an incomplete last character. */
size_t
template_utf8_trim(char *s)
{
	size_t len = template_utf8_whole(s, strlen(s));

	s[len] = '\0';
	return len;
}

/* Append len bytes. */
static void
template_put(struct tbuf *b, const char *s, size_t len)
{
	size_t room;

	if (s == NULL)
		return;
	room = b->size - 1 - b->len;
	if (len > room)
		len = room;
	memcpy(b->out + b->len, s, len);
	b->len += len;
	b->out[b->len] = '\0';
}

/* Append a string (nothing for NULL). */
static void
template_puts(struct tbuf *b, const char *s)
{
	if (s != NULL)
		template_put(b, s, strlen(s));
}

/* The value of the first varbind under an OID prefix. */
static const char *
template_varbind(const struct logevent *ev, const char *prefix)
{
	size_t i, len = strlen(prefix);
	const char *oid;

	for (i = 0; i < ev->nvb; i++) {
		oid = ev->vb[i].oid;
		if (oid != NULL && strncmp(oid, prefix, len) == 0 &&
		    (oid[len] == '\0' || oid[len] == '.'))
			return ev->vb[i].value;
	}
	return NULL;
}

/* The value of a named capture. */
static const char *
template_capture(const struct rule_hit *hit, const char *name)
{
	size_t i;

	for (i = 0; hit != NULL && i < hit->ncap; i++)
		if (strcmp(hit->cap_name[i], name) == 0)
			return hit->cap_value[i];
	return NULL;
}

/* Append the value of one placeholder. */
static void
template_value(struct tbuf *b, const char *name, const struct logevent *ev,
    const struct rule_hit *hit)
{
	if (strcmp(name, "message") == 0) {
		if (ev->message != NULL)
			template_put(b, ev->message,
			    strnlen(ev->message, ev->message_len));
	} else if (strcmp(name, "host") == 0)
		template_puts(b, ev->host);
	else if (strcmp(name, "program") == 0)
		template_puts(b, ev->program);
	else if (strcmp(name, "pid") == 0)
		template_puts(b, ev->pid);
	else if (strcmp(name, "msgid") == 0)
		template_puts(b, ev->msgid);
	else if (strcmp(name, "peer") == 0)
		template_puts(b, ev->peer);
	else if (strcmp(name, "trap_oid") == 0)
		template_puts(b, ev->trap_oid);
	else if (strcmp(name, "facility") == 0)
		template_puts(b, event_facility_name(ev->facility));
	else if (strcmp(name, "severity") == 0)
		template_puts(b, event_severity_name(ev->severity));
	else if (strcmp(name, "rule") == 0)
		template_puts(b,
		    hit != NULL && hit->rule != NULL ? hit->rule->name : NULL);
	else if (strncmp(name, "vb:", 3) == 0)
		template_puts(b, template_varbind(ev, name + 3));
	else
		template_puts(b, template_capture(hit, name));
}

/* Expand a template into out (a malformed placeholder stays literal). */
size_t
template_render(const char *tmpl, const struct logevent *ev,
    const struct rule_hit *hit, char *out, size_t size)
{
	struct tbuf b = { out, size, 0 };
	char name[TEMPLATE_NAME_MAX];
	const char *p = tmpl, *e;

	if (size == 0)
		return 0;
	out[0] = '\0';
	while (*p != '\0') {
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			template_put(&b, p, 1);
			p += 2;
			continue;
		}
		if (*p == '{') {
			e = p + 1 + strcspn(p + 1, "{}\n");
			if (*e == '}' && e > p + 1 &&
			    (size_t)(e - p - 1) < sizeof(name)) {
				memcpy(name, p + 1, (size_t)(e - p - 1));
				name[e - p - 1] = '\0';
				template_value(&b, name, ev, hit);
				p = e + 1;
				continue;
			}
		}
		template_put(&b, p++, 1);
	}
	return template_utf8_trim(out);
}
