/* mibnames.h: SNMP object names ("IF-MIB::linkDown", "linkDown") to numeric OIDs. */
#ifndef SOPD_MIBNAMES_H
#define SOPD_MIBNAMES_H

#include <stddef.h>

/*
 * Resolve a numeric OID (leading dot optional), a name from the built-in
 * table of standard traps and IF-MIB objects, or a name that net-snmp finds
 * in the MIB files of dirs; "NAME.3" appends sub-identifiers. Writes the
 * dotted OID without a leading dot; -1 if unknown or too long.
 */
int mibnames_resolve(const char *name, char *const *dirs, size_t ndirs,
    char *out, size_t outlen);
/* Release net-snmp's MIB tree if mibnames_resolve loaded it. */
void mibnames_shutdown(void);

#endif
