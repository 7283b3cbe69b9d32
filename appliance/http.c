/* http.c: the HTTP API, /metrics, /healthz and the status page on evhttp. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "audit.h"
#include "backup.h"
#include "agent.h"
#include "auth.h"
#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "escalate.h"
#include "snmp_engine.h"
#include "expect.h"
#include "http.h"
#include "httpcache.h"
#include "incident.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "policy.h"
#include "poller.h"
#include "report.h"
#include "schedule.h"
#include "rules.h"
#include "stats.h"
#include "template.h"
#include "version.h"
#include "winapi.h"
#include "xmalloc.h"

#define HTTP_SWEEP_USEC	 250000 /* how often closed connections are reaped */
#define HTTP_MAX_STATIC	 (4 * 1024 * 1024)
#define HTTP_MAX_ARGS	 2
#define HTTP_MAX_ARGLEN	 128
#define HTTP_MAX_ACTOR	 64
#define HTTP_MAX_NOTE	 4096
#define HTTP_MAX_FILTER	 256
#define HTTP_BEV_HIGHWAT (HTTP_MAX_HEADERS + HTTP_MAX_BODY)
#define HTTP_ERRPAGE_MAX 4096 /* bytes of one of evhttp's error pages */
#define HTTP_XSTR(x)	 #x
#define HTTP_STR(x)	 HTTP_XSTR(x)

#ifndef SOPD_WEBDIR
#define SOPD_WEBDIR "/usr/share/sopd/web"
#endif

#define HTTP_CSP  "default-src 'self'"
#define HTTP_JSON "application/json"

/* One listening address: its own evhttp, HTTPS or plain HTTP. */
struct http_srv {
	struct http *h;
	struct evhttp *eh;
	struct evconnlistener *listener;
	int https;
};

struct http {
	struct sopd *sd;
	struct http_srv srv[AUTH_MAX_LISTEN];
	size_t nsrv;
	struct event *sweep;  /* reaps closed connections */
	struct event *resume; /* accepts again after EMFILE */
	struct bufferevent *conn[HTTP_MAX_CONNECTIONS];
	unsigned nconn;
	int paused;	   /* accept paused on fd shortage */
	char *webdir;	   /* NULL: no status page */
	struct auth *auth; /* users, sessions, TLS */
	struct http *next; /* in http_all */
};

/* Every running server, to find ours from a listener (see accept_error). */
static struct http *http_all;

/* One request being handled, with the "*" segments its route captured. */
struct http_req {
	struct http *h;
	struct evhttp_request *req;
	size_t narg;
	char arg[HTTP_MAX_ARGS][HTTP_MAX_ARGLEN];
	struct auth_who who; /* name "": no login needed */
};

typedef void (*http_fn)(struct http_req *);

struct http_route {
	int post;	     /* 1: POST, 0: GET and HEAD */
	const char *pattern; /* "*" matches one path segment */
	http_fn fn;
};

static void http_index(struct http_req *);
static void http_static(struct http_req *);
static void http_healthz(struct http_req *);
static void http_metrics(struct http_req *);
static void http_list(struct http_req *);
static void http_get(struct http_req *);
static void http_ack(struct http_req *);
static void http_resolve(struct http_req *);
static void http_notes(struct http_req *);
static void http_set(struct http_req *);
static void http_inc_report(struct http_req *);
static void http_audit(struct http_req *);
static void http_assign(struct http_req *);
static void http_stats(struct http_req *);
static void http_windows(struct http_req *);
static void http_window(struct http_req *);
static void http_window_add(struct http_req *);
static void http_window_cancel(struct http_req *);
static void http_changes(struct http_req *);
static void http_change_action(struct http_req *);
static void http_reports(struct http_req *);
static void http_expectations(struct http_req *);
static void http_calendar(struct http_req *);
static void http_backup(struct http_req *);
static void http_login(struct http_req *);
static void http_logout(struct http_req *);
static void http_session(struct http_req *);
static void http_hosts(struct http_req *);
static void http_host_metrics(struct http_req *);
static void http_schedule(struct http_req *);
static void http_stored(struct http_req *);
static void http_stored_one(struct http_req *);
static void http_schedule_run(struct http_req *);
static void http_accepting(struct http *, int);

static const struct http_route http_routes[] = {
	{ 0, "/", http_index },
	{ 0, "/index.html", http_index },
	{ 0, "/static/*", http_static },
	{ 0, "/healthz", http_healthz },
	{ 0, "/metrics", http_metrics },
	{ 0, "/api/v1/incidents", http_list },
	{ 0, "/api/v1/incidents/*", http_get },
	{ 1, "/api/v1/incidents/*/ack", http_ack },
	{ 1, "/api/v1/incidents/*/resolve", http_resolve },
	{ 1, "/api/v1/incidents/*/notes", http_notes },
	{ 1, "/api/v1/incidents/*", http_set },
	{ 0, "/api/v1/incidents/*/report", http_inc_report },
	{ 1, "/api/v1/incidents/*/assign", http_assign },
	{ 0, "/api/v1/stats", http_stats },
	{ 0, "/api/v1/windows", http_windows },
	{ 1, "/api/v1/windows", http_window_add },
	{ 0, "/api/v1/windows/*", http_window },
	{ 1, "/api/v1/windows/*/cancel", http_window_cancel },
	{ 0, "/api/v1/changes", http_changes },
	{ 1, "/api/v1/changes", http_window_add },
	{ 0, "/api/v1/changes/*", http_window },
	{ 1, "/api/v1/changes/*/*", http_change_action },
	{ 0, "/api/v1/reports/stored", http_stored },
	{ 0, "/api/v1/reports/*", http_reports },
	{ 0, "/api/v1/expectations", http_expectations },
	{ 0, "/api/v1/calendar", http_calendar },
	{ 0, "/api/v1/backup", http_backup },
	{ 1, "/api/v1/login", http_login },
	{ 1, "/api/v1/logout", http_logout },
	{ 0, "/api/v1/session", http_session },
	{ 0, "/api/v1/hosts", http_hosts },
	{ 0, "/api/v1/hosts/*/metrics", http_host_metrics },
	{ 0, "/api/v1/schedule", http_schedule },
	{ 0, "/api/v1/reports/stored/*", http_stored_one },
	{ 1, "/api/v1/schedule/*/run", http_schedule_run },
	{ 0, "/api/v1/audit", http_audit },
};
#define HTTP_NROUTES (sizeof(http_routes) / sizeof(http_routes[0]))

/* Format a wall-clock time as RFC 3339 UTC ("2026-11-27T10:00:00Z"). */
static void
http_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A time as a JSON string, or null for 0 (never). */
static json_t *
http_time_json(time_t t)
{
	char buf[32];

	if (t == 0)
		return (json_null());
	http_rfc3339(t, buf, sizeof(buf));
	return (json_string(buf));
}

/* Seconds since sopd started. */
static long long
http_uptime(const struct http *h)
{
	time_t now = time(NULL);

	if (h->sd->started == 0 || now < h->sd->started)
		return (0);
	return ((long long)(now - h->sd->started));
}

/* Headers every answer carries: type, and what the browser may do with it. */
static void
http_headers(struct evhttp_request *req, const char *ctype, int cache)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "Content-Type", ctype);
	evhttp_add_header(out, "Content-Security-Policy", HTTP_CSP);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "X-Frame-Options", "DENY");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	evhttp_add_header(out, "Cache-Control",
	    cache ? "no-cache" : "no-store");
}

/* Send a JSON document (consumed) with a status code. */
static void
http_reply_json(struct http_req *r, int code, json_t *doc)
{
	struct evbuffer *buf;
	char *s;

	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	buf = evbuffer_new();
	if (s != NULL) {
		evbuffer_add(buf, s, strlen(s));
		evbuffer_add(buf, "\n", 1);
		free(s);
	}
	http_headers(r->req, HTTP_JSON, 0);
	httpcache_send(r->req, code, buf);
	evbuffer_free(buf);
}

/* Send {"error": message} with a status code. */
static void __attribute__((format(printf, 3, 4)))
http_error(struct http_req *r, int code, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	template_utf8_trim(msg); /* a quoted value may be cut mid-character */
	/* A message quoting bytes that are not UTF-8 cannot be a JSON string. */
	if ((doc = json_pack("{s:s}", "error", msg)) == NULL)
		doc = json_pack("{s:s}", "error", "request not valid UTF-8");
	http_reply_json(r, code, doc);
}

/* Match a path against a route pattern, capturing the "*" segments. */
static int
http_match(const char *pattern, const char *path, struct http_req *r)
{
	size_t n;

	r->narg = 0;
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == '*') {
			n = strcspn(path, "/");
			if (n == 0 || n >= HTTP_MAX_ARGLEN ||
			    r->narg == HTTP_MAX_ARGS)
				return (0);
			memcpy(r->arg[r->narg], path, n);
			r->arg[r->narg++][n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return (0);
	}
	return (*pattern == '\0' && *path == '\0');
}

/* The route method of a request: 0 GET or HEAD, 1 POST, -1 another. */
static int
http_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		return 0;
	case EVHTTP_REQ_POST:
		return 1;
	default:
		return -1;
	}
}

