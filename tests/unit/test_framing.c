/* test_framing.c: the RFC 6587 stream framer, with random chunk boundaries and hostile counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "event.h"
#include "framing.h"

#define MAXMSG 64
#define MAXOUT 4096

/* What a stream produced: messages, their flags, and the final status. */
struct result {
	char *msg[MAXOUT];
	size_t len[MAXOUT];
	unsigned flags[MAXOUT];
	size_t n;
	int error;
	size_t maxbuf; /* largest buffer left after a 0 */
};

/* Free a result's messages. */
static void
result_free(struct result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->msg[i]);
	r->n = 0;
}

/* Drain every complete message from in into r; 1 if the stream failed. */
static int
drain(struct framer *f, struct evbuffer *in, struct result *r, size_t max)
{
	char out[MAXMSG * 64 + 1];
	size_t len;
	unsigned flags;
	int rc;

	while ((rc = framing_next(f, in, out, max + 1, &len, &flags)) == 1) {
		assert_true(len <= max);
		assert_int_equal(out[len], '\0');
		assert_true(r->n < MAXOUT);
		r->msg[r->n] = malloc(len + 1);
		memcpy(r->msg[r->n], out, len + 1);
		r->len[r->n] = len;
		r->flags[r->n++] = flags;
	}
	if (rc == -1) {
		r->error = 1;
		return 1;
	}
	if (evbuffer_get_length(in) > r->maxbuf)
		r->maxbuf = evbuffer_get_length(in);
	return 0;
}

/* Feed stream in chunks of random size (0 = all at once); flush at EOF. */
static void
feed(const char *s, size_t n, size_t max, size_t maxchunk, struct result *r)
{
	struct framer *f = framing_new(max);
	struct evbuffer *in = evbuffer_new();
	size_t off = 0, c, len;
	unsigned flags;
	char out[MAXMSG * 64 + 1];

	memset(r, 0, sizeof *r);
	while (off < n) {
		c = maxchunk == 0 ? n - off : 1 + (size_t)random() % maxchunk;
		if (c > n - off)
			c = n - off;
		evbuffer_add(in, s + off, c);
		off += c;
		if (drain(f, in, r, max))
			break;
	}
	if (!r->error && framing_eof(f, in, out, max + 1, &len, &flags) == 1) {
		r->msg[r->n] = malloc(len + 1);
		memcpy(r->msg[r->n], out, len + 1);
		r->len[r->n] = len;
		r->flags[r->n++] = flags;
	}
	evbuffer_free(in);
	framing_free(f);
}

/* Feed a NUL-terminated stream at once. */
static void
feed_str(const char *s, size_t max, struct result *r)
{
	feed(s, strlen(s), max, 0, r);
}

/* Octet counting: frames back to back, LF between frames tolerated. */
static void
test_octet_basic(void **state)
{
	struct result r;
	struct framer *f = framing_new(MAXMSG);

	assert_int_equal(framing_mode(f), FRAMER_UNDECIDED);
	framing_free(f);
	feed_str("5 hello6 world!\n3 abc\r\n1 x", MAXMSG, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.msg[0], "hello");
	assert_string_equal(r.msg[1], "world!");
	assert_string_equal(r.msg[2], "abc");
	assert_string_equal(r.msg[3], "x");
	assert_int_equal(r.flags[0], 0);
	result_free(&r);
	/* A frame may contain LF, NUL and anything else. */
	feed("7 a\nb\0c\n", 9, MAXMSG, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0], 7);
	assert_memory_equal(r.msg[0], "a\nb\0c\n", 7);
	result_free(&r);
}

/* Bad counts are fatal: non-digit, leading zero, zero, too many digits, too big. */
static void
test_octet_bad(void **state)
{
	static const char *bad[] = {
		"4\0  ",
		"0 x",
		"05 hello",
		"5x hello",
		"12345678901 x",
		"9999999999 x",
		"67108865 x",
		"5 hello x",
		"5 hello-3 abc",
		"5 hello 5 hello",
	};
	struct result r;
	size_t i, n;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		n = i == 0 ? 4 : strlen(bad[i]);
		feed(bad[i], n, MAXMSG, 0, &r);
		if (r.error == 0)
			fail_msg("no error for case %zu", i);
		result_free(&r);
	}
}

/* The digit cap applies before the 11th digit is stored. */
static void
test_octet_digits(void **state)
{
	struct framer *f = framing_new(MAXMSG);
	struct evbuffer *in = evbuffer_new();
	char out[MAXMSG + 1];
	size_t len;
	unsigned flags;
	int i;

	for (i = 0; i < 8; i++) {
		evbuffer_add(in, "1", 1);
		assert_int_equal(framing_next(f, in, out, sizeof out, &len,
				     &flags),
		    0);
		assert_int_equal(evbuffer_get_length(in), 0);
	}
	assert_int_equal(framing_mode(f), FRAMER_OCTET);
	evbuffer_add(in, "1", 1); /* 111111111 > 64 MiB */
	assert_int_equal(framing_next(f, in, out, sizeof out, &len, &flags),
	    -1);
	evbuffer_free(in);
	framing_free(f);
}

