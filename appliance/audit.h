/* audit.h: the reload audit (SOP 5.2): what each reload changed. */
#ifndef SOPD_AUDIT_H
#define SOPD_AUDIT_H

#include <stddef.h>

#include <jansson.h>

struct config;
struct ruleset;
struct sopd;

/*
 * What a reload changes, from the running config and rules to the new
 * ones: {"rules", "windows", "policies", "targets", "levels"}, each
 * {"added": [names], "removed": [names], "changed": [{"name", "fields"}]}
 * (fields: the keys whose values differ).  Rules are named by name,
 * windows by id, policies by severity, targets and levels by name.
 */
json_t *audit_diff(const struct config *old, const struct ruleset *ors,
    const struct config *cfg, const struct ruleset *rs);
/* One line: "rules: added a; changed b (severity)" or "no changes". */
char *audit_summary(const json_t *diff);
/*
 * Record a successful reload's diff (taken): logged, kept in the store's
 * audit table and told to L1 (a notice of kind "reload"), in one commit.
 */
void audit_record(struct sopd *, json_t *diff);
/* GET /api/v1/audit: the newest records, newest first. */
json_t *audit_list_json(struct sopd *, size_t limit);

#define AUDIT_KEEP 1000 /* records kept in the store */

#endif