/* Route a request through the table: 404 for no path, 405 for no method. */
static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	static const char *allow[] = { NULL, "GET, HEAD", "POST",
		"GET, HEAD, POST" };
	struct http_req r;
	const struct http_route *rt;
	const char *path;
	size_t i;
	int method, found = 0;

	memset(&r, 0, sizeof(r));
	r.h = arg;
	r.req = req;
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || *path == '\0')
		path = "/";
	method = http_method(req);
	for (i = 0; i < HTTP_NROUTES; i++) {
		rt = &http_routes[i];
		if (!http_match(rt->pattern, path, &r))
			continue;
		found |= 1 << rt->post;
		if (rt->post == method) {
			if (auth_request(r.h->auth, req, path, rt->post,
				&r.who) == 0)
				rt->fn(&r);
			return;
		}
	}
	if (auth_request(r.h->auth, req, path, -1, &r.who) != 0)
		return;
	if (found) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", allow[found]);
		http_error(&r, 405, "method not allowed");
	} else
		http_error(&r, 404, "not found");
}

/* GET /api/v1/backup: the store's online copy (backup.c answers). */
static void
http_backup(struct http_req *r)
{
	/* The whole database: for admins only, even when reading is public. */
	if (r->who.role != AUTH_ADMIN) {
		http_error(r, 403, "a backup needs an admin's login or token");
		return;
	}
	backup_serve(r->h->sd, r->req);
}

/* Parse a decimal number in [min, max]; -1 if it is not one. */
static int
http_number(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || !isdigit((unsigned char)*s) || strlen(s) > 18)
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* The incident id of the route's first "*", or 0 (and a 400) if invalid. */
static uint64_t
http_id(struct http_req *r)
{
	char *end;
	unsigned long long v;
	const char *s = r->arg[0];

	if (!isdigit((unsigned char)*s) || strlen(s) > 20)
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		goto bad;
	return ((uint64_t)v);
bad:
	http_error(r, 400, "invalid incident id: %.64s", s);
	return (0);
}

/* Read the state filter: a state name or "active". */
static int
http_filter_state(const char *v, struct incident_filter *f)
{
	if (strcmp(v, "active") == 0) {
		f->active = 1;
		return (0);
	}
	f->state = incident_state_from_name(v);
	return (f->state < 0 ? -1 : 0);
}

/* Apply one query parameter to a filter; -1 with msg if it is wrong. */
static int
http_filter_one(const char *k, const char *v, struct incident_filter *f,
    char *msg, size_t len)
{
	long long n;

	if (strlen(v) > HTTP_MAX_FILTER) {
		snprintf(msg, len, "%s: value too long", k);
		return (-1);
	}
	if (strcmp(k, "state") == 0) {
		if (http_filter_state(v, f) == 0)
			return (0);
		snprintf(msg, len,
		    "state: must be open, acknowledged, "
		    "resolved, closed or active");
	} else if (strcmp(k, "severity") == 0) {
		if ((f->severity = severity_from_name(v)) >= 0)
			return (0);
		snprintf(msg, len,
		    "severity: must be critical, high, medium, "
		    "low or info");
	} else if (strcmp(k, "host") == 0 || strcmp(k, "rule") == 0) {
		if (*v == '\0')
			snprintf(msg, len, "%s: must not be empty", k);
		else {
			*(k[0] == 'h' ? &f->host : &f->rule) = v;
			return (0);
		}
	} else if (strcmp(k, "q") == 0) {
		if (*v != '\0')
			f->text = v;
		return (0);
	} else if (strcmp(k, "sort") == 0) {
		if ((f->triage = strcmp(v, "triage") == 0) ||
		    strcmp(v, "newest") == 0)
			return (0);
		snprintf(msg, len, "sort: must be newest or triage");
	} else if (strcmp(k, "limit") == 0) {
		if (http_number(v, 1, 1000, &n) == 0) {
			f->limit = (size_t)n;
			return (0);
		}
		snprintf(msg, len, "limit: must be a number from 1 to 1000");
	} else if (strcmp(k, "offset") == 0) {
		if (http_number(v, 0, 1000000000, &n) == 0) {
			f->offset = (size_t)n;
			return (0);
		}
		snprintf(msg, len, "offset: must be a number from 0");
	} else
		snprintf(msg, len, "unknown parameter: %.64s", k);
	return (-1);
}

/* Whether s is valid UTF-8 (jansson checks it when making a string). */
static int
http_utf8(const char *s)
{
	json_t *j;

	if ((j = json_string(s)) == NULL)
		return (0);
	json_decref(j);
	return (1);
}

/* Build the incident filter from the query string; -1 with msg. */
static int
http_filter(struct evhttp_request *req, struct evkeyvalq *q,
    struct incident_filter *f, char *msg, size_t len)
{
	const char *query;
	struct evkeyval *kv;

	memset(f, 0, sizeof(*f));
	f->state = -1;
	f->severity = -1;
	f->limit = 100;
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query == NULL)
		return (0);
	if (evhttp_parse_query_str(query, q) != 0 ||
	    strstr(query, "%00") != NULL) {
		snprintf(msg, len, "malformed query string");
		return (-1);
	}
	TAILQ_FOREACH(kv, q, next)
	{
		if (!http_utf8(kv->key) || !http_utf8(kv->value)) {
			snprintf(msg, len, "query string: not valid UTF-8");
			return (-1);
		}
		if (http_filter_one(kv->key, kv->value, f, msg, len) != 0)
			return (-1);
	}
	return (0);
}

/* GET /api/v1/incidents: the filtered, paged list, newest first. */
static void
http_list(struct http_req *r)
{
	struct evkeyvalq q;
	struct incident_filter f;
	char msg[256];
	json_t *doc;

	TAILQ_INIT(&q);
	if (http_filter(r->req, &q, &f, msg, sizeof(msg)) != 0) {
		evhttp_clear_headers(&q);
		http_error(r, 400, "%s", msg);
		return;
	}
	doc = incidents_list_json(r->h->sd->incidents, &f);
	evhttp_clear_headers(&q);
	if (doc == NULL)
		http_error(r, 500, "cannot list incidents");
	else
		http_reply_json(r, 200, doc);
}

/* GET /api/v1/incidents/{id}: one incident, its events and history. */
static void
http_get(struct http_req *r)
{
	uint64_t id;
	json_t *doc, *notices;

	if ((id = http_id(r)) == 0)
		return;
	doc = incidents_get_json(r->h->sd->incidents, id);
	if (doc == NULL)
		http_error(r, 404, "incident %llu not found",
		    (unsigned long long)id);
	else {
		if ((notices = notify_notices_json(r->h->sd->notifier, id)) ==
		    NULL)
			notices = agent_nlog_json(id);
		json_object_set_new(doc, "notifications", notices);
		http_reply_json(r, 200, doc);
	}
}

/*
 * Refuse POSTs a browser on another site could send: a cross-origin Origin,
 * or a form content type (those need no CORS preflight).
 */
static int
http_post_allowed(struct http_req *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *ctype, *origin, *host, *o;

	ctype = evhttp_find_header(in, "Content-Type");
	if (ctype != NULL &&
	    strncasecmp(ctype, HTTP_JSON, strlen(HTTP_JSON)) != 0) {
		http_error(r, 415, "Content-Type must be application/json");
		return (0);
	}
	origin = evhttp_find_header(in, "Origin");
	if (origin == NULL)
		return (1);
	host = evhttp_find_header(in, "Host");
	o = origin;
	if (strncasecmp(o, "http://", 7) == 0)
		o += 7;
	else if (strncasecmp(o, "https://", 8) == 0)
		o += 8;
	if (host == NULL || o == origin || strcasecmp(o, host) != 0) {
		http_error(r, 403, "cross-origin request refused");
		return (0);
	}
	return (1);
}

/* Read an optional string member of the body; -1 (and a 400) if wrong. */
static int
http_body_string(struct http_req *r, json_t *doc, const char *name, size_t max,
    char **out)
{
	json_t *v;

	*out = NULL;
	if ((v = json_object_get(doc, name)) == NULL || json_is_null(v))
		return (0);
	if (!json_is_string(v)) {
		http_error(r, 400, "%s: must be a string", name);
		return (-1);
	}
	if (json_string_length(v) > max) {
		http_error(r, 400, "%s: longer than %zu bytes", name, max);
		return (-1);
	}
	if (json_string_length(v) > 0)
		*out = xstrdup(json_string_value(v));
	return (0);
}

/* Parse the body {"actor": ..., "note": ...}; -1 after answering 400. */
static int
http_body(struct http_req *r, char **actor, char **note)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	json_error_t je;
	json_t *doc;
	int rc = -1;

	*actor = *note = NULL;
	if (len == 0)
		goto done;
	doc = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL || !json_is_object(doc)) {
		http_error(r, 400, "invalid JSON body: %s",
		    doc == NULL ? je.text : "not an object");
		json_decref(doc);
		return (-1);
	}
	if (http_body_string(r, doc, "actor", HTTP_MAX_ACTOR, actor) == 0 &&
	    http_body_string(r, doc, "note", HTTP_MAX_NOTE, note) == 0)
		rc = 0;
	json_decref(doc);
	if (rc != 0) {
		free(*actor);
		free(*note);
		return (-1);
	}
done:
	if (r->who.name[0] != '\0') { /* a logged-in user is who acts */
		free(*actor);
		*actor = xstrdup(r->who.name);
	}
	if (*actor == NULL)
		*actor = xstrdup("api");
	return (0);
}

typedef int (*http_change_fn)(struct incidents *, uint64_t, const char *,
    const char *, char **);

