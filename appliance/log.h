/* log.h: the daemon's six log calls, to stderr in the foreground or syslog. */
#ifndef SOPD_LOG_H
#define SOPD_LOG_H

#include <stdarg.h>

void log_init(int foreground, int verbose, const char *ident);
int log_verbose(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
