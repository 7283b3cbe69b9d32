/* match.c: rule conditions, a multi-pattern prefilter and PCRE2 confirmation. */
#include "match.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hs/hs.h>

#include "hash.h"
#include "log.h"
#include "xmalloc.h"

/* Backtracking bound per regex match, so a bad pattern cannot stall the loop. */
#define MATCH_LIMIT	  200000
#define MATCH_MIN_LITERAL 8   /* a plain run this long: prefilter on it alone */
#define MATCH_RUN_MAX	  256 /* longest literal run kept, with its NUL */
#define MATCH_MAX_RUNS	  16  /* runs looked at per regex */
#define MATCH_MAX_SHARED  32  /* conditions a literal factor may be shared by */
#define MATCH_MIN_FIRST	  3   /* a first run this long is checked first */
#define MATCH_HS_FLAGS \
	(HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY)

/* Condition numbers filed under one exact string (program or trap OID). */
struct match_bucket {
	char *key;
	uint32_t *ids;
	size_t n;
};

struct match_hash {
	struct match_bucket *b;
	size_t size; /* power of two, or 0 */
	size_t used;
};

/*
 * A literal that every match of a condition's message regex holds: the
 * start of one of its runs (a start of a run is held as well), kept in
 * place so that checking it touches no other memory.
 */
struct match_first {
	unsigned char len; /* 0: none */
	char s[15];
};

/* The conditions that share one prefilter pattern, in increasing order. */
struct match_group {
	uint32_t *ids;
	size_t n;
};

struct matcher {
	struct rule_cond **conds;
	size_t n;
	hs_database_t *db;
	hs_scratch_t *scratch;
	struct match_group *groups; /* by prefilter pattern id */
	size_t ngroups;
	size_t nmulti;
	uint32_t *fallback; /* regexes the prefilter refused */
	size_t nfallback;
	uint32_t *generic; /* nothing to index on */
	size_t ngeneric;
	struct match_hash programs;
	struct match_hash traps;
	uint32_t *cand; /* candidates of the current event */
	size_t ncand;
	struct match_first *first;     /* by condition */
	unsigned long long regex_runs; /* message regexes run */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

/* A new condition that holds for every event. */
struct rule_cond *
match_cond_new(void)
{
	struct rule_cond *c = xcalloc(1, sizeof(*c));

	c->source = -1;
	return c;
}

/* Free the strings of a set. */
static void
match_strset_free(struct match_strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->pat[i]);
	free(s->pat);
	free(s->glob);
}

/* Add one exact string or glob to a set. */
void
match_strset_add(struct match_strset *s, const char *p)
{
	s->pat = xreallocarray(s->pat, s->n + 1, sizeof(*s->pat));
	s->glob = xreallocarray(s->glob, s->n + 1, 1);
	s->pat[s->n] = xstrdup(p);
	s->glob[s->n] = strpbrk(p, "*?[") != NULL;
	s->n++;
}

/* Free a condition and everything it owns. */
void
match_cond_free(struct rule_cond *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	match_strset_free(&c->host);
	match_strset_free(&c->program);
	match_strset_free(&c->msgid);
	free(c->contains);
	free(c->regex);
	pcre2_code_free(c->re);
	for (i = 0; i < c->ncap; i++)
		free(c->capname[i]);
	free(c->capname);
	free(c->capnum);
	for (i = 0; i < c->ntrap_oids; i++)
		free(c->trap_oids[i]);
	free(c->trap_oids);
	for (i = 0; i < c->nvbs; i++) {
		free(c->vbs[i].oid);
		for (j = 0; j < c->vbs[i].nvalues; j++)
			free(c->vbs[i].values[j]);
		free(c->vbs[i].values);
		pcre2_code_free(c->vbs[i].re);
	}
	free(c->vbs);
	match_cond_free(c->not );
	free(c);
}

/* Compile a regex with JIT; NULL with PCRE2's message and offset on error. */
pcre2_code *
match_regex(const char *src, char *err, size_t errlen, size_t *erroff)
{
	pcre2_code *re;
	PCRE2_SIZE off;
	int code;

	re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, 0, &code,
	    &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(code, (PCRE2_UCHAR *)err, errlen);
		*erroff = off;
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* else interpreted */
	return re;
}

