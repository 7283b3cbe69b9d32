/*
 * fwctl.c: sopctl firmware, a thin layer over RAUC's command line (no
 * updater of our own).
 *
 *   status          the running firmware (/etc/sopd-firmware) and
 *                   `rauc status`: booted slot, which is good, which next;
 *                   and "fallback: ..." when the other slot holds an
 *                   update that failed its first boot (marked bad)
 *   install BUNDLE  checks the bundle first with `rauc info` (signature
 *                   against the keyring of RAUC's system.conf, size,
 *                   compatible) and refuses one older than the running
 *                   firmware (dpkg's version order), then `rauc install`
 *                   writes the other slot and makes it the next boot.
 *
 * RAUC's own pre-install handler (firmware/image/firmware-pre-install)
 * refuses a downgrade too, for installs that do not go through sopctl;
 * the payload itself is checked by dm-verity while rauc reads it.
 * Environment: SOPD_RAUC_CONF (another system.conf), SOPD_FIRMWARE_RELEASE
 * (another release file), SOPD_RAUC (another rauc program).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwctl.h"

#define FW_RELEASE "/etc/sopd-firmware"
#define FW_OUTMAX  (256 * 1024)

struct fw_run {
	char *out; /* stdout and stderr, NUL-terminated */
	size_t len;
	int status; /* exit code, or -1 */
};

static const char *
fw_rauc(void)
{
	const char *r = getenv("SOPD_RAUC");

	return r != NULL && *r != '\0' ? r : "rauc";
}

/* argv for rauc: rauc [--conf=FILE] ARGS...; the strings are static or
 * the caller's. */
static int
fw_argv(char **av, size_t max, char **args, char *confopt, size_t conflen)
{
	const char *conf = getenv("SOPD_RAUC_CONF");
	size_t n = 0;

	av[n++] = (char *)fw_rauc();
	if (conf != NULL && *conf != '\0') {
		snprintf(confopt, conflen, "--conf=%s", conf);
		av[n++] = confopt;
	}
	for (; *args != NULL && n + 1 < max; args++)
		av[n++] = *args;
	av[n] = NULL;
	return 0;
}