/* A huge frame is truncated, the rest drained as it arrives, unbuffered. */
static void
test_octet_huge(void **state)
{
	size_t big = 1000000, n;
	char *s = malloc(big + 64);
	struct result r;

	n = (size_t)sprintf(s, "%zu ", big);
	memset(s + n, 'A', big);
	n += big;
	n += (size_t)sprintf(s + n, "2 ok");
	feed(s, n, MAXMSG, 65536, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.len[0], MAXMSG);
	assert_int_equal(r.flags[0], EVENT_F_TRUNCATED);
	assert_string_equal(r.msg[1], "ok");
	assert_true(r.maxbuf <= MAXMSG + 1);
	result_free(&r);
	free(s);
}

/* LF framing: CRLF, empty lines, last line at EOF. */
static void
test_lf_basic(void **state)
{
	struct result r;

	feed_str("<13>one\n\n\r\n<13>two\r\n   \n<13>three", MAXMSG, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.msg[0], "<13>one");
	assert_string_equal(r.msg[1], "<13>two");
	assert_string_equal(r.msg[2], "   ");
	assert_string_equal(r.msg[3], "<13>three");
	result_free(&r);
}

/* LF framing: an over-long line is emitted truncated, its rest discarded. */
static void
test_lf_long(void **state)
{
	char s[1024];
	struct result r;
	size_t n = 0;

	memset(s, 'x', 300);
	n = 300;
	n += (size_t)sprintf(s + n, "\nshort\n");
	memset(s + n, 'y', MAXMSG); /* exactly MAXMSG, then CRLF */
	n += MAXMSG;
	n += (size_t)sprintf(s + n, "\r\n");
	memset(s + n, 'z', MAXMSG + 1); /* one byte too long */
	n += MAXMSG + 1;
	n += (size_t)sprintf(s + n, "\nend\n");
	feed(s, n, MAXMSG, 0, &r);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.len[0], MAXMSG);
	assert_int_equal(r.flags[0], EVENT_F_TRUNCATED);
	assert_string_equal(r.msg[1], "short");
	assert_int_equal(r.flags[1], 0);
	assert_int_equal(r.len[2], MAXMSG);
	assert_int_equal(r.flags[2], 0);
	assert_int_equal(r.len[3], MAXMSG);
	assert_int_equal(r.flags[3], EVENT_F_TRUNCATED);
	assert_string_equal(r.msg[4], "end");
	result_free(&r);
}

/* Truncation never splits a UTF-8 character. */
static void
test_utf8_cut(void **state)
{
	char s[256];
	struct result r;
	size_t n;

	memset(s, 'a', 9);
	memcpy(s + 9, "\xe2\x82\xac\xe2\x82\xac\n", 7);
	feed(s, 16, 10, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0], 9);
	assert_int_equal(r.flags[0], EVENT_F_TRUNCATED);
	result_free(&r);
	n = (size_t)sprintf(s, "15 aaaaaaaaa\xe2\x82\xac\xe2\x82\xac");
	feed(s, n, 10, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0], 9);
	result_free(&r);
}

/* Build a random stream of messages in one mode; return its length. */
static size_t
make_stream(char *s, int octet)
{
	size_t n = 0, len, i;
	int k, count = 1 + (int)(random() % 60);

	for (k = 0; k < count; k++) {
		len = 1 + (size_t)random() % (random() % 4 == 0 ? 200 : 40);
		if (octet)
			n += (size_t)sprintf(s + n, "%zu ", len);
		for (i = 0; i < len; i++)
			s[n + i] = (char)(octet ? random() % 256 :
						  'a' + random() % 26);
		n += len;
		if (!octet)
			s[n++] = '\n';
		if (!octet && random() % 5 == 0)
			s[n++] = '\n';
	}
	return n;
}

/* The same stream split at random points gives the same messages. */
static void
test_random_chunks(void **state)
{
	static char s[64 * 1024];
	struct result whole, part;
	size_t n, i;
	int iter, octet, k;

	srandom(7);
	for (iter = 0; iter < 400; iter++) {
		octet = iter % 2;
		n = make_stream(s, octet);
		feed(s, n, MAXMSG, 0, &whole);
		assert_int_equal(whole.error, 0);
		for (k = 0; k < 4; k++) {
			feed(s, n, MAXMSG, 1 + (size_t)(random() % 50), &part);
			assert_int_equal(part.error, 0);
			assert_int_equal(part.n, whole.n);
			for (i = 0; i < whole.n; i++) {
				assert_int_equal(part.len[i], whole.len[i]);
				assert_memory_equal(part.msg[i], whole.msg[i],
				    whole.len[i]);
				assert_int_equal(part.flags[i], whole.flags[i]);
			}
			assert_true(part.maxbuf <= MAXMSG + 1);
			result_free(&part);
		}
		result_free(&whole);
	}
}

/* Random garbage in random chunks: no crash, bounded buffer. */
static void
test_random_garbage(void **state)
{
	static char s[4096];
	struct result r;
	size_t n, i;
	int iter;

	srandom(11);
	for (iter = 0; iter < 2000; iter++) {
		n = (size_t)random() % sizeof s;
		for (i = 0; i < n; i++)
			s[i] = random() % 3 == 0 ?
			    "0123456789 \n\r"[random() % 14] :
			    (char)random();
		feed(s, n, MAXMSG, 1 + (size_t)(random() % 300), &r);
		assert_true(r.maxbuf <= MAXMSG + 1);
		result_free(&r);
	}
}

/* Run the framer tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_octet_basic),
		cmocka_unit_test(test_octet_bad),
		cmocka_unit_test(test_octet_digits),
		cmocka_unit_test(test_octet_huge),
		cmocka_unit_test(test_lf_basic),
		cmocka_unit_test(test_lf_long),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_random_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
