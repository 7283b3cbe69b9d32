/* tcp.c: syslog over TCP, RFC 6587 framing detected per connection. */
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
#include "xmalloc.h"

struct session;

struct listener {
	struct sopd		*sd;
	struct evconnlistener	*lev;
	size_t			 nsessions;
	struct session		*sessions;	/* doubly linked */
	char			*msg;		/* one message, max+1 bytes */
	size_t			 msgsize;
};

struct session {
	struct listener		*l;
	struct bufferevent	*bev;
	struct framer		*fr;
	char			 peer[64];
	struct session		*prev, *next;
};

/* Close a session and forget it. */
static void
tcp_session_free(struct session *s)
{
	struct listener *l = s->l;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		l->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	l->nsessions--;
	stats.in[INPUT_TCP].sessions = l->nsessions;
	bufferevent_free(s->bev);
	framer_free(s->fr);
	free(s);
}

/* Hand every complete frame to the pipeline; -1 on a framing error. */
static int
tcp_drain(struct session *s)
{
	struct listener *l = s->l;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len;
	unsigned flags;
	int rc;

	for (;;) {
		flags = 0;
		rc = framer_next(s->fr, in, l->msg, l->msgsize, &len, &flags);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			stats_count(INPUT_TCP, REASON_FRAMING);
			log_debug("tcp %s: framing error, closing", s->peer);
			return -1;
		}
		pipeline_syslog(l->sd, INPUT_TCP, l->msg, len, flags, s->peer,
		    pipeline_now_us());
	}
}

/* Data arrived. */
static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (tcp_drain(s) == -1)
		tcp_session_free(s);
}

/* A last line without a newline still counts when the sender closes. */
static void
tcp_flush_tail(struct session *s)
{
	struct listener *l = s->l;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len;
	unsigned flags;

	if (framer_mode(s->fr) == FRAMER_OCTET &&
	    evbuffer_get_length(in) > 0) {
		/* The sender closed inside a frame: count it, it is lost. */
		stats.in[INPUT_TCP].received++;
		stats_count(INPUT_TCP, REASON_MALFORMED);
	}
	if (framer_eof(s->fr, in, l->msg, l->msgsize, &len, &flags) == 1)
		pipeline_syslog(l->sd, INPUT_TCP, l->msg, len, flags, s->peer,
		    pipeline_now_us());
}

/* EOF, error or idle timeout. */
static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_EOF) {
		if (tcp_drain(s) == 0)
			tcp_flush_tail(s);
	} else if (what & BEV_EVENT_TIMEOUT)
		log_debug("tcp %s: idle, closing", s->peer);
	else if (what & BEV_EVENT_ERROR)
		log_debug("tcp %s: %s", s->peer, strerror(errno));
	tcp_session_free(s);
}

/* A new connection: refuse it over the cap, else start a session. */
static void
tcp_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct config *cfg = l->sd->cfg;
	struct session *s;
	struct timeval tv = { cfg->tcp_idle_timeout, 0 };

	if (l->nsessions >= cfg->tcp_max_sessions) {
		stats_count(INPUT_TCP, REASON_SESSIONS);
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->l = l;
	listen_peer_name(sa, (socklen_t)salen, s->peer, sizeof(s->peer));
	s->bev = bufferevent_socket_new(l->sd->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->fr = framer_new(cfg->max_message_size);
	bufferevent_setcb(s->bev, tcp_read_cb, NULL, tcp_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    cfg->max_message_size + 64);
	bufferevent_set_timeouts(s->bev, &tv, NULL);
	bufferevent_enable(s->bev, EV_READ);
	s->next = l->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	l->sessions = s;
	l->nsessions++;
	stats.in[INPUT_TCP].sessions = l->nsessions;
}

/* accept() failed (e.g. out of descriptors): pause briefly. */
static void
tcp_error_cb(struct evconnlistener *lev, void *arg)
{
	log_warn("tcp accept");
}

/* Open the TCP syslog input. */
static struct listener *
tcp_open(struct sopd *sd, const char *addr, char **cause)
{
	struct listener *l;
	int fd;

	if ((fd = listen_bind(addr, SOCK_STREAM, cause)) == -1)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->sd = sd;
	l->msgsize = sd->cfg->max_message_size + 1;
	l->msg = xmalloc(l->msgsize);
	l->lev = evconnlistener_new(sd->base, tcp_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (l->lev == NULL) {
		xasprintf(cause, "listen %s: %s", addr, strerror(errno));
		close(fd);
		free(l->msg);
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, tcp_error_cb);
	log_info("syslog tcp on %s", addr);
	return l;
}

/* Close the input and every session. */
static void
tcp_close(struct listener *l)
{
	if (l == NULL)
		return;
	while (l->sessions != NULL)
		tcp_session_free(l->sessions);
	evconnlistener_free(l->lev);
	free(l->msg);
	free(l);
}

const struct listener_ops tcp_ops = { "tcp", tcp_open, tcp_close };
