/* stats.c: the process-wide counters (owned by the one event loop). */
#include "stats.h"

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
