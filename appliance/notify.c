/* notify.c: notifications out: targets, levels, queues, retries and counters. */

/*
 * The notify: section of the config:
 *
 *   notify:
 *     queue_size: 256                  # per target; the oldest waiting goes
 *     retry: { max_attempts: 8, initial: 1s, max: 5m }
 *     targets:
 *       nms:    { type: snmp-trap, address: 127.0.0.1:162, community: public }
 *       inform: { type: snmp-inform, address: 127.0.0.1:162, retries: 5,
 *                 timeout: 2s }
 *       col:    { type: syslog, transport: udp|tcp|relp,
 *                 address: 127.0.0.1:514, app_name: sopd, facility: daemon }
 *       pager:  { type: exec, command: /usr/local/bin/page, args: [...],
 *                 timeout: 10s }
 *       client: { type: webhook, url: http://127.0.0.1:9000/hook, timeout: 5s }
 *     levels:
 *       L1: [col]
 *       L2: [col, nms]
 *
 * Every target takes max_attempts too. A notice goes to the targets of its
 * level; each target delivers its queue in order, one at a time, so an
 * "opened" always reaches a target before the "resolved" of that incident.
 * A failed delivery is retried after initial, 2 x initial, ... up to max,
 * until max_attempts; then it is counted as failed and the next one goes.
 * Delivery is at least once: each notice carries an idempotency key
 * ("<id>-<kind>[-<step>]") that a receiver uses to drop duplicates.
 *
 * With a store (the daemon's), every queued notice is also a row of its
 * outbox (notify_outbox.c), written in the transaction that records what
 * it tells (notify_stage, then notify_commit after the commit), so the
 * notices pending at a crash or restart are delivered after it.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>

#include "agent.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "incident.h"
#include "event.h"
#include "log.h"
#include "notify.h"
#include "notify_int.h"
#include "rules.h"
#include "store.h"
#include "xmalloc.h"

#define NOTIFY_QUEUE_DEFAULT	256
#define NOTIFY_QUEUE_MAX	100000
#define NOTIFY_ATTEMPTS_DEFAULT 8
#define NOTIFY_BACKOFF_INITIAL	1
#define NOTIFY_BACKOFF_MAX	300
#define NOTIFY_MAX_TARGETS	64
#define NOTIFY_MAX_ARGS		32

/* The targets a level's notices go to. */
struct notify_level {
	char *name;
	char **targets;
	size_t n;
};

/* The notify: section, parsed. */
struct notify_conf {
	struct notify_tconf *targets;
	size_t ntargets;
	struct notify_level *levels;
	size_t nlevels;
	long long queue_size;
	long long max_attempts;
	long long backoff_initial;
	long long backoff_max;
};

/* A notice written to the outbox, queued once its transaction commits. */
struct notify_staged {
	struct notify_staged *next;
	char target[NOTIFY_NAME_MAX + 1];
	struct notify_msg *msg;
};

struct notifier {
	struct sopd *sd;
	struct event_base *base;
	struct notify_conf conf;
	struct notify_target **targets; /* current, then retired ones */
	size_t ntargets;
	struct notify_outbox *ob; /* NULL: memory only */
	struct notify_staged *staged;
	struct notify_staged **stail;
	uint64_t restored; /* pending rows taken at start */
	/* A recording notifier: committed notices go to sink, nobody else. */
	notify_sink_cb sink;
	void *sink_arg;
	struct notify_sunk *sunk;
	struct notify_sunk **sunk_tail;
	char *public_url; /* http: public_url, or NULL */
};

/* A notice staged for a recording notifier's sink. */
struct notify_sunk {
	struct notify_sunk *next;
	enum notice_kind kind;
	int step;
	uint64_t id;
	char level[]; /* in the same block */
};

static const struct {
	const char *name;
	enum notify_type type;
	const char *keys; /* allowed keys besides type */
} notify_types[] = {
	{ "snmp-trap", NOTIFY_SNMP_TRAP,
	    " address community max_attempts "
	    "user auth auth_pass priv priv_pass level " },
	{ "snmp-inform", NOTIFY_SNMP_INFORM,
	    " address community retries timeout max_attempts "
	    "user auth auth_pass priv priv_pass level " },
	{ "syslog", NOTIFY_SYSLOG,
	    " transport address app_name facility timeout max_attempts " },
	{ "exec", NOTIFY_EXEC, " command args timeout max_attempts " },
	{ "webhook", NOTIFY_WEBHOOK, " url timeout max_attempts " },
};

/* Name of a notice kind, as used in keys, syslog and JSON. */
const char *
notify_kind_name(enum notice_kind k)
{
	static const char *names[] = { "opened", "escalated", "acknowledged",
		"resolved", "window", "change", "report", "reminder",
		"reload" };

	if ((int)k < 0 || k >= NOTICE_MAX)
		return "unknown";
	return names[k];
}

/* Name of the SOP-APPLIANCE-MIB notification of a notice kind. */
const char *
notify_notif_name(enum notice_kind k)
{
	static const char *names[] = { "sopIncidentOpened",
		"sopIncidentEscalated", "sopIncidentAcknowledged",
		"sopIncidentResolved", "sopWindowEnded", "sopChangeUpdated",
		"sopReport", "sopIncidentReminder", "sopConfigReloaded" };

	if ((int)k < 0 || k >= NOTICE_MAX)
		return "sopIncidentOpened";
	return names[k];
}

/* The kinds with a notification in the MIB (the others: no SNMP, no log). */
int
notify_in_mib(enum notice_kind k)
{
	return k < NOTICE_WINDOW || k == NOTICE_REMINDER || k == NOTICE_RELOAD;
}

/* The idempotency key: the same notice always gets the same key. */
void
notify_key(uint64_t id, enum notice_kind k, int step, char *buf, size_t len)
{
	if (step >= 0)
		snprintf(buf, len, "%llu-%s-%d", (unsigned long long)id,
		    notify_kind_name(k), step);
	else
		snprintf(buf, len, "%llu-%s", (unsigned long long)id,
		    notify_kind_name(k));
}

/* Exponential backoff: initial after the first failure, doubling, capped. */
long long
notify_backoff(long long initial, long long max, int attempt)
{
	long long d = initial < 1 ? 1 : initial;
	int i;

	for (i = 1; i < attempt && d < max; i++)
		d *= 2;
	return d > max ? max : d;
}

/* RFC 3339 in UTC with milliseconds; empty for "no time". */
void
notify_time(int64_t us, char *buf, size_t len)
{
	struct tm tm;
	time_t t;
	char tmp[32];

	if (us <= 0) {
		buf[0] = '\0';
		return;
	}
	t = (time_t)(us / 1000000);
	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", tmp, (int)((us / 1000) % 1000));
}

/* A time as a JSON string, or null. */
static json_t *
notify_json_time(int64_t us)
{
	char buf[40];

	if (us <= 0)
		return json_null();
	notify_time(us, buf, sizeof(buf));
	return json_string(buf);
}

/* A string member, null when empty. */
static void
notify_json_str(json_t *o, const char *name, const char *s)
{
	json_object_set_new(o, name,
	    s != NULL && *s != '\0' ? json_string(s) : json_null());
}

