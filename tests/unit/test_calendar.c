/* test_calendar.c: business calendar, holidays and time zone conversions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "calendar.h"
#include "unit.h"
#include "yamlnode.h"

#define JP_FILE "firmware/holidays/jp.yaml"

/* The Tokyo calendar with Japan's holidays. */
static struct calendar *
cal_jp(void)
{
	struct calendar *cal = unit_calendar(NULL);
	struct errlist errs = { NULL, 0 };

	if (calendar_load_holidays(cal, JP_FILE, &errs) != 0) {
		errlist_print(&errs, stderr);
		fail_msg("cannot load %s", JP_FILE);
	}
	errlist_free(&errs);
	return cal;
}

/* An instant as local "YYYY-MM-DD HH:MM:SS ZONE". */
#define fmt(cal, t) unit_local((cal), (t), "%Y-%m-%d %H:%M:%S %Z")

/* Add business days to a local time, formatted. */
static const char *
plus_days(const struct calendar *cal, const char *start, long long days)
{
	return fmt(cal,
	    calendar_add_business(cal, unit_at(cal, start),
		days * calendar_business_day_seconds(cal)));
}

static void
test_default_hours(void **state)
{
	struct calendar *cal = unit_calendar(NULL);

	assert_string_equal(calendar_tzname(cal), "Asia/Tokyo");
	assert_int_equal(calendar_business_day_seconds(cal), 9 * 3600);
	assert_int_equal(calendar_weekday_seconds(cal, 0), 0);
	assert_int_equal(calendar_weekday_seconds(cal, 3), 9 * 3600);
	assert_int_equal(calendar_utcoff(cal, 0), 9 * 3600);
	assert_true(
	    calendar_is_business_time(cal, unit_at(cal, "2026-11-20 09:00")));
	assert_true(calendar_is_business_time(cal,
	    unit_at(cal, "2026-11-20 17:59:59")));
	assert_false(
	    calendar_is_business_time(cal, unit_at(cal, "2026-11-20 18:00")));
	assert_false(calendar_is_business_time(cal,
	    unit_at(cal, "2026-11-20 08:59:59")));
	assert_false(
	    calendar_is_business_time(cal, unit_at(cal, "2026-11-21 12:00")));
	calendar_free(cal);
}

static void
test_friday_evening(void **state)
{
	struct calendar *cal = cal_jp();

	assert_string_equal(plus_days(cal, "2026-11-20 17:00", 1),
	    "2026-11-24 17:00:00 JST"); /* Mon Nov 23 is a holiday */
	assert_string_equal(plus_days(cal, "2026-11-27 17:00", 1),
	    "2026-11-30 17:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-11-27 19:00", 1),
	    "2026-11-30 18:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-11-28 03:00", 1),
	    "2026-11-30 18:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-11-27 08:00", 1),
	    "2026-11-27 18:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-11-27 09:00", 2),
	    "2026-11-30 18:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-11-27 17:00", 5),
	    "2026-12-04 17:00:00 JST");
	calendar_free(cal);
}

static void
test_holiday_eve(void **state)
{
	struct calendar *cal = cal_jp();
	const char *name;

	assert_true(calendar_is_holiday(cal, 2026, 5, 6, &name));
	assert_string_equal(name, "振替休日 / Substitute Holiday");
	assert_string_equal(plus_days(cal, "2026-05-01 10:00", 1),
	    "2026-05-07 10:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-04-28 10:00", 1),
	    "2026-04-30 10:00:00 JST"); /* over Showa Day */
	assert_string_equal(plus_days(cal, "2026-09-18 12:00", 1),
	    "2026-09-24 12:00:00 JST"); /* Sep 21, 22, 23 */
	assert_string_equal(plus_days(cal, "2027-03-19 12:00", 1),
	    "2027-03-23 12:00:00 JST"); /* Mar 22 substitute */
	assert_false(calendar_is_working_day(cal, 2026, 5, 4));
	assert_true(calendar_is_working_day(cal, 2026, 5, 7));
	assert_false(
	    calendar_is_business_time(cal, unit_at(cal, "2026-05-06 10:00")));
	calendar_free(cal);
}