/* Run av to the end; with r, collect its stdout and stderr in r->out. */
static int
fw_exec(char **av, struct fw_run *r)
{
	int fd[2] = { -1, -1 }, st;
	pid_t pid;
	ssize_t n;

	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		r->status = -1;
		if ((r->out = malloc(FW_OUTMAX + 1)) == NULL ||
		    pipe(fd) == -1) {
			free(r->out);
			r->out = NULL;
			return -1;
		}
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		if (r != NULL) {
			close(fd[0]);
			close(fd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		if (r != NULL) {
			dup2(fd[1], 1);
			dup2(fd[1], 2);
			close(fd[0]);
			close(fd[1]);
		}
		execvp(av[0], av);
		fprintf(stderr, "sopctl: %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	if (r != NULL) {
		close(fd[1]);
		for (;;) {
			n = read(fd[0], r->out + r->len, FW_OUTMAX - r->len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			r->len += n;
			if (r->len == FW_OUTMAX) {
				char sink[4096];

				while (read(fd[0], sink, sizeof(sink)) > 0)
					;
				break;
			}
		}
		close(fd[0]);
		r->out[r->len] = '\0';
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (r != NULL)
		r->status = st;
	return st;
}

/* The value of NAME='...' in rauc's shell output, or NULL; malloc'd. */
static char *
fw_shell_var(const char *out, const char *name)
{
	size_t nl = strlen(name);
	const char *p, *e;
	char *v;

	for (p = out; p != NULL && *p != '\0';
	     p = strchr(p, '\n'), p += p != NULL) {
		if (strncmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		if (*p == '\'')
			p++;
		e = p + strcspn(p, "'\n");
		if ((v = strndup(p, e - p)) == NULL)
			return NULL;
		return v;
	}
	return NULL;
}

/* The running firmware's version (VERSION= in the release file), or NULL. */
static char *
fw_running_version(void)
{
	const char *path = getenv("SOPD_FIRMWARE_RELEASE");
	char line[256];
	char *v = NULL;
	FILE *f;

	if (path == NULL || *path == '\0')
		path = FW_RELEASE;
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (v == NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VERSION=", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			v = strdup(line + 8);
		}
	}
	fclose(f);
	return v;
}

/* Print rauc's messages that say what went wrong (its error lines, not
 * the progress lines), indented. */
static void
fw_print_errors(const char *out)
{
	const char *p = out, *e;
	int any = 0;

	for (; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		if (e == p || strncmp(p, "rauc-Message:", 13) == 0 ||
		    strncmp(p, "RAUC_", 5) == 0)
			continue;
		fprintf(stderr, "  %.*s\n", (int)(e - p), p);
		any = 1;
	}
	if (!any)
		fprintf(stderr, "  (rauc said nothing more)\n");
}

/* Whether version a < b in dpkg's order (dpkg --compare-versions). */
static int
fw_older(const char *a, const char *b)
{
	char *av[] = { "dpkg", "--compare-versions", (char *)a, "lt", (char *)b,
		NULL };

	return fw_exec(av, NULL) == 0;
}

/* The value of rauc's shell variable NAME_I, or NULL; malloc'd. */
static char *
fw_slot_var(const char *out, const char *name, int i)
{
	char key[64];

	snprintf(key, sizeof(key), "%s_%d", name, i);
	return fw_shell_var(out, key);
}

/* Whether slot I of rauc's shell status is the fallback of a failed
 * update: not booted, marked bad (its health check failed, or it never
 * reached it), yet holding a bundle RAUC installed. Prints so. */
static int
fw_slot_fallback(const char *out, int i, const char *booted)
{
	char *name, *state, *boot, *ver;
	int fell = 0;

	name = fw_slot_var(out, "RAUC_SLOT_BOOTNAME", i);
	state = fw_slot_var(out, "RAUC_SLOT_STATE", i);
	boot = fw_slot_var(out, "RAUC_SLOT_BOOT_STATUS", i);
	ver = fw_slot_var(out, "RAUC_SLOT_STATUS_BUNDLE_VERSION", i);
	if (name != NULL && *name != '\0' && strcmp(name, booted) != 0 &&
	    (state == NULL || strcmp(state, "booted") != 0) && boot != NULL &&
	    strcmp(boot, "bad") == 0 && ver != NULL && *ver != '\0') {
		printf("fallback: firmware %s in slot %s failed its first "
		       "boot (marked bad); slot %s runs the previous "
		       "firmware\n",
		    ver, name, booted);
		fell = 1;
	}
	free(name);
	free(state);
	free(boot);
	free(ver);
	return fell;
}

/* After the slots: one line when the boot loader went back to the booted
 * slot because the updated one failed. */
static void
fw_print_fallback(void)
{
	char *args[] = { "status", "--detailed", "--output-format=shell",
		NULL };
	char *av[8], conf[1024], *booted;
	struct fw_run r;
	int i;

	fw_argv(av, 8, args, conf, sizeof(conf));
	if (fw_exec(av, &r) != 0) {
		free(r.out);
		return;
	}
	booted = fw_shell_var(r.out, "RAUC_SYSTEM_BOOTED_BOOTNAME");
	for (i = 1; booted != NULL && *booted != '\0' && i <= 16; i++)
		fw_slot_fallback(r.out, i, booted);
	free(booted);
	free(r.out);
}

static int
fw_status(void)
{
	char *args[] = { "status", "--detailed", NULL };
	char *av[8], conf[1024];
	char *v = fw_running_version();

	printf("firmware: %s\n", v != NULL ? v : "unknown (no " FW_RELEASE ")");
	free(v);
	fw_argv(av, 8, args, conf, sizeof(conf));
	if (fw_exec(av, NULL) != 0)
		return 1;
	fw_print_fallback();
	return 0;
}

/* Check BUNDLE with rauc info; on success set *version. */
static int
fw_check(const char *bundle, char **version)
{
	char *args[] = { "info", "--output-format=shell", (char *)bundle,
		NULL };
	char *av[8], conf[1024];
	struct fw_run r;

	*version = NULL;
	if (access(bundle, R_OK) == -1) {
		fprintf(stderr, "sopctl: firmware: %s: %s\n", bundle,
		    strerror(errno));
		return -1;
	}
	fw_argv(av, 8, args, conf, sizeof(conf));
	if (fw_exec(av, &r) == -1 && r.out == NULL) {
		fprintf(stderr, "sopctl: firmware: cannot run %s: %s\n",
		    fw_rauc(), strerror(errno));
		return -1;
	}
	if (r.status != 0) {
		fprintf(stderr,
		    "sopctl: firmware: %s refused: not a bundle "
		    "signed by a trusted key, or damaged (rauc info):\n",
		    bundle);
		fw_print_errors(r.out);
		free(r.out);
		return -1;
	}
	*version = fw_shell_var(r.out, "RAUC_MF_VERSION");
	free(r.out);
	if (*version == NULL || **version == '\0') {
		fprintf(stderr,
		    "sopctl: firmware: %s refused: the bundle has "
		    "no version\n",
		    bundle);
		free(*version);
		*version = NULL;
		return -1;
	}
	return 0;
}

static int
fw_install(const char *bundle)
{
	char *args[] = { "install", (char *)bundle, NULL };
	char *av[8], conf[1024];
	char *version, *running;
	int rc;

	if (fw_check(bundle, &version) == -1)
		return 1;
	running = fw_running_version();
	if (running != NULL && fw_older(version, running)) {
		fprintf(stderr,
		    "sopctl: firmware: %s refused: version %s is "
		    "older than the running firmware %s (downgrade)\n",
		    bundle, version, running);
		free(version);
		free(running);
		return 1;
	}
	printf("installing firmware %s (running %s) into the other slot\n",
	    version, running != NULL ? running : "unknown");
	free(version);
	free(running);
	fw_argv(av, 8, args, conf, sizeof(conf));
	if ((rc = fw_exec(av, NULL)) != 0) {
		fprintf(stderr,
		    "sopctl: firmware: rauc install failed "
		    "(exit %d): the running slot is unchanged\n",
		    rc);
		return 1;
	}
	printf("installed: reboot to run it; the new slot is marked good once "
	       "sopd answers /healthz, otherwise the previous slot boots "
	       "again\n");
	return 0;
}

int
fwctl_main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "status") == 0)
		return fw_status();
	if (argc == 3 && strcmp(argv[1], "install") == 0)
		return fw_install(argv[2]);
	fprintf(stderr, "usage: sopctl firmware status | install BUNDLE\n");
	return 2;
}
