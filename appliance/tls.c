/* tls.c: syslog over TLS (RFC 5425), octet counting or LF framing. */
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "stats.h"
#include "stream.h"
#include "xmalloc.h"

/*
 * TLS 1.2 cipher suites with forward secrecy and AEAD only; TLS 1.3 keeps
 * OpenSSL's own (all of them are of that kind).
 */
#define TLS_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"

struct listener {
	struct sopd *sd;
	struct stream *st;
	SSL_CTX *ctx; /* replaced whole on reload */
};

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
tls_ctx_keypair(SSL_CTX *ctx, const char *cert, const char *key, char **cause)
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
			xasprintf(cause,
			    "tls_key %s does not match tls_cert "
			    "%s",
			    key, cert);
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
	SSL_CTX_set_verify(ctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
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
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
		SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
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

/*
 * A session's data is its handshake timer, which bounds the whole
 * handshake; it is freed (and the data NULL) once the session is
 * established.
 */

/* The handshake took too long (or never started): drop the peer. */
static void
tls_handshake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream_session *s = arg;

	stats_count(INPUT_TLS, REASON_TLS);
	log_debugs(LOG_SYS_INPUT, "tls %s: handshake timed out, closing",
	    s->peer);
	stream_session_free(s);
}

/* The handshake finished: from now on only the idle timeout applies. */
static void
tls_established(struct stream_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	event_free(s->data);
	s->data = NULL;
	log_debugs(LOG_SYS_INPUT, "tls %s: %s %s", s->peer,
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

/* Why a connection ended before or after its handshake, for the log. */
static void
tls_log_error(struct stream_session *s, short what)
{
	unsigned long e;
	char buf[256];

	e = bufferevent_get_openssl_error(s->bev);
	if (e != 0)
		log_debugs(LOG_SYS_INPUT, "tls %s: %s", s->peer,
		    tls_error_string(e, buf, sizeof(buf)));
	else if (what & BEV_EVENT_ERROR)
		log_debugs(LOG_SYS_INPUT, "tls %s: %s", s->peer,
		    strerror(errno));
	while (bufferevent_get_openssl_error(s->bev) != 0)
		continue;
}

/* Handshake done, or a connection that ended before it was. */
static int
tls_event(struct stream_session *s, short what)
{
	if (what & BEV_EVENT_CONNECTED) {
		tls_established(s);
		return STREAM_EVENT_KEEP;
	}
	if (s->data != NULL) {
		/* A plain-text peer, a refused certificate, an old version. */
		stats_count(INPUT_TLS, REASON_TLS);
		tls_log_error(s, what);
		return STREAM_EVENT_CLOSE;
	}
	return STREAM_EVENT_PASS;
}

/* Stop the handshake timer of a session that never finished it. */
static void
tls_session_free(struct stream_session *s)
{
	if (s->data != NULL)
		event_free(s->data);
}

/* An accepting TLS bufferevent and its handshake timer; NULL on failure. */
static struct bufferevent *
tls_start(struct stream_session *s, evutil_socket_t fd, void *arg)
{
	struct listener *l = arg;
	struct timeval hs = { l->sd->cfg->tls_handshake_timeout, 0 };
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(l->ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(l->sd->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Most syslog senders close without close_notify: that is EOF. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->data = evtimer_new(l->sd->base, tls_handshake_cb, s);
	evtimer_add(s->data, &hs);
	return bev;
}

static const struct stream_ops tls_stream_ops = {
	.input = INPUT_TLS,
	.name = "tls",
	.start = tls_start,
	.event = tls_event,
	.error = tls_log_error,
	.free = tls_session_free,
};

/* Open the TLS syslog input: certificates first, then the socket. */
static struct listener *
tls_open(struct sopd *sd, const char *addr, char **cause)
{
	struct listener *l;
	SSL_CTX *ctx;

	if ((ctx = tls_ctx_new(sd->cfg, cause)) == NULL)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->sd = sd;
	l->ctx = ctx;
	l->st = stream_open(sd, addr, &tls_stream_ops, l, cause);
	if (l->st == NULL) {
		SSL_CTX_free(ctx);
		free(l);
		return NULL;
	}
	log_info("syslog tls on %s%s", addr,
	    sd->cfg->tls_ca != NULL ? " (client certificates required)" : "");
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
	stream_close(l->st);
	SSL_CTX_free(l->ctx);
	free(l);
}

const struct listener_ops tls_ops = { "tls", tls_open, tls_close };
