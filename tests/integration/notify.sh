#!/bin/bash
# notify.sh: notifications out from the real daemon: a critical incident
# opening tells L2 (a real snmptrapd by inform, a real rsyslog over RELP, an
# exec hook) and the client (a webhook); stats and /metrics count them.
. "$(dirname "$0")/../lib.sh"

P_HOOK=$((BASE + 5))
P_RELP=$((BASE + 6))
HELPERS=""
stop_helpers() {
	for p in $HELPERS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	HELPERS=""
}
trap 'stop_helpers; cleanup' EXIT

sh "$ROOT/tests/mibs.sh" >/dev/null 2>&1

# A real snmptrapd that logs what it receives, with names from our MIB.
cat > "$T/snmptrapd.conf" <<EOF
disableAuthorization yes
authCommunity log,execute,net public
EOF
snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" \
    -M "$ROOT/mibs:$ROOT/build/ietf-mibs" -m ALL udp:127.0.0.1:$P_SPARE \
    >/dev/null 2>&1 &
HELPERS="$HELPERS $!"

# A real rsyslog receiving RELP into a file, when installed.
HAVE_RSYSLOG=0
if [ -x /usr/sbin/rsyslogd ] &&
    [ -f /usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so ]; then
	HAVE_RSYSLOG=1
	cat > "$T/rsyslog.conf" <<EOF
