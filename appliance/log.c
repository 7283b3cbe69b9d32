/* log.c: logging to stderr (foreground) or syslog (daemon). */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>

static int log_foreground = 1;
static int log_level_verbose;
static unsigned log_sys_mask = ~0u; /* subsystems whose debug lines print */

static const char *const log_sys_names[LOG_SYS_COUNT] = {
	[LOG_SYS_CORE] = "core",
	[LOG_SYS_INPUT] = "input",
	[LOG_SYS_RULES] = "rules",
	[LOG_SYS_SNMP] = "snmp",
	[LOG_SYS_NOTIFY] = "notify",
	[LOG_SYS_STORE] = "store",
	[LOG_SYS_EVENT] = "event",
};

/* Set where log lines go and how much is said. */
void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	log_level_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/*
 * Limit debug lines to a comma-separated list of subsystems ("rules,snmp");
 * -1 names the first unknown one in the list left as it was.
 */
int
log_debug_select(const char *list)
{
	char buf[256], *p, *tok, *save = NULL;
	unsigned mask = 0;
	int i;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		for (p = tok; *p == ' '; p++)
			;
		for (i = 0; i < LOG_SYS_COUNT; i++)
			if (strcmp(p, log_sys_names[i]) == 0)
				break;
		if (i == LOG_SYS_COUNT)
			return -1;
		mask |= 1u << i;
	}
	if (mask == 0)
		return -1;
	log_sys_mask = mask;
	return 0;
}

/* The subsystem names, for the usage text. */
const char *
log_debug_names(void)
{
	static char buf[128];
	int i;

	if (buf[0] == '\0')
		for (i = 0; i < LOG_SYS_COUNT; i++) {
			if (i > 0)
				strcat(buf, ",");
			strcat(buf, log_sys_names[i]);
		}
	return buf;
}

/* Whether debug lines are printed. */
int
log_verbose(void)
{
	return log_level_verbose;
}

/* Write one line at a syslog priority, with an optional errno suffix. */
static void
log_vwrite(int pri, int err, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground) {
		if (err)
			fprintf(stderr, "sopd: %s: %s\n", buf, strerror(err));
		else
			fprintf(stderr, "sopd: %s\n", buf);
		return;
	}
	if (err)
		syslog(pri, "%s: %s", buf, strerror(err));
	else
		syslog(pri, "%s", buf);
}

/* A warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, err, fmt, ap);
	va_end(ap);
}

/* A warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

/* An informational line. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

/* A debug line about the core, printed only when verbose. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_level_verbose || !(log_sys_mask & (1u << LOG_SYS_CORE)))
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* A debug line about a subsystem, printed when verbose for it. */
void
log_debugs(enum log_sys sys, const char *fmt, ...)
{
	va_list ap;

	if (!log_level_verbose || !(log_sys_mask & (1u << sys)))
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* libevent's messages, into this log. */
static void
log_event_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debugs(LOG_SYS_EVENT, "libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

/* libevent cannot go on: say why in this log, then exit. */
static void
log_event_fatal_cb(int err)
{
	fatalx("libevent: fatal error %d", err);
}

/* Route libevent's log (and its debug lines under -v event) through ours. */
void
log_event_init(void)
{
	event_set_log_callback(log_event_cb);
	event_set_fatal_callback(log_event_fatal_cb);
	if (log_level_verbose && (log_sys_mask & (1u << LOG_SYS_EVENT)))
		event_enable_debug_logging(EVENT_DBG_ALL);
}

/* Log with strerror(errno) and exit. */
void
fatal(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