static void
test_year_end(void **state)
{
	struct calendar *cal = cal_jp();

	assert_true(calendar_is_working_day(cal, 2026, 12, 31));
	assert_string_equal(plus_days(cal, "2026-12-31 15:00", 1),
	    "2027-01-04 15:00:00 JST");
	assert_string_equal(plus_days(cal, "2026-12-31 18:30", 1),
	    "2027-01-04 18:00:00 JST");
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-12-31 15:00"),
			     unit_at(cal, "2027-01-04 15:00")),
	    9 * 3600);
	calendar_free(cal);
}

static void
test_between(void **state)
{
	struct calendar *cal = cal_jp();
	time_t a = unit_at(cal, "2026-11-27 17:00"),
	       b = unit_at(cal, "2026-11-30 10:00");

	assert_int_equal(calendar_business_between(cal, a, b), 2 * 3600);
	assert_int_equal(calendar_business_between(cal, b, a), -2 * 3600);
	assert_int_equal(calendar_business_between(cal, a, a), 0);
	/* A week of five working days. */
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-11-30 00:00"),
			     unit_at(cal, "2026-12-07 00:00")),
	    45 * 3600);
	/* Round trip: between(start, add(start, x)) == x. */
	for (long long x = 1; x < 40 * 3600; x += 3517)
		assert_int_equal(calendar_business_between(cal, a,
				     calendar_add_business(cal, a, x)),
		    x);
	calendar_free(cal);
}

static void
test_next_open(void **state)
{
	struct calendar *cal = cal_jp();

	assert_string_equal(fmt(cal,
				calendar_next_open(cal,
				    unit_at(cal, "2026-05-01 19:00"))),
	    "2026-05-07 09:00:00 JST");
	assert_string_equal(fmt(cal,
				calendar_next_open(cal,
				    unit_at(cal, "2026-05-07 11:11"))),
	    "2026-05-07 11:11:00 JST");
	assert_int_equal(calendar_add_business(cal,
			     unit_at(cal, "2026-05-01 19:00"), 0),
	    unit_at(cal, "2026-05-01 19:00"));
	assert_int_equal(calendar_add_business(cal, 0, -1), -1);
	calendar_free(cal);
}

static void
test_custom_hours(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	char *cause = NULL;

	assert_int_equal(calendar_set_hours_spec(cal,
			     "mon-fri 09:00-12:00,13:00-18:00", &cause),
	    0);
	assert_int_equal(calendar_business_day_seconds(cal), 8 * 3600);
	assert_string_equal(fmt(cal,
				calendar_add_business(cal,
				    unit_at(cal, "2026-11-27 10:00"),
				    4 * 3600)),
	    "2026-11-27 15:00:00 JST");
	assert_false(
	    calendar_is_business_time(cal, unit_at(cal, "2026-11-27 12:30")));
	assert_int_equal(calendar_set_hours_spec(cal, "sat 10:00-14:00",
			     &cause),
	    0);
	assert_int_equal(calendar_business_day_seconds(cal), 8 * 3600);
	assert_string_equal(fmt(cal,
				calendar_add_business(cal,
				    unit_at(cal, "2026-11-27 17:00"),
				    3 * 3600)),
	    "2026-11-28 12:00:00 JST");
	assert_int_equal(calendar_set_hours_spec(cal, "sat closed", &cause), 0);
	assert_int_equal(calendar_weekday_seconds(cal, 6), 0);
	calendar_set_business_day(cal, 7 * 3600);
	assert_int_equal(calendar_business_day_seconds(cal), 7 * 3600);
	calendar_set_business_day(cal, 0);
	assert_int_equal(calendar_business_day_seconds(cal), 8 * 3600);

	assert_int_equal(calendar_set_hours_spec(cal,
			     "mon 09:00-12:00,11:00-13:00", &cause),
	    -1);
	free(cause);
	cause = NULL;
	assert_int_equal(calendar_set_hours_spec(cal, "xyz 09:00-12:00",
			     &cause),
	    -1);
	free(cause);
	cause = NULL;
	assert_int_equal(calendar_set_hours_spec(cal, "mon 18:00-09:00",
			     &cause),
	    -1);
	free(cause);
	/* A failed spec leaves the hours alone. */
	assert_int_equal(calendar_weekday_seconds(cal, 1), 8 * 3600);
	assert_int_equal(calendar_set_hours(cal, 7, 0, 60), -1);
	assert_int_equal(calendar_add_hours(cal, 1, 600, 700), -1);
	for (int wd = 0; wd < 7; wd++)
		assert_int_equal(calendar_set_hours(cal, wd, 0, 0), 0);
	assert_int_equal(calendar_add_business(cal, 0, 10), -1);
	assert_int_equal(calendar_next_open(cal, 0), -1);
	assert_int_equal(calendar_business_day_seconds(cal), 0);
	calendar_free(cal);
}

