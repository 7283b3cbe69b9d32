/* test_winspec.c: weekly and one-off window arithmetic, with DST weeks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "calendar.h"
#include "unit.h"
#include "winspec.h"
#include "yamlnode.h"

/* An instant as local "YYYY-MM-DD HH:MM ZONE". */
#define fmt(cal, t) unit_local((cal), (t), "%Y-%m-%d %H:%M %Z")

/* Parse a spec or fail. */
static struct window_spec
spec(const struct calendar *cal, const char *text)
{
	struct window_spec ws;
	char *cause = NULL;

	if (winspec_parse(cal, text, &ws, &cause) != 0)
		fail_msg("%s: %s", text, cause);
	return ws;
}

/* Whether parsing fails (with a message). */
static int
parse_fails(const struct calendar *cal, const char *text)
{
	struct window_spec ws;
	char *cause = NULL;
	int rc = winspec_parse(cal, text, &ws, &cause);

	if (rc == 0)
		return 0;
	assert_non_null(cause);
	free(cause);
	return 1;
}

static void
test_parse_format(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	static const char *good[][2] = {
		{ "fri 20:00-24:00", "fri 20:00-24:00" },
		{ "Friday 20:00-24:00", "fri 20:00-24:00" },
		{ "mon-fri 22:00-02:00", "mon-fri 22:00-02:00" },
		{ "sat,sun 01:00+3h", "sun,sat 01:00-04:00" },
		{ "sun 22:00 for 1h30m", "sun 22:00-23:30" },
		{ "fri 20:00+60h", "fri 20:00+3600m" },
		{ "daily 00:00-24:00", "daily 00:00-24:00" },
		{ "mon,wed,fri 23:00-01:00", "mon,wed,fri 23:00-01:00" },
		{ "mon-wed,sat 03:00-04:00", "mon-wed,sat 03:00-04:00" },
		{ "2026-11-27T20:00/2026-11-28T02:00",
		    "2026-11-27T11:00:00Z/2026-11-27T17:00:00Z" },
		{ "2026-11-27 20:00 - 2026-11-28 02:00",
		    "2026-11-27T11:00:00Z/2026-11-27T17:00:00Z" },
		{ "2026-11-27T11:00:00Z/2026-11-27T17:00:00Z",
		    "2026-11-27T11:00:00Z/2026-11-27T17:00:00Z" },
	};
	static const char *bad[] = { "", "fri", "fri 20:00", "xyz 20:00-22:00",
		"fri 20:00-20:00", "fri 25:00-26:00", "fri 24:00-02:00",
		"fri 20:00+8d", "fri 20:00+0m", "daily 20:00+25h",
		"mon,tue 20:00+30h", "fri 20:00-22", "fri 20:00 4h",
		"fri 20:00+4x", "2026-11-28T02:00/2026-11-27T20:00",
		"2026-11-27T20:00", "2026-11-27T20:00/soon" };
	struct window_spec ws;
	char buf[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ws = spec(cal, good[i][0]);
		winspec_format(&ws, buf, sizeof(buf));
		assert_string_equal(buf, good[i][1]);
		/* The text form reads back to the same spec. */
		struct window_spec again = spec(cal, buf);
		assert_memory_equal(&ws, &again, sizeof(ws));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!parse_fails(cal, bad[i]))
			fail_msg("\"%s\" was accepted", bad[i]);
	ws = spec(cal, "mon-fri 22:00-02:00");
	assert_int_equal(ws.days, 0x3e);
	assert_int_equal(ws.start_min, 1320);
	assert_int_equal(ws.end_min, 1560);
	calendar_free(cal);
}

