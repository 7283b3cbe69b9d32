/* match.h: the conditions of a rule and the engine that finds which hold. */
#ifndef SOPD_MATCH_H
#define SOPD_MATCH_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "event.h"
#include "rules.h"

/* A set of exact strings and shell globs; empty means "any". */
struct match_strset {
	char **pat;
	unsigned char *glob; /* pat[i] has glob characters */
	size_t n;
	int casefold; /* compare ignoring case (hosts) */
};

/* One varbind test: a varbind under oid whose value is one of values or matches re. */
struct match_vb {
	char *oid; /* numeric prefix */
	char **values;
	size_t nvalues;
	pcre2_code *re;
};

/* Every criterion of a match or clear condition; all present ones must hold. */
struct rule_cond {
	int source; /* -1 any, else enum event_source */
	struct match_strset host;
	struct match_strset program;
	struct match_strset msgid;
	uint32_t facility_mask; /* 0: any */
	uint8_t severity_mask;	/* 0: any */
	char *contains;		/* literal substring of message */
	char *regex;		/* message regex source */
	pcre2_code *re;
	char **capname; /* named captures of re */
	uint32_t *capnum;
	size_t ncap;
	char **trap_oids; /* numeric, any of them */
	size_t ntrap_oids;
	struct match_vb *vbs;
	size_t nvbs;
	struct rule_cond * not ; /* must not hold */
};

struct matcher;

struct rule_cond *match_cond_new(void);
void match_cond_free(struct rule_cond *);
void match_strset_add(struct match_strset *, const char *);
/* Compile a PCRE2 regex with JIT; -1 with a message and offset on error. */
pcre2_code *match_regex(const char *, char *err, size_t errlen, size_t *erroff);
/* Set the message regex of a condition (and its named captures). */
int match_cond_set_regex(struct rule_cond *, const char *, char *err,
    size_t errlen, size_t *erroff);
/* Whether the condition's message regex has a named capture called name. */
int match_cond_has_capture(const struct rule_cond *, const char *name);

/*
 * Build the engine over conditions numbered 0..n-1 (NULL entries never
 * match); lower numbers win. The conditions must outlive the engine.
 */
struct matcher *match_build(struct rule_cond **, size_t n);
void match_free(struct matcher *);
/* The number of the first condition that holds (captures in hit), or -1. */
long match_event(struct matcher *, const struct logevent *, struct rule_hit *);
/* How the conditions were indexed: multi-pattern, fallback regex, generic. */
void match_info(const struct matcher *, size_t *nmulti, size_t *nfallback,
    size_t *ngeneric);
/* How many message regexes it has run (candidates it could not pass over). */
unsigned long long match_regex_runs(const struct matcher *);

#endif
