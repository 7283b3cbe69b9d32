/*
 * auth.c: who may use the console and the API.
 *
 * The http: section names users (libcrypt hashes), API tokens (SHA-256 of
 * the token), whether reading is public, which Host names are served and
 * whether the listener speaks TLS.  Sessions live in memory: a random id in
 * an HttpOnly, SameSite=Strict cookie and a CSRF token the page sends back
 * in a header with every write.  Settings are read again from the current
 * configuration after a reload; sessions of removed users stop working.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>

#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"
#include "yamlnode.h"

#define AUTH_COOKIE	  "sopd_session"
#define AUTH_CSRF_HEADER  "X-CSRF-Token"
#define AUTH_MAX_SESSIONS 256
#define AUTH_MAX_SOURCES  256
#define AUTH_SECRET	  32 /* random bytes of an id */
#define AUTH_HEX	  (2 * AUTH_SECRET + 1)
#define AUTH_MAX_BODY	  1024
#define AUTH_CERT_DAYS	  3650
#define AUTH_CIPHERS	  "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"
#define AUTH_JSON	  "application/json"

enum auth_tls {
	AUTH_TLS_AUTO,
	AUTH_TLS_ON,
	AUTH_TLS_OFF
};

struct auth_user {
	const char *name;
	const char *hash; /* crypt(3), or a token's sha256 hex */
	int role;
};

/* The access settings of one configuration (pointers into its nodes). */
struct auth_conf {
	struct auth_user *users, *tokens;
	size_t nusers, ntokens;
	const char **hosts;
	size_t nhosts;
	int require_login, public_read, tls;
	const char *tls_cert, *tls_key;
	long long session_ttl;	  /* seconds */
	long long login_attempts; /* per source per minute */
};

struct auth_session {
	char id[AUTH_HEX];
	char csrf[AUTH_HEX];
	char user[AUTH_MAX_NAME + 1];
	time_t expires; /* monotonic seconds; 0: free slot */
};

struct auth_source {
	char addr[64];
	time_t start; /* monotonic start of the minute */
	long attempts;
};

struct auth {
	struct sopd *sd;
	unsigned generation; /* of the config conf is from */
	struct auth_conf conf;
	SSL_CTX *ctx;
	int https; /* on some listening address */
	struct auth_listen listens[AUTH_MAX_LISTEN];
	size_t nlistens;
	struct auth_session sess[AUTH_MAX_SESSIONS];
	struct auth_source src[AUTH_MAX_SOURCES];
	unsigned long long logins, failures, limited, refused_host,
	    refused_csrf, refused_auth;
	struct crypt_data cd;
};

static const char *auth_roles[] = { "viewer", "operator", "admin" };

/* Monotonic seconds. */
static time_t
auth_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

static void
auth_conf_free(struct auth_conf *c)
{
	free(c->users);
	free(c->tokens);
	free(c->hosts);
	memset(c, 0, sizeof(*c));
}

/* A role name's value, -1 if unknown. */
static int
auth_role(const char *s)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, auth_roles[i]) == 0)
			return (i);
	return (-1);
}

/* Whether s is 64 lowercase hex digits. */
static int
auth_is_sha256(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return (0);
	return (s[64] == '\0');
}

/* One user or token entry {name, role, password|sha256}; -1 on error. */
static int
auth_conf_entry(const char *file, struct ynode *m, int token,
    struct auth_user *u, struct errlist *errs)
{
	const char *secret = token ? "sha256" : "password";
	const char *name, *role, *hash;
	size_t i;

	if (m->type != YNODE_MAP) {
		errlist_add(errs, file, m->line, m->col,
		    "expected a map with "
		    "name, role and %s",
		    secret);
		return (-1);
	}
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i]->value, "name") != 0 &&
		    strcmp(m->keys[i]->value, "role") != 0 &&
		    strcmp(m->keys[i]->value, secret) != 0) {
			errlist_add(errs, file, m->keys[i]->line,
			    m->keys[i]->col,
			    "unknown setting \"%s\" in http "
			    "%s (expected one of: name, role, %s)",
			    m->keys[i]->value, token ? "tokens" : "users",
			    secret);
			return (-1);
		}
	}
	name = ynode_str(m, "name");
	role = ynode_str(m, "role");
	hash = ynode_str(m, secret);
	if (name == NULL || *name == '\0' || strlen(name) > AUTH_MAX_NAME ||
	    strcspn(name, " \t\r\n\"\\") != strlen(name)) {
		errlist_add(errs, file, m->line, m->col,
		    "name: required, up "
		    "to %d characters without spaces or quotes",
		    AUTH_MAX_NAME);
		return (-1);
	}
	if (role == NULL || (u->role = auth_role(role)) < 0) {
		errlist_add(errs, file, m->line, m->col,
		    "%s: role must be "
		    "viewer, operator or admin",
		    name);
		return (-1);
	}
	if (hash == NULL ||
	    (token ? !auth_is_sha256(hash) :
		     (hash[0] != '$' || strlen(hash) < 20))) {
		errlist_add(errs, file, m->line, m->col,
		    token ?
			"%s: sha256 must be the token's SHA-256 in hex (sopctl "
			"token makes one)" :
			"%s: password must be a crypt hash "
			"(sopctl passwd makes one)",
		    name);
		return (-1);
	}
	u->name = name;
	u->hash = hash;
	return (0);
}

