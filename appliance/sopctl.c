/* sopctl.c: the command line for sopd's HTTP API (list, show, ack, ...). */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "fwctl.h"
#include "schedule.h"
#include "version.h"

#define CTL_DEFAULT_URL "http://127.0.0.1:8080"
#define CTL_TIMEOUT_MS	10000		   /* whole request */
#define CTL_BACKUP_MS	(30 * 60 * 1000)   /* a whole backup */
#define CTL_MAX_REPLY	(64 * 1024 * 1024) /* bytes of an answer */
#define CTL_MAX_NOTE	4096
#define CTL_WHEN_WIDTH	50 /* "YYYY-MM-DD hh:mm +hh:mm .. " twice */

enum {
	CTL_OK = 0,
	CTL_EAPI = 1, /* the API refused or answered nonsense */
	CTL_EUSAGE = 2,
	CTL_ECONNECT = 3, /* sopd cannot be reached */
};

/* Where sopd is and how to print. */
struct ctl {
	char *url; /* as given, for messages */
	char *host;
	char port[16];
	char *prefix; /* path before /api, no trailing slash */
	int tls;      /* https */
	char *cacert; /* PEM file of the CA (or certificate) to trust */
	int json;
	char *argv0;
	char *token; /* API token; NULL: none */
};

/* One HTTP answer. */
struct ctl_reply {
	int code;
	char *body; /* NUL-terminated */
	size_t len;
};

static struct ctl ctl;

/* Print the usage text on a stream. */
static void
ctl_usage_to(FILE *f)
{
	fprintf(f,
	    "usage: sopctl [-u URL] [--json] COMMAND [ARGS]\n"
	    "       sopctl --help | --version\n"
	    "\n"
	    "commands:\n"
	    "  list [--state S] [--severity S] [--host H] [--rule R] "
	    "[--limit N] [--all]\n"
	    "                       incidents (default: the active ones)\n"
	    "  show ID              one incident: fields, events, history\n"
	    "  ack ID [-m NOTE] [--actor NAME]\n"
	    "                       acknowledge an open incident\n"
	    "  resolve ID [-m NOTE] [--actor NAME]\n"
	    "                       resolve an incident\n"
	    "  note ID -m NOTE [--actor NAME]\n"
	    "                       add a note to an incident\n"
	    "  set ID [--impact T] [--workaround T] [--eta TIME]\n"
	    "             [--actor NAME]\n"
	    "                       what the client is told: impact,\n"
	    "                       workaround, expected recovery (\"\"\n"
	    "                       clears one)\n"
	    "  export ID [--json]   an incident's report for the client:\n"
	    "                       fields, timeline, notes and events\n"
	    "  audit [--limit N]    what each reload changed (rules, windows,\n"
	    "                       policies, targets), newest first\n"
	    "  assign ID NAME [--actor NAME]\n"
	    "                       give an active incident an owner (\"\": "
	    "nobody)\n"
	    "  stats                inputs, drop reasons, rules, incidents\n"
	    "  health               whether sopd answers\n"
	    "  parse [-c CONFIG]    normalize syslog lines on stdin (sopd "
	    "--parse)\n"
	    "  windows              active and upcoming patch and change "
	    "windows\n"
	    "  window show ID       a window and what happened in it\n"
	    "  window add --id ID --start T --end T [--title T] [--hosts a,b]\n"
	    "             [--group G]... [--approved]\n"
	    "                       create a change window (times RFC 3339 or\n"
	    "                       local \"YYYY-MM-DD HH:MM\")\n"
	    "  window cancel ID     cancel a change window made with add\n"
	    "  changes              every change (SOP 4) and its state\n"
	    "  change list          the same\n"
	    "  change show ID       a change: record, approval, history\n"
	    "  change request --id ID --title T --start T --end T\n"
	    "             [--hosts a,b] [--group G]... [--description T]\n"
	    "             [--impact T] [--risk T] [--rollback T]\n"
	    "             [--owner LEVEL] [--severities a,b] [--actor NAME]\n"
	    "                       request a change (its window holds\n"
	    "                       nothing until it is approved)\n"
	    "  change approve|start|verified|failed|rollback|close|cancel ID\n"
	    "             [-m NOTE] [--actor NAME]\n"
	    "                       move a change; recorded and told to its\n"
	    "                       owner and L1\n"
	    "  expectations         expected events and silent hosts, with "
	    "state\n"
	    "  hosts                hosts polled over SNMP: state and last "
	    "values\n"
	    "  report daily|weekly|monthly [--date YYYY-MM-DD]\n"
	    "                       the SOP's reports for the day, ISO week "
	    "or\n"
	    "                       month of a date (default: yesterday's)\n"
	    "  report stored [ID] [--job JOB] [--format text|html]\n"
	    "                       reports the schedule made and stored: the\n"
	    "                       list, or one as text (default) or HTML\n"
	    "  schedule             the scheduled jobs, next times, recent "
	    "runs\n"
	    "  backup FILE          a consistent copy of sopd's database, "
	    "made\n"
	    "                       while it runs (SQLite online backup)\n"
	    "  firmware status      the running firmware and RAUC's slots\n"
	    "  firmware install BUNDLE\n"
	    "                       check a signed RAUC bundle and install it\n"
	    "                       into the other root slot (no downgrade)\n"
	    "  passwd               read a password on stdin, print its hash\n"
	    "                       for http: users: password:\n"
	    "  token                print a new API token and its sha256 for\n"
	    "                       http: tokens:\n"
	    "\n"
	    "options:\n"
	    "  -u, --url URL        sopd's address (default $SOPD_URL "
	    "or " CTL_DEFAULT_URL ")\n"
	    "      --cacert FILE    trust this PEM certificate (or CA) for an "
	    "https URL\n"
	    "                       (default $SOPD_CACERT, else the system's "
	    "CAs)\n"
	    "  -j, --json           print the API's JSON\n"
	    "  -T, --token-file F   read the API token from F (default\n"
	    "                       $SOPD_TOKEN, or the file "
	    "$SOPD_TOKEN_FILE)\n"
	    "  -h, --help           print this text\n"
	    "  -V, --version        print sopctl's version\n"
	    "\n"
	    "Times are printed in the zone of sopd's business calendar, with\n"
	    "their offset from UTC.\n"
	    "\n"
	    "exit: 0 ok, 1 API error, 2 usage, 3 cannot reach sopd\n");
}

/* Print the usage text on standard error and exit 2. */
static void __attribute__((noreturn)) ctl_usage(void)
{
	ctl_usage_to(stderr);
	exit(CTL_EUSAGE);
}

/* Print a message and exit with a code. */
static void __attribute__((noreturn, format(printf, 2, 3)))
ctl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sopctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

/* Duplicate a string or die. */
static char *
ctl_strdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		ctl_die(CTL_EAPI, "out of memory");
	return p;
}

/* Split the URL into host, port and path prefix. */
static void
ctl_set_url(const char *url)
{
	struct evhttp_uri *u;
	const char *scheme, *host, *path;
	size_t n;

	if ((u = evhttp_uri_parse(url)) == NULL)
		ctl_die(CTL_EUSAGE, "bad URL: %s", url);
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme != NULL && strcasecmp(scheme, "https") == 0)
		ctl.tls = 1;
	else if (scheme == NULL || strcasecmp(scheme, "http") != 0)
		host = NULL;
	if (host == NULL || *host == '\0')
		ctl_die(CTL_EUSAGE, "bad URL (want http[s]://HOST:PORT): %s",
		    url);
	ctl.url = ctl_strdup(url);
	ctl.host = ctl_strdup(host);
	snprintf(ctl.port, sizeof(ctl.port), "%d",
	    evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) :
		ctl.tls		       ? 443 :
					 80);
	path = evhttp_uri_get_path(u);
	ctl.prefix = ctl_strdup(path != NULL ? path : "");
	n = strlen(ctl.prefix);
	while (n > 0 && ctl.prefix[n - 1] == '/')
		ctl.prefix[--n] = '\0';
	evhttp_uri_free(u);
}

/*
 * A TLS connection to sopd that checks its certificate and name against
 * the system's CAs, or against --cacert (the appliance's own certificate).
 */
static struct bufferevent *
ctl_tls_bufferevent(struct event_base *base)
{
	static SSL_CTX *ctx;
	SSL *ssl;
	struct in6_addr a6;

	if (ctx == NULL) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			return NULL;
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (ctl.cacert != NULL ?
			SSL_CTX_load_verify_locations(ctx, ctl.cacert, NULL) !=
			    1 :
			SSL_CTX_set_default_verify_paths(ctx) != 1)
			ctl_die(CTL_EUSAGE, "cannot read %s: %s", ctl.cacert,
			    ERR_reason_error_string(ERR_get_error()));
	}
	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	/* SNI names a host, never an address (RFC 6066). */
	if (inet_pton(AF_INET, ctl.host, &a6) != 1 &&
	    inet_pton(AF_INET6, ctl.host, &a6) != 1)
		SSL_set_tlsext_host_name(ssl, ctl.host);
	SSL_set1_host(ssl, ctl.host);
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
}

/* One request in flight: what the callbacks fill in. */
struct ctl_call {
	struct event_base *base;
	struct ctl_reply *reply;
	const char *error; /* why there is no answer */
	int err;	   /* the socket's errno, if any */
};

/* The answer (or its absence) arrived. */
static void
ctl_done_cb(struct evhttp_request *req, void *arg)
{
	struct ctl_call *c = arg;
	struct evbuffer *in;
	size_t len;

	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		if (c->error == NULL)
			c->error = "no answer";
		goto done;
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if ((c->reply->body = malloc(len + 1)) == NULL) {
		c->error = "out of memory";
		goto done;
	}
	evbuffer_remove(in, c->reply->body, len);
	c->reply->body[len] = '\0';
	c->reply->len = len;
	c->reply->code = evhttp_request_get_response_code(req);
done:
	event_base_loopexit(c->base, NULL);
}

/* Why the request failed, from libevent's reason and the socket's errno. */
static void
ctl_error_cb(enum evhttp_request_error e, void *arg)
{
	struct ctl_call *c = arg;

	c->err = EVUTIL_SOCKET_ERROR();
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		c->error = "timed out";
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		c->error = "answer too large";
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		c->error = "not an HTTP answer";
		break;
	default:
		c->error = c->err != 0 ? strerror(c->err) : "connection closed";
		break;
	}
}