/* The n-th Monday of a month. */
static int
nth_monday(int y, int m, int n)
{
	struct tm tm = { .tm_year = y - 1900,
		.tm_mon = m - 1,
		.tm_mday = 1,
		.tm_hour = 12 };
	time_t t = timegm(&tm);

	gmtime_r(&t, &tm);
	return 1 + (8 - tm.tm_wday) % 7 + (n - 1) * 7;
}

/* Weekday of a date. */
static int
wday_of(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900,
		.tm_mon = m - 1,
		.tm_mday = d,
		.tm_hour = 12 };
	time_t t = timegm(&tm);

	gmtime_r(&t, &tm);
	return tm.tm_wday;
}

static void
test_jp_file_rules(void **state)
{
	struct calendar *cal = cal_jp();
	static const int fixed[][2] = { { 1, 1 }, { 2, 11 }, { 2, 23 },
		{ 4, 29 }, { 5, 3 }, { 5, 4 }, { 5, 5 }, { 8, 11 }, { 11, 3 },
		{ 11, 23 } };

	assert_int_equal(calendar_holiday_count(cal), 18 + 17);
	for (int y = 2026; y <= 2027; y++) {
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			assert_true(calendar_is_holiday(cal, y, fixed[i][0],
			    fixed[i][1], NULL));
		assert_true(
		    calendar_is_holiday(cal, y, 1, nth_monday(y, 1, 2), NULL));
		assert_true(
		    calendar_is_holiday(cal, y, 7, nth_monday(y, 7, 3), NULL));
		assert_true(
		    calendar_is_holiday(cal, y, 9, nth_monday(y, 9, 3), NULL));
		assert_true(calendar_is_holiday(cal, y, 10,
		    nth_monday(y, 10, 2), NULL));
		assert_true(calendar_is_holiday(cal, y, 9, 23, NULL));
	}
	assert_true(calendar_is_holiday(cal, 2026, 3, 20, NULL));
	assert_true(calendar_is_holiday(cal, 2027, 3, 21, NULL));
	/* Substitute: a Sunday holiday moves to the next non-holiday. */
	int nsub = 0;
	for (int y = 2026; y <= 2027; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= 28; d++) {
				const char *name;
				int k = d + 1;
				if (!calendar_is_holiday(cal, y, m, d, NULL) ||
				    wday_of(y, m, d) != 0)
					continue;
				while (
				    calendar_is_holiday(cal, y, m, k, &name) &&
				    strstr(name, "振替休日") == NULL)
					k++;
				assert_true(
				    calendar_is_holiday(cal, y, m, k, &name));
				assert_non_null(strstr(name, "振替休日"));
				nsub++;
			}
	assert_int_equal(nsub, 2);
	/* Citizens' holiday: a weekday between two holidays. */
	assert_true(calendar_is_holiday(cal, 2026, 9, 22, NULL));
	assert_false(calendar_is_holiday(cal, 2027, 9, 21, NULL));
	assert_false(calendar_is_holiday(cal, 2027, 9, 22, NULL));
	assert_false(calendar_is_holiday(cal, 2026, 12, 31, NULL));
	calendar_free(cal);
}

/* Write text to a temporary file; its name in a static buffer. */
static const char *
tmpfile_with(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/test_calendar.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		fail_msg("mkstemp");
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fail_msg("write");
	close(fd);
	return path;
}

