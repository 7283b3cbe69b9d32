/* test_schedule.c: when the SOP's jobs run: local times on the business calendar's days. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "calendar.h"
#include "schedule.h"
#include "yamlnode.h"

#define JP_FILE "firmware/holidays/jp.yaml"

static struct calendar *
cal_jp(void)
{
	struct calendar *cal;
	struct errlist errs = { NULL, 0 };
	char *cause = NULL;

	if ((cal = calendar_new("Asia/Tokyo", &cause)) == NULL)
		fail_msg("calendar_new: %s", cause);
	if (calendar_load_holidays(cal, JP_FILE, &errs) != 0) {
		errlist_print(&errs, stderr);
		fail_msg("cannot load %s", JP_FILE);
	}
	return cal;
}

/* A Tokyo local time "YYYY-MM-DD HH:MM" as an instant. */
static time_t
jst(const char *s)
{
	struct tm tm = { 0 };

	if (sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		&tm.tm_hour, &tm.tm_min) != 5)
		fail_msg("bad time %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm) - 9 * 3600;
}

#define NEXT(at, days, from) \
	schedule_occurrence(cal, (at), (days), jst(from), 1)
#define PREV(at, days, from) \
	schedule_occurrence(cal, (at), (days), jst(from), 0)

static void
test_days(void **state)
{
	struct calendar *cal = cal_jp();

	(void)state;
	/* daily: later today, else tomorrow; never the same instant. */
	assert_int_equal(NEXT("09:00", "daily", "2026-11-27 08:59"),
	    jst("2026-11-27 09:00"));
	assert_int_equal(NEXT("09:00", "daily", "2026-11-27 09:00"),
	    jst("2026-11-28 09:00"));
	/* weekdays: Friday after 10:00 -> Monday. */
	assert_int_equal(NEXT("10:00", "weekdays", "2026-11-27 10:30"),
	    jst("2026-11-30 10:00"));
	/* business: Monday 2026-11-23 is Labor Thanksgiving Day. */
	assert_int_equal(NEXT("10:00", "business", "2026-11-20 11:00"),
	    jst("2026-11-24 10:00"));
	assert_int_equal(NEXT("10:00", "weekdays", "2026-11-20 11:00"),
	    jst("2026-11-23 10:00"));
	/* mondays and the first of the month. */
	assert_int_equal(NEXT("10:00", "mondays", "2026-11-28 12:00"),
	    jst("2026-11-30 10:00"));
	assert_int_equal(NEXT("10:00", "first", "2026-11-02 12:00"),
	    jst("2026-12-01 10:00"));
	assert_int_equal(NEXT("10:00", "first", "2026-12-31 12:00"),
	    jst("2027-01-01 10:00"));
	/* The last occurrence at or before: what a restart catches up. */
	assert_int_equal(PREV("09:00", "daily", "2026-12-02 11:00"),
	    jst("2026-12-02 09:00"));
	assert_int_equal(PREV("09:00", "daily", "2026-12-02 08:00"),
	    jst("2026-12-01 09:00"));
	assert_int_equal(PREV("10:00", "mondays", "2026-12-02 11:00"),
	    jst("2026-11-30 10:00"));
	assert_int_equal(PREV("10:00", "business", "2026-11-23 23:00"),
	    jst("2026-11-20 10:00"));
	/* Bad specs. */
	assert_int_equal(NEXT("25:00", "daily", "2026-11-27 08:00"), 0);
	assert_int_equal(NEXT("09:00", "sundays", "2026-11-27 08:00"), 0);
	calendar_free(cal);
}

/* The text and HTML renderings of a report document. */
static void
test_render(void **state)
{
	json_t *doc;
	char *s;

	(void)state;
	doc = json_pack("{s:s, s:s, s:[{s:s, s:i}, {s:s, s:i}]}", "subject",
	    "sopd server check 2026-11-30 09:00 JST", "report", "server-check",
	    "hosts", "host", "web-1", "errors_24h", 3, "host", "<db>",
	    "errors_24h", 1);
	s = schedule_render_text(doc);
	assert_non_null(strstr(s, "sopd server check 2026-11-30 09:00 JST\n"));
	assert_non_null(strstr(s, "  - host: web-1, errors 24h: 3\n"));
	free(s);
	s = schedule_render_html(doc);
	assert_non_null(strstr(s, "<svg"));
	assert_non_null(strstr(s, "&lt;db&gt;"));
	assert_null(strstr(s, "<db>"));
	assert_null(strstr(s, "src="));
	free(s);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