/* users: or tokens: */
static int
auth_conf_list(const char *file, struct ynode *s, int token,
    struct auth_user **out, size_t *nout, struct errlist *errs)
{
	size_t i, j;
	int rc = 0;

	if (s->type != YNODE_SEQ) {
		errlist_add(errs, file, s->line, s->col, "expected a list");
		return (-1);
	}
	*out = xcalloc(s->n + 1, sizeof(**out));
	for (i = 0; i < s->n; i++) {
		if (auth_conf_entry(file, s->items[i], token, &(*out)[*nout],
			errs) != 0) {
			rc = -1;
			continue;
		}
		for (j = 0; j < *nout; j++)
			if (strcmp((*out)[j].name, (*out)[*nout].name) == 0)
				break;
		if (j < *nout) {
			errlist_add(errs, file, s->items[i]->line,
			    s->items[i]->col, "%s named twice",
			    (*out)[*nout].name);
			rc = -1;
			continue;
		}
		(*nout)++;
	}
	return (rc);
}

/* allowed_hosts: a list of names. */
static int
auth_conf_hosts(const char *file, struct ynode *s, struct auth_conf *c,
    struct errlist *errs)
{
	size_t i;

	if (s->type == YNODE_SCALAR) {
		c->hosts = xcalloc(1, sizeof(*c->hosts));
		c->hosts[c->nhosts++] = s->value;
		return (0);
	}
	if (s->type != YNODE_SEQ) {
		errlist_add(errs, file, s->line, s->col,
		    "expected a list of "
		    "host names");
		return (-1);
	}
	c->hosts = xcalloc(s->n + 1, sizeof(*c->hosts));
	for (i = 0; i < s->n; i++) {
		if (s->items[i]->type != YNODE_SCALAR) {
			errlist_add(errs, file, s->items[i]->line,
			    s->items[i]->col, "expected a host name");
			return (-1);
		}
		c->hosts[c->nhosts++] = s->items[i]->value;
	}
	return (0);
}

/* tls: auto, on or off. */
static int
auth_conf_tls(const char *file, struct ynode *v, struct auth_conf *c,
    struct errlist *errs)
{
	const char *s = v->type == YNODE_SCALAR ? v->value : "";

	if (strcmp(s, "auto") == 0)
		c->tls = AUTH_TLS_AUTO;
	else if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0)
		c->tls = AUTH_TLS_ON;
	else if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0)
		c->tls = AUTH_TLS_OFF;
	else {
		errlist_add(errs, file, v->line, v->col,
		    "tls: must be auto, "
		    "on or off");
		return (-1);
	}
	return (0);
}

/*
 * The entries of http.listen as a list: "host:port" (checked by config.c)
 * or {address: host:port, tls: auto|on|off}.
 */
static int
auth_conf_listens(const char *file, struct ynode *s, struct errlist *errs)
{
	struct auth_conf c;
	struct ynode *e;
	size_t i, j;
	int rc = 0;

	if (s->n > AUTH_MAX_LISTEN) {
		errlist_add(errs, file, s->line, s->col,
		    "listen: at most %d addresses", AUTH_MAX_LISTEN);
		return (-1);
	}
	for (i = 0; i < s->n; i++) {
		e = s->items[i];
		if (e->type == YNODE_SCALAR)
			continue;
		if (e->type != YNODE_MAP) {
			errlist_add(errs, file, e->line, e->col,
			    "listen: expected host:port or {address: "
			    "host:port, tls: auto|on|off}");
			rc = -1;
			continue;
		}
		for (j = 0; j < e->n; j++) {
			if (strcmp(e->keys[j]->value, "tls") == 0) {
				if (auth_conf_tls(file, e->items[j], &c,
					errs) != 0)
					rc = -1;
			} else if (strcmp(e->keys[j]->value, "address") != 0) {
				errlist_add(errs, file, e->keys[j]->line,
				    e->keys[j]->col,
				    "listen: unknown setting \"%s\" (expected "
				    "address, tls)",
				    e->keys[j]->value);
				rc = -1;
			}
		}
	}
	return (rc);
}

/* One key of the http: section. */
static int
auth_conf_key(const char *file, struct ynode *k, struct ynode *v,
    struct auth_conf *c, struct errlist *errs)
{
	const char *key = k->value;
	long long n;

