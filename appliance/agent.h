/* agent.h: the SOP-APPLIANCE-MIB handlers served by the SNMP agent. */
#ifndef SOPD_AGENT_H
#define SOPD_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "enterprise.h"

struct sopd;

/* The enterprise number (enterprise.h). */
#define AGENT_ENTERPRISE	SOP_ENTERPRISE

/* Register the MIB's handlers (called by the bridge before init_snmp). */
void agent_register(struct sopd *);
/* Drop handlers and cached rows at shutdown. */
void agent_unregister(void);

/*
 * Record a sent notification in sopNotifLogTable (bounded; the oldest entry
 * goes first). notif is the notification's name in SOP-APPLIANCE-MIB
 * ("sopIncidentOpened", "sopIncidentEscalated", "sopIncidentAcknowledged",
 * "sopIncidentResolved"); severity is an enum sop_severity; level is "L1"..
 * "L3" or "client"; text is a short description (cut at 255 octets).
 */
void agent_log_notification(const char *notif, uint64_t incident_id,
    int severity, const char *level, const char *text);

/* DateAndTime (RFC 2579) of a wall-clock time in UTC: 11 octets, or 8 zero
 * octets when us <= 0 ("none"); b holds AGENT_DATEANDTIME_LEN bytes. */
#define AGENT_DATEANDTIME_LEN	11
size_t agent_dateandtime(int64_t us, unsigned char *b);

#endif