/* The status of a refused change: unknown incident 404, else conflict. */
static int
http_change_code(const char *err)
{
	if (err != NULL &&
	    (strncmp(err, "no incident", 11) == 0 ||
		strstr(err, "not found") != NULL))
		return (404);
	return (409);
}

/* A lifecycle change by a person: answer the incident as it is now. */
static void
http_change(struct http_req *r, http_change_fn fn, int need_note)
{
	struct incidents *inc = r->h->sd->incidents;
	uint64_t id;
	char *actor, *note, *err = NULL;
	json_t *doc;

	if (!http_post_allowed(r) || (id = http_id(r)) == 0)
		return;
	if (http_body(r, &actor, &note) != 0)
		return;
	if (need_note && note == NULL)
		http_error(r, 400, "note: required");
	else if (fn(inc, id, actor, note, &err) != 0) {
		http_error(r, http_change_code(err), "%s",
		    err != NULL ? err : "refused");
	} else if ((doc = incidents_get_json(inc, id)) == NULL)
		http_error(r, 404, "incident %llu not found",
		    (unsigned long long)id);
	else
		http_reply_json(r, 200, doc);
	free(err);
	free(actor);
	free(note);
}

/* POST /api/v1/incidents/{id}/ack. */
static void
http_ack(struct http_req *r)
{
	http_change(r, incidents_ack, 0);
}

/* POST /api/v1/incidents/{id}/resolve. */
static void
http_resolve(struct http_req *r)
{
	http_change(r, incidents_resolve, 0);
}

/* POST /api/v1/incidents/{id}/notes (note required). */
static void
http_notes(struct http_req *r)
{
	http_change(r, incidents_note, 1);
}

/* The body's "eta": RFC 3339 or local time, null or "" to clear. */
static int
http_body_eta(struct http_req *r, json_t *doc, int64_t *eta)
{
	const struct calendar *cal = policy_calendar(r->h->sd->policy);
	json_t *v;
	time_t t;

	*eta = -1;
	if ((v = json_object_get(doc, "eta")) == NULL)
		return (0);
	if (json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0)) {
		*eta = 0;
		return (0);
	}
	if (!json_is_string(v) || cal == NULL ||
	    calendar_parse_time(cal, json_string_value(v), &t) != 0) {
		http_error(r, 400,
		    "eta: expected a time such as "
		    "2026-12-05T21:00:00Z or \"2026-12-05 21:00\"");
		return (-1);
	}
	*eta = (int64_t)t;
	return (0);
}

/* A client field: a string, or null or "" to clear (then *out is ""). */
static int
http_body_field(struct http_req *r, json_t *doc, const char *name, char **out)
{
	json_t *v = json_object_get(doc, name);

	if (http_body_string(r, doc, name, HTTP_MAX_NOTE, out) != 0)
		return (-1);
	if (*out == NULL && v != NULL)
		*out = xstrdup("");
	return (0);
}

/*
 * POST /api/v1/incidents/{id}: set impact, workaround and eta (expected
 * recovery) of an active incident.
 */
static void
http_set(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	json_error_t je;
	json_t *doc, *out;
	char *actor = NULL, *impact = NULL, *work = NULL;
	char *err = NULL;
	uint64_t id;
	int64_t eta = -1;

	if (!http_post_allowed(r) || (id = http_id(r)) == 0)
		return;
	doc = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL || !json_is_object(doc)) {
		http_error(r, 400, "invalid JSON body: %s",
		    doc == NULL ? je.text : "not an object");
		json_decref(doc);
		return;
	}
	if (http_body_string(r, doc, "actor", HTTP_MAX_ACTOR, &actor) != 0 ||
	    http_body_field(r, doc, "impact", &impact) != 0 ||
	    http_body_field(r, doc, "workaround", &work) != 0 ||
	    http_body_eta(r, doc, &eta) != 0)
		goto done;
	if (r->who.name[0] != '\0') {
		free(actor);
		actor = xstrdup(r->who.name);
	}
	if (incidents_set_fields(r->h->sd->incidents, id,
		actor != NULL ? actor : "api", impact, work, eta, &err) != 0)
		http_error(r, http_change_code(err), "%s",
		    err != NULL ? err : "refused");
	else if ((out = incidents_get_json(r->h->sd->incidents, id)) == NULL)
		http_error(r, 404, "incident %llu not found",
		    (unsigned long long)id);
	else
		http_reply_json(r, 200, out);
done:
	json_decref(doc);
	free(actor);
	free(impact);
	free(work);
	free(err);
}

/*
 * GET /api/v1/incidents/{id}/report[?format=text|json]: the incident's
 * report for the client (JSON by default).
 */
static void
http_inc_report(struct http_req *r)
{
	struct evkeyvalq q;
	struct evbuffer *buf;
	const char *query, *fmt = NULL;
	uint64_t id;
	json_t *doc;
	char *text;

	if ((id = http_id(r)) == 0)
		return;
	TAILQ_INIT(&q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	if (query != NULL && evhttp_parse_query_str(query, &q) == 0)
		fmt = evhttp_find_header(&q, "format");
	if (query != NULL &&
	    (fmt == NULL ||
		(strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0))) {
		http_error(r, 400,
		    "bad query: want format=text or "
		    "format=json");
		goto done;
	}
	if ((doc = incidents_report_json(r->h->sd->incidents, id)) == NULL) {
		http_error(r, 404, "incident %llu not found",
		    (unsigned long long)id);
		goto done;
	}
	if (fmt == NULL || strcmp(fmt, "json") == 0) {
		http_reply_json(r, 200, doc);
		goto done;
	}
	text = incidents_report_text(doc);
	json_decref(doc);
	if (text == NULL) {
		http_error(r, 500, "out of memory");
		goto done;
	}
	buf = evbuffer_new();
	evbuffer_add(buf, text, strlen(text));
	free(text);
	http_headers(r->req, "text/plain; charset=utf-8", 0);
	httpcache_send(r->req, 200, buf);
	evbuffer_free(buf);
done:
	evhttp_clear_headers(&q);
}

/* GET /api/v1/audit[?limit=N]: what the last reloads changed. */
static void
http_audit(struct http_req *r)
{
	struct evkeyvalq q;
	const char *query, *v;
	long long limit = 100;

	TAILQ_INIT(&q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	if (query != NULL &&
	    (evhttp_parse_query_str(query, &q) != 0 ||
		(v = evhttp_find_header(&q, "limit")) == NULL ||
		http_number(v, 1, AUDIT_KEEP, &limit) != 0)) {
		http_error(r, 400, "bad query: want limit=1..%d", AUDIT_KEEP);
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	http_reply_json(r, 200, audit_list_json(r->h->sd, (size_t)limit));
}

/* The body's "owner" (required; "" or null: nobody); -1 after a 400. */
static int
http_body_owner(struct http_req *r, char **owner)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	json_t *doc;
	int rc;

	*owner = NULL;
	doc = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL || !json_is_object(doc) ||
	    json_object_get(doc, "owner") == NULL) {
		json_decref(doc);
		http_error(r, 400, "owner: required");
		return (-1);
	}
	rc = http_body_string(r, doc, "owner", HTTP_MAX_ACTOR, owner);
	json_decref(doc);
	return (rc);
}

/* POST /api/v1/incidents/{id}/assign: {"owner": NAME}. */
static void
http_assign(struct http_req *r)
{
	struct incidents *inc = r->h->sd->incidents;
	uint64_t id;
	char *actor, *note, *owner, *err = NULL;
	json_t *doc;

	if (!http_post_allowed(r) || (id = http_id(r)) == 0)
		return;
	if (http_body(r, &actor, &note) != 0)
		return;
	free(note); /* an assignment has no note */
	if (http_body_owner(r, &owner) != 0) {
		free(actor);
		return;
	}
	if (incidents_assign(inc, id, actor, owner, &err) != 0)
		http_error(r, http_change_code(err), "%s",
		    err != NULL ? err : "refused");
	else if ((doc = incidents_get_json(inc, id)) == NULL)
		http_error(r, 404, "incident %llu not found",
		    (unsigned long long)id);
	else
		http_reply_json(r, 200, doc);
	free(err);
	free(actor);
	free(owner);
}

/* POST /api/v1/login: a session for a user and password (auth.c). */
static void
http_login(struct http_req *r)
{
	auth_login_route(r->h->auth, r->req);
}

/* POST /api/v1/logout. */
static void
http_logout(struct http_req *r)
{
	auth_logout_route(r->h->auth, r->req);
}

/* GET /api/v1/session: who is logged in, the CSRF token. */
static void
http_session(struct http_req *r)
{
	auth_session_route(r->h->auth, r->req);
}

/* GET /healthz: alive, for start scripts and load balancers. */
static void
http_healthz(struct http_req *r)
{
	http_reply_json(r, 200,
	    json_pack("{s:s,s:s,s:I,s:I}", "status", "ok", "version",
		SOPD_VERSION, "uptime", (json_int_t)http_uptime(r->h),
		"incidents_active",
		(json_int_t)incidents_active_count(r->h->sd->incidents)));
}

/* The counters of one input as JSON. */
static json_t *
http_stats_input(enum stats_input i)
{
	const struct stats_input_counters *c = &stats.in[i];
	json_t *reasons;
	int k;

	reasons = json_object();
	for (k = 0; k < REASON_MAX; k++)
		json_object_set_new(reasons, stats_reason_name(k),
		    json_integer((json_int_t)c->reason[k]));
	return (json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:I}", "received",
	    (json_int_t)c->received, "accepted", (json_int_t)c->accepted,
	    "dropped", (json_int_t)c->dropped, "bytes", (json_int_t)c->bytes,
	    "sessions", (json_int_t)c->sessions, "reasons", reasons,
	    "kernel_drops", (json_int_t)c->kernel_drops));
}

