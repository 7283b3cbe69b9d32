#!/bin/bash
# syslog.sh: real logger traffic over UDP and TCP becomes incidents; bad input
# is counted and never takes the daemon down.
. "$(dirname "$0")/../lib.sh"

write_config <<EOF2
incidents:
  sample_events: 5
EOF2
sed -i 's/^syslog:$/syslog:\n  max_message_size: 2048/' "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts with the default rules"

HN=$(hostname)
L="logger -n 127.0.0.1 -P $P_SYSLOG"
active() { api "/api/v1/incidents?state=active&limit=1000"; }
# count_sev SEV: number of active incidents of that severity from this host.
count_sev() { active | jq "[.incidents[] | select(.severity==\"$1\")] | length"; }
has_incident() { active | jq -e "[.incidents[] | select($1)] | length > 0" >/dev/null; }

# RFC 3164 over UDP: a filesystem error is critical.
$L -d --rfc3164 -t kernel -p kern.crit \
  "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
check "RFC 3164 over UDP: EXT4-fs error opens a critical incident" \
  wait_for has_incident '.severity=="critical" and (.title|test("sda1|EXT4|ilesystem"))'

# RFC 5424 over UDP, with structured data: the OOM killer is high.
$L -d --rfc5424 --sd-id origin@32473 --sd-param 'ip="192.0.2.7"' -t kernel -p kern.err \
  "Out of memory: Killed process 4242 (java) total-vm:8123456kB, anon-rss:4012345kB"
check "RFC 5424 over UDP: the OOM killer opens a high incident" \
  wait_for has_incident '.severity=="high" and .host=="'"$HN"'"'

# TCP, LF framing: no space left on device (high), sent three times: one incident, count 3.
for i in 1 2 3; do
  $L -T --rfc3164 -t postgres -p daemon.err "could not write to file \"pg_wal/xlogtemp\": No space left on device"
done
nospace() { active | jq -e '[.incidents[] | select(.title|test("[Ss]pace"))][0].count == 3' >/dev/null; }
check "TCP with LF framing: three identical messages are one incident counted 3 times" wait_for nospace

# TCP, octet counting (RFC 6587).
$L -T --octet-count --rfc5424 -t kernel -p kern.err "blk_update_request: I/O error, dev sdb, sector 123456 op 0x0:(READ)"
check "TCP with octet counting: a disk I/O error opens a critical incident" \
  wait_for has_incident '.severity=="critical" and (.title|test("sdb|I/O|disk"; "i"))'

# Repeated SSH failures from one source: threshold.
for i in 1 2 3 4 5 6; do
  $L -d --rfc3164 -t 'sshd' -p auth.info "Failed password for invalid user admin from 203.0.113.9 port 4$i22 ssh2"
done
check "repeated SSH failures from one source open one threshold incident" \
  wait_for has_incident '.severity=="medium" and (.key|test("203.0.113.9"))'

# Bad input: nothing of it may crash sopd; each reason is counted.
send_udp() { printf "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
send_udp ''
send_udp '   \n'
send_udp '<13>bad\0nul\0bytes from a device'
send_udp '<13>Nov 27 10:00:00 h1 app: caf\xc3\x28 \xff\xfe invalid utf-8'
send_udp '<999>pri out of range'
send_udp '<13>1 2026-11-27T10:00:00Z host app - - [unterminated sd'
send_udp '<13>1 2025-11-31T14:00:16Z host app - - - 31 November'
head -c 5000 /dev/zero | tr '\0' 'x' | sed 's/^/<13>Nov 27 10:00:00 h1 app: /' > "$T/long"
cat "$T/long" > /dev/udp/127.0.0.1/$P_SYSLOG
head -c 3000 /dev/urandom > /dev/udp/127.0.0.1/$P_SYSLOG
printf '99999999999999999999 x' > /dev/tcp/127.0.0.1/$P_SYSLOG
printf '4\0  ' > /dev/tcp/127.0.0.1/$P_SYSLOG
printf '10 <13>short' > /dev/tcp/127.0.0.1/$P_SYSLOG
(cat "$T/long"; echo) > /dev/tcp/127.0.0.1/$P_SYSLOG
head -c 200000 /dev/urandom > /dev/tcp/127.0.0.1/$P_SYSLOG
sleep 0.5
check "sopd survives empty, NUL, bad UTF-8, bad PRI, oversize, random and bad framing input" alive
reason() { api /api/v1/stats | jq -r ".inputs.$1.reasons.$2"; }
positive() { [ "$(reason "$1" "$2")" -gt 0 ] 2>/dev/null; }
check "empty datagrams are counted (empty)" positive syslog_udp empty
check "NUL bytes are counted (nul)" positive syslog_udp nul
check "invalid UTF-8 is counted (bad_utf8)" positive syslog_udp bad_utf8
check "a PRI over 191 is counted (no_pri)" positive syslog_udp no_pri
check "a broken RFC 5424 message is kept and counted (bad_5424)" positive syslog_udp bad_5424
check "a date that does not exist is kept and counted (bad_time)" positive syslog_udp bad_time
check "a datagram over max_message_size is counted (truncated)" positive syslog_udp truncated
check "a TCP line over max_message_size is counted (truncated)" positive syslog_tcp truncated
check "a bad octet count is counted (framing)" positive syslog_tcp framing
u0=$(reason syslog_tcp unterminated)
r0=$(api /api/v1/stats | jq -r .inputs.syslog_tcp.received)
printf '<13>Jan  1 00:00:00 h1 eoftest: one\n<13>Jan  1 00:00:00 h1 eoftest: two\n<13>Jan  1 00:00:00 h1 eoftest: three' \
    > /dev/tcp/127.0.0.1/$P_SYSLOG
unterm() { [ "$(reason syslog_tcp unterminated)" = $((u0 + 1)) ]; }
check "two lines then EOF mid-line: the last line is counted (unterminated)" \
    wait_for unterm
check "and kept: 3 messages received" \
    [ "$(api /api/v1/stats | jq -r .inputs.syslog_tcp.received)" = $((r0 + 3)) ]

# The daemon still works after all that.
$L -d --rfc3164 -t kernel -p kern.err "Out of memory: Killed process 777 (late) total-vm:1kB"
check "after bad input, new messages still become incidents" \
  wait_for has_incident '(.count >= 2) and .severity=="high"'

check "sopd stops cleanly on SIGTERM (ASan/UBSan clean)" stop_sopd