	if (strcmp(key, "listen") == 0) /* config.c reads the addresses */
		return (v->type == YNODE_SEQ ?
			auth_conf_listens(file, v, errs) :
			0);
	if (strcmp(key, "public_url") == 0) { /* notify.c reads it */
		if (v->type == YNODE_SCALAR &&
		    (strncmp(v->value, "http://", 7) == 0 ||
			strncmp(v->value, "https://", 8) == 0))
			return (0);
		errlist_add(errs, file, v->line, v->col,
		    "public_url: expected "
		    "an http:// or https:// address");
		return (-1);
	}
	if (strcmp(key, "users") == 0)
		return (
		    auth_conf_list(file, v, 0, &c->users, &c->nusers, errs));
	if (strcmp(key, "tokens") == 0)
		return (
		    auth_conf_list(file, v, 1, &c->tokens, &c->ntokens, errs));
	if (strcmp(key, "allowed_hosts") == 0)
		return (auth_conf_hosts(file, v, c, errs));
	if (strcmp(key, "require_login") == 0)
		return (ynode_bool(v, file, &c->require_login, errs));
	if (strcmp(key, "public_read") == 0)
		return (ynode_bool(v, file, &c->public_read, errs));
	if (strcmp(key, "tls") == 0)
		return (auth_conf_tls(file, v, c, errs));
	if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
		if (v->type != YNODE_SCALAR || *v->value == '\0') {
			errlist_add(errs, file, v->line, v->col,
			    "%s: expected "
			    "a file name",
			    key);
			return (-1);
		}
		*(key[4] == 'c' ? &c->tls_cert : &c->tls_key) = v->value;
		return (0);
	}
	if (strcmp(key, "session_timeout") == 0) {
		if (ynode_duration(v, file, &c->session_ttl, errs) != 0)
			return (-1);
		if (c->session_ttl >= 60)
			return (0);
		errlist_add(errs, file, v->line, v->col,
		    "session_timeout: at "
		    "least 1m");
		return (-1);
	}
	if (strcmp(key, "login_attempts") == 0) {
		if (ynode_int(v, file, 1, 1000, &n, errs) != 0)
			return (-1);
		c->login_attempts = n;
		return (0);
	}
	errlist_add(errs, file, k->line, k->col,
	    "unknown setting \"%s\" in "
	    "http (expected one of: listen, tls, tls_cert, tls_key, users, "
	    "tokens, require_login, public_read, allowed_hosts, "
	    "session_timeout, login_attempts, public_url)",
	    key);
	return (-1);
}

/* Read the http: section's access settings; -1 with errors. */
static int
auth_conf_read(const struct config *cfg, struct auth_conf *c,
    struct errlist *errs)
{
	struct ynode *m = cfg->sec_http;
	size_t i;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->session_ttl = 12 * 3600;
	c->login_attempts = 10;
	if (m == NULL)
		return (0);
	for (i = 0; i < m->n; i++)
		if (auth_conf_key(cfg->file, m->keys[i], m->items[i], c,
			errs) != 0)
			rc = -1;
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		errlist_add(errs, cfg->file, m->line, m->col,
		    "tls_cert and "
		    "tls_key go together");
		rc = -1;
	}
	if (rc != 0)
		auth_conf_free(c);
	return (rc);
}

int
auth_check(const struct config *cfg, struct errlist *errs)
{
	struct auth_conf c;

	if (auth_conf_read(cfg, &c, errs) != 0)
		return (-1);
	auth_conf_free(&c);
	return (0);
}

/* Whether anyone must prove who they are. */
static int
auth_required(const struct auth_conf *c)
{
	return (c->require_login || c->nusers > 0 || c->ntokens > 0);
}

/* Whether "host:port" is on a loopback address. */
static int
auth_loopback(const char *listen)
{
	char host[256], port[32];

	if (config_split_addr(listen, host, sizeof(host), port, sizeof(port)) !=
	    0)
		return (0);
	return (strcmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0);
}

/* Follow reloads: read the settings again when the config was swapped. */
static void
auth_refresh(struct auth *a)
{
	struct errlist errs = { 0 };
	struct auth_conf c;

	if (a->generation == a->sd->generation)
		return;
	auth_conf_free(&a->conf); /* it points into the old config */
	if (auth_conf_read(a->sd->cfg, &c, &errs) == 0)
		a->conf = c;
	else {
		/* Checked when loaded, so never; if so, nobody gets in. */
		a->conf.require_login = 1;
		a->conf.login_attempts = 10;
		a->conf.session_ttl = 60;
	}
	errlist_free(&errs);
	a->generation = a->sd->generation;
}

/* Write a file with mode 0600 or 0644 from a memory BIO; -1 with *cause. */
static int
auth_write_pem(const char *path, BIO *bio, mode_t mode, char **cause)
{
	char *data;
	long len;
	int fd;

	len = BIO_get_mem_data(bio, &data);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1 || write(fd, data, (size_t)len) != len || fsync(fd) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(path);
		}
		return (-1);
	}
	close(fd);
	return (0);
}