/*
 * Append s as a JSON string: as it is when it holds only printable ASCII
 * other than '"' and '\\' (what jansson writes for it too), else as
 * jansson writes it; null if it is not UTF-8.
 */
static void
http_json_str(struct evbuffer *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *j;
	char *d;

	while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	if (*p == '\0') {
		evbuffer_add(b, "\"", 1);
		evbuffer_add(b, s, (size_t)(p - (const unsigned char *)s));
		evbuffer_add(b, "\"", 1);
		return;
	}
	j = json_string(s);
	d = j != NULL ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(j);
	if (d != NULL)
		evbuffer_add(b, d, strlen(d));
	else
		evbuffer_add(b, "null", 4);
	free(d);
}

/*
 * Every rule's counters, in load order, as a JSON array written straight
 * into b: with 10,000 rules, building them as jansson objects and dumping
 * those held the loop about 20 ms per request.
 */
static void
http_stats_rules(struct evbuffer *b, const struct ruleset *rs)
{
	const struct rule *rl;
	size_t i, n = rs != NULL ? ruleset_count(rs) : 0;

	evbuffer_add(b, "[", 1);
	for (i = 0; i < n; i++) {
		rl = ruleset_rule(rs, i);
		evbuffer_add(b,
		    i == 0 ? "{\"name\":" : ",{\"name\":", i == 0 ? 8 : 9);
		http_json_str(b, rl->name);
		evbuffer_add(b, ",\"file\":", 8);
		if (rl->file != NULL)
			http_json_str(b, rl->file);
		else
			evbuffer_add(b, "null", 4);
		evbuffer_add_printf(b,
		    ",\"line\":%d,\"matched\":%llu,\"cleared\":%llu}", rl->line,
		    (unsigned long long)rl->matched,
		    (unsigned long long)rl->cleared);
	}
	evbuffer_add(b, "]", 1);
}

/*
 * Send the stats document with the rules array written in place of its
 * "rules" member, which holds null until then (in compact JSON that text
 * can only be the member itself: a quote inside a string is escaped).
 */
static void
http_stats_send(struct http_req *r, json_t *doc)
{
	static const char key[] = "\"rules\":null";
	struct evbuffer *buf;
	char *s, *at = NULL;

	s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	buf = evbuffer_new();
	if (s != NULL && (at = strstr(s, key)) != NULL) {
		evbuffer_add(buf, s, (size_t)(at - s) + sizeof(key) - 5);
		http_stats_rules(buf, r->h->sd->rules);
		at += sizeof(key) - 1;
		evbuffer_add(buf, at, strlen(at));
	} else if (s != NULL)
		evbuffer_add(buf, s, strlen(s));
	if (s != NULL)
		evbuffer_add(buf, "\n", 1);
	free(s);
	http_headers(r->req, HTTP_JSON, 0);
	httpcache_send(r->req, 200, buf);
	evbuffer_free(buf);
}

/* "a, b" as ["a", "b"]. */
static json_t *
http_restart_needed(const char *s)
{
	json_t *a = json_array();
	const char *e;

	while (*s != '\0') {
		e = strchr(s, ',');
		json_array_append_new(a,
		    json_stringn(s, e != NULL ? (size_t)(e - s) : strlen(s)));
		if (e == NULL)
			break;
		s = e + 1;
		while (*s == ' ')
			s++;
	}
	return a;
}

/* The daemon's own state: version, uptime, configuration generation. */
static json_t *
http_stats_daemon(const struct http *h)
{
	const struct sopd *sd = h->sd;
	json_t *reload;

	reload =
	    json_pack("{s:o,s:b,s:s?}", "time", http_time_json(sd->last_reload),
		"ok", sd->last_reload == 0 || sd->last_reload_ok, "error",
		sd->last_reload_error[0] != '\0' && !sd->last_reload_ok ?
		    sd->last_reload_error :
		    NULL);
	json_object_set_new(reload, "restart_needed",
	    http_restart_needed(sd->restart_needed));
	return (json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:o}", "version",
	    SOPD_VERSION, "started", http_time_json(sd->started), "uptime",
	    (json_int_t)http_uptime(h), "generation",
	    (json_int_t)sd->generation, "reloads", (json_int_t)stats.reloads,
	    "reload_failures", (json_int_t)stats.reload_failures, "last_reload",
	    reload));
}

/* The holiday data: how many, and the date of the last. */
static json_t *
http_stats_calendar(const struct sopd *sd)
{
	const struct calendar *cal =
	    sd->policy != NULL ? policy_calendar(sd->policy) : NULL;
	char end[16];

	if (cal == NULL)
		return json_pack("{s:i, s:n}", "holidays", 0, "holidays_end");
	return json_pack("{s:I, s:o}", "holidays",
	    (json_int_t)calendar_holiday_count(cal), "holidays_end",
	    calendar_holidays_end(cal, end, sizeof(end)) ? json_string(end) :
							   json_null());
}

/*
 * The loop's longest stalls: of all work, and per kind of work (ms on the
 * monotonic clock), the most CPU time a turn of each kind took, and the
 * UDP turns that yielded with data waiting.
 */
static json_t *
http_stats_loop(void)
{
	json_t *per = json_object(), *cpu = json_object();
	int w;

	for (w = 0; w < LOOP_WORK_MAX; w++) {
		json_object_set_new(per, stats_work_name(w),
		    json_real(stats.loop_stall_us[w] / 1000.0));
		json_object_set_new(cpu, stats_work_name(w),
		    json_real(stats.loop_stall_cpu_us[w] / 1000.0));
	}
	return json_pack("{s:f,s:o,s:o,s:I}", "max_stall_ms",
	    stats.loop_max_stall_us / 1000.0, "stall_ms", per, "stall_cpu_ms",
	    cpu, "udp_read_yields", (json_int_t)stats.loop_udp_read_yields);
}

/* GET /api/v1/stats: inputs, rules, incidents, store, daemon. */
static void
http_stats(struct http_req *r)
{
	json_t *inputs = json_object(), *inc, *doc;
	int i;

	for (i = 0; i < INPUT_MAX; i++)
		json_object_set_new(inputs, stats_input_name(i),
		    http_stats_input(i));
	inc = incidents_stats_json(r->h->sd->incidents);
	doc = json_pack("{s:o,s:{s:I,s:I},s:o,s:o,"
			"s:{s:I,s:I,s:I,s:s,s:I},s:{s:i,s:i},s:o,s:o,s:{s:I},s:"
			"{s:I,s:I,s:b},"
			"s:o,s:o}",
	    "inputs", inputs, "events", "matched",
	    (json_int_t)stats.events_matched, "unmatched",
	    (json_int_t)stats.events_unmatched, "rules", json_null(),
	    "incidents", inc != NULL ? inc : json_object(), "store", "commits",
	    (json_int_t)stats.store_commits, "errors",
	    (json_int_t)stats.store_errors, "busy_retries",
	    (json_int_t)stats.store_busy_retries, "integrity",
	    stats.store_integrity_at == 0    ? "never" :
		stats.store_integrity_failed ? "damaged" :
					       "ok",
	    "integrity_checked_at", (json_int_t)stats.store_integrity_at,
	    "http", "connections", (int)r->h->nconn, "max_connections",
	    HTTP_MAX_CONNECTIONS, "daemon", http_stats_daemon(r->h), "notify",
	    notify_stats_json(r->h->sd->notifier), "escalation",
	    "notices_dropped",
	    (json_int_t)escalate_notices_dropped(r->h->sd->escalator), "snmp",
	    "reports_sent", (json_int_t)stats.snmp_reports_sent,
	    "reports_suppressed", (json_int_t)stats.snmp_reports_suppressed,
	    "engine_persist", snmp_engine_persisted(), "auth",
	    auth_stats_json(r->h->auth), "calendar",
	    http_stats_calendar(r->h->sd));
	if (doc != NULL)
		json_object_set_new(doc, "loop", http_stats_loop());
	http_stats_send(r, doc);
}

/* GET /api/v1/windows: the active and upcoming patch and change windows. */
static void
http_windows(struct http_req *r)
{
	struct escalator *e = r->h->sd->escalator;

	if (e == NULL)
		http_reply_json(r, 200, json_pack("{s:[]}", "windows"));
	else
		http_reply_json(r, 200, winapi_windows_json(e));
}

/* GET /api/v1/windows/{id}: a window and what happened in it. */
static void
http_window(struct http_req *r)
{
	struct escalator *e = r->h->sd->escalator;
	json_t *doc;

	if (e == NULL || (doc = winapi_window_json(e, r->arg[0])) == NULL)
		http_error(r, 404, "no window %.64s", r->arg[0]);
	else
		http_reply_json(r, 200, doc);
}

/*
 * A logged-in user or an API token is who acts on windows and changes:
 * its name replaces the body's member key (doc NULL: a new object).
 */
static json_t *
http_as_user(struct http_req *r, json_t *doc, const char *key)
{
	if (r->who.name[0] == '\0')
		return (doc);
	if (doc == NULL)
		doc = json_object();
	json_object_set_new(doc, key, json_string(r->who.name));
	return (doc);
}

