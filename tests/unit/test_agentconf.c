/* test_agentconf.c: the agent: section (mode, AgentX, SNMPv3 users) of the config. */
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

static char dir[] = "/tmp/sopd-agentconf.XXXXXX";

/* Load a config made of the given text; errs receives the problems. */
static struct config *
load(const char *text, struct errlist *errs)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/sopd.yaml", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return config_load(path, errs);
}

/* Whether some error ends with ":line:col: " followed by text. */
static int
has_error(const struct errlist *errs, int line, int col, const char *text)
{
	char want[512];
	size_t i;

	snprintf(want, sizeof(want), ":%d:%d: %s", line, col, text);
	for (i = 0; i < errs->n; i++) {
		if (strstr(errs->msgs[i], want) != NULL)
			return 1;
	}
	return 0;
}

/* Without an agent: section: master mode, the default socket, no users. */
static void
test_defaults(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = load("rules: []\n", &errs);

	assert_non_null(cfg);
	assert_int_equal(cfg->agent_mode, CONFIG_AGENT_MASTER);
	assert_string_equal(cfg->agentx_socket, "/var/agentx/master");
	assert_int_equal(cfg->agentx_ping, 5);
	assert_int_equal(cfg->nagent_users, 0);
	config_free(cfg);
	errlist_free(&errs);
}

/* A full agent: section with AgentX settings and three users. */
static void
test_users(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;

	cfg = load("agent:\n"
		   "  mode: agentx\n"
		   "  agentx_socket: tcp:127.0.0.1:705\n"
		   "  agentx_ping_interval: 2s\n"
		   "  users:\n"
		   "    - {name: nms, auth_pass: \"with \\\"quotes\\\"\", "
		   "priv_pass: privpass1}\n"
		   "    - {name: n2, auth: sha-512, auth_pass: 12345678, priv: "
		   "aes-256, priv_pass: 87654321}\n"
		   "    - {name: mon, auth: MD5, auth_pass: abcdefgh, level: "
		   "authnopriv}\n",
	    &errs);
	errlist_print(&errs, stderr);
	assert_non_null(cfg);
	assert_int_equal(cfg->agent_mode, CONFIG_AGENT_AGENTX);
	assert_string_equal(cfg->agentx_socket, "tcp:127.0.0.1:705");
	assert_int_equal(cfg->agentx_ping, 2);
	assert_int_equal(cfg->nagent_users, 3);
	assert_string_equal(cfg->agent_users[0].auth, "SHA");
	assert_string_equal(cfg->agent_users[0].priv, "AES");
	assert_string_equal(cfg->agent_users[0].auth_pass, "with \"quotes\"");
	assert_true(cfg->agent_users[0].authpriv);
	assert_string_equal(cfg->agent_users[1].auth, "SHA-512");
	assert_string_equal(cfg->agent_users[1].priv, "AES-256");
	assert_false(cfg->agent_users[2].authpriv);
	assert_null(cfg->agent_users[2].priv);
	assert_null(cfg->agent_users[2].priv_pass);
	config_free(cfg);
	errlist_free(&errs);
}

/* Every mistake is reported with its line and column. */
static void
test_errors(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;

	cfg = load("agent:\n"
		   "  mode: slave\n"
		   "  agentx_socket: tcp:10.0.0.1:705\n"
		   "  agentx_ping_interval: 0\n"
		   "  colour: blue\n"
		   "  users:\n"
		   "    - {name: a, auth: SHA-1, auth_pass: short, priv_pass: "
		   "12345678}\n"
		   "    - {name: b, auth_pass: 12345678}\n"
		   "    - {name: b, auth_pass: 12345678, priv_pass: 12345678, "
		   "x: 1}\n"
		   "    - {name: c, auth_pass: 12345678, level: authnopriv, "
		   "priv: DES}\n"
		   "    - {auth_pass: 12345678, priv_pass: 12345678}\n",
	    &errs);
	assert_null(cfg);
	errlist_print(&errs, stderr);
	assert_true(has_error(&errs, 2, 9, "mode must be master or agentx"));
	assert_true(has_error(&errs, 3, 18, "agentx_socket must be"));
	assert_true(has_error(&errs, 4, 25, "agentx_ping_interval must be"));
	assert_true(has_error(&errs, 5, 3, "unknown setting \"colour\""));
	assert_true(has_error(&errs, 7, 23, "auth must be one of"));
	assert_true(has_error(&errs, 7, 41, "auth_pass must be 8 to 128"));
	assert_true(has_error(&errs, 8, 7, "user with level authpriv needs"));
	assert_true(has_error(&errs, 9, 7, "user \"b\" is defined twice"));
	assert_true(has_error(&errs, 9, 59, "unknown setting \"x\""));
	assert_true(
	    has_error(&errs, 10, 7, "user with level authnopriv takes"));
	assert_true(has_error(&errs, 11, 7, "a user needs a name"));
	errlist_free(&errs);
}

/* A pass phrase never shows in an error message. */
static void
test_no_secret_in_errors(void **state)
{
	struct errlist errs = { 0 };
	size_t i;

	assert_null(load("agent:\n  users:\n"
			 "    - {name: a, auth_pass: secret7, priv_pass: "
			 "\"s3cr\\tet99\"}\n",
	    &errs));
	assert_int_equal(errs.n, 2);
	for (i = 0; i < errs.n; i++) {
		assert_null(strstr(errs.msgs[i], "secret7"));
		assert_null(strstr(errs.msgs[i], "s3cr"));
	}
	errlist_free(&errs);
}

int
main(void)
{
	char path[512];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_secret_in_errors),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(path, sizeof(path), "%s/sopd.yaml", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
