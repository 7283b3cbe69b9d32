/*
 * policy.c: the business calendar and the escalation policies per severity,
 * read from the config's calendar: and escalation: sections, with the SOP's
 * numbers as defaults.
 */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "config.h"
#include "rules.h"
#include "xmalloc.h"
#include "yamlnode.h"

struct policy_sev {
	struct policy_step steps[POLICY_MAX_STEPS];
	int n;
};

struct policy {
	struct calendar *cal;
	struct policy_sev sev[SEV_MAX];
	int client[SEV_MAX]; /* enum policy_client */
};

static const char *policy_levels[POLICY_NLEVELS] = { "L1", "L2", "L3",
	"client" };

#define N(l) (1U << (l))

/* The SOP's steps: after, level, notified levels. */
static const struct {
	int sev;
	const char *after;
	int level;
	unsigned notify;
} policy_sop[] = {
	{ SEV_CRITICAL, "0", POLICY_L2, N(POLICY_L2) | N(POLICY_CLIENT) },
	{ SEV_CRITICAL, "1h", POLICY_L3, N(POLICY_L3) | N(POLICY_CLIENT) },
	{ SEV_HIGH, "0", POLICY_L1, N(POLICY_L1) },
	{ SEV_HIGH, "1h", POLICY_L2, N(POLICY_L2) },
	{ SEV_HIGH, "4h", POLICY_L3, N(POLICY_L3) },
	{ SEV_MEDIUM, "0", POLICY_L1, N(POLICY_L1) },
	{ SEV_MEDIUM, "1bd", POLICY_L2, N(POLICY_L2) },
};

/* A level's name, or NULL. */
const char *
policy_level_name(int level)
{
	if (level < 0 || level >= POLICY_NLEVELS)
		return NULL;
	return policy_levels[level];
}

/* A level from its name (case-insensitive), -1 if unknown. */
int
policy_level_from_name(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < POLICY_NLEVELS; i++) {
		if (strcasecmp(name, policy_levels[i]) == 0)
			return i;
	}
	return -1;
}

/* One "<n><unit>" part of a duration; the rest in *end; -1 if bad. */
static int
policy_duration_part(const char *s, const char **end, long long *secs,
    int *business)
{
	static const struct {
		const char *unit;
		long long mul;
		int business;
	} units[] = {
		{ "bd", 0, 1 },
		{ "bh", 3600, 1 },
		{ "bm", 60, 1 },
		{ "d", 86400, 0 },
		{ "h", 3600, 0 },
		{ "m", 60, 0 },
		{ "s", 1, 0 },
		{ "", 1, 0 },
	};
	char *e;
	long long v;
	size_t i, len;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || e == s || v < 0 || v > 100000 || *s == '-' ||
	    *s == '+')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		len = strlen(units[i].unit);
		if (strncmp(e, units[i].unit, len) != 0)
			continue;
		if (len == 0 && *e != '\0')
			return -1;
		*business = units[i].business;
		*secs = units[i].mul == 0 ? -v : v * units[i].mul;
		*end = e + len;
		return 0;
	}
	return -1;
}

/* Parse a duration: wall ("30m", "1h30m") or business ("1bd", "4bh"). */
int
policy_parse_duration(const char *s, long long *secs, long long *bdays,
    int *business)
{
	long long total = 0, days = 0, v;
	int b, seen = -1;
	const char *end;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (policy_duration_part(s, &end, &v, &b) != 0)
			return -1;
		if (seen != -1 && seen != b)
			return -1; /* no mix of wall and business time */
		seen = b;
		if (v < 0)
			days += -v;
		else
			total += v;
		s = end;
	}
	*business = seen;
	*secs = total;
	*bdays = days;
	return 0;
}

/* Fill a severity with the SOP's default steps. */
static void
policy_defaults(struct policy *p, int sev)
{
	struct policy_step *st;
	size_t i;

	p->sev[sev].n = 0;
	for (i = 0; i < sizeof(policy_sop) / sizeof(policy_sop[0]); i++) {
		if (policy_sop[i].sev != sev)
			continue;
		st = &p->sev[sev].steps[p->sev[sev].n++];
		memset(st, 0, sizeof(*st));
		policy_parse_duration(policy_sop[i].after, &st->secs,
		    &st->bdays, &st->business);
		st->level = policy_sop[i].level;
		st->notify = policy_sop[i].notify;
		snprintf(st->text, sizeof(st->text), "%s", policy_sop[i].after);
	}
}

/* The SOP's defaults with a given calendar (taken). */
struct policy *
policy_default(struct calendar *cal)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	int sev;

	p->cal = cal;
	for (sev = 0; sev < SEV_MAX; sev++)
		policy_defaults(p, sev);
	p->client[SEV_HIGH] = POLICY_CLIENT_RESOLVED;
	return p;
}

