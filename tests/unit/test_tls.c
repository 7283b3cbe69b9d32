/* test_tls.c: the TLS input's settings and certificate checks. */
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
#include "listen.h"

static char dir[] = "/tmp/sopd-tls.XXXXXX";

/* Write text to a file in the temp dir and return its path. */
static char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Load a config from text; errs gets the problems. */
static struct config *
load(const char *text, struct errlist *errs)
{
	return config_load(write_file("sopd.yaml", text), errs);
}

/* TLS is off by default, with a 10 s handshake bound. */
static void
test_defaults(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg = load("", &errs);

	assert_non_null(cfg);
	assert_null(cfg->syslog_tls);
	assert_null(cfg->tls_ca);
	assert_int_equal(cfg->tls_handshake_timeout, 10);
	assert_int_equal(tls_check(cfg, NULL), 0);
	config_free(cfg);
}

/* tls without a certificate and key is an error at the tls key. */
static void
test_needs_cert(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;

	cfg = load("syslog:\n  udp: 127.0.0.1:5514\n  tls: 127.0.0.1:6514\n",
	    &errs);
	assert_null(cfg);
	assert_int_equal(errs.n, 2);
	assert_non_null(strstr(errs.msgs[0],
	    "sopd.yaml:3:3: syslog tls "
	    "needs tls_cert"));
	assert_non_null(strstr(errs.msgs[1], "needs tls_key"));
	errlist_free(&errs);
}

/* Settings parse; relative paths stay relative; bad values are errors. */
static void
test_settings(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;

	cfg = load("syslog:\n  tls: 127.0.0.1:6514\n  tls_cert: a.pem\n"
		   "  tls_key: a.key\n  tls_ca: ca.pem\n"
		   "  tls_handshake_timeout: 3\n",
	    &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->syslog_tls, "127.0.0.1:6514");
	assert_string_equal(cfg->tls_cert, "a.pem");
	assert_string_equal(cfg->tls_ca, "ca.pem");
	assert_int_equal(cfg->tls_handshake_timeout, 3);
	config_free(cfg);

	cfg = load("syslog:\n  tls_handshake_timeout: 0\n  tls_bogus: 1\n",
	    &errs);
	assert_null(cfg);
	assert_int_equal(errs.n, 2);
	assert_non_null(strstr(errs.msgs[1], "unknown setting \"tls_bogus\""));
	errlist_free(&errs);
}

/* tls_check names a certificate file that does not load. */
static void
test_check_files(void **state)
{
	struct errlist errs = { 0 };
	struct config *cfg;
	char *cause = NULL;

	write_file("bad.pem", "not a certificate\n");
	cfg = load("syslog:\n  tls: 127.0.0.1:6514\n  tls_cert: bad.pem\n"
		   "  tls_key: missing.key\n",
	    &errs);
	assert_non_null(cfg);
	assert_int_equal(tls_check(cfg, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "tls_cert "));
	assert_non_null(strstr(cause, "/bad.pem"));
	free(cause);
	config_free(cfg);
}

/* Remove the temp dir's files. */
static int
teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_needs_cert),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_check_files),
	};

	if (mkdtemp(dir) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, teardown);
}
