/* stats.h: counters per input and per reason, read by the API and the MIB. */
#ifndef SOPD_STATS_H
#define SOPD_STATS_H

#include <stdint.h>

enum stats_input {
	INPUT_UDP = 0,
	INPUT_TCP,
	INPUT_TLS,
	INPUT_RELP,
	INPUT_TRAP,
	INPUT_MAX
};

/*
 * Why a message was dropped or repaired. Repairs (truncated, nul,
 * bad_utf8, no_pri, bad_time, bad_5424) keep the message, and so do
 * session_error, resent and unterminated (counted only); the others drop
 * it. New reasons go at the end: the MIB indexes them by value.
 */
enum stats_reason {
	REASON_TRUNCATED = 0, /* longer than max_message_size: cut */
	REASON_NUL,	      /* NUL bytes: replaced by spaces */
	REASON_BAD_UTF8,      /* invalid UTF-8: each bad byte replaced by '?' */
	REASON_NO_PRI,	      /* no or invalid <PRI>: user.notice assumed */
	REASON_EMPTY,	      /* nothing but whitespace: dropped */
	REASON_MALFORMED, /* unparseable (e.g. broken RFC 5424 header): dropped */
	REASON_FRAMING,	  /* bad octet count on TCP: connection closed */
	REASON_SESSIONS,  /* too many TCP sessions: refused */
	REASON_COMMUNITY, /* unknown SNMP community: dropped */
	REASON_BAD_PDU,	  /* undecodable or invalid trap PDU: dropped */
	REASON_RULE_DROP, /* a drop rule silenced it (not an input error) */
	REASON_TLS,	  /* TLS handshake failed or timed out: closed */
	REASON_BAD_TIME,  /* invalid date or time: reception time used */
	REASON_BAD_5424,  /* RFC 5424 grammar broken: rest kept as message */
	REASON_INFORM_BACKLOG, /* too many informs wait for a commit: refused */
	REASON_SESSION_ERROR,  /* a RELP session failed (librelp's error) */
	REASON_RESENT,	       /* a message received again (RELP resend) */
	REASON_UNTERMINATED, /* stream closed after a line with no newline: kept */
	REASON_USM_UNKNOWN_USER, /* SNMPv3: user unknown (for that engine) */
	REASON_USM_WRONG_DIGEST, /* SNMPv3: authentication failed */
	REASON_USM_TIME_WINDOW,	 /* SNMPv3: outside the time window (replay) */
	REASON_USM_UNKNOWN_ENGINE, /* SNMPv3: not our engineID (inform) */
	REASON_USM_DECRYPTION,	   /* SNMPv3: cannot decrypt (wrong priv key) */
	REASON_USM_LEVEL,	   /* SNMPv3: below the user's security level */
	REASON_SELF,		   /* sopd's own log line fed back: no rules */
	REASON_MAX
};

struct stats_input_counters {
	uint64_t received; /* messages (or datagrams) seen */
	uint64_t accepted; /* parsed and passed to the rules */
	uint64_t dropped;  /* dropped for any reason */
	uint64_t reason[REASON_MAX];
	uint64_t bytes;
	uint64_t sessions;     /* stream sessions open now */
	uint64_t kernel_drops; /* datagrams the kernel dropped (buffer full) */
};

/*
 * The kinds of work that may hold the event loop for a while; each turn of
 * one is timed (loop.stall_ms in the API).
 */
enum loop_work {
	LOOP_COMMIT = 0, /* a commit of incident changes */
	LOOP_CHECKPOINT, /* a WAL checkpoint */
	LOOP_UDP,	 /* a turn of reading syslog datagrams */
	LOOP_DEADLINE,	 /* a turn of deadlines firing (escalation steps) */
	LOOP_INTEGRITY,	 /* a slice of the store's integrity check */
	LOOP_WORK_MAX
};

struct stats {
	struct stats_input_counters in[INPUT_MAX];
	uint64_t events_matched; /* took by an incident rule */
	uint64_t events_unmatched;
	uint64_t incidents_opened;
	uint64_t incidents_resolved;
	uint64_t store_commits;
	uint64_t store_errors;
	uint64_t reloads;
	uint64_t reload_failures;
	uint64_t store_busy_retries;	  /* commits found locked */
	uint64_t snmp_reports_sent;	  /* v3 Reports answered */
	uint64_t snmp_reports_suppressed; /* over budget */
	uint64_t store_integrity_at;	  /* last full check, unix s */
	uint64_t store_integrity_failed;  /* it found damage */
	uint64_t loop_max_stall_us;	  /* longest turn of any work below */
	uint64_t loop_stall_us[LOOP_WORK_MAX];	   /* longest turn, per work */
	uint64_t loop_stall_cpu_us[LOOP_WORK_MAX]; /* its CPU time, most */
	uint64_t loop_udp_read_yields; /* UDP turns ended with data waiting */
};

extern struct stats stats;

/* The monotonic clock in microseconds. */
uint64_t stats_mono_us(void);
/* When a turn of work began: monotonic and thread CPU clocks, µs. */
struct stall_clock {
	uint64_t wall;
	uint64_t cpu;
};
void stats_stall_start(struct stall_clock *);
/* Note a turn of work that began at *t0 and ends now. */
void stats_stall(enum loop_work, const struct stall_clock *t0);
/* The API name of a kind of work. */
const char *stats_work_name(enum loop_work);

const char *stats_input_name(enum stats_input);
const char *stats_reason_name(enum stats_reason);
/* Whether the reason drops the message (1) or only repairs it (0). */
int stats_reason_drops(enum stats_reason);
/* Count one reason on an input (and a drop when the reason drops). */
void stats_count(enum stats_input, enum stats_reason);

#endif
