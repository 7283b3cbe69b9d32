/* event.h: the one normalized event that syslog and SNMP traps both become. */
#ifndef SOPD_EVENT_H
#define SOPD_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum event_source {
	EVENT_SYSLOG = 0,
	EVENT_TRAP = 1,
};

/* What the parser recognised (printed as "format" in JSON). */
enum event_format {
	EVENT_FMT_RFC5424 = 0,
	EVENT_FMT_RFC3164,
	EVENT_FMT_TRAP_V1,
	EVENT_FMT_TRAP_V2C,
	EVENT_FMT_TRAP_V3,
};

/* Flags that say what the parser had to repair. */
#define EVENT_F_TRUNCATED 0x01 /* longer than the maximum size */
#define EVENT_F_NUL	  0x02 /* NUL bytes replaced by spaces */
#define EVENT_F_BAD_UTF8  0x04 /* each invalid UTF-8 byte replaced by '?' */
#define EVENT_F_NO_PRI	  0x08 /* no <PRI>: user.notice assumed */
#define EVENT_F_NO_HOST	  0x10 /* host taken from the peer address */
#define EVENT_F_NO_TIME	  0x20 /* no timestamp: reception time used */
#define EVENT_F_BAD_TIME  0x40 /* invalid date or time: reception time used */
#define EVENT_F_BAD_5424 \
	0x80 /* RFC 5424 grammar broken: rest kept as message */

#define EVENT_MAX_SD	   64 /* structured-data params kept */
#define EVENT_MAX_VARBINDS 64 /* trap varbinds kept */

/* One SD-PARAM; an SD-ELEMENT without params has name == NULL. */
struct event_sdparam {
	const char *id; /* SD-ID, e.g. "timeQuality" */
	const char *name;
	const char *value; /* unescaped */
};

/* One trap varbind, its value rendered as text. */
struct event_varbind {
	const char *oid;  /* numeric, dotted, no leading dot */
	const char *type; /* "INTEGER", "OCTET STRING", "OID", ... */
	const char *value;
};

/*
 * Strings point into memory owned by whoever filled the event (the parser
 * works in place in the receive buffer); an event is valid until that buffer
 * is reused. Absent fields are NULL, absent numbers -1.
 */
struct logevent {
	enum event_source source;
	enum event_format format;
	const char
	    *transport;	      /* "udp", "tcp", "tls", "relp", "snmp", "stdin" */
	int64_t received_us;  /* wall clock, microseconds since epoch */
	int64_t timestamp_us; /* original timestamp; == received_us if none */
	int tz_offset_min;    /* offset of the original timestamp */
	const char *host;     /* hostname from the message, else peer */
	const char *peer;     /* source address, "ip" or "ip:port" */
	int facility;	      /* 0..23, -1 for traps */
	int severity;	      /* 0..7, -1 for traps */
	const char *program;  /* APP-NAME or 3164 tag */
	const char *pid;      /* PROCID */
	const char *msgid;    /* MSGID or Cisco %FAC-SEV-MNEMONIC */
	const char *message;  /* MSG (text after the header) */
	size_t message_len;
	unsigned flags; /* EVENT_F_* */
	size_t nsd;
	struct event_sdparam sd[EVENT_MAX_SD];
	/* Traps. */
	const char *trap_oid; /* snmpTrapOID.0, numeric */
	const char *community;
	size_t nvb;
	struct event_varbind vb[EVENT_MAX_VARBINDS];
};

const char *event_format_name(enum event_format);
const char *event_severity_name(int);	    /* "emerg" .. "debug" */
const char *event_facility_name(int);	    /* "kern" .. "local7" */
int event_severity_from_name(const char *); /* -1 if unknown */
int event_facility_from_name(const char *); /* -1 if unknown */

#endif