/* libevent's name for an HTTP method; exits on one sopctl never sends. */
static enum evhttp_cmd_type
ctl_method(const char *method)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type cmd;
	} m[] = {
		{ "GET", EVHTTP_REQ_GET },
		{ "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT },
		{ "DELETE", EVHTTP_REQ_DELETE },
		{ "PATCH", EVHTTP_REQ_PATCH },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(m[i].name, method) == 0)
			return m[i].cmd;
	ctl_die(CTL_EUSAGE, "unknown method %s", method);
}

/* A request's headers: who we are, what we accept, the API token. */
static struct evkeyvalq *
ctl_headers(struct evhttp_request *req, const char *accept)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char buf[300];

	snprintf(buf, sizeof(buf), "%s:%s", ctl.host, ctl.port);
	evhttp_add_header(h, "Host", buf);
	evhttp_add_header(h, "User-Agent", "sopctl");
	evhttp_add_header(h, "Accept", accept);
	evhttp_add_header(h, "Connection", "close");
	if (ctl.token != NULL) {
		snprintf(buf, sizeof(buf), "Bearer %s", ctl.token);
		evhttp_add_header(h, "Authorization", buf);
	}
	return h;
}

/*
 * Make one request with libevent's HTTP client (over TLS for an https
 * URL); exits 3 if sopd cannot be reached or does not answer in time.
 */
static void
ctl_request(struct ctl_call *c, const char *method, const char *path,
    const char *body, const char *accept, int timeout_s)
{
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	struct bufferevent *bev = NULL;
	char *uri;

	memset(c->reply, 0, sizeof(*c->reply));
	if ((c->base = event_base_new()) == NULL)
		ctl_die(CTL_EAPI, "out of memory");
	if (ctl.tls && (bev = ctl_tls_bufferevent(c->base)) == NULL)
		ctl_die(CTL_ECONNECT,
		    "cannot reach sopd at %s: TLS set-up "
		    "failed",
		    ctl.url);
	conn = evhttp_connection_base_bufferevent_new(c->base, NULL, bev,
	    ctl.host, (unsigned short)atoi(ctl.port));
	if (conn == NULL)
		ctl_die(CTL_ECONNECT, "cannot reach sopd at %s", ctl.url);
	evhttp_connection_set_timeout(conn, timeout_s);
	evhttp_connection_set_retries(conn, 0);
	evhttp_connection_set_max_body_size(conn, CTL_MAX_REPLY);
	req = evhttp_request_new(ctl_done_cb, c);
	evhttp_request_set_error_cb(req, ctl_error_cb);
	h = ctl_headers(req, accept);
	if (body != NULL) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    strlen(body));
	}
	if (asprintf(&uri, "%s%s", ctl.prefix, path) == -1)
		ctl_die(CTL_EAPI, "out of memory");
	if (evhttp_make_request(conn, req, ctl_method(method), uri) != 0)
		c->error = "cannot send the request";
	else
		event_base_dispatch(c->base);
	free(uri);
	evhttp_connection_free(conn);
	event_base_free(c->base);
	if (c->reply->body == NULL)
		ctl_die(CTL_ECONNECT, "cannot reach sopd at %s: %s", ctl.url,
		    c->error != NULL ? c->error : "no answer");
}

/* Make one API request; the answer in r. */
static void
ctl_http(const char *method, const char *path, const char *body,
    struct ctl_reply *r)
{
	struct ctl_call c = { .reply = r };

	ctl_request(&c, method, path, body, "application/json",
	    CTL_TIMEOUT_MS / 1000);
}

/*
 * Call the API and return its JSON; on an error status print the API's
 * message and exit 1.
 */
static json_t *
ctl_api(const char *method, const char *path, const char *body)
{
	struct ctl_reply r;
	json_error_t je;
	json_t *doc, *err;

	ctl_http(method, path, body, &r);
	doc = json_loadb(r.body, r.len, 0, &je);
	if (r.code < 200 || r.code > 299) {
		err = json_object_get(doc, "error");
		fprintf(stderr, "sopctl: %s (HTTP %d)\n",
		    json_is_string(err) ? json_string_value(err) :
					  "request failed",
		    r.code);
		json_decref(doc);
		free(r.body);
		exit(CTL_EAPI);
	}
	free(r.body);
	if (doc == NULL)
		ctl_die(CTL_EAPI, "bad answer from sopd: %s", je.text);
	return doc;
}

/* The API token: $SOPD_TOKEN, else the first line of a file. */
static void
ctl_token_load(const char *file)
{
	const char *env = getenv("SOPD_TOKEN");
	char line[256];
	FILE *f;

	if (env != NULL && *env != '\0') {
		ctl.token = ctl_strdup(env);
		return;
	}
	if (file == NULL || *file == '\0')
		return;
	if ((f = fopen(file, "r")) == NULL)
		ctl_die(CTL_EUSAGE, "token file %s: %s", file, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0')
		ctl_die(CTL_EUSAGE, "token file %s: empty", file);
	ctl.token = ctl_strdup(line);
}

/* passwd: a password from stdin (asked twice on a terminal), its hash. */
static int
ctl_passwd(void)
{
	char pw[256], again[256], hash[256];
	int tty = isatty(STDIN_FILENO);

	if (tty)
		fputs("password: ", stderr);
	if (fgets(pw, sizeof(pw), stdin) == NULL)
		ctl_die(CTL_EUSAGE, "no password given");
	pw[strcspn(pw, "\r\n")] = '\0';
	if (tty) {
		fputs("again: ", stderr);
		if (fgets(again, sizeof(again), stdin) == NULL ||
		    (again[strcspn(again, "\r\n")] = '\0',
			strcmp(pw, again) != 0))
			ctl_die(CTL_EUSAGE, "the passwords differ");
	}
	if (strlen(pw) < 8)
		ctl_die(CTL_EUSAGE, "a password has at least 8 characters");
	if (auth_passwd_hash(pw, hash, sizeof(hash)) != 0)
		ctl_die(CTL_EAPI, "cannot hash the password");
	printf("%s\n", hash);
	return CTL_OK;
}

/* token: a new API token (give it to the script) and its hash (config). */
static int
ctl_token(void)
{
	char tok[65], hex[65];

	auth_token_new(tok);
	auth_token_hash(tok, hex);
	printf("token: %s\nsha256: %s\n", tok, hex);
	return CTL_OK;
}

/* Print a JSON document as is (indented). */
static void
ctl_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

/* Print a string with control characters masked, at most max characters. */
static void
ctl_puts(const char *s, size_t max)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && n++ == max)
			break;
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', stdout);
		else
			fputc(*s, stdout);
	}
}

