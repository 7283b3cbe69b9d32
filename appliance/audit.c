/*
 * audit.c: the reload audit (SOP 5.2).  A reload compares the running
 * configuration and rules with the new ones, section by section, logs
 * what changed, keeps it in the store and tells L1.
 */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "log.h"
#include "notify.h"
#include "rules.h"
#include "store.h"
#include "xmalloc.h"
#include "yamlnode.h"

#define AUDIT_SUMMARY_MAX 1000 /* bytes of the one-line summary */

/* The entries of a map node as an object (an empty one for none). */
static json_t *
audit_map(const struct ynode *m)
{
	json_t *v;

	if (m == NULL || m->type != YNODE_MAP)
		return json_object();
	v = ynode_json(m);
	return v;
}

/* The windows of a windows: section by id (patch and change lists). */
static json_t *
audit_windows(const struct ynode *sec)
{
	static const char *kinds[] = { "patch", "change" };
	const struct ynode *list, *w;
	const char *id;
	json_t *o = json_object();
	char name[64];
	size_t k, i;

	for (k = 0; k < 2; k++) {
		if (sec == NULL || sec->type != YNODE_MAP ||
		    (list = ynode_get(sec, kinds[k])) == NULL ||
		    list->type != YNODE_SEQ)
			continue;
		for (i = 0; i < list->n; i++) {
			w = list->items[i];
			id = w->type == YNODE_MAP ? ynode_str(w, "id") : NULL;
			if (id == NULL) {
				snprintf(name, sizeof(name), "%s[%zu]",
				    kinds[k], i);
				id = name;
			}
			json_object_set_new(o, id, ynode_json(w));
		}
	}
	return o;
}

/* The rules by name, each its YAML as JSON. */
static json_t *
audit_rules(const struct ruleset *rs)
{
	const struct rule *r;
	json_t *o = json_object(), *v;
	size_t i;

	for (i = 0; rs != NULL && i < ruleset_count(rs); i++) {
		r = ruleset_rule(rs, i);
		v = r->src != NULL ? json_loads(r->src, 0, NULL) : NULL;
		json_object_set_new(o, r->name, v != NULL ? v : json_null());
	}
	return o;
}

/* The keys whose values differ between two objects (both orders). */
static json_t *
audit_fields(json_t *a, json_t *b)
{
	const char *k;
	json_t *f = json_array(), *v;

	if (!json_is_object(a) || !json_is_object(b))
		return f;
	json_object_foreach(b, k, v)
	{
		if (!json_equal(v, json_object_get(a, k)))
			json_array_append_new(f, json_string(k));
	}
	json_object_foreach(a, k, v)
	{
		if (json_object_get(b, k) == NULL)
			json_array_append_new(f, json_string(k));
	}
	return f;
}

/* Added, removed and changed entries from a to b (both taken). */
static json_t *
audit_objs(json_t *a, json_t *b)
{
	json_t *add = json_array(), *rem = json_array();
	json_t *chg = json_array(), *v, *old;
	const char *k;

	json_object_foreach(b, k, v)
	{
		if ((old = json_object_get(a, k)) == NULL)
			json_array_append_new(add, json_string(k));
		else if (!json_equal(old, v))
			json_array_append_new(chg,
			    json_pack("{s:s, s:o}", "name", k, "fields",
				audit_fields(old, v)));
	}
	json_object_foreach(a, k, v)
	{
		if (json_object_get(b, k) == NULL)
			json_array_append_new(rem, json_string(k));
	}
	json_decref(a);
	json_decref(b);
	return json_pack("{s:o, s:o, s:o}", "added", add, "removed", rem,
	    "changed", chg);
}

json_t *
audit_diff(const struct config *old, const struct ruleset *ors,
    const struct config *cfg, const struct ruleset *rs)
{
	json_t *d = json_object();

	json_object_set_new(d, "rules",
	    audit_objs(audit_rules(ors), audit_rules(rs)));
	json_object_set_new(d, "windows",
	    audit_objs(audit_windows(old->sec_windows),
		audit_windows(cfg->sec_windows)));
	json_object_set_new(d, "policies",
	    audit_objs(audit_map(old->sec_escalation),
		audit_map(cfg->sec_escalation)));
	json_object_set_new(d, "targets",
	    audit_objs(audit_map(ynode_get(old->sec_notify, "targets")),
		audit_map(ynode_get(cfg->sec_notify, "targets"))));
	json_object_set_new(d, "levels",
	    audit_objs(audit_map(ynode_get(old->sec_notify, "levels")),
		audit_map(ynode_get(cfg->sec_notify, "levels"))));
	return d;
}

/* Append printf output to a bounded buffer. */
static void __attribute__((format(printf, 3, 4)))
audit_put(char *buf, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= AUDIT_SUMMARY_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, AUDIT_SUMMARY_MAX + 1 - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
	if (*used > AUDIT_SUMMARY_MAX)
		*used = AUDIT_SUMMARY_MAX;
}

/* A list of names, comma-separated. */
static void
audit_names(char *buf, size_t *used, json_t *list)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v) audit_put(buf, used, "%s%s",
	    i > 0 ? ", " : "", json_string_value(v));
}