/* The subjectAltName of a generated certificate: this host, loopback. */
static int
auth_cert_san(X509 *x)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char host[256], san[600];
	int ok;

	if (gethostname(host, sizeof(host)) != 0 || *host == '\0' ||
	    strcspn(host, ",:") != strlen(host))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(san, sizeof(san),
	    "DNS:%s,DNS:localhost,IP:127.0.0.1,"
	    "IP:::1",
	    host);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san)) ==
	    NULL)
		return (-1);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)host, -1, -1, 0);
	return (ok == 1 ? 0 : -1);
}

/*
 * Make a self-signed certificate for this host (P-256, ten years) as
 * Debian's snakeoil one: the browser warns once, the traffic is private.
 */
static int
auth_cert_make(const char *cert, const char *key, char **cause)
{
	EVP_PKEY *pk;
	X509 *x;
	BIO *bc, *bk;
	unsigned char serial[16];
	BIGNUM *bn;
	int rc = -1;

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL) {
		EVP_PKEY_free(pk);
		xasprintf(cause, "cannot generate a key");
		return (-1);
	}
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * AUTH_CERT_DAYS);
	X509_set_pubkey(x, pk);
	bc = BIO_new(BIO_s_mem());
	bk = BIO_new(BIO_s_mem());
	if (auth_cert_san(x) != 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_sign(x, pk, EVP_sha256()) == 0 ||
	    PEM_write_bio_X509(bc, x) != 1 ||
	    PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL) != 1)
		xasprintf(cause, "cannot make a certificate");
	else if (auth_write_pem(key, bk, 0600, cause) == 0) {
		if (auth_write_pem(cert, bc, 0644, cause) == 0)
			rc = 0;
		else
			unlink(key);
	}
	BIO_free(bc);
	BIO_free(bk);
	X509_free(x);
	EVP_PKEY_free(pk);
	if (rc == 0)
		log_info("http: made a self-signed certificate %s", cert);
	return (rc);
}

