/* log.h: the daemon's six log calls, to stderr in the foreground or syslog. */
#ifndef SOPD_LOG_H
#define SOPD_LOG_H

#include <stdarg.h>

/* What a debug line is about: `sopd -v rules,snmp` prints only those. */
enum log_sys {
	LOG_SYS_CORE,	/* incidents, the clock, start and reload */
	LOG_SYS_INPUT,	/* syslog UDP, TCP, TLS, RELP sessions */
	LOG_SYS_RULES,	/* rule compilation and matching */
	LOG_SYS_SNMP,	/* net-snmp: traps, agent, AgentX */
	LOG_SYS_NOTIFY, /* notification targets */
	LOG_SYS_STORE,	/* SQLite */
	LOG_SYS_EVENT,	/* libevent's own messages */
	LOG_SYS_COUNT
};

void log_init(int foreground, int verbose, const char *ident);
int log_debug_select(const char *);
const char *log_debug_names(void);
int log_verbose(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debugs(enum log_sys, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void log_event_init(void);
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