/* "rules: what " for a section's first part, else "; what ". */
static void
audit_head(char *buf, size_t *used, const char *sec, int parts,
    const char *what)
{
	if (parts)
		audit_put(buf, used, "; %s ", what);
	else
		audit_put(buf, used, "%s%s: %s ", *used ? " " : "", sec, what);
}

/*
 * One line, section by section: "rules: added a, b; removed c; changed d
 * (severity, match). targets: added pager." or "no changes".
 */
char *
audit_summary(const json_t *diff)
{
	static const char *secs[] = { "rules", "windows", "policies", "targets",
		"levels" };
	json_t *s, *l, *c;
	char buf[AUDIT_SUMMARY_MAX + 1] = "";
	size_t used = 0, k, i;
	int parts;

	for (k = 0; k < sizeof(secs) / sizeof(secs[0]); k++) {
		s = json_object_get(diff, secs[k]);
		parts = 0;
		if (json_array_size(l = json_object_get(s, "added")) > 0) {
			audit_head(buf, &used, secs[k], parts, "added");
			audit_names(buf, &used, l);
			parts++;
		}
		if (json_array_size(l = json_object_get(s, "removed")) > 0) {
			audit_head(buf, &used, secs[k], parts, "removed");
			audit_names(buf, &used, l);
			parts++;
		}
		l = json_object_get(s, "changed");
		json_array_foreach(l, i, c)
		{
			if (i == 0)
				audit_head(buf, &used, secs[k], parts,
				    "changed");
			audit_put(buf, &used, "%s%s", i > 0 ? ", " : "",
			    json_string_value(json_object_get(c, "name")));
			if (json_array_size(json_object_get(c, "fields")) > 0) {
				audit_put(buf, &used, " (");
				audit_names(buf, &used,
				    json_object_get(c, "fields"));
				audit_put(buf, &used, ")");
			}
			parts++;
		}
		if (parts)
			audit_put(buf, &used, ".");
	}
	l = json_object_get(diff, "restart_needed");
	if (json_array_size(l) > 0) {
		audit_put(buf, &used,
		    "%sneeds a restart (not applied): ", used ? " " : "");
		audit_names(buf, &used, l);
		audit_put(buf, &used, ".");
	}
	return xstrdup(used > 0 ? buf : "no changes");
}

/* Record a reload: log it, keep it and tell L1, in one commit. */
void
audit_record(struct sopd *sd, json_t *diff)
{
	struct incident_info ii;
	struct notice n;
	struct store_audit a;
	struct store *st;
	char *summary, *doc, title[96], idem[96];
	int64_t now = (int64_t)clock_now();

	summary = audit_summary(diff);
	log_info("reload audit: generation %u: %s", sd->generation, summary);
	doc = json_dumps(diff, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(diff);
	st = sd->incidents != NULL ? incidents_store(sd->incidents) : NULL;
	if (st == NULL || doc == NULL)
		goto done;
	memset(&a, 0, sizeof(a));
	a.at = now;
	a.generation = sd->generation;
	a.summary = summary;
	a.doc = doc;
	memset(&ii, 0, sizeof(ii));
	snprintf(title, sizeof(title), "configuration reloaded: generation %u",
	    sd->generation);
	ii.severity = SEV_INFO;
	ii.state = INC_OPEN;
	ii.level = "L1";
	ii.host = "sopd";
	ii.rule = "reload";
	ii.title = title;
	ii.key = "reload";
	snprintf(idem, sizeof(idem), "reload-%lld-%u", (long long)now,
	    sd->generation);
	memset(&n, 0, sizeof(n));
	n.kind = NOTICE_RELOAD;
	n.inc = &ii;
	n.step = -1;
	n.level = "L1";
	n.at_us = clock_now_us();
	n.note = summary;
	n.idem = idem;
	if (store_begin(st) == -1 || store_put_audit(st, &a, AUDIT_KEEP) ||
	    notify_stage(sd->notifier, "L1", &n) == -1 ||
	    store_commit(st) == -1) {
		log_warnx("reload audit: not recorded: %s", store_error(st));
		store_rollback(st);
		notify_unstage(sd->notifier);
	} else
		notify_commit(sd->notifier);
done:
	free(doc);
	free(summary);
}

/* One audit row as JSON. */
static int
audit_row_cb(const struct store_audit *a, void *arg)
{
	json_t *changes;
	char at[32];
	struct tm tm;
	time_t t = (time_t)a->at;

	changes = a->doc != NULL ? json_loads(a->doc, 0, NULL) : NULL;
	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_array_append_new(arg,
	    json_pack("{s:I, s:s, s:I, s:s, s:o}", "id", (json_int_t)a->id,
		"at", at, "generation", (json_int_t)a->generation, "summary",
		a->summary != NULL ? a->summary : "", "changes",
		changes != NULL ? changes : json_object()));
	return 0;
}

json_t *
audit_list_json(struct sopd *sd, size_t limit)
{
	json_t *list = json_array();

	if (sd->incidents != NULL)
		store_load_audit(incidents_store(sd->incidents), limit,
		    audit_row_cb, list);
	return json_pack("{s:o}", "audit", list);
}
