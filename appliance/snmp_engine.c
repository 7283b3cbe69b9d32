/* snmp_engine.c: our SNMP engineID and engineBoots, kept under state_dir. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "config.h"
#include "enterprise.h"
#include "log.h"
#include "snmp_engine.h"
#include "xmalloc.h"

#define SNMP_ENGINE_BOOTS_MAX 2147483647L /* RFC 3414 engineBoots */

/* Our engineID and the engineBoots of the last run, kept under state_dir. */
struct snmp_engine {
	u_char id[32];
	size_t idlen;
	long boots;
};

/* Parse the engine file's text; 0 when it holds a usable engineID. */
static int
snmp_engine_parse(char *text, struct snmp_engine *e)
{
	char *line, *last, hex[65];
	long boots = -1;
	size_t i;

	e->idlen = 0;
	for (line = strtok_r(text, "\n", &last); line != NULL;
	     line = strtok_r(NULL, "\n", &last)) {
		if (sscanf(line, "engineID 0x%64[0-9a-fA-F]", hex) == 1 &&
		    strlen(hex) % 2 == 0 && strlen(hex) >= 10) {
			e->idlen = strlen(hex) / 2;
			for (i = 0; i < e->idlen; i++)
				sscanf(hex + 2 * i, "%2hhx", &e->id[i]);
		} else if (sscanf(line, "engineBoots %ld", &boots) != 1)
			return -1;
	}
	if (e->idlen == 0 || boots < 0 || boots > SNMP_ENGINE_BOOTS_MAX)
		return -1;
	e->boots = boots;
	return 0;
}

/* Read the engine file: 1 read, 0 absent or unusable (a new engine). */
static int
snmp_engine_read(const char *path, struct snmp_engine *e)
{
	char text[512];
	size_t len;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			log_warn("snmp: %s", path);
		return 0;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	if (snmp_engine_parse(text, e) != 0) {
		log_warnx("snmp: %s is malformed: starting a new engineID",
		    path);
		return 0;
	}
	return 1;
}

/*
 * A new engineID (RFC 3411): our enterprise with the high bit set, format
 * 5 (octets), then 12 random octets; a new engineID starts engineBoots.
 */
static int
snmp_engine_new(struct snmp_engine *e)
{
	e->id[0] = 0x80 | ((SOP_ENTERPRISE >> 24) & 0x7f);
	e->id[1] = (SOP_ENTERPRISE >> 16) & 0xff;
	e->id[2] = (SOP_ENTERPRISE >> 8) & 0xff;
	e->id[3] = SOP_ENTERPRISE & 0xff;
	e->id[4] = 5;
	e->idlen = 17;
	e->boots = 0;
	return getentropy(e->id + 5, e->idlen - 5);
}

/* The engineID as net-snmp's octet-string notation, 0x followed by hex. */
static void
snmp_engine_hex(const struct snmp_engine *e, char *buf, size_t size)
{
	size_t i, off;

	off = snprintf(buf, size, "0x");
	for (i = 0; i < e->idlen && off + 2 < size; i++)
		off += snprintf(buf + off, size - off, "%02x", e->id[i]);
}

/* Replace the engine file with this run's boots: write, sync, rename. */
static int
snmp_engine_write(const char *path, const struct snmp_engine *e, long boots)
{
	char hex[80], *tmp;
	FILE *f;
	int fd, ok;

	snmp_engine_hex(e, hex, sizeof(hex));
	xasprintf(&tmp, "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		free(tmp);
		return -1;
	}
	ok = fprintf(f, "engineID %s\nengineBoots %ld\n", hex, boots) > 0 &&
	    fflush(f) == 0 && fsync(fd) == 0;
	ok = fclose(f) == 0 && ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	free(tmp);
	return ok ? 0 : -1;
}

/* Whether this run's engineBoots was saved (see snmp_engine_setup). */
static int snmp_engine_saved;

int
snmp_engine_persisted(void)
{
	return snmp_engine_saved;
}

/*
 * SNMPv3 needs a stable engineID and an engineBoots that grows with every
 * start (RFC 3414 2.2): keep both in <state_dir>/snmp/engine and hand them
 * to net-snmp as config lines (it adds one to engineBoots). net-snmp's own
 * persistence stays off: it would also store USM keys and re-read users.
 */
int
snmp_engine_setup(const struct config *cfg, char **cause)
{
	struct snmp_engine e;
	char *dir, *path, hex[80], line[128];
	int rc = -1;

	xasprintf(&dir, "%s/snmp",
	    cfg->state_dir != NULL ? cfg->state_dir : ".");
	xasprintf(&path, "%s/engine", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		log_warnx("snmp: %s: %s", dir, strerror(errno));
	if (snmp_engine_read(path, &e) == 0 && snmp_engine_new(&e) != 0) {
		xasprintf(cause, "getentropy: %s", strerror(errno));
		goto out;
	}
	if (e.boots >= SNMP_ENGINE_BOOTS_MAX)
		e.boots = SNMP_ENGINE_BOOTS_MAX - 1; /* stays at max */
	/*
	 * An engine file that cannot be written stops nothing: syslog, traps
	 * and HTTP run, SNMPv3 with this engineID and boots; the next start
	 * may count the same boots again (stats: snmp.engine_persist false).
	 */
	snmp_engine_saved = snmp_engine_write(path, &e, e.boots + 1) == 0;
	if (!snmp_engine_saved)
		log_warnx("snmp: cannot save %s: %s: running without a saved "
			  "engineBoots (restarts cannot be counted)",
		    path, strerror(errno));
	snmp_engine_hex(&e, hex, sizeof(hex));
	snprintf(line, sizeof(line), "exactEngineID %s", hex);
	netsnmp_config_remember(line);
	snprintf(line, sizeof(line), "oldEngineID %s", hex);
	netsnmp_config_remember(line);
	snprintf(line, sizeof(line), "engineBoots %ld", e.boots);
	netsnmp_config_remember(line);
	rc = 0;
out:
	free(path);
	free(dir);
	return rc;
}
