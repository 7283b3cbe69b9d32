#!/bin/bash
# expect.sh: the real daemon under libfaketime (60x): a backup host that has
# not reported by 10:00 gets an incident, its late report resolves it.
. "$(dirname "$0")/../lib.sh"

FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ ! -r "$FT" ]; then
	notok "libfaketime is installed (Debian package faketime)"
	exit 0
fi
# The ASan runtime must come first among the libraries, which an
# LD_PRELOAD of libfaketime breaks; the link-order check is switched off.
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
export TZ=Asia/Tokyo
RULES="$ROOT/rules, $ROOT/rules/tests/replay/site-rules.yaml" write_config </dev/null
LD_PRELOAD=$FT FAKETIME="@2026-11-27 09:54:00 x60" FAKETIME_NO_CACHE=1 \
    start_sopd || { notok "sopd starts under libfaketime"; exit 1; }
ok "sopd starts under libfaketime at 09:54 (60x)"

send() { printf '%s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
missing() {
	api "/api/v1/incidents?state=active&rule=backup-completed" |
	    jq -e "[.incidents[] | select(.host==\"$1\")] | length == 1" >/dev/null
}
none() {
	api "/api/v1/incidents?state=active&rule=backup-completed" |
	    jq -e '.incidents | length == 0' >/dev/null
}

send "<30>Nov 27 09:54:10 backup-2 backupd[7]: backup job completed"
check "before 10:00 nothing is missing" none
# 10:00 is at most 6 real seconds away (a margin for a slow start under
# ASan: a start after 10:00 would see the deadline as already past); the
# deadline tick runs every second.
wait_until_missing() {
	i=0
	while [ $i -lt 100 ]; do missing backup-1 && return 0; sleep 0.1; i=$((i + 1)); done
	return 1
}
check "at 10:00 backup-1 (no report) has an incident" wait_until_missing
not_missing() { ! missing "$1"; }
check "backup-2 (reported at 09:54) has none" not_missing backup-2
send "<30>Nov 27 10:30:00 backup-1 backupd[9]: backup job completed"
check "the late report resolves it" wait_for none
id=$(api "/api/v1/incidents?rule=backup-completed&state=resolved" | jq -r '.incidents[0].id')
check "its history says it arrived late" wait_for bash -c \
    "curl -sf $API/api/v1/incidents/$id | grep -q 'arrived late at'"
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