/* Set the message regex of a condition and remember its named captures. */
int
match_cond_set_regex(struct rule_cond *c, const char *src, char *err,
    size_t errlen, size_t *erroff)
{
	PCRE2_SPTR table;
	uint32_t count, size, i;

	if ((c->re = match_regex(src, err, errlen, erroff)) == NULL)
		return -1;
	c->regex = xstrdup(src);
	pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
	c->capname = xcalloc(count + 1, sizeof(*c->capname));
	c->capnum = xcalloc(count + 1, sizeof(*c->capnum));
	for (i = 0; i < count; i++, table += size) {
		c->capnum[i] = ((uint32_t)table[0] << 8) | table[1];
		c->capname[i] = xstrdup((const char *)table + 2);
	}
	c->ncap = count;
	return 0;
}

/* Whether the message regex has a named capture called name. */
int
match_cond_has_capture(const struct rule_cond *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && i < c->ncap; i++)
		if (strcmp(c->capname[i], name) == 0)
			return 1;
	return 0;
}

/* Whether a string is in a set (exact or glob). */
static int
match_strset_has(const struct match_strset *s, const char *v)
{
	int flags = s->casefold ? FNM_CASEFOLD : 0;
	size_t i;

	if (v == NULL)
		return 0;
	for (i = 0; i < s->n; i++) {
		if (s->glob[i]) {
			if (fnmatch(s->pat[i], v, flags) == 0)
				return 1;
		} else if (s->casefold ? strcasecmp(s->pat[i], v) == 0 :
					 strcmp(s->pat[i], v) == 0)
			return 1;
	}
	return 0;
}

/* Whether the host set holds the event's host or its peer address. */
static int
match_host(const struct match_strset *s, const struct logevent *ev)
{
	char ip[64];
	const char *p, *e;
	size_t len;

	if (match_strset_has(s, ev->host))
		return 1;
	if ((p = ev->peer) == NULL)
		return 0;
	if (*p == '[') {
		p++;
		e = strchr(p, ']');
	} else if ((e = strchr(p, ':')) != NULL && strchr(e + 1, ':') != NULL)
		e = NULL; /* a bare IPv6 address */
	len = e != NULL ? (size_t)(e - p) : strlen(p);
	if (len >= sizeof(ip))
		return 0;
	memcpy(ip, p, len);
	ip[len] = '\0';
	return match_strset_has(s, ip);
}

/*
 * Whether a regex matches a string (its groups in m->md): JIT code directly
 * (pcre2_match would check its arguments and then run the same code), else
 * the interpreter when the regex has none.
 */
static int
match_re(struct matcher *m, const pcre2_code *re, const char *s, size_t len)
{
	int rc;

	rc = pcre2_jit_match(re, (PCRE2_SPTR)s, len, 0, 0, m->md, m->mctx);
	if (rc == PCRE2_ERROR_JIT_BADOPTION)
		rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, m->md, m->mctx);
	return rc >= 0;
}

/* Whether the OID of a varbind lies under prefix. */
static int
match_oid_under(const char *oid, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(oid, prefix, len) == 0 &&
	    (oid[len] == '\0' || oid[len] == '.');
}

/* Whether one varbind test holds for some varbind of the event. */
static int
match_vb_holds(struct matcher *m, const struct match_vb *t,
    const struct logevent *ev)
{
	const struct event_varbind *vb;
	size_t i, j;

	for (i = 0; i < ev->nvb; i++) {
		vb = &ev->vb[i];
		if (vb->oid == NULL || !match_oid_under(vb->oid, t->oid))
			continue;
		if (t->re == NULL && t->nvalues == 0)
			return 1;
		if (vb->value == NULL)
			continue;
		if (t->re != NULL &&
		    match_re(m, t->re, vb->value, strlen(vb->value)))
			return 1;
		for (j = 0; j < t->nvalues; j++)
			if (strcmp(t->values[j], vb->value) == 0)
				return 1;
	}
	return 0;
}

/* Whether the event's trap OID is one of the condition's. */
static int
match_trap_oid(const struct rule_cond *c, const struct logevent *ev)
{
	size_t i;

	if (ev->trap_oid == NULL)
		return 0;
	for (i = 0; i < c->ntrap_oids; i++)
		if (strcmp(c->trap_oids[i], ev->trap_oid) == 0)
			return 1;
	return 0;
}