static void
test_friday_night(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	struct window_spec ws = spec(cal, "fri 20:00-24:00");
	time_t s, e;

	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-27 21:00"), &s, &e));
	assert_string_equal(fmt(cal, s), "2026-11-27 20:00 JST");
	assert_string_equal(fmt(cal, e), "2026-11-28 00:00 JST");
	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-27 20:00"), NULL, NULL));
	assert_false(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-27 19:59:59"), NULL, NULL));
	assert_false(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-28 00:00"), NULL, NULL));
	assert_false(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-26 21:00"), NULL, NULL));
	/* Next start: strictly after. */
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-11-25 12:00"), &e);
	assert_string_equal(fmt(cal, s), "2026-11-27 20:00 JST");
	assert_string_equal(fmt(cal, e), "2026-11-28 00:00 JST");
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-11-27 20:00"),
	    NULL);
	assert_string_equal(fmt(cal, s), "2026-12-04 20:00 JST");
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-11-27 19:59"),
	    NULL);
	assert_string_equal(fmt(cal, s), "2026-11-27 20:00 JST");
	calendar_free(cal);
}

static void
test_cross_midnight(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	struct window_spec ws = spec(cal, "mon-fri 22:00-02:00");
	time_t s, e;

	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-28 01:00"), &s, &e));
	assert_string_equal(fmt(cal, s), "2026-11-27 22:00 JST");
	assert_string_equal(fmt(cal, e), "2026-11-28 02:00 JST");
	assert_false(
	    winspec_active_at(cal, &ws, unit_at(cal, "2026-11-30 01:00"), NULL,
		NULL)); /* Monday 01:00: Sunday has none */
	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-12-01 01:00"), NULL, NULL));
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-11-27 23:00"), &e);
	assert_string_equal(fmt(cal, s), "2026-11-30 22:00 JST");
	/* A weekend window of 60 hours. */
	ws = spec(cal, "fri 20:00+60h");
	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-30 07:59"), &s, &e));
	assert_string_equal(fmt(cal, e), "2026-11-30 08:00 JST");
	assert_false(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-30 08:00"), NULL, NULL));
	calendar_free(cal);
}

static void
test_overlaps_business(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	struct errlist errs = { NULL, 0 };
	static const struct {
		const char *text;
		int overlaps;
	} cases[] = {
		{ "fri 20:00-24:00", 0 },
		{ "fri 17:00-19:00", 1 },
		{ "fri 18:00-09:00", 0 },
		{ "sat 00:00-24:00", 0 },
		{ "sun 22:00-09:00", 0 },
		{ "sun 22:00-09:01", 1 },
		{ "sat 20:00+40h", 1 },
		{ "sat 20:00+37h", 0 },
		{ "mon-fri 18:00-09:00", 0 },
		{ "daily 12:00-13:00", 1 },
		{ "fri 08:00-09:00", 0 },
		{ "wed 08:59-09:00", 0 },
		{ "wed 17:59-18:00", 1 },
		{ "2026-11-28 10:00/2026-11-28 12:00", 0 },
		{ "2026-11-27 17:00/2026-11-27 19:00", 1 },
		{ "2026-11-27 18:00/2026-11-30 09:00", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct window_spec ws = spec(cal, cases[i].text);
		if (winspec_overlaps_business(cal, &ws) != cases[i].overlaps)
			fail_msg("%s: expected %d", cases[i].text,
			    cases[i].overlaps);
	}
	/* A one-off change on a holiday is outside business hours. */
	struct window_spec ws = spec(cal, "2026-11-23 10:00/2026-11-23 12:00");
	assert_int_equal(winspec_overlaps_business(cal, &ws), 1);
	assert_int_equal(calendar_load_holidays(cal,
			     "firmware/holidays/jp.yaml", &errs),
	    0);
	assert_int_equal(winspec_overlaps_business(cal, &ws), 0);
	/* A weekly window is judged on the weekly hours, holidays or not. */
	ws = spec(cal, "mon 10:00-12:00");
	assert_int_equal(winspec_overlaps_business(cal, &ws), 1);
	/* Custom hours: Saturday morning counts. */
	char *cause = NULL;
	assert_int_equal(calendar_set_hours_spec(cal, "sat 09:00-12:00",
			     &cause),
	    0);
	ws = spec(cal, "fri 20:00+14h");
	assert_int_equal(winspec_overlaps_business(cal, &ws), 1);
	calendar_free(cal);
}

static void
test_oneoff(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	struct window_spec ws = spec(cal, "2026-11-27T20:00/2026-11-28T02:00");
	time_t s, e;

	assert_int_equal(ws.kind, WINDOW_ONEOFF);
	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-28 01:59"), &s, &e));
	assert_string_equal(fmt(cal, s), "2026-11-27 20:00 JST");
	assert_string_equal(fmt(cal, e), "2026-11-28 02:00 JST");
	assert_false(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-11-28 02:00"), NULL, NULL));
	assert_int_equal(winspec_next_start(cal, &ws,
			     unit_at(cal, "2026-11-27 19:00"), &e),
	    unit_at(cal, "2026-11-27 20:00"));
	assert_int_equal(winspec_next_start(cal, &ws,
			     unit_at(cal, "2026-11-27 20:00"), &e),
	    -1);
	char *cause = NULL;
	assert_int_equal(winspec_oneoff(&ws, 10, 10, &cause), -1);
	free(cause);
	assert_int_equal(winspec_weekly(&ws, 0, 0, 60, &cause), -1);
	free(cause);
	calendar_free(cal);
}

static void
test_berlin_dst(void **state)
{
	struct calendar *cal = unit_calendar("Europe/Berlin");
	struct window_spec ws;
	time_t s, e;

	/* Spring: 02:00-04:00 on the switch night lasts one hour. */
	ws = spec(cal, "sun 02:00-04:00");
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-03-28 12:00"), &e);
	assert_string_equal(fmt(cal, s), "2026-03-29 03:00 CEST");
	assert_string_equal(fmt(cal, e), "2026-03-29 04:00 CEST");
	assert_int_equal(e - s, 3600);
	/* Autumn: the same window lasts three hours. */
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-10-24 12:00"), &e);
	assert_string_equal(fmt(cal, s), "2026-10-25 02:00 CEST");
	assert_string_equal(fmt(cal, e), "2026-10-25 04:00 CET");
	assert_int_equal(e - s, 3 * 3600);
	assert_true(winspec_active_at(cal, &ws,
	    unit_at(cal, "2026-10-25T01:30:00Z"), NULL, NULL)); /* 02:30 CET */
	/* A wall-clock duration over the switch: 5 and 7 real hours. */
	ws = spec(cal, "sat 22:00+6h");
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-03-28 12:00"), &e);
	assert_string_equal(fmt(cal, e), "2026-03-29 04:00 CEST");
	assert_int_equal(e - s, 5 * 3600);
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-10-24 12:00"), &e);
	assert_int_equal(e - s, 7 * 3600);
	/* Friday patch nights through a DST week keep their local times. */
	ws = spec(cal, "fri 20:00-24:00");
	s = unit_at(cal, "2026-03-01 00:00");
	for (int i = 0; i < 60; i++) {
		struct tm tm;
		s = winspec_next_start(cal, &ws, s, &e);
		calendar_localtime(cal, s, &tm);
		assert_int_equal(tm.tm_wday, 5);
		assert_int_equal(tm.tm_hour, 20);
		assert_int_equal(e - s, 4 * 3600);
	}
	calendar_free(cal);
}

static void
test_skipped_and_extremes(void **state)
{
	struct calendar *cal = unit_calendar("Europe/Berlin");
	struct window_spec ws = spec(cal, "sun 02:15-02:45");
	time_t s, e, ext[] = { INT64_MIN, -1, 0, INT64_MAX };

	/* Wholly inside the skipped hour: that night has no occurrence. */
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-03-28 12:00"), &e);
	assert_string_equal(fmt(cal, s), "2026-04-05 02:15 CEST");
	s = winspec_next_start(cal, &ws, unit_at(cal, "2026-10-24 12:00"), &e);
	assert_string_equal(fmt(cal, s), "2026-10-25 02:15 CEST");
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		(void)winspec_active_at(cal, &ws, ext[i], &s, &e);
		(void)winspec_next_start(cal, &ws, ext[i], &e);
		(void)winspec_overlaps_business(cal, &ws);
	}
	assert_int_equal(winspec_next_start(cal, &ws, INT64_MAX, NULL), -1);
	calendar_free(cal);
}

/* Every occurrence found by next_start agrees with active_at. */
static void
check_consistency(const char *zone, const char *text, const char *from,
    int days)
{
	struct calendar *cal = unit_calendar(zone);
	struct window_spec ws = spec(cal, text);
	time_t occ[64][2], t0 = unit_at(cal, from), t, s, e;
	size_t n = 0, i;
	int in;

	for (t = t0 - 9 * 86400; n < 64; n++) {
		occ[n][0] = winspec_next_start(cal, &ws, t, &occ[n][1]);
		assert_true(occ[n][0] > t);
		assert_true(occ[n][1] > occ[n][0]);
		assert_true(n == 0 || occ[n][0] >= occ[n - 1][1]);
		t = occ[n][0];
		if (t > t0 + days * 86400)
			break;
	}
	for (t = t0; t < t0 + days * 86400; t += 419) {
		for (in = 0, i = 0; i <= n && i < 64; i++)
			if (t >= occ[i][0] && t < occ[i][1])
				break;
		in = i <= n && i < 64;
		if (winspec_active_at(cal, &ws, t, &s, &e) != in)
			fail_msg("%s %s at %s: active_at %d", zone, text,
			    fmt(cal, t), !in);
		if (in && (s != occ[i][0] || e != occ[i][1]))
			fail_msg("%s %s: bounds differ", zone, text);
	}
	calendar_free(cal);
}

static void
test_consistency(void **state)
{
	static const char *texts[] = { "fri 20:00-24:00", "mon-fri 22:00-02:00",
		"sun 02:00-04:00", "sat 22:00+6h", "daily 01:30-03:30",
		"sat,sun 02:30-02:45", "fri 20:00+60h", "daily 00:00-24:00" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		check_consistency("Europe/Berlin", texts[i], "2026-03-22 00:00",
		    16);
		check_consistency("Europe/Berlin", texts[i], "2026-10-18 00:00",
		    16);
		check_consistency("Asia/Tokyo", texts[i], "2026-11-20 00:00",
		    16);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_friday_night),
		cmocka_unit_test(test_cross_midnight),
		cmocka_unit_test(test_overlaps_business),
		cmocka_unit_test(test_oneoff),
		cmocka_unit_test(test_berlin_dst),
		cmocka_unit_test(test_consistency),
		cmocka_unit_test(test_skipped_and_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