/* Print a string padded (or cut) to a width. */
static void
ctl_col(const char *s, size_t width)
{
	size_t n = 0;
	const char *p;

	if (s == NULL)
		s = "-";
	for (p = s; *p != '\0'; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	ctl_puts(s, width);
	for (; n < width; n++)
		fputc(' ', stdout);
	fputc(' ', stdout);
}

/* A string member of an object, or NULL. */
static const char *
ctl_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* An integer member of an object, or 0. */
static long long
ctl_int(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* Parse an RFC 3339 time ("...Z" or "...+09:00"); 0 if it is not one. */
static time_t
ctl_time(const char *s)
{
	struct tm tm;
	const char *e;
	int hh, mm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return 0;
	t = timegm(&tm);
	if (*e == '.')
		e += 1 + strspn(e + 1, "0123456789");
	if ((*e == '+' || *e == '-') && sscanf(e + 1, "%2d:%2d", &hh, &mm) == 2)
		t -= (*e == '+' ? 1 : -1) * (time_t)(hh * 3600 + mm * 60);
	return t;
}

/* A duration in short words: 45s, 12m, 3h05m, 2d04h. */
static void
ctl_duration(long long s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

/* How long ago (or until) an RFC 3339 time is; "-" if none. */
static void
ctl_ago(const char *iso, char *buf, size_t len)
{
	time_t t = ctl_time(iso);
	long long d;
	char dur[32];

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	d = (long long)(time(NULL) - t);
	ctl_duration(d < 0 ? -d : d, dur, sizeof(dur));
	snprintf(buf, len, d < 0 ? "in %s" : "%s", dur);
}

/* Whether an incident is active (open or acknowledged). */
static int
ctl_active(json_t *inc)
{
	const char *st = ctl_str(inc, "state");

	return st != NULL &&
	    (strcmp(st, "open") == 0 || strcmp(st, "acknowledged") == 0);
}

/* Set TZ to the calendar's zone: asked of sopd once; UTC if it cannot say. */
static void
ctl_zone(void)
{
	static int done;
	struct ctl_reply r;
	const char *tz;
	json_t *doc;

	if (done)
		return;
	done = 1;
	ctl_http("GET", "/api/v1/calendar", NULL, &r);
	doc = r.code == 200 ? json_loadb(r.body, r.len, 0, NULL) : NULL;
	tz = ctl_str(doc, "timezone");
	if (tz == NULL || *tz == '\0' || strlen(tz) > 64 || *tz == ':')
		tz = "UTC";
	setenv("TZ", tz, 1);
	tzset();
	json_decref(doc);
	free(r.body);
}

/*
 * An RFC 3339 time in the calendar's zone with its offset, to the second
 * or to the minute: "2026-11-27 20:00:00 +09:00"; "-" if none.
 */
static void
ctl_local(const char *iso, int seconds, char *buf, size_t len)
{
	struct tm tm;
	time_t t = ctl_time(iso);
	char d[32];
	long g;

	if (t == 0) {
		snprintf(buf, len, "%s", iso != NULL ? iso : "-");
		return;
	}
	ctl_zone();
	localtime_r(&t, &tm);
	strftime(d, sizeof(d), seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M",
	    &tm);
	g = tm.tm_gmtoff;
	snprintf(buf, len, "%s %c%02ld:%02ld", d, g < 0 ? '-' : '+',
	    labs(g) / 3600 % 100, labs(g) % 3600 / 60);
}

/* The next escalation step in short: "L3 in 45m", "held" or "-". */
static void
ctl_next(json_t *inc, char *buf, size_t len)
{
	char when[32];

	if (!ctl_active(inc)) {
		snprintf(buf, len, "-");
		return;
	}
	if (ctl_str(inc, "in_window") != NULL) {
		snprintf(buf, len, "held");
		return;
	}
	if (ctl_str(inc, "next_level") == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	ctl_ago(ctl_str(inc, "next_escalation"), when, sizeof(when));
	snprintf(buf, len, "%s %s", ctl_str(inc, "next_level"), when);
}

/* Width left for titles: the terminal's, else 60 characters. */
static size_t
ctl_title_width(size_t used)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > used + 20)
		return ws.ws_col - used;
	return 60;
}

/* Parse an incident id argument or exit 2. */
static unsigned long long
ctl_id(const char *s)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (*s < '0' || *s > '9' || *e != '\0' || errno != 0 || v == 0)
		ctl_die(CTL_EUSAGE, "bad incident id: %s", s);
	return v;
}

/* Append "&key=value" (URI-encoded) to a query. */
static void
ctl_query_add(char *q, size_t len, const char *k, const char *v)
{
	char *enc;

	if (v == NULL)
		return;
	if ((enc = evhttp_encode_uri(v)) == NULL)
		ctl_die(CTL_EAPI, "out of memory");
	snprintf(q + strlen(q), len - strlen(q), "%c%s=%s",
	    strchr(q, '?') == NULL ? '?' : '&', k, enc);
	free(enc);
	if (strlen(q) >= len - 1)
		ctl_die(CTL_EUSAGE, "arguments too long");
}

/* Print one row of the incident table. */
static void
ctl_list_row(json_t *inc, size_t tw)
{
	char id[32], count[32], ago[32], next[64];

	snprintf(id, sizeof(id), "%lld", ctl_int(inc, "id"));
	snprintf(count, sizeof(count), "%lld", ctl_int(inc, "count"));
	ctl_ago(ctl_str(inc, "last_seen"), ago, sizeof(ago));
	ctl_col(id, 6);
	ctl_col(ctl_str(inc, "severity"), 8);
	ctl_col(ctl_str(inc, "state"), 12);
	ctl_col(ctl_str(inc, "level"), 3);
	ctl_next(inc, next, sizeof(next));
	ctl_col(next, 12);
	ctl_col(ctl_str(inc, "host"), 16);
	printf("%6s ", count);
	ctl_col(ago, 7);
	ctl_puts(ctl_str(inc, "title"), tw);
	fputc('\n', stdout);
}

/* Print the incident list as a table. */
static void
ctl_list_print(json_t *doc)
{
	json_t *list = json_object_get(doc, "incidents"), *inc;
	size_t i, tw = ctl_title_width(83);

	if (json_array_size(list) == 0) {
		printf("no incidents\n");
		return;
	}
	printf("%-6s %-8s %-12s %-3s %-12s %-16s %6s %-7s %s\n", "ID", "SEV",
	    "STATE", "LVL", "NEXT", "HOST", "COUNT", "LAST", "TITLE");
	json_array_foreach(list, i, inc) ctl_list_row(inc, tw);
	if ((long long)json_array_size(list) < ctl_int(doc, "total"))
		printf("(%zu of %lld shown; use --limit)\n",
		    json_array_size(list), ctl_int(doc, "total"));
}

/* sopctl list: incidents, by default the active ones. */
static int
ctl_list(int argc, char **argv)
{
	static const struct option opts[] = { { "state", required_argument,
						  NULL, 's' },
		{ "severity", required_argument, NULL, 'S' },
		{ "host", required_argument, NULL, 'H' },
		{ "rule", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	const char *state = "active", *v[4] = { NULL };
	char q[2048] = "/api/v1/incidents";
	int ch;
	json_t *doc;

	while (
	    (ch = getopt_long(argc, argv, "s:S:H:r:n:a", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			state = optarg;
			break;
		case 'S':
			v[0] = optarg;
			break;
		case 'H':
			v[1] = optarg;
			break;
		case 'r':
			v[2] = optarg;
			break;
		case 'n':
			v[3] = optarg;
			break;
		case 'a':
			state = NULL;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc)
		ctl_usage();
	ctl_query_add(q, sizeof(q), "state", state);
	ctl_query_add(q, sizeof(q), "severity", v[0]);
	ctl_query_add(q, sizeof(q), "host", v[1]);
	ctl_query_add(q, sizeof(q), "rule", v[2]);
	ctl_query_add(q, sizeof(q), "limit", v[3]);
	doc = ctl_api("GET", q, NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else
		ctl_list_print(doc);
	json_decref(doc);
	return CTL_OK;
}

/* Print "  label  value" when the value is there. */
static void
ctl_field(const char *label, const char *value)
{
	printf("  %-16s ", label);
	ctl_puts(value != NULL ? value : "-", SIZE_MAX);
	fputc('\n', stdout);
}

/* Print a time field with how long ago it was. */
static void
ctl_field_time(const char *label, const char *iso)
{
	char ago[32], loc[64], buf[128];

	if (iso == NULL) {
		ctl_field(label, NULL);
		return;
	}
	ctl_ago(iso, ago, sizeof(ago));
	ctl_local(iso, 1, loc, sizeof(loc));
	snprintf(buf, sizeof(buf), "%s (%s%s)", loc, ago,
	    ago[0] == 'i' ? "" : " ago");
	ctl_field(label, buf);
}

/* Print an incident's own fields. */
static void
ctl_show_fields(json_t *inc)
{
	char buf[1024];

	printf("Incident %lld: ", ctl_int(inc, "id"));
	ctl_puts(ctl_str(inc, "title"), SIZE_MAX);
	fputc('\n', stdout);
	ctl_field("severity", ctl_str(inc, "severity"));
	ctl_field("state", ctl_str(inc, "state"));
	ctl_field("owner", ctl_str(inc, "owner"));
	ctl_field("level", ctl_str(inc, "level"));
	ctl_field("host", ctl_str(inc, "host"));
	snprintf(buf, sizeof(buf), "%s (%s:%lld)",
	    ctl_str(inc, "rule") ? ctl_str(inc, "rule") : "-",
	    ctl_str(inc, "rule_file") ? ctl_str(inc, "rule_file") : "?",
	    ctl_int(inc, "rule_line"));
	ctl_field("rule", buf);
	ctl_field("key", ctl_str(inc, "key"));
	snprintf(buf, sizeof(buf), "%lld", ctl_int(inc, "count"));
	ctl_field("count", buf);
	ctl_field_time("first seen", ctl_str(inc, "first_seen"));
	ctl_field_time("last seen", ctl_str(inc, "last_seen"));
	ctl_field_time("acknowledged", ctl_str(inc, "acked_at"));
	ctl_field_time("resolved", ctl_str(inc, "resolved_at"));
	ctl_field_time("next escalation", ctl_str(inc, "next_escalation"));
	if (ctl_str(inc, "next_level") != NULL) {
		snprintf(buf, sizeof(buf), "%lld: %s",
		    ctl_int(inc, "next_step"), ctl_str(inc, "next_level"));
		ctl_field("next step", buf);
	}
	ctl_field("in window", ctl_str(inc, "in_window"));
	ctl_field("impact", ctl_str(inc, "impact"));
	ctl_field("workaround", ctl_str(inc, "workaround"));
	ctl_field_time("recovery (eta)", ctl_str(inc, "eta"));
	ctl_field("last note", ctl_str(inc, "last_note"));
}

/* One window as a table row. */
static void
ctl_window_row(json_t *w)
{
	char when[160], start[64], end[64];

	ctl_local(ctl_str(w, "start"), 0, start, sizeof(start));
	ctl_local(ctl_str(w, "end"), 0, end, sizeof(end));
	snprintf(when, sizeof(when), "%s .. %s", start, end);
	ctl_col(ctl_str(w, "id"), 16);
	ctl_col(ctl_str(w, "kind"), 6);
	ctl_col(json_is_true(json_object_get(w, "cancelled")) ? "cancelled" :
		json_is_true(json_object_get(w, "active"))    ? "ACTIVE" :
		json_is_true(json_object_get(w, "approved"))  ? "approved" :
								"unapproved",
	    10);
	ctl_col(when, CTL_WHEN_WIDTH);
	ctl_puts(ctl_str(w, "title") ? ctl_str(w, "title") : "",
	    ctl_title_width(36 + CTL_WHEN_WIDTH));
	fputc('\n', stdout);
}

/* sopctl windows: the active and upcoming windows. */
static int
ctl_windows(int argc, char **argv)
{
	json_t *doc, *list, *w;
	size_t i;

	if (argc != 1)
		ctl_usage();
	doc = ctl_api("GET", "/api/v1/windows", NULL);
	list = json_object_get(doc, "windows");
	if (ctl.json)
		ctl_print_json(doc);
	else if (json_array_size(list) == 0)
		printf("no windows\n");
	else {
		printf("%-16s %-6s %-10s %-*s %s\n", "ID", "KIND", "STATE",
		    CTL_WHEN_WIDTH, "START .. END", "TITLE");
		json_array_foreach(list, i, w) ctl_window_row(w);
	}
	json_decref(doc);
	return CTL_OK;
}

/* A time as "3h05m ago", "in 42m" or "-". */
static void
ctl_when(const char *iso, char *buf, size_t len)
{
	char d[32];

	ctl_ago(iso, d, sizeof(d));
	snprintf(buf, len, "%s%s", d,
	    strcmp(d, "-") == 0 || strncmp(d, "in ", 3) == 0 ? "" : " ago");
}

/* One expectation as a table row. */
static void
ctl_expect_row(json_t *x)
{
	char last[48], next[48], at[64];

	ctl_when(ctl_str(x, "last_arrival"), last, sizeof(last));
	ctl_when(ctl_str(x, "next_deadline"), next, sizeof(next));
	ctl_col(ctl_str(x, "rule"), 24);
	ctl_col(ctl_str(x, "host"), 20);
	ctl_col(ctl_str(x, "state"), 8);
	ctl_col(last, 14);
	ctl_col(next, 14);
	ctl_local(ctl_str(x, "next_deadline"), 0, at, sizeof(at));
	ctl_puts(at, 32);
	fputc('\n', stdout);
}

/* The hosts of one silent rule as table rows. */
static void
ctl_silent_rows(json_t *sr)
{
	json_t *h, *hosts = json_object_get(sr, "hosts");
	char last[48], at[48];
	size_t i;

	json_array_foreach(hosts, i, h)
	{
		ctl_when(ctl_str(h, "last_heard"), last, sizeof(last));
		ctl_when(ctl_str(h, "silent_at"), at, sizeof(at));
		ctl_col(ctl_str(sr, "rule"), 24);
		ctl_col(ctl_str(h, "host"), 20);
		ctl_col(ctl_str(h, "state"), 8);
		ctl_col(last, 14);
		ctl_col(at, 14);
		fputc('\n', stdout);
	}
	if ((long long)json_array_size(hosts) < ctl_int(sr, "hosts_total"))
		printf("%-24s (%lld more hosts, see --json)\n",
		    ctl_str(sr, "rule"),
		    ctl_int(sr, "hosts_total") -
			(long long)json_array_size(hosts));
	else if (json_array_size(hosts) == 0)
		printf("%-24s (no host heard yet)\n", ctl_str(sr, "rule"));
}

/* sopctl expectations: expected events and silent hosts, with state. */
static int
ctl_expectations(int argc, char **argv)
{
	json_t *doc, *list, *x;
	size_t i;

	if (argc != 1)
		ctl_usage();
	doc = ctl_api("GET", "/api/v1/expectations", NULL);
	if (ctl.json) {
		ctl_print_json(doc);
		json_decref(doc);
		return CTL_OK;
	}
	list = json_object_get(doc, "expectations");
	if (json_array_size(list) == 0)
		printf("no expected events\n");
	else {
		printf("%-24s %-20s %-8s %-14s %-14s %s\n", "RULE", "HOST",
		    "STATE", "LAST ARRIVAL", "NEXT DEADLINE", "DUE AT");
		json_array_foreach(list, i, x) ctl_expect_row(x);
	}
	list = json_object_get(doc, "silent");
	if (json_array_size(list) > 0) {
		printf("\n%-24s %-20s %-8s %-14s %s\n", "SILENT RULE", "HOST",
		    "STATE", "LAST HEARD", "SILENT AT");
		json_array_foreach(list, i, x) ctl_silent_rows(x);
	}
	if (ctl_int(doc, "untracked_hosts") > 0)
		printf("%lld hosts not tracked (over the bound of %lld)\n",
		    ctl_int(doc, "untracked_hosts"),
		    ctl_int(doc, "max_tracked_hosts"));
	json_decref(doc);
	return CTL_OK;
}

/* A number of a host's last values, or "-". */
static void
ctl_host_value(char *buf, size_t len, json_t *latest, const char *metric)
{
	json_t *v = json_object_get(latest, metric), *x;
	const char *k;
	double max = -1;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) if (json_number_value(x) > max)
		    max = json_number_value(x);
	} else if (json_is_number(v))
		max = json_number_value(v);
	if (max < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f", max);
}

/* sopctl hosts: the polled hosts, reachable or not, and their last values. */
static int
ctl_hosts(int argc, char **argv)
{
	json_t *doc, *list, *h, *r, *l;
	char cpu[32], mem[32], disk[32];
	size_t i;

	if (argc != 1)
		ctl_usage();
	doc = ctl_api("GET", "/api/v1/hosts", NULL);
	if (ctl.json) {
		ctl_print_json(doc);
		json_decref(doc);
		return CTL_OK;
	}
	list = json_object_get(doc, "hosts");
	if (json_array_size(list) == 0)
		printf("no host is polled (poll: hosts: in the config)\n");
	else
		printf("%-20s %-24s %-4s %-11s %6s %6s %9s\n", "HOST",
		    "ADDRESS", "SNMP", "STATE", "CPU%", "MEM%", "MAX DISK%");
	json_array_foreach(list, i, h)
	{
		r = json_object_get(h, "reachable");
		l = json_object_get(h, "latest");
		ctl_host_value(cpu, sizeof(cpu), l, "cpu.load_pct");
		ctl_host_value(mem, sizeof(mem), l, "mem.used_pct");
		ctl_host_value(disk, sizeof(disk), l, "disk.used_pct");
		printf("%-20s %-24s %-4s %-11s %6s %6s %9s\n",
		    ctl_str(h, "name"), ctl_str(h, "address"),
		    ctl_str(h, "version"),
		    json_is_null(r)	? "not polled" :
			json_is_true(r) ? "up" :
					  "unreachable",
		    cpu, mem, disk);
	}
	json_decref(doc);
	return CTL_OK;
}

/* One row of per-severity counts ("-" where the object is missing). */
static void
ctl_sev_row(const char *label, json_t *o)
{
	static const char *sevs[] = { "critical", "high", "medium", "low",
		"info", "total" };
	size_t i;

	printf("%-16s", label);
	for (i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++)
		printf(" %8lld", ctl_int(o, sevs[i]));
	fputc('\n', stdout);
}

/* The header and the incident counts every report has. */
static void
ctl_report_head(json_t *doc)
{
	json_t *p = json_object_get(doc, "period"), *inc;

	inc = json_object_get(doc, "incidents");
	printf("%s report for %s (%s, %s to %s%s)\n\n", ctl_str(doc, "report"),
	    ctl_str(doc, "date"), ctl_str(doc, "timezone"),
	    ctl_str(p, "local_start"), ctl_str(p, "local_end"),
	    json_is_true(json_object_get(p, "complete")) ? "" : ", so far");
	printf("%-16s %8s %8s %8s %8s %8s %8s\n", "INCIDENTS", "critical",
	    "high", "medium", "low", "info", "total");
	ctl_sev_row("opened", json_object_get(inc, "opened"));
	ctl_sev_row("resolved", json_object_get(inc, "resolved"));
	ctl_sev_row("active at end", json_object_get(inc, "active_at_end"));
	printf("events %lld, escalations %lld, failed verifications %lld\n",
	    ctl_int(inc, "events"), ctl_int(inc, "escalations"),
	    ctl_int(inc, "failed_verifications"));
}

/* A list of hosts or rules with their counts. */
static void
ctl_report_top(const char *title, json_t *list, const char *name)
{
	json_t *x;
	size_t i;

	printf("\n%-24s %9s %9s %8s\n", title, "INCIDENTS", "EVENTS", "WORST");
	if (json_array_size(list) == 0)
		printf("(none)\n");
	json_array_foreach(list, i, x)
	{
		ctl_col(ctl_str(x, name), 24);
		printf("%9lld %9lld %8s\n", ctl_int(x, "incidents"),
		    ctl_int(x, "events"),
		    ctl_str(x, "worst") ? ctl_str(x, "worst") : "-");
	}
}

/* The daily report's server state, backups and silent hosts. */
static void
ctl_report_daily(json_t *doc)
{
	json_t *s = json_object_get(doc, "servers"), *b, *x;
	size_t i;

	printf("\nhosts with incidents: %lld\n",
	    ctl_int(s, "hosts_with_incidents"));
	ctl_report_top("HOST", json_object_get(s, "top_hosts"), "host");
	b = json_object_get(doc, "backups");
	printf("\nbackups (that day): ok %lld, missing %lld, late %lld, "
	       "pending "
	       "%lld\n",
	    ctl_int(b, "ok"), ctl_int(b, "missing"), ctl_int(b, "late"),
	    ctl_int(b, "pending"));
	json_array_foreach(json_object_get(b, "hosts"), i, x)
	{
		printf("  ");
		ctl_col(ctl_str(x, "rule"), 24);
		ctl_col(ctl_str(x, "host"), 20);
		ctl_puts(ctl_str(x, "state"), 10);
		fputc('\n', stdout);
	}
	printf("\nsilent hosts (now): %zu\n",
	    json_array_size(json_object_get(doc, "silent_hosts")));
	json_array_foreach(json_object_get(doc, "silent_hosts"), i, x)
	{
		printf("  ");
		ctl_col(ctl_str(x, "host"), 20);
		printf("since ");
		ctl_puts(ctl_str(x, "last_heard"), 24);
		fputc('\n', stdout);
	}
}

/* The weekly report's days, noisiest hosts and rules, windows. */
static void
ctl_report_weekly(json_t *doc)
{
	json_t *x;
	size_t i;
	char when[64];

	printf("\n%-16s %8s %8s %8s %8s %8s %8s\n", "OPENED PER DAY",
	    "critical", "high", "medium", "low", "info", "total");
	json_array_foreach(json_object_get(doc, "days"), i, x)
	    ctl_sev_row(ctl_str(x, "date"), json_object_get(x, "opened"));
	ctl_report_top("NOISIEST HOSTS", json_object_get(doc, "noisiest_hosts"),
	    "host");
	ctl_report_top("NOISIEST RULES", json_object_get(doc, "noisiest_rules"),
	    "rule");
	printf("\n%-16s %-8s %-23s %6s %8s %6s %s\n", "WINDOW", "KIND", "START",
	    "OPENED", "RESOLVED", "FAILED", "OUTCOME");
	if (json_array_size(json_object_get(doc, "windows")) == 0)
		printf("(none)\n");
	json_array_foreach(json_object_get(doc, "windows"), i, x)
	{
		ctl_col(ctl_str(x, "id"), 16);
		ctl_col(ctl_str(x, "kind"), 8);
		ctl_local(ctl_str(x, "start"), 0, when, sizeof(when));
		ctl_col(when, 23);
		printf("%6lld %8lld %6lld %s\n", ctl_int(x, "opened"),
		    ctl_int(x, "resolved"), ctl_int(x, "failed_verifications"),
		    ctl_str(x, "outcome"));
	}
}

/* A number of seconds, or "-" for null. */
static void
ctl_report_secs(json_t *v)
{
	char buf[32];

	if (json_is_integer(v)) {
		buf[0] = json_integer_value(v) < 0 ? '-' : ' ';
		ctl_duration(llabs(json_integer_value(v)), buf + 1,
		    sizeof(buf) - 1);
		printf(" %9s", buf[0] == '-' ? buf : buf + 1);
	} else
		printf(" %9s", "-");
}

/* The monthly report's SLA, response times, trends and recurring lists. */
static void
ctl_report_monthly(json_t *doc)
{
	static const char *sevs[] = { "critical", "high", "medium", "low",
		"info" };
	json_t *sla = json_object_get(doc, "sla"), *s, *r, *t;
	size_t i;

	printf("\n%-9s %8s %5s %6s %7s %9s %9s %9s %9s\n", "SEVERITY",
	    "DEADLINE", "MET", "MISSED", "SLA %", "MTTA", "MTTR", "OPENED +/-",
	    "MTTR +/-");
	for (i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++) {
		s = json_object_get(sla, sevs[i]);
		r = json_object_get(json_object_get(doc, "response"), sevs[i]);
		t = json_object_get(json_object_get(doc, "trends"), sevs[i]);
		printf("%-9s %8s %5lld %6lld", sevs[i],
		    json_is_object(s) ? ctl_str(s, "deadline") : "-",
		    ctl_int(s, "met"), ctl_int(s, "missed"));
		if (json_is_number(json_object_get(s, "achievement_percent")))
			printf(" %7.1f",
			    json_number_value(
				json_object_get(s, "achievement_percent")));
		else
			printf(" %7s", "-");
		ctl_report_secs(json_object_get(r, "mtta_seconds"));
		ctl_report_secs(json_object_get(r, "mttr_seconds"));
		printf(" %+10lld", ctl_int(t, "opened_delta"));
		ctl_report_secs(json_object_get(t, "mttr_delta"));
		fputc('\n', stdout);
	}
	s = json_object_get(sla, "total");
	if (json_is_number(json_object_get(s, "achievement_percent")))
		printf("SLA achievement: %.1f%% (%lld met, %lld missed)\n",
		    json_number_value(
			json_object_get(s, "achievement_percent")),
		    ctl_int(s, "met"), ctl_int(s, "missed"));
	ctl_report_top("RECURRING HOSTS",
	    json_object_get(doc, "recurring_hosts"), "host");
	ctl_report_top("RECURRING RULES",
	    json_object_get(doc, "recurring_rules"), "rule");
}

/* sopctl report stored [ID] [--job JOB] [--format text|html]. */
static int
ctl_report_stored(int argc, char **argv, const char *job, const char *fmt)
{
	json_t *doc, *x;
	char path[160], *s;
	size_t i;

	if (argc > 1 && strspn(argv[1], "0123456789") != strlen(argv[1]))
		ctl_usage();
	if (argc > 1)
		snprintf(path, sizeof(path), "/api/v1/reports/stored/%s",
		    argv[1]);
	else
		snprintf(path, sizeof(path), "/api/v1/reports/stored%s%s",
		    job != NULL ? "?job=" : "", job != NULL ? job : "");
	doc = ctl_api("GET", path, NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else if (argc > 1) {
		s = fmt != NULL && strcmp(fmt, "html") == 0 ?
		    schedule_render_html(json_object_get(doc, "report")) :
		    schedule_render_text(json_object_get(doc, "report"));
		fputs(s, stdout);
		free(s);
	} else {
		printf("%-6s %-20s %-20s %s\n", "ID", "JOB", "MADE", "SUBJECT");
		json_array_foreach(json_object_get(doc, "reports"), i, x)
		    printf("%-6lld %-20s %-20s %s\n", ctl_int(x, "id"),
			ctl_str(x, "job"), ctl_str(x, "made_at"),
			ctl_str(x, "subject"));
	}
	json_decref(doc);
	return CTL_OK;
}

/* sopctl schedule: the jobs and their recent runs. */
static int
ctl_schedule(int argc, char **argv)
{
	json_t *doc, *x;
	size_t i;

	(void)argv;
	if (argc != 1)
		ctl_usage();
	doc = ctl_api("GET", "/api/v1/schedule", NULL);
	if (ctl.json) {
		ctl_print_json(doc);
		json_decref(doc);
		return CTL_OK;
	}
	printf("jobs (times in %s):\n", ctl_str(doc, "timezone"));
	printf("%-20s %-6s %-9s %-8s %s\n", "JOB", "AT", "DAYS", "NOTIFY",
	    "NEXT");
	json_array_foreach(json_object_get(doc, "jobs"), i, x)
	    printf("%-20s %-6s %-9s %-8s %s\n", ctl_str(x, "job"),
		ctl_str(x, "at"), ctl_str(x, "days"), ctl_str(x, "notify"),
		ctl_str(x, "next"));
	printf("\nruns:\n%-20s %-20s %-20s %-10s %s\n", "JOB", "SCHEDULED",
	    "RAN AT", "OUTCOME", "DETAIL");
	json_array_foreach(json_object_get(doc, "runs"), i, x)
	    printf("%-20s %-20s %-20s %-10s %s\n", ctl_str(x, "job"),
		ctl_str(x, "scheduled"), ctl_str(x, "ran_at"),
		ctl_str(x, "outcome"), ctl_str(x, "detail"));
	json_decref(doc);
	return CTL_OK;
}

/* sopctl report daily|weekly|monthly [--date YYYY-MM-DD]. */
static int
ctl_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "job", required_argument, NULL, 'J' },
		{ "format", required_argument, NULL, 'F' }, { NULL, 0, NULL, 0 }
	};
	const char *date = NULL, *job = NULL, *fmt = NULL;
	char path[128];
	json_t *doc;
	int ch;

	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (optarg == NULL || strlen(optarg) > 32)
			ctl_usage();
		if (ch == 'd')
			date = optarg;
		else if (ch == 'J')
			job = optarg;
		else if (ch == 'F' &&
		    (strcmp(optarg, "text") == 0 ||
			strcmp(optarg, "html") == 0))
			fmt = optarg;
		else
			ctl_usage();
	}
	if (optind < argc && strcmp(argv[optind], "stored") == 0 &&
	    argc - optind <= 2 && date == NULL)
		return ctl_report_stored(argc - optind, argv + optind, job,
		    fmt);
	if (job != NULL || fmt != NULL)
		ctl_usage();
	if (optind + 1 != argc ||
	    (strcmp(argv[optind], "daily") != 0 &&
		strcmp(argv[optind], "weekly") != 0 &&
		strcmp(argv[optind], "monthly") != 0))
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/reports/%s%s%s", argv[optind],
	    date != NULL ? "?date=" : "", date != NULL ? date : "");
	doc = ctl_api("GET", path, NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else {
		ctl_report_head(doc);
		if (strcmp(argv[optind], "daily") == 0)
			ctl_report_daily(doc);
		else if (strcmp(argv[optind], "weekly") == 0)
			ctl_report_weekly(doc);
		else
			ctl_report_monthly(doc);
	}
	json_decref(doc);
	return CTL_OK;
}

/* Append a comma-separated list to a JSON array. */
static void
ctl_split(json_t *a, const char *list)
{
	char *copy = ctl_strdup(list), *p, *last;

	for (p = strtok_r(copy, ",", &last); p != NULL;
	     p = strtok_r(NULL, ",", &last))
		if (*p != '\0')
			json_array_append_new(a, json_string(p));
	free(copy);
}

static const char *ctl_default_actor(void);

/* Whether a window or change id is well formed. */
static int
ctl_winid_ok(const char *id)
{
	return strlen(id) <= 64 &&
	    strspn(id,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(id);
}

/* sopctl window add: create a change window. */
static int
ctl_window_add(int argc, char **argv)
{
	static const struct option opts[] = { { "id", required_argument, NULL,
						  'i' },
		{ "title", required_argument, NULL, 't' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "group", required_argument, NULL, 'g' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "approved", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	json_t *body, *hosts = json_array(), *groups = json_array(), *doc;
	char *text;
	int ch;

	body = json_object();
	json_object_set_new(body, "approved", json_false());
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			json_object_set_new(body, "id", json_string(optarg));
			break;
		case 't':
			json_object_set_new(body, "title", json_string(optarg));
			break;
		case 'H':
			ctl_split(hosts, optarg);
			break;
		case 'g':
			ctl_split(groups, optarg);
			break;
		case 's':
			json_object_set_new(body, "start", json_string(optarg));
			break;
		case 'e':
			json_object_set_new(body, "end", json_string(optarg));
			break;
		case 'a':
			json_object_set_new(body, "approved", json_true());
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc || json_object_get(body, "id") == NULL)
		ctl_usage();
	json_object_set_new(body, "hosts", hosts);
	json_object_set_new(body, "groups", groups);
	text = json_dumps(body, JSON_COMPACT);
	doc = ctl_api("POST", "/api/v1/windows", text);
	if (ctl.json)
		ctl_print_json(doc);
	else
		printf("window %s created\n", ctl_str(doc, "id"));
	free(text);
	json_decref(body);
	json_decref(doc);
	return CTL_OK;
}

/* One change as a table row. */
static void
ctl_chg_row(json_t *c)
{
	char when[160], start[64], end[64];

	ctl_local(ctl_str(c, "start"), 0, start, sizeof(start));
	ctl_local(ctl_str(c, "end"), 0, end, sizeof(end));
	snprintf(when, sizeof(when), "%s .. %s", start, end);
	ctl_col(ctl_str(c, "id"), 16);
	ctl_col(ctl_str(c, "state"), 11);
	ctl_col(when, CTL_WHEN_WIDTH);
	ctl_puts(ctl_str(c, "title") ? ctl_str(c, "title") : "",
	    ctl_title_width(29 + CTL_WHEN_WIDTH));
	fputc('\n', stdout);
}

/* sopctl changes, sopctl change list. */
static int
ctl_chg_list(void)
{
	json_t *doc, *list, *c;
	size_t i;

	doc = ctl_api("GET", "/api/v1/changes", NULL);
	list = json_object_get(doc, "changes");
	if (ctl.json)
		ctl_print_json(doc);
	else if (json_array_size(list) == 0)
		printf("no changes\n");
	else {
		printf("%-16s %-11s %-*s %s\n", "ID", "STATE", CTL_WHEN_WIDTH,
		    "START .. END", "TITLE");
		json_array_foreach(list, i, c) ctl_chg_row(c);
	}
	json_decref(doc);
	return CTL_OK;
}

/* sopctl change show ID: the record and its history. */
static void
ctl_chg_show(json_t *c)
{
	static const char *fields[] = { "id", "title", "state", "description",
		"impact", "risk", "rollback", "requester", "approved_by",
		"owner" };
	char scope[512] = "";
	json_t *h, *v;
	size_t i, used = 0;

	for (i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		ctl_field(fields[i], ctl_str(c, fields[i]));
	ctl_field_time("approved at", ctl_str(c, "approved_at"));
	ctl_field_time("start", ctl_str(c, "start"));
	ctl_field_time("end", ctl_str(c, "end"));
	json_array_foreach(json_object_get(c, "hosts"), i, v) used +=
	    snprintf(scope + used,
		used < sizeof(scope) ? sizeof(scope) - used : 0, "%s%s",
		used ? "," : "", json_string_value(v));
	json_array_foreach(json_object_get(c, "groups"), i, v) used +=
	    snprintf(scope + used,
		used < sizeof(scope) ? sizeof(scope) - used : 0, "%sgroup %s",
		used ? "," : "", json_string_value(v));
	ctl_field("scope", used ? scope : "all hosts");
	printf("history:\n");
	json_array_foreach(json_object_get(c, "history"), i, h)
	{
		printf("  %s  %-11s by ", ctl_str(h, "at"), ctl_str(h, "to"));
		ctl_puts(ctl_str(h, "actor"), 64);
		if (ctl_str(h, "note") != NULL) {
			fputs(": ", stdout);
			ctl_puts(ctl_str(h, "note"), 512);
		}
		fputc('\n', stdout);
	}
}

/* sopctl change request: a new change. */
static int
ctl_chg_request(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "title", required_argument, NULL, 't' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "group", required_argument, NULL, 'g' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "description", required_argument, NULL, 'd' },
		{ "impact", required_argument, NULL, 'I' },
		{ "risk", required_argument, NULL, 'r' },
		{ "rollback", required_argument, NULL, 'b' },
		{ "owner", required_argument, NULL, 'o' },
		{ "severities", required_argument, NULL, 'S' },
		{ "actor", required_argument, NULL, 'A' }, { NULL, 0, NULL, 0 }
	};
	static const char *keys[128] = { ['i'] = "id",
		['t'] = "title",
		['s'] = "start",
		['e'] = "end",
		['d'] = "description",
		['I'] = "impact",
		['r'] = "risk",
		['b'] = "rollback",
		['o'] = "owner",
		['A'] = "requester" };
	json_t *body, *doc, *sev = json_array();
	json_t *hosts = json_array(), *groups = json_array();
	char *text;
	int ch;

	body = json_pack("{s:s}", "requester", ctl_default_actor());
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'H')
			ctl_split(hosts, optarg);
		else if (ch == 'g')
			ctl_split(groups, optarg);
		else if (ch == 'S')
			ctl_split(sev, optarg);
		else if (ch > 0 && ch < 128 && keys[ch] != NULL)
			json_object_set_new(body, keys[ch],
			    json_string(optarg));
		else
			ctl_usage();
	}
	if (optind != argc || json_object_get(body, "id") == NULL)
		ctl_usage();
	json_object_set_new(body, "hosts", hosts);
	json_object_set_new(body, "groups", groups);
	if (json_array_size(sev) > 0)
		json_object_set(body, "severities", sev);
	json_decref(sev);
	text = json_dumps(body, JSON_COMPACT);
	doc = ctl_api("POST", "/api/v1/changes", text);
	if (ctl.json)
		ctl_print_json(doc);
	else
		printf("change %s %s\n", ctl_str(doc, "id"),
		    ctl_str(doc, "state"));
	free(text);
	json_decref(body);
	json_decref(doc);
	return CTL_OK;
}

/* sopctl change ACTION ID [-m NOTE] [--actor NAME]. */
static int
ctl_chg_move(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "actor", required_argument, NULL, 'A' }, { NULL, 0, NULL, 0 }
	};
	const char *note = NULL, *actor = ctl_default_actor();
	char path[256], *body;
	json_t *doc;
	int ch;

	while ((ch = getopt_long(argc, argv, "m:A:", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			note = optarg;
			break;
		case 'A':
			actor = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc - 1 || !ctl_winid_ok(argv[optind]))
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/changes/%s/%s", argv[optind],
	    argv[0]);
	doc = json_pack("{s:s,s:s?}", "actor", actor, "note", note);
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	doc = ctl_api("POST", path, body);
	free(body);
	if (ctl.json)
		ctl_print_json(doc);
	else
		printf("change %s %s\n", ctl_str(doc, "id"),
		    ctl_str(doc, "state"));
	json_decref(doc);
	return CTL_OK;
}