/* The cheap criteria: source, numbers, sets, literal and varbinds. */
static int
match_cheap(struct matcher *m, const struct rule_cond *c,
    const struct logevent *ev)
{
	size_t i;

	if (c->source >= 0 && (int)ev->source != c->source)
		return 0;
	if (c->severity_mask != 0 &&
	    (ev->severity < 0 || ev->severity > 7 ||
		(c->severity_mask & (1u << ev->severity)) == 0))
		return 0;
	if (c->facility_mask != 0 &&
	    (ev->facility < 0 || ev->facility > 23 ||
		(c->facility_mask & (1u << ev->facility)) == 0))
		return 0;
	if (c->ntrap_oids != 0 && !match_trap_oid(c, ev))
		return 0;
	if (c->program.n != 0 && !match_strset_has(&c->program, ev->program))
		return 0;
	if (c->msgid.n != 0 && !match_strset_has(&c->msgid, ev->msgid))
		return 0;
	if (c->host.n != 0 && !match_host(&c->host, ev))
		return 0;
	if (c->contains != NULL &&
	    (ev->message == NULL ||
		memmem(ev->message, ev->message_len, c->contains,
		    strlen(c->contains)) == NULL))
		return 0;
	for (i = 0; i < c->nvbs; i++)
		if (!match_vb_holds(m, &c->vbs[i], ev))
			return 0;
	return 1;
}

/* Copy the named captures of the last match into hit. */
static void
match_captures(struct matcher *m, const struct rule_cond *c,
    const struct logevent *ev, struct rule_hit *hit)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
	size_t i, len, used = 0, room;
	char *dst;

	for (i = 0; i < c->ncap && hit->ncap < RULE_MAX_CAPS; i++) {
		if (used >= sizeof(hit->buf))
			break;
		len = 0;
		if (ov[2 * c->capnum[i]] != PCRE2_UNSET)
			len = ov[2 * c->capnum[i] + 1] - ov[2 * c->capnum[i]];
		room = sizeof(hit->buf) - used - 1;
		if (len > room)
			len = room;
		dst = hit->buf + used;
		if (len != 0)
			memcpy(dst, ev->message + ov[2 * c->capnum[i]], len);
		dst[len] = '\0';
		used += len + 1;
		hit->cap_name[hit->ncap] = c->capname[i];
		hit->cap_value[hit->ncap++] = dst;
	}
}

/* Whether a condition holds; with hit, also keep its captures. */
static int
match_cond(struct matcher *m, const struct rule_cond *c,
    const struct logevent *ev, struct rule_hit *hit)
{
	if (!match_cheap(m, c, ev))
		return 0;
	if (c->not != NULL && match_cond(m, c->not, ev, NULL))
		return 0;
	if (c->re != NULL) {
		if (ev->message == NULL)
			return 0;
		m->regex_runs++;
		if (!match_re(m, c->re, ev->message, ev->message_len))
			return 0;
		if (hit != NULL)
			match_captures(m, c, ev, hit);
	}
	return 1;
}

/* Hash of a string (FNV-1a). */
static size_t
match_hash_str(const char *s)
{
	return (size_t)hash_str(HASH_INIT, s);
}

/* The bucket of key, or the empty slot where it would go. */
static struct match_bucket *
match_hash_slot(const struct match_hash *h, const char *key)
{
	size_t i = match_hash_str(key) & (h->size - 1);

	while (h->b[i].key != NULL && strcmp(h->b[i].key, key) != 0)
		i = (i + 1) & (h->size - 1);
	return &h->b[i];
}

/* Grow the table to twice its size. */
static void
match_hash_grow(struct match_hash *h)
{
	struct match_hash nh;
	size_t i;

	nh.size = h->size == 0 ? 16 : h->size * 2;
	nh.used = h->used;
	nh.b = xcalloc(nh.size, sizeof(*nh.b));
	for (i = 0; i < h->size; i++)
		if (h->b[i].key != NULL)
			*match_hash_slot(&nh, h->b[i].key) = h->b[i];
	free(h->b);
	*h = nh;
}

/* File condition id under key (once, ids arrive in increasing order). */
static void
match_hash_add(struct match_hash *h, const char *key, uint32_t id)
{
	struct match_bucket *b;

	if (2 * (h->used + 1) > h->size)
		match_hash_grow(h);
	b = match_hash_slot(h, key);
	if (b->key == NULL) {
		b->key = xstrdup(key);
		h->used++;
	}
	if (b->n != 0 && b->ids[b->n - 1] == id)
		return;
	b->ids = xreallocarray(b->ids, b->n + 1, sizeof(*b->ids));
	b->ids[b->n++] = id;
}