/* The notice as a JSON document (webhook body). */
json_t *
notify_json(const struct notify_msg *m)
{
	json_t *inc, *o;

	inc = json_pack("{s:I s:s s:s s:s s:s s:s s:s s:s s:I}", "id",
	    (json_int_t)m->id, "severity", severity_name(m->severity), "state",
	    incident_state_name(m->state), "level", m->inc_level, "host",
	    m->host, "rule", m->rule, "title", m->title, "key", m->key, "count",
	    (json_int_t)m->count);
	json_object_set_new(inc, "first_seen",
	    notify_json_time(m->first_seen_us));
	json_object_set_new(inc, "last_seen",
	    notify_json_time(m->last_seen_us));
	json_object_set_new(inc, "next_escalation",
	    notify_json_time(m->next_escalation_us));
	json_object_set_new(inc, "in_window",
	    m->in_window[0] != '\0' ? json_string(m->in_window) : json_null());
	json_object_set_new(inc, "owner",
	    m->owner != NULL && m->owner[0] != '\0' ? json_string(m->owner) :
						      json_null());
	notify_json_str(inc, "impact", m->impact);
	notify_json_str(inc, "workaround", m->workaround);
	json_object_set_new(inc, "eta", notify_json_time(m->eta_us));
	notify_json_str(inc, "last_note", m->last_note);
	notify_json_str(inc, "last_event", m->last_event);
	notify_json_str(inc, "link", m->link);
	o = json_pack("{s:s s:s s:s s:s s:o s:o s:o}", "idempotency_key",
	    m->idem, "kind", notify_kind_name(m->kind), "notification",
	    notify_notif_name(m->kind), "level", m->level, "step",
	    m->step >= 0 ? json_integer(m->step) : json_null(), "at",
	    notify_json_time(m->at_us), "note",
	    m->note != NULL ? json_string(m->note) : json_null());
	json_object_set_new(o, "incident", inc);
	return o;
}

/* One line for people: what happened to which incident. */
char *
notify_summary(const struct notify_msg *m)
{
	char *s;

	if (m->kind == NOTICE_REPORT)
		return xstrdup(m->title);
	if (m->kind == NOTICE_WINDOW || m->kind == NOTICE_CHANGE ||
	    m->kind == NOTICE_RELOAD) {
		xasprintf(&s, "%s (%s) [%s]%s%s", m->title, m->level, m->host,
		    m->note != NULL ? ": " : "",
		    m->note != NULL ? m->note : "");
		return s;
	}
	xasprintf(&s, "incident %llu %s (%s, %s): %s [host %s]%s%s",
	    (unsigned long long)m->id, notify_kind_name(m->kind),
	    severity_name(m->severity), m->level, m->title, m->host,
	    m->note != NULL ? ": " : "", m->note != NULL ? m->note : "");
	return s;
}

/* Add an error at a node (or at the section when the node is missing). */
#define NOTIFY_ERR(errs, file, node, ...) \
	errlist_add((errs), (file), (node)->line, (node)->col, __VA_ARGS__)

/* Free a parsed target. */
static void
notify_tconf_free(struct notify_tconf *c)
{
	size_t i;

	free(c->name);
	free(c->address);
	free(c->community);
	free(c->app_name);
	free(c->command);
	for (i = 0; i < c->nargs; i++)
		free(c->args[i]);
	free(c->args);
	free(c->url);
	free(c->user);
	free(c->auth);
	if (c->auth_pass != NULL)
		explicit_bzero(c->auth_pass, strlen(c->auth_pass));
	free(c->auth_pass);
	free(c->priv);
	if (c->priv_pass != NULL)
		explicit_bzero(c->priv_pass, strlen(c->priv_pass));
	free(c->priv_pass);
	memset(c, 0, sizeof(*c));
}

/* Free a parsed section. */
static void
notify_conf_free(struct notify_conf *nc)
{
	size_t i, j;

	for (i = 0; i < nc->ntargets; i++)
		notify_tconf_free(&nc->targets[i]);
	free(nc->targets);
	for (i = 0; i < nc->nlevels; i++) {
		for (j = 0; j < nc->levels[i].n; j++)
			free(nc->levels[i].targets[j]);
		free(nc->levels[i].targets);
		free(nc->levels[i].name);
	}
	free(nc->levels);
	memset(nc, 0, sizeof(*nc));
}

/* A scalar's text, or an error naming what was expected. */
static const char *
notify_scalar(const struct ynode *v, const char *file, const char *what,
    struct errlist *errs)
{
	if (v->type != YNODE_SCALAR || v->value == NULL ||
	    v->value[0] == '\0') {
		NOTIFY_ERR(errs, file, v,
		    "notify: %s must be a non-empty "
		    "string",
		    what);
		return NULL;
	}
	return v->value;
}

/* An address "host:port". */
static void
notify_parse_address(const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	const char *s;
	char host[256], port[16];

	if ((s = notify_scalar(v, file, "address", errs)) == NULL)
		return;
	if (config_split_addr(s, host, sizeof(host), port, sizeof(port)) ==
		-1 ||
	    atoi(port) == 0) {
		NOTIFY_ERR(errs, file, v,
		    "notify: expected an address as "
		    "host:port, not \"%s\"",
		    s);
		return;
	}
	c->address = xstrdup(s);
}

/* Syslog's transport: udp, tcp or relp. */
static void
notify_parse_transport(const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	const char *s;

	if ((s = notify_scalar(v, file, "transport", errs)) == NULL)
		return;
	if (strcmp(s, "udp") == 0)
		c->proto = NOTIFY_UDP;
	else if (strcmp(s, "tcp") == 0)
		c->proto = NOTIFY_TCP;
	else if (strcmp(s, "relp") == 0)
		c->proto = NOTIFY_RELP;
	else
		NOTIFY_ERR(errs, file, v,
		    "notify: unknown syslog transport "
		    "\"%s\" (udp, tcp or relp)",
		    s);
}

/* Syslog facility by name. */
static void
notify_parse_facility(const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	const char *s;
	int fac;

	if ((s = notify_scalar(v, file, "facility", errs)) == NULL)
		return;
	if ((fac = event_facility_from_name(s)) != -1) {
		c->facility = fac;
		return;
	}
	NOTIFY_ERR(errs, file, v, "notify: unknown syslog facility \"%s\"", s);
}

/* Exec's command (absolute path). */
static void
notify_parse_command(const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	const char *s;

	if ((s = notify_scalar(v, file, "command", errs)) == NULL)
		return;
	if (s[0] != '/') {
		NOTIFY_ERR(errs, file, v,
		    "notify: command must be an absolute "
		    "path, not \"%s\"",
		    s);
		return;
	}
	c->command = xstrdup(s);
}

/* Exec's arguments: a list of strings. */
static void
notify_parse_args(const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	size_t i;

	if (v->type != YNODE_SEQ || v->n > NOTIFY_MAX_ARGS) {
		NOTIFY_ERR(errs, file, v,
		    "notify: args must be a list of at "
		    "most %d strings",
		    NOTIFY_MAX_ARGS);
		return;
	}
	c->args = xcalloc(v->n, sizeof(*c->args));
	for (i = 0; i < v->n; i++) {
		if (v->items[i]->type != YNODE_SCALAR) {
			NOTIFY_ERR(errs, file, v->items[i],
			    "notify: args must "
			    "be strings");
			continue;
		}
		c->args[c->nargs++] = xstrdup(v->items[i]->value);
	}
}