/* Whether some error contains both strings. */
static int
has_error(const struct errlist *errs, const char *a, const char *b)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], a) && strstr(errs->msgs[i], b))
			return 1;
	return 0;
}

static void
test_holiday_errors(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	struct errlist errs = { NULL, 0 };
	const char *f;

	f = tmpfile_with("- {date: 2026-02-30, name: x}\n"
			 "- {date: 2026-03-01}\n"
			 "- {date: 2026-03-02, name: y, when: z}\n"
			 "- {date: 2026-03-03, name: a}\n"
			 "- {date: 2026-03-03, name: b}\n"
			 "- just text\n");
	assert_int_equal(calendar_load_holidays(cal, f, &errs), -1);
	assert_true(has_error(&errs, ":1:10: ", "2026-02-30"));
	assert_true(has_error(&errs, ":2:3: ", "name"));
	assert_true(has_error(&errs, ":3:31: ", "unknown key \"when\""));
	assert_true(has_error(&errs, ":5:3: ", "duplicate"));
	assert_true(has_error(&errs, ":6:3: ", "expected"));
	/* All or nothing. */
	assert_int_equal(calendar_holiday_count(cal), 0);
	errlist_free(&errs);
	unlink(f);

	f = tmpfile_with("holidays: []\n");
	assert_int_equal(calendar_load_holidays(cal, f, &errs), -1);
	assert_true(has_error(&errs, ":1:1: ", "list"));
	errlist_free(&errs);
	unlink(f);

	f = tmpfile_with("- {date: 2026-12-29, name: Company closure}\n");
	assert_int_equal(calendar_load_holidays(cal, f, &errs), 0);
	assert_int_equal(calendar_load_holidays(cal, f, &errs), -1);
	assert_true(has_error(&errs, ":1:3: ", "duplicate"));
	errlist_free(&errs);
	unlink(f);
	assert_int_equal(calendar_load_holidays(cal, "/nonexistent.yaml",
			     &errs),
	    -1);
	assert_int_equal(errs.n, 1);
	errlist_free(&errs);
	assert_int_equal(calendar_holiday_count(cal), 1);
	assert_int_equal(calendar_add_holiday(cal, 2026, 2, 29, "x"), -1);
	calendar_free(cal);
}

static void
test_bad_zone(void **state)
{
	const char *bad[] = { "../../etc/passwd", "/etc/localtime",
		"Nowhere/Atlantis", "Asia/Tokyo ", "", "zone.tab" };
	char *cause;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cause = NULL;
		struct calendar *cal = calendar_new(bad[i], &cause);
		if (*bad[i] == '\0') { /* empty: the default zone */
			assert_non_null(cal);
			calendar_free(cal);
			continue;
		}
		assert_null(cal);
		assert_non_null(cause);
		free(cause);
	}
}

