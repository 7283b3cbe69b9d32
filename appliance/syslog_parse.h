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
 * what was repaired (EVENT_F_*), or -1 with *reason set to REASON_EMPTY
 * (nothing else is rejected). Never touches the stats.
 *
 * Semantics (README.md "Syslog input" repeats them):
 * - Trailing CR, LF and NUL are stripped; then a message longer than
 *   max_len is cut to max_len at a UTF-8 character boundary (TRUNCATED);
 *   other NULs become spaces (NUL); each byte not part of valid UTF-8 becomes '?'
 *   (BAD_UTF8). Nothing but whitespace, before or after the PRI: EMPTY.
 * - <PRI> is 1-3 digits without leading zeros, at most 191. An invalid
 *   "<digits>" token is skipped and, like a missing PRI, gives user.notice
 *   (13) and NO_PRI.
 * - "<PRI>1 " followed by '-' or a digit commits to RFC 5424. Where its
 *   grammar breaks later (a field empty or too long, the header cut short,
 *   a missing or broken SD, no space after the SD), the fields read so far
 *   are kept, the rest is the message, and BAD_5424 says so; offsets such
 *   as "+0100" or "+9:00" and stray spaces inside an SD-ELEMENT are read,
 *   with BAD_5424. Anything else is RFC 3164 (spaces after the PRI skipped).
 * - RFC 3164 timestamps: "Mmm dd hh:mm:ss[.frac]", with an optional year
 *   before the time ("Mar  1 2026 10:00:00"), after it ("10:00:00 2026")
 *   or before the month ("2026 Mar  1 ..."), or RFC 3339. Without a year,
 *   the latest year (of the one of reception and those around it) that
 *   puts it at most a day after reception. Without an offset, the time is
 *   local time of the appliance (TZ, as mktime sees it); a Cisco zone
 *   "UTC"/"GMT" before the closing ':' means UTC. A leading '.' (clock was
 *   synchronised) is ignored; a leading '*' (clock never synchronised)
 *   makes the time untrusted: timestamp = received_us and NO_TIME, as for
 *   no timestamp.
 * - A timestamp that reads as one but names no real date and time (31
 *   April, 29 February of a common year, hour 24, second 60, offset of 24
 *   hours or more): timestamp = received_us and BAD_TIME; the rest of the
 *   header is read as usual.
 * - Host: the token after the timestamp (also as the last token) unless it
 *   looks like a tag (ends with ':', holds '[', or holds ':' and is no IPv6
 *   address); Cisco "SEQ: HOST: *time:" also gives the host,
 *   and "HOST: %FAC-..." gives it even over a header's host (a relay put
 *   that one there). No host: host = peer and NO_HOST.
 * - Cisco sequence numbers ("123: ") are dropped. "%FAC-SEV-MNEMONIC: text"
 *   gives msgid "FAC-SEV-MNEMONIC", program NULL and message "text"; without
 *   a PRI its SEV becomes the severity.
 * - Tag: "prog[pid]:" or "prog:" whatever follows the ':' (except "//", a
 *   URL), or "prog[pid]" before a space or the end; prog is 1-48 bytes
 *   without spaces. Otherwise no program and the text is all message.
 *   Leading spaces of the message are dropped, in RFC 5424 too (relays
 *   keep the space that followed a 3164 tag).
 */
int syslog_parse(char *buf, size_t len, size_t max_len, struct logevent *ev,
    enum stats_reason *reason);

#endif
