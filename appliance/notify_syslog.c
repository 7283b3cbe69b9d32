/* notify_syslog.c: forward notices as RFC 5424 syslog over UDP, TCP or RELP. */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "enterprise.h"
#include "log.h"
#include "notify_int.h"
#include "rules.h"
#include "xmalloc.h"

#define NOTIFY_SYSLOG_UDP_MAX 8192
#define NOTIFY_SYSLOG_TCP_MAX 65536
#define NOTIFY_RELP_HDR_MAX   64
#define NOTIFY_RELP_DATA_MAX  65536
#define NOTIFY_RELP_TXNR_MAX  999999999
#define NOTIFY_SYSLOG_PEN     SOP_ENTERPRISE_STR /* sopEnterprise */

/* Where a RELP session is (RELP: open, then syslog commands). */
enum notify_relp_state {
	RELP_CLOSED = 0,
	RELP_OPENING, /* "open" sent, waiting for its rsp */
	RELP_READY,
};

/* A target's socket and the delivery in flight. */
struct notify_syslog {
	int fd;			 /* udp: connected socket */
	struct bufferevent *bev; /* tcp, relp */
	int inflight;
	enum notify_relp_state relp;
	unsigned txnr; /* last one used */
	unsigned wait; /* txnr whose rsp is awaited */
	char *pending; /* relp: frame to send once open */
};

/* Append v as an RFC 5424 PARAM-VALUE: '"', '\' and ']' escaped. */
static void
notify_syslog_param(struct evbuffer *b, const char *name, const char *v)
{
	evbuffer_add_printf(b, " %s=\"", name);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			evbuffer_add(b, "\\", 1);
		evbuffer_add(b, v, 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* The same for a value that may be empty (then left out). */
static void
notify_syslog_opt(struct evbuffer *b, const char *name, const char *v)
{
	if (v != NULL && *v != '\0')
		notify_syslog_param(b, name, v);
}

/* Our host name as RFC 5424 wants it (printable, no spaces). */
static void
notify_syslog_hostname(char *buf, size_t len)
{
	size_t i;

	if (gethostname(buf, len) != 0 || buf[0] == '\0')
		snprintf(buf, len, "-");
	buf[len - 1] = '\0';
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] <= ' ' || buf[i] > '~')
			buf[i] = '_';
	}
}

/* The RFC 5424 message of a notice, structured data in sopIncident@<PEN>. */
char *
notify_syslog_format(const struct notify_tconf *c, const struct notify_msg *m)
{
	static const int sev[] = { 2, 3, 4, 5, 6 }; /* crit .. info */
	struct evbuffer *b = evbuffer_new();
	char host[256], ts[40], num[32], *summary, *s;
	size_t len;

	notify_syslog_hostname(host, sizeof(host));
	notify_time(m->at_us > 0 ? m->at_us : (int64_t)time(NULL) * 1000000, ts,
	    sizeof(ts));
	evbuffer_add_printf(b,
	    "<%d>1 %s %s %s - %s [sopIncident@" NOTIFY_SYSLOG_PEN,
	    c->facility * 8 +
		(m->severity >= 0 && m->severity < 5 ? sev[m->severity] : 6),
	    ts, host, c->app_name, notify_notif_name(m->kind));
	snprintf(num, sizeof(num), "%llu", (unsigned long long)m->id);
	notify_syslog_param(b, "id", num);
	notify_syslog_param(b, "severity", severity_name(m->severity));
	notify_syslog_param(b, "level", m->level);
	notify_syslog_param(b, "kind", notify_kind_name(m->kind));
	if (m->step >= 0) {
		snprintf(num, sizeof(num), "%d", m->step);
		notify_syslog_param(b, "step", num);
	}
	notify_syslog_param(b, "host", m->host);
	notify_syslog_param(b, "rule", m->rule);
	notify_syslog_param(b, "key", m->key);
	if (m->in_window[0] != '\0')
		notify_syslog_param(b, "window", m->in_window);
	if (m->owner != NULL && m->owner[0] != '\0')
		notify_syslog_param(b, "owner", m->owner);
	notify_syslog_opt(b, "impact", m->impact);
	notify_syslog_opt(b, "workaround", m->workaround);
	if (m->eta_us > 0) {
		notify_time(m->eta_us, ts, sizeof(ts));
		notify_syslog_param(b, "eta", ts);
	}
	notify_syslog_opt(b, "last_note", m->last_note);
	notify_syslog_opt(b, "last_event", m->last_event);
	notify_syslog_opt(b, "link", m->link);
	notify_syslog_param(b, "idempotency_key", m->idem);
	summary = notify_summary(m);
	evbuffer_add_printf(b, "] %s", summary);
	free(summary);
	len = evbuffer_get_length(b);
	s = xmalloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

/* Send one datagram on a connected UDP socket. */
static int
notify_syslog_udp(struct notify_target *t, struct notify_syslog *s,
    const char *msg)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	size_t len = strlen(msg);

	if (s->fd == -1) {
		if (evutil_parse_sockaddr_port(t->c.address,
			(struct sockaddr *)&ss, &sslen) != 0) {
			log_warnx("notify %s: address %s is not numeric",
			    t->c.name, t->c.address);
			return -1;
		}
		s->fd = socket(ss.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd == -1 ||
		    connect(s->fd, (struct sockaddr *)&ss, (socklen_t)sslen) !=
			0) {
			log_warn("notify %s: udp %s", t->c.name, t->c.address);
			if (s->fd != -1)
				close(s->fd);
			s->fd = -1;
			return -1;
		}
	}
	if (len > NOTIFY_SYSLOG_UDP_MAX)
		len = NOTIFY_SYSLOG_UDP_MAX;
	if (send(s->fd, msg, len, 0) == -1) {
		log_warn("notify %s: udp send", t->c.name);
		return -1;
	}
	return 1;
}