global(workDirectory="$T")
module(load="imrelp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="fromsopd") { action(type="omfile" file="$T/relp.out" template="raw") }
input(type="imrelp" port="$P_RELP" address="127.0.0.1" ruleset="fromsopd")
EOF
	/usr/sbin/rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" \
	    >"$T/rsyslog.log" 2>&1 &
	HELPERS="$HELPERS $!"
fi

# A webhook receiver (python3's http.server), when python3 is there.
HAVE_HOOK=0
if command -v python3 >/dev/null 2>&1; then
	HAVE_HOOK=1
	cat > "$T/hook.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(self.headers.get("Idempotency-Key", "").encode() +
                    b" " + body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
	python3 "$T/hook.py" "$P_HOOK" "$T/hook.out" >/dev/null 2>&1 &
	HELPERS="$HELPERS $!"
fi

# The exec hook: every SOPD_ variable, one notice per file.
cat > "$T/page.sh" <<EOF
#!/bin/sh
env | grep '^SOPD_' | sort > "$T/page.\$SOPD_IDEMPOTENCY_KEY"
EOF
chmod +x "$T/page.sh"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: n-crit
    match:
      message: 'NCRIT (?<what>\w+)'
    clear:
      message: 'NOK (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF

# -t names the position of a mistake in the notify: section.
RULES=$T/rules.yaml write_config <<EOF
notify:
  targets:
    nms: { type: snmp-inform, address: 127.0.0.1 }
  levels:
    L2: [nms, nobody]
EOF
"$SOPD" -t -c "$T/sopd.yaml" > "$T/check.out" 2>&1
check "sopd -t refuses a bad notify: section" test $? -ne 0
check "sopd -t names file:line:col of a bad address" \
    grep -q "sopd.yaml:[0-9]*:[0-9]*: notify: expected an address" "$T/check.out"
check "sopd -t names file:line:col of an unknown target" \
    grep -q "sopd.yaml:[0-9]*:[0-9]*: notify: level L2: unknown target \"nobody\"" \
    "$T/check.out"

RULES=$T/rules.yaml write_config <<EOF
notify:
  retry: { initial: 1s, max: 2s, max_attempts: 10 }
  targets:
    nms:       { type: snmp-inform, address: 127.0.0.1:$P_SPARE, community: public, retries: 2, timeout: 1s }
    collector: { type: syslog, transport: relp, address: 127.0.0.1:$P_RELP, app_name: sopd }
    pager:     { type: exec, command: $T/page.sh, timeout: 5s }
    client:    { type: webhook, url: "http://127.0.0.1:$P_HOOK/hook", timeout: 2s }
  levels:
    L2: [collector, nms, pager]
    L3: [collector, nms, pager]
    client: [client]
EOF
"$SOPD" -t -c "$T/sopd.yaml" > "$T/check.out" 2>&1
check "sopd -t accepts the notify: section" test $? -eq 0
sleep 0.5
start_sopd || exit 1

printf '<11>Nov 27 09:00:00 web01 app: NCRIT disk' > /dev/udp/127.0.0.1/$P_SYSLOG
wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=n-crit' | jq -e '.incidents | length == 1'"
ID=$(api "/api/v1/incidents?rule=n-crit" | jq -r '.incidents[0].id')
check "a critical incident opened" test -n "$ID" -a "$ID" != null

# wait_file FILE PATTERN: up to 10 s for a line matching PATTERN.
wait_file() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# wait_file_glob PREFIX PATTERN: the same for any file PREFIX* (the key
# may end in a step number).
wait_file_glob() {
	i=0
	while [ $i -lt 100 ]; do
		cat "$1"* 2>/dev/null | grep -q "$2" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
check "snmptrapd received sopIncidentOpened by inform" \
    wait_file "$T/traps.log" "sopIncidentOpened"
check "the inform carries sopIncidentHost.$ID = web01" \
    wait_file "$T/traps.log" "sopIncidentHost.$ID.*web01"
check "the exec hook ran with the incident in its environment" \
    wait_file_glob "$T/page.$ID-opened" "^SOPD_INCIDENT_ID=$ID\$"
check "the exec hook saw SOPD_SEVERITY=critical and SOPD_LEVEL=L2" \
    sh -c "grep -q '^SOPD_SEVERITY=critical$' '$T/page.$ID-opened'* &&
        grep -q '^SOPD_LEVEL=L2$' '$T/page.$ID-opened'*"
if [ $HAVE_RSYSLOG = 1 ]; then
	check "rsyslog received the RFC 5424 notice over RELP" \
	    wait_file "$T/relp.out" "\[sopIncident@32473 id=\"$ID\" severity=\"critical\" level=\"L2\" kind=\"opened\""
else
	ok "# SKIP rsyslog with imrelp is not installed"
fi
if [ $HAVE_HOOK = 1 ]; then
	check "the webhook got the JSON notice with its Idempotency-Key" \
	    wait_file "$T/hook.out" "^$ID-opened[-0-9]* {.*\"kind\":\"opened\""
else
	ok "# SKIP python3 is not installed (webhook receiver)"
fi

# stats_ok TARGET: that target counted one sent notice at least.
stats_ok() {
	api /api/v1/stats | jq -e ".notify.targets.$1.sent >= 1" >/dev/null
}
check "/api/v1/stats counts the inform as sent" wait_for stats_ok nms
check "/api/v1/stats counts the exec hook as sent" wait_for stats_ok pager
check "/metrics has sopd_notify_sent_total per target" \
    sh -c "curl -sf '$API/metrics' | grep -q '^sopd_notify_sent_total{target=\"nms\",type=\"snmp-inform\"} [1-9]'"

# Resolving tells the levels that heard of the incident.
printf '<11>Nov 27 09:01:00 web01 app: NOK disk' > /dev/udp/127.0.0.1/$P_SYSLOG
check "snmptrapd received sopIncidentResolved" \
    wait_file "$T/traps.log" "sopIncidentResolved"
check "the exec hook ran for the resolution" \
    wait_file_glob "$T/page.$ID-resolved" "^SOPD_KIND=resolved\$"

# A reload keeps the notifier and its counters.
kill -HUP "$SOPD_PID"
sleep 0.5
check "after a reload the counters are kept" stats_ok nms
check "sopd still alive" alive
check "sopd stops cleanly" stop_sopd

# --- Durable notices: a webhook target that is down while sopd is killed
# with -9; after the restart the notice arrives, with the same key. ---
P_HOOK2=$((BASE + 7))
rm -rf "$T/var"
: > "$T/sopd.log"
RULES=$T/rules.yaml write_config <<EOF
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 100 }
  targets:
    client: { type: webhook, url: "http://127.0.0.1:$P_HOOK2/hook", timeout: 1s }
  levels:
    client: [client]
EOF
start_sopd || exit 1
printf '<11>Nov 27 09:02:00 web02 app: NCRIT fan' > /dev/udp/127.0.0.1/$P_SYSLOG
wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=n-crit' | jq -e '.total == 1'"
ID2=$(api "/api/v1/incidents?rule=n-crit" | jq -r '.incidents[0].id')
retried() {
	api /api/v1/stats | jq -e '.notify.targets.client.retried >= 1' >/dev/null
}
check "the webhook target is down: the notice is retried" wait_for retried
KEY=$(sqlite3 "$T/var/sopd.db" "select idem_key from outbox where target = 'client' and state = 'pending'")
check "the pending notice is a row of the outbox" [ "$KEY" = "$ID2-opened-0" ] ||
    echo "# outbox key: '$KEY'"
kill9_sopd
ok "sopd killed with -9 while the notice is pending"
if [ $HAVE_HOOK = 1 ]; then
	python3 "$T/hook.py" "$P_HOOK2" "$T/hook2.out" >/dev/null 2>&1 &
	HELPERS="$HELPERS $!"
	start_sopd || exit 1
	check "after the restart the notice arrives with the same Idempotency-Key" \
	    wait_file "$T/hook2.out" "^$KEY {"
	check "the restart reports the notice taken from the outbox" \
	    grep -q "1 undelivered notices from the outbox" "$T/sopd.log"
	sleep 1
	check "it arrived once" [ "$(grep -c "^$KEY " "$T/hook2.out")" = 1 ]
	gone() {
		[ "$(sqlite3 "$T/var/sopd.db" "select count(*) from outbox")" = 0 ]
	}
	check "the delivered notice's row is deleted" wait_for gone
	check "sopd stops cleanly after the restart" stop_sopd
else
	ok "# SKIP python3 is not installed (webhook receiver)"
fi
stop_helpers