/* The bucket of key, or NULL. */
static const struct match_bucket *
match_hash_find(const struct match_hash *h, const char *key)
{
	const struct match_bucket *b;

	if (h->size == 0 || key == NULL)
		return NULL;
	b = match_hash_slot(h, key);
	return b->key != NULL ? b : NULL;
}

/* Free a table. */
static void
match_hash_free(struct match_hash *h)
{
	size_t i;

	for (i = 0; i < h->size; i++) {
		free(h->b[i].key);
		free(h->b[i].ids);
	}
	free(h->b);
}

/* A literal as a regex: every byte but letters and digits escaped. */
static char *
match_escape(const char *lit)
{
	static const char hex[] = "0123456789abcdef";
	char *out = xmalloc(4 * strlen(lit) + 1), *p = out;
	unsigned char ch;

	for (; *lit != '\0'; lit++) {
		ch = (unsigned char)*lit;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9')) {
			*p++ = (char)ch;
			continue;
		}
		*p++ = '\\';
		*p++ = 'x';
		*p++ = hex[ch >> 4];
		*p++ = hex[ch & 15];
	}
	*p = '\0';
	return out;
}

/* Whether the group opening at re (a '(') holds a '|' of its own. */
static int
match_group_alternates(const char *re, const char **end)
{
	int depth = 0, alt = 0, cls = 0;

	for (; *re != '\0'; re++) {
		if (*re == '\\' && re[1] != '\0') {
			re++;
			continue;
		}
		if (cls) {
			cls = *re != ']';
			continue;
		}
		if (*re == '[') {
			cls = 1;
			if (re[1] == ']' || (re[1] == '^' && re[2] == ']'))
				re += re[1] == ']' ? 1 : 2;
		} else if (*re == '(')
			depth++;
		else if (*re == ')' && --depth == 0) {
			*end = re;
			return alt;
		} else if (*re == '|' && depth == 1)
			alt = 1;
	}
	*end = re;
	return 0;
}

/*
 * The runs of plain characters of a regex that every match holds, at least
 * min bytes each, into runs (up to max): top-level runs, less a last
 * character made optional by a quantifier (a group, class, '.', anchor or
 * letter escape ends a run). None when the regex alternates at the top
 * level, sets an option ("(?i"), or holds an escape that spans more
 * characters ("\x41", "\1").
 */
static size_t
match_runs(const char *re, size_t min, char (*runs)[MATCH_RUN_MAX], size_t max)
{
	char run[MATCH_RUN_MAX];
	const char *p, *end;
	size_t n = 0, k = 0;
	int cls = 0;

	for (p = re;; p++) {
		if (cls && *p != '\0') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '[' && p[1] == ':' &&
			    (end = strstr(p, ":]")) != NULL)
				p = end + 1; /* [:alpha:] */
			else
				cls = *p != ']';
			continue;
		}
		if (*p == '(' && p[1] == '?' && p[2] != ':' && p[2] != '<' &&
		    p[2] != '=' && p[2] != '!' && p[2] != '>')
			return 0; /* an option, a comment, a recursion */
		if (*p == '|' ||
		    (*p == '\\' && p[1] != '\0' &&
			strchr("xopPkgNcuQE0123456789", p[1]) != NULL))
			return 0; /* or an escape that spans more */
		if ((*p == '?' || *p == '*' ||
			(*p == '{' && (p[1] == '0' || p[1] == ','))) &&
		    n > 0)
			n--; /* the last character is optional */
		if (*p == '\\' && p[1] != '\0' && n + 1 < MATCH_RUN_MAX &&
		    !((p[1] >= 'a' && p[1] <= 'z') ||
			(p[1] >= 'A' && p[1] <= 'Z'))) {
			run[n++] = *++p; /* an escaped punctuation mark */
			continue;
		}
		if (*p != '\0' && *p != '\\' &&
		    strchr("^$.*+?{}[]()|", *p) == NULL &&
		    n + 1 < MATCH_RUN_MAX) {
			run[n++] = *p;
			continue;
		}
		if (n >= min && k < max) {
			memcpy(runs[k], run, n);
			runs[k++][n] = '\0';
		}
		n = 0;
		if (*p == '\0')
			break;
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '[') {
			cls = 1;
			if (p[1] == ']' || (p[1] == '^' && p[2] == ']'))
				p += p[1] == ']' ? 1 : 2;
		} else if (*p == '(') {
			(void)match_group_alternates(p, &end);
			if (*end == '\0')
				return 0;
			p = end;
		} else if (*p == '{') {
			while (p[1] != '\0' && *p != '}')
				p++;
		}
	}
	return k;
}

