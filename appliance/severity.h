/* severity.h: the SOP's severities and their names. */
#ifndef SOPD_SEVERITY_H
#define SOPD_SEVERITY_H

/* The SOP's severities, most severe first (plus low and info). */
enum sop_severity {
	SEV_CRITICAL = 0,
	SEV_HIGH,
	SEV_MEDIUM,
	SEV_LOW,
	SEV_INFO,
	SEV_MAX
};

const char *severity_name(int);	      /* "critical" .. "info" */
int severity_from_name(const char *); /* -1 if unknown */

#endif
