/* test_config.c: the configuration loader and its error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char dir[] = "/tmp/sopd-config.XXXXXX";

/* The development configuration loads and paths resolve next to it. */
static void
test_dev_config(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = config_load("firmware/sopd-dev.yaml", &errs);

	errlist_print(&errs, stderr);
	assert_non_null(cfg);
	assert_string_equal(cfg->syslog_udp, "127.0.0.1:5514");
	assert_string_equal(cfg->trap_listen, "127.0.0.1:1162");
	assert_string_equal(cfg->http_listen, "127.0.0.1:8080");
	assert_true(cfg->state_dir[0] == '/');
	assert_non_null(strstr(cfg->state_dir, "/firmware/../var"));
	assert_int_equal(cfg->max_message_size, 65536);
	assert_int_equal(cfg->nrule_paths, 1);
	assert_non_null(strstr(cfg->rule_paths[0], "/firmware/../rules"));
	assert_non_null(config_group(cfg, "core-network"));
	assert_null(config_group(cfg, "nope"));
	config_free(cfg);
}

/* Defaults apply to an empty file. */
static void
test_defaults(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg =
	    config_load(unit_write_file(dir, "empty.yaml", ""), &errs);

	assert_non_null(cfg);
	assert_int_equal(cfg->ncommunities, 1);
	assert_string_equal(cfg->communities[0], "public");
	assert_null(cfg->agent_listen);
	assert_int_equal(cfg->commit_interval_ms, 100);
	config_free(cfg);
}

/* Every mistake is reported, each at its line and column. */
static void
test_errors(void **state)
{
	struct errlist errs = { 0 };
	char *p, expect[600];
	struct config *cfg;

	p = unit_write_file(dir, "bad.yaml",
	    "syslog:\n"
	    "  udp: nowhere\n"
	    "  max_message_size: 12\n"
	    "colour: blue\n"
	    "store:\n"
	    "  synchronous: sometimes\n"
	    "traps: [1, 2]\n");
	cfg = config_load(p, &errs);
	assert_null(cfg);
	errlist_print(&errs, stderr);
	assert_int_equal(errs.n, 5);
	snprintf(expect, sizeof(expect),
	    "%s:2:8: expected an address as "
	    "host:port, not \"nowhere\"",
	    p);
	assert_string_equal(errs.msgs[0], expect);
	snprintf(expect, sizeof(expect),
	    "%s:3:21: expected an integer "
	    "between 480 and 1048576, not \"12\"",
	    p);
	assert_string_equal(errs.msgs[1], expect);
	assert_non_null(strstr(errs.msgs[2],
	    ":4:1: unknown setting "
	    "\"colour\""));
	assert_non_null(strstr(errs.msgs[3], ":6:16: synchronous must be "));
	assert_non_null(strstr(errs.msgs[4], ":7:8: traps must be a map"));
	errlist_free(&errs);
}

/* traps: users: one name per engine_id; engine_id checked, traps only. */
static void
test_trap_users(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;
	char *p;

	p = unit_write_file(dir, "users.yaml",
	    "traps:\n"
	    "  users:\n"
	    "    - {name: dev, auth_pass: devauthpass, priv_pass: devprivpass, "
	    "engine_id: 0x80001F8880AABB}\n"
	    "    - {name: dev, auth_pass: devauthpass, priv_pass: "
	    "devprivpass}\n"
	    "    - {name: mon, auth: SHA-512, auth_pass: monauthpass, level: "
	    "authnopriv}\n");
	cfg = config_load(p, &errs);
	errlist_print(&errs, stderr);
	assert_non_null(cfg);
	assert_int_equal(cfg->ntrap_users, 3);
	assert_string_equal(cfg->trap_users[0].engine_id, "0x80001f8880aabb");
	assert_null(cfg->trap_users[1].engine_id);
	assert_string_equal(cfg->trap_users[1].priv, "AES");
	assert_int_equal(cfg->trap_users[2].authpriv, 0);
	config_free(cfg);
	errlist_free(&errs);

	p = unit_write_file(dir, "badusers.yaml",
	    "traps:\n"
	    "  users:\n"
	    "    - {name: dev, auth_pass: devauthpass, priv_pass: devprivpass, "
	    "engine_id: 0x8000}\n"
	    "    - {name: mon, auth_pass: monauthpass, level: authnopriv}\n"
	    "    - {name: mon, auth_pass: monauthpass, level: authnopriv}\n"
	    "agent:\n"
	    "  users:\n"
	    "    - {name: nms, auth_pass: nmsauthpass, priv_pass: nmsprivpass, "
	    "engine_id: 0x80001F8880AABB}\n");
	assert_null(config_load(p, &errs));
	errlist_print(&errs, stderr);
	assert_int_equal(errs.n, 3);
	assert_non_null(
	    strstr(errs.msgs[0], ":3:78: engine_id must be 5 to 32 octets"));
	assert_non_null(
	    strstr(errs.msgs[1], ":5:7: user \"mon\" is defined twice"));
	assert_non_null(strstr(errs.msgs[2], "unknown setting \"engine_id\""));
	errlist_free(&errs);
}

/* YAML syntax errors carry the parser's position. */
static void
test_syntax_error(void **state)
{
	struct errlist errs = { 0 };
	char *p =
	    unit_write_file(dir, "syntax.yaml", "syslog:\n  udp: [127.0.0.1\n");

	assert_null(config_load(p, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], "syntax.yaml:"));
	assert_non_null(strstr(errs.msgs[0], "YAML syntax error"));
	errlist_free(&errs);
	assert_null(config_load("/nonexistent/sopd.yaml", &errs));
	assert_non_null(strstr(errs.msgs[0], "cannot open"));
	errlist_free(&errs);
}

/* Addresses split into host and port, IPv6 too. */
static void
test_split_addr(void **state)
{
	char h[64], p[16];

	assert_int_equal(config_split_addr("127.0.0.1:514", h, 64, p, 16), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_string_equal(p, "514");
	assert_int_equal(config_split_addr("[::1]:8080", h, 64, p, 16), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(config_split_addr("host", h, 64, p, 16), -1);
	assert_int_equal(config_split_addr("h:99999", h, 64, p, 16), -1);
	assert_int_equal(config_split_addr(":1", h, 64, p, 16), -1);
	assert_int_equal(config_split_addr("h:1x", h, 64, p, 16), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_split_addr),
		cmocka_unit_test(test_trap_users),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (unit_rmtree(dir) != 0)
		rc = 1;
	return rc;
}