/* Free a policy and its calendar. */
void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	calendar_free(p->cal);
	free(p);
}

/* The hours: key, a string or a list of strings, all days closed first. */
static void
policy_cal_hours(const char *file, struct calendar *cal, const struct ynode *n,
    struct errlist *errs)
{
	const struct ynode *v;
	char *cause = NULL;
	size_t i, cnt;
	int wd;

	cnt = n->type == YNODE_SEQ ? n->n : 1;
	if (n->type == YNODE_MAP) {
		errlist_add(errs, file, n->line, n->col,
		    "calendar: hours: "
		    "expected \"mon-fri 09:00-18:00\" or a list of such");
		return;
	}
	for (wd = 0; wd < 7; wd++)
		calendar_set_hours(cal, wd, 0, 0);
	for (i = 0; i < cnt; i++) {
		v = n->type == YNODE_SEQ ? n->items[i] : n;
		if (v->type != YNODE_SCALAR ||
		    calendar_set_hours_spec(cal, v->value, &cause) != 0) {
			errlist_add(errs, file, v->line, v->col, "calendar: %s",
			    cause != NULL ? cause : "hours: expected a string");
			free(cause);
			cause = NULL;
		}
	}
}

/* The holidays: key, a list of files relative to the config. */
static void
policy_cal_holidays(const struct config *cfg, struct calendar *cal,
    const struct ynode *n, struct errlist *errs)
{
	char *path;
	size_t i;

	if (n->type != YNODE_SEQ) {
		errlist_add(errs, cfg->file, n->line, n->col,
		    "calendar: holidays: expected a list of files");
		return;
	}
	for (i = 0; i < n->n; i++) {
		if (n->items[i]->type != YNODE_SCALAR) {
			errlist_add(errs, cfg->file, n->items[i]->line,
			    n->items[i]->col,
			    "calendar: holidays: expected "
			    "a file name");
			continue;
		}
		path = config_path(cfg, n->items[i]->value);
		if (calendar_load_holidays(cal, path, errs) != 0)
			errlist_add(errs, cfg->file, n->items[i]->line,
			    n->items[i]->col,
			    "calendar: holidays: cannot "
			    "load %s",
			    path);
		free(path);
	}
}

/* The business_day: key, a duration such as 9h or 7h30m. */
static void
policy_cal_day(const char *file, struct calendar *cal, const struct ynode *n,
    struct errlist *errs)
{
	long long secs, bdays;
	int business;

	if (n->type != YNODE_SCALAR ||
	    policy_parse_duration(n->value, &secs, &bdays, &business) != 0 ||
	    business || secs <= 0 || secs > 86400) {
		errlist_add(errs, file, n->line, n->col,
		    "calendar: "
		    "business_day: expected a duration up to 24h, e.g. 9h");
		return;
	}
	calendar_set_business_day(cal, secs);
}

/* The calendar: section's other keys, once the zone is known. */
static void
policy_cal_keys(const struct config *cfg, struct calendar *cal,
    const struct ynode *sec, struct errlist *errs)
{
	const char *k;
	size_t i;

	for (i = 0; i < sec->n; i++) {
		k = sec->keys[i]->value;
		if (strcmp(k, "hours") == 0)
			policy_cal_hours(cfg->file, cal, sec->items[i], errs);
		else if (strcmp(k, "holidays") == 0)
			policy_cal_holidays(cfg, cal, sec->items[i], errs);
		else if (strcmp(k, "business_day") == 0)
			policy_cal_day(cfg->file, cal, sec->items[i], errs);
		else if (strcmp(k, "timezone") != 0)
			errlist_add(errs, cfg->file, sec->keys[i]->line,
			    sec->keys[i]->col,
			    "calendar: unknown key %s "
			    "(expected timezone, hours, holidays, "
			    "business_day)",
			    k);
	}
}

/* Read a calendar: section (NULL: the defaults); NULL with errors. */
struct calendar *
policy_calendar_load(const struct config *cfg, const struct ynode *sec,
    struct errlist *errs)
{
	struct calendar *cal;
	const struct ynode *tz = NULL;
	char *cause = NULL;
	size_t before = errs->n;

	if (sec != NULL && sec->type != YNODE_MAP) {
		errlist_add(errs, cfg->file, sec->line, sec->col,
		    "calendar: expected a map");
		return NULL;
	}
	if (sec != NULL && (tz = ynode_get(sec, "timezone")) != NULL &&
	    tz->type != YNODE_SCALAR) {
		errlist_add(errs, cfg->file, tz->line, tz->col,
		    "calendar: timezone: expected a name such as Asia/Tokyo");
		return NULL;
	}
	if ((cal = calendar_new(tz != NULL ? tz->value : NULL, &cause)) ==
	    NULL) {
		errlist_add(errs, cfg->file, tz != NULL ? tz->line : sec->line,
		    tz != NULL ? tz->col : sec->col, "calendar: %s", cause);
		free(cause);
		return NULL;
	}
	if (sec != NULL)
		policy_cal_keys(cfg, cal, sec, errs);
	if (errs->n != before) {
		calendar_free(cal);
		return NULL;
	}
	return cal;
}

