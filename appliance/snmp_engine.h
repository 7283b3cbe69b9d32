/* snmp_engine.h: our SNMP engineID and engineBoots, kept under state_dir. */
#ifndef SOPD_SNMP_ENGINE_H
#define SOPD_SNMP_ENGINE_H

struct config;

/*
 * Read (or make) the engineID in <state_dir>/snmp/engine, save it with
 * engineBoots plus one, and hand both to net-snmp as config lines; call
 * before init_snmp. Returns -1 with *cause when no engineID can be made.
 */
int snmp_engine_setup(const struct config *, char **cause);
/* 1 when the engine file (engineID, engineBoots) was saved at the start. */
int snmp_engine_persisted(void);

#endif