static void
test_berlin_switch(void **state)
{
	struct calendar *cal = unit_calendar("Europe/Berlin");
	struct tm tm;
	time_t t;

	/* Spring: 02:00 CET jumps to 03:00 CEST at 01:00 UTC. */
	t = unit_at(cal, "2026-03-29T00:59:59Z");
	assert_string_equal(fmt(cal, t), "2026-03-29 01:59:59 CET");
	assert_string_equal(fmt(cal, t + 1), "2026-03-29 03:00:00 CEST");
	assert_int_equal(calendar_utcoff(cal, t), 3600);
	assert_int_equal(calendar_utcoff(cal, t + 1), 7200);
	/* A nonexistent local time is the moment of the change. */
	assert_int_equal(unit_at(cal, "2026-03-29 02:30"), t + 1);
	assert_int_equal(unit_at(cal, "2026-03-29 02:00"), t + 1);
	assert_int_equal(unit_at(cal, "2026-03-29 03:00"), t + 1);
	assert_int_equal(unit_at(cal, "2026-03-29 01:59:59"), t);
	/* Autumn: 03:00 CEST goes back to 02:00 CET at 01:00 UTC. */
	t = unit_at(cal, "2026-10-25T01:00:00Z");
	assert_string_equal(fmt(cal, t - 1), "2026-10-25 02:59:59 CEST");
	assert_string_equal(fmt(cal, t), "2026-10-25 02:00:00 CET");
	/* An ambiguous local time is the earlier instant... */
	assert_int_equal(unit_at(cal, "2026-10-25 02:30"), t - 1800);
	/* ...unless tm_isdst says which. */
	calendar_localtime(cal, t + 1800, &tm);
	assert_int_equal(tm.tm_isdst, 0);
	assert_int_equal(calendar_mktime(cal, &tm), t + 1800);
	tm.tm_isdst = 1;
	assert_int_equal(calendar_mktime(cal, &tm), t - 1800);
	tm.tm_isdst = -1;
	assert_int_equal(calendar_mktime(cal, &tm), t - 1800);
	/* Normalization like mktime: 24:00 is the next midnight. */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 126;
	tm.tm_mon = 2;
	tm.tm_mday = 28;
	tm.tm_hour = 24;
	tm.tm_isdst = -1;
	assert_string_equal(fmt(cal, calendar_mktime(cal, &tm)),
	    "2026-03-29 00:00:00 CET");
	tm.tm_hour = 48;
	assert_string_equal(fmt(cal, calendar_mktime(cal, &tm)),
	    "2026-03-30 00:00:00 CEST");
	assert_int_equal(calendar_mktime(cal, &tm) -
		unit_at(cal, "2026-03-29 00:00"),
	    23 * 3600);
	/* RFC 3339 with an offset ignores the zone. */
	assert_int_equal(unit_at(cal, "2026-03-29T03:00:00+02:00"),
	    unit_at(cal, "2026-03-29T01:00:00Z"));
	calendar_free(cal);
}

static void
test_roundtrip(void **state)
{
	const char *zones[] = { "Europe/Berlin", "Asia/Tokyo",
		"America/New_York", "Australia/Lord_Howe" };
	struct tm tm;

	for (size_t z = 0; z < 4; z++) {
		struct calendar *cal = unit_calendar(zones[z]);
		time_t t0 = unit_at(cal, "2026-01-01T00:00:00Z");
		for (time_t t = t0; t < t0 + 2 * 366 * 86400; t += 1799) {
			calendar_localtime(cal, t, &tm);
			assert_int_equal(calendar_mktime(cal, &tm), t);
		}
		calendar_free(cal);
	}
}

/* Compare with the C library's localtime for a zone over a range. */
static void
compare_libc(const char *zone, time_t from, time_t to, time_t step)
{
	struct calendar *cal = unit_calendar(zone);
	struct tm a, b;

	setenv("TZ", zone, 1);
	tzset();
	for (time_t t = from; t < to; t += step) {
		calendar_localtime(cal, t, &a);
		localtime_r(&t, &b);
		if (a.tm_gmtoff != b.tm_gmtoff || a.tm_hour != b.tm_hour ||
		    a.tm_mday != b.tm_mday || a.tm_mon != b.tm_mon ||
		    a.tm_year != b.tm_year || a.tm_wday != b.tm_wday ||
		    a.tm_yday != b.tm_yday || a.tm_min != b.tm_min ||
		    a.tm_sec != b.tm_sec || strcmp(a.tm_zone, b.tm_zone) != 0)
			fail_msg("%s at %lld: %s %ld vs libc %s %ld", zone,
			    (long long)t, a.tm_zone, a.tm_gmtoff, b.tm_zone,
			    b.tm_gmtoff);
	}
	unsetenv("TZ");
	tzset();
	calendar_free(cal);
}

static void
test_against_libc(void **state)
{
	const char *zones[] = { "Asia/Tokyo", "Europe/Berlin",
		"America/New_York", "Australia/Sydney", "Europe/Dublin",
		"America/Sao_Paulo", "Pacific/Chatham", "Asia/Kolkata",
		"Australia/Lord_Howe", "America/St_Johns", "UTC",
		"Africa/Casablanca", "America/Santiago", "Europe/London" };

	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		/* 1900 to 2100, and the years around now in detail. */
		compare_libc(zones[z], -2208988800LL, 4102444800LL,
		    86400 * 3 + 3607);
		compare_libc(zones[z], 1767225600LL, 1830297600LL, 911);
	}
}