/* POST /api/v1/windows: create a change window from a JSON body. */
static void
http_window_add(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	struct escalator *e = r->h->sd->escalator;
	json_error_t je;
	json_t *doc, *w;
	char *err = NULL, id[HTTP_MAX_ARGLEN];
	int status;

	if (!http_post_allowed(r))
		return;
	doc = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL || !json_is_object(doc)) {
		http_error(r, 400, "invalid JSON body: %s",
		    doc == NULL ? je.text : "not an object");
	} else if (e == NULL)
		http_error(r, 503, "windows are not available");
	else if (winapi_window_add(e, http_as_user(r, doc, "requester"), &err,
		     &status) != 0)
		http_error(r, status, "%s", err != NULL ? err : "refused");
	else {
		snprintf(id, sizeof(id), "%s",
		    json_string_value(json_object_get(doc, "id")));
		if ((w = winapi_window_json(e, id)) != NULL)
			http_reply_json(r, 201, w);
		else
			http_error(r, 500, "window %s lost", id);
	}
	json_decref(doc);
	free(err);
}

/* POST /api/v1/windows/{id}/cancel. */
static void
http_window_cancel(struct http_req *r)
{
	struct escalator *e = r->h->sd->escalator;
	char *err = NULL;
	json_t *w;
	int status;

	if (!http_post_allowed(r))
		return;
	if (e == NULL)
		http_error(r, 503, "windows are not available");
	else if (winapi_window_cancel(e, r->arg[0],
		     r->who.name[0] != '\0' ? r->who.name : NULL, &err,
		     &status) != 0)
		http_error(r, status, "%s", err != NULL ? err : "refused");
	else if ((w = winapi_window_json(e, r->arg[0])) != NULL)
		http_reply_json(r, 200, w);
	else
		http_error(r, 404, "no window %.64s", r->arg[0]);
	free(err);
}

/* GET /api/v1/changes: every change, its state and history. */
static void
http_changes(struct http_req *r)
{
	struct escalator *e = r->h->sd->escalator;

	if (e == NULL)
		http_reply_json(r, 200, json_pack("{s:[]}", "changes"));
	else
		http_reply_json(r, 200, winapi_changes_json(e));
}

/* POST /api/v1/changes/{id}/{action}: {actor, note}, both optional. */
static void
http_change_action(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	struct escalator *e = r->h->sd->escalator;
	json_error_t je;
	json_t *doc = NULL, *w;
	char *err = NULL;
	int status;

	if (!http_post_allowed(r))
		return;
	if (evbuffer_get_length(in) > 0 &&
	    ((doc = json_loadb((const char *)evbuffer_pullup(in, -1),
		  evbuffer_get_length(in), JSON_REJECT_DUPLICATES, &je)) ==
		    NULL ||
		!json_is_object(doc)))
		http_error(r, 400, "invalid JSON body: %s",
		    doc == NULL ? je.text : "not an object");
	else if (e == NULL)
		http_error(r, 503, "changes are not available");
	else if (winapi_change_action(e, r->arg[0], r->arg[1],
		     (doc = http_as_user(r, doc, "actor")), &err, &status) != 0)
		http_error(r, status, "%s", err != NULL ? err : "refused");
	else if ((w = winapi_window_json(e, r->arg[0])) != NULL)
		http_reply_json(r, 200, w);
	else
		http_error(r, 404, "no change %.64s", r->arg[0]);
	json_decref(doc);
	free(err);
}

/* GET /api/v1/expectations: expected events and silent hosts, with state. */
static void
http_expectations(struct http_req *r)
{
	struct expect *ex = r->h->sd->expect;

	if (ex == NULL)
		http_reply_json(r, 200,
		    json_pack("{s:[], s:[]}", "expectations", "silent"));
	else
		http_reply_json(r, 200, expect_status_json(ex));
}

/*
 * GET /api/v1/calendar: the business calendar's zone (where reports, hours
 * and windows are reckoned, and where sopctl prints times), its offset from
 * UTC now, and the length of a business day.
 */
static void
http_calendar(struct http_req *r)
{
	const struct calendar *cal = policy_calendar(r->h->sd->policy);
	time_t now = clock_now();
	struct tm tm;
	char off[8], local[40];
	long g;

	calendar_localtime(cal, now, &tm);
	g = tm.tm_gmtoff;
	snprintf(off, sizeof(off), "%c%02ld:%02ld", g < 0 ? '-' : '+',
	    labs(g) / 3600 % 100, labs(g) % 3600 / 60);
	strftime(local, sizeof(local) - sizeof(off), "%Y-%m-%dT%H:%M:%S", &tm);
	strcat(local, off);
	http_reply_json(r, 200,
	    json_pack("{s:s, s:s, s:o, s:s, s:I, s:I}", "timezone",
		calendar_tzname(cal), "utc_offset", off, "now",
		http_time_json(now), "local_time", local,
		"business_day_seconds",
		(json_int_t)calendar_business_day_seconds(cal), "holidays",
		(json_int_t)calendar_holiday_count(cal)));
}

/* The report query string: only date=YYYY-MM-DD; -1 (and a 400) if bad. */
static int
http_report_date(struct http_req *r, struct evkeyvalq *q, const char **date)
{
	const char *query;
	struct evkeyval *kv;
	int y, m, d;

	*date = NULL;
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	if (query == NULL)
		return (0);
	if (evhttp_parse_query_str(query, q) != 0) {
		http_error(r, 400, "malformed query string");
		return (-1);
	}
	TAILQ_FOREACH(kv, q, next)
	{
		if (strcmp(kv->key, "date") != 0 || *date != NULL ||
		    report_parse_date(kv->value, &y, &m, &d) != 0) {
			http_error(r, 400, "bad query: want date=YYYY-MM-DD");
			return (-1);
		}
		*date = kv->value;
	}
	return (0);
}

/* GET /api/v1/hosts: the polled hosts, their state and last values. */
static void
http_hosts(struct http_req *r)
{
	http_reply_json(r, 200, poll_hosts_json(r->h->sd->poller));
}

/* The query of a metrics read; -1 with msg. */
struct http_mq {
	const char *metric, *inst;
	long long from, to;
	int hourly; /* -1: by the range */
};

static int
http_mq_one(const char *k, const char *v, struct http_mq *m, char *msg,
    size_t len)
{
	if (strcmp(k, "metric") == 0 || strcmp(k, "inst") == 0) {
		if (*v == '\0' || strlen(v) > HTTP_MAX_FILTER) {
			snprintf(msg, len, "%s: 1 to %d bytes", k,
			    HTTP_MAX_FILTER);
			return (-1);
		}
		*(k[0] == 'm' ? &m->metric : &m->inst) = v;
	} else if (strcmp(k, "from") == 0 || strcmp(k, "to") == 0) {
		if (http_number(v, 0, 4102444800LL,
			k[0] == 'f' ? &m->from : &m->to) != 0) {
			snprintf(msg, len, "%s: seconds since the epoch", k);
			return (-1);
		}
	} else if (strcmp(k, "step") == 0) {
		if (strcmp(v, "5m") != 0 && strcmp(v, "1h") != 0) {
			snprintf(msg, len, "step: must be 5m or 1h");
			return (-1);
		}
		m->hourly = v[0] == '1';
	} else {
		snprintf(msg, len, "unknown parameter: %.64s", k);
		return (-1);
	}
	return (0);
}

static int
http_mq(struct evhttp_request *req, struct evkeyvalq *q, struct http_mq *m,
    char *msg, size_t len)
{
	const char *query;
	struct evkeyval *kv;
	long long now = (long long)clock_now();

	memset(m, 0, sizeof(*m));
	m->from = -1;
	m->to = -1;
	m->hourly = -1;
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query != NULL &&
	    (evhttp_parse_query_str(query, q) != 0 ||
		strstr(query, "%00") != NULL)) {
		snprintf(msg, len, "malformed query string");
		return (-1);
	}
	TAILQ_FOREACH(kv, q, next)
	{
		if (!http_utf8(kv->key) || !http_utf8(kv->value)) {
			snprintf(msg, len, "query string: not valid UTF-8");
			return (-1);
		}
		if (http_mq_one(kv->key, kv->value, m, msg, len) != 0)
			return (-1);
	}
	if (m->metric == NULL) {
		snprintf(msg, len, "metric: required");
		return (-1);
	}
	if (m->to < 0)
		m->to = now + 1;
	if (m->from < 0)
		m->from = m->to - 86400;
	if (m->from >= m->to) {
		snprintf(msg, len, "from must be before to");
		return (-1);
	}
	if (m->hourly < 0)
		m->hourly = m->to - m->from > 2 * 86400;
	if (m->to - m->from > (m->hourly ? 400LL : 8LL) * 86400) {
		snprintf(msg, len,
		    "range: at most 8 days of 5m points or "
		    "400 days of 1h points");
		return (-1);
	}
	return (0);
}