/* The TLS context with the configured or generated key pair. */
static SSL_CTX *
auth_tls_new(struct auth *a, char **cause)
{
	const struct config *cfg = a->sd->cfg;
	SSL_CTX *ctx;
	char *cert, *key, buf[256];

	if (a->conf.tls_cert != NULL) {
		cert = config_path(cfg, a->conf.tls_cert);
		key = config_path(cfg, a->conf.tls_key);
	} else {
		xasprintf(&cert, "%s/http-cert.pem", cfg->state_dir);
		xasprintf(&key, "%s/http-key.pem", cfg->state_dir);
		if (access(cert, F_OK) != 0 && access(key, F_OK) != 0 &&
		    auth_cert_make(cert, key, cause) != 0) {
			free(cert);
			free(key);
			return (NULL);
		}
	}
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_cipher_list(ctx, AUTH_CIPHERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		xasprintf(cause, "%s, %s: %s", cert, key, buf);
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	free(cert);
	free(key);
	return (ctx);
}

/* Whether one address with its tls setting (auto, on, off) speaks HTTPS. */
static int
auth_listen_https(const struct auth *a, const char *addr, int tls)
{
	return (tls == AUTH_TLS_ON ||
	    (tls == AUTH_TLS_AUTO &&
		(a->conf.tls_cert != NULL || !auth_loopback(addr))));
}

/* One entry of http.listen; the tls setting is http.tls unless given. */
static void
auth_listen_add(struct auth *a, const struct ynode *e)
{
	struct errlist errs = { 0 };
	struct auth_conf c;
	const struct ynode *v;
	struct auth_listen *l;

	if (a->nlistens >= AUTH_MAX_LISTEN)
		return;
	l = &a->listens[a->nlistens];
	c.tls = a->conf.tls;
	v = e->type == YNODE_MAP ? ynode_get(e, "address") : e;
	if (v == NULL || v->type != YNODE_SCALAR)
		return; /* checked when loaded */
	if (e->type == YNODE_MAP && ynode_get(e, "tls") != NULL)
		auth_conf_tls(a->sd->cfg->file, ynode_get(e, "tls"), &c, &errs);
	errlist_free(&errs);
	l->addr = xstrdup(v->value);
	l->https = auth_listen_https(a, l->addr, c.tls);
	a->nlistens++;
}

/* The listening addresses: http.listen, one or a list. */
static void
auth_listens_read(struct auth *a)
{
	const struct config *cfg = a->sd->cfg;
	const struct ynode *s = ynode_get(cfg->sec_http, "listen");
	size_t i;

	if (s != NULL && s->type == YNODE_SEQ) {
		for (i = 0; i < s->n; i++)
			auth_listen_add(a, s->items[i]);
		return;
	}
	if (cfg->http_listen == NULL)
		return;
	a->listens[0].addr = xstrdup(cfg->http_listen);
	a->listens[0].https =
	    auth_listen_https(a, cfg->http_listen, a->conf.tls);
	a->nlistens = 1;
}

struct auth *
auth_new(struct sopd *sd, char **cause)
{
	struct errlist errs = { 0 };
	struct auth *a;
	const char *addr;
	size_t i;

	a = xcalloc(1, sizeof(*a));
	a->sd = sd;
	if (auth_conf_read(sd->cfg, &a->conf, &errs) != 0) {
		xasprintf(cause, "%s",
		    errs.n > 0 ? errs.msgs[0] : "bad http settings");
		errlist_free(&errs);
		free(a);
		return (NULL);
	}
	a->generation = sd->generation;
	auth_listens_read(a);
	for (i = 0; i < a->nlistens; i++)
		a->https |= a->listens[i].https;
	if (a->https && (a->ctx = auth_tls_new(a, cause)) == NULL) {
		auth_free(a);
		return (NULL);
	}
	for (i = 0; i < a->nlistens; i++) {
		addr = a->listens[i].addr;
		if (!a->listens[i].https && !auth_loopback(addr))
			log_warnx("http: plain HTTP on %s (tls: off)", addr);
		if (!auth_required(&a->conf) && !auth_loopback(addr))
			log_warnx("http: no users or tokens: anyone reaching "
				  "%s may act",
			    addr);
	}
	return (a);
}

size_t
auth_listens(const struct auth *a, const struct auth_listen **out)
{
	*out = a->listens;
	return (a->nlistens);
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	SSL_CTX_free(a->ctx);
	while (a->nlistens > 0)
		free((char *)a->listens[--a->nlistens].addr);
	auth_conf_free(&a->conf);
	OPENSSL_cleanse(a->sess, sizeof(a->sess));
	free(a);
}

SSL_CTX *
auth_tls_ctx(const struct auth *a)
{
	return (a != NULL ? a->ctx : NULL);
}

void
auth_token_hash(const char *token, char hex[65])
{
	unsigned char md[32];
	unsigned int len = sizeof(md), i;

	EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* A random secret as hex. */
static void
auth_random(char out[AUTH_HEX])
{
	unsigned char b[AUTH_SECRET];
	int i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		fatalx("auth: no random bytes");
	for (i = 0; i < AUTH_SECRET; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Answer {"error": msg} (or a document) with a code. */
static void
auth_reply(struct evhttp_request *req, int code, json_t *doc)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(doc, JSON_COMPACT);

	json_decref(doc);
	if (s != NULL) {
		evbuffer_add_printf(b, "%s\n", s);
		free(s);
	}
	evhttp_add_header(out, "Content-Type", AUTH_JSON);
	evhttp_add_header(out, "Content-Security-Policy", "default-src 'self'");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

static void
auth_error(struct evhttp_request *req, int code, const char *msg)
{
	auth_reply(req, code, json_pack("{s:s}", "error", msg));
}

/* Whether a Host may be served: IP literals, loopback, this host, listed. */
static int
auth_host_ok(struct auth *a, const char *hosthdr)
{
	char h[256], self[256];
	unsigned char ip[16];
	size_t i, n;

	if (hosthdr == NULL)
		return (1); /* HTTP/1.0: no name to rebind */
	if (*hosthdr == '[') {
		n = strcspn(hosthdr + 1, "]");
		return (n < sizeof(h) && hosthdr[1 + n] == ']');
	}
	n = strcspn(hosthdr, ":");
	if (n == 0 || n >= sizeof(h))
		return (0);
	memcpy(h, hosthdr, n);
	h[n] = '\0';
	if (h[n - 1] == '.')
		h[n - 1] = '\0';
	if (inet_pton(AF_INET, h, ip) == 1 || strcasecmp(h, "localhost") == 0)
		return (1);
	for (i = 0; i < a->conf.nhosts; i++)
		if (strcasecmp(h, a->conf.hosts[i]) == 0)
			return (1);
	if (gethostname(self, sizeof(self)) == 0) {
		self[sizeof(self) - 1] = '\0';
		n = strcspn(self, ".");
		if (strcasecmp(h, self) == 0 ||
		    (strncasecmp(h, self, n) == 0 && h[n] == '\0'))
			return (1);
	}
	return (0);
}

/* The value of a cookie in the Cookie header into out; -1 if absent. */
static int
auth_cookie(struct evhttp_request *req, char *out, size_t len)
{
	const char *c, *p;
	size_t n, klen = strlen(AUTH_COOKIE);

	c = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
	for (p = c; p != NULL && *p != '\0';) {
		p += strspn(p, " ;");
		if (strncmp(p, AUTH_COOKIE, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			n = strcspn(p, "; ");
			if (n == 0 || n >= len)
				return (-1);
			memcpy(out, p, n);
			out[n] = '\0';
			return (0);
		}
		p += strcspn(p, ";");
	}
	return (-1);
}

/* The live session of a request's cookie, or NULL. */
static struct auth_session *
auth_session_find(struct auth *a, struct evhttp_request *req)
{
	char id[AUTH_HEX];
	time_t now = auth_now();
	size_t i;

	if (auth_cookie(req, id, sizeof(id)) != 0 || strlen(id) != AUTH_HEX - 1)
		return (NULL);
	for (i = 0; i < AUTH_MAX_SESSIONS; i++) {
		if (a->sess[i].expires == 0)
			continue;
		if (a->sess[i].expires <= now) {
			memset(&a->sess[i], 0, sizeof(a->sess[i]));
			continue;
		}
		if (CRYPTO_memcmp(a->sess[i].id, id, AUTH_HEX - 1) == 0)
			return (&a->sess[i]);
	}
	return (NULL);
}

/* The configured user of that name, or NULL. */
static const struct auth_user *
auth_user(const struct auth *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->conf.nusers; i++)
		if (strcmp(a->conf.users[i].name, name) == 0)
			return (&a->conf.users[i]);
	return (NULL);
}

/* The configured token of an Authorization: Bearer header, or NULL. */
static const struct auth_user *
auth_bearer(const struct auth *a, struct evhttp_request *req, int *given)
{
	const char *h;
	char hex[65];
	size_t i;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	*given = h != NULL;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (NULL);
	auth_token_hash(h + 7, hex);
	for (i = 0; i < a->conf.ntokens; i++)
		if (CRYPTO_memcmp(a->conf.tokens[i].hash, hex, 64) == 0)
			return (&a->conf.tokens[i]);
	return (NULL);
}

/* The peer address of a request as text. */
static void
auth_peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port;

	if (c != NULL)
		evhttp_connection_get_peer(c, (char **)&addr, &port);
	snprintf(buf, len, "%s", addr != NULL ? addr : "?");
}

/* Count a login attempt from a source; 0 if it may go on. */
static int
auth_rate(struct auth *a, const char *addr)
{
	struct auth_source *s, *old = &a->src[0];
	time_t now = auth_now();
	size_t i;

	for (i = 0; i < AUTH_MAX_SOURCES; i++) {
		s = &a->src[i];
		if (strcmp(s->addr, addr) == 0)
			break;
		if (s->start < old->start)
			old = s;
	}
	if (i == AUTH_MAX_SOURCES) {
		s = old;
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
		s->start = now;
		s->attempts = 0;
	}
	if (now - s->start >= 60) {
		s->start = now;
		s->attempts = 0;
	}
	return (++s->attempts > a->conf.login_attempts ? -1 : 0);
}

/* The user and password of a login body (JSON or a form); -1 if none. */
static int
auth_login_body(struct evhttp_request *req, char *user, char *pass, size_t len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq q;
	const char *ct, *u, *p;
	size_t n = evbuffer_get_length(in);
	char *body;
	json_t *doc;
	int rc = -1;

	if (n == 0 || n > AUTH_MAX_BODY)
		return (-1);
	body = xcalloc(1, n + 1);
	evbuffer_copyout(in, body, n);
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct != NULL && strncasecmp(ct, AUTH_JSON, strlen(AUTH_JSON)) == 0) {
		doc = json_loads(body, 0, NULL);
		u = json_string_value(json_object_get(doc, "user"));
		p = json_string_value(json_object_get(doc, "password"));
		if (u != NULL && p != NULL && strlen(u) < len &&
		    strlen(p) < len) {
			snprintf(user, len, "%s", u);
			snprintf(pass, len, "%s", p);
			rc = 0;
		}
		json_decref(doc);
	} else {
		TAILQ_INIT(&q);
		if (evhttp_parse_query_str(body, &q) == 0 &&
		    (u = evhttp_find_header(&q, "user")) != NULL &&
		    (p = evhttp_find_header(&q, "password")) != NULL &&
		    strlen(u) < len && strlen(p) < len) {
			snprintf(user, len, "%s", u);
			snprintf(pass, len, "%s", p);
			rc = 0;
		}
		evhttp_clear_headers(&q);
	}
	OPENSSL_cleanse(body, n);
	free(body);
	return (rc);
}

/* Whether the password matches the crypt hash. */
static int
auth_password_ok(struct auth *a, const char *hash, const char *pass)
{
	const char *h;

	memset(&a->cd, 0, sizeof(a->cd));
	h = crypt_r(pass, hash, &a->cd);
	return (h != NULL && h[0] != '*' && strlen(h) == strlen(hash) &&
	    CRYPTO_memcmp(h, hash, strlen(hash)) == 0);
}

/* The session document: who, the role, the CSRF token. */
static json_t *
auth_session_json(const struct auth *a, const struct auth_session *s, int role)
{
	return (json_pack("{s:s,s:s,s:s,s:b}", "user", s->user, "role",
	    auth_roles[role], "csrf", s->csrf, "login_required", 1));
}

/* A new session for user; the oldest gives way when all are taken. */
static struct auth_session *
auth_session_new(struct auth *a, const char *user)
{
	struct auth_session *s = &a->sess[0];
	size_t i;

	for (i = 0; i < AUTH_MAX_SESSIONS; i++) {
		if (a->sess[i].expires == 0) {
			s = &a->sess[i];
			break;
		}
		if (a->sess[i].expires < s->expires)
			s = &a->sess[i];
	}
	auth_random(s->id);
	auth_random(s->csrf);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->expires = auth_now() + (time_t)a->conf.session_ttl;
	return (s);
}

/* Whether a request came over TLS (its listener speaks HTTPS). */
static int
auth_req_tls(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	return (evcon != NULL &&
	    bufferevent_openssl_get_ssl(
		evhttp_connection_get_bufferevent(evcon)) != NULL);
}

/* Set (or clear, id NULL) the session cookie. */
static void
auth_set_cookie(struct auth *a, struct evhttp_request *req, const char *id)
{
	char c[256];

	snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
	    AUTH_COOKIE, id != NULL ? id : "",
	    auth_req_tls(req) ? "; Secure" : "",
	    id != NULL ? "" : "; Max-Age=0");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	    c);
}