/*
 * Count the literal windows of a regex condition (every MATCH_MIN_LITERAL
 * bytes of its runs): how many conditions hold each.
 */
static void
match_count_runs(struct match_hash *freq, const struct rule_cond *c,
    uint32_t id)
{
	char runs[MATCH_MAX_RUNS][MATCH_RUN_MAX], win[MATCH_MIN_LITERAL + 1];
	size_t i, j, n, len;

	if (c->regex == NULL || strstr(c->regex, "\\Q") != NULL)
		return;
	n = match_runs(c->regex, MATCH_MIN_LITERAL, runs, MATCH_MAX_RUNS);
	for (i = 0; i < n; i++) {
		len = strlen(runs[i]);
		for (j = 0; j + MATCH_MIN_LITERAL <= len; j++) {
			memcpy(win, runs[i] + j, MATCH_MIN_LITERAL);
			win[MATCH_MIN_LITERAL] = '\0';
			match_hash_add(freq, win, id);
		}
	}
}

/*
 * The literal factor of a regex: a run of it cut after the window (of
 * MATCH_MIN_LITERAL bytes) that the fewest conditions of the set share
 * (then in the longest run, then the last of that run), escaped; NULL if it has
 * none or if more than MATCH_MAX_SHARED conditions share even the rarest.
 * The multi-pattern engine finds plain literals fastest, and a rare one
 * makes few candidates for PCRE2 to confirm. The engine keys a literal on
 * its last bytes, so the literal ends with the rare window: when similar
 * rules differ in a word followed by a common text ("-UPDOWN: Interface "),
 * a message that holds the common text alone costs the engine nothing.
 */
static char *
match_literal(const char *re, const struct match_hash *freq, char *raw)
{
	char runs[MATCH_MAX_RUNS][MATCH_RUN_MAX], win[MATCH_MIN_LITERAL + 1];
	const struct match_bucket *b;
	size_t i, j, n, len, best = 0, end = 0, bestn = 0, cnt;

	n = match_runs(re, MATCH_MIN_LITERAL, runs, MATCH_MAX_RUNS);
	for (i = 0; i < n; i++) {
		len = strlen(runs[i]);
		for (j = 0; j + MATCH_MIN_LITERAL <= len; j++) {
			memcpy(win, runs[i] + j, MATCH_MIN_LITERAL);
			win[MATCH_MIN_LITERAL] = '\0';
			cnt =
			    (b = match_hash_find(freq, win)) != NULL ? b->n : 1;
			if (end == 0 || cnt < bestn ||
			    (cnt == bestn &&
				(i == best || len > strlen(runs[best])))) {
				best = i;
				end = j + MATCH_MIN_LITERAL;
				bestn = cnt;
			}
		}
	}
	if (n == 0 || bestn > MATCH_MAX_SHARED)
		return NULL; /* the engine's own factors are better */
	runs[best][end] = '\0';
	memcpy(raw, runs[best], end + 1);
	return match_escape(runs[best]);
}

/*
 * The prefilter pattern of a regex. The multi-pattern engine picks its own
 * literal factors, and when many rules share a literal that follows an
 * alternation ("devN: (?:I/O|CRC) error on port"), it checks every one of
 * them on each message holding it. A top-level prefix of the regex is a
 * necessary condition for it, so when the regex has no top-level '|', cut
 * it before its first alternating group if at least 6 plain characters
 * precede it: those are what tell rules apart.
 */
static char *
match_prefilter(const char *re, const struct match_hash *freq, char *raw)
{
	const char *p, *end;
	char *lit1;
	int lit = 0, cls = 0;

	if (strstr(re, "\\Q") != NULL)
		return xstrdup(re);
	if ((lit1 = match_literal(re, freq, raw)) != NULL)
		return lit1;
	for (p = re; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			lit += strchr("dDsSwWbBAzZGhHvVRNXpPxkgcCE0123456789",
				   p[1]) == NULL;
			p++;
		} else if (cls)
			cls = *p != ']';
		else if (*p == '[')
			cls = 1;
		else if (*p == '|')
			return xstrdup(re);
		else if (*p == '(') {
			if (match_group_alternates(p, &end) && lit >= 6)
				return xstrndup(re, (size_t)(p - re));
			if (*end == '\0')
				return xstrdup(re);
			p = end;
		} else if (strchr("^$.*+?{}", *p) == NULL)
			lit++;
	}
	return xstrdup(re);
}

