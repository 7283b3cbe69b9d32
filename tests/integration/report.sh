#!/bin/bash
# report.sh: the daily, weekly and monthly reports through the API and
# sopctl, after incidents made by logger messages and an expected backup.
. "$(dirname "$0")/../lib.sh"

# A Wednesday afternoon in Tokyo: the report dates below never straddle a
# midnight, whatever the day and hour the suite runs at.
pin_clock "2026-11-25 14:00:00 +0900"
RULES="$ROOT/rules, $ROOT/rules/tests/replay/site-rules.yaml" write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"
ctl() { "$SOPCTL" -u "$API" "$@"; }
jqf() { jq -e "$@" >/dev/null; }

TODAY=2026-11-25
YESTERDAY=2026-11-24
MONTH=2026-11

L="logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164"
EXT4="EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
$L -t kernel -p kern.crit "$EXT4"
$L -t kernel -p kern.crit "$EXT4"
printf '<30>%s backup-2 backupd[7]: backup job completed' \
    "$(LC_ALL=C date '+%b %e %H:%M:%S')" > /dev/udp/127.0.0.1/$P_SYSLOG
opened() {
	api "/api/v1/incidents?state=active&severity=critical" |
	    jq -e '.incidents | length == 1 and .[0].count == 2' >/dev/null
}
check "logger opened an incident (2 events)" wait_for opened
ID=$(api "/api/v1/incidents?state=active&severity=critical" | jq -r '.incidents[0].id')
H=$(api "/api/v1/incidents/$ID" | jq -r '.host')
SEV=$(api "/api/v1/incidents/$ID" | jq -r '.severity')

api "/api/v1/reports/daily?date=$TODAY" > "$T/daily.json"
check "daily: 200 with the date and local period bounds" \
    jqf ".report == \"daily\" and .date == \"$TODAY\" and
    (.period.local_start | startswith(\"${TODAY}T00:00:00+09:00\")) and
    .period.complete == false" "$T/daily.json"
check "daily: the incident is opened and active, 2 events" \
    jqf ".incidents.opened.$SEV == 1 and .incidents.active_at_end.$SEV == 1
    and .incidents.events == 2" "$T/daily.json"
check "daily: the logging host is the top host" \
    jqf --arg h "$H" '.servers.hosts_with_incidents == 1 and
    .servers.top_hosts[0].host == $h and .servers.top_hosts[0].active == 1' \
    "$T/daily.json"
check "daily: backup status per host from the expectations" \
    jqf '([.backups.hosts[] | select(.host == "backup-2")][0].last_arrival != null)
    and ([.backups.hosts[] | select(.host == "backup-1")][0].last_arrival == null)
    and (.backups.pending + .backups.ok + .backups.missing + .backups.late == 2)' \
    "$T/daily.json"
check "daily without a date: yesterday" bash -c \
    "curl -sf '$API/api/v1/reports/daily' | jq -e '.date == \"$YESTERDAY\" and .period.complete' >/dev/null"

code() { curl -s -o /dev/null -w '%{http_code}' "$API$1"; }
check "a bad date is a 400" test "$(code '/api/v1/reports/daily?date=2026-02-30')" = 400
check "another query parameter is a 400" test "$(code '/api/v1/reports/weekly?day=1')" = 400
check "an unknown report is a 404" test "$(code '/api/v1/reports/yearly')" = 404

ctl ack "$ID" -m "looking" >/dev/null
ctl resolve "$ID" -m "fsck done" >/dev/null
api "/api/v1/reports/monthly?date=$TODAY" > "$T/monthly.json"
check "monthly: the month, SLA met for the resolved incident" \
    jqf ".month == \"$MONTH\" and .sla.$SEV.met == 1 and
    .sla.$SEV.missed == 0 and .sla.total.achievement_percent == 100" \
    "$T/monthly.json"
check "monthly: MTTA and MTTR are known and small" \
    jqf ".response.$SEV.acknowledged == 1 and .response.$SEV.resolved == 1
    and .response.$SEV.mttr_seconds >= .response.$SEV.mtta_seconds and
    .response.$SEV.mttr_seconds < 600" "$T/monthly.json"
check "monthly: trends against the previous month" \
    jqf ".trends.$SEV.opened == 1 and .trends.$SEV.opened_delta ==
    1 - .trends.$SEV.previous_opened" "$T/monthly.json"
api "/api/v1/reports/weekly?date=$TODAY" > "$T/weekly.json"
check "weekly: ISO week, 7 days, noisiest host and rule" \
    jqf --arg h "$H" '(.iso_week | test("^[0-9]{4}-W[0-9]{2}$")) and (.days | length == 7)
    and .noisiest_hosts[0].host == $h and .noisiest_hosts[0].events == 2
    and (.noisiest_rules | length >= 1) and (.windows | type == "array")' \
    "$T/weekly.json"

ctl report daily --date "$TODAY" > "$T/ctl-daily.txt"
check "sopctl report daily prints the report" \
    grep -q "^daily report for $TODAY" "$T/ctl-daily.txt"
check "sopctl report daily lists the host" grep -q "^$H " "$T/ctl-daily.txt"
ctl report monthly --date "$TODAY" > "$T/ctl-monthly.txt"
check "sopctl report monthly prints the SLA" \
    grep -q "^SLA achievement: 100.0%" "$T/ctl-monthly.txt"
check "sopctl report weekly --json prints the API's JSON" bash -c \
    "'$SOPCTL' -u '$API' report weekly --json --date '$TODAY' | jq -e '.report == \"weekly\"' >/dev/null"
check "sopctl report with a bad date exits 1" bash -c \
    "'$SOPCTL' -u '$API' report daily --date 2026-13-01 2>/dev/null; test \$? -eq 1"
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
cleanup
