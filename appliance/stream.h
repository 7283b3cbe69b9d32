/* stream.h: the sessions of a stream syslog input (TCP, TLS). */
#ifndef SOPD_STREAM_H
#define SOPD_STREAM_H

#include <event2/util.h>

#include "stats.h"

struct bufferevent;
struct sopd;
struct stream;

struct stream_session {
	struct stream *st;
	struct bufferevent *bev;
	struct framer *fr;
	void *data; /* the transport's own state */
	char peer[64];
	struct stream_session *prev, *next;
};

/* What a stream_ops event hook did with an event. */
#define STREAM_EVENT_PASS  0 /* not handled: EOF, idle or error */
#define STREAM_EVENT_KEEP  1 /* handled, the session goes on */
#define STREAM_EVENT_CLOSE 2 /* handled, close the session */

struct stream_ops {
	enum stats_input input;
	const char *name; /* "tcp", "tls": in the logs */
	/* The bufferevent of an accepted socket; NULL when it cannot. */
	struct bufferevent *(
	    *start)(struct stream_session *, evutil_socket_t, void *arg);
	/* An event before the common handling (may be NULL). */
	int (*event)(struct stream_session *, short);
	/* Log why a connection failed (NULL: errno on an error event). */
	void (*error)(struct stream_session *, short);
	/* Release the session's data (may be NULL). */
	void (*free)(struct stream_session *);
};

/* Listen on addr and run sessions with ops; NULL with *cause on failure. */
struct stream *stream_open(struct sopd *, const char *addr,
    const struct stream_ops *, void *arg, char **cause);
/* Close the input and every session. */
void stream_close(struct stream *);
/* Close a session and forget it. */
void stream_session_free(struct stream_session *);

#endif
