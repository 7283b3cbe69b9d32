/* rules.c: load YAML rule files into a rule set and find the rule that takes an event. */
#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calendar.h"
#include "match.h"
#include "mibnames.h"
#include "template.h"
#include "xmalloc.h"

#define RULES_MAX_FILES 10000
#define RULES_MAX_RULES 100000
#define RULES_OID_MAX	512
#define RULES_MAX_COUNT 1000000

struct ruleset {
	struct rule **rules;
	size_t n;
	struct rule_cond **conds; /* 2 per rule: match, clear */
	struct matcher *m;
};

/* A host group from a rule file, with where it was defined. */
struct rules_group {
	struct hostgroup g;
	const char *file;
	int line;
	int col;
};

/* What loading needs at hand. */
struct rload {
	const struct config *cfg;
	struct errlist *errs;
	const char *file; /* the file being read */
	struct ruleset *rs;
	struct rules_group *groups;
	size_t ngroups;
};


/* Report an error at a node. */
#define rules_err(rl, n, ...) \
	errlist_add((rl)->errs, (rl)->file, (n)->line, (n)->col, __VA_ARGS__)

/* A scalar's text, or NULL with an error naming what was expected. */
static const char *
rules_scalar(struct rload *rl, const struct ynode *n, const char *what)
{
	if (n->type != YNODE_SCALAR) {
		rules_err(rl, n, "%s must be a string", what);
		return NULL;
	}
	return n->value;
}

