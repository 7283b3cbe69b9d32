/* event.c: names of the event's enumerations (RFC 5424 tables 1 and 2). */
#include "event.h"

#include <string.h>

static const char *event_sev_names[] = { "emerg", "alert", "crit", "err",
	"warning", "notice", "info", "debug" };

static const char *event_fac_names[] = { "kern", "user", "mail", "daemon",
	"auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
	"ntp", "audit", "alert", "clock", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7" };

/* The JSON name of a format. */
const char *
event_format_name(enum event_format f)
{
	switch (f) {
	case EVENT_FMT_RFC5424:
		return "rfc5424";
	case EVENT_FMT_RFC3164:
		return "rfc3164";
	case EVENT_FMT_TRAP_V1:
		return "snmpv1";
	case EVENT_FMT_TRAP_V2C:
		return "snmpv2c";
	case EVENT_FMT_TRAP_V3:
		return "snmpv3";
	}
	return "unknown";
}

/* A syslog severity's keyword, or NULL. */
const char *
event_severity_name(int sev)
{
	if (sev < 0 || sev > 7)
		return NULL;
	return event_sev_names[sev];
}

/* A syslog facility's keyword, or NULL. */
const char *
event_facility_name(int fac)
{
	if (fac < 0 || fac > 23)
		return NULL;
	return event_fac_names[fac];
}

/* A severity keyword (also "error", "warn", "emergency", "critical"). */
int
event_severity_from_name(const char *s)
{
	int i;

	for (i = 0; i < 8; i++)
		if (strcmp(s, event_sev_names[i]) == 0)
			return i;
	if (strcmp(s, "emergency") == 0 || strcmp(s, "panic") == 0)
		return 0;
	if (strcmp(s, "critical") == 0)
		return 2;
	if (strcmp(s, "error") == 0)
		return 3;
	if (strcmp(s, "warn") == 0)
		return 4;
	return -1;
}

/* A facility keyword, or -1. */
int
event_facility_from_name(const char *s)
{
	int i;

	for (i = 0; i < 24; i++)
		if (strcmp(s, event_fac_names[i]) == 0)
			return i;
	if (strcmp(s, "security") == 0)
		return 4;
	return -1;
}