/* sopctl changes. */
static int
ctl_changes(int argc, char **argv)
{
	if (argc != 1)
		ctl_usage();
	return ctl_chg_list();
}

/* sopctl change list|show|request|ACTION. */
static int
ctl_chg(int argc, char **argv)
{
	static const char *moves[] = { "approve", "start", "verified", "failed",
		"rollback", "close", "cancel" };
	char path[256];
	json_t *doc;
	size_t i;

	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return ctl_chg_list();
	if (argc >= 2 && strcmp(argv[1], "request") == 0)
		return ctl_chg_request(argc - 1, argv + 1);
	for (i = 0; argc >= 2 && i < sizeof(moves) / sizeof(*moves); i++) {
		if (strcmp(argv[1], moves[i]) == 0)
			return ctl_chg_move(argc - 1, argv + 1);
	}
	if (argc != 3 || strcmp(argv[1], "show") != 0 || !ctl_winid_ok(argv[2]))
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/changes/%s", argv[2]);
	doc = ctl_api("GET", path, NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else
		ctl_chg_show(doc);
	json_decref(doc);
	return CTL_OK;
}

/* sopctl window show|add|cancel. */
static int
ctl_window(int argc, char **argv)
{
	char path[256];
	json_t *doc;

	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return ctl_window_add(argc - 1, argv + 1);
	if (argc != 3 ||
	    (strcmp(argv[1], "cancel") != 0 && strcmp(argv[1], "show") != 0) ||
	    !ctl_winid_ok(argv[2]))
		ctl_usage();
	if (strcmp(argv[1], "cancel") == 0) {
		snprintf(path, sizeof(path), "/api/v1/windows/%s/cancel",
		    argv[2]);
		doc = ctl_api("POST", path, "{}");
		if (!ctl.json)
			printf("window %s cancelled\n", argv[2]);
	} else {
		snprintf(path, sizeof(path), "/api/v1/windows/%s", argv[2]);
		doc = ctl_api("GET", path, NULL);
		if (!ctl.json) {
			printf("%-16s %-6s %-10s %-*s %s\n", "ID", "KIND",
			    "STATE", CTL_WHEN_WIDTH, "START .. END", "TITLE");
			ctl_window_row(doc);
			ctl_print_json(json_object_get(doc, "occurrences"));
		}
	}
	if (ctl.json)
		ctl_print_json(doc);
	json_decref(doc);
	return CTL_OK;
}

/* Print an incident's recent events, one line each. */
static void
ctl_show_events(json_t *events)
{
	json_t *ev;
	size_t i;
	char at[64];

	printf("Recent events (%zu):\n", json_array_size(events));
	json_array_foreach(events, i, ev)
	{
		ctl_local(ctl_str(ev, "received") ? ctl_str(ev, "received") :
						    ctl_str(ev, "timestamp"),
		    1, at, sizeof(at));
		printf("  ");
		ctl_puts(at, 40);
		printf(" ");
		ctl_puts(ctl_str(ev, "host"), 64);
		printf(" ");
		ctl_puts(ctl_str(ev, "program") ? ctl_str(ev, "program") :
						  ctl_str(ev, "trap_oid"),
		    64);
		printf(": ");
		ctl_puts(ctl_str(ev, "message"), 1000);
		fputc('\n', stdout);
	}
}

/* Print an incident's history, one line per change or note. */
static void
ctl_show_history(json_t *hist)
{
	json_t *h;
	size_t i;

	char at[64];

	printf("History (%zu):\n", json_array_size(hist));
	json_array_foreach(hist, i, h)
	{
		ctl_local(ctl_str(h, "at"), 1, at, sizeof(at));
		printf("  %s", at);
		printf(" ");
		ctl_puts(ctl_str(h, "actor"), 64);
		printf(" ");
		ctl_puts(ctl_str(h, "action"), 32);
		if (ctl_str(h, "to") != NULL && ctl_str(h, "from") != NULL &&
		    strcmp(ctl_str(h, "from"), ctl_str(h, "to")) != 0) {
			printf(" (");
			ctl_puts(ctl_str(h, "from"), 32);
			printf(" -> ");
			ctl_puts(ctl_str(h, "to"), 32);
			printf(")");
		}
		if (ctl_str(h, "note") != NULL) {
			printf(": ");
			ctl_puts(ctl_str(h, "note"), CTL_MAX_NOTE);
		}
		fputc('\n', stdout);
	}
}

/* sopctl show ID: one incident with its events and history. */
static int
ctl_show(int argc, char **argv)
{
	char path[64];
	json_t *doc;

	if (argc != 2)
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/incidents/%llu", ctl_id(argv[1]));
	doc = ctl_api("GET", path, NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else {
		ctl_show_fields(doc);
		ctl_show_events(json_object_get(doc, "events"));
		ctl_show_history(json_object_get(doc, "history"));
	}
	json_decref(doc);
	return CTL_OK;
}

/* The default actor: the login name, else "sopctl". */
static const char *
ctl_default_actor(void)
{
	const char *u = getenv("USER");

	if (u == NULL || *u == '\0')
		u = getenv("LOGNAME");
	return u != NULL && *u != '\0' ? u : "sopctl";
}

/* sopctl ack|resolve|note ID [-m NOTE] [--actor NAME]. */
static int
ctl_change(int argc, char **argv, const char *action, int need_note)
{
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "actor", required_argument, NULL, 'A' }, { NULL, 0, NULL, 0 }
	};
	const char *note = NULL, *actor = ctl_default_actor();
	char path[96], *body;
	int ch;
	json_t *doc;

	while ((ch = getopt_long(argc, argv, "m:A:", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			note = optarg;
			break;
		case 'A':
			actor = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc - 1 || (need_note && note == NULL))
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/incidents/%llu/%s",
	    ctl_id(argv[optind]), action);
	doc = json_pack("{s:s,s:s?}", "actor", actor, "note", note);
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	doc = ctl_api("POST", path, body);
	free(body);
	if (ctl.json)
		ctl_print_json(doc);
	else {
		printf("incident %lld: ", ctl_int(doc, "id"));
		ctl_puts(ctl_str(doc, "state"), 32);
		printf(strcmp(action, "notes") == 0 ? ", note added\n" : "\n");
	}
	json_decref(doc);
	return CTL_OK;
}

/* sopctl set ID [--impact T] [--workaround T] [--eta T] [--actor NAME]. */
static int
ctl_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "impact", required_argument, NULL, 'i' },
		{ "workaround", required_argument, NULL, 'w' },
		{ "eta", required_argument, NULL, 'e' },
		{ "actor", required_argument, NULL, 'A' }, { NULL, 0, NULL, 0 }
	};
	json_t *doc = json_object();
	char path[96], *body;
	int ch, n = 0;

	json_object_set_new(doc, "actor", json_string(ctl_default_actor()));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			json_object_set_new(doc, "impact", json_string(optarg));
			break;
		case 'w':
			json_object_set_new(doc, "workaround",
			    json_string(optarg));
			break;
		case 'e':
			json_object_set_new(doc, "eta", json_string(optarg));
			break;
		case 'A':
			json_object_set_new(doc, "actor", json_string(optarg));
			continue;
		default:
			ctl_usage();
		}
		n++;
	}
	if (optind != argc - 1 || n == 0)
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/incidents/%llu",
	    ctl_id(argv[optind]));
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	doc = ctl_api("POST", path, body);
	free(body);
	if (ctl.json)
		ctl_print_json(doc);
	else
		ctl_show_fields(doc);
	json_decref(doc);
	return CTL_OK;
}