static void
test_berlin_business(void **state)
{
	struct calendar *cal = unit_calendar("Europe/Berlin");

	/* Default hours over the spring switch weekend. */
	assert_string_equal(fmt(cal,
				calendar_add_business(cal,
				    unit_at(cal, "2026-03-27 17:00"),
				    9 * 3600)),
	    "2026-03-30 17:00:00 CEST");
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-03-23 00:00"),
			     unit_at(cal, "2026-03-30 18:00")),
	    54 * 3600);
	assert_string_equal(fmt(cal,
				calendar_add_business(cal,
				    unit_at(cal, "2026-10-23 19:00"),
				    9 * 3600)),
	    "2026-10-26 18:00:00 CET");
	calendar_free(cal);
}

static void
test_berlin_24h(void **state)
{
	struct calendar *cal = unit_calendar("Europe/Berlin");
	char *cause = NULL;
	time_t t;

	assert_int_equal(calendar_set_hours_spec(cal, "daily 00:00-24:00",
			     &cause),
	    0);
	assert_int_equal(calendar_business_day_seconds(cal), 86400);
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-03-29 00:00"),
			     unit_at(cal, "2026-03-30 00:00")),
	    23 * 3600);
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-10-25 00:00"),
			     unit_at(cal, "2026-10-26 00:00")),
	    25 * 3600);
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-03-23 00:00"),
			     unit_at(cal, "2026-03-30 00:00")),
	    (7 * 24 - 1) * 3600);
	assert_string_equal(fmt(cal,
				calendar_add_business(cal,
				    unit_at(cal, "2026-03-29 00:00"), 86400)),
	    "2026-03-30 01:00:00 CEST");
	assert_string_equal(fmt(cal,
				calendar_add_business(cal,
				    unit_at(cal, "2026-10-25 00:00"), 86400)),
	    "2026-10-25 23:00:00 CET");
	for (t = unit_at(cal, "2026-03-28 22:00");
	     t < unit_at(cal, "2026-03-29 05:00"); t += 600)
		assert_true(calendar_is_business_time(cal, t));
	for (t = unit_at(cal, "2026-10-24 22:00");
	     t < unit_at(cal, "2026-10-25 05:00"); t += 600)
		assert_true(calendar_is_business_time(cal, t));
	/* Hours that fall inside the skipped hour are empty that day. */
	assert_int_equal(calendar_set_hours_spec(cal, "sun 02:00-03:00",
			     &cause),
	    0);
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-03-29 00:00"),
			     unit_at(cal, "2026-03-30 00:00")),
	    0);
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-03-22 00:00"),
			     unit_at(cal, "2026-03-23 00:00")),
	    3600);
	/* ...and cover both passes through the repeated hour. */
	assert_int_equal(calendar_set_hours_spec(cal, "sun 02:00-03:00",
			     &cause),
	    0);
	assert_int_equal(calendar_business_between(cal,
			     unit_at(cal, "2026-10-25 00:00"),
			     unit_at(cal, "2026-10-26 00:00")),
	    2 * 3600);
	calendar_free(cal);
}

