/* tls.c: syslog over TLS (RFC 5425), octet counting or LF framing. */
#include <sys/socket.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
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
#include "xmalloc.h"

/*
 * TLS 1.2 cipher suites with forward secrecy and AEAD only; TLS 1.3 keeps
 * OpenSSL's own (all of them are of that kind).
 */
#define TLS_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"

struct session;

struct listener {
	struct sopd		*sd;
	struct evconnlistener	*lev;
	SSL_CTX			*ctx;		/* replaced whole on reload */
	size_t			 nsessions;
	struct session		*sessions;	/* doubly linked */
	char			*msg;		/* one message, max+1 bytes */
	size_t			 msgsize;
};

struct session {
	struct listener		*l;
	struct bufferevent	*bev;
	struct framer		*fr;
	struct event		*handshake;	/* bounds the whole handshake */
	int			 established;
	char			 peer[64];
	struct session		*prev, *next;
};

/* Close a session and forget it. */
static void
tls_session_free(struct session *s)
{
	struct listener *l = s->l;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		l->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	l->nsessions--;
	stats.in[INPUT_TLS].sessions = l->nsessions;
	event_free(s->handshake);
	bufferevent_free(s->bev);
	framer_free(s->fr);
	free(s);
}

/* The first queued OpenSSL error as text, for the caller's message. */
static const char *
tls_error_string(unsigned long e, char *buf, size_t size)
{
	if (e == 0)
		return "no OpenSSL error";
	ERR_error_string_n(e, buf, size);
	return buf;
}

/* Load the certificate chain and its private key; -1 with *cause. */
static int
tls_ctx_keypair(SSL_CTX *ctx, const char *cert, const char *key,
    char **cause)
{
	unsigned long e;
	char buf[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		xasprintf(cause, "tls_cert %s: %s", cert,
		    tls_error_string(ERR_get_error(), buf, sizeof(buf)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		e = ERR_peek_error();
		if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			xasprintf(cause, "tls_key %s does not match tls_cert "
			    "%s", key, cert);
		else
			xasprintf(cause, "tls_key %s: %s", key,
			    tls_error_string(e, buf, sizeof(buf)));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		xasprintf(cause, "tls_key %s does not match tls_cert %s", key,
		    cert);
		return -1;
	}
	return 0;
}

/* Require client certificates signed by the CA file; -1 with *cause. */
static int
tls_ctx_ca(SSL_CTX *ctx, const char *ca, char **cause)
{
	char buf[256];

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		xasprintf(cause, "tls_ca %s: %s", ca,
		    tls_error_string(ERR_get_error(), buf, sizeof(buf)));
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(ca));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

/* Load the config's certificate, key and CA files; -1 with *cause. */
static int
tls_ctx_load(SSL_CTX *ctx, const struct config *cfg, char **cause)
{
	char *cert, *key, *ca = NULL;
	int rc;

	cert = config_path(cfg, cfg->tls_cert);
	key = config_path(cfg, cfg->tls_key);
	ERR_clear_error();
	rc = tls_ctx_keypair(ctx, cert, key, cause);
	if (rc == 0 && cfg->tls_ca != NULL) {
		ca = config_path(cfg, cfg->tls_ca);
		rc = tls_ctx_ca(ctx, ca, cause);
	}
	ERR_clear_error();
	free(cert);
	free(key);
	free(ca);
	return rc;
}

/* A server context: TLS >= 1.2, no renegotiation, no compression. */
static SSL_CTX *
tls_ctx_new(const struct config *cfg, char **cause)
{
	static const unsigned char sid[] = "sopd-syslog-tls";
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		xasprintf(cause, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * Syslog senders often close without close_notify: treat that as
	 * end of stream (a cut octet-counted frame is still detected).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Resumed sessions with client certificates need an id context. */
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS) != 1 ||
	    tls_ctx_load(ctx, cfg, cause) == -1) {
		if (*cause == NULL)
			xasprintf(cause, "no usable TLS 1.2 cipher");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Hand every complete frame to the pipeline; -1 on a framing error. */
static int
tls_drain(struct session *s)
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
			stats_count(INPUT_TLS, REASON_FRAMING);
			log_debug("tls %s: framing error, closing", s->peer);
			return -1;
		}
		pipeline_syslog(l->sd, INPUT_TLS, l->msg, len, flags, s->peer,
		    pipeline_now_us());
	}
}

/* Decrypted data arrived. */
static void
tls_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (tls_drain(s) == -1)
		tls_session_free(s);
}

/* A last line without a newline still counts when the sender closes. */
static void
tls_flush_tail(struct session *s)
{
	struct listener *l = s->l;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len;
	unsigned flags;

	if (framer_mode(s->fr) == FRAMER_OCTET &&
	    evbuffer_get_length(in) > 0) {
		/* The sender closed inside a frame: count it, it is lost. */
		stats.in[INPUT_TLS].received++;
		stats_count(INPUT_TLS, REASON_MALFORMED);
	}
	if (framer_eof(s->fr, in, l->msg, l->msgsize, &len, &flags) == 1)
		pipeline_syslog(l->sd, INPUT_TLS, l->msg, len, flags, s->peer,
		    pipeline_now_us());
}

/* The handshake took too long (or never started): drop the peer. */
static void
tls_handshake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	stats_count(INPUT_TLS, REASON_TLS);
	log_debug("tls %s: handshake timed out, closing", s->peer);
	tls_session_free(s);
}