/* sopctl audit [--limit N]: the reload audit, newest first. */
static int
ctl_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 }
	};
	char q[96] = "/api/v1/audit", at[64];
	json_t *doc, *a;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			ctl_usage();
		ctl_query_add(q, sizeof(q), "limit", optarg);
	}
	if (optind != argc)
		ctl_usage();
	doc = ctl_api("GET", q, NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else if (json_array_size(json_object_get(doc, "audit")) == 0)
		printf("no reloads recorded\n");
	else {
		printf("%-25s %5s  %s\n", "AT", "GEN", "CHANGES");
		json_array_foreach(json_object_get(doc, "audit"), i, a)
		{
			ctl_local(ctl_str(a, "at"), 0, at, sizeof(at));
			printf("%-25s %5lld  ", at, ctl_int(a, "generation"));
			ctl_puts(ctl_str(a, "summary"), SIZE_MAX);
			fputc('\n', stdout);
		}
	}
	json_decref(doc);
	return CTL_OK;
}

/* sopctl export ID [--json]: the incident's report for the client. */
static int
ctl_export(int argc, char **argv)
{
	struct ctl_reply r;
	char path[128];
	json_t *doc;

	if (argc != 2)
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/incidents/%llu/report%s",
	    ctl_id(argv[1]), ctl.json ? "" : "?format=text");
	if (ctl.json) {
		doc = ctl_api("GET", path, NULL);
		ctl_print_json(doc);
		json_decref(doc);
		return CTL_OK;
	}
	ctl_http("GET", path, NULL, &r);
	if (r.code < 200 || r.code > 299) {
		doc = json_loadb(r.body, r.len, 0, NULL);
		fprintf(stderr, "sopctl: %s (HTTP %d)\n",
		    json_is_string(json_object_get(doc, "error")) ?
			json_string_value(json_object_get(doc, "error")) :
			"request failed",
		    r.code);
		json_decref(doc);
		free(r.body);
		return CTL_EAPI;
	}
	fwrite(r.body, 1, r.len, stdout);
	free(r.body);
	return CTL_OK;
}

