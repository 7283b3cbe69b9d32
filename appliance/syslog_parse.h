/* syslog_parse.h: one syslog message (RFC 5424, RFC 3164, device variants) into an event. */
#ifndef SOPD_SYSLOG_PARSE_H
#define SOPD_SYSLOG_PARSE_H

#include <stddef.h>

#include "event.h"
#include "stats.h"

/*
 * Parse one message in place. buf holds len bytes and has room for len + 1
 * (fields are NUL-terminated and unescaped inside it; the event's strings
 * point into it). The caller sets ev->source, transport, peer and
 * received_us; the parser fills the rest. Returns 0 with ev->flags saying
 * what was repaired (EVENT_F_*), or -1 with *reason set to REASON_EMPTY or
 * REASON_MALFORMED. Never touches the stats.
 *
 * Semantics (README.md "Syslog parsing" repeats them):
 * - Trailing CR, LF and NUL are stripped; then a message longer than
 *   max_len is cut to max_len at a UTF-8 character boundary (TRUNCATED);
 *   other NULs become spaces (NUL); each byte not part of valid UTF-8 becomes '?'
 *   (BAD_UTF8). Nothing but whitespace, before or after the PRI: EMPTY.
 * - <PRI> is 1-3 digits without leading zeros, at most 191. An invalid
 *   "<digits>" token is skipped and, like a missing PRI, gives user.notice
 *   (13) and NO_PRI.
 * - "<PRI>1 " followed by '-' or a digit commits to RFC 5424; a broken
 *   header or structured data then is MALFORMED. Anything else is RFC 3164.
 * - RFC 3164 timestamps: "Mmm dd hh:mm:ss[.frac]", with an optional year
 *   before the time ("Mar  1 2026 10:00:00") or before the month
 *   ("2026 Mar  1 ..."), or RFC 3339. Without a year, the year that puts it
 *   closest to received_us. Without an offset, the time is local time of
 *   the appliance (TZ, as mktime sees it); a Cisco zone "UTC"/"GMT" before
 *   the closing ':' means UTC. A leading '.' (clock was synchronised) is
 *   ignored; a leading '*' (clock never synchronised) makes the time
 *   untrusted: timestamp = received_us and NO_TIME, as for no timestamp.
 * - Host: the token after the timestamp unless it looks like a tag (ends
 *   with ':' or holds '['); Cisco "SEQ: HOST: *time:" also gives the host,
 *   and "HOST: %FAC-..." gives it even over a header's host (a relay put
 *   that one there). No host: host = peer and NO_HOST.
 * - Cisco sequence numbers ("123: ") are dropped. "%FAC-SEV-MNEMONIC: text"
 *   gives msgid "FAC-SEV-MNEMONIC", program NULL and message "text"; without
 *   a PRI its SEV becomes the severity.
 * - Tag: "prog[pid]:", "prog[pid]", "prog:" (1-48 bytes without spaces,
 *   the ':' followed by a space or the end); otherwise no program and the
 *   text is all message. Leading spaces of the message are dropped, in
 *   RFC 5424 too (relays keep the space that followed a 3164 tag).
 */
int syslog_parse(char *buf, size_t len, size_t max_len, struct event *ev,
    enum stats_reason *reason);

#endif
