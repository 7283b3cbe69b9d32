/* log.c: logging to stderr (foreground) or syslog (daemon). */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static int log_foreground = 1;
static int log_level_verbose;

/* Set where log lines go and how much is said. */
void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	log_level_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

/* A debug line, printed only when verbose. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_level_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
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
