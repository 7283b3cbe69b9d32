/* fuzz_framing.c: libFuzzer harness for the TCP framer, with chunk boundaries taken from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "framing.h"

#define FUZZ_MAX 100

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Feed the input in chunks whose sizes the first bytes choose. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct framer *f = framing_new(FUZZ_MAX);
	struct evbuffer *in = evbuffer_new();
	char out[FUZZ_MAX + 1];
	size_t off = 4, len, c;
	unsigned flags;
	int rc = 0, k = 0;

	while (off < size && rc != -1) {
		c = size >= 4 ? 1 + data[k++ % 4] % 64 : size;
		if (c > size - off)
			c = size - off;
		evbuffer_add(in, data + off, c);
		off += c;
		while ((rc = framing_next(f, in, out, sizeof out, &len,
			    &flags)) == 1)
			if (len > FUZZ_MAX || out[len] != '\0')
				abort();
		if (rc == 0 && evbuffer_get_length(in) > FUZZ_MAX + 1)
			abort();
	}
	if (rc != -1)
		framing_eof(f, in, out, sizeof out, &len, &flags);
	evbuffer_free(in);
	framing_free(f);
	return 0;
}