/* Webhook's URL: http://host[:port]/path. */
static void
notify_parse_url(const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	struct evhttp_uri *u;
	const char *s, *scheme;

	if ((s = notify_scalar(v, file, "url", errs)) == NULL)
		return;
	u = evhttp_uri_parse(s);
	scheme = u != NULL ? evhttp_uri_get_scheme(u) : NULL;
	if (u == NULL || scheme == NULL || strcmp(scheme, "http") != 0 ||
	    evhttp_uri_get_host(u) == NULL || evhttp_uri_get_host(u)[0] == '\0')
		NOTIFY_ERR(errs, file, v,
		    "notify: url must be http://host"
		    "[:port]/path, not \"%s\"",
		    s);
	else
		c->url = xstrdup(s);
	if (u != NULL)
		evhttp_uri_free(u);
}

/* A value among choices, copied; NULL with an error. */
static char *
notify_parse_choice(const struct ynode *v, const char *file, const char *what,
    const char *const *choices, struct errlist *errs)
{
	const char *s;
	size_t i;

	if ((s = notify_scalar(v, file, what, errs)) == NULL)
		return NULL;
	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(s, choices[i]) == 0)
			return xstrdup(s);
	NOTIFY_ERR(errs, file, v,
	    "notify: %s \"%s\" is not one of the "
	    "choices (%s%s%s%s)",
	    what, s, choices[0], choices[1] ? ", " : "",
	    choices[1] ? choices[1] : "", choices[2] ? ", ..." : "");
	return NULL;
}

/* An SNMPv3 pass phrase: 8 to 128 printable characters. */
static char *
notify_parse_pass(const struct ynode *v, const char *file, const char *what,
    struct errlist *errs)
{
	const char *s;
	size_t len;

	if ((s = notify_scalar(v, file, what, errs)) == NULL)
		return NULL;
	len = strlen(s);
	if (len < 8 || len > 128) {
		NOTIFY_ERR(errs, file, v,
		    "notify: %s must be 8 to 128 "
		    "characters",
		    what);
		return NULL;
	}
	return xstrdup(s);
}

/* The SNMPv3 keys of an snmp-trap or snmp-inform target. */
static int
notify_parse_v3_key(const char *k, const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	static const char *const auths[] = { "SHA", "SHA-256", "SHA-512", "MD5",
		NULL };
	static const char *const privs[] = { "AES", "AES-256", "DES", NULL };
	static const char *const levels[] = { "authpriv", "authnopriv", NULL };
	char *s;

	if (strcmp(k, "user") == 0) {
		if (notify_scalar(v, file, "user", errs) != NULL) {
			free(c->user);
			c->user = xstrndup(v->value, 32);
		}
	} else if (strcmp(k, "auth") == 0) {
		free(c->auth);
		c->auth = notify_parse_choice(v, file, "auth", auths, errs);
	} else if (strcmp(k, "auth_pass") == 0) {
		free(c->auth_pass);
		c->auth_pass = notify_parse_pass(v, file, "auth_pass", errs);
	} else if (strcmp(k, "priv") == 0) {
		free(c->priv);
		c->priv = notify_parse_choice(v, file, "priv", privs, errs);
	} else if (strcmp(k, "priv_pass") == 0) {
		free(c->priv_pass);
		c->priv_pass = notify_parse_pass(v, file, "priv_pass", errs);
	} else if (strcmp(k, "level") == 0) {
		if ((s = notify_parse_choice(v, file, "level", levels, errs)) !=
		    NULL)
			c->authpriv = strcmp(s, "authpriv") == 0 ? 1 : 0;
		free(s);
	} else
		return 0;
	return 1;
}

/* One key of a target. */
static void
notify_parse_key(const char *k, const struct ynode *v, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	if (strcmp(k, "address") == 0)
		notify_parse_address(v, file, c, errs);
	else if (strcmp(k, "community") == 0) {
		if (notify_scalar(v, file, "community", errs) != NULL)
			c->community = xstrdup(v->value);
	} else if (strcmp(k, "retries") == 0)
		ynode_int(v, file, 0, 20, &c->retries, errs);
	else if (strcmp(k, "timeout") == 0) {
		if (ynode_duration(v, file, &c->timeout, errs) == 0 &&
		    (c->timeout < 1 || c->timeout > 3600))
			NOTIFY_ERR(errs, file, v,
			    "notify: timeout must be "
			    "between 1s and 1h");
	} else if (strcmp(k, "transport") == 0)
		notify_parse_transport(v, file, c, errs);
	else if (strcmp(k, "app_name") == 0) {
		if (notify_scalar(v, file, "app_name", errs) != NULL)
			c->app_name = xstrndup(v->value, 48);
	} else if (strcmp(k, "facility") == 0)
		notify_parse_facility(v, file, c, errs);
	else if (strcmp(k, "command") == 0)
		notify_parse_command(v, file, c, errs);
	else if (strcmp(k, "args") == 0)
		notify_parse_args(v, file, c, errs);
	else if (strcmp(k, "url") == 0)
		notify_parse_url(v, file, c, errs);
	else if (strcmp(k, "max_attempts") == 0)
		ynode_int(v, file, 1, 1000, &c->max_attempts, errs);
	else
		notify_parse_v3_key(k, v, file, c, errs);
}

/* The type of a target; -1 with an error. */
static int
notify_parse_type(const struct ynode *t, const char *file, const char *name,
    struct errlist *errs)
{
	const struct ynode *v;
	size_t i;

	if ((v = ynode_get(t, "type")) == NULL) {
		NOTIFY_ERR(errs, file, t, "notify: target %s has no type",
		    name);
		return -1;
	}
	for (i = 0; i < sizeof(notify_types) / sizeof(*notify_types); i++) {
		if (v->type == YNODE_SCALAR &&
		    strcmp(v->value, notify_types[i].name) == 0)
			return (int)i;
	}
	NOTIFY_ERR(errs, file, v,
	    "notify: target %s: unknown type \"%s\" "
	    "(snmp-trap, snmp-inform, syslog, exec or webhook)",
	    name, v->type == YNODE_SCALAR ? v->value : "?");
	return -1;
}

/*
 * An SNMPv3 target: a user with an auth_pass, and a priv_pass unless
 * level is authnopriv (authpriv by default, SHA and AES by default).
 */
static void
notify_tconf_v3(const struct ynode *t, const char *file, struct notify_tconf *c,
    struct errlist *errs)
{
	if (c->user == NULL) {
		if (ynode_get(t, "auth_pass") != NULL ||
		    ynode_get(t, "priv_pass") != NULL)
			NOTIFY_ERR(errs, file, t,
			    "notify: target %s: "
			    "auth_pass and priv_pass need a user",
			    c->name);
		return;
	}
	if (ynode_get(t, "level") == NULL)
		c->authpriv = 1;
	if (c->auth_pass == NULL && ynode_get(t, "auth_pass") == NULL)
		NOTIFY_ERR(errs, file, t,
		    "notify: target %s: user %s needs "
		    "an auth_pass",
		    c->name, c->user);
	if (c->authpriv && c->priv_pass == NULL &&
	    ynode_get(t, "priv_pass") == NULL)
		NOTIFY_ERR(errs, file, t,
		    "notify: target %s: user %s with "
		    "level authpriv needs a priv_pass",
		    c->name, c->user);
	if (c->auth == NULL)
		c->auth = xstrdup("SHA");
	if (c->authpriv && c->priv == NULL)
		c->priv = xstrdup("AES");
}

