/* notify_webhook.c: HTTP POST of a notice as JSON with libevent's evhttp client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "log.h"
#include "notify_int.h"
#include "xmalloc.h"

/* A target's connection (kept across deliveries) and its request. */
struct notify_webhook {
	struct evhttp_connection *conn;
	struct evdns_base *dns;	    /* only for host names */
	struct evhttp_request *req; /* in flight */
	char *host;
	char *path; /* path and query */
	int port;
	int closing;
};

/* The answer came (or the connection failed): 2xx is success. */
static void
notify_webhook_cb(struct evhttp_request *req, void *arg)
{
	struct notify_target *t = arg;
	struct notify_webhook *w = t->state;
	int code;
	char why[48];

	if (w == NULL || w->closing)
		return;
	w->req = NULL;
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code >= 200 && code < 300) {
		notify_done(t, 1, NULL);
		return;
	}
	if (code == 0)
		snprintf(why, sizeof(why), "no answer");
	else
		snprintf(why, sizeof(why), "HTTP %d", code);
	notify_done(t, 0, why);
}

/* Split the URL and make the connection (once). */
static struct notify_webhook *
notify_webhook_open(struct notify_target *t)
{
	struct notify_webhook *w = t->state;
	struct evhttp_uri *u;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	const char *p, *q;

	if (w != NULL && w->conn != NULL)
		return w;
	if (w == NULL)
		w = t->state = xcalloc(1, sizeof(*w));
	if ((u = evhttp_uri_parse(t->c.url)) == NULL)
		return NULL;
	free(w->host);
	free(w->path);
	w->host = xstrdup(evhttp_uri_get_host(u));
	w->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	p = evhttp_uri_get_path(u);
	q = evhttp_uri_get_query(u);
	xasprintf(&w->path, "%s%s%s", p != NULL && *p != '\0' ? p : "/",
	    q != NULL ? "?" : "", q != NULL ? q : "");
	evhttp_uri_free(u);
	/* A literal address needs no resolver; a name uses evdns, never blocking. */
	if (w->dns == NULL &&
	    evutil_parse_sockaddr_port(w->host, (struct sockaddr *)&ss,
		&sslen) != 0)
		w->dns =
		    evdns_base_new(t->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	w->conn = evhttp_connection_base_new(t->base, w->dns, w->host,
	    (unsigned short)w->port);
	if (w->conn == NULL)
		return NULL;
	evhttp_connection_set_timeout(w->conn, (int)t->c.timeout);
	evhttp_connection_set_retries(w->conn, 0);
	evhttp_connection_set_max_body_size(w->conn, 65536);
	evhttp_connection_set_max_headers_size(w->conn, 16384);
	return w;
}

/* POST the notice. */
static int
notify_webhook_start(struct notify_target *t, struct notify_msg *m)
{
	struct notify_webhook *w;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	json_t *doc;
	char *body, hosthdr[300];

	if ((w = notify_webhook_open(t)) == NULL) {
		log_warnx("notify %s: cannot open %s", t->c.name, t->c.url);
		return -1;
	}
	if (m->body_json != NULL)
		body = xstrdup(m->body_json);
	else {
		doc = notify_json(m);
		body = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
	req = evhttp_request_new(notify_webhook_cb, t);
	h = evhttp_request_get_output_headers(req);
	snprintf(hosthdr, sizeof(hosthdr), "%s:%d", w->host, w->port);
	evhttp_add_header(h, "Host", hosthdr);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "sopd");
	evhttp_add_header(h, "Idempotency-Key", m->idem);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	free(body);
	if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, w->path) != 0) {
		/* evhttp freed the request. */
		log_warnx("notify %s: cannot send to %s", t->c.name, t->c.url);
		return -1;
	}
	w->req = req;
	return 0;
}

/* Drop the connection (a request in flight is abandoned). */
static void
notify_webhook_free(struct notify_target *t)
{
	struct notify_webhook *w = t->state;

	if (w == NULL)
		return;
	w->closing = 1;
	if (w->conn != NULL)
		evhttp_connection_free(w->conn);
	if (w->dns != NULL)
		evdns_base_free(w->dns, 0);
	free(w->host);
	free(w->path);
	free(w);
	t->state = NULL;
}

const struct notify_ops notify_webhook_ops = {
	notify_webhook_start,
	notify_webhook_free,
};