/* Whether every key of a map is one of the allowed, reporting the others. */
static int
rules_keys(struct rload *rl, const struct ynode *map, const char *const *ok,
    const char *where)
{
	char list[512];
	size_t i, j, len;
	int bad = 0;

	for (i = 0; i < map->n; i++) {
		for (j = 0; ok[j] != NULL; j++)
			if (strcmp(map->keys[i]->value, ok[j]) == 0)
				break;
		if (ok[j] != NULL)
			continue;
		list[0] = '\0';
		for (j = 0; ok[j] != NULL; j++) {
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
			    j == 0		  ? "" :
				ok[j + 1] == NULL ? " or " :
						    ", ",
			    ok[j]);
		}
		rules_err(rl, map->keys[i],
		    "unknown key \"%s\" in %s "
		    "(expected %s)",
		    map->keys[i]->value, where, list);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* The column of offset off inside a single-line scalar. */
static int
rules_col(const struct ynode *n, size_t off)
{
	return n->col + (n->plain ? 0 : 1) + (int)off;
}

/* Add a host group's patterns to a set. */
static void
rules_add_group(struct match_strset *s, const struct hostgroup *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		match_strset_add(s, g->patterns[i]);
}

/* The host group of that name from the rule files or the config. */
static const struct hostgroup *
rules_group(struct rload *rl, const char *name)
{
	size_t i;

	for (i = 0; i < rl->ngroups; i++)
		if (strcmp(rl->groups[i].g.name, name) == 0)
			return &rl->groups[i].g;
	for (i = 0; rl->cfg != NULL && i < rl->cfg->ngroups; i++)
		if (strcmp(rl->cfg->groups[i].name, name) == 0)
			return &rl->cfg->groups[i];
	return NULL;
}

/* Add the hosts of "group: NAME" (or a list of names) to a set. */
static int
rules_group_ref(struct rload *rl, struct match_strset *s,
    const struct ynode *map)
{
	const struct ynode *g;
	const struct hostgroup *hg;
	size_t i, n;
	static const char *const ok[] = { "group", NULL };

	if (rules_keys(rl, map, ok, "a host condition") != 0)
		return -1;
	if ((g = ynode_get(map, "group")) == NULL) {
		rules_err(rl, map, "a host map needs \"group: NAME\"");
		return -1;
	}
	n = g->type == YNODE_SEQ ? g->n : 1;
	for (i = 0; i < n; i++) {
		const struct ynode *it = g->type == YNODE_SEQ ? g->items[i] : g;

		if (rules_scalar(rl, it, "a group name") == NULL)
			return -1;
		if ((hg = rules_group(rl, it->value)) == NULL) {
			rules_err(rl, it, "unknown host group \"%s\"",
			    it->value);
			return -1;
		}
		rules_add_group(s, hg);
	}
	return 0;
}

/* One item of a string set: a scalar, or for hosts "group: NAME". */
static int
rules_strset_item(struct rload *rl, struct match_strset *s,
    const struct ynode *n, const char *what, int hosts)
{
	if (hosts && n->type == YNODE_MAP)
		return rules_group_ref(rl, s, n);
	if (n->type != YNODE_SCALAR || *n->value == '\0') {
		rules_err(rl, n, "%s must be a non-empty string%s", what,
		    hosts ? " or \"group: NAME\"" : "");
		return -1;
	}
	match_strset_add(s, n->value);
	return 0;
}

/* A string set: one item or a list of them. */
static int
rules_strset(struct rload *rl, struct match_strset *s, const struct ynode *n,
    const char *what, int hosts)
{
	size_t i;
	int r = 0;

	if (n->type != YNODE_SEQ)
		return rules_strset_item(rl, s, n, what, hosts);
	if (n->n == 0) {
		rules_err(rl, n, "%s: the list is empty", what);
		return -1;
	}
	for (i = 0; i < n->n; i++)
		if (rules_strset_item(rl, s, n->items[i], what, hosts) != 0)
			r = -1;
	return r;
}

/* "source: syslog | trap". */
static int
rules_c_source(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	const char *v;

	if ((v = rules_scalar(rl, n, "source")) == NULL)
		return -1;
	if (strcmp(v, "syslog") == 0)
		c->source = EVENT_SYSLOG;
	else if (strcmp(v, "trap") == 0)
		c->source = EVENT_TRAP;
	else {
		rules_err(rl, n,
		    "unknown source \"%s\" (expected syslog or "
		    "trap)",
		    v);
		return -1;
	}
	return 0;
}

/* "host: NAME | GLOB | [..] | {group: NAME}". */
static int
rules_c_host(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	c->host.casefold = 1;
	return rules_strset(rl, &c->host, n, "host", 1);
}

/* "program: NAME | GLOB | [..]". */
static int
rules_c_program(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	return rules_strset(rl, &c->program, n, "program", 0);
}

/* "msgid: NAME | GLOB | [..]". */
static int
rules_c_msgid(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	return rules_strset(rl, &c->msgid, n, "msgid", 0);
}

/* "facility: NAME | [..]". */
static int
rules_c_facility(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	const struct ynode *it;
	size_t i, cnt = n->type == YNODE_SEQ ? n->n : 1;
	int f, r = 0;

	for (i = 0; i < cnt; i++) {
		it = n->type == YNODE_SEQ ? n->items[i] : n;
		if (rules_scalar(rl, it, "facility") == NULL)
			r = -1;
		else if ((f = event_facility_from_name(it->value)) < 0) {
			rules_err(rl, it, "unknown syslog facility \"%s\"",
			    it->value);
			r = -1;
		} else
			c->facility_mask |= 1u << f;
	}
	return r;
}

/* A syslog severity name, or -1 with an error. */
static int
rules_syslog_sev(struct rload *rl, const struct ynode *n, const char *v)
{
	int s;

	if ((s = event_severity_from_name(v)) < 0)
		rules_err(rl, n,
		    "unknown syslog severity \"%s\" (expected "
		    "emerg, alert, crit, err, warning, notice, info or debug)",
		    v);
	return s;
}

/* A severity bound such as "<= crit" as a mask; 0 if not a bound. */
static int
rules_sev_bound(struct rload *rl, const struct ynode *n, uint8_t *mask)
{
	const char *p = n->value;
	char op[3] = "";
	int s, v;

	while (*p == '<' || *p == '>' || *p == '=') {
		if (strlen(op) == 2)
			break;
		op[strlen(op)] = *p++;
	}
	if (op[0] == '\0')
		return 0;
	while (*p == ' ')
		p++;
	if ((s = rules_syslog_sev(rl, n, p)) < 0)
		return -1;
	for (v = 0; v < 8; v++) {
		if ((strcmp(op, "<=") == 0 && v <= s) ||
		    (strcmp(op, "<") == 0 && v < s) ||
		    (strcmp(op, ">=") == 0 && v >= s) ||
		    (strcmp(op, ">") == 0 && v > s) ||
		    ((strcmp(op, "=") == 0 || strcmp(op, "==") == 0) && v == s))
			*mask |= 1u << v;
	}
	if (strcmp(op, "<=") && strcmp(op, "<") && strcmp(op, ">=") &&
	    strcmp(op, ">") && strcmp(op, "=") && strcmp(op, "==")) {
		rules_err(rl, n,
		    "bad severity comparison \"%s\" (use <=, <, "
		    ">=, > or =)",
		    op);
		return -1;
	}
	return 1;
}

/* "severity: {min: NAME, max: NAME}" on syslog codes (emerg 0 .. debug 7). */
static int
rules_sev_range(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	static const char *const ok[] = { "min", "max", NULL };
	const struct ynode *lo, *hi;
	int min = 0, max = 7, v;

	if (rules_keys(rl, n, ok, "a severity range") != 0)
		return -1;
	lo = ynode_get(n, "min");
	hi = ynode_get(n, "max");
	if (lo == NULL && hi == NULL) {
		rules_err(rl, n, "a severity range needs min or max");
		return -1;
	}
	if (lo != NULL &&
	    (rules_scalar(rl, lo, "min") == NULL ||
		(min = rules_syslog_sev(rl, lo, lo->value)) < 0))
		return -1;
	if (hi != NULL &&
	    (rules_scalar(rl, hi, "max") == NULL ||
		(max = rules_syslog_sev(rl, hi, hi->value)) < 0))
		return -1;
	for (v = min; v <= max; v++)
		c->severity_mask |= 1u << v;
	if (c->severity_mask == 0) {
		rules_err(rl, n,
		    "the severity range is empty (min is above "
		    "max in syslog codes: emerg 0 .. debug 7)");
		return -1;
	}
	return 0;
}

/* "severity: NAME | "<= NAME" | [NAME..] | {min:, max:}" (syslog severity). */
static int
rules_c_severity(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	const struct ynode *it;
	size_t i, cnt = n->type == YNODE_SEQ ? n->n : 1;
	int s, r = 0;

	if (n->type == YNODE_MAP)
		return rules_sev_range(rl, c, n);
	if (n->type == YNODE_SCALAR &&
	    (s = rules_sev_bound(rl, n, &c->severity_mask)) != 0)
		return s < 0 ? -1 : 0;
	for (i = 0; i < cnt; i++) {
		it = n->type == YNODE_SEQ ? n->items[i] : n;
		if (rules_scalar(rl, it, "severity") == NULL ||
		    (s = rules_syslog_sev(rl, it, it->value)) < 0)
			r = -1;
		else
			c->severity_mask |= 1u << s;
	}
	return r;
}

/* "message: REGEX" (PCRE2, named captures usable in templates). */
static int
rules_c_message(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	char err[256];
	size_t off;

	if (rules_scalar(rl, n, "message") == NULL)
		return -1;
	if (match_cond_set_regex(c, n->value, err, sizeof(err), &off) != 0) {
		errlist_add(rl->errs, rl->file, n->line, rules_col(n, off),
		    "bad regular expression: %s", err);
		return -1;
	}
	return 0;
}

/* "message_contains: TEXT". */
static int
rules_c_contains(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	if (rules_scalar(rl, n, "message_contains") == NULL)
		return -1;
	if (*n->value == '\0') {
		rules_err(rl, n, "message_contains must not be empty");
		return -1;
	}
	c->contains = xstrdup(n->value);
	return 0;
}

/* Resolve an OID or object name at a node; -1 with an error. */
static int
rules_oid(struct rload *rl, const struct ynode *n, char *out, size_t len)
{
	const struct config *cfg = rl->cfg;

	if (mibnames_resolve(n->value, cfg != NULL ? cfg->mib_dirs : NULL,
		cfg != NULL ? cfg->nmib_dirs : 0, out, len) == 0)
		return 0;
	rules_err(rl, n,
	    "unknown OID \"%s\" (neither numeric, nor a "
	    "built-in name, nor found in the MIB directories)",
	    n->value);
	return -1;
}

/* "trap_oid: OID | NAME | [..]". */
static int
rules_c_trap_oid(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	const struct ynode *it;
	char oid[RULES_OID_MAX];
	size_t i, cnt = n->type == YNODE_SEQ ? n->n : 1;
	int r = 0;

	for (i = 0; i < cnt; i++) {
		it = n->type == YNODE_SEQ ? n->items[i] : n;
		if (rules_scalar(rl, it, "trap_oid") == NULL ||
		    rules_oid(rl, it, oid, sizeof(oid)) != 0) {
			r = -1;
			continue;
		}
		c->trap_oids = xreallocarray(c->trap_oids, c->ntrap_oids + 1,
		    sizeof(*c->trap_oids));
		c->trap_oids[c->ntrap_oids++] = xstrdup(oid);
	}
	return r;
}

/* The value test of one varbind: TEXT, [TEXT..], {regex: RE} or {}. */
static int
rules_vb_value(struct rload *rl, struct match_vb *vb, const struct ynode *n)
{
	static const char *const ok[] = { "regex", NULL };
	const struct ynode *re;
	char err[256];
	size_t i, off;

	if (n->type == YNODE_MAP) {
		if (rules_keys(rl, n, ok, "a varbind test") != 0)
			return -1;
		if ((re = ynode_get(n, "regex")) == NULL)
			return 0; /* presence only */
		if (rules_scalar(rl, re, "regex") == NULL)
			return -1;
		if ((vb->re = match_regex(re->value, err, sizeof(err), &off)) ==
		    NULL) {
			errlist_add(rl->errs, rl->file, re->line,
			    rules_col(re, off), "bad regular expression: %s",
			    err);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < (n->type == YNODE_SEQ ? n->n : 1); i++) {
		const struct ynode *it = n->type == YNODE_SEQ ? n->items[i] : n;

		if (rules_scalar(rl, it, "a varbind value") == NULL)
			return -1;
		vb->values = xreallocarray(vb->values, vb->nvalues + 1,
		    sizeof(*vb->values));
		vb->values[vb->nvalues++] = xstrdup(it->value);
	}
	return 0;
}

/* "varbinds: {OID-or-NAME: test, ..}". */
static int
rules_c_varbinds(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	char oid[RULES_OID_MAX];
	struct match_vb *vb;
	size_t i;
	int r = 0;

	if (n->type != YNODE_MAP) {
		rules_err(rl, n, "varbinds must be a map of OID: value");
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		if (rules_oid(rl, n->keys[i], oid, sizeof(oid)) != 0) {
			r = -1;
			continue;
		}
		c->vbs = xreallocarray(c->vbs, c->nvbs + 1, sizeof(*c->vbs));
		vb = &c->vbs[c->nvbs++];
		memset(vb, 0, sizeof(*vb));
		vb->oid = xstrdup(oid);
		if (rules_vb_value(rl, vb, n->items[i]) != 0)
			r = -1;
	}
	return r;
}

static struct rule_cond *rules_cond(struct rload *, const struct ynode *, int);

/* "not: {condition}". */
static int
rules_c_not(struct rload *rl, struct rule_cond *c, const struct ynode *n)
{
	if ((c->not = rules_cond(rl, n, 1)) == NULL)
		return -1;
	return 0;
}

/* One parser per criterion. */
static const struct {
	const char *key;
	int (*parse)(struct rload *, struct rule_cond *, const struct ynode *);
} rules_criteria[] = {
	{ "source", rules_c_source },
	{ "host", rules_c_host },
	{ "program", rules_c_program },
	{ "facility", rules_c_facility },
	{ "severity", rules_c_severity },
	{ "message", rules_c_message },
	{ "message_contains", rules_c_contains },
	{ "msgid", rules_c_msgid },
	{ "trap_oid", rules_c_trap_oid },
	{ "varbinds", rules_c_varbinds },
	{ "not", rules_c_not },
};
#define RULES_NCRITERIA (sizeof(rules_criteria) / sizeof(*rules_criteria))

/* Refuse criteria that can never hold together with the source. */
static int
rules_cond_source(struct rload *rl, struct rule_cond *c,
    const struct ynode *map)
{
	int trap = c->ntrap_oids != 0 || c->nvbs != 0;
	int sys = c->program.n != 0 || c->msgid.n != 0 ||
	    c->facility_mask != 0 || c->severity_mask != 0;

	if (trap && sys) {
		rules_err(rl, map,
		    "trap criteria (trap_oid, varbinds) and "
		    "syslog criteria (program, msgid, facility, severity) "
		    "cannot both hold");
		return -1;
	}
	if ((trap && c->source == EVENT_SYSLOG) ||
	    (sys && c->source == EVENT_TRAP)) {
		rules_err(rl, map, "criteria that never hold for source: %s",
		    c->source == EVENT_TRAP ? "trap" : "syslog");
		return -1;
	}
	if (trap && c->source < 0)
		c->source = EVENT_TRAP;
	if (sys && c->source < 0)
		c->source = EVENT_SYSLOG;
	return 0;
}

/* A condition map; NULL after reporting every error in it. */
static struct rule_cond *
rules_cond(struct rload *rl, const struct ynode *map, int negated)
{
	struct rule_cond *c;
	char list[512];
	size_t i, j, len;
	int bad = 0;

	if (map->type != YNODE_MAP) {
		rules_err(rl, map, "a condition must be a map of criteria");
		return NULL;
	}
	c = match_cond_new();
	for (i = 0; i < map->n; i++) {
		for (j = 0; j < RULES_NCRITERIA; j++)
			if (strcmp(map->keys[i]->value,
				rules_criteria[j].key) == 0)
				break;
		if (j < RULES_NCRITERIA) {
			if (rules_criteria[j].parse(rl, c, map->items[i]) != 0)
				bad = 1;
			continue;
		}
		list[0] = '\0';
		for (j = 0; j < RULES_NCRITERIA; j++) {
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
			    j == 0			 ? "" :
				j + 1 == RULES_NCRITERIA ? " or " :
							   ", ",
			    rules_criteria[j].key);
		}
		rules_err(rl, map->keys[i],
		    "unknown criterion \"%s\" "
		    "(expected %s)",
		    map->keys[i]->value, list);
		bad = 1;
	}
	if (!bad && !negated && rules_cond_source(rl, c, map) != 0)
		bad = 1;
	if (bad) {
		match_cond_free(c);
		return NULL;
	}
	return c;
}

/* Placeholders every event provides. */
static const char *const rules_fields[] = { "host", "program", "pid", "msgid",
	"message", "facility", "severity", "peer", "trap_oid", "rule", NULL };

/* Whether a placeholder names an event field. */
static int
rules_field(const char *name)
{
	size_t i;

	for (i = 0; rules_fields[i] != NULL; i++)
		if (strcmp(rules_fields[i], name) == 0)
			return 1;
	return 0;
}

/* Check one capture placeholder against the conditions that feed it. */
static int
rules_tmpl_capture(struct rload *rl, const struct ynode *n, size_t off,
    const char *name, const char *what, const struct rule *r)
{
	int line = n->line, col = rules_col(n, off);

	if (!match_cond_has_capture(r->match, name)) {
		errlist_add(rl->errs, rl->file, line, col,
		    "unknown "
		    "placeholder {%s} in %s (not an event field, nor a named "
		    "capture of the match condition's message)",
		    name, what);
		return -1;
	}
	if (strcmp(what, "key") == 0 && r->clear != NULL &&
	    !match_cond_has_capture(r->clear, name)) {
		errlist_add(rl->errs, rl->file, line, col,
		    "placeholder {%s} "
		    "in key is not a named capture of the clear condition's "
		    "message, so a clearing event could never find the "
		    "incident",
		    name);
		return -1;
	}
	return 0;
}

/*
 * Check a template's placeholders and return it with varbind names
 * rewritten as numeric OIDs; NULL after an error.
 */
static char *
rules_template(struct rload *rl, const struct ynode *n, const char *what,
    const struct rule *r, int *nplace)
{
	char name[TEMPLATE_NAME_MAX], oid[RULES_OID_MAX], *out, *tmp;
	size_t pos = 0, start, last = 0;
	int k, bad = 0;
	struct ynode at = *n;

	out = xstrdup("");
	*nplace = 0;
	while ((k = template_next(n->value, &pos, &start, name,
		    sizeof(name))) != 0) {
		if (k < 0) {
			errlist_add(rl->errs, rl->file, n->line,
			    rules_col(n, start),
			    "unterminated or empty "
			    "placeholder in %s (write {{ for a literal brace)",
			    what);
			bad = 1;
			break;
		}
		(*nplace)++;
		if (strncmp(name, "vb:", 3) == 0) {
			at.value = name + 3;
			at.col = rules_col(n, start + 4);
			at.plain = 1;
			if (rules_oid(rl, &at, oid, sizeof(oid)) != 0) {
				bad = 1;
				continue;
			}
			xasprintf(&tmp, "%s%.*s{vb:%s}", out,
			    (int)(start - last), n->value + last, oid);
			free(out);
			out = tmp;
			last = pos;
		} else if (!rules_field(name) &&
		    rules_tmpl_capture(rl, n, start, name, what, r) != 0)
			bad = 1;
	}
	if (bad) {
		free(out);
		return NULL;
	}
	xasprintf(&tmp, "%s%s", out, n->value + last);
	free(out);
	return tmp;
}

/* "threshold: {count: N, within: DURATION}". */
static int
rules_threshold(struct rload *rl, struct rule *r, const struct ynode *n)
{
	static const char *const ok[] = { "count", "within", NULL };
	const struct ynode *cnt, *win;
	long long v;

	if (n->type != YNODE_MAP) {
		rules_err(rl, n,
		    "threshold must be a map with count and "
		    "within");
		return -1;
	}
	if (rules_keys(rl, n, ok, "a threshold") != 0)
		return -1;
	cnt = ynode_get(n, "count");
	win = ynode_get(n, "within");
	if (cnt == NULL || win == NULL) {
		rules_err(rl, n, "threshold needs both count and within");
		return -1;
	}
	if (ynode_int(cnt, rl->file, 1, RULES_MAX_COUNT, &v, rl->errs) != 0)
		return -1;
	r->threshold_count = (unsigned)v;
	if (ynode_duration(win, rl->file, &r->threshold_window, rl->errs) != 0)
		return -1;
	if (r->threshold_window == 0) {
		rules_err(rl, win, "threshold window must be longer than 0");
		return -1;
	}
	return 0;
}

/* Free what an expect or silent rule owns. */
static void
rules_free_special(struct rule *r)
{
	size_t i;

	if (r->metric != NULL) {
		free(r->metric->name);
		free(r->metric);
	}
	if (r->expect != NULL) {
		for (i = 0; i < r->expect->nhosts; i++)
			free(r->expect->hosts[i]);
		free(r->expect->hosts);
		for (i = 0; i < r->expect->nfailed; i++)
			free(r->expect->failed[i]);
		free(r->expect->failed);
		free(r->expect);
	}
	if (r->silent != NULL) {
		for (i = 0; i < r->silent->nhosts; i++)
			free(r->silent->hosts[i]);
		free(r->silent->hosts);
		free(r->silent);
	}
}

/* Free one rule. */
static void
rules_free_rule(struct rule *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->file);
	free(r->title);
	free(r->key);
	free(r->description);
	free(r->src);
	match_cond_free(r->match);
	match_cond_free(r->clear);
	rules_free_special(r);
	free(r);
}

