/* udp.c: syslog over UDP, read in batches with recvmmsg. */
#include <sys/socket.h>

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "listen.h"
#include "log.h"
#include "pipeline.h"
#include "stats.h"
#include "xmalloc.h"

#define UDP_BATCH   64	  /* datagrams per recvmmsg */
#define UDP_ROUNDS  32	  /* recvmmsg calls per wake-up, for fairness */
#define UDP_TURN_US 5000  /* and at most this long a wake-up */
#define UDP_MAX	    65535 /* the largest datagram */

struct listener {
	struct sopd *sd;
	int fd;
	struct event *ev;
	size_t bufsize; /* per datagram, +1 for the NUL */
	char *bufs;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	struct sockaddr_storage last_from; /* cache of the last peer's name */
	socklen_t last_fromlen;
	char last_peer[64];
	uint32_t drops; /* the socket's drop counter */
};

/* The peer name of a datagram, cached while the sender stays the same. */
static const char *
udp_peer(struct listener *l, const struct sockaddr_storage *ss, socklen_t len)
{
	if (len != l->last_fromlen || memcmp(ss, &l->last_from, len) != 0) {
		listen_peer_name((const struct sockaddr *)ss, len, l->last_peer,
		    sizeof(l->last_peer));
		memcpy(&l->last_from, ss, len);
		l->last_fromlen = len;
	}
	return l->last_peer;
}

/* Set up the recvmmsg vectors once. */
static void
udp_prepare(struct listener *l)
{
	int i;

	for (i = 0; i < UDP_BATCH; i++) {
		l->iov[i].iov_base = l->bufs + (size_t)i * l->bufsize;
		l->iov[i].iov_len = l->bufsize - 1;
		l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
		l->msgs[i].msg_hdr.msg_iovlen = 1;
		l->msgs[i].msg_hdr.msg_name = &l->from[i];
	}
}

/* Read one batch; returns the number of datagrams handled, -1 when empty. */
static int
udp_read_batch(struct listener *l)
{
	int i, n;
	int64_t now;
	size_t len;
	unsigned flags;
	char *buf;

	for (i = 0; i < UDP_BATCH; i++) {
		l->msgs[i].msg_hdr.msg_namelen = sizeof(l->from[i]);
		l->msgs[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(l->fd, l->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			log_warn("udp recvmmsg");
		return -1;
	}
	now = pipeline_now_us();
	for (i = 0; i < n; i++) {
		buf = l->iov[i].iov_base;
		len = l->msgs[i].msg_len;
		flags = (l->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ?
		    EVENT_F_TRUNCATED :
		    0;
		buf[len] = '\0';
		pipeline_syslog(l->sd, INPUT_UDP, buf, len, flags,
		    udp_peer(l, &l->from[i], l->msgs[i].msg_hdr.msg_namelen),
		    now);
	}
	return n;
}

/*
 * The socket is readable: drain it a bounded number of batches, and for a
 * bounded time (a batch of new incidents costs far more than one of
 * plain lines); what is left waits for the next turn of the loop, after
 * the other inputs, timers and commits (counted as loop.udp_read_yields).
 */
static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct stall_clock t0;
	int r;

	stats_stall_start(&t0);
	for (r = 0; r < UDP_ROUNDS; r++) {
		if (udp_read_batch(l) < UDP_BATCH)
			break;
		if (stats_mono_us() - t0.wall >= UDP_TURN_US) {
			r = UDP_ROUNDS;
			break;
		}
	}
	if (r == UDP_ROUNDS)
		stats.loop_udp_read_yields++;
	stats.in[INPUT_UDP].kernel_drops += listen_drops(l->fd, &l->drops);
	stats_stall(LOOP_UDP, &t0);
}

/* Open the UDP syslog input. */
static struct listener *
udp_open(struct sopd *sd, const char *addr, char **cause)
{
	struct listener *l;
	int fd;
	size_t max = sd->cfg->max_message_size;

	if ((fd = listen_bind(addr, SOCK_DGRAM, cause)) == -1)
		return NULL;
	listen_rcvbuf(fd, sd->cfg->udp_rcvbuf, "syslog udp");
	l = xcalloc(1, sizeof(*l));
	l->sd = sd;
	l->fd = fd;
	l->bufsize = (max < UDP_MAX ? max : UDP_MAX) + 1;
	l->bufs = xmalloc(l->bufsize * UDP_BATCH);
	udp_prepare(l);
	l->ev = event_new(sd->base, fd, EV_READ | EV_PERSIST, udp_read_cb, l);
	event_add(l->ev, NULL);
	log_info("syslog udp on %s", addr);
	return l;
}

/* Close the UDP input. */
static void
udp_close(struct listener *l)
{
	if (l == NULL)
		return;
	event_free(l->ev);
	close(l->fd);
	free(l->bufs);
	free(l);
}

const struct listener_ops udp_ops = { "udp", udp_open, udp_close };