/* GET /api/v1/hosts/{host}/metrics?metric=&inst=&from=&to=&step=. */
static void
http_host_metrics(struct http_req *r)
{
	struct evkeyvalq q;
	struct http_mq m;
	char msg[256];
	json_t *doc;

	TAILQ_INIT(&q);
	if (!poll_has_host(r->h->sd->poller, r->arg[0]))
		http_error(r, 404, "host %.64s is not polled", r->arg[0]);
	else if (http_mq(r->req, &q, &m, msg, sizeof(msg)) != 0)
		http_error(r, 400, "%s", msg);
	else if ((doc = metrics_series_json(poll_metrics(r->h->sd->poller),
		      r->arg[0], m.metric, m.inst, m.from, m.to, m.hourly)) ==
	    NULL)
		http_error(r, 500, "cannot read metrics");
	else
		http_reply_json(r, 200, doc);
	evhttp_clear_headers(&q);
}

/* GET /api/v1/reports/{daily|weekly|monthly}[?date=YYYY-MM-DD]. */
static void
http_reports(struct http_req *r)
{
	struct evkeyvalq q;
	const char *date;
	char *err = NULL;
	json_t *doc;
	int kind;

	TAILQ_INIT(&q);
	if ((kind = report_kind_from_name(r->arg[0])) == -1)
		http_error(r, 404, "unknown report: %.32s", r->arg[0]);
	else if (http_report_date(r, &q, &date) == 0) {
		if ((doc = report_build(r->h->sd, kind, date, &err)) == NULL)
			http_error(r, 503, "%s", err != NULL ? err : "failed");
		else
			http_reply_json(r, 200, doc);
	}
	evhttp_clear_headers(&q);
	free(err);
}

/* One query parameter (NULL if absent); -1 (and a 400) if malformed. */
static int
http_query_param(struct http_req *r, struct evkeyvalq *q, const char *name,
    const char **out)
{
	const char *query;
	struct evkeyval *kv;

	*out = NULL;
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	if (query == NULL)
		return (0);
	if (evhttp_parse_query_str(query, q) != 0) {
		http_error(r, 400, "malformed query string");
		return (-1);
	}
	TAILQ_FOREACH(kv, q, next)
	{
		if (strcmp(kv->key, name) != 0) {
			http_error(r, 400, "bad query: only %s is known", name);
			return (-1);
		}
		*out = kv->value;
	}
	return (0);
}

/* GET /api/v1/schedule: the scheduled jobs and their recent runs. */
static void
http_schedule(struct http_req *r)
{
	json_t *doc;

	if ((doc = schedule_status_json(r->h->sd->schedule, 100)) == NULL)
		http_error(r, 503, "store not readable");
	else
		http_reply_json(r, 200, doc);
}

/* POST /api/v1/schedule/{job}/run: run a job now (recorded, delivered). */
static void
http_schedule_run(struct http_req *r)
{
	int job;

	if ((job = schedule_job_from_name(r->arg[0])) == -1)
		http_error(r, 404, "unknown job: %.32s", r->arg[0]);
	else if (schedule_run_now(r->h->sd->schedule, job) == -1)
		http_error(r, 503, "the run was not recorded");
	else
		http_reply_json(r, 200,
		    schedule_status_json(r->h->sd->schedule, 1));
}

/* GET /api/v1/reports/stored[?job=NAME]: the newest stored reports. */
static void
http_stored(struct http_req *r)
{
	struct evkeyvalq q;
	const char *job;
	json_t *doc;

	TAILQ_INIT(&q);
	if (http_query_param(r, &q, "job", &job) == 0) {
		if (job != NULL && schedule_job_from_name(job) == -1)
			http_error(r, 400, "unknown job: %.32s", job);
		else if ((doc = schedule_reports_json(r->h->sd->schedule, job,
			      100)) == NULL)
			http_error(r, 503, "store not readable");
		else
			http_reply_json(r, 200, doc);
	}
	evhttp_clear_headers(&q);
}

/* GET /api/v1/reports/stored/{id}[?format=json|text|html]. */
static void
http_stored_one(struct http_req *r)
{
	struct evkeyvalq q;
	struct evbuffer *b;
	const char *fmt;
	char *end, *s;
	long long id;
	json_t *doc;

	TAILQ_INIT(&q);
	id = strtoll(r->arg[0], &end, 10);
	if (*r->arg[0] == '\0' || *end != '\0' || id <= 0)
		http_error(r, 404, "no stored report %.32s", r->arg[0]);
	else if (http_query_param(r, &q, "format", &fmt) == -1)
		;
	else if (fmt != NULL && strcmp(fmt, "json") != 0 &&
	    strcmp(fmt, "text") != 0 && strcmp(fmt, "html") != 0)
		http_error(r, 400, "bad format: want json, text or html");
	else if ((doc = schedule_report_json(r->h->sd->schedule, id)) == NULL)
		http_error(r, 404, "no stored report %lld", id);
	else if (fmt == NULL || strcmp(fmt, "json") == 0)
		http_reply_json(r, 200, doc);
	else {
		if (strcmp(fmt, "text") == 0)
			s = schedule_render_text(
			    json_object_get(doc, "report"));
		else
			s = schedule_render_html(
			    json_object_get(doc, "report"));
		json_decref(doc);
		b = evbuffer_new();
		evbuffer_add(b, s, strlen(s));
		free(s);
		http_headers(r->req,
		    strcmp(fmt, "text") == 0 ? "text/plain; charset=utf-8" :
					       "text/html; charset=utf-8",
		    0);
		evhttp_send_reply(r->req, 200, NULL, b);
		evbuffer_free(b);
	}
	evhttp_clear_headers(&q);
}

/* Write a Prometheus label value, escaping \, " and newline. */
static void
http_metric_label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

/* Write the HELP and TYPE lines of a metric. */
static void
http_metric_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* Write one per-input counter family. */
static void
http_metric_inputs(struct evbuffer *b, const char *name, const char *type,
    const char *help, size_t off)
{
	const char *p;
	uint64_t v;
	int i;

	http_metric_head(b, name, type, help);
	for (i = 0; i < INPUT_MAX; i++) {
		p = (const char *)&stats.in[i] + off;
		memcpy(&v, p, sizeof(v));
		evbuffer_add_printf(b, "%s{input=\"%s\"} %llu\n", name,
		    stats_input_name(i), (unsigned long long)v);
	}
}

/* Input counters: received, accepted, dropped and repaired by reason. */
static void
http_metrics_input(struct evbuffer *b)
{
	const char *kind[2] = { "repaired", "dropped" };
	int i, k, d;

	http_metric_inputs(b, "sopd_input_received_total", "counter",
	    "Messages received per input.",
	    offsetof(struct stats_input_counters, received));
	http_metric_inputs(b, "sopd_input_accepted_total", "counter",
	    "Messages parsed and passed to the rules per input.",
	    offsetof(struct stats_input_counters, accepted));
	http_metric_inputs(b, "sopd_input_bytes_total", "counter",
	    "Bytes received per input.",
	    offsetof(struct stats_input_counters, bytes));
	http_metric_inputs(b, "sopd_input_sessions", "gauge",
	    "Stream sessions open now per input.",
	    offsetof(struct stats_input_counters, sessions));
	http_metric_inputs(b, "sopd_input_kernel_drops_total", "counter",
	    "Datagrams the kernel dropped per input: its receive buffer was "
	    "full.",
	    offsetof(struct stats_input_counters, kernel_drops));
	for (d = 1; d >= 0; d--) {
		evbuffer_add_printf(b,
		    "# HELP sopd_input_%s_total Messages %s "
		    "per input and reason.\n# TYPE sopd_input_%s_total "
		    "counter\n",
		    kind[d], kind[d], kind[d]);
		for (i = 0; i < INPUT_MAX; i++) {
			for (k = 0; k < REASON_MAX; k++) {
				if (stats_reason_drops(k) != d)
					continue;
				evbuffer_add_printf(b,
				    "sopd_input_%s_total"
				    "{input=\"%s\",reason=\"%s\"} %llu\n",
				    kind[d], stats_input_name(i),
				    stats_reason_name(k),
				    (unsigned long long)stats.in[i].reason[k]);
			}
		}
	}
}

/* Rule counters: events matched and cleared per rule. */
static void
http_metrics_rules(struct evbuffer *b, const struct ruleset *rs)
{
	const struct rule *rl;
	size_t i, n = rs != NULL ? ruleset_count(rs) : 0;
	int c;

	for (c = 0; c < 2; c++) {
		http_metric_head(b,
		    c ? "sopd_rule_cleared_total" : "sopd_rule_matched_total",
		    "counter",
		    c ? "Events taken by a rule's clear condition." :
			"Events taken by a rule's match condition.");
		for (i = 0; i < n; i++) {
			rl = ruleset_rule(rs, i);
			evbuffer_add_printf(b, "sopd_rule_%s_total{rule=\"",
			    c ? "cleared" : "matched");
			http_metric_label(b, rl->name);
			evbuffer_add_printf(b, "\"} %llu\n",
			    (unsigned long long)(c ? rl->cleared :
						     rl->matched));
		}
	}
}

/* Active incidents by severity, read from the incidents' stats document. */
static void
http_metrics_incidents(struct evbuffer *b, struct incidents *inc)
{
	json_t *st, *by, *v;
	int s;

	st = incidents_stats_json(inc);
	by = json_object_get(st, "by_severity");
	http_metric_head(b, "sopd_incidents_active", "gauge",
	    "Open or acknowledged incidents by severity.");
	for (s = 0; s < SEV_MAX; s++) {
		v = json_object_get(by, severity_name(s));
		evbuffer_add_printf(b,
		    "sopd_incidents_active{severity=\"%s\"} "
		    "%lld\n",
		    severity_name(s),
		    json_is_integer(v) ? (long long)json_integer_value(v) : 0);
	}
	json_decref(st);
}

