/* agent.h: the SOP-APPLIANCE-MIB handlers served by the SNMP agent. */
#ifndef SOPD_AGENT_H
#define SOPD_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "enterprise.h"

struct sopd;

/* The enterprise number (enterprise.h). */
#define AGENT_ENTERPRISE SOP_ENTERPRISE

/* Register the MIB's handlers (called by the bridge before init_snmp). */
void agent_register(struct sopd *);
/* Drop handlers and cached rows at shutdown. */
void agent_unregister(void);

/* sopNotifLogOutcome: where a logged notice stands with its targets. */
enum agent_outcome {
	AGENT_PENDING = 1, /* some target still trying */
	AGENT_DELIVERED,   /* every target took it */
	AGENT_PARTIAL,	   /* some took it, the others gave it up */
	AGENT_FAILED,	   /* every target gave it up (or dropped it) */
};

/*
 * Log a notice once in sopNotifLogTable (bounded; the oldest entry goes
 * first), pending, and return its sopNotifLogIndex (0: not logged). notif
 * is the notification's name in SOP-APPLIANCE-MIB ("sopIncidentOpened",
 * "sopIncidentEscalated", "sopIncidentAcknowledged", "sopIncidentResolved",
 * "sopIncidentReminder", "sopConfigReloaded");
 * severity is an enum sop_severity; level is "L1".."L3" or "client";
 * targets names the targets (comma-separated); text is a short description
 * (both cut at 255 octets). The index grows across restarts: it is
 * reserved in blocks in the store's meta table (agent_register's sopd).
 */
uint32_t agent_nlog_add(const char *notif, uint64_t incident_id, int severity,
    const char *level, const char *targets, const char *text);
/* The counts of a logged notice's targets: delivered, given up, pending. */
void agent_nlog_outcome(uint32_t index, unsigned delivered, unsigned failed,
    unsigned pending);
/*
 * The notices of an incident still in the log (the last AGENT_NLOG_MAX of
 * all), oldest first: [{index, at, notification, level, targets,
 * outcome}].
 */
struct json_t;
struct json_t *agent_nlog_json(uint64_t incident_id);

/* DateAndTime (RFC 2579) of a wall-clock time in UTC: 11 octets, or 8 zero
 * octets when us <= 0 ("none"); b holds AGENT_DATEANDTIME_LEN bytes. */
#define AGENT_DATEANDTIME_LEN 11
size_t agent_dateandtime(int64_t us, unsigned char *b);

#endif
