/* rules.h: the rule set: loading YAML rule files and matching events. */
#ifndef SOPD_RULES_H
#define SOPD_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "severity.h"
#include "yamlnode.h"


enum rule_action {
	RULE_INCIDENT = 0, /* open / update / clear an incident */
	RULE_DROP,	   /* silence the event */
	RULE_EXPECT,	   /* "expect:": events that satisfy an expectation */
	RULE_SILENT,	   /* "silent:": hosts that fall silent (no match) */
	RULE_METRIC,	   /* "metric:": a polled metric over a threshold */
};

/* When an expected event is due: "by" each day, business day or week. */
enum rule_every {
	EVERY_DAY = 0,
	EVERY_WEEKDAY, /* working days of the business calendar */
	EVERY_WEEK,
};

#define RULE_MAX_EXPECT_HOSTS 10000

/* An "expect:" rule: each host must send a matching event by a deadline. */
struct rule_expect {
	char **hosts; /* exact names */
	size_t nhosts;
	int by_min;  /* local minutes after midnight */
	int by_wday; /* 0 = Sunday; EVERY_WEEK only */
	enum rule_every every;
	int since_min; /* window start; -1: previous deadline */
	char **failed; /* incident rules whose incidents fail a day */
	size_t nfailed;
};

/* A "silent:" rule: a host heard before and then silent for after seconds. */
struct rule_silent {
	char **hosts; /* globs; NULL with all set */
	size_t nhosts;
	int all;
	long long after; /* seconds */
};

/* Comparisons of a metric rule. */
enum rule_cmp {
	CMP_GT,
	CMP_GE,
	CMP_LT,
	CMP_LE,
	CMP_EQ,
	CMP_NE
};

/*
 * A "metric:" rule: "NAME OP VALUE [for DURATION]" opens an incident per
 * host and instance once the condition held for the duration; it clears
 * when "clear: OP VALUE" holds (hysteresis), else when the condition no
 * longer holds.
 */
struct rule_metric {
	char *name; /* "disk.used_pct" */
	enum rule_cmp op;
	double value;
	long long for_s; /* 0: at once */
	int has_clear;
	enum rule_cmp clear_op;
	double clear_value;
};
/* Whether v OP ref holds. */
int rule_cmp_holds(enum rule_cmp, double v, double ref);

#define RULE_FLAP_CYCLES 5   /* default: more than 5 cycles ... */
#define RULE_FLAP_WITHIN 600 /* ... within 10 minutes is flapping */

struct rule_cond; /* opaque: the conditions of a match or clear */

struct rule {
	char *name; /* unique within the set */
	char *file;
	int line;
	int col;
	enum rule_action action;
	int severity; /* enum sop_severity */
	char *title;  /* template */
	char *key;    /* template; default "{rule}:{host}" */
	char *description;
	unsigned threshold_count;   /* 0: no threshold */
	long long threshold_window; /* seconds */
	struct rule_cond *match;
	struct rule_cond *clear;    /* NULL: no clear condition */
	struct rule_expect *expect; /* RULE_EXPECT */
	struct rule_silent *silent; /* RULE_SILENT */
	unsigned flap_cycles;	    /* 0: no flapping detection */
	long long flap_within;	    /* seconds */
	uint64_t matched;	    /* events taken by match */
	uint64_t cleared;	    /* events taken by clear */
	long long quiet;	    /* seconds; 0: no quiet expiry */
	struct rule_metric *metric; /* RULE_METRIC */
	char *src;		    /* its YAML as JSON text (audit) */
};

#define RULE_MAX_CAPS 16
#define RULE_CAPBUF   4096

/* What matching one event produced. */
struct rule_hit {
	const struct rule *rule;
	int clear; /* 1: the clear condition took it */
	size_t ncap;
	const char *cap_name[RULE_MAX_CAPS];
	const char *cap_value[RULE_MAX_CAPS]; /* into buf */
	char buf[RULE_CAPBUF];
};

struct ruleset;

/*
 * Load every rule file named by the config (files, or directories whose
 * *.yaml / *.yml files are read in name order). NULL with every error in
 * errs as "file:line:col: message".
 */
struct ruleset *ruleset_load(const struct config *, struct errlist *);
void ruleset_free(struct ruleset *);
size_t ruleset_count(const struct ruleset *);
struct rule *ruleset_rule(const struct ruleset *, size_t);

/*
 * Find the rule that takes an event: rules are tried in load order and the
 * first whose match (or clear) condition holds wins. Returns 1 and fills
 * hit, or 0 when no rule takes the event.
 */
int ruleset_match(struct ruleset *, const struct logevent *, struct rule_hit *);

/*
 * Expand a template: {host}, {program}, {pid}, {msgid}, {message},
 * {facility}, {severity}, {peer}, {trap_oid}, {rule}, {NAME} for a named
 * capture, {vb:OID} for the value of the varbind whose OID starts with OID.
 * Returns the length written (output truncated to size-1, always NUL-ended).
 */
size_t rule_render(const char *tmpl, const struct logevent *,
    const struct rule_hit *, char *out, size_t size);

#endif
