/* fuzz_clock.c: libFuzzer harness for the clock's text parsers (RFC 3339 times, working hours, window specs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "winspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A parsed window must print as text that parses back to the same window. */
static void
fuzz_clock_window(const struct calendar *cal, const char *text)
{
	struct window_spec ws, ws2;
	char *cause = NULL, buf[256];
	time_t t = 1795741200, s, e;

	if (winspec_parse(cal, text, &ws, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	winspec_format(&ws, buf, sizeof buf);
	if (winspec_parse(cal, buf, &ws2, &cause) != 0)
		abort();
	if (ws.kind != ws2.kind || ws.days != ws2.days ||
	    ws.start_min != ws2.start_min || ws.end_min != ws2.end_min ||
	    ws.start != ws2.start || ws.end != ws2.end)
		abort();
	winspec_active_at(cal, &ws, t, &s, &e);
	winspec_next_start(cal, &ws, t, &e);
	winspec_overlaps_business(cal, &ws);
}

/* Set working hours from the text and do some business arithmetic. */
static void
fuzz_clock_hours(const char *text)
{
	struct calendar *cal;
	char *cause = NULL;
	time_t t = 1795741200;

	if ((cal = calendar_new("Asia/Tokyo", &cause)) == NULL)
		abort();
	if (calendar_set_hours_spec(cal, text, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
	} else {
		calendar_add_business(cal, t, 3600);
		calendar_business_between(cal, t, t + 86400 * 14);
		calendar_next_open(cal, t);
	}
	calendar_free(cal);
}

/* Byte 0 picks the parser; the rest is its NUL-terminated text. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct calendar *cal;
	char *text, *cause = NULL;
	time_t t;
	unsigned mask;
	int m;

	if (size < 1 || size > 4096)
		return 0;
	if (cal == NULL && (cal = calendar_new("Asia/Tokyo", &cause)) == NULL)
		abort();
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		calendar_parse_time(cal, text, &t);
		calendar_parse_days(text, &mask);
		calendar_parse_hhmm(text, &m);
		break;
	case 1:
		fuzz_clock_window(cal, text);
		break;
	default:
		fuzz_clock_hours(text);
		break;
	}
	free(text);
	return 0;
}
