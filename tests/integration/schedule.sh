#!/bin/bash
# schedule.sh: the SOP's routine on a libfaketime clock.  Sunday evening
# incidents; Monday from 08:54 (120x): the 09:00 server check and the 10:00
# weekly and performance reports reach an exec hook (text on stdin, subject
# in SOPD_SUBJECT) and a webhook (JSON) on time, with the right content;
# every run is recorded and the reports are stored.  Then sopd is down from
# Monday 10:00 to Wednesday 11:00: the missed server check runs once.
. "$(dirname "$0")/../lib.sh"

FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ ! -r "$FT" ]; then
	notok "libfaketime is installed (Debian package faketime)"
	exit 0
fi
command -v python3 >/dev/null 2>&1 || { notok "python3 is installed"; exit 0; }
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
export TZ=Asia/Tokyo

P_HOOK=$P_SPARE
HELPER=""
trap '[ -n "$HELPER" ] && kill $HELPER 2>/dev/null; cleanup' EXIT

start_webhook "$P_HOOK" "$T/web.jsonl"
HELPER=$HOOK_PID

# The "mail" hook: one file per delivery, subject first, then stdin.
mkdir -p "$T/mail"
cat > "$T/mail.sh" <<EOF
#!/bin/sh
{ echo "Subject: \$SOPD_SUBJECT"; echo "Kind: \$SOPD_KIND"; echo; cat; } \
    > "$T/mail/\$SOPD_IDEMPOTENCY_KEY"
EOF
chmod +x "$T/mail.sh"

cat > "$T/rules.yaml" <<'EOF'
host_groups:
  backup-hosts: [backup-1, backup-2]
rules:
  - name: backup-completed
    expect:
      match: { program: "backup*", message: 'backup job completed' }
      hosts: { group: backup-hosts }
      by: "10:00"
      every: day
      since: "00:00"
    title: "Backup from {host} missing at {deadline}"
  - name: disk-full
    match:
      message: 'DISKFULL (?<fs>\S+)'
    severity: high
    key: "{host}:{fs}"
EOF

RULES=$T/rules.yaml write_config <<EOF
notify:
  targets:
    mail: { type: exec, command: $T/mail.sh, timeout: 10s }
    web:  { type: webhook, url: "http://127.0.0.1:$P_HOOK/report", timeout: 5s }
  levels:
    client: [mail, web]
schedule:
  server-check:       { at: "09:00", days: daily, notify: client }
  backup-check:       { at: "10:00", days: business }
  performance-report: { at: "10:00", days: mondays, notify: client }
  daily-report:       { at: "09:00", days: daily }
  weekly-report:      { at: "10:00", days: mondays, notify: client }
  monthly-report:     { at: "10:00", days: first }
EOF

cp "$T/sopd.yaml" "$T/good.yaml"
sed -i '/^schedule:/,/monthly-report/d' "$T/sopd.yaml"
printf 'schedule:\n  server-check: { at: "25:00" }\n  lunch: { at: "12:00" }\n' >> "$T/sopd.yaml"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/check.out" 2>&1
check "sopd -t names file:line:col of a bad time" \
    grep -q "sopd.yaml:[0-9]*:[0-9]*: schedule: server-check: at: expected HH:MM" "$T/check.out"
check "sopd -t names an unknown job" \
    grep -q "sopd.yaml:[0-9]*:[0-9]*: schedule: unknown job lunch" "$T/check.out"
cp "$T/good.yaml" "$T/sopd.yaml"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/check.out" 2>&1
check "sopd -t accepts the schedule: section" test $? -eq 0