/* Order of two ids for qsort. */
static int
match_cmp_cb(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Append one id to a list. */
static void
match_push(uint32_t **list, size_t *n, uint32_t id)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = id;
}

/* Whether a condition can be filed under exact program names. */
static int
match_by_program(const struct rule_cond *c)
{
	return c->program.n != 0 &&
	    memchr(c->program.glob, 1, c->program.n) == NULL;
}

/* A regex the prefilter refuses: index it by program, else always check it. */
static void
match_refused(struct matcher *m, uint32_t id)
{
	const struct rule_cond *c = m->conds[id];
	size_t i;

	if (!match_by_program(c)) {
		match_push(&m->fallback, &m->nfallback, id);
		return;
	}
	for (i = 0; i < c->program.n; i++)
		match_hash_add(&m->programs, c->program.pat[i], id);
}

/* The prefilter refuses a group's pattern: how many conditions it held. */
static size_t
match_refused_group(struct matcher *m, unsigned g)
{
	struct match_group *grp = &m->groups[g];
	size_t i, n = grp->n;

	for (i = 0; i < grp->n; i++)
		match_refused(m, grp->ids[i]);
	free(grp->ids);
	grp->ids = NULL;
	grp->n = 0;
	return n;
}

/*
 * Compile the prefilter database over the distinct patterns (a literal
 * factor that many conditions share is one pattern; its hit makes them all
 * candidates), dropping each pattern it refuses.
 */
static void
match_build_db(struct matcher *m, char **expr, uint32_t *ids, size_t n)
{
	hs_compile_error_t *cerr;
	struct match_hash uniq = { 0 };
	struct match_bucket *b;
	char **pat;
	unsigned *flags, *gid;
	size_t i, bad, ng = 0, nconds = 0;

	for (i = 0; i < n; i++)
		match_hash_add(&uniq, expr[i], ids[i]);
	m->groups = xcalloc(uniq.used + 1, sizeof(*m->groups));
	pat = xcalloc(uniq.used + 1, sizeof(*pat));
	flags = xcalloc(uniq.used + 1, sizeof(*flags));
	gid = xcalloc(uniq.used + 1, sizeof(*gid));
	for (i = 0; i < uniq.size; i++) {
		b = &uniq.b[i];
		if (b->key == NULL)
			continue;
		pat[ng] = b->key;
		m->groups[ng].ids = b->ids;
		m->groups[ng].n = b->n;
		b->key = NULL;
		b->ids = NULL;
		flags[ng] = MATCH_HS_FLAGS;
		gid[ng] = (unsigned)ng;
		nconds += m->groups[ng].n;
		ng++;
	}
	m->ngroups = ng;
	match_hash_free(&uniq);
	while (ng > 0 &&
	    hs_compile_multi((const char *const *)pat, flags, gid, (unsigned)ng,
		HS_MODE_BLOCK, NULL, &m->db, &cerr) != HS_SUCCESS) {
		if (cerr->expression < 0) {
			log_warnx("regex prefilter: %s", cerr->message);
			hs_free_compile_error(cerr);
			for (i = 0; i < ng; i++) {
				nconds -= match_refused_group(m, gid[i]);
				free(pat[i]);
			}
			ng = 0;
			break;
		}
		bad = (size_t)cerr->expression;
		log_debugs(LOG_SYS_RULES, "regex prefilter refuses %s: %s",
		    pat[bad], cerr->message);
		hs_free_compile_error(cerr);
		nconds -= match_refused_group(m, gid[bad]);
		free(pat[bad]);
		memmove(&pat[bad], &pat[bad + 1],
		    (ng - bad - 1) * sizeof(*pat));
		memmove(&gid[bad], &gid[bad + 1],
		    (ng - bad - 1) * sizeof(*gid));
		ng--;
	}
	m->nmulti = nconds;
	if (ng > 0 && hs_alloc_scratch(m->db, &m->scratch) != HS_SUCCESS)
		fatalx("regex prefilter: cannot allocate scratch space");
	for (i = 0; i < ng; i++)
		free(pat[i]);
	free(pat);
	free(flags);
	free(gid);
}