/* Notification counters per target (names are [A-Za-z0-9_.-]). */
static void
http_metrics_notify(struct evbuffer *b, struct notifier *n)
{
	static const char *f[] = { "sent", "failed", "retried", "dropped",
		"queued" };
	json_t *st = notify_stats_json(n), *t;
	const char *name;
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(*f); i++) {
		evbuffer_add_printf(b,
		    "# HELP sopd_notify_%s%s Notifications "
		    "%s, per target.\n# TYPE sopd_notify_%s%s %s\n",
		    f[i], i < 4 ? "_total" : "", f[i], f[i],
		    i < 4 ? "_total" : "", i < 4 ? "counter" : "gauge");
		json_object_foreach(json_object_get(st, "targets"), name, t)
		{
			evbuffer_add_printf(b,
			    "sopd_notify_%s%s{target=\"%s\","
			    "type=\"%s\"} %lld\n",
			    f[i], i < 4 ? "_total" : "", name,
			    json_string_value(json_object_get(t, "type")),
			    (long long)json_integer_value(
				json_object_get(t, f[i])));
		}
	}
	json_decref(st);
}

/* Daemon-wide counters and gauges. */
static void
http_metrics_daemon(struct evbuffer *b, const struct http *h)
{
	const struct {
		const char *name, *type, *help;
		long long v;
	} m[] = {
		{ "sopd_events_matched_total", "counter",
		    "Events taken by an incident rule.",
		    (long long)stats.events_matched },
		{ "sopd_events_unmatched_total", "counter",
		    "Events no rule took.", (long long)stats.events_unmatched },
		{ "sopd_incidents_opened_total", "counter", "Incidents opened.",
		    (long long)stats.incidents_opened },
		{ "sopd_incidents_resolved_total", "counter",
		    "Incidents resolved.",
		    (long long)stats.incidents_resolved },
		{ "sopd_store_commits_total", "counter",
		    "Store transactions committed.",
		    (long long)stats.store_commits },
		{ "sopd_store_errors_total", "counter", "Store errors.",
		    (long long)stats.store_errors },
		{ "sopd_store_busy_retries_total", "counter",
		    "Commits retried: another process held the database's "
		    "lock.",
		    (long long)stats.store_busy_retries },
		{ "sopd_store_integrity_damaged", "gauge",
		    "1 when the last full integrity check found damage.",
		    (long long)stats.store_integrity_failed },
		{ "sopd_store_integrity_checked_timestamp_seconds", "gauge",
		    "When the last full integrity check ended (0: never).",
		    (long long)stats.store_integrity_at },
		{ "sopd_snmp_reports_sent_total", "counter",
		    "SNMPv3 requests answered with a Report (unknown engine ID "
		    "or user).",
		    (long long)stats.snmp_reports_sent },
		{ "sopd_snmp_reports_suppressed_total", "counter",
		    "SNMPv3 requests over the Report budget of their source: "
		    "dropped unanswered.",
		    (long long)stats.snmp_reports_suppressed },
		{ "sopd_escalation_notices_dropped_total", "counter",
		    "Escalation notices dropped: too many waited for a commit.",
		    (long long)escalate_notices_dropped(h->sd->escalator) },
		{ "sopd_reloads_total", "counter", "Successful reloads.",
		    (long long)stats.reloads },
		{ "sopd_reload_failures_total", "counter", "Failed reloads.",
		    (long long)stats.reload_failures },
		{ "sopd_config_generation", "gauge",
		    "Configuration generation.", (long long)h->sd->generation },
		{ "sopd_uptime_seconds", "gauge", "Seconds since start.",
		    http_uptime(h) },
		{ "sopd_http_connections", "gauge",
		    "HTTP connections open now.", (long long)h->nconn },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		http_metric_head(b, m[i].name, m[i].type, m[i].help);
		evbuffer_add_printf(b, "%s %lld\n", m[i].name, m[i].v);
	}
}

/* GET /metrics: Prometheus' text exposition format 0.0.4. */
static void
http_metrics(struct http_req *r)
{
	struct evbuffer *b = evbuffer_new();

	http_metrics_input(b);
	http_metrics_rules(b, r->h->sd->rules);
	http_metrics_incidents(b, r->h->sd->incidents);
	http_metrics_daemon(b, r->h);
	http_metrics_notify(b, r->h->sd->notifier);
	auth_metrics(r->h->auth, b);
	http_headers(r->req, "text/plain; version=0.0.4; charset=utf-8", 0);
	evhttp_send_reply(r->req, 200, NULL, b);
	evbuffer_free(b);
}

/* The content type of a static file, by its extension. */
static const char *
http_ctype(const char *name)
{
	static const struct {
		const char *ext, *type;
	} t[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(dot, t[i].ext) == 0)
			return (t[i].type);
	}
	return ("application/octet-stream");
}

/* Whether a file name is safe to serve: no slash, no dot first, plain chars. */
static int
http_safe_name(const char *name)
{
	const char *p;

	if (*name == '\0' || *name == '.' || strlen(name) > 64)
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return (0);
	}
	return (1);
}

/* Read a regular file of bounded size into a buffer; -1 if not possible. */
static int
http_read_file(const char *path, struct evbuffer *b)
{
	struct stat st;
	char buf[16384];
	ssize_t n;
	size_t total = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > HTTP_MAX_STATIC) {
		close(fd);
		return (-1);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		if (total > HTTP_MAX_STATIC)
			break;
		evbuffer_add(b, buf, (size_t)n);
	}
	close(fd);
	return (n == 0 ? 0 : -1);
}

/* Serve one file of the web directory. */
static void
http_file(struct http_req *r, const char *name)
{
	struct evbuffer *b;
	char *path;

	if (r->h->webdir == NULL || !http_safe_name(name)) {
		http_error(r, 404, "not found");
		return;
	}
	xasprintf(&path, "%s/%s", r->h->webdir, name);
	b = evbuffer_new();
	if (http_read_file(path, b) != 0)
		http_error(r, 404, "not found");
	else {
		http_headers(r->req, http_ctype(name), 1);
		evhttp_send_reply(r->req, 200, NULL, b);
	}
	evbuffer_free(b);
	free(path);
}

/* GET /: the status page. */
static void
http_index(struct http_req *r)
{
	http_file(r, "index.html");
}

/* GET /static/NAME: the page's scripts and styles. */
static void
http_static(struct http_req *r)
{
	http_file(r, r->arg[0]);
}

/* Whether DIR holds the status page; its real path if so. */
static char *
http_webdir_try(const char *dir)
{
	char *idx, *real;

	if (dir == NULL)
		return (NULL);
	xasprintf(&idx, "%s/index.html", dir);
	if (access(idx, R_OK) != 0 || (real = realpath(dir, NULL)) == NULL)
		real = NULL;
	free(idx);
	return (real);
}

/*
 * Find the web directory: $SOPD_WEBDIR, next to the config's directory,
 * next to the binary (build/ and build/asan/ in the tree), the installed one.
 */
static char *
http_webdir(const struct config *cfg)
{
	char exe[PATH_MAX], *c[6] = { NULL }, *found = NULL, *p;
	ssize_t n;
	size_t i;

	if ((p = getenv("SOPD_WEBDIR")) != NULL && *p != '\0')
		c[0] = xstrdup(p);
	if (cfg->base_dir != NULL) {
		xasprintf(&c[1], "%s/../web", cfg->base_dir);
		xasprintf(&c[2], "%s/web", cfg->base_dir);
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((p = strrchr(exe, '/')) != NULL)
			*p = '\0';
		xasprintf(&c[3], "%s/../web", exe);
		xasprintf(&c[4], "%s/../../web", exe);
	}
	c[5] = xstrdup(SOPD_WEBDIR);
	for (i = 0; i < 6; i++) {
		if (found == NULL)
			found = http_webdir_try(c[i]);
		free(c[i]);
	}
	return (found);
}

/* The message of an error evhttp answered itself. */
static const char *
http_errpage_message(int code)
{
	switch (code) {
	case 400:
		return "malformed request";
	case 413:
		return "request body over " HTTP_STR(HTTP_MAX_BODY) " bytes";
	case 417:
		return "expectation not supported";
	case 501:
		return "method not implemented";
	default:
		return "request refused";
	}
}

/*
 * Rewrite one of evhttp's own error pages at the start of p (len bytes) as
 * {"error": ...}; -1 if p does not hold a whole one.  evhttp's pages have
 * "Content-Type: text/html", a Content-Length and an <HTML> body.
 */
