/* severity.c: the SOP's severities by name. */
#include "severity.h"

#include <string.h>

static const char *severity_names[SEV_MAX] = { "critical", "high", "medium",
	"low", "info" };

/* The name of a SOP severity. */
const char *
severity_name(int sev)
{
	if (sev < 0 || sev >= SEV_MAX)
		return NULL;
	return severity_names[sev];
}

/* A SOP severity by name, or -1. */
int
severity_from_name(const char *s)
{
	int i;

	for (i = 0; i < SEV_MAX; i++)
		if (strcmp(s, severity_names[i]) == 0)
			return i;
	return -1;
}
