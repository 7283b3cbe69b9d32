/* mibnames.c: SNMP object names to numeric OIDs, built-in table first, then MIB files. */
#include "mibnames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "log.h"
#include "xmalloc.h"

/*
 * Debian ships none of the IETF MIB modules, so the names a rule author
 * needs most are known without any MIB file.
 */
static const struct {
	const char *module;
	const char *name;
	const char *oid;
} mibnames_builtin[] = {
	{ "SNMPv2-MIB", "coldStart", "1.3.6.1.6.3.1.1.5.1" },
	{ "SNMPv2-MIB", "warmStart", "1.3.6.1.6.3.1.1.5.2" },
	{ "IF-MIB", "linkDown", "1.3.6.1.6.3.1.1.5.3" },
	{ "IF-MIB", "linkUp", "1.3.6.1.6.3.1.1.5.4" },
	{ "SNMPv2-MIB", "authenticationFailure", "1.3.6.1.6.3.1.1.5.5" },
	{ "SNMPv2-MIB", "snmpTrapOID", "1.3.6.1.6.3.1.1.4.1" },
	{ "SNMPv2-MIB", "sysUpTime", "1.3.6.1.2.1.1.3" },
	{ "IF-MIB", "ifIndex", "1.3.6.1.2.1.2.2.1.1" },
	{ "IF-MIB", "ifDescr", "1.3.6.1.2.1.2.2.1.2" },
	{ "IF-MIB", "ifAdminStatus", "1.3.6.1.2.1.2.2.1.7" },
	{ "IF-MIB", "ifOperStatus", "1.3.6.1.2.1.2.2.1.8" },
	{ "IF-MIB", "ifName", "1.3.6.1.2.1.31.1.1.1.1" },
	{ "IF-MIB", "ifAlias", "1.3.6.1.2.1.31.1.1.1.18" },
	{ "SNMP-COMMUNITY-MIB", "snmpTrapAddress", "1.3.6.1.6.3.18.1.3.0" },
};

static int mibnames_loaded; /* net-snmp's MIB tree is ours */
static char
    *mibnames_dirs; /* directories already added, each between newlines */

/* Whether s is a dotted list of numbers (leading dot allowed). */
static int
mibnames_numeric(const char *s)
{
	int digit = 0;

	if (*s == '.')
		s++;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digit = 1;
		else if (*s == '.' && digit)
			digit = 0;
		else
			return 0;
	}
	return digit;
}

/* Look a name up in the built-in table ("MODULE::" must then agree). */
static const char *
mibnames_table(const char *name, size_t len)
{
	const char *sep, *mod = NULL;
	size_t i, modlen = 0;

	if ((sep = strstr(name, "::")) != NULL && (size_t)(sep - name) < len) {
		mod = name;
		modlen = (size_t)(sep - name);
		len -= modlen + 2;
		name = sep + 2;
	}
	for (i = 0; i < sizeof(mibnames_builtin) / sizeof(*mibnames_builtin);
	     i++) {
		if (strlen(mibnames_builtin[i].name) != len ||
		    strncmp(mibnames_builtin[i].name, name, len) != 0)
			continue;
		if (mod != NULL &&
		    (strlen(mibnames_builtin[i].module) != modlen ||
			strncmp(mibnames_builtin[i].module, mod, modlen) != 0))
			continue;
		return mibnames_builtin[i].oid;
	}
	return NULL;
}

/* Whether a directory was already given to net-snmp. */
static int
mibnames_has_dir(const char *dir)
{
	const char *p;
	size_t len = strlen(dir);

	for (p = mibnames_dirs; p != NULL && (p = strstr(p, dir)) != NULL; p++)
		if (p[-1] == '\n' && p[len] == '\n')
			return 1;
	return 0;
}

/* Load net-snmp's MIB tree with every module of the given directories. */
static void
mibnames_load(char *const *dirs, size_t ndirs)
{
	size_t i, added = 0;
	char *joined;

	if (!mibnames_loaded) {
		netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_MIB_WARNINGS, 0);
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_MIB_ERRORS, 0);
		snmp_set_save_descriptions(0);
		netsnmp_init_mib();
		mibnames_loaded = 1;
		added = 1;
	}
	for (i = 0; i < ndirs; i++) {
		if (mibnames_has_dir(dirs[i]))
			continue;
		if (add_mibdir(dirs[i]) < 0)
			log_warnx("MIB directory %s: cannot read", dirs[i]);
		xasprintf(&joined, "%s%s\n",
		    mibnames_dirs ? mibnames_dirs : "\n", dirs[i]);
		free(mibnames_dirs);
		mibnames_dirs = joined;
		added = 1;
	}
	if (added)
		read_all_mibs();
}

/*
 * Load the MIB tree with net-snmp's own log handlers muted: its parser
 * complains about every module it cannot find (Debian ships no IETF MIBs),
 * and an unknown name is reported by the rule loader anyway.
 */
static void
mibnames_load_quietly(char *const *dirs, size_t ndirs)
{
	netsnmp_log_handler *h, *null, *muted[32];
	size_t n = 0, i;

	for (h = get_logh_head(); h != NULL && n < 32; h = h->next) {
		if (h->enabled) {
			netsnmp_disable_this_loghandler(h);
			muted[n++] = h;
		}
	}
	null = netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
	mibnames_load(dirs, ndirs);
	if (null != NULL)
		netsnmp_remove_loghandler(null);
	for (i = 0; i < n; i++)
		netsnmp_enable_this_loghandler(muted[i]);
}

/* Resolve through net-snmp's MIB parser. */
static int
mibnames_netsnmp(const char *name, char *const *dirs, size_t ndirs, char *out,
    size_t outlen)
{
	oid oids[MAX_OID_LEN];
	size_t n = MAX_OID_LEN, i, len = 0;
	int w;

	mibnames_load_quietly(dirs, ndirs);
	if (snmp_parse_oid(name, oids, &n) == NULL || n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		w = snprintf(out + len, outlen - len, "%s%lu", i ? "." : "",
		    (unsigned long)oids[i]);
		if (w < 0 || (size_t)w >= outlen - len)
			return -1;
		len += (size_t)w;
	}
	return 0;
}

/* Resolve a name or numeric OID to a dotted OID without leading dot. */
int
mibnames_resolve(const char *name, char *const *dirs, size_t ndirs, char *out,
    size_t outlen)
{
	const char *oid, *suffix;
	size_t len;
	int w;

	if (mibnames_numeric(name)) {
		if (*name == '.')
			name++;
		w = snprintf(out, outlen, "%s", name);
		return w < 0 || (size_t)w >= outlen ? -1 : 0;
	}
	suffix = strchr(name, '.');
	len = suffix != NULL ? (size_t)(suffix - name) : strlen(name);
	if (suffix != NULL && !mibnames_numeric(suffix))
		return -1;
	if ((oid = mibnames_table(name, len)) != NULL) {
		w = snprintf(out, outlen, "%s%s", oid, suffix ? suffix : "");
		return w < 0 || (size_t)w >= outlen ? -1 : 0;
	}
	return mibnames_netsnmp(name, dirs, ndirs, out, outlen);
}

/* Free net-snmp's MIB tree if we loaded it. */
void
mibnames_shutdown(void)
{
	if (mibnames_loaded)
		shutdown_mib();
	mibnames_loaded = 0;
	free(mibnames_dirs);
	mibnames_dirs = NULL;
}
