#!/bin/bash
# silent.sh: the real daemon under libfaketime (60x): a host heard before a
# kill -9 that stays silent still gets its incident after the restart, at
# its last heard time plus the rule's silence; /api/v1/expectations and
# `sopctl expectations` show the expectations and the tracked hosts.
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
cat > "$T/site.yaml" <<'EOR'
host_groups:
  backup-hosts: [backup-1, backup-2]
rules:
  - name: backup-completed
    expect:
      match: { program: "backup*", message: 'backup (job )?completed' }
      hosts: { group: backup-hosts }
      by: "10:00"
      since: "00:00"
  - name: switch-silent
    silent: { hosts: ["sw-core-*"], after: 10m }
EOR
RULES="$T/site.yaml" write_config </dev/null
export FAKETIME_NO_CACHE=1
LD_PRELOAD=$FT FAKETIME="@2026-11-27 09:00:00 x60" start_sopd ||
    { notok "sopd starts under libfaketime"; exit 1; }
ok "sopd starts under libfaketime at 09:00 (60x)"

send() { printf '%s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
# jq_api FILTER: the expectations document passes the jq test.
jq_api() { api /api/v1/expectations | jq -e "$1" >/dev/null; }

send "<30>Nov 27 09:00:05 sw-core-1 ifmgr: link up"
send "<30>Nov 27 09:00:05 backup-2 backupd[7]: backup job completed"
check "the switch is tracked" wait_for jq_api \
    '.silent[0].hosts | map(select(.host == "sw-core-1" and .state == "ok")) | length == 1'
check "backup-2 reported: ok" jq_api \
    '.expectations[] | select(.host == "backup-2") | .state == "ok"'
check "backup-1 has not: pending, due 10:00 local" jq_api \
    '.expectations[] | select(.host == "backup-1") |
     .state == "pending" and .next_deadline == "2026-11-27T01:00:00Z"'
check "sopctl expectations shows a table" bash -c \
    "'$SOPCTL' -u '$API' expectations | grep -q '^switch-silent.*sw-core-1 *ok'"
check "sopctl expectations --json prints the API's document" bash -c \
    "'$SOPCTL' -u '$API' --json expectations | jq -e '.tracked_hosts == 1' >/dev/null"
last=$(api /api/v1/expectations | jq -r '.silent[0].hosts[0].last_heard')
# One commit interval (50 ms) writes the host; then a crash loses nothing.
sleep 0.5
kill9_sopd
ok "sopd killed with -9 after the switch was heard at $last"

LD_PRELOAD=$FT FAKETIME="@2026-11-27 09:03:00 x60" start_sopd ||
    { notok "sopd restarts at 09:03"; exit 1; }
ok "sopd restarts at 09:03 (60x)"
silent_open() {
	api "/api/v1/incidents?state=active&rule=switch-silent" |
	    jq -e '.incidents | length == 1' >/dev/null
}
none_yet() { ! silent_open; }
check "the switch is still tracked, no incident yet" bash -c \
    "curl -sf $API/api/v1/expectations | jq -e '.silent[0].hosts[0].host == \"sw-core-1\" and .silent[0].hosts[0].last_heard == \"$last\"' >/dev/null"
check "no incident right after the restart" none_yet
wait_silent() {
	i=0
	while [ $i -lt 200 ]; do silent_open && return 0; sleep 0.1; i=$((i + 1)); done
	return 1
}
check "the silent switch gets its incident" wait_silent
want=$(date -u -d "$last 600 seconds" +%Y-%m-%dT%H:%M:%SZ)
check "it opened at last heard + 10m ($want)" bash -c \
    "curl -sf '$API/api/v1/incidents?state=active&rule=switch-silent' | jq -e '.incidents[0].first_seen == \"$want\" and (.incidents[0].title | test(\"silent since\"))' >/dev/null"
check "the expectations view says silent" jq_api \
    '.silent[0].hosts[0].state == "silent"'
send "<30>Nov 27 09:20:00 sw-core-1 ifmgr: back"
check "hearing it again resolves it" wait_for none_yet
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