/* A step's notify: list into a mask. */
static int
policy_step_notify(const char *file, const struct ynode *n, unsigned *mask,
    struct errlist *errs)
{
	const struct ynode *v;
	size_t i, cnt;
	int l;

	*mask = 0;
	cnt = n->type == YNODE_SEQ ? n->n : 1;
	for (i = 0; i < cnt; i++) {
		v = n->type == YNODE_SEQ ? n->items[i] : n;
		if (v->type != YNODE_SCALAR ||
		    (l = policy_level_from_name(v->value)) < 0) {
			errlist_add(errs, file, v->line, v->col,
			    "escalation: "
			    "notify: expected L1, L2, L3 or client");
			return -1;
		}
		*mask |= 1U << l;
	}
	return 0;
}

/* The duration of a step (after: or ack_within:). */
static int
policy_step_after(const char *file, const struct ynode *n,
    struct policy_step *st, struct errlist *errs)
{
	if (n->type != YNODE_SCALAR ||
	    policy_parse_duration(n->value, &st->secs, &st->bdays,
		&st->business) != 0) {
		errlist_add(errs, file, n->line, n->col,
		    "escalation: expected "
		    "a duration such as 0, 30m, 1h, 4h, 1bd or 4bh");
		return -1;
	}
	snprintf(st->text, sizeof(st->text), "%s", n->value);
	return 0;
}

/* One key of a step map. */
static int
policy_step_key(const char *file, const char *k, const struct ynode *v,
    struct policy_step *st, struct errlist *errs)
{
	if (strcmp(k, "after") == 0 || strcmp(k, "ack_within") == 0) {
		st->unless_acked = k[0] == 'a' && k[1] == 'c';
		return policy_step_after(file, v, st, errs);
	}
	if (strcmp(k, "level") == 0) {
		if (v->type != YNODE_SCALAR ||
		    (st->level = policy_level_from_name(v->value)) < 0 ||
		    st->level == POLICY_CLIENT) {
			errlist_add(errs, file, v->line, v->col,
			    "escalation: level: expected L1, L2 or L3");
			return -1;
		}
		return 0;
	}
	if (strcmp(k, "notify") == 0)
		return policy_step_notify(file, v, &st->notify, errs);
	errlist_add(errs, file, v->line, v->col,
	    "escalation: unknown key %s "
	    "(expected after, ack_within, level, notify)",
	    k);
	return -1;
}

/* One step: {after: 1h, level: L3, notify: [L3, client]}. */
static int
policy_step_load(const char *file, const struct ynode *m,
    struct policy_step *st, struct errlist *errs)
{
	size_t i;
	int rc = 0, have_after = 0;

	memset(st, 0, sizeof(*st));
	st->level = -1;
	if (m->type != YNODE_MAP) {
		errlist_add(errs, file, m->line, m->col,
		    "escalation: a step "
		    "is a map such as {after: 1h, level: L3, notify: [L3]}");
		return -1;
	}
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i]->value, "after") == 0 ||
		    strcmp(m->keys[i]->value, "ack_within") == 0)
			have_after++;
		if (policy_step_key(file, m->keys[i]->value, m->items[i], st,
			errs) != 0)
			rc = -1;
	}
	if (rc == 0 && (have_after != 1 || st->level < 0)) {
		errlist_add(errs, file, m->line, m->col,
		    "escalation: a step "
		    "needs a level and one of after or ack_within");
		rc = -1;
	}
	if (rc == 0 && st->notify == 0)
		st->notify = 1U << st->level;
	return rc;
}

/* One severity's list of steps. */
static void
policy_sev_load(const char *file, struct policy_sev *ps, const struct ynode *n,
    struct errlist *errs)
{
	size_t i;

	ps->n = 0;
	if (n->type != YNODE_SEQ) {
		errlist_add(errs, file, n->line, n->col,
		    "escalation: expected a list of steps (or [])");
		return;
	}
	if (n->n > POLICY_MAX_STEPS) {
		errlist_add(errs, file, n->line, n->col,
		    "escalation: at most %d steps", POLICY_MAX_STEPS);
		return;
	}
	for (i = 0; i < n->n; i++) {
		if (policy_step_load(file, n->items[i], &ps->steps[ps->n],
			errs) == 0)
			ps->n++;
	}
}