/* Drop the stream; a delivery in flight fails. */
static void
notify_syslog_close(struct notify_target *t, struct notify_syslog *s,
    const char *why)
{
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	s->bev = NULL;
	s->relp = RELP_CLOSED;
	free(s->pending);
	s->pending = NULL;
	if (s->inflight) {
		s->inflight = 0;
		notify_done(t, 0, why);
	}
}

/* Send a RELP frame: "TXNR CMD LEN[ DATA]\n". */
static void
notify_relp_send(struct notify_syslog *s, const char *cmd, const char *data)
{
	size_t len = strlen(data);

	if (++s->txnr > NOTIFY_RELP_TXNR_MAX)
		s->txnr = 1;
	s->wait = s->txnr;
	if (len > 0)
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "%u %s %zu %s\n", s->txnr, cmd, len, data);
	else
		evbuffer_add_printf(bufferevent_get_output(s->bev), "%u %s 0\n",
		    s->txnr, cmd);
}

/*
 * Parse one RELP frame at the head of the input: its txnr, command and
 * data (first bytes in data). 1: a frame was taken, 0: need more, -1: bad.
 */
static int
notify_relp_frame(struct evbuffer *in, unsigned *txnr, char *cmd, size_t cmdlen,
    char *data, size_t datalen)
{
	char hdr[NOTIFY_RELP_HDR_MAX + 1], *p, *end;
	size_t have = evbuffer_get_length(in), n, hlen, len, total;

	n = have < NOTIFY_RELP_HDR_MAX ? have : NOTIFY_RELP_HDR_MAX;
	evbuffer_copyout(in, hdr, n);
	hdr[n] = '\0';
	*txnr = (unsigned)strtoul(hdr, &p, 10);
	if (p == hdr || *p != ' ')
		return n == have && n < 11 && strchr(hdr, ' ') == NULL ? 0 : -1;
	end = strchr(++p, ' ');
	if (end == NULL || (size_t)(end - p) >= cmdlen)
		return n == have && n < NOTIFY_RELP_HDR_MAX && end == NULL ? 0 :
									     -1;
	memcpy(cmd, p, (size_t)(end - p));
	cmd[end - p] = '\0';
	p = end + 1;
	len = strtoul(p, &end, 10);
	if (end == p || len > NOTIFY_RELP_DATA_MAX)
		return -1;
	if (*end == '\0')
		return 0;
	if (*end != (len > 0 ? ' ' : '\n'))
		return -1;
	hlen = (size_t)(end - hdr);
	total = hlen + (len > 0 ? 1 + len : 0) + 1;
	if (have < total)
		return 0;
	evbuffer_drain(in, hlen + (len > 0 ? 1 : 0));
	n = len < datalen - 1 ? len : datalen - 1;
	evbuffer_copyout(in, data, n);
	data[n] = '\0';
	evbuffer_drain(in, len + 1);
	return 1;
}

/* A RELP rsp for the awaited txnr: the session opened or a message landed. */
static void
notify_relp_rsp(struct notify_target *t, struct notify_syslog *s, int ok)
{
	char *frame;

	if (s->relp == RELP_OPENING) {
		if (!ok) {
			notify_syslog_close(t, s, "relp open refused");
			return;
		}
		s->relp = RELP_READY;
		frame = s->pending;
		s->pending = NULL;
		if (frame != NULL) {
			notify_relp_send(s, "syslog", frame);
			free(frame);
		}
		return;
	}
	if (s->inflight) {
		s->inflight = 0;
		notify_done(t, ok, ok ? NULL : "relp rsp not 200");
	}
}