/* sopctl assign ID NAME [--actor NAME]. */
static int
ctl_assign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "actor", required_argument, NULL, 'A' }, { NULL, 0, NULL, 0 }
	};
	const char *actor = ctl_default_actor();
	char path[96], *body;
	int ch;
	json_t *doc;

	while ((ch = getopt_long(argc, argv, "A:", opts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			actor = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	if (optind != argc - 2)
		ctl_usage();
	snprintf(path, sizeof(path), "/api/v1/incidents/%llu/assign",
	    ctl_id(argv[optind]));
	doc = json_pack("{s:s,s:s}", "actor", actor, "owner", argv[optind + 1]);
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	doc = ctl_api("POST", path, body);
	free(body);
	if (ctl.json)
		ctl_print_json(doc);
	else {
		printf("incident %lld: owner ", ctl_int(doc, "id"));
		ctl_puts(ctl_str(doc, "owner") != NULL ? ctl_str(doc, "owner") :
							 "nobody",
		    64);
		printf("\n");
	}
	json_decref(doc);
	return CTL_OK;
}

/* Print the inputs table with the reasons that are not zero. */
static void
ctl_stats_inputs(json_t *inputs)
{
	const char *name, *rname;
	json_t *in, *rv;
	int first;

	printf("%-12s %12s %12s %12s %14s\n", "INPUT", "RECEIVED", "ACCEPTED",
	    "DROPPED", "BYTES");
	json_object_foreach(inputs, name, in)
	{
		printf("%-12s %12lld %12lld %12lld %14lld\n", name,
		    ctl_int(in, "received"), ctl_int(in, "accepted"),
		    ctl_int(in, "dropped"), ctl_int(in, "bytes"));
		first = 1;
		json_object_foreach(json_object_get(in, "reasons"), rname, rv)
		{
			if (json_integer_value(rv) == 0)
				continue;
			printf("%s%s=%lld", first ? "  reasons: " : " ", rname,
			    (long long)json_integer_value(rv));
			first = 0;
		}
		if (!first)
			fputc('\n', stdout);
	}
}

/* Order rules by matched, most first. */
static int
ctl_rule_cmp(const void *a, const void *b)
{
	long long x = ctl_int(*(json_t *const *)a, "matched");
	long long y = ctl_int(*(json_t *const *)b, "matched");

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Print the ten rules that matched most. */
static void
ctl_stats_rules(json_t *rules)
{
	json_t **v;
	size_t i, n = json_array_size(rules);
	char where[PATH_MAX + 32];

	printf("\nTop rules (%zu loaded):\n", n);
	if (n == 0 || (v = calloc(n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(rules, i);
	qsort(v, n, sizeof(*v), ctl_rule_cmp);
	printf("  %-32s %10s %10s  %s\n", "RULE", "MATCHED", "CLEARED", "FILE");
	for (i = 0; i < n && i < 10; i++) {
		snprintf(where, sizeof(where), "%s:%lld",
		    ctl_str(v[i], "file") ? ctl_str(v[i], "file") : "?",
		    ctl_int(v[i], "line"));
		printf("  ");
		ctl_col(ctl_str(v[i], "name"), 32);
		printf("%10lld %10lld  ", ctl_int(v[i], "matched"),
		    ctl_int(v[i], "cleared"));
		ctl_puts(where, SIZE_MAX);
		fputc('\n', stdout);
	}
	free(v);
}

/* Print incident counts and the daemon's state. */
static void
ctl_stats_rest(json_t *inc, json_t *d)
{
	const char *name;
	json_t *v, *rl = json_object_get(d, "last_reload");
	char up[32];

	printf("\nIncidents: %lld active (%lld open, %lld acknowledged):",
	    ctl_int(inc, "active"), ctl_int(inc, "open"),
	    ctl_int(inc, "acknowledged"));
	json_object_foreach(json_object_get(inc, "by_severity"), name, v)
	    printf(" %s %lld", name, (long long)json_integer_value(v));
	ctl_duration(ctl_int(d, "uptime"), up, sizeof(up));
	printf("\n\nsopd %s, up %s, config generation %lld",
	    ctl_str(d, "version") ? ctl_str(d, "version") : "?", up,
	    ctl_int(d, "generation"));
	if (ctl_str(rl, "time") != NULL) {
		printf(", last reload %s %s", ctl_str(rl, "time"),
		    json_is_true(json_object_get(rl, "ok")) ? "ok" : "FAILED");
		if (ctl_str(rl, "error") != NULL) {
			printf(": ");
			ctl_puts(ctl_str(rl, "error"), 512);
		}
	}
	fputc('\n', stdout);
}

/* sopctl stats: inputs and reasons, top rules, incident counts. */
static int
ctl_stats(int argc, char **argv)
{
	json_t *doc;

	if (argc != 1)
		ctl_usage();
	doc = ctl_api("GET", "/api/v1/stats", NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else {
		ctl_stats_inputs(json_object_get(doc, "inputs"));
		ctl_stats_rules(json_object_get(doc, "rules"));
		ctl_stats_rest(json_object_get(doc, "incidents"),
		    json_object_get(doc, "daemon"));
	}
	json_decref(doc);
	return CTL_OK;
}

/* sopctl health: whether sopd answers, its uptime and active count. */
static int
ctl_health(int argc, char **argv)
{
	json_t *doc;
	char up[32];

	if (argc != 1)
		ctl_usage();
	doc = ctl_api("GET", "/healthz", NULL);
	if (ctl.json)
		ctl_print_json(doc);
	else {
		ctl_duration(ctl_int(doc, "uptime"), up, sizeof(up));
		printf("%s: sopd %s at %s, up %s, %lld active incidents\n",
		    ctl_str(doc, "status") ? ctl_str(doc, "status") : "?",
		    ctl_str(doc, "version") ? ctl_str(doc, "version") : "?",
		    ctl.url, up, ctl_int(doc, "incidents_active"));
	}
	json_decref(doc);
	return CTL_OK;
}

/* sopctl parse ...: run "sopd --parse ..." from sopctl's own directory. */
static int
ctl_parse(int argc, char **argv)
{
	char self[PATH_MAX], sopd[PATH_MAX + 8], **av, *slash;
	ssize_t n;
	int i;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = '\0';
	else
		snprintf(self, sizeof(self), "%s", ctl.argv0);
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	snprintf(sopd, sizeof(sopd), "%s/sopd", slash != NULL ? self : ".");
	if ((av = calloc((size_t)argc + 2, sizeof(*av))) == NULL)
		ctl_die(CTL_EAPI, "out of memory");
	av[0] = sopd;
	av[1] = "--parse";
	for (i = 1; i < argc; i++)
		av[i + 1] = argv[i];
	execv(sopd, av);
	ctl_die(CTL_EAPI, "cannot run %s: %s", sopd, strerror(errno));
}

/*
 * Take "--json" / "-j" among a command's arguments too ("sopctl show 5
 * --json"), unless it is the value of an option.
 */
static int
ctl_take_json(int argc, char **argv)
{
	static const char *valued[] = { "-m", "--message", "--actor", "--state",
		"--severity", "--host", "--rule", "--limit", "-c", "--date",
		"--impact", "--workaround", "--eta" };
	int i, j, k, skip;

	for (i = j = 1; i < argc; i++) {
		skip = 0;
		for (k = 0; k < (int)(sizeof(valued) / sizeof(valued[0])); k++)
			skip |= strcmp(argv[i - 1], valued[k]) == 0;
		if (!skip &&
		    (strcmp(argv[i], "--json") == 0 ||
			strcmp(argv[i], "-j") == 0))
			ctl.json = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
}

/* A download in flight: the request's state and where the body goes. */
struct ctl_dl {
	struct ctl_call c; /* first: ctl_error_cb's argument */
	int fd;		   /* the temporary file */
	const char *tmp;
	int code;
	int answered;
	long long got;
	int werr;	      /* errno of a failed write */
	struct evbuffer *err; /* the body of an error answer */
};

/* Move what arrived of the body to the file (or, for an error, aside). */
static void
ctl_dl_take(struct evhttp_request *req, struct ctl_dl *d)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	int n;

	d->code = evhttp_request_get_response_code(req);
	if (d->code != 200) {
		evbuffer_add_buffer(d->err, in);
		return;
	}
	while (evbuffer_get_length(in) > 0) {
		if (d->werr != 0) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		if ((n = evbuffer_write(in, d->fd)) <= 0 && errno != EINTR)
			d->werr = n == 0 ? EIO : errno;
		else if (n > 0)
			d->got += n;
	}
}

/* Part of the body arrived. */
static void
ctl_dl_chunk_cb(struct evhttp_request *req, void *arg)
{
	ctl_dl_take(req, arg);
}

/* The answer is complete (or failed). */
static void
ctl_dl_done_cb(struct evhttp_request *req, void *arg)
{
	struct ctl_dl *d = arg;
	const char *cl;

	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		if (d->c.error == NULL)
			d->c.error = "no answer";
	} else {
		ctl_dl_take(req, d);
		d->answered = 1;
		cl = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Content-Length");
		if (d->code == 200 &&
		    (cl == NULL || d->got == 0 ||
			d->got != strtoll(cl, NULL, 10)))
			d->c.error = "incomplete copy";
	}
	event_base_loopexit(d->c.base, NULL);
}

/* An error answer: print the API's message and exit 1. */
static void __attribute__((noreturn)) ctl_dl_refused(struct ctl_dl *d)
{
	size_t len = evbuffer_get_length(d->err);
	json_t *doc, *err;

	doc =
	    json_loadb((const char *)evbuffer_pullup(d->err, -1), len, 0, NULL);
	err = json_object_get(doc, "error");
	unlink(d->tmp);
	ctl_die(CTL_EAPI, "backup: %s (HTTP %d)",
	    json_is_string(err) ? json_string_value(err) : "request failed",
	    d->code);
}

/* GET path into the file d->fd, streamed; exits 3 without an answer. */
static void
ctl_download(const char *path, struct ctl_dl *d)
{
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	struct bufferevent *bev = NULL;
	char *uri;

	if ((d->c.base = event_base_new()) == NULL ||
	    (d->err = evbuffer_new()) == NULL)
		ctl_die(CTL_EAPI, "out of memory");
	if (ctl.tls && (bev = ctl_tls_bufferevent(d->c.base)) == NULL)
		ctl_die(CTL_ECONNECT,
		    "cannot reach sopd at %s: TLS set-up "
		    "failed",
		    ctl.url);
	conn = evhttp_connection_base_bufferevent_new(d->c.base, NULL, bev,
	    ctl.host, (unsigned short)atoi(ctl.port));
	if (conn == NULL)
		ctl_die(CTL_ECONNECT, "cannot reach sopd at %s", ctl.url);
	evhttp_connection_set_timeout(conn, CTL_BACKUP_MS / 1000);
	evhttp_connection_set_retries(conn, 0);
	req = evhttp_request_new(ctl_dl_done_cb, d);
	evhttp_request_set_chunked_cb(req, ctl_dl_chunk_cb);
	evhttp_request_set_error_cb(req, ctl_error_cb);
	ctl_headers(req, "application/vnd.sqlite3");
	if (asprintf(&uri, "%s%s", ctl.prefix, path) == -1)
		ctl_die(CTL_EAPI, "out of memory");
	if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, uri) != 0)
		d->c.error = "cannot send the request";
	else
		event_base_dispatch(d->c.base);
	free(uri);
	evhttp_connection_free(conn);
	event_base_free(d->c.base);
	if (!d->answered) {
		unlink(d->tmp);
		ctl_die(CTL_ECONNECT, "cannot reach sopd at %s: %s", ctl.url,
		    d->c.error != NULL ? d->c.error : "no answer");
	}
}

/* Whether a file starts as an SQLite database does. */
static int
ctl_is_sqlite(const char *file)
{
	char head[16];
	int fd, ok;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	ok = read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
	    memcmp(head, "SQLite format 3", sizeof(head)) == 0;
	close(fd);
	return ok;
}

/*
 * backup FILE: sopd copies its database with SQLite's online backup API
 * and sends it; streamed to FILE.tmp, synced, checked and renamed.
 */
static int
ctl_backup(int argc, char **argv)
{
	struct ctl_dl d;
	json_t *doc;
	char *tmp;
	int e;

	if (argc != 2)
		ctl_usage();
	memset(&d, 0, sizeof(d));
	if (asprintf(&tmp, "%s.tmp", argv[1]) == -1)
		ctl_die(CTL_EAPI, "out of memory");
	d.tmp = tmp;
	if ((d.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0600)) == -1)
		ctl_die(CTL_EAPI, "%s: %s", tmp, strerror(errno));
	ctl_download("/api/v1/backup", &d);
	if (d.code != 200)
		ctl_dl_refused(&d);
	e = d.werr;
	if (e == 0 && (fsync(d.fd) == -1 || close(d.fd) == -1))
		e = errno;
	if (e != 0) {
		unlink(tmp);
		ctl_die(CTL_EAPI, "%s: %s", tmp, strerror(e));
	}
	if (d.c.error != NULL || !ctl_is_sqlite(tmp)) {
		unlink(tmp);
		ctl_die(CTL_EAPI, "backup: incomplete copy (%lld bytes)",
		    d.got);
	}
	if (rename(tmp, argv[1]) == -1) {
		e = errno;
		unlink(tmp);
		ctl_die(CTL_EAPI, "%s: %s", argv[1], strerror(e));
	}
	evbuffer_free(d.err);
	free(tmp);
	if (ctl.json) {
		doc = json_pack("{s:s, s:I}", "file", argv[1], "bytes",
		    (json_int_t)d.got);
		ctl_print_json(doc);
		json_decref(doc);
	} else
		printf("backup: %s (%lld bytes)\n", argv[1], d.got);
	return CTL_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "url", required_argument, NULL,
						  'u' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 } };
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "list", ctl_list },
		{ "show", ctl_show },
		{ "stats", ctl_stats },
		{ "health", ctl_health },
		{ "parse", ctl_parse },
		{ "windows", ctl_windows },
		{ "window", ctl_window },
		{ "expectations", ctl_expectations },
		{ "report", ctl_report },
		{ "schedule", ctl_schedule },
		{ "changes", ctl_changes },
		{ "change", ctl_chg },
		{ "backup", ctl_backup },
		{ "hosts", ctl_hosts },
		{ "set", ctl_set },
		{ "export", ctl_export },
		{ "audit", ctl_audit },
	};
	const char *url = getenv("SOPD_URL");
	const char *cacert = getenv("SOPD_CACERT");
	const char *tokfile = getenv("SOPD_TOKEN_FILE");
	char *cmd;
	size_t i;
	int ch;

	ctl.argv0 = argv[0];
	while ((ch = getopt_long(argc, argv, "+u:jT:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'T':
			tokfile = optarg;
			break;
		case 'h':
			ctl_usage_to(stdout);
			return CTL_OK;
		case 'V':
			printf("sopctl %s\n", SOPD_VERSION);
			return CTL_OK;
		default:
			ctl_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		ctl_usage();
	ctl_set_url(url != NULL && *url != '\0' ? url : CTL_DEFAULT_URL);
	if (cacert != NULL && *cacert != '\0')
		ctl.cacert = ctl_strdup(cacert);
	cmd = argv[0];
	if (strcmp(cmd, "help") == 0) {
		ctl_usage_to(stdout);
		return CTL_OK;
	}
	if (strcmp(cmd, "passwd") == 0)
		return ctl_passwd();
	if (strcmp(cmd, "token") == 0)
		return ctl_token();
	if (strcmp(cmd, "firmware") == 0)
		return fwctl_main(argc, argv);
	ctl_token_load(tokfile);
	optind = 0;
	if (strcmp(cmd, "parse") != 0)
		argc = ctl_take_json(argc, argv);
	if (strcmp(cmd, "ack") == 0)
		return ctl_change(argc, argv, "ack", 0);
	if (strcmp(cmd, "resolve") == 0)
		return ctl_change(argc, argv, "resolve", 0);
	if (strcmp(cmd, "note") == 0)
		return ctl_change(argc, argv, "notes", 1);
	if (strcmp(cmd, "assign") == 0)
		return ctl_assign(argc, argv);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(argc, argv);
	}
	fprintf(stderr, "sopctl: unknown command: %s\n", cmd);
	ctl_usage();
}