/* Make a name fit for the log: control bytes become '?'. */
static void
auth_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* POST /api/v1/login. */
static void
auth_login(struct auth *a, struct evhttp_request *req)
{
	const struct auth_user *u;
	struct auth_session *s;
	char addr[64], user[256], pass[256];
	/* A real yescrypt hash, so that an unknown user costs the same. */
	static const char *dummy = "$y$j9T$ksGJ31JIfvzJ4hN9ses30.$"
				   "61SzTbsP9v6N/sST5beFqL8Mc4i0/"
				   "M0mXs14OzYsQv2";

	auth_peer(req, addr, sizeof(addr));
	if (auth_rate(a, addr) != 0) {
		a->limited++;
		log_warnx("http: login from %s refused: too many attempts",
		    addr);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "60");
		auth_error(req, 429, "too many login attempts; wait a minute");
		return;
	}
	if (auth_login_body(req, user, pass, sizeof(user)) != 0) {
		auth_error(req, 400, "want user and password");
		return;
	}
	u = auth_user(a, user);
	if (!auth_password_ok(a, u != NULL ? u->hash : dummy, pass) ||
	    u == NULL) {
		OPENSSL_cleanse(pass, sizeof(pass));
		a->failures++;
		auth_printable(user);
		log_warnx("http: login failed for \"%.64s\" from %s", user,
		    addr);
		auth_error(req, 401, "wrong user name or password");
		return;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	a->logins++;
	s = auth_session_new(a, u->name);
	log_info("http: %s logged in from %s", u->name, addr);
	auth_set_cookie(a, req, s->id);
	auth_reply(req, 200, auth_session_json(a, s, u->role));
}