static int
http_errpage_rewrite(const char *p, size_t len, struct evbuffer *json,
    size_t *pagelen)
{
	const char *end, *cl, *line, *next;
	unsigned long body;
	json_t *o;
	char *doc;
	int code;

	if ((end = memmem(p, len, "\r\n\r\n", 4)) == NULL ||
	    memmem(p, (size_t)(end - p) + 2, "\r\nContent-Type: text/html\r\n",
		27) == NULL ||
	    (cl = memmem(p, (size_t)(end - p) + 2,
		 "\r\nContent-Length: ", 18)) == NULL)
		return -1;
	body = strtoul(cl + 18, NULL, 10);
	end += 4;
	if (body > len - (size_t)(end - p) ||
	    (size_t)(len - (size_t)(end - p)) < 12 ||
	    strncmp(end, "<HTML><HEAD>", 12) != 0)
		return -1;
	*pagelen = (size_t)(end - p) + body;
	code = atoi(p + 9);
	line = (const char *)memchr(p, '\n', len) + 1;
	evbuffer_add(json, p, (size_t)(line - p));
	for (; line < end - 2; line = next) {
		next =
		    (const char *)memchr(line, '\n', (size_t)(end - line)) + 1;
		if (strncasecmp(line, "Content-Type:", 13) != 0 &&
		    strncasecmp(line, "Content-Length:", 15) != 0)
			evbuffer_add(json, line, (size_t)(next - line));
	}
	o = json_pack("{s:s}", "error", http_errpage_message(code));
	doc = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (doc == NULL)
		return -1;
	evbuffer_add_printf(json,
	    "Content-Type: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Length: %zu\r\n\r\n%s\n",
	    HTTP_JSON, strlen(doc) + 1, doc);
	free(doc);
	return 0;
}

/*
 * evhttp answers some requests itself, with an HTML page: a body over
 * HTTP_MAX_BODY (413), an unknown method (501), a malformed request (400).
 * A response is written whole into the connection's output buffer before
 * any of it is sent, and the buffer is empty when one starts (evhttp waits
 * for the previous one to drain), so this callback on the buffer sees such
 * a page complete and turns it into JSON before it leaves.
 */
static void
http_errpage_cb(struct evbuffer *out, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct evbuffer *json;
	char head[10];
	size_t len = evbuffer_get_length(out), pagelen;
	const char *p;

	if (info->n_added == 0 || len > HTTP_ERRPAGE_MAX ||
	    evbuffer_copyout(out, head, sizeof(head)) != sizeof(head) ||
	    memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' ||
	    (head[9] != '4' && head[9] != '5'))
		return;
	p = (const char *)evbuffer_pullup(out, -1);
	json = evbuffer_new();
	if (http_errpage_rewrite(p, len, json, &pagelen) == 0) {
		evbuffer_drain(out, pagelen);
		evbuffer_prepend_buffer(out, json);
	}
	evbuffer_free(json);
}

/* Reap connections evhttp has let go, and accept again below the cap. */
static void
http_sweep(struct http *h, int all)
{
	bufferevent_data_cb rcb, wcb;
	bufferevent_event_cb ecb;
	void *arg;
	unsigned i, j = 0;

	for (i = 0; i < h->nconn; i++) {
		bufferevent_getcb(h->conn[i], &rcb, &wcb, &ecb, &arg);
		if (!all && ecb != NULL) {
			h->conn[j++] = h->conn[i];
			continue;
		}
		bufferevent_disable(h->conn[i], EV_READ | EV_WRITE);
		bufferevent_decref(h->conn[i]);
	}
	h->nconn = j;
	if (h->nconn == 0)
		evtimer_del(h->sweep);
	if (!all && !h->paused && h->nconn < HTTP_MAX_CONNECTIONS)
		http_accepting(h, 1);
}

/* Accept on every listening address, or on none. */
static void
http_accepting(struct http *h, int on)
{
	size_t i;

	for (i = 0; i < h->nsrv; i++) {
		if (on)
			evconnlistener_enable(h->srv[i].listener);
		else
			evconnlistener_disable(h->srv[i].listener);
	}
}

/* Timer: reap closed connections. */
static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	http_sweep(arg, 0);
}

/* A connection's bufferevent: TLS when its address speaks HTTPS. */
static struct bufferevent *
http_bev_new(struct http_srv *s, struct event_base *base)
{
	struct bufferevent *bev;
	SSL_CTX *ctx = s->https ? auth_tls_ctx(s->h->auth) : NULL;
	SSL *ssl;

	if (ctx == NULL)
		return (
		    bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE));
	if ((ssl = SSL_new(ctx)) == NULL)
		return (NULL);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (bev);
}

/*
 * Create each accepted connection's bufferevent, holding a reference so
 * that its release by evhttp (callbacks cleared) can be seen and counted.
 * At the cap, accepting stops: new clients wait in the listen backlog.
 */
static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct http_srv *s = arg;
	struct http *h = s->h;
	struct bufferevent *bev;
	struct timeval tv = { 0, HTTP_SWEEP_USEC };

	if ((bev = http_bev_new(s, base)) == NULL)
		return (NULL);
	bufferevent_setwatermark(bev, EV_READ, 0, HTTP_BEV_HIGHWAT);
	evbuffer_add_cb(bufferevent_get_output(bev), http_errpage_cb, NULL);
	if (h->nconn >= HTTP_MAX_CONNECTIONS)
		http_sweep(h, 0);
	if (h->nconn < HTTP_MAX_CONNECTIONS) {
		bufferevent_incref(bev);
		h->conn[h->nconn++] = bev;
		if (!evtimer_pending(h->sweep, NULL))
			evtimer_add(h->sweep, &tv);
	}
	if (h->nconn >= HTTP_MAX_CONNECTIONS)
		http_accepting(h, 0);
	return (bev);
}

/*
 * Listener error (EMFILE and friends): pause accepting for a second. The
 * callback's argument is evhttp's, so our server is found by its listener.
 */
static void
http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http *h;
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();
	size_t i = 0;

	for (h = http_all; h != NULL; h = h->next) {
		for (i = 0; i < h->nsrv && h->srv[i].listener != l; i++)
			;
		if (i < h->nsrv)
			break;
	}
	if (h == NULL)
		return;
	log_warnx("http: accept: %s", evutil_socket_error_to_string(err));
	http_accepting(h, 0);
	h->paused = 1;
	evtimer_add(h->resume, &tv);
}

/* Timer: accept again after a pause. */
static void
http_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	h->paused = 0;
	if (h->nconn < HTTP_MAX_CONNECTIONS)
		http_accepting(h, 1);
}

/* Bind the listening socket on "host:port"; -1 with *cause. */
static int
http_listen(struct http_srv *s, const char *addr, char **cause)
{
	struct addrinfo hints, *ai;
	char host[256], port[32];
	int error;
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (config_split_addr(addr, host, sizeof(host), port, sizeof(port)) !=
	    0) {
		xasprintf(cause, "bad listen address: %s", addr);
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &ai)) != 0) {
		xasprintf(cause, "%s: %s", addr, gai_strerror(error));
		return (-1);
	}
	s->listener = evconnlistener_new_bind(s->h->sd->base, NULL, NULL, flags,
	    128, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (s->listener == NULL) {
		xasprintf(cause, "listen on %s: %s", addr, strerror(errno));
		return (-1);
	}
	return (0);
}

/* Start the HTTP server on the configured addresses (http.listen). */
/* Serve one bound address with an evhttp of its own. */
static void
http_srv_start(struct http_srv *s)
{
	s->eh = evhttp_new(s->h->sd->base);
	evhttp_set_max_headers_size(s->eh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(s->eh, HTTP_MAX_BODY);
	evhttp_set_timeout(s->eh, HTTP_TIMEOUT);
	/* Known methods reach the routes (405 there); others get a 501. */
	evhttp_set_allowed_methods(s->eh,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(s->eh, http_bev_cb, s);
	evhttp_set_gencb(s->eh, http_request_cb, s->h);
	evhttp_bind_listener(s->eh, s->listener);
	evconnlistener_set_error_cb(s->listener, http_accept_error_cb);
}

struct http *
http_start(struct sopd *sd, char **cause)
{
	const struct auth_listen *ls;
	struct http *h;
	size_t i, n;

	if (sd->cfg->http_listen == NULL) {
		xasprintf(cause, "no listen address");
		return (NULL);
	}
	h = xcalloc(1, sizeof(*h));
	h->sd = sd;
	if ((h->auth = auth_new(sd, cause)) == NULL) {
		free(h);
		return (NULL);
	}
	n = auth_listens(h->auth, &ls);
	for (i = 0; i < n; i++) {
		h->srv[i].h = h;
		h->srv[i].https = ls[i].https;
		if (http_listen(&h->srv[i], ls[i].addr, cause) != 0) {
			while (i-- > 0)
				evconnlistener_free(h->srv[i].listener);
			auth_free(h->auth);
			free(h);
			return (NULL);
		}
	}
	h->nsrv = n;
	h->sweep = event_new(sd->base, -1, EV_PERSIST, http_sweep_cb, h);
	h->resume = evtimer_new(sd->base, http_resume_cb, h);
	for (i = 0; i < n; i++)
		http_srv_start(&h->srv[i]);
	h->next = http_all;
	http_all = h;
	h->webdir = http_webdir(sd->cfg);
	if (h->webdir == NULL)
		log_warnx("http: no web directory found; status page disabled");
	for (i = 0; i < n; i++)
		log_info("http: listening on %s (%s)", ls[i].addr,
		    ls[i].https ? "https" : "http");
	return (h);
}

/* Stop serving: close the listener and every connection. */
void
http_stop(struct http *h)
{
	struct http **pp;
	size_t i;

	if (h == NULL)
		return;
	for (pp = &http_all; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	for (i = 0; i < h->nsrv; i++)
		evhttp_free(h->srv[i].eh);
	http_sweep(h, 1);
	event_free(h->sweep);
	event_free(h->resume);
	free(h->webdir);
	auth_free(h->auth);
	free(h);
}

/* Connections open now. */
unsigned
http_connections(const struct http *h)
{
	return (h != NULL ? h->nconn : 0);
}
