#!/bin/bash
# backuprerun.sh: a backup fails, sopd restarts, and the re-run that
# succeeds later that day still resolves the failure incident; the day's
# record says "re-run ok".  The clock is pinned to a Friday night in Tokyo
# (the backup check's deadline is 10:00, far ahead).
. "$(dirname "$0")/../lib.sh"

export TZ=Asia/Tokyo
pin_clock "2026-11-27 02:00:00 +0900"
RULES="$ROOT/rules, $ROOT/rules/tests/replay/site-rules.yaml" write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts at 02:00 Tokyo"

send() { printf '%s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
failed_open() {
	api "/api/v1/incidents?state=active&rule=backup-failed" |
	    jq -e '[.incidents[] | select(.host=="backup-1")] | length == 1' >/dev/null
}
failed_none() {
	api "/api/v1/incidents?state=active&rule=backup-failed" |
	    jq -e '.incidents | length == 0' >/dev/null
}
day_state() {
	api /api/v1/expectations | jq -e --arg s "$1" \
	    '[.expectations[] | select(.rule=="backup-completed" and .host=="backup-1")
	      | .days[] | select(.day=="2026-11-27" and .state==$s)] | length == 1' >/dev/null
}

send "<27>Nov 27 02:00:05 backup-1 backupd[7]: backup job failed: tape drive offline"
check "the failed backup opens an incident" wait_for failed_open
check "the day's record is failed" wait_for day_state failed
id=$(api "/api/v1/incidents?state=active&rule=backup-failed" | jq -r '.incidents[0].id')

check "sopd stops cleanly" stop_sopd
start_sopd || { notok "sopd starts again"; exit 1; }
ok "sopd starts again"
check "the failure is still open after the restart" failed_open

send "<30>Nov 27 02:10:00 backup-1 backupd[9]: backup job completed"
check "the successful re-run resolves the failure after the restart" \
    wait_for failed_none
check "the incident's history says re-run ok" wait_for bash -c \
    "curl -sf $API/api/v1/incidents/$id | grep -q 're-run ok at'"
check "the day's record is re-run ok" wait_for day_state "re-run ok"
check "sopd is still alive" alive
check "sopd stops cleanly at the end" stop_sopd
