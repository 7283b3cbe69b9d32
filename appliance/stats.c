/* stats.c: the process-wide counters (owned by the one event loop). */
#include "stats.h"

#include <time.h>

struct stats stats;

static const char *stats_input_names[INPUT_MAX] = { "syslog_udp", "syslog_tcp",
	"syslog_tls", "relp", "snmp_trap" };

static const char *stats_reason_names[REASON_MAX] = { "truncated", "nul",
	"bad_utf8", "no_pri", "empty", "malformed", "framing", "sessions",
	"community", "bad_pdu", "rule_drop", "tls", "bad_time", "bad_5424",
	"inform_backlog", "session_error", "resent", "unterminated",
	"unknown_user", "wrong_digest", "time_window", "unknown_engine",
	"decryption", "security_level", "self" };

/* The API/MIB name of an input. */
const char *
stats_input_name(enum stats_input i)
{
	return i < INPUT_MAX ? stats_input_names[i] : "unknown";
}

/* The API/MIB name of a reason. */
const char *
stats_reason_name(enum stats_reason r)
{
	return r < REASON_MAX ? stats_reason_names[r] : "unknown";
}

/* Repairs keep the message; everything else drops it. */
int
stats_reason_drops(enum stats_reason r)
{
	return r >= REASON_EMPTY && r != REASON_BAD_TIME &&
	    r != REASON_BAD_5424 && r != REASON_SESSION_ERROR &&
	    r != REASON_RESENT && r != REASON_UNTERMINATED && r != REASON_SELF;
}

/* Count a reason on an input. */
void
stats_count(enum stats_input in, enum stats_reason r)
{
	if (in >= INPUT_MAX || r >= REASON_MAX)
		return;
	stats.in[in].reason[r]++;
	if (stats_reason_drops(r))
		stats.in[in].dropped++;
}

static const char *stats_work_names[LOOP_WORK_MAX] = { "commit", "checkpoint",
	"udp", "deadline", "integrity" };

/* The monotonic clock in microseconds. */
uint64_t
stats_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The thread's CPU time in microseconds. */
static uint64_t
stats_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Start timing a turn of work. */
void
stats_stall_start(struct stall_clock *t0)
{
	t0->wall = stats_mono_us();
	t0->cpu = stats_cpu_us();
}

/*
 * Keep the longest turn of a kind of work, and of all (wall time, which
 * counts waiting for the disk or for a CPU too), and the most CPU time a
 * turn of that kind took.
 */
void
stats_stall(enum loop_work w, const struct stall_clock *t0)
{
	uint64_t d = stats_mono_us() - t0->wall;
	uint64_t c = stats_cpu_us() - t0->cpu;

	if (w >= LOOP_WORK_MAX)
		return;
	if (d > stats.loop_stall_us[w])
		stats.loop_stall_us[w] = d;
	if (d > stats.loop_max_stall_us)
		stats.loop_max_stall_us = d;
	if (c > stats.loop_stall_cpu_us[w])
		stats.loop_stall_cpu_us[w] = c;
}

/* The API name of a kind of work. */
const char *
stats_work_name(enum loop_work w)
{
	return w < LOOP_WORK_MAX ? stats_work_names[w] : "unknown";
}
