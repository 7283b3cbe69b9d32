/* httpcache.h: ETag/If-None-Match and gzip for the API's answers. */
#ifndef SOPD_HTTPCACHE_H
#define SOPD_HTTPCACHE_H

struct evbuffer;
struct evhttp_request;

/*
 * Send an answer the page polls: a 200 carries an ETag of its body and is
 * a 304 without body when If-None-Match names it; a body of 1 KiB or more
 * is gzip-compressed for a client that accepts it.  body is left empty.
 */
void httpcache_send(struct evhttp_request *, int code, struct evbuffer *body);

#endif
