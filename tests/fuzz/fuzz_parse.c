/* fuzz_parse.c: libFuzzer harness for syslog_parse and event_to_json (see README in this folder). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event_json.h"
#include "syslog_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parse one input (its first byte picks max_len) and render it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct logevent ev;
	enum stats_reason reason;
	char *buf, *s;
	json_t *j;
	size_t max_len;

	if (size == 0)
		return 0;
	max_len = (size_t)data[0] * 4;
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	memset(&ev, 0, sizeof ev);
	ev.peer = "192.0.2.1";
	ev.received_us = 1795741200000000LL;
	if (syslog_parse(buf, size - 1, max_len, &ev, &reason) == -1) {
		/* Only blank messages are rejected: the rest is repaired. */
		if (reason != REASON_EMPTY)
			abort();
	} else {
		if (ev.message_len > max_len ||
		    (j = json_stringn(ev.message, ev.message_len)) == NULL)
			abort();
		json_decref(j);
		j = event_to_json(&ev);
		if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
			abort();
		free(s);
		json_decref(j);
	}
	free(buf);
	return 0;
}