/* Whether the request's CSRF header matches the session's token. */
static int
auth_csrf_ok(const struct auth_session *s, struct evhttp_request *req)
{
	const char *t;

	t = evhttp_find_header(evhttp_request_get_input_headers(req),
	    AUTH_CSRF_HEADER);
	return (t != NULL && strlen(t) == AUTH_HEX - 1 &&
	    CRYPTO_memcmp(t, s->csrf, AUTH_HEX - 1) == 0);
}

/* The live session of a request whose user is still configured. */
static struct auth_session *
auth_session_user(struct auth *a, struct evhttp_request *req,
    const struct auth_user **u)
{
	struct auth_session *s;

	*u = NULL;
	auth_refresh(a);
	if ((s = auth_session_find(a, req)) != NULL &&
	    (*u = auth_user(a, s->user)) == NULL)
		s = NULL; /* the user was removed */
	return (s);
}

/* The answer when nobody has to log in. */
static void
auth_open_reply(struct evhttp_request *req)
{
	auth_reply(req, 200,
	    json_pack("{s:n,s:s,s:n,s:b}", "user", "role", "admin", "csrf",
		"login_required", 0));
}

void
auth_login_route(struct auth *a, struct evhttp_request *req)
{
	auth_refresh(a);
	if (!auth_required(&a->conf))
		auth_open_reply(req);
	else
		auth_login(a, req);
}

void
auth_logout_route(struct auth *a, struct evhttp_request *req)
{
	const struct auth_user *u;
	struct auth_session *s = auth_session_user(a, req, &u);

	if (s != NULL && auth_csrf_ok(s, req))
		memset(s, 0, sizeof(*s));
	auth_set_cookie(a, req, NULL);
	auth_reply(req, 200, json_pack("{s:b}", "ok", 1));
}

void
auth_session_route(struct auth *a, struct evhttp_request *req)
{
	const struct auth_user *u;
	struct auth_session *s = auth_session_user(a, req, &u);

	if (!auth_required(&a->conf))
		auth_open_reply(req);
	else if (s == NULL)
		auth_reply(req, 401,
		    json_pack("{s:s,s:b,s:b}", "error", "not logged in",
			"public_read", a->conf.public_read, "login_required",
			1));
	else
		auth_reply(req, 200, auth_session_json(a, s, u->role));
}