/* Read RELP responses. */
static void
notify_syslog_read_cb(struct bufferevent *bev, void *arg)
{
	struct notify_target *t = arg;
	struct notify_syslog *s = t->state;
	struct evbuffer *in = bufferevent_get_input(bev);
	char cmd[32], data[64];
	unsigned txnr;
	int r;

	if (t->c.proto != NOTIFY_RELP) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while ((r = notify_relp_frame(in, &txnr, cmd, sizeof(cmd), data,
		    sizeof(data))) == 1) {
		if (strcmp(cmd, "serverclose") == 0) {
			notify_syslog_close(t, s, "relp server closed");
			return;
		}
		if (strcmp(cmd, "rsp") == 0 && txnr == s->wait) {
			notify_relp_rsp(t, s, strncmp(data, "200", 3) == 0);
			if (s->bev == NULL)
				return;
		}
	}
	if (r == -1)
		notify_syslog_close(t, s, "relp protocol error");
}

/* TCP: the frame left our buffer, so the delivery is done. */
static void
notify_syslog_write_cb(struct bufferevent *bev, void *arg)
{
	struct notify_target *t = arg;
	struct notify_syslog *s = t->state;

	if (t->c.proto == NOTIFY_TCP && s->inflight) {
		s->inflight = 0;
		notify_done(t, 1, NULL);
	}
}

/* Connected, or the stream broke (error, EOF, timeout). */
static void
notify_syslog_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct notify_target *t = arg;
	struct notify_syslog *s = t->state;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		notify_syslog_close(t, s, "timeout");
	else if (what & BEV_EVENT_EOF)
		notify_syslog_close(t, s, "connection closed");
	else
		notify_syslog_close(t, s,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* Connect the target's stream (TCP or RELP), non-blocking. */
static int
notify_syslog_connect(struct notify_target *t, struct notify_syslog *s)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct timeval tv = { (time_t)t->c.timeout, 0 };

	if (evutil_parse_sockaddr_port(t->c.address, (struct sockaddr *)&ss,
		&sslen) != 0) {
		log_warnx("notify %s: address %s is not numeric", t->c.name,
		    t->c.address);
		return -1;
	}
	s->bev = bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		return -1;
	bufferevent_setcb(s->bev, notify_syslog_read_cb, notify_syslog_write_cb,
	    notify_syslog_event_cb, t);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&ss, sslen) !=
	    0) {
		log_warn("notify %s: connect %s", t->c.name, t->c.address);
		bufferevent_free(s->bev);
		s->bev = NULL;
		return -1;
	}
	if (t->c.proto == NOTIFY_RELP) {
		s->txnr = 0;
		s->relp = RELP_OPENING;
		notify_relp_send(s, "open",
		    "relp_version=0\n"
		    "relp_software=sopd\ncommands=syslog");
	}
	return 0;
}

/* Start one delivery. */
static int
notify_syslog_start(struct notify_target *t, struct notify_msg *m)
{
	struct notify_syslog *s = t->state;
	char *msg;
	int r = 0;

	if (s == NULL) {
		s = t->state = xcalloc(1, sizeof(*s));
		s->fd = -1;
	}
	msg = notify_syslog_format(&t->c, m);
	if (t->c.proto == NOTIFY_UDP) {
		r = notify_syslog_udp(t, s, msg);
		free(msg);
		return r;
	}
	if (strlen(msg) > NOTIFY_SYSLOG_TCP_MAX)
		msg[NOTIFY_SYSLOG_TCP_MAX] = '\0';
	if (s->bev == NULL && notify_syslog_connect(t, s) == -1) {
		free(msg);
		return -1;
	}
	s->inflight = 1;
	if (t->c.proto == NOTIFY_TCP)
		evbuffer_add_printf(bufferevent_get_output(s->bev), "%zu %s",
		    strlen(msg), msg);
	else if (s->relp == RELP_READY)
		notify_relp_send(s, "syslog", msg);
	else {
		free(s->pending);
		s->pending = msg;
		msg = NULL;
	}
	free(msg);
	return r;
}

/* Close the socket or stream. */
static void
notify_syslog_free(struct notify_target *t)
{
	struct notify_syslog *s = t->state;

	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	free(s->pending);
	free(s);
	t->state = NULL;
}

const struct notify_ops notify_syslog_ops = {
	notify_syslog_start,
	notify_syslog_free,
};