/* Required keys and defaults of a target, by type. */
static void
notify_tconf_finish(const struct ynode *t, const char *file,
    struct notify_tconf *c, struct errlist *errs)
{
	const char *need = NULL;

	switch (c->type) {
	case NOTIFY_SNMP_TRAP:
	case NOTIFY_SNMP_INFORM:
	case NOTIFY_SYSLOG:
		if (c->address == NULL && ynode_get(t, "address") == NULL)
			need = "address";
		break;
	case NOTIFY_EXEC:
		if (c->command == NULL && ynode_get(t, "command") == NULL)
			need = "command";
		break;
	case NOTIFY_WEBHOOK:
		if (c->url == NULL && ynode_get(t, "url") == NULL)
			need = "url";
		break;
	}
	if (need != NULL)
		NOTIFY_ERR(errs, file, t, "notify: target %s needs %s", c->name,
		    need);
	notify_tconf_v3(t, file, c, errs);
	if (c->community == NULL)
		c->community = xstrdup("public");
	if (c->app_name == NULL)
		c->app_name = xstrdup("sopd");
	if (c->timeout == 0)
		c->timeout = c->type == NOTIFY_EXEC ? 10 :
		    c->type == NOTIFY_SNMP_INFORM   ? 2 :
						      5;
}

/* Names (of targets, in metrics labels) are plain: [A-Za-z0-9_.-]{1,64}. */
static int
notify_valid_name(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= NOTIFY_NAME_MAX &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

/* One target: name: { type: ..., ... }. */
static void
notify_parse_target(const struct ynode *kn, const struct ynode *t,
    const char *file, struct notify_tconf *c, struct errlist *errs)
{
	size_t i;
	int ti;
	char pat[40];

	memset(c, 0, sizeof(*c));
	c->name = xstrdup(kn->value);
	c->retries = 5;
	c->facility = 3; /* daemon */
	if (!notify_valid_name(c->name))
		NOTIFY_ERR(errs, file, kn,
		    "notify: target name \"%s\" must be "
		    "1 to 64 letters, digits, '_', '-' or '.'",
		    c->name);
	if (t->type != YNODE_MAP) {
		NOTIFY_ERR(errs, file, t, "notify: target %s must be a map",
		    c->name);
		return;
	}
	if ((ti = notify_parse_type(t, file, c->name, errs)) == -1)
		return;
	c->type = notify_types[ti].type;
	for (i = 0; i < t->n; i++) {
		const char *k = t->keys[i]->value;

		if (strcmp(k, "type") == 0)
			continue;
		snprintf(pat, sizeof(pat), " %s ", k);
		if (strlen(k) > 30 ||
		    strstr(notify_types[ti].keys, pat) == NULL) {
			NOTIFY_ERR(errs, file, t->keys[i],
			    "notify: target %s: "
			    "unknown key \"%s\" for type %s",
			    c->name, k, notify_types[ti].name);
			continue;
		}
		notify_parse_key(k, t->items[i], file, c, errs);
	}
	notify_tconf_finish(t, file, c, errs);
}

/* targets: { name: {...}, ... }. */
static void
notify_parse_targets(const struct ynode *v, const char *file,
    struct notify_conf *nc, struct errlist *errs)
{
	size_t i;

	if (v->type != YNODE_MAP || v->n > NOTIFY_MAX_TARGETS) {
		NOTIFY_ERR(errs, file, v,
		    "notify: targets must be a map of at "
		    "most %d targets",
		    NOTIFY_MAX_TARGETS);
		return;
	}
	nc->targets = xcalloc(v->n, sizeof(*nc->targets));
	for (i = 0; i < v->n; i++)
		notify_parse_target(v->keys[i], v->items[i], file,
		    &nc->targets[nc->ntargets++], errs);
}

/* The index of a target by name, or -1. */
static int
notify_conf_target(const struct notify_conf *nc, const char *name)
{
	size_t i;

	for (i = 0; i < nc->ntargets; i++) {
		if (strcmp(nc->targets[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* One level: name: [target, ...]. */
static void
notify_parse_level(const struct ynode *kn, const struct ynode *v,
    const char *file, struct notify_conf *nc, struct errlist *errs)
{
	struct notify_level *l = &nc->levels[nc->nlevels++];
	const struct ynode *it;
	size_t i;

	l->name = xstrdup(kn->value);
	if (v->type != YNODE_SEQ) {
		NOTIFY_ERR(errs, file, v,
		    "notify: level %s must be a list of "
		    "targets",
		    l->name);
		return;
	}
	l->targets = xcalloc(v->n + 1, sizeof(*l->targets));
	for (i = 0; i < v->n; i++) {
		it = v->items[i];
		if (it->type != YNODE_SCALAR) {
			NOTIFY_ERR(errs, file, it,
			    "notify: level %s: expected a "
			    "target name",
			    l->name);
			continue;
		}
		if (notify_conf_target(nc, it->value) == -1) {
			NOTIFY_ERR(errs, file, it,
			    "notify: level %s: unknown "
			    "target \"%s\"",
			    l->name, it->value);
			continue;
		}
		l->targets[l->n++] = xstrdup(it->value);
	}
}

/* levels: { L1: [...], ... }. */
static void
notify_parse_levels(const struct ynode *v, const char *file,
    struct notify_conf *nc, struct errlist *errs)
{
	size_t i;

	if (v->type != YNODE_MAP) {
		NOTIFY_ERR(errs, file, v,
		    "notify: levels must be a map of "
		    "level: [targets]");
		return;
	}
	nc->levels = xcalloc(v->n + 1, sizeof(*nc->levels));
	for (i = 0; i < v->n; i++)
		notify_parse_level(v->keys[i], v->items[i], file, nc, errs);
}

/* retry: { max_attempts, initial, max }. */
static void
notify_parse_retry(const struct ynode *v, const char *file,
    struct notify_conf *nc, struct errlist *errs)
{
	size_t i;
	const char *k;

	if (v->type != YNODE_MAP) {
		NOTIFY_ERR(errs, file, v, "notify: retry must be a map");
		return;
	}
	for (i = 0; i < v->n; i++) {
		k = v->keys[i]->value;
		if (strcmp(k, "max_attempts") == 0)
			ynode_int(v->items[i], file, 1, 1000, &nc->max_attempts,
			    errs);
		else if (strcmp(k, "initial") == 0)
			ynode_duration(v->items[i], file, &nc->backoff_initial,
			    errs);
		else if (strcmp(k, "max") == 0)
			ynode_duration(v->items[i], file, &nc->backoff_max,
			    errs);
		else
			NOTIFY_ERR(errs, file, v->keys[i],
			    "notify: retry: "
			    "unknown key \"%s\"",
			    k);
	}
	if (nc->backoff_initial < 1 || nc->backoff_max < nc->backoff_initial)
		NOTIFY_ERR(errs, file, v,
		    "notify: retry: need 1s <= initial "
		    "<= max");
}

/* Parse the notify: section (NULL: none); every error into errs. */
static void
notify_conf_parse(const struct ynode *sec, const char *file,
    struct notify_conf *nc, struct errlist *errs)
{
	const struct ynode *targets = NULL, *levels = NULL;
	size_t i;
	const char *k;

	memset(nc, 0, sizeof(*nc));
	nc->queue_size = NOTIFY_QUEUE_DEFAULT;
	nc->max_attempts = NOTIFY_ATTEMPTS_DEFAULT;
	nc->backoff_initial = NOTIFY_BACKOFF_INITIAL;
	nc->backoff_max = NOTIFY_BACKOFF_MAX;
	if (sec == NULL)
		return;
	if (sec->type != YNODE_MAP) {
		NOTIFY_ERR(errs, file, sec, "notify must be a map");
		return;
	}
	for (i = 0; i < sec->n; i++) {
		k = sec->keys[i]->value;
		if (strcmp(k, "targets") == 0)
			targets = sec->items[i];
		else if (strcmp(k, "levels") == 0)
			levels = sec->items[i];
		else if (strcmp(k, "queue_size") == 0)
			ynode_int(sec->items[i], file, 1, NOTIFY_QUEUE_MAX,
			    &nc->queue_size, errs);
		else if (strcmp(k, "retry") == 0)
			notify_parse_retry(sec->items[i], file, nc, errs);
		else
			NOTIFY_ERR(errs, file, sec->keys[i],
			    "notify: unknown "
			    "key \"%s\"",
			    k);
	}
	if (targets != NULL)
		notify_parse_targets(targets, file, nc, errs);
	if (levels != NULL)
		notify_parse_levels(levels, file, nc, errs);
}

/* Check cfg's notify: section. */
int
notify_check(const struct config *cfg, struct errlist *errs)
{
	struct notify_conf nc;
	size_t before = errs->n;

	notify_conf_parse(cfg->sec_notify, cfg->file, &nc, errs);
	notify_conf_free(&nc);
	return errs->n == before ? 0 : -1;
}

/* The transport of a target type. */
static const struct notify_ops *
notify_ops_of(enum notify_type type)
{
	switch (type) {
	case NOTIFY_SNMP_TRAP:
	case NOTIFY_SNMP_INFORM:
		return &notify_snmp_ops;
	case NOTIFY_SYSLOG:
		return &notify_syslog_ops;
	case NOTIFY_EXEC:
		return &notify_exec_ops;
	case NOTIFY_WEBHOOK:
		return &notify_webhook_ops;
	}
	return NULL;
}

/* A target's config as one line, to tell a changed target on reload. */
static char *
notify_tconf_sig(const struct notify_tconf *c)
{
	char *s, *next;
	size_t i;

	xasprintf(&s, "%d|%s|%s|%lld|%lld|%d|%s|%d|%s|%s|%lld", (int)c->type,
	    c->address ? c->address : "", c->community, c->retries, c->timeout,
	    (int)c->proto, c->app_name, c->facility,
	    c->command ? c->command : "", c->url ? c->url : "",
	    c->max_attempts);
	if (c->user != NULL) {
		xasprintf(&next, "%s|v3|%s|%s|%s|%s|%s|%d", s, c->user, c->auth,
		    c->auth_pass ? c->auth_pass : "", c->priv ? c->priv : "",
		    c->priv_pass ? c->priv_pass : "", c->authpriv);
		free(s);
		s = next;
	}
	for (i = 0; i < c->nargs; i++) {
		xasprintf(&next, "%s|%s", s, c->args[i]);
		free(s);
		s = next;
	}
	return s;
}

static void notify_kick_cb(evutil_socket_t, short, void *);
static void notify_restore(struct notifier *);

/* A new target, taking over the parsed config c (c is zeroed). */
static struct notify_target *
notify_target_new(struct notifier *n, struct notify_tconf *c)
{
	struct notify_target *t;

	t = xcalloc(1, sizeof(*t));
	t->n = n;
	t->base = n->base;
	t->c = *c;
	memset(c, 0, sizeof(*c));
	t->sig = notify_tconf_sig(&t->c);
	t->ops = notify_ops_of(t->c.type);
	TAILQ_INIT(&t->queue);
	t->kick = evtimer_new(n->base, notify_kick_cb, t);
	if (t->kick == NULL)
		fatalx("notify: evtimer_new failed");
	return t;
}

/* Drop a reference to a message. */
static void
notify_msg_unref(struct notify_msg *m)
{
	if (--m->refs > 0)
		return;
	free(m->level);
	free(m->note);
	free(m->inc_level);
	free(m->host);
	free(m->rule);
	free(m->title);
	free(m->key);
	free(m->in_window);
	free(m->owner);
	free(m->impact);
	free(m->workaround);
	free(m->last_note);
	free(m->last_event);
	free(m->link);
	free(m->nlog_targets);
	free(m->body);
	free(m->body_json);
	free(m);
}

/* A notice was queued to a target: one more for its log row. */
static void
notify_nlog_target(struct notify_msg *m, const char *target)
{
	char *s;

	m->nl_pending++;
	if (m->nlog != 0)
		return; /* already logged (a restored notice) */
	xasprintf(&s, "%s%s%s", m->nlog_targets != NULL ? m->nlog_targets : "",
	    m->nlog_targets != NULL ? "," : "", target);
	free(m->nlog_targets);
	m->nlog_targets = s;
}

/* A notice's outcome from its targets' counts, as the MIB has it. */
static const char *
notify_nlog_outcome(const struct notify_msg *m)
{
	if (m->nl_pending > 0)
		return "pending";
	if (m->nl_failed == 0)
		return "delivered";
	return m->nl_ok == 0 ? "failed" : "partial";
}

/*
 * Log a notice once, with the targets it was queued to: in the MIB's
 * notification log and in the store's notice log (the timeline).
 */
static void
notify_nlog_open(struct notify_outbox *ob, struct notify_msg *m)
{
	char *text;

	if (m->nlog != 0 || m->nlog_targets == NULL)
		return;
	if (!notify_in_mib(m->kind)) {
		free(m->nlog_targets);
		m->nlog_targets = NULL;
		return;
	}
	xasprintf(&text, "%s: %s", m->host, m->title);
	m->nlog = agent_nlog_add(notify_notif_name(m->kind), m->id, m->severity,
	    m->inc_level, m->nlog_targets, text);
	free(text);
	notify_outbox_log(ob, m, m->nlog_targets, notify_nlog_outcome(m));
	free(m->nlog_targets);
	m->nlog_targets = NULL;
	agent_nlog_outcome(m->nlog, m->nl_ok, m->nl_failed, m->nl_pending);
}

/* A target is done with a notice: delivered (ok) or not; log the outcome. */
static void
notify_nlog_done(struct notify_outbox *ob, struct notify_msg *m, int ok)
{
	if (m->nl_pending > 0)
		m->nl_pending--;
	if (ok)
		m->nl_ok++;
	else
		m->nl_failed++;
	agent_nlog_outcome(m->nlog, m->nl_ok, m->nl_failed, m->nl_pending);
	if (m->nlog_targets == NULL) /* logged already */
		notify_outbox_log(ob, m, "", notify_nlog_outcome(m));
}

/* Remove and free a job. */
static void
notify_job_free(struct notify_target *t, struct notify_job *j)
{
	TAILQ_REMOVE(&t->queue, j, entry);
	t->nqueue--;
	notify_msg_unref(j->msg);
	free(j);
}

/* Free a target and whatever it still holds. */
static void
notify_target_free(struct notify_target *t)
{
	struct notify_job *j;

	if (t->ops != NULL && t->ops->free != NULL)
		t->ops->free(t);
	while ((j = TAILQ_FIRST(&t->queue)) != NULL)
		notify_job_free(t, j);
	event_free(t->kick);
	free(t->sig);
	notify_tconf_free(&t->c);
	free(t);
}

/* Run the next delivery after delay seconds. */
static void
notify_kick(struct notify_target *t, long long delay)
{
	struct timeval tv = { (time_t)delay, 0 };

	evtimer_add(t->kick, &tv);
}

/* Remove a retired target from the notifier and free it. */
static void
notify_reap(struct notify_target *t)
{
	struct notifier *n = t->n;
	size_t i;

	for (i = 0; i < n->ntargets; i++) {
		if (n->targets[i] == t) {
			memmove(&n->targets[i], &n->targets[i + 1],
			    (n->ntargets - i - 1) * sizeof(*n->targets));
			n->ntargets--;
			break;
		}
	}
	notify_target_free(t);
}

/* Start the delivery at the head of a target's queue. */
static void
notify_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_target *t = arg;
	struct notify_job *j;
	int r;

	if (t->busy)
		return;
	if ((j = TAILQ_FIRST(&t->queue)) == NULL) {
		if (t->retired)
			notify_reap(t);
		return;
	}
	if (j->next_try > (int64_t)time(NULL)) {
		notify_kick(t, j->next_try - (int64_t)time(NULL));
		return;
	}
	t->busy = 1;
	j->attempts++;
	r = t->ops->start(t, j->msg);
	if (r != 0)
		notify_done(t, r > 0, "failed to start");
}

/* The attempts a target makes before giving a notice up. */
static long long
notify_attempts(const struct notify_target *t)
{
	if (t->c.max_attempts > 0)
		return t->c.max_attempts;
	return t->n->conf.max_attempts;
}

/* A delivery finished: count it, retry later or move on. */
void
notify_done(struct notify_target *t, int ok, const char *why)
{
	struct notify_job *j = TAILQ_FIRST(&t->queue);
	const struct notify_conf *nc = &t->n->conf;
	long long delay;

	if (!t->busy || j == NULL)
		return;
	t->busy = 0;
	if (ok) {
		t->sent++;
		log_debugs(LOG_SYS_NOTIFY, "notify %s: sent %s", t->c.name,
		    j->msg->idem);
		notify_outbox_delivered(t->n->ob, t->c.name, j->msg->idem);
		notify_nlog_done(t->n->ob, j->msg, 1);
		notify_job_free(t, j);
		notify_kick(t, 0);
		return;
	}
	if (j->attempts >= notify_attempts(t)) {
		t->failed++;
		log_warnx("notify %s: giving up %s after %d attempts: %s",
		    t->c.name, j->msg->idem, j->attempts, why ? why : "failed");
		notify_outbox_failed(t->n->ob, t->c.name, j->msg->idem,
		    j->attempts);
		notify_nlog_done(t->n->ob, j->msg, 0);
		notify_job_free(t, j);
		notify_kick(t, 0);
		return;
	}
	t->retried++;
	delay =
	    notify_backoff(nc->backoff_initial, nc->backoff_max, j->attempts);
	log_info("notify %s: %s failed (%s), retry in %llds", t->c.name,
	    j->msg->idem, why ? why : "failed", delay);
	j->next_try = (int64_t)time(NULL) + delay;
	notify_outbox_retry(t->n->ob, t->c.name, j->msg->idem, j->attempts,
	    j->next_try);
	notify_kick(t, delay);
}

/* Build the targets of a parsed config, reusing unchanged ones. */
static void
notify_build(struct notifier *n, struct notify_target **old, size_t nold)
{
	struct notify_target *t;
	size_t i, j;
	char *sig;

	n->targets = xcalloc(n->conf.ntargets + nold + 1, sizeof(*n->targets));
	n->ntargets = 0;
	for (i = 0; i < n->conf.ntargets; i++) {
		sig = notify_tconf_sig(&n->conf.targets[i]);
		t = NULL;
		for (j = 0; j < nold; j++) {
			if (old[j] != NULL && !old[j]->retired &&
			    strcmp(old[j]->c.name, n->conf.targets[i].name) ==
				0 &&
			    strcmp(old[j]->sig, sig) == 0) {
				t = old[j];
				old[j] = NULL;
				break;
			}
		}
		free(sig);
		if (t == NULL)
			t = notify_target_new(n, &n->conf.targets[i]);
		n->targets[n->ntargets++] = t;
	}
	for (j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		old[j]->retired = 1;
		n->targets[n->ntargets++] = old[j];
		notify_kick(old[j], 0);
	}
}

/* http: public_url (the page's address the notices link to), or NULL. */
static void
notify_public_url(struct notifier *n, const struct config *cfg)
{
	const char *u = ynode_str(cfg->sec_http, "public_url");
	size_t len;

	free(n->public_url);
	n->public_url = NULL;
	if (u == NULL || *u == '\0')
		return;
	len = strlen(u);
	while (len > 0 && u[len - 1] == '/')
		len--;
	n->public_url = xstrndup(u, len);
}

/* Start the notifier on the current config. */
struct notifier *
notify_new(struct sopd *sd, char **cause)
{
	struct notifier *n;
	struct errlist errs = { 0 };

	n = xcalloc(1, sizeof(*n));
	n->sd = sd;
	n->base = sd->base;
	notify_conf_parse(sd->cfg->sec_notify, sd->cfg->file, &n->conf, &errs);
	if (errs.n > 0) {
		*cause = xstrdup(errs.msgs[0]);
		errlist_free(&errs);
		notify_conf_free(&n->conf);
		free(n);
		return NULL;
	}
	notify_build(n, NULL, 0);
	notify_public_url(n, sd->cfg);
	log_debugs(LOG_SYS_NOTIFY, "notify: %zu targets, %zu levels",
	    n->conf.ntargets, n->conf.nlevels);
	if (sd->incidents != NULL)
		n->ob =
		    notify_outbox_new(n->base, incidents_store(sd->incidents));
	notify_restore(n);
	return n;
}

/* A notifier that tells nobody: each committed notice goes to sink. */
struct notifier *
notify_new_sink(notify_sink_cb sink, void *arg)
{
	struct notifier *n;

	n = xcalloc(1, sizeof(*n));
	n->sink = sink;
	n->sink_arg = arg;
	n->sunk_tail = &n->sunk;
	return n;
}

/* Take a reloaded config: changed targets drain and go, new ones start. */
void
notify_reconfigure(struct notifier *n, const struct config *cfg)
{
	struct notify_conf nc;
	struct errlist errs = { 0 };
	struct notify_target **old;
	size_t nold;

	if (n == NULL)
		return;
	old = n->targets;
	nold = n->ntargets;
	notify_conf_parse(cfg->sec_notify, cfg->file, &nc, &errs);
	if (errs.n > 0) {
		log_warnx("notify: reload: %s; keeping the targets",
		    errs.msgs[0]);
		errlist_free(&errs);
		notify_conf_free(&nc);
		return;
	}
	notify_conf_free(&n->conf);
	n->conf = nc;
	notify_build(n, old, nold);
	free(old);
	notify_public_url(n, cfg);
}

/* A string of the incident, bounded, "" for NULL. */
static char *
notify_msg_str(const char *s, size_t max)
{
	return xstrndup(s != NULL ? s : "", max);
}

/* Copy a notice into a message that outlives the caller's pointers. */
static struct notify_msg *
notify_msg_new(struct notifier *n, const char *level, const struct notice *no)
{
	const struct incident_info *ii = no->inc;
	struct notify_msg *m;

	m = xcalloc(1, sizeof(*m));
	m->kind = no->kind;
	m->step = no->step;
	m->level = xstrdup(level);
	m->at_us = no->at_us;
	m->note = no->note != NULL ? xstrndup(no->note, 1024) : NULL;
	m->id = ii->id;
	m->severity = ii->severity;
	m->state = ii->state;
	m->inc_level = xstrdup(ii->level != NULL ? ii->level : "");
	m->host = xstrndup(ii->host != NULL ? ii->host : "", 1024);
	m->rule = xstrndup(ii->rule != NULL ? ii->rule : "", 1024);
	m->title = xstrndup(ii->title != NULL ? ii->title : "", 1024);
	m->key = xstrndup(ii->key != NULL ? ii->key : "", 1024);
	m->in_window =
	    xstrndup(ii->in_window != NULL ? ii->in_window : "", 256);
	m->owner = xstrndup(ii->owner != NULL ? ii->owner : "", 256);
	m->impact = notify_msg_str(ii->impact, 1024);
	m->workaround = notify_msg_str(ii->workaround, 1024);
	m->last_note = notify_msg_str(ii->last_note, 1024);
	m->last_event = notify_msg_str(ii->last_event, 1024);
	m->eta_us = ii->eta_us;
	if (n->public_url != NULL && ii->id > 0 && no->kind != NOTICE_WINDOW &&
	    no->kind != NOTICE_CHANGE)
		xasprintf(&m->link, "%s/?incident=%llu", n->public_url,
		    (unsigned long long)ii->id);
	else
		m->link = xstrdup("");
	m->count = ii->count;
	m->first_seen_us = ii->first_seen_us;
	m->last_seen_us = ii->last_seen_us;
	m->next_escalation_us = ii->next_escalation_us;
	if (no->body != NULL)
		m->body = xstrdup(no->body);
	if (no->body_json != NULL)
		m->body_json = xstrdup(no->body_json);
	if (no->idem != NULL)
		snprintf(m->idem, sizeof(m->idem), "%s", no->idem);
	else
		notify_key(ii->id, no->kind, no->step, m->idem,
		    sizeof(m->idem));
	return m;
}

/* A current target by name. */
static struct notify_target *
notify_target_find(struct notifier *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->ntargets; i++) {
		if (!n->targets[i]->retired &&
		    strcmp(n->targets[i]->c.name, name) == 0)
			return n->targets[i];
	}
	return NULL;
}

/* Append a job; when full, the oldest waiting one goes (counted). */
static struct notify_job *
notify_enqueue(struct notify_target *t, struct notify_msg *m)
{
	struct notify_job *j, *old;

	if ((long long)t->nqueue >= t->n->conf.queue_size) {
		old = TAILQ_FIRST(&t->queue);
		if (t->busy && old != NULL)
			old = TAILQ_NEXT(old, entry);
		if (old != NULL) {
			log_warnx("notify %s: queue full, dropping %s",
			    t->c.name, old->msg->idem);
			notify_outbox_delivered(t->n->ob, t->c.name,
			    old->msg->idem);
			notify_nlog_done(t->n->ob, old->msg, 0);
			notify_job_free(t, old);
			t->dropped++;
		}
	}
	j = xcalloc(1, sizeof(*j));
	j->msg = m;
	m->refs++;
	notify_nlog_target(m, t->c.name);
	TAILQ_INSERT_TAIL(&t->queue, j, entry);
	t->nqueue++;
	if (!t->busy && !evtimer_pending(t->kick, NULL))
		notify_kick(t, 0);
	return j;
}

/* The targets of a level, or NULL (logged) when it has none. */
static const struct notify_level *
notify_level_find(struct notifier *n, const char *level)
{
	size_t i;

	for (i = 0; i < n->conf.nlevels; i++) {
		if (strcmp(n->conf.levels[i].name, level) == 0 &&
		    n->conf.levels[i].n > 0)
			return &n->conf.levels[i];
	}
	log_debugs(LOG_SYS_NOTIFY, "notify: no targets for level %s", level);
	return NULL;
}

/* Keep a message for a target until the transaction committed. */
static void
notify_stage_add(struct notifier *n, const char *target, struct notify_msg *m)
{
	struct notify_staged *sg;

	sg = xcalloc(1, sizeof(*sg));
	snprintf(sg->target, sizeof(sg->target), "%s", target);
	sg->msg = m;
	m->refs++;
	if (n->staged == NULL)
		n->stail = &n->staged;
	*n->stail = sg;
	n->stail = &sg->next;
}

/* A recording notifier: keep what its sink is told at the commit. */
static int
notify_sink_stage(struct notifier *n, const char *level,
    const struct notice *no)
{
	struct notify_sunk *k;
	size_t len = strlen(level) + 1;

	k = xmalloc(sizeof(*k) + len);
	memcpy(k->level, level, len);
	k->next = NULL;
	k->kind = no->kind;
	k->step = no->step;
	k->id = no->inc->id;
	*n->sunk_tail = k;
	n->sunk_tail = &k->next;
	return 0;
}

/* Hand the staged notices to the sink, in the order staged. */
static void
notify_sink_commit(struct notifier *n)
{
	struct notify_sunk *k;
	struct incident_info ii;
	struct notice no;

	while ((k = n->sunk) != NULL) {
		n->sunk = k->next;
		memset(&ii, 0, sizeof(ii));
		ii.id = k->id;
		memset(&no, 0, sizeof(no));
		no.kind = k->kind;
		no.inc = &ii;
		no.step = k->step;
		no.level = k->level;
		n->sink(k->level, &no, n->sink_arg);
		free(k);
	}
	n->sunk_tail = &n->sunk;
}

/* Forget the staged notices of a recording notifier. */
static void
notify_sink_unstage(struct notifier *n)
{
	struct notify_sunk *k;

	while ((k = n->sunk) != NULL) {
		n->sunk = k->next;
		free(k);
	}
	n->sunk_tail = &n->sunk;
}

/*
 * Write a notice to the outbox of every target of a level, inside the
 * caller's open transaction; its jobs are queued by notify_commit.
 */
int
notify_stage(struct notifier *n, const char *level, const struct notice *no)
{
	const struct notify_level *l;
	struct notify_msg *m;
	size_t i;
	int rc = 0;

	if (n == NULL || level == NULL || no == NULL || no->inc == NULL)
		return 0;
	if (n->sink != NULL)
		return notify_sink_stage(n, level, no);
	if ((l = notify_level_find(n, level)) == NULL)
		return 0;
	m = notify_msg_new(n, level, no);
	m->refs = 1;
	for (i = 0; i < l->n && rc == 0; i++) {
		if (notify_target_find(n, l->targets[i]) == NULL)
			continue;
		if ((rc = notify_outbox_put(n->ob, l->targets[i], m,
			 (int64_t)time(NULL))) == 0)
			notify_stage_add(n, l->targets[i], m);
	}
	notify_msg_unref(m);
	return rc;
}

/* The staged notices' transaction committed: queue them. */
void
notify_commit(struct notifier *n)
{
	struct notify_staged *sg;
	struct notify_target *t;

	if (n == NULL)
		return;
	notify_sink_commit(n);
	while ((sg = n->staged) != NULL) {
		n->staged = sg->next;
		if ((t = notify_target_find(n, sg->target)) != NULL)
			notify_enqueue(t, sg->msg);
		else
			notify_outbox_delivered(n->ob, sg->target,
			    sg->msg->idem);
		/* A notice's targets are staged one after the other. */
		if (n->staged == NULL || n->staged->msg != sg->msg)
			notify_nlog_open(n->ob, sg->msg);
		notify_msg_unref(sg->msg);
		free(sg);
	}
}

/* The staged notices' transaction was rolled back: forget them. */
void
notify_unstage(struct notifier *n)
{
	struct notify_staged *sg;

	if (n == NULL)
		return;
	notify_sink_unstage(n);
	while ((sg = n->staged) != NULL) {
		n->staged = sg->next;
		notify_msg_unref(sg->msg);
		free(sg);
	}
}

/* Queue a notice to every target of a level without the outbox. */
static void
notify_send_memory(struct notifier *n, const char *level,
    const struct notice *no)
{
	const struct notify_level *l;
	struct notify_target *t;
	struct notify_msg *m;
	size_t i;

	if ((l = notify_level_find(n, level)) == NULL)
		return;
	m = notify_msg_new(n, level, no);
	m->refs = 1;
	for (i = 0; i < l->n; i++) {
		if ((t = notify_target_find(n, l->targets[i])) != NULL)
			notify_enqueue(t, m);
	}
	notify_nlog_open(n->ob, m);
	notify_msg_unref(m);
}

/* Queue a notice to every target of a level, in a transaction of its own. */
void
notify_send(struct notifier *n, const char *level, const struct notice *no)
{
	if (n == NULL || level == NULL || no == NULL || no->inc == NULL)
		return;
	notify_unstage(n);
	if (notify_outbox_begin(n->ob) == 0) {
		if (notify_stage(n, level, no) == 0 &&
		    notify_outbox_commit(n->ob) == 0) {
			notify_commit(n);
			return;
		}
		notify_outbox_rollback(n->ob);
		notify_unstage(n);
	}
	log_warnx("notify: outbox not written; the notice is kept in memory "
		  "only");
	notify_send_memory(n, level, no);
}

/* A report as a notice (its incident is made up, none is referred to). */
static void
notify_report_notice(struct notice *no, struct incident_info *ii,
    const char *level, const char *subject, const char *text,
    const char *body_json, const char *idem)
{
	memset(ii, 0, sizeof(*ii));
	ii->severity = SEV_INFO; /* a report is no alarm */
	ii->level = level;
	ii->host = "";
	ii->rule = "";
	ii->key = idem;
	ii->title = subject;
	memset(no, 0, sizeof(*no));
	no->kind = NOTICE_REPORT;
	no->inc = ii;
	no->step = -1;
	no->level = level;
	no->at_us = clock_now_us();
	no->idem = idem;
	no->body = text;
	no->body_json = body_json;
}

/* Write a report to the outbox inside the caller's transaction. */
int
notify_stage_report(struct notifier *n, const char *level, const char *subject,
    const char *text, const char *body_json, const char *idem)
{
	struct incident_info ii;
	struct notice no;

	if (n == NULL || level == NULL)
		return 0;
	notify_report_notice(&no, &ii, level, subject, text, body_json, idem);
	return notify_stage(n, level, &no);
}

/* Queue a report to the targets of a level (see notify.h). */
void
notify_send_report(struct notifier *n, const char *level, const char *subject,
    const char *text, const char *body_json, const char *idem)
{
	struct incident_info ii;
	struct notice no;

	if (n == NULL || level == NULL)
		return;
	notify_report_notice(&no, &ii, level, subject, text, body_json, idem);
	notify_send(n, level, &no);
}

/* A pending outbox row at start: back into its target's queue. */
static int
notify_restore_cb(const char *target, struct notify_msg *m, int attempts,
    int64_t next_try, void *arg)
{
	struct notifier *n = arg;
	struct notify_target *t;
	struct notify_job *j;

	m->refs = 1;
	if ((t = notify_target_find(n, target)) == NULL) {
		notify_msg_unref(m);
		return -1;
	}
	j = notify_enqueue(t, m);
	j->attempts = attempts;
	j->next_try = next_try;
	notify_nlog_open(n->ob, m);
	notify_msg_unref(m);
	return 0;
}

/* Queue the notices the outbox kept from before the start. */
static void
notify_restore(struct notifier *n)
{
	long r;

	if (n->ob == NULL)
		return;
	r = notify_outbox_load(n->ob, notify_restore_cb, n);
	if (r == -1)
		log_warnx("notify: outbox not loaded: %s",
		    store_error(incidents_store(n->sd->incidents)));
	else if (r > 0) {
		n->restored = (uint64_t)r;
		log_info("notify: %ld undelivered notices from the outbox", r);
	}
}

/* The type name of a target. */
static const char *
notify_type_name(enum notify_type type)
{
	size_t i;

	for (i = 0; i < sizeof(notify_types) / sizeof(*notify_types); i++) {
		if (notify_types[i].type == type)
			return notify_types[i].name;
	}
	return "unknown";
}

/* Counters per target, and their totals. */
json_t *
notify_notices_json(struct notifier *n, uint64_t incident)
{
	if (n == NULL || n->ob == NULL)
		return NULL;
	return notify_outbox_log_json(n->ob, incident);
}

json_t *
notify_stats_json(struct notifier *n)
{
	json_t *targets, *o;
	struct notify_target *t;
	uint64_t tot[5] = { 0 };
	size_t i;

	targets = json_object();
	for (i = 0; n != NULL && i < n->ntargets; i++) {
		t = n->targets[i];
		if (t->retired)
			continue;
		json_object_set_new(targets, t->c.name,
		    json_pack("{s:s s:I s:I s:I s:I s:I}", "type",
			notify_type_name(t->c.type), "sent",
			(json_int_t)t->sent, "failed", (json_int_t)t->failed,
			"retried", (json_int_t)t->retried, "dropped",
			(json_int_t)t->dropped, "queued",
			(json_int_t)t->nqueue));
		tot[0] += t->sent;
		tot[1] += t->failed;
		tot[2] += t->retried;
		tot[3] += t->dropped;
		tot[4] += t->nqueue;
	}
	o = json_pack("{s:I s:I s:I s:I s:I s:I s:I}", "sent",
	    (json_int_t)tot[0], "failed", (json_int_t)tot[1], "retried",
	    (json_int_t)tot[2], "dropped", (json_int_t)tot[3], "queued",
	    (json_int_t)tot[4], "restored",
	    (json_int_t)(n != NULL ? n->restored : 0), "outbox_errors",
	    (json_int_t)(n != NULL ? notify_outbox_errors(n->ob) : 0));
	json_object_set_new(o, "targets", targets);
	return o;
}

/* Stop every delivery (children killed, sessions closed) and free. */
void
notify_free(struct notifier *n)
{
	size_t i;

	if (n == NULL)
		return;
	notify_unstage(n);
	for (i = 0; i < n->ntargets; i++)
		notify_target_free(n->targets[i]);
	notify_outbox_free(n->ob);
	free(n->targets);
	notify_conf_free(&n->conf);
	free(n->public_url);
	free(n);
}