/* The largest capture count of a condition tree's regexes. */
static uint32_t
match_max_groups(const struct rule_cond *c)
{
	uint32_t n = 0, k;
	size_t i;

	if (c == NULL)
		return 0;
	if (c->re != NULL)
		pcre2_pattern_info(c->re, PCRE2_INFO_CAPTURECOUNT, &n);
	for (i = 0; i < c->nvbs; i++) {
		if (c->vbs[i].re == NULL)
			continue;
		pcre2_pattern_info(c->vbs[i].re, PCRE2_INFO_CAPTURECOUNT, &k);
		if (k > n)
			n = k;
	}
	if ((k = match_max_groups(c->not )) > n)
		n = k;
	return n;
}

/*
 * The first plain run of a condition's message regex (MATCH_MIN_FIRST bytes
 * or more) that does not hold its literal factor lit (the text the
 * prefilter found, "" if none): every match holds the run, and conditions
 * that share a factor tend to differ there ("%LINK-" and "%SYS-" before
 * "-UPDOWN: Interface "), so a candidate whose run the message lacks is
 * passed over without running its regex (and without touching its JIT code).
 */
static void
match_first_set(struct match_first *f, const struct rule_cond *c,
    const char *lit)
{
	char runs[MATCH_MAX_RUNS][MATCH_RUN_MAX];
	size_t i, n;

	if (c->re == NULL || c->regex == NULL)
		return;
	n = match_runs(c->regex, MATCH_MIN_FIRST, runs, MATCH_MAX_RUNS);
	for (i = 0; i < n; i++) {
		if (*lit != '\0' && strstr(runs[i], lit) != NULL)
			continue; /* the prefilter found it already */
		f->len = (unsigned char)strnlen(runs[i], sizeof(f->s));
		memcpy(f->s, runs[i], f->len);
		return;
	}
}

/*
 * Whether s (n bytes) holds lit (len bytes, at least one): its first byte
 * found with memchr, then the rest compared. For the short runs and lines
 * here this is several times cheaper than memmem, which first builds a
 * table of shifts on every call.
 */
static int
match_holds(const char *s, size_t n, const char *lit, size_t len)
{
	const char *p = s, *end = s + n;

	while ((size_t)(end - p) >= len &&
	    (p = memchr(p, lit[0], (size_t)(end - p) - len + 1)) != NULL) {
		if (memcmp(p + 1, lit + 1, len - 1) == 0)
			return 1;
		p++;
	}
	return 0;
}

/* Whether the message may match condition id: it holds the first run. */
static int
match_first_holds(const struct matcher *m, uint32_t id,
    const struct logevent *ev)
{
	const struct match_first *f = &m->first[id];

	return f->len == 0 ||
	    (ev->message != NULL &&
		match_holds(ev->message, ev->message_len, f->s, f->len));
}

/* File one condition under the index that will find it. */
static void
match_file(struct matcher *m, uint32_t id, const struct match_hash *freq,
    char ***expr, uint32_t **ids, size_t *nexpr)
{
	const struct rule_cond *c = m->conds[id];
	char lit[MATCH_RUN_MAX] = "";
	size_t i;

	if (c->regex != NULL || c->contains != NULL) {
		*expr = xreallocarray(*expr, *nexpr + 1, sizeof(**expr));
		(*expr)[*nexpr] = c->regex != NULL ?
		    match_prefilter(c->regex, freq, lit) :
		    match_escape(c->contains);
		match_push(ids, nexpr, id);
	} else if (c->ntrap_oids != 0) {
		for (i = 0; i < c->ntrap_oids; i++)
			match_hash_add(&m->traps, c->trap_oids[i], id);
	} else if (match_by_program(c)) {
		for (i = 0; i < c->program.n; i++)
			match_hash_add(&m->programs, c->program.pat[i], id);
	} else
		match_push(&m->generic, &m->ngeneric, id);
	match_first_set(&m->first[id], c, lit);
}

