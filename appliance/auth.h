/* auth.h: who may use the console and API: HTTPS, users, sessions, tokens. */
#ifndef SOPD_AUTH_H
#define SOPD_AUTH_H

#include <openssl/ssl.h>
#include <jansson.h>

struct config;
struct errlist;
struct evbuffer;
struct evhttp_request;
struct sopd;
struct auth;

enum auth_role {
	AUTH_VIEWER,
	AUTH_OPERATOR,
	AUTH_ADMIN
};

#define AUTH_MAX_NAME 64

/* Who made a request; name "" when login is not required. */
struct auth_who {
	char name[AUTH_MAX_NAME + 1];
	int role; /* enum auth_role; -1: nobody */
};

/* One listening address of the console and whether it speaks HTTPS. */
#define AUTH_MAX_LISTEN 8
struct auth_listen {
	const char *addr; /* host:port */
	int https;
};

/* Check the http: section's access settings; -1 with errors in errs. */
int auth_check(const struct config *, struct errlist *);
/* Read the settings and make the TLS context; NULL with *cause. */
struct auth *auth_new(struct sopd *, char **cause);
void auth_free(struct auth *);
/*
 * The listening addresses (http.listen: one, or a list whose entries may
 * set their own tls); the count, the entries in *out.
 */
size_t auth_listens(const struct auth *, const struct auth_listen **out);
/* The TLS context for HTTPS connections, NULL when none speaks HTTPS. */
SSL_CTX *auth_tls_ctx(const struct auth *);
/*
 * Admit a request before its route runs: 0 with *who to go on, 1 when it
 * was refused (answered).  route_post: the route's method, -1 when no
 * route matched (only the Host is checked then).
 */
int auth_request(struct auth *, struct evhttp_request *, const char *path,
    int route_post, struct auth_who *who);
/* POST /api/v1/login, POST /api/v1/logout, GET /api/v1/session. */
void auth_login_route(struct auth *, struct evhttp_request *);
void auth_logout_route(struct auth *, struct evhttp_request *);
void auth_session_route(struct auth *, struct evhttp_request *);
/* Counters for /metrics, in Prometheus' text format. */
void auth_metrics(const struct auth *, struct evbuffer *);
/* Counters for /api/v1/stats. */
json_t *auth_stats_json(const struct auth *);
/* The SHA-256 of an API token as lowercase hex (65 bytes with the NUL). */
void auth_token_hash(const char *token, char hex[65]);

/* A yescrypt hash of a password (sopctl passwd); -1 on failure. */
int auth_passwd_hash(const char *pass, char *out, size_t len);
/* A new random API token: 64 hex digits (sopctl token). */
void auth_token_new(char out[65]);

#endif