static void
test_parsers(void **state)
{
	struct calendar *cal = unit_calendar(NULL);
	unsigned mask;
	int min;
	time_t t;

	assert_int_equal(calendar_parse_days("mon-fri", &mask), 0);
	assert_int_equal(mask, 0x3e);
	assert_int_equal(calendar_parse_days("Sat,SUN", &mask), 0);
	assert_int_equal(mask, 0x41);
	assert_int_equal(calendar_parse_days("fri-mon", &mask), 0);
	assert_int_equal(mask, 0x63);
	assert_int_equal(calendar_parse_days("daily", &mask), 0);
	assert_int_equal(mask, 0x7f);
	assert_int_equal(calendar_parse_days("friday", &mask), 0);
	assert_int_equal(mask, 0x20);
	assert_int_equal(calendar_parse_days("fr", &mask), -1);
	assert_int_equal(calendar_parse_days("mon,", &mask), -1);
	assert_int_equal(calendar_parse_days("", &mask), -1);
	assert_int_equal(calendar_parse_days("mon-xyz", &mask), -1);
	assert_int_equal(calendar_parse_hhmm("24:00", &min), 0);
	assert_int_equal(min, 1440);
	assert_int_equal(calendar_parse_hhmm("9:05", &min), 0);
	assert_int_equal(min, 545);
	assert_int_equal(calendar_parse_hhmm("24:01", &min), -1);
	assert_int_equal(calendar_parse_hhmm("12:60", &min), -1);
	assert_int_equal(calendar_parse_hhmm("12: 5", &min), -1);
	assert_int_equal(calendar_parse_hhmm("1200", &min), -1);
	assert_int_equal(calendar_parse_hhmm("-1:00", &min), -1);
	assert_int_equal(calendar_parse_time(cal, "2026-11-27T10:00:00Z", &t),
	    0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(calendar_parse_time(cal, "2026-11-27T19:00:00.5+09:00",
			     &t),
	    0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(calendar_parse_time(cal, "2026-11-27 19:00", &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(calendar_parse_time(cal, "2026-11-28", &t), 0);
	assert_int_equal(t, 1795773600 + 5 * 3600);
	assert_int_equal(calendar_parse_time(cal, "2026-02-30", &t), -1);
	assert_int_equal(calendar_parse_time(cal, "2026-11-27T25:00Z", &t), -1);
	assert_int_equal(calendar_parse_time(cal, "2026-11-27T10:00+9", &t),
	    -1);
	assert_int_equal(calendar_parse_time(cal, "tomorrow", &t), -1);
	calendar_free(cal);
}

static void
test_extremes(void **state)
{
	struct calendar *cal = unit_calendar("Europe/Berlin");
	time_t ext[] = { INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1,
		INT64_MAX, (time_t)1 << 40, -((time_t)1 << 40) };
	struct tm tm;
	uint64_t x = 12345;

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		calendar_localtime(cal, ext[i], &tm);
		(void)calendar_mktime(cal, &tm);
		(void)calendar_utcoff(cal, ext[i]);
		(void)calendar_is_business_time(cal, ext[i]);
		(void)calendar_next_open(cal, ext[i]);
		(void)calendar_add_business(cal, ext[i], 3600);
		(void)calendar_business_between(cal, ext[i], 0);
		(void)calendar_business_between(cal, 0, ext[i]);
	}
	/* Random local fields, normalized without overflow. */
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = (int)(x % 2000000) - 1000000;
		tm.tm_mon = (int)(x >> 21) % 100000 - 50000;
		tm.tm_mday = (int)(x >> 13);
		tm.tm_hour = (int)(x >> 29);
		tm.tm_min = (int)(x >> 3);
		tm.tm_sec = (int)(x >> 31);
		tm.tm_isdst = (int)(x % 3) - 1;
		(void)calendar_mktime(cal, &tm);
	}
	tm.tm_year = tm.tm_mon = tm.tm_mday = tm.tm_hour = INT32_MAX;
	tm.tm_min = tm.tm_sec = INT32_MAX;
	(void)calendar_mktime(cal, &tm);
	tm.tm_year = tm.tm_mon = tm.tm_mday = tm.tm_hour = INT32_MIN;
	tm.tm_min = tm.tm_sec = INT32_MIN;
	(void)calendar_mktime(cal, &tm);
	calendar_free(cal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_hours),
		cmocka_unit_test(test_friday_evening),
		cmocka_unit_test(test_holiday_eve),
		cmocka_unit_test(test_year_end),
		cmocka_unit_test(test_between),
		cmocka_unit_test(test_next_open),
		cmocka_unit_test(test_custom_hours),
		cmocka_unit_test(test_jp_file_rules),
		cmocka_unit_test(test_holiday_errors),
		cmocka_unit_test(test_bad_zone),
		cmocka_unit_test(test_berlin_switch),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_against_libc),
		cmocka_unit_test(test_berlin_business),
		cmocka_unit_test(test_berlin_24h),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