/* Build the engine over conditions 0..n-1. */
struct matcher *
match_build(struct rule_cond **conds, size_t n)
{
	struct matcher *m = xcalloc(1, sizeof(*m));
	struct match_hash freq = { 0 };
	char **expr = NULL;
	uint32_t *ids = NULL, groups = 0, g;
	size_t i, nexpr = 0;

	m->conds = conds;
	m->n = n;
	m->first = xcalloc(n + 1, sizeof(*m->first));
	for (i = 0; i < n; i++)
		if (conds[i] != NULL)
			match_count_runs(&freq, conds[i], (uint32_t)i);
	for (i = 0; i < n; i++) {
		if (conds[i] == NULL)
			continue;
		match_file(m, (uint32_t)i, &freq, &expr, &ids, &nexpr);
		if ((g = match_max_groups(conds[i])) > groups)
			groups = g;
	}
	match_hash_free(&freq);
	match_build_db(m, expr, ids, nexpr);
	for (i = 0; i < nexpr; i++)
		free(expr[i]);
	free(expr);
	free(ids);
	m->cand = xcalloc(n + 1, sizeof(*m->cand));
	m->md = pcre2_match_data_create(groups + 1, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (m->md == NULL || m->mctx == NULL)
		fatalx("out of memory");
	pcre2_set_match_limit(m->mctx, MATCH_LIMIT);
	return m;
}

/* Free the engine (not the conditions). */
void
match_free(struct matcher *m)
{
	size_t i;

	if (m == NULL)
		return;
	hs_free_scratch(m->scratch);
	hs_free_database(m->db);
	for (i = 0; i < m->ngroups; i++)
		free(m->groups[i].ids);
	free(m->groups);
	free(m->first);
	free(m->fallback);
	free(m->generic);
	match_hash_free(&m->programs);
	match_hash_free(&m->traps);
	free(m->cand);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	free(m);
}

/* Report how conditions were indexed. */
void
match_info(const struct matcher *m, size_t *nmulti, size_t *nfallback,
    size_t *ngeneric)
{
	*nmulti = m->nmulti;
	*nfallback = m->nfallback;
	*ngeneric = m->ngeneric;
}

/* How many message regexes the engine has run. */
unsigned long long
match_regex_runs(const struct matcher *m)
{
	return m->regex_runs;
}

/* Append a sorted list of ids to the candidates. */
static void
match_add(struct matcher *m, const uint32_t *ids, size_t n)
{
	if (n > m->n - m->ncand)
		n = m->n - m->ncand;
	if (n == 0)
		return;
	memcpy(m->cand + m->ncand, ids, n * sizeof(*ids));
	m->ncand += n;
}

/* Prefilter hit: the conditions of the pattern become candidates. */
static int
match_hs_cb(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *arg)
{
	struct matcher *m = arg;

	match_add(m, m->groups[id].ids, m->groups[id].n);
	return 0;
}

/* Put the candidates in rule order: insertion sort while few. */
static void
match_sort(struct matcher *m)
{
	size_t i, j;
	uint32_t v;

	if (m->ncand > 32) {
		qsort(m->cand, m->ncand, sizeof(*m->cand), match_cmp_cb);
		return;
	}
	for (i = 1; i < m->ncand; i++) {
		v = m->cand[i];
		for (j = i; j > 0 && m->cand[j - 1] > v; j--)
			m->cand[j] = m->cand[j - 1];
		m->cand[j] = v;
	}
}

/* Gather the conditions worth evaluating for an event. */
static void
match_candidates(struct matcher *m, const struct logevent *ev)
{
	const struct match_bucket *b;

	m->ncand = 0;
	if (m->db != NULL && ev->message != NULL)
		hs_scan(m->db, ev->message, (unsigned)ev->message_len, 0,
		    m->scratch, match_hs_cb, m);
	match_add(m, m->fallback, m->nfallback);
	match_add(m, m->generic, m->ngeneric);
	if (ev->source == EVENT_TRAP &&
	    (b = match_hash_find(&m->traps, ev->trap_oid)) != NULL)
		match_add(m, b->ids, b->n);
	if ((b = match_hash_find(&m->programs, ev->program)) != NULL)
		match_add(m, b->ids, b->n);
	match_sort(m);
}

/* The first condition that holds for an event, its captures in hit. */
long
match_event(struct matcher *m, const struct logevent *ev, struct rule_hit *hit)
{
	size_t i;

	hit->ncap = 0;
	match_candidates(m, ev);
	for (i = 0; i < m->ncand; i++) {
		if (match_first_holds(m, m->cand[i], ev) &&
		    match_cond(m, m->conds[m->cand[i]], ev, hit))
			return (long)m->cand[i];
	}
	return -1;
}
