/* http.h: the HTTP API, /metrics, /healthz and the status page (evhttp). */
#ifndef SOPD_HTTP_H
#define SOPD_HTTP_H

struct sopd;
struct http;

#define HTTP_MAX_CONNECTIONS 64	   /* open connections at once */
#define HTTP_MAX_HEADERS     16384 /* bytes of request headers */
#define HTTP_MAX_BODY	     65536 /* bytes of a request body */
#define HTTP_TIMEOUT	     15	   /* seconds of read/write inactivity */

/*
 * Listen on sd->cfg->http_listen and serve from sd's state. NULL with
 * *cause (malloc'd) on failure.
 */
struct http *http_start(struct sopd *, char **cause);
/* Close the listener and every connection. */
void http_stop(struct http *);
/* Connections open now (for stats and tests). */
unsigned http_connections(const struct http *);

#endif
