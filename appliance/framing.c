/* framing.c: RFC 6587 octet-counting and LF framing of syslog TCP streams, with bounded memory. */
#include "framing.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "event.h"
#include "xmalloc.h"

#define FRAMER_PEEK_VECS 16

enum framing_state {
	FRAMER_S_LEN,  /* reading the octet count */
	FRAMER_S_MSG,  /* waiting for the message bytes */
	FRAMER_S_SKIP, /* draining the rest of a truncated frame */
};

struct framer {
	size_t max_msg;
	int mode;
	enum framing_state state;
	size_t frame_len; /* octet count read so far */
	int ndigits;
	size_t skip;	/* octets left to drain */
	size_t scanned; /* LF: bytes known to hold no LF */
	int discard;	/* LF: drop up to the next LF */
};

/* A new framer for one connection. */
struct framer *
framing_new(size_t max_msg)
{
	struct framer *f = xcalloc(1, sizeof *f);

	f->max_msg = max_msg;
	return f;
}

/* Free a framer. */
void
framing_free(struct framer *f)
{
	free(f);
}

/* The framing mode the connection's first byte chose. */
int
framing_mode(const struct framer *f)
{
	return f->mode;
}

/* Shorten n so that out does not end inside a UTF-8 character. */
static size_t
framing_utf8cut(const char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t i = n, need;

	while (i > 0 && n - i < 3 && (p[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || p[i - 1] < 0xc0)
		return n;
	need = p[i - 1] >= 0xf0 ? 4 : p[i - 1] >= 0xe0 ? 3 : 2;
	return need > n - (i - 1) ? i - 1 : n;
}

/* Move n bytes from in to out and NUL-terminate (truncated: cut cleanly). */
static int
framing_emit(struct evbuffer *in, size_t n, size_t drain, int truncated,
    char *out, size_t *outlen, unsigned *flags)
{
	evbuffer_remove(in, out, n);
	if (drain > 0)
		evbuffer_drain(in, drain);
	if (truncated) {
		n = framing_utf8cut(out, n);
		*flags |= EVENT_F_TRUNCATED;
	}
	out[n] = '\0';
	*outlen = n;
	return 1;
}

/* Read octet-count digits; 1 when the count is complete, 0 more, -1 bad. */
static int
framing_len(struct framer *f, struct evbuffer *in, size_t cap)
{
	unsigned char hdr[16];
	size_t n, i, limit;
	ssize_t r;
	int d;

	limit = cap > FRAMER_MAX_FRAME ? cap : FRAMER_MAX_FRAME;
	if ((r = evbuffer_copyout(in, hdr, sizeof hdr)) <= 0)
		return 0;
	n = (size_t)r;
	for (i = 0; i < n; i++) {
		if (f->ndigits == 0 && (hdr[i] == '\n' || hdr[i] == '\r'))
			continue;
		if (hdr[i] == ' ' && f->ndigits > 0) {
			evbuffer_drain(in, i + 1);
			return 1;
		}
		if (hdr[i] < '0' || hdr[i] > '9' ||
		    (f->ndigits == 0 && hdr[i] == '0') || f->ndigits >= 10)
			return -1;
		d = hdr[i] - '0';
		if (f->frame_len > (limit - d) / 10)
			return -1;
		f->frame_len = f->frame_len * 10 + d;
		f->ndigits++;
	}
	evbuffer_drain(in, n);
	return 0;
}

/* Next message in octet-counting mode. */
static int
framing_octet(struct framer *f, struct evbuffer *in, size_t cap, char *out,
    size_t *outlen, unsigned *flags)
{
	size_t want, n;
	int rc;

	for (;;) {
		switch (f->state) {
		case FRAMER_S_LEN:
			if ((rc = framing_len(f, in, cap)) != 1)
				return rc;
			f->state = FRAMER_S_MSG;
			break;
		case FRAMER_S_MSG:
			want = f->frame_len < cap ? f->frame_len : cap;
			if (evbuffer_get_length(in) < want)
				return 0;
			f->skip = f->frame_len - want;
			f->state = f->skip > 0 ? FRAMER_S_SKIP : FRAMER_S_LEN;
			f->frame_len = 0;
			f->ndigits = 0;
			return framing_emit(in, want, 0, f->skip > 0, out,
			    outlen, flags);
		case FRAMER_S_SKIP:
			n = evbuffer_get_length(in);
			if (n > f->skip)
				n = f->skip;
			evbuffer_drain(in, n);
			if ((f->skip -= n) > 0)
				return 0;
			f->state = FRAMER_S_LEN;
			break;
		}
	}
}

/* Offset of the first LF in [from, limit) of in, or -1. */
static ssize_t
framing_findlf(struct evbuffer *in, size_t from, size_t limit)
{
	struct evbuffer_iovec vec[FRAMER_PEEK_VECS];
	int nvec, i;
	size_t off = 0, a, b;
	const char *lf;

	nvec = evbuffer_peek(in, limit, NULL, NULL, 0);
	if (nvec > FRAMER_PEEK_VECS) {
		evbuffer_pullup(in, limit);
		nvec = 1;
	}
	nvec = evbuffer_peek(in, limit, NULL, vec, nvec);
	for (i = 0; i < nvec && off < limit; i++) {
		a = from > off ? from - off : 0;
		b = vec[i].iov_len;
		if (off + b > limit)
			b = limit - off;
		if (a < b &&
		    (lf = memchr((char *)vec[i].iov_base + a, '\n', b - a)) !=
			NULL)
			return (ssize_t)(off + (lf - (char *)vec[i].iov_base));
		off += vec[i].iov_len;
	}
	return -1;
}

/* The byte at offset off of in (which holds more than off bytes). */
static int
framing_byte(struct evbuffer *in, size_t off)
{
	struct evbuffer_ptr ptr;
	char c;

	if (evbuffer_ptr_set(in, &ptr, off, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_copyout_from(in, &ptr, &c, 1) != 1)
		return -1;
	return (unsigned char)c;
}

/* Drop bytes up to and including the next LF; 1 when it was found. */
static int
framing_discard(struct framer *f, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	ssize_t i;

	if ((i = framing_findlf(in, 0, avail)) < 0) {
		evbuffer_drain(in, avail);
		return 0;
	}
	evbuffer_drain(in, (size_t)i + 1);
	f->discard = 0;
	return 1;
}

/* Next message in LF mode (CRLF accepted, empty lines skipped). */
static int
framing_lf(struct framer *f, struct evbuffer *in, size_t cap, char *out,
    size_t *outlen, unsigned *flags)
{
	size_t avail, limit, n;
	ssize_t i;

	for (;;) {
		if (f->discard && !framing_discard(f, in))
			return 0;
		avail = evbuffer_get_length(in);
		limit = avail < cap + 2 ? avail : cap + 2;
		if ((i = framing_findlf(in, f->scanned, limit)) < 0) {
			if (avail < cap + 2) {
				f->scanned = limit;
				return 0;
			}
			f->scanned = 0;
			f->discard = 1;
			return framing_emit(in, cap, 0, 1, out, outlen, flags);
		}
		f->scanned = 0;
		n = (size_t)i;
		if (n > 0 && framing_byte(in, n - 1) == '\r')
			n--;
		if (n == 0) {
			evbuffer_drain(in, (size_t)i + 1);
			continue;
		}
		if (n > cap)
			return framing_emit(in, cap, (size_t)i + 1 - cap, 1,
			    out, outlen, flags);
		return framing_emit(in, n, (size_t)i + 1 - n, 0, out, outlen,
		    flags);
	}
}

/* The next message (see framing.h). */
int
framing_next(struct framer *f, struct evbuffer *in, char *out, size_t outsize,
    size_t *outlen, unsigned *flags)
{
	size_t cap;
	char c;

	*flags = 0;
	*outlen = 0;
	if (outsize == 0)
		return -1;
	cap = outsize - 1 < f->max_msg ? outsize - 1 : f->max_msg;
	if (f->mode == FRAMER_UNDECIDED) {
		if (evbuffer_copyout(in, &c, 1) != 1)
			return 0;
		f->mode = (c >= '0' && c <= '9') ? FRAMER_OCTET : FRAMER_LF;
	}
	if (f->mode == FRAMER_OCTET)
		return framing_octet(f, in, cap, out, outlen, flags);
	return framing_lf(f, in, cap, out, outlen, flags);
}

/* At end of stream, the last unterminated LF-framed line (see framing.h). */
int
framing_eof(struct framer *f, struct evbuffer *in, char *out, size_t outsize,
    size_t *outlen, unsigned *flags)
{
	size_t n, cap;

	*flags = 0;
	*outlen = 0;
	if (f->mode != FRAMER_LF || f->discard || outsize == 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return 0;
	}
	cap = outsize - 1 < f->max_msg ? outsize - 1 : f->max_msg;
	n = evbuffer_get_length(in);
	if (n > 0 && framing_byte(in, n - 1) == '\r')
		n--;
	if (n == 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return 0;
	}
	if (n > cap)
		return framing_emit(in, cap, evbuffer_get_length(in) - cap, 1,
		    out, outlen, flags);
	return framing_emit(in, n, evbuffer_get_length(in) - n, 0, out, outlen,
	    flags);
}
