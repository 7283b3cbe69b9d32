/*
 * httpcache.c: ETag/If-None-Match and gzip for the API's answers, so that
 * a page polling every few seconds costs little when nothing changed and
 * little bandwidth when something did.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <zlib.h>

#include "hash.h"
#include "httpcache.h"

#define HTTPCACHE_MIN_GZIP 1024

/* Whether If-None-Match names this ETag (or is "*"). */
static int
httpcache_match(const char *inm, const char *etag)
{
	const char *p;
	size_t n = strlen(etag);

	if (inm == NULL)
		return (0);
	if (strcmp(inm, "*") == 0)
		return (1);
	for (p = inm; (p = strstr(p, etag + 2)) != NULL; p += n - 2)
		if (p[n - 2] == '\0' || p[n - 2] == ',' || p[n - 2] == ' ')
			return (1);
	return (0);
}

/* Whether Accept-Encoding takes gzip (not with q=0). */
static int
httpcache_gzip_ok(const char *ae)
{
	const char *p;

	if (ae == NULL || (p = strcasestr(ae, "gzip")) == NULL)
		return (0);
	p += 4;
	p += strspn(p, " ");
	return (strncmp(p, ";q=0", 4) != 0 || strncmp(p, ";q=0.", 5) == 0);
}

/* Compress src into dst as a gzip member; -1 on failure. */
static int
httpcache_gzip(const unsigned char *src, size_t len, struct evbuffer *dst)
{
	z_stream z;
	struct evbuffer_iovec v;
	size_t bound;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return (-1);
	bound = deflateBound(&z, len) + 32;
	if (evbuffer_reserve_space(dst, (ev_ssize_t)bound, &v, 1) != 1) {
		deflateEnd(&z);
		return (-1);
	}
	z.next_in = (unsigned char *)(uintptr_t)src;
	z.avail_in = (uInt)len;
	z.next_out = v.iov_base;
	z.avail_out = (uInt)v.iov_len;
	rc = deflate(&z, Z_FINISH);
	v.iov_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
		return (-1);
	return (evbuffer_commit_space(dst, &v, 1));
}

void
httpcache_send(struct evhttp_request *req, int code, struct evbuffer *body)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *z;
	const unsigned char *p;
	size_t len = evbuffer_get_length(body);
	char etag[48];

	if (code != 200) {
		evhttp_send_reply(req, code, NULL, body);
		return;
	}
	p = evbuffer_pullup(body, -1);
	snprintf(etag, sizeof(etag), "W/\"%016llx-%zx\"",
	    (unsigned long long)hash_bytes(HASH_INIT, p, len), len);
	evhttp_add_header(out, "ETag", etag);
	evhttp_add_header(out, "Vary",
	    "Accept-Encoding, Cookie, Authorization");
	if (httpcache_match(evhttp_find_header(in, "If-None-Match"), etag)) {
		evbuffer_drain(body, len);
		evhttp_send_reply(req, 304, NULL, NULL);
		return;
	}
	if (len >= HTTPCACHE_MIN_GZIP &&
	    httpcache_gzip_ok(evhttp_find_header(in, "Accept-Encoding"))) {
		z = evbuffer_new();
		if (httpcache_gzip(p, len, z) == 0) {
			evhttp_add_header(out, "Content-Encoding", "gzip");
			evbuffer_drain(body, len);
			evhttp_send_reply(req, code, NULL, z);
			evbuffer_free(z);
			return;
		}
		evbuffer_free(z);
	}
	evhttp_send_reply(req, code, NULL, body);
}