send() { printf '%s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
runs() { api /api/v1/schedule | jq "[.runs[] | select(.job == \"$1\")] | length"; }

# Sunday evening: web-1 fills two file systems, db-1 one (last week's noise).
LD_PRELOAD=$FT FAKETIME="@2026-11-29 20:00:00" FAKETIME_NO_CACHE=1 \
    start_sopd || { notok "sopd starts on Sunday evening"; exit 1; }
send "<27>Nov 29 20:00:01 web-1 app: DISKFULL /var"
send "<27>Nov 29 20:00:01 web-1 app: DISKFULL /home"
send "<27>Nov 29 20:00:01 db-1 app: DISKFULL /data"
check "three incidents open on Sunday" wait_for sh -c \
    "curl -sf '$API/api/v1/incidents?state=active' | jq -e '.incidents | length == 3' >/dev/null"
check "a first start runs no past occurrence" test "$(runs server-check)" = 0
check "the next server check is Monday 09:00 JST" sh -c \
    "curl -sf $API/api/v1/schedule | jq -e '.jobs[] | select(.job == \"server-check\") | .next == \"2026-11-30T00:00:00Z\"' >/dev/null"
stop_sopd || notok "sopd stops on Sunday"

# Monday 08:54 at 120x: 09:00 is three real seconds away, 10:00 thirty-three.
LD_PRELOAD=$FT FAKETIME="@2026-11-30 08:54:00 x120" FAKETIME_NO_CACHE=1 \
    start_sopd || { notok "sopd starts on Monday morning"; exit 1; }
check "nothing of the week before runs on Monday's start" test "$(runs weekly-report)" = 0
send "<27>Nov 30 08:55:00 web-1 app: disk I/O error"
send "<28>Nov 30 08:55:00 db-1 app: slow query"
send "<28>Nov 30 08:55:00 db-1 app: slow query"
send "<30>Nov 30 08:55:00 backup-2 backupd[7]: backup job completed"

MAIL_CHECK="$T/mail/report-server-check-1795996800"
wait_file() {
	i=0
	while [ $i -lt ${3:-200} ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
check "the 09:00 server check reaches the exec hook with its subject" \
    wait_file "$MAIL_CHECK" "^Subject: sopd server check 2026-11-30 09:00 JST"
check "the hook reads the text report on stdin: web-1, 3 errors (2 on Sunday)" \
    grep -q "host: web-1, errors 24h: 3, warnings 24h: 0, open incidents: 2" "$MAIL_CHECK"
check "the text lists db-1 with 1 error (Sunday), 2 warnings and 1 open incident" \
    grep -q "host: db-1, errors 24h: 1, warnings 24h: 2, open incidents: 1" "$MAIL_CHECK"
web_has() { [ -f "$T/web.jsonl" ] && jq -se "$1" "$T/web.jsonl" >/dev/null; }
check "the webhook gets the server check as JSON" wait_for web_has \
    '[.[] | select(.job == "server-check")] | length == 1 and (.[0].report.hosts | map(select(.host == "web-1"))[0].open_incidents == 2)'
check "the run is recorded, at most 5 minutes after 09:00" sh -c \
    "curl -sf $API/api/v1/schedule | jq -e '[.runs[] | select(.job == \"server-check\")][0] |
    .scheduled == \"2026-11-30T00:00:00Z\" and .outcome == \"ok\" and
    ((.ran_at | fromdateiso8601) - (.scheduled | fromdateiso8601)) < 300' >/dev/null"

MAIL_PERF="$T/mail/report-performance-report-1796000400"
MAIL_WEEK="$T/mail/report-weekly-report-1796000400"
check "the Monday 10:00 performance report reaches the hook" \
    wait_file "$MAIL_PERF" "^Subject: sopd performance report 2026-11-30 10:00 JST" 600
check "its noisiest host of last week is web-1 (2 incidents)" \
    grep -q "host: web-1.*2" "$MAIL_PERF"
check "the weekly report reaches the hook" \
    wait_file "$MAIL_WEEK" "^Subject: sopd weekly report 2026-11-30 10:00 JST"
check "the webhook gets the performance report: noisiest rule disk-full" \
    wait_for web_has '[.[] | select(.job == "performance-report")][0].report.noisiest_rules[0].rule == "disk-full"'
check "the performance report lists no host (nothing polled)" \
    web_has '[.[] | select(.job == "performance-report")][0].report.hosts == []'
check "the backup check ran at 10:00 (a business day) and is recorded" \
    wait_for sh -c "test \"\$(curl -sf $API/api/v1/schedule | jq '[.runs[] | select(.job == \"backup-check\")] | length')\" = 1"
check "its record: backup-2 ok, backup-1 missing" sh -c \
    "curl -sf $API/api/v1/schedule | jq -e '[.runs[] | select(.job == \"backup-check\")][0].detail |
    startswith(\"ok 1, missing 1\")' >/dev/null"
check "the daily report ran at 09:00, stored, not delivered" sh -c \
    "test \"$(runs daily-report)\" = 1 && ! ls $T/mail/report-daily-report-* >/dev/null 2>&1"

ID=$(api "/api/v1/reports/stored?job=server-check" | jq -r '.reports[0].id')
check "the server check is stored" test -n "$ID" -a "$ID" != null
check "the stored report reads back as JSON" sh -c \
    "curl -sf $API/api/v1/reports/stored/$ID | jq -e '.report.hosts_checked == 3 and ([.report.hosts[].host] | sort == [\"backup-2\", \"db-1\", \"web-1\"])' >/dev/null"
check "as HTML with an inline SVG chart and no external resource" sh -c \
    "curl -sf '$API/api/v1/reports/stored/$ID?format=html' > $T/r.html &&
    grep -q '<svg' $T/r.html && ! grep -Eq '(src|href)=' $T/r.html"
check "sopctl report stored ID prints the text" sh -c \
    "'$SOPCTL' -u $API report stored $ID | grep -q 'host: web-1'"
check "sopctl schedule lists the jobs and runs" sh -c \
    "'$SOPCTL' -u $API schedule | grep -q '^server-check .*09:00 .*daily'"
check "an unknown stored report is a 404" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' $API/api/v1/reports/stored/99999)\" = 404"
stop_sopd || notok "sopd stops on Monday"

# Down until Wednesday 11:00: Tuesday's and Wednesday's checks were missed.
LD_PRELOAD=$FT FAKETIME="@2026-12-02 11:00:00" FAKETIME_NO_CACHE=1 \
    start_sopd || { notok "sopd starts on Wednesday"; exit 1; }
check "the missed server check runs once after the restart" \
    wait_for sh -c "test \"\$(curl -sf $API/api/v1/schedule | jq '[.runs[] | select(.job == \"server-check\")] | length')\" = 2"
check "it is Wednesday's 09:00 occurrence, run at 11:00" sh -c \
    "curl -sf $API/api/v1/schedule | jq -e '[.runs[] | select(.job == \"server-check\")][0] |
    .scheduled == \"2026-12-02T00:00:00Z\" and (.ran_at | startswith(\"2026-12-02T02:\"))' >/dev/null"
check "its report reaches the hook" wait_file "$T/mail/report-server-check-1796169600" \
    "^Subject: sopd server check 2026-12-02 09:00 JST"
sleep 1
check "Tuesday's occurrence does not run as well" \
    test ! -e "$T/mail/report-server-check-1796083200"
check "the weekly report does not run again" test "$(runs weekly-report)" = 1
check "Monday's daily report read on Wednesday has Monday's backup record" sh -c \
    "curl -sf '$API/api/v1/reports/daily?date=2026-11-30' | jq -e '
    ([.backups.hosts[] | select(.host == \"backup-2\")][0].state == \"ok\") and
    ([.backups.hosts[] | select(.host == \"backup-1\")][0].state == \"missing\")' >/dev/null"
check "while backup-2's live state on Wednesday is missing" sh -c \
    "curl -sf '$API/api/v1/expectations' | jq -e '
    [.expectations[] | select(.host == \"backup-2\")][0].state == \"missing\"' >/dev/null"
stop_sopd || notok "sopd stops on Wednesday"
LD_PRELOAD=$FT FAKETIME="@2026-12-02 11:05:00" FAKETIME_NO_CACHE=1 \
    start_sopd || { notok "sopd starts again"; exit 1; }
sleep 1
check "a second restart runs nothing twice" test "$(runs server-check)" = 2
next_check() {
	api /api/v1/schedule | jq -e ".jobs[] | select(.job == \"server-check\") | .next == \"$1\"" >/dev/null
}
check "the next server check is Thursday 09:00" next_check "2026-12-03T00:00:00Z"
sed -i 's/server-check:       { at: "09:00"/server-check:       { at: "12:00"/' "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
check "a reload moves it to today 12:00" wait_for next_check "2026-12-02T03:00:00Z"
check "and runs nothing missed" test "$(runs server-check)" = 2
sed -i 's/server-check:       { at: "12:00"/server-check:       { at: "noon"/' "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
check "a bad time is refused on reload, the schedule kept" sh -c \
    "sleep 1; curl -sf $API/api/v1/stats >/dev/null && grep -q 'schedule: server-check: at: expected HH:MM' $T/sopd.log"
check "the next server check is still today 12:00" next_check "2026-12-02T03:00:00Z"
check "sopd stops cleanly" stop_sopd
