/* stream.c: stream syslog sessions, RFC 6587 framing detected per session. */
#include <sys/socket.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "framing.h"
#include "listen.h"
#include "log.h"
#include "pipeline.h"
#include "stats.h"
#include "stream.h"
#include "xmalloc.h"

struct stream {
	struct sopd *sd;
	const struct stream_ops *ops;
	void *arg; /* the transport's listener */
	struct evconnlistener *lev;
	size_t nsessions;
	struct stream_session *sessions; /* doubly linked */
	char *msg;			 /* one message, max+1 bytes */
	size_t msgsize;
};

/* Close a session and forget it. */
void
stream_session_free(struct stream_session *s)
{
	struct stream *st = s->st;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		st->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	st->nsessions--;
	stats.in[st->ops->input].sessions = st->nsessions;
	if (st->ops->free != NULL)
		st->ops->free(s);
	bufferevent_free(s->bev);
	framing_free(s->fr);
	free(s);
}

/* Hand every complete frame to the pipeline; -1 on a framing error. */
static int
stream_drain(struct stream_session *s)
{
	struct stream *st = s->st;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len;
	unsigned flags;
	int rc;

	for (;;) {
		flags = 0;
		rc =
		    framing_next(s->fr, in, st->msg, st->msgsize, &len, &flags);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			stats_count(st->ops->input, REASON_FRAMING);
			log_debugs(LOG_SYS_INPUT,
			    "%s %s: framing error, closing", st->ops->name,
			    s->peer);
			return -1;
		}
		pipeline_syslog(st->sd, st->ops->input, st->msg, len, flags,
		    s->peer, pipeline_now_us());
	}
}

/* Data arrived. */
static void
stream_read_cb(struct bufferevent *bev, void *arg)
{
	struct stream_session *s = arg;

	if (stream_drain(s) == -1)
		stream_session_free(s);
}

/* A last line without a newline still counts when the sender closes. */
static void
stream_flush_tail(struct stream_session *s)
{
	struct stream *st = s->st;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len;
	unsigned flags;

	if (framing_mode(s->fr) == FRAMER_OCTET &&
	    evbuffer_get_length(in) > 0) {
		/* The sender closed inside a frame: count it, it is lost. */
		stats.in[st->ops->input].received++;
		stats_count(st->ops->input, REASON_MALFORMED);
	}
	if (framing_eof(s->fr, in, st->msg, st->msgsize, &len, &flags) == 1) {
		stats_count(st->ops->input, REASON_UNTERMINATED);
		pipeline_syslog(st->sd, st->ops->input, st->msg, len, flags,
		    s->peer, pipeline_now_us());
	}
}

/* How a session ended on its own: EOF, idle timeout or error. */
static void
stream_session_end(struct stream_session *s, short what)
{
	const struct stream_ops *ops = s->st->ops;

	if (what & BEV_EVENT_EOF) {
		if (stream_drain(s) == 0)
			stream_flush_tail(s);
	} else if (what & BEV_EVENT_TIMEOUT)
		log_debugs(LOG_SYS_INPUT, "%s %s: idle, closing", ops->name,
		    s->peer);
	else if (ops->error != NULL)
		ops->error(s, what);
	else if (what & BEV_EVENT_ERROR)
		log_debugs(LOG_SYS_INPUT, "%s %s: %s", ops->name, s->peer,
		    strerror(errno));
}

/* The transport's events first, then the common end of a session. */
static void
stream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct stream_session *s = arg;
	const struct stream_ops *ops = s->st->ops;
	int rc = STREAM_EVENT_PASS;

	if (ops->event != NULL)
		rc = ops->event(s, what);
	if (rc == STREAM_EVENT_KEEP)
		return;
	if (rc == STREAM_EVENT_PASS)
		stream_session_end(s, what);
	stream_session_free(s);
}

/* Let the transport make the bufferevent, then read with limits. */
static int
stream_session_start(struct stream_session *s, evutil_socket_t fd)
{
	struct stream *st = s->st;
	struct config *cfg = st->sd->cfg;
	struct timeval idle = { cfg->tcp_idle_timeout, 0 };

	if ((s->bev = st->ops->start(s, fd, st->arg)) == NULL)
		return -1;
	s->fr = framing_new(cfg->max_message_size);
	bufferevent_setcb(s->bev, stream_read_cb, NULL, stream_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    cfg->max_message_size + 64);
	bufferevent_set_timeouts(s->bev, &idle, NULL);
	bufferevent_enable(s->bev, EV_READ);
	return 0;
}

/* A new connection: refuse it over the cap, else start a session. */
static void
stream_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct stream *st = arg;
	struct stream_session *s;

	if (st->nsessions >= st->sd->cfg->tcp_max_sessions) {
		stats_count(st->ops->input, REASON_SESSIONS);
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->st = st;
	listen_peer_name(sa, (socklen_t)salen, s->peer, sizeof(s->peer));
	if (stream_session_start(s, fd) == -1) {
		log_warnx("%s %s: cannot start a session", st->ops->name,
		    s->peer);
		close(fd);
		free(s);
		return;
	}
	s->next = st->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	st->sessions = s;
	st->nsessions++;
	stats.in[st->ops->input].sessions = st->nsessions;
}

/* accept() failed (e.g. out of descriptors). */
static void
stream_error_cb(struct evconnlistener *lev, void *arg)
{
	struct stream *st = arg;

	log_warn("%s accept", st->ops->name);
}

/* Listen on addr and run sessions with ops; NULL with *cause on failure. */
struct stream *
stream_open(struct sopd *sd, const char *addr, const struct stream_ops *ops,
    void *arg, char **cause)
{
	struct stream *st;
	int fd;

	if ((fd = listen_bind(addr, SOCK_STREAM, cause)) == -1)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	st->sd = sd;
	st->ops = ops;
	st->arg = arg;
	st->msgsize = sd->cfg->max_message_size + 1;
	st->msg = xmalloc(st->msgsize);
	st->lev = evconnlistener_new(sd->base, stream_accept_cb, st,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (st->lev == NULL) {
		xasprintf(cause, "listen %s: %s", addr, strerror(errno));
		close(fd);
		free(st->msg);
		free(st);
		return NULL;
	}
	evconnlistener_set_error_cb(st->lev, stream_error_cb);
	return st;
}

/* Close the input and every session. */
void
stream_close(struct stream *st)
{
	if (st == NULL)
		return;
	while (st->sessions != NULL)
		stream_session_free(st->sessions);
	evconnlistener_free(st->lev);
	free(st->msg);
	free(st);
}