/* The rule of that name already loaded, or NULL. */
static const struct rule *
rules_find(const struct ruleset *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->rules[i]->name, name) == 0)
			return rs->rules[i];
	return NULL;
}

/* The rule's name: present, well-formed, unique. */
static int
rules_name(struct rload *rl, struct rule *r, const struct ynode *map)
{
	const struct ynode *n = ynode_get(map, "name");
	const struct rule *o;
	const char *p;

	if (n == NULL) {
		rules_err(rl, map, "rule without a name");
		return -1;
	}
	if (rules_scalar(rl, n, "name") == NULL)
		return -1;
	for (p = n->value; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
			break;
	if (*p != '\0' || p == n->value || p - n->value > 64) {
		rules_err(rl, n,
		    "rule name \"%s\" must be 1 to 64 letters, "
		    "digits, '-', '_' or '.'",
		    n->value);
		return -1;
	}
	if ((o = rules_find(rl->rs, n->value)) != NULL) {
		rules_err(rl, n,
		    "duplicate rule name \"%s\" (first defined "
		    "at %s:%d:%d)",
		    n->value, o->file, o->line, o->col);
		return -1;
	}
	r->name = xstrdup(n->value);
	return 0;
}

/* "action: incident | drop" and "severity: critical..info". */
static int
rules_action(struct rload *rl, struct rule *r, const struct ynode *map)
{
	const struct ynode *a = ynode_get(map, "action");
	const struct ynode *s = ynode_get(map, "severity");

	if (a != NULL && rules_scalar(rl, a, "action") != NULL) {
		if (strcmp(a->value, "drop") == 0)
			r->action = RULE_DROP;
		else if (strcmp(a->value, "incident") != 0) {
			rules_err(rl, a,
			    "unknown action \"%s\" (expected "
			    "incident or drop)",
			    a->value);
			return -1;
		}
	} else if (a != NULL)
		return -1;
	r->severity = SEV_MEDIUM;
	if (s == NULL) {
		if (r->action == RULE_DROP)
			return 0;
		if (ynode_get(map, "expect") != NULL ||
		    ynode_get(map, "silent") != NULL) {
			r->severity = SEV_HIGH; /* SOP 2.1: high by default */
			return 0;
		}
		rules_err(rl, map,
		    "rule \"%s\" needs a severity (critical, "
		    "high, medium, low or info)",
		    r->name);
		return -1;
	}
	if (rules_scalar(rl, s, "severity") == NULL)
		return -1;
	if ((r->severity = severity_from_name(s->value)) < 0) {
		rules_err(rl, s,
		    "unknown severity \"%s\" (expected critical, "
		    "high, medium, low or info)",
		    s->value);
		return -1;
	}
	return 0;
}

/* The conditions: match (required) and clear. */
static int
rules_conds(struct rload *rl, struct rule *r, const struct ynode *map)
{
	const struct ynode *m = ynode_get(map, "match");
	const struct ynode *c = ynode_get(map, "clear");
	int bad = 0;

	if (m == NULL) {
		rules_err(rl, map, "rule \"%s\" has no match condition",
		    r->name);
		bad = 1;
	} else if ((r->match = rules_cond(rl, m, 0)) == NULL)
		bad = 1;
	if (c != NULL && r->action == RULE_DROP) {
		rules_err(rl, c, "a drop rule cannot have a clear condition");
		bad = 1;
	} else if (c != NULL && (r->clear = rules_cond(rl, c, 0)) == NULL)
		bad = 1;
	return bad ? -1 : 0;
}

/* A template field (title or key), checked and rewritten. */
static int
rules_tmpl_field(struct rload *rl, struct rule *r, const struct ynode *map,
    const char *what, const char *def, char **out, int *nplace)
{
	const struct ynode *n = ynode_get(map, what);
	struct ynode d = { .type = YNODE_SCALAR,
		.line = map->line,
		.col = map->col,
		.plain = 1 };

	if (n == NULL) {
		d.value = (char *)def;
		n = &d;
	} else if (rules_scalar(rl, n, what) == NULL)
		return -1;
	if ((*out = rules_template(rl, n, what, r, nplace)) == NULL)
		return -1;
	return 0;
}

/* Title, key, description and threshold (after the conditions). */
static int
rules_texts(struct rload *rl, struct rule *r, const struct ynode *map)
{
	const struct ynode *d = ynode_get(map, "description");
	const struct ynode *t = ynode_get(map, "threshold");
	int bad = 0, nplace, nkey = 1;

	if (d != NULL && rules_scalar(rl, d, "description") != NULL)
		r->description = xstrdup(d->value);
	else if (d != NULL)
		bad = 1;
	if (rules_tmpl_field(rl, r, map, "title", "{rule} on {host}", &r->title,
		&nplace) != 0)
		bad = 1;
	if (rules_tmpl_field(rl, r, map, "key", "{rule}:{host}", &r->key,
		&nkey) != 0)
		bad = 1;
	if (t != NULL && r->action == RULE_DROP) {
		rules_err(rl, t, "a drop rule cannot have a threshold");
		return -1;
	}
	if (t != NULL && rules_threshold(rl, r, t) != 0)
		bad = 1;
	if (t != NULL && r->key != NULL && nkey == 0) {
		rules_err(rl, ynode_get(map, "key"),
		    "a threshold counts per "
		    "key, but this key has no placeholder: use e.g. "
		    "\"{host}\"");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* "hosts:" of expect or silent: a set (names, globs, groups); "all" if allowed. */
static int
rules_hosts(struct rload *rl, const struct ynode *n, int allow_all, int exact,
    char ***hosts, size_t *nhosts, int *all)
{
	struct match_strset s = { 0 };
	size_t i;
	int bad = 0;

	if (allow_all && n->type == YNODE_SCALAR &&
	    strcmp(n->value, "all") == 0) {
		*all = 1;
		return 0;
	}
	if (rules_strset(rl, &s, n, "hosts", 1) != 0)
		bad = 1;
	for (i = 0; exact && i < s.n; i++)
		if (s.glob[i]) {
			rules_err(rl, n,
			    "expected hosts must be exact names, "
			    "not patterns (\"%s\")",
			    s.pat[i]);
			bad = 1;
		}
	if (s.n > RULE_MAX_EXPECT_HOSTS) {
		rules_err(rl, n, "more than %d hosts", RULE_MAX_EXPECT_HOSTS);
		bad = 1;
	}
	*hosts = s.pat;
	*nhosts = s.n;
	free(s.glob);
	return bad ? -1 : 0;
}

/* "by: HH:MM" or "by: mon HH:MM" and "every: day | weekday | week". */
static int
rules_expect_by(struct rload *rl, struct rule_expect *e, const struct ynode *by,
    const struct ynode *every)
{
	const char *v = by != NULL ? rules_scalar(rl, by, "by") : NULL;
	const char *sp;
	char day[8];
	unsigned mask;

	if (v == NULL)
		return -1; /* absent (the caller says so) or not a string */
	e->every = EVERY_DAY;
	e->by_wday = -1;
	if ((sp = strchr(v, ' ')) != NULL) {
		snprintf(day, sizeof(day), "%.*s", (int)(sp - v), v);
		if (calendar_parse_days(day, &mask) != 0 || mask == 0 ||
		    (mask & (mask - 1)) != 0) {
			rules_err(rl, by, "by: \"%s\" is not one weekday", day);
			return -1;
		}
		for (e->by_wday = 0; !(mask & (1u << e->by_wday)); e->by_wday++)
			;
		e->every = EVERY_WEEK;
		v = sp + 1;
	}
	if (calendar_parse_hhmm(v, &e->by_min) != 0 || e->by_min >= 1440) {
		rules_err(rl, by, "by: \"%s\" is not a time HH:MM", v);
		return -1;
	}
	if (every == NULL)
		return 0;
	if (rules_scalar(rl, every, "every") == NULL)
		return -1;
	if (strcmp(every->value, "day") == 0 && e->by_wday < 0)
		e->every = EVERY_DAY;
	else if (strcmp(every->value, "weekday") == 0 && e->by_wday < 0)
		e->every = EVERY_WEEKDAY;
	else if (strcmp(every->value, "week") == 0 && e->by_wday >= 0)
		e->every = EVERY_WEEK;
	else {
		rules_err(rl, every,
		    "every: \"%s\" (expected day or weekday "
		    "with \"by: HH:MM\", week with \"by: DAY HH:MM\")",
		    every->value);
		return -1;
	}
	return 0;
}

/* "failed: NAME or [NAMES]": incident rules whose incidents fail the day. */
static int
rules_expect_failed(struct rload *rl, struct rule_expect *e,
    const struct ynode *n)
{
	const struct ynode *v;
	size_t i, cnt;

	if (n == NULL)
		return 0;
	cnt = n->type == YNODE_SEQ ? n->n : 1;
	e->failed = xcalloc(cnt, sizeof(*e->failed));
	for (i = 0; i < cnt; i++) {
		v = n->type == YNODE_SEQ ? n->items[i] : n;
		if (rules_scalar(rl, v, "failed") == NULL)
			return -1;
		e->failed[e->nfailed++] = xstrdup(v->value);
	}
	return 0;
}

/* "expect: {match, hosts, by, every, since, failed}". */
static int
rules_expect(struct rload *rl, struct rule *r, const struct ynode *n)
{
	static const char *const ok[] = { "match", "hosts", "by", "every",
		"since", "failed", NULL };
	struct rule_expect *e;
	const struct ynode *m, *h, *s;
	int bad = 0, all = 0;

	if (n->type != YNODE_MAP || rules_keys(rl, n, ok, "expect") != 0) {
		if (n->type != YNODE_MAP)
			rules_err(rl, n, "expect must be a map");
		return -1;
	}
	e = r->expect = xcalloc(1, sizeof(*e));
	e->since_min = -1;
	r->action = RULE_EXPECT;
	if ((m = ynode_get(n, "match")) == NULL ||
	    (h = ynode_get(n, "hosts")) == NULL) {
		rules_err(rl, n, "expect needs match and hosts");
		return -1;
	}
	if ((r->match = rules_cond(rl, m, 0)) == NULL)
		bad = 1;
	if (rules_hosts(rl, h, 0, 1, &e->hosts, &e->nhosts, &all) != 0)
		bad = 1;
	if (ynode_get(n, "by") == NULL) {
		rules_err(rl, n, "expect needs \"by: HH:MM\"");
		bad = 1;
	} else if (rules_expect_by(rl, e, ynode_get(n, "by"),
		       ynode_get(n, "every")) != 0)
		bad = 1;
	if ((s = ynode_get(n, "since")) != NULL &&
	    (rules_scalar(rl, s, "since") == NULL ||
		calendar_parse_hhmm(s->value, &e->since_min) != 0 ||
		e->since_min >= 1440)) {
		rules_err(rl, s, "since must be a time HH:MM");
		bad = 1;
	}
	if (rules_expect_failed(rl, e, ynode_get(n, "failed")) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

/* "silent: {hosts: all | [...] | {group: NAME}, after: DURATION}". */
static int
rules_silent(struct rload *rl, struct rule *r, const struct ynode *n)
{
	static const char *const ok[] = { "hosts", "after", NULL };
	struct rule_silent *s;
	const struct ynode *h, *a;

	if (n->type != YNODE_MAP || rules_keys(rl, n, ok, "silent") != 0) {
		if (n->type != YNODE_MAP)
			rules_err(rl, n, "silent must be a map");
		return -1;
	}
	s = r->silent = xcalloc(1, sizeof(*s));
	r->action = RULE_SILENT;
	if ((h = ynode_get(n, "hosts")) == NULL ||
	    (a = ynode_get(n, "after")) == NULL) {
		rules_err(rl, n, "silent needs hosts and after");
		return -1;
	}
	if (rules_hosts(rl, h, 1, 0, &s->hosts, &s->nhosts, &s->all) != 0)
		return -1;
	if (ynode_duration(a, rl->file, &s->after, rl->errs) != 0)
		return -1;
	if (s->after < 1) {
		rules_err(rl, a, "after must be longer than 0");
		return -1;
	}
	return 0;
}

/* "flapping: {cycles: N, within: DURATION}" or "flapping: off". */
static int
rules_flapping(struct rload *rl, struct rule *r, const struct ynode *n)
{
	static const char *const ok[] = { "cycles", "within", NULL };
	const struct ynode *c, *w;
	long long v;

	r->flap_cycles = RULE_FLAP_CYCLES;
	r->flap_within = RULE_FLAP_WITHIN;
	if (n == NULL)
		return 0;
	if (n->type == YNODE_SCALAR &&
	    (strcmp(n->value, "off") == 0 || strcmp(n->value, "false") == 0)) {
		r->flap_cycles = 0;
		return 0;
	}
	if (n->type != YNODE_MAP || rules_keys(rl, n, ok, "flapping") != 0) {
		if (n->type != YNODE_MAP)
			rules_err(rl, n,
			    "flapping must be off or a map with "
			    "cycles and within");
		return -1;
	}
	if ((c = ynode_get(n, "cycles")) != NULL) {
		if (ynode_int(c, rl->file, 1, 1000, &v, rl->errs) != 0)
			return -1;
		r->flap_cycles = (unsigned)v;
	}
	if ((w = ynode_get(n, "within")) != NULL &&
	    ynode_duration(w, rl->file, &r->flap_within, rl->errs) != 0)
		return -1;
	if (r->flap_within < 1) {
		rules_err(rl, w, "flapping within must be longer than 0");
		return -1;
	}
	return 0;
}

/* "quiet: DURATION": resolve the incident when its key stays quiet. */
static int
rules_quiet(struct rload *rl, struct rule *r, const struct ynode *n)
{
	if (n == NULL)
		return 0;
	if (r->action != RULE_INCIDENT) {
		rules_err(rl, n, "a drop rule cannot have a quiet time");
		return -1;
	}
	if (ynode_duration(n, rl->file, &r->quiet, rl->errs) != 0)
		return -1;
	if (r->quiet < 1) {
		rules_err(rl, n, "quiet must be longer than 0");
		return -1;
	}
	return 0;
}

/* Whether v OP ref holds. */
int
rule_cmp_holds(enum rule_cmp op, double v, double ref)
{
	switch (op) {
	case CMP_GT:
		return v > ref;
	case CMP_GE:
		return v >= ref;
	case CMP_LT:
		return v < ref;
	case CMP_LE:
		return v <= ref;
	case CMP_EQ:
		return v == ref;
	case CMP_NE:
		return v != ref;
	}
	return 0;
}

/* "OP NUMBER" at *p; advances *p; -1 if malformed. */
static int
rules_metric_cmp(const char **p, enum rule_cmp *op, double *v)
{
	static const struct {
		const char *s;
		enum rule_cmp op;
	} ops[] = {
		{ ">=", CMP_GE },
		{ "<=", CMP_LE },
		{ "==", CMP_EQ },
		{ "!=", CMP_NE },
		{ ">", CMP_GT },
		{ "<", CMP_LT },
	};
	const char *q = *p;
	char *end;
	size_t i;

	while (*q == ' ')
		q++;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strncmp(q, ops[i].s, strlen(ops[i].s)) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return -1;
	*op = ops[i].op;
	q += strlen(ops[i].s);
	*v = strtod(q, &end);
	if (end == q)
		return -1;
	*p = end;
	return 0;
}

/* "metric: NAME OP VALUE [for DURATION]" and "clear: OP VALUE". */
static int
rules_metric(struct rload *rl, struct rule *r, const struct ynode *n,
    const struct ynode *c)
{
	struct rule_metric *m;
	struct ynode d;
	const char *p, *q;

	if (rules_scalar(rl, n, "metric") == NULL)
		return -1;
	m = r->metric = xcalloc(1, sizeof(*m));
	r->action = RULE_METRIC;
	p = n->value;
	q = p + strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789._");
	m->name = xstrndup(p, (size_t)(q - p));
	if (q == p || rules_metric_cmp(&q, &m->op, &m->value) == -1) {
		rules_err(rl, n,
		    "metric must be \"NAME OP NUMBER [for "
		    "DURATION]\" (OP one of > >= < <= == !=)");
		return -1;
	}
	while (*q == ' ')
		q++;
	if (strncmp(q, "for ", 4) == 0) {
		d = *n;
		d.value = (char *)q + 4;
		if (ynode_duration(&d, rl->file, &m->for_s, rl->errs) != 0)
			return -1;
	} else if (*q != '\0') {
		rules_err(rl, n, "metric: unexpected \"%s\"", q);
		return -1;
	}
	if (c == NULL)
		return 0;
	if (rules_scalar(rl, c, "clear") == NULL)
		return -1;
	p = c->value;
	if (rules_metric_cmp(&p, &m->clear_op, &m->clear_value) == -1 ||
	    p[strspn(p, " ")] != '\0') {
		rules_err(rl, c, "a metric rule's clear must be \"OP NUMBER\"");
		return -1;
	}
	m->has_clear = 1;
	return 0;
}

/*
 * A title that may use only the placeholders in ok (what names the kind of
 * rule in the error, "a metric title").
 */
static int
rules_title_with(struct rload *rl, struct rule *r, const struct ynode *map,
    const char *const *ok, const char *what)
{
	const struct ynode *n = ynode_get(map, "title");
	const char *p, *q;
	char known[128] = "";
	size_t j;

	if (n == NULL)
		return 0;
	if (rules_scalar(rl, n, "title") == NULL)
		return -1;
	for (p = n->value; (p = strchr(p, '{')) != NULL; p = q) {
		if ((q = strchr(p, '}')) == NULL)
			break;
		for (j = 0; ok[j] != NULL; j++)
			if ((size_t)(q - p - 1) == strlen(ok[j]) &&
			    strncmp(p + 1, ok[j], q - p - 1) == 0)
				break;
		if (ok[j] == NULL) {
			for (j = 0; ok[j] != NULL; j++)
				snprintf(known + strlen(known),
				    sizeof(known) - strlen(known), "%s{%s}",
				    j > 0 ? ", " : "", ok[j]);
			rules_err(rl, n,
			    "unknown placeholder \"%.*s\" (%s "
			    "knows %s)",
			    (int)(q - p + 1), p, what, known);
			return -1;
		}
	}
	r->title = xstrdup(n->value);
	return 0;
}

/* A metric rule's title: {host}, {rule}, {metric}, {inst}, {value}. */
static int
rules_metric_title(struct rload *rl, struct rule *r, const struct ynode *map)
{
	static const char *const ok[] = { "host", "rule", "metric", "inst",
		"value", NULL };

	return rules_title_with(rl, r, map, ok, "a metric title");
}

/* A metric rule instead of match; 0 if it is not one. */
static int
rules_kind_metric(struct rload *rl, struct rule *r, const struct ynode *map,
    int *bad)
{
	static const char *const not [] = { "match", "threshold", "key",
		"action", "flapping", "expect", "silent", NULL };
	const struct ynode *n = ynode_get(map, "metric");
	const struct ynode *d = ynode_get(map, "description");
	size_t i;

	if (n == NULL)
		return 0;
	for (i = 0; not [i] != NULL; i++)
		if (ynode_get(map, not [i]) != NULL) {
			rules_err(rl, map,
			    "rule \"%s\": a metric rule has no "
			    "%s",
			    r->name, not [i]);
			*bad = 1;
			return 1;
		}
	if (rules_metric(rl, r, n, ynode_get(map, "clear")) != 0 ||
	    rules_metric_title(rl, r, map) != 0)
		*bad = 1;
	if (d != NULL && rules_scalar(rl, d, "description") != NULL)
		r->description = xstrdup(d->value);
	return 1;
}

/* Check a title of an expect or silent rule: its own placeholders only. */
static int
rules_plain_title(struct rload *rl, struct rule *r, const struct ynode *map)
{
	static const char *const ok[] = { "host", "rule", "deadline", "since",
		"last", NULL };

	return rules_title_with(rl, r, map, ok, "an expect or silent title");
}

/* An expect or silent rule instead of match and clear; 0 if neither. */
static int
rules_kind(struct rload *rl, struct rule *r, const struct ynode *map, int *bad)
{
	static const char *const not [] = { "match", "clear", "threshold",
		"key", "action", "flapping", "quiet", NULL };
	const struct ynode *e = ynode_get(map, "expect");
	const struct ynode *s = ynode_get(map, "silent");
	const struct ynode *d = ynode_get(map, "description");
	size_t i;

	if (e == NULL && s == NULL)
		return 0;
	for (i = 0; not [i] != NULL; i++)
		if (ynode_get(map, not [i]) != NULL ||
		    (e != NULL && s != NULL)) {
			rules_err(rl, map,
			    "rule \"%s\": an expect or silent "
			    "rule has no %s",
			    r->name,
			    e != NULL && s != NULL ? "other kind" : not [i]);
			*bad = 1;
			return 1;
		}
	if ((e != NULL ? rules_expect(rl, r, e) : rules_silent(rl, r, s)) != 0)
		*bad = 1;
	if (rules_plain_title(rl, r, map) != 0)
		*bad = 1;
	if (d != NULL && rules_scalar(rl, d, "description") != NULL)
		r->description = xstrdup(d->value);
	return 1;
}

/* One rule map; appended to the set when it has no error. */
static void
rules_rule(struct rload *rl, const struct ynode *map)
{
	static const char *const ok[] = { "name", "description", "match",
		"clear", "action", "severity", "title", "key", "threshold",
		"expect", "silent", "flapping", "quiet", "metric", NULL };
	struct rule *r;
	int bad = 0;

	if (map->type != YNODE_MAP) {
		rules_err(rl, map, "a rule must be a map");
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->file = xstrdup(rl->file);
	r->line = map->line;
	r->col = map->col;
	r->src = ynode_json_text(map);
	if (rules_keys(rl, map, ok, "a rule") != 0)
		bad = 1;
	if (rules_name(rl, r, map) != 0) {
		rules_free_rule(r);
		return;
	}
	if (rules_action(rl, r, map) != 0)
		bad = 1;
	if (rules_kind_metric(rl, r, map, &bad))
		;
	else if (rules_kind(rl, r, map, &bad))
		;
	else if (rules_conds(rl, r, map) != 0)
		bad = 1;
	else if (rules_texts(rl, r, map) != 0)
		bad = 1;
	else if (r->action == RULE_INCIDENT &&
	    rules_flapping(rl, r, ynode_get(map, "flapping")) != 0)
		bad = 1;
	else if (rules_quiet(rl, r, ynode_get(map, "quiet")) != 0)
		bad = 1;
	if (rl->rs->n >= RULES_MAX_RULES) {
		rules_err(rl, map, "more than %d rules", RULES_MAX_RULES);
		bad = 1;
	}
	if (bad) {
		/* Keep the name so that duplicates are still reported. */
		match_cond_free(r->match);
		match_cond_free(r->clear);
		r->match = r->clear = NULL;
	}
	rl->rs->rules =
	    xreallocarray(rl->rs->rules, rl->rs->n + 1, sizeof(*rl->rs->rules));
	rl->rs->rules[rl->rs->n++] = r;
}

/* "host_groups: {NAME: [patterns]}" of one file. */
static void
rules_host_groups(struct rload *rl, const struct ynode *map)
{
	struct rules_group *g;
	const struct ynode *k, *v;
	size_t i, j, cnt;

	if (map->type != YNODE_MAP) {
		rules_err(rl, map,
		    "host_groups must be a map of NAME: "
		    "[patterns]");
		return;
	}
	for (i = 0; i < map->n; i++) {
		k = map->keys[i];
		v = map->items[i];
		if (rules_group(rl, k->value) != NULL) {
			rules_err(rl, k, "host group \"%s\" is already defined",
			    k->value);
			continue;
		}
		cnt = v->type == YNODE_SEQ ? v->n : 1;
		for (j = 0; j < cnt; j++) {
			const struct ynode *it =
			    v->type == YNODE_SEQ ? v->items[j] : v;
			if (it->type != YNODE_SCALAR || *it->value == '\0')
				break;
		}
		if (j < cnt || cnt == 0) {
			rules_err(rl, v,
			    "host group \"%s\" must be a host "
			    "pattern or a non-empty list of them",
			    k->value);
			continue;
		}
		rl->groups = xreallocarray(rl->groups, rl->ngroups + 1,
		    sizeof(*rl->groups));
		g = &rl->groups[rl->ngroups++];
		g->g.name = xstrdup(k->value);
		g->g.n = cnt;
		g->g.patterns = xcalloc(cnt, sizeof(*g->g.patterns));
		for (j = 0; j < cnt; j++)
			g->g.patterns[j] =
			    xstrdup(v->type == YNODE_SEQ ? v->items[j]->value :
							   v->value);
		g->file = rl->file;
		g->line = k->line;
		g->col = k->col;
	}
}

/* Whether a file's top level is a map of host_groups and rules. */
static int
rules_top(struct rload *rl, const struct ynode *root)
{
	static const char *const ok[] = { "host_groups", "rules", NULL };
	const struct ynode *rules;

	if (root->type != YNODE_MAP) {
		rules_err(rl, root,
		    "a rule file must be a map with \"rules\" "
		    "(and optional \"host_groups\")");
		return -1;
	}
	(void)rules_keys(rl, root, ok, "a rule file");
	rules = ynode_get(root, "rules");
	if (rules != NULL && rules->type != YNODE_SEQ) {
		rules_err(rl, rules, "\"rules\" must be a list of rules");
		return -1;
	}
	return 0;
}

/* Whether a directory entry is a rule file (*.yaml or *.yml, not hidden). */
static int
rules_is_yaml(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return 0;
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	    (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

/* Byte order of two names for qsort. */
static int
rules_name_cmp_cb(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append a directory's rule files in name order. */
static void
rules_list_dir(const char *dir, char ***files, size_t *n, struct errlist *errs)
{
	DIR *d;
	struct dirent *de;
	size_t first = *n;

	if ((d = opendir(dir)) == NULL) {
		errlist_add(errs, dir, 0, 0, "cannot open: %s",
		    strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL && *n < RULES_MAX_FILES) {
		if (!rules_is_yaml(de->d_name))
			continue;
		*files = xreallocarray(*files, *n + 1, sizeof(**files));
		xasprintf(&(*files)[(*n)++], "%s/%s", dir, de->d_name);
	}
	closedir(d);
	qsort(*files + first, *n - first, sizeof(**files), rules_name_cmp_cb);
}

/* Every rule file the config names, in load order. */
static char **
rules_files(const struct config *cfg, size_t *n, struct errlist *errs)
{
	char **files = NULL;
	const char *path;
	struct stat st;
	size_t i;

	*n = 0;
	for (i = 0; i < cfg->nrule_paths; i++) {
		path = cfg->rule_paths[i]; /* resolved by the config */
		if (stat(path, &st) != 0)
			errlist_add(errs, path, 0, 0, "cannot open: %s",
			    strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rules_list_dir(path, &files, n, errs);
		else {
			files = xreallocarray(files, *n + 1, sizeof(*files));
			files[(*n)++] = xstrdup(path);
		}
	}
	return files;
}

/* Free the loader's own host groups. */
static void
rules_free_groups(struct rload *rl)
{
	size_t i, j;

	for (i = 0; i < rl->ngroups; i++) {
		for (j = 0; j < rl->groups[i].g.n; j++)
			free(rl->groups[i].g.patterns[j]);
		free(rl->groups[i].g.patterns);
		free(rl->groups[i].g.name);
	}
	free(rl->groups);
}

/* Read the files: host groups of all files first, then the rules. */
static void
rules_read(struct rload *rl, char **files, size_t nfiles)
{
	struct ynode **roots = xcalloc(nfiles + 1, sizeof(*roots));
	const struct ynode *g, *list;
	size_t i, j;

	for (i = 0; i < nfiles; i++) {
		rl->file = files[i];
		roots[i] = ynode_load(files[i], NULL, 0, rl->errs);
		if (roots[i] != NULL && rules_top(rl, roots[i]) != 0) {
			ynode_free(roots[i]);
			roots[i] = NULL;
		}
		if ((g = ynode_get(roots[i], "host_groups")) != NULL)
			rules_host_groups(rl, g);
	}
	for (i = 0; i < nfiles; i++) {
		rl->file = files[i];
		if ((list = ynode_get(roots[i], "rules")) == NULL)
			continue;
		for (j = 0; j < list->n; j++)
			rules_rule(rl, list->items[j]);
	}
	for (i = 0; i < nfiles; i++)
		ynode_free(roots[i]);
	free(roots);
}

/* Every name in an expectation's "failed" is an incident rule. */
static void
rules_check_failed(struct rload *rl)
{
	const struct rule *r, *o;
	size_t i, j, k;

	for (i = 0; i < rl->rs->n; i++) {
		r = rl->rs->rules[i];
		for (j = 0; r->expect != NULL && j < r->expect->nfailed; j++) {
			for (k = 0; k < rl->rs->n; k++) {
				o = rl->rs->rules[k];
				if (o->action == RULE_INCIDENT &&
				    strcmp(o->name, r->expect->failed[j]) == 0)
					break;
			}
			if (k == rl->rs->n)
				errlist_add(rl->errs, r->file, r->line, r->col,
				    "rule \"%s\": failed names \"%s\", which "
				    "is not an incident rule",
				    r->name, r->expect->failed[j]);
		}
	}
}

/* Load every rule file of the config; NULL with all errors in errs. */
struct ruleset *
ruleset_load(const struct config *cfg, struct errlist *errs)
{
	struct rload rl = { .cfg = cfg, .errs = errs };
	char **files;
	size_t nfiles, i, nerr = errs->n;

	rl.rs = xcalloc(1, sizeof(*rl.rs));
	files = rules_files(cfg, &nfiles, errs);
	rules_read(&rl, files, nfiles);
	rules_check_failed(&rl);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	rules_free_groups(&rl);
	if (errs->n != nerr) {
		ruleset_free(rl.rs);
		return NULL;
	}
	rl.rs->conds = xcalloc(2 * rl.rs->n + 1, sizeof(*rl.rs->conds));
	for (i = 0; i < rl.rs->n; i++) {
		rl.rs->conds[2 * i] = rl.rs->rules[i]->match;
		rl.rs->conds[2 * i + 1] = rl.rs->rules[i]->clear;
	}
	rl.rs->m = match_build(rl.rs->conds, 2 * rl.rs->n);
	return rl.rs;
}

/* Free a rule set. */
void
ruleset_free(struct ruleset *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	match_free(rs->m);
	for (i = 0; i < rs->n; i++)
		rules_free_rule(rs->rules[i]);
	free(rs->rules);
	free(rs->conds);
	free(rs);
}

/* The number of rules. */
size_t
ruleset_count(const struct ruleset *rs)
{
	return rs->n;
}

/* The i-th rule in load order, or NULL. */
struct rule *
ruleset_rule(const struct ruleset *rs, size_t i)
{
	return i < rs->n ? rs->rules[i] : NULL;
}

/* Find the rule that takes an event and count it. */
int
ruleset_match(struct ruleset *rs, const struct logevent *ev,
    struct rule_hit *hit)
{
	struct rule *r;
	long id;

	hit->rule = NULL;
	hit->clear = 0;
	hit->ncap = 0;
	if (rs == NULL || rs->m == NULL ||
	    (id = match_event(rs->m, ev, hit)) < 0)
		return 0;
	r = rs->rules[id / 2];
	hit->rule = r;
	hit->clear = (int)(id % 2);
	if (hit->clear)
		r->cleared++;
	else
		r->matched++;
	return 1;
}

/* Expand a rule template for an event. */
size_t
rule_render(const char *tmpl, const struct logevent *ev,
    const struct rule_hit *hit, char *out, size_t size)
{
	return template_render(tmpl, ev, hit, out, size);
}