/* Paths anyone may read: the page itself and the health check. */
static int
auth_public_path(const char *path)
{
	return (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
	    strncmp(path, "/static/", 8) == 0 ||
	    strcmp(path, "/healthz") == 0 ||
	    strcmp(path, "/api/v1/login") == 0 ||
	    strcmp(path, "/api/v1/logout") == 0 ||
	    strcmp(path, "/api/v1/session") == 0);
}

/* Refuse with a code and a message, counting it. */
static int
auth_refuse(struct auth *a, struct evhttp_request *req, int code,
    const char *msg)
{
	if (code == 401)
		a->refused_auth++;
	auth_error(req, code, msg);
	return (1);
}

int
auth_request(struct auth *a, struct evhttp_request *req, const char *path,
    int route_post, struct auth_who *who)
{
	const struct auth_user *u = NULL, *t;
	struct auth_session *s;
	int given;

	who->name[0] = '\0';
	who->role = AUTH_ADMIN;
	if (!auth_host_ok(a,
		evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Host"))) {
		a->refused_host++;
		auth_error(req, 421,
		    "this Host is not served here (set "
		    "http: allowed_hosts)");
		return (1);
	}
	s = auth_session_user(a, req, &u);
	if (!auth_required(&a->conf) || auth_public_path(path) ||
	    route_post < 0)
		return (0);
	t = auth_bearer(a, req, &given);
	if (t != NULL)
		u = t;
	else if (given)
		return (auth_refuse(a, req, 401, "unknown API token"));
	if (u == NULL) {
		if (!route_post && a->conf.public_read) {
			who->role = -1;
			return (0);
		}
		return (auth_refuse(a, req, 401,
		    "log in or give an API "
		    "token"));
	}
	if (route_post && t == NULL && !auth_csrf_ok(s, req)) {
		a->refused_csrf++;
		return (auth_refuse(a, req, 403,
		    "missing or wrong " AUTH_CSRF_HEADER));
	}
	if (route_post && u->role < AUTH_OPERATOR)
		return (auth_refuse(a, req, 403,
		    "viewers may not change "
		    "anything"));
	snprintf(who->name, sizeof(who->name), "%s", u->name);
	who->role = u->role;
	return (0);
}

void
auth_metrics(const struct auth *a, struct evbuffer *b)
{
	const struct {
		const char *name, *help;
		unsigned long long v;
	} m[] = {
		{ "sopd_http_logins_total", "Successful logins.", a->logins },
		{ "sopd_http_login_failures_total",
		    "Logins refused: unknown user or wrong password.",
		    a->failures },
		{ "sopd_http_login_rate_limited_total",
		    "Login attempts refused: too many from one source.",
		    a->limited },
		{ "sopd_http_refused_total{reason=\"host\"}", NULL,
		    a->refused_host },
		{ "sopd_http_refused_total{reason=\"csrf\"}", NULL,
		    a->refused_csrf },
		{ "sopd_http_refused_total{reason=\"unauthenticated\"}", NULL,
		    a->refused_auth },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (m[i].help != NULL)
			evbuffer_add_printf(b,
			    "# HELP %s %s\n# TYPE %s "
			    "counter\n",
			    m[i].name, m[i].help, m[i].name);
		else if (i == 3)
			evbuffer_add_printf(b,
			    "# HELP sopd_http_refused_total "
			    "Requests refused by reason.\n# TYPE "
			    "sopd_http_refused_total counter\n");
		evbuffer_add_printf(b, "%s %llu\n", m[i].name, m[i].v);
	}
}

json_t *
auth_stats_json(const struct auth *a)
{
	size_t i, n = 0;
	time_t now = auth_now();

	if (a == NULL)
		return (json_object());
	for (i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sess[i].expires > now)
			n++;
	return (json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "https",
	    a->https, "login_required", auth_required(&a->conf), "sessions",
	    (json_int_t)n, "logins", (json_int_t)a->logins, "login_failures",
	    (json_int_t)a->failures, "login_rate_limited",
	    (json_int_t)a->limited, "refused_host", (json_int_t)a->refused_host,
	    "refused_csrf", (json_int_t)a->refused_csrf,
	    "refused_unauthenticated", (json_int_t)a->refused_auth));
}

int
auth_passwd_hash(const char *pass, char *out, size_t len)
{
	struct crypt_data *cd;
	char *salt;
	const char *h;
	int rc = -1;

	if ((salt = crypt_gensalt_ra("$y$", 0, NULL, 0)) == NULL)
		return (-1);
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_r(pass, salt, cd);
	if (h != NULL && h[0] == '$' && strlen(h) < len) {
		snprintf(out, len, "%s", h);
		rc = 0;
	}
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	free(salt);
	return (rc);
}

void
auth_token_new(char out[65])
{
	auth_random(out);
}