/* "client: {SEVERITY: steps | resolved | never}" of the escalation: section. */
static void
policy_client_load(const char *file, struct policy *p, const struct ynode *n,
    struct errlist *errs)
{
	static const char *const names[] = { "steps", "resolved", "never" };
	const struct ynode *v;
	size_t i, j;
	int sev;

	if (n->type != YNODE_MAP) {
		errlist_add(errs, file, n->line, n->col,
		    "escalation: client: "
		    "expected a map of severities");
		return;
	}
	for (i = 0; i < n->n; i++) {
		v = n->items[i];
		if ((sev = severity_from_name(n->keys[i]->value)) < 0) {
			errlist_add(errs, file, n->keys[i]->line,
			    n->keys[i]->col,
			    "escalation: client: unknown "
			    "severity %s",
			    n->keys[i]->value);
			continue;
		}
		for (j = 0; v->type == YNODE_SCALAR && j < 3; j++)
			if (strcmp(v->value, names[j]) == 0)
				break;
		if (v->type != YNODE_SCALAR || j == 3) {
			errlist_add(errs, file, v->line, v->col,
			    "escalation: "
			    "client: expected steps, resolved or never");
			continue;
		}
		p->client[sev] = (int)j;
	}
}

/* When the client hears of a severity's incidents. */
int
policy_client(const struct policy *p, int sev)
{
	if (p == NULL || sev < 0 || sev >= SEV_MAX)
		return POLICY_CLIENT_STEPS;
	return p->client[sev];
}

/* The escalation: section: severity -> steps; others keep their default. */
static void
policy_esc_load(const char *file, struct policy *p, const struct ynode *sec,
    struct errlist *errs)
{
	size_t i;
	int sev;

	if (sec->type != YNODE_MAP) {
		errlist_add(errs, file, sec->line, sec->col,
		    "escalation: expected a map of severities");
		return;
	}
	for (i = 0; i < sec->n; i++) {
		if (strcmp(sec->keys[i]->value, "client") == 0) {
			policy_client_load(file, p, sec->items[i], errs);
			continue;
		}
		if ((sev = severity_from_name(sec->keys[i]->value)) < 0) {
			errlist_add(errs, file, sec->keys[i]->line,
			    sec->keys[i]->col,
			    "escalation: unknown severity "
			    "%s (expected critical, high, medium, low, info)",
			    sec->keys[i]->value);
			continue;
		}
		policy_sev_load(file, &p->sev[sev], sec->items[i], errs);
	}
}

/* Read the calendar: and escalation: sections. */
struct policy *
policy_load(const struct config *cfg, struct errlist *errs)
{
	struct calendar *cal;
	struct policy *p;
	char *cause = NULL;
	size_t before = errs->n;

	/* With a broken calendar, still check the steps on the default one. */
	if ((cal = policy_calendar_load(cfg, cfg->sec_calendar, errs)) ==
		NULL &&
	    (cal = calendar_new(NULL, &cause)) == NULL) {
		free(cause);
		return NULL;
	}
	p = policy_default(cal);
	if (cfg->sec_escalation != NULL)
		policy_esc_load(cfg->file, p, cfg->sec_escalation, errs);
	if (errs->n != before) {
		policy_free(p);
		return NULL;
	}
	return p;
}

/* The policy's calendar. */
struct calendar *
policy_calendar(const struct policy *p)
{
	return p->cal;
}

/* How many steps a severity has. */
int
policy_nsteps(const struct policy *p, int sev)
{
	if (p == NULL || sev < 0 || sev >= SEV_MAX)
		return 0;
	return p->sev[sev].n;
}

/* One step, or NULL. */
const struct policy_step *
policy_step(const struct policy *p, int sev, int step)
{
	if (step < 0 || step >= policy_nsteps(p, sev))
		return NULL;
	return &p->sev[sev].steps[step];
}

/* When a step falls due for a clock started at start. */
time_t
policy_due(const struct policy *p, int sev, int step, time_t start)
{
	const struct policy_step *st;
	long long secs;

	if ((st = policy_step(p, sev, step)) == NULL)
		return (time_t)-1;
	if (!st->business)
		return start + (time_t)st->secs;
	secs = st->secs + st->bdays * calendar_business_day_seconds(p->cal);
	if (secs == 0)
		return start;
	return calendar_add_business(p->cal, start, secs);
}

/* Levels notified by the fired steps. */
unsigned
policy_notified(const struct policy *p, int sev, unsigned fired)
{
	unsigned mask = 0;
	int i;

	for (i = 0; i < policy_nsteps(p, sev); i++) {
		if (fired & (1U << i))
			mask |= p->sev[sev].steps[i].notify;
	}
	return mask;
}
