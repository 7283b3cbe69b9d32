/* framing.h: syslog over TCP split into messages (RFC 6587), per connection. */
#ifndef SOPD_FRAMING_H
#define SOPD_FRAMING_H

#include <stddef.h>

struct evbuffer;
struct framer;

#define FRAMER_UNDECIDED 0
#define FRAMER_OCTET	 1 /* "LEN SP MSG" */
#define FRAMER_LF	 2 /* MSG LF (CRLF too; empty lines ignored) */

/* Octet counts above this (or max_msg, if larger) are a framing error. */
#define FRAMER_MAX_FRAME (64 * 1024 * 1024)

/*
 * A framer for one connection; messages longer than max_msg are cut to
 * max_msg bytes (at a UTF-8 character boundary) and flagged
 * EVENT_F_TRUNCATED, the rest of their frame is drained unbuffered.
 */
struct framer *framing_new(size_t max_msg);
void framing_free(struct framer *);

/*
 * The next message from in, copied to out (outsize >= max_msg + 1) and
 * NUL-terminated, its length in *outlen and EVENT_F_* in *flags: 1 when a
 * message was produced, 0 when more data is needed (everything consumable
 * was consumed, so in never holds more than max_msg + 2 bytes of an
 * unfinished message), -1 on a bad octet count (the caller closes the
 * connection). The first byte of the connection decides the mode: a digit
 * means octet counting, anything else LF framing. In octet mode CR and LF
 * between frames are skipped; a count must be 1-10 digits without a
 * leading zero, at most FRAMER_MAX_FRAME, followed by one space.
 */
int framing_next(struct framer *, struct evbuffer *in, char *out,
    size_t outsize, size_t *outlen, unsigned *flags);

/* At end of stream: the unterminated last LF-framed line, if any (1/0). */
int framing_eof(struct framer *, struct evbuffer *in, char *out, size_t outsize,
    size_t *outlen, unsigned *flags);

/* FRAMER_UNDECIDED, FRAMER_OCTET or FRAMER_LF. */
int framing_mode(const struct framer *);

#endif
