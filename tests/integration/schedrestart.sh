#!/bin/bash
# schedrestart.sh: what the scheduled jobs keep across a restart or crash.
# A report whose exec hook and webhook fail is still delivered after sopd
# was killed and started again, exactly once per target, and not again
# after a further restart.
. "$(dirname "$0")/../lib.sh"

command -v python3 >/dev/null 2>&1 || { notok "python3 is installed"; exit 0; }
export TZ=Asia/Tokyo
pin_clock "2026-11-30 09:30:00 +0900"

P_HOOK=$P_SPARE
HELPER=""
trap '[ -n "$HELPER" ] && kill $HELPER 2>/dev/null; cleanup' EXIT

cat > "$T/hook.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

# The mail hook fails while $T/down exists; each delivery is one line.
cat > "$T/mail.sh" <<SH
#!/bin/sh
echo "\$SOPD_IDEMPOTENCY_KEY" >> "$T/attempts"
[ -e "$T/down" ] && exit 1
{ echo "Subject: \$SOPD_SUBJECT"; cat; } > "$T/mail.txt"
echo "\$SOPD_IDEMPOTENCY_KEY" >> "$T/delivered"
SH
chmod +x "$T/mail.sh"
touch "$T/down"

write_config <<EOF
notify:
  retry: { max_attempts: 100, initial: 1s, max: 2s }
  targets:
    mail: { type: exec, command: $T/mail.sh, timeout: 10s }
    web:  { type: webhook, url: "http://127.0.0.1:$P_HOOK/report", timeout: 2s }
  levels:
    client: [mail, web]
schedule:
  server-check: { at: "09:00", days: daily, notify: client }
EOF

lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
# wait_n FILE N [tenths]: until FILE has at least N lines.
wait_n() {
	i=0
	while [ $i -lt ${3:-300} ]; do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

start_sopd || { notok "sopd starts"; exit 1; }
check "a server check is run by hand" sh -c \
    "curl -sf -X POST $API/api/v1/schedule/server-check/run >/dev/null"
check "the exec hook fails and is retried" wait_n "$T/attempts" 2
check "the webhook fails and is retried" wait_for sh -c \
    "test \$(grep -c 'notify web: report-server-check-.* failed' $T/sopd.log) -ge 2"
kill9_sopd

# The targets work again: the report arrives after the restart, once each.
rm -f "$T/down"
python3 "$T/hook.py" "$P_HOOK" "$T/web.jsonl" >/dev/null 2>&1 &
HELPER=$!
start_sopd || { notok "sopd starts after a crash"; exit 1; }
check "after the crash the exec hook gets the report" wait_n "$T/delivered" 1
check "with its subject and text" grep -q "^Subject: sopd server check 2026-11-30 09:3" "$T/mail.txt"
check "the webhook gets the report" wait_n "$T/web.jsonl" 1
check "as the server check's JSON" sh -c \
    "jq -se '.[0].job == \"server-check\" and .[0].report.report == \"server-check\"' $T/web.jsonl >/dev/null"
sleep 4
check "the exec hook got it exactly once" test "$(lines "$T/delivered")" = 1
check "the webhook got it exactly once" test "$(lines "$T/web.jsonl")" = 1
check "the report is stored once" sh -c \
    "curl -sf '$API/api/v1/reports/stored?job=server-check' | jq -e '.reports | length == 1' >/dev/null"
check "sopd stops" stop_sopd
start_sopd || { notok "sopd starts again"; exit 1; }
sleep 4
check "a further restart delivers nothing again" sh -c \
    "test \$(wc -l < $T/delivered) = 1 && test \$(wc -l < $T/web.jsonl) = 1"

# The server check's errors and warnings of the last 24 hours: stored.
send() { printf '%s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
# counts HOST: "errors warnings" of a server check run now.
counts() {
	curl -sf -X POST "$API/api/v1/schedule/server-check/run" >/dev/null || return 1
	_id=$(api "/api/v1/reports/stored?job=server-check" | jq -r '.reports[0].id')
	api "/api/v1/reports/stored/$_id" |
	    jq -r ".report.hosts[] | select(.host == \"$1\") | \"\\(.errors_24h) \\(.warnings_24h)\""
}
for i in 1 2 3; do send "<27>Nov 30 09:30:00 app-1 app: request $i came back with code 17"; done
send "<28>Nov 30 09:30:00 app-1 app: request 4 was slow"
send "<28>Nov 30 09:30:00 app-1 app: request 5 was slow"
send "<30>Nov 30 09:30:00 app-2 app: request 6 done"
has_counts() { test "$(counts "$1")" = "$2"; }
check "the server check counts app-1's 3 errors and 2 warnings" \
    wait_for has_counts app-1 "3 2"
check "sopd stops" stop_sopd
start_sopd || { notok "sopd starts with the counts stored"; exit 1; }
check "after a restart the server check still counts them" test "$(counts app-1)" = "3 2"
check "and lists app-2, heard before it, with no error" test "$(counts app-2)" = "0 0"
send "<27>Nov 30 09:31:00 app-1 app: request 7 came back with code 17"
check "a new error adds to them" wait_for has_counts app-1 "4 2"
sleep 1
kill9_sopd
start_sopd || { notok "sopd starts after a crash with the counts stored"; exit 1; }
check "after a crash the counts committed before it are kept" test "$(counts app-1)" = "4 2"
check "sopd stops cleanly" stop_sopd
