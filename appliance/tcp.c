/* tcp.c: syslog over TCP, RFC 6587 framing detected per connection. */
#include <event2/bufferevent.h>
#include <stdlib.h>

#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "stats.h"
#include "stream.h"
#include "xmalloc.h"

struct listener {
	struct sopd *sd;
	struct stream *st;
};

/* A plain socket bufferevent for an accepted connection. */
static struct bufferevent *
tcp_start(struct stream_session *s, evutil_socket_t fd, void *arg)
{
	struct listener *l = arg;

	return bufferevent_socket_new(l->sd->base, fd, BEV_OPT_CLOSE_ON_FREE);
}

static const struct stream_ops tcp_stream_ops = {
	.input = INPUT_TCP,
	.name = "tcp",
	.start = tcp_start,
};

/* Open the TCP syslog input. */
static struct listener *
tcp_open(struct sopd *sd, const char *addr, char **cause)
{
	struct listener *l;

	l = xcalloc(1, sizeof(*l));
	l->sd = sd;
	l->st = stream_open(sd, addr, &tcp_stream_ops, l, cause);
	if (l->st == NULL) {
		free(l);
		return NULL;
	}
	log_info("syslog tcp on %s", addr);
	return l;
}

/* Close the input and every session. */
static void
tcp_close(struct listener *l)
{
	if (l == NULL)
		return;
	stream_close(l->st);
	free(l);
}

const struct listener_ops tcp_ops = { "tcp", tcp_open, tcp_close };
