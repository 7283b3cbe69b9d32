/* test_perfstat.c: the performance report's figures: avg/p95/max, sustained load, days to full. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include <jansson.h>

#include "perfstat.h"

/* 1..100: average 50.5, p95 95 (nearest rank), max 100, in any order. */
static void
test_summary(void **state)
{
	double v[100];
	struct perfstat_sum s;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		v[i] = (double)((i * 37) % 100 + 1);
	assert_int_equal(perfstat_summary(v, 100, &s), 0);
	assert_true(fabs(s.avg - 50.5) < 1e-9);
	assert_true(s.p95 == 95.0);
	assert_true(s.max == 100.0);
	assert_int_equal(perfstat_summary(v, 0, &s), -1);
	v[0] = 7;
	assert_int_equal(perfstat_summary(v, 1, &s), 0);
	assert_true(s.p95 == 7 && s.max == 7 && s.avg == 7);
}

/* Five-minute samples: 20 minutes at 95% in a row beats two shorter runs. */
static void
test_sustained(void **state)
{
	double t[10], v[10] = { 95, 95, 10, 95, 95, 95, 95, 95, 10, 95 };
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		t[i] = 1000 + i * 300;
	assert_true(perfstat_sustained(t, v, 10, 90) == 1500);
	assert_true(perfstat_sustained(t, v, 10, 99) == 0);
}

/* A disk growing 1% a day from 60% is full in 30 days after 10 at 70%. */
static void
test_days_to_full(void **state)
{
	double t[11], v[11], d;
	int i;

	(void)state;
	for (i = 0; i < 11; i++) {
		t[i] = 1796000000.0 + i * 86400.0;
		v[i] = 60 + i;
	}
	d = perfstat_days_to_full(t, v, 11, 100);
	assert_true(fabs(d - 30) < 1e-6);
	for (i = 0; i < 11; i++)
		v[i] = 80 - i * 0.5; /* shrinking: never full */
	assert_true(perfstat_days_to_full(t, v, 11, 100) == -1);
	v[10] = 100; /* full now */
	assert_true(perfstat_days_to_full(t, v, 11, 100) == 0);
	assert_true(perfstat_days_to_full(t, v, 1, 100) == -1);
}

/* The report's object: the change against last week's average. */
static void
test_metric_json(void **state)
{
	double t[4] = { 0, 300, 600, 900 }, v[4] = { 40, 60, 40, 60 };
	double prev[2] = { 40, 40 };
	json_t *o;

	(void)state;
	o = perfstat_metric_json(t, v, 4, prev, 2, 50);
	assert_true(json_real_value(json_object_get(o, "avg")) == 50);
	assert_true(json_real_value(json_object_get(o, "max")) == 60);
	assert_true(fabs(json_real_value(json_object_get(o, "change_pct")) -
			25) < 1e-9);
	assert_true(json_real_value(json_object_get(o, "high_seconds")) == 300);
	json_decref(o);
	o = perfstat_metric_json(t, v, 4, NULL, 0, 0);
	assert_true(json_is_null(json_object_get(o, "change_pct")));
	assert_null(json_object_get(o, "high_seconds"));
	json_decref(o);
	o = perfstat_metric_json(t, v, 0, NULL, 0, 0);
	assert_true(json_is_null(o));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_sustained),
		cmocka_unit_test(test_days_to_full),
		cmocka_unit_test(test_metric_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