/* The handshake finished: from now on only the idle timeout applies. */
static void
tls_established(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	s->established = 1;
	event_del(s->handshake);
	log_debug("tls %s: %s %s", s->peer, SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}

/* Why a connection ended before or after its handshake, for the log. */
static void
tls_log_error(struct session *s, short what)
{
	unsigned long e;
	char buf[256];

	e = bufferevent_get_openssl_error(s->bev);
	if (e != 0)
		log_debug("tls %s: %s", s->peer,
		    tls_error_string(e, buf, sizeof(buf)));
	else if (what & BEV_EVENT_ERROR)
		log_debug("tls %s: %s", s->peer, strerror(errno));
	while (bufferevent_get_openssl_error(s->bev) != 0)
		continue;
}

/* Handshake done, EOF, error or idle timeout. */
static void
tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		tls_established(s);
		return;
	}
	if (!s->established) {
		/* A plain-text peer, a refused certificate, an old version. */
		stats_count(INPUT_TLS, REASON_TLS);
		tls_log_error(s, what);
	} else if (what & BEV_EVENT_EOF) {
		if (tls_drain(s) == 0)
			tls_flush_tail(s);
	} else if (what & BEV_EVENT_TIMEOUT)
		log_debug("tls %s: idle, closing", s->peer);
	else
		tls_log_error(s, what);
	tls_session_free(s);
}

/* Start the TLS session of an accepted socket; -1 when it cannot. */
static int
tls_session_start(struct listener *l, struct session *s, evutil_socket_t fd)
{
	struct config *cfg = l->sd->cfg;
	struct timeval idle = { cfg->tcp_idle_timeout, 0 };
	struct timeval hs = { cfg->tls_handshake_timeout, 0 };
	SSL *ssl;

	if ((ssl = SSL_new(l->ctx)) == NULL)
		return -1;
	s->bev = bufferevent_openssl_socket_new(l->sd->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	/* Most syslog senders close without close_notify: that is EOF. */
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	s->fr = framer_new(cfg->max_message_size);
	s->handshake = evtimer_new(l->sd->base, tls_handshake_cb, s);
	evtimer_add(s->handshake, &hs);
	bufferevent_setcb(s->bev, tls_read_cb, NULL, tls_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    cfg->max_message_size + 64);
	bufferevent_set_timeouts(s->bev, &idle, NULL);
	bufferevent_enable(s->bev, EV_READ);
	return 0;
}

/* A new connection: refuse it over the cap, else start a session. */
static void
tls_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct session *s;

	if (l->nsessions >= l->sd->cfg->tcp_max_sessions) {
		stats_count(INPUT_TLS, REASON_SESSIONS);
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->l = l;
	listen_peer_name(sa, (socklen_t)salen, s->peer, sizeof(s->peer));
	if (tls_session_start(l, s, fd) == -1) {
		log_warnx("tls %s: cannot start a session", s->peer);
		close(fd);
		free(s);
		return;
	}
	s->next = l->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	l->sessions = s;
	l->nsessions++;
	stats.in[INPUT_TLS].sessions = l->nsessions;
}

/* accept() failed (e.g. out of descriptors). */
static void
tls_error_cb(struct evconnlistener *lev, void *arg)
{
	log_warn("tls accept");
}

/* Open the TLS syslog input: certificates first, then the socket. */
static struct listener *
tls_open(struct sopd *sd, const char *addr, char **cause)
{
	struct listener *l;
	SSL_CTX *ctx;
	int fd;

	if ((ctx = tls_ctx_new(sd->cfg, cause)) == NULL)
		return NULL;
	if ((fd = listen_bind(addr, SOCK_STREAM, cause)) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->sd = sd;
	l->ctx = ctx;
	l->msgsize = sd->cfg->max_message_size + 1;
	l->msg = xmalloc(l->msgsize);
	l->lev = evconnlistener_new(sd->base, tls_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (l->lev == NULL) {
		xasprintf(cause, "listen %s: %s", addr, strerror(errno));
		close(fd);
		SSL_CTX_free(ctx);
		free(l->msg);
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, tls_error_cb);
	log_info("syslog tls on %s%s", addr, sd->cfg->tls_ca != NULL ?
	    " (client certificates required)" : "");
	return l;
}

/*
 * Reload: a new context from the running config's files. Open sessions
 * keep the old one (each SSL holds a reference); on error nothing changes.
 */
int
tls_reconfigure(struct listener *l, char **cause)
{
	SSL_CTX *ctx;

	if (l == NULL || l->sd->cfg->tls_cert == NULL ||
	    l->sd->cfg->tls_key == NULL)
		return 0;
	if ((ctx = tls_ctx_new(l->sd->cfg, cause)) == NULL)
		return -1;
	SSL_CTX_free(l->ctx);
	l->ctx = ctx;
	return 0;
}

/* Load the TLS files once and throw the result away; -1 with *cause. */
int
tls_check(const struct config *cfg, char **cause)
{
	SSL_CTX *ctx;

	if (cfg->syslog_tls == NULL)
		return 0;
	if ((ctx = tls_ctx_new(cfg, cause)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}

/* Close the input and every session. */
static void
tls_close(struct listener *l)
{
	if (l == NULL)
		return;
	while (l->sessions != NULL)
		tls_session_free(l->sessions);
	evconnlistener_free(l->lev);
	SSL_CTX_free(l->ctx);
	free(l->msg);
	free(l);
}

const struct listener_ops tls_ops = { "tls", tls_open, tls_close };
