/* test_keytab.c: the bounded (rule, key) table: find, LRU order, eviction, case folding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keytab.h"

/* A user struct that embeds the table's entry. */
struct item {
	int value;
	struct keytab_entry ent;
};

static int freed;

/* Count and free an item the table let go of. */
static void
item_free_cb(struct keytab_entry *e, void *arg)
{
	struct item *it = keytab_item(e, struct item, ent);

	assert_null(e->rule);
	freed += it->value >= 0;
	free(it);
}

/* Insert a new item with a value. */
static struct item *
add(struct keytab *kt, const char *rule, const char *key, int value)
{
	struct item *it = calloc(1, sizeof(*it));

	assert_non_null(it);
	it->value = value;
	keytab_insert(kt, &it->ent, rule, key);
	return it;
}

/* The value stored under (rule, key), -1 if absent. */
static int
value(struct keytab *kt, const char *rule, const char *key)
{
	struct keytab_entry *e = keytab_find(kt, rule, key);

	return e != NULL ? keytab_item(e, struct item, ent)->value : -1;
}

/* Find, remove and the rule/key separation. */
static void
test_basic(void **state)
{
	struct keytab *kt = keytab_new(100, 0, item_free_cb, NULL);
	struct item *it;

	freed = 0;
	add(kt, "r", "k", 1);
	it = add(kt, "r", "k2", 2);
	add(kt, "r2", "k", 3);
	add(kt, "rk", "", 4);
	assert_int_equal(keytab_count(kt), 4);
	assert_int_equal(value(kt, "r", "k"), 1);
	assert_int_equal(value(kt, "r2", "k"), 3);
	assert_int_equal(value(kt, "rk", ""), 4);
	assert_int_equal(value(kt, "r", "K"), -1);
	assert_int_equal(value(kt, "", "rk"), -1);
	assert_string_equal(it->ent.rule, "r");
	assert_string_equal(it->ent.key, "k2");
	assert_ptr_equal(keytab_find_hash(kt, keytab_hash(kt, "r", "k2")),
	    &it->ent);
	keytab_remove(kt, &it->ent);
	assert_int_equal(freed, 1);
	assert_int_equal(value(kt, "r", "k2"), -1);
	assert_int_equal(keytab_count(kt), 3);
	assert_int_equal(keytab_evicted(kt), 0);
	keytab_free(kt);
	assert_int_equal(freed, 4);
}

/* At the bound the least recently used goes; touch protects an entry. */
static void
test_lru(void **state)
{
	struct keytab *kt = keytab_new(3, 0, item_free_cb, NULL);
	struct keytab_entry *e;
	int order[3], n = 0;

	freed = 0;
	add(kt, "r", "a", 1);
	add(kt, "r", "b", 2);
	add(kt, "r", "c", 3);
	keytab_touch(kt, keytab_find(kt, "r", "a"));
	add(kt, "r", "d", 4); /* evicts b */
	assert_int_equal(keytab_count(kt), 3);
	assert_int_equal(keytab_evicted(kt), 1);
	assert_int_equal(value(kt, "r", "b"), -1);
	for (e = keytab_first(kt); e != NULL; e = keytab_next(e))
		order[n++] = keytab_item(e, struct item, ent)->value;
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 4);
	keytab_set_max(kt, 1); /* evicts c and a */
	assert_int_equal(keytab_count(kt), 1);
	assert_int_equal(keytab_evicted(kt), 3);
	assert_int_equal(value(kt, "r", "d"), 4);
	assert_int_equal(keytab_max(kt), 1);
	keytab_free(kt);
	assert_int_equal(freed, 4);
}

/* Many keys: the buckets grow, every key stays findable, the bound holds. */
static void
test_many(void **state)
{
	struct keytab *kt = keytab_new(5000, 0, item_free_cb, NULL);
	char key[32];
	int i, found = 0;

	freed = 0;
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		add(kt, "rule", key, i);
	}
	assert_int_equal(keytab_count(kt), 5000);
	assert_int_equal(keytab_evicted(kt), 15000);
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		found += value(kt, "rule", key) == i;
	}
	assert_int_equal(found, 5000);
	assert_int_equal(value(kt, "rule", "key-14999"), -1);
	assert_int_equal(value(kt, "rule", "key-15000"), 15000);
	keytab_free(kt);
	assert_int_equal(freed, 20000);
}

/* With KEYTAB_CASEFOLD keys (host names) compare and hash ignoring case. */
static void
test_casefold(void **state)
{
	struct keytab *kt = keytab_new(10, KEYTAB_CASEFOLD, item_free_cb, NULL);

	add(kt, "", "Switch-1", 1);
	assert_int_equal(value(kt, "", "switch-1"), 1);
	assert_int_equal(value(kt, "", "SWITCH-1"), 1);
	assert_int_equal(value(kt, "x", "switch-1"), -1);
	assert_true(keytab_hash(kt, "", "SW") == keytab_hash(kt, "", "sw"));
	keytab_free(kt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_casefold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
