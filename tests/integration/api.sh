#!/bin/sh
# api.sh: the HTTP API, sopctl and the page against a real sopd fed by logger.
. "$(dirname "$0")/../lib.sh"

# jq_ok PATH FILTER: the API's answer at PATH satisfies a jq filter.
jq_ok() { api "$1" | jq -e "$2" >/dev/null 2>&1; }
# code_is CODE METHOD PATH [BODY]: the HTTP status of a request.
code_is() {
	c=$(curl -s -o "$T/body" -w '%{http_code}' -X "$2" \
	    -H 'Content-Type: application/json' ${4:+--data "$4"} "$API$3")
	[ "$c" = "$1" ] || { echo "# $2 $3: $c $(cat "$T/body")"; return 1; }
	jq -e '.error | type == "string"' "$T/body" >/dev/null 2>&1 ||
	    [ "$1" -lt 400 ]
}
# send TAG PRIORITY MESSAGE: one RFC 3164 line over UDP.
send() {
	logger -n 127.0.0.1 -P "$P_SYSLOG" -d --rfc3164 -t "$1" -p "$2" "$3"
}
# ctl ARGS...: sopctl against this test's sopd, output in $T/out, $T/err.
ctl() { "$SOPCTL" -u "$API" "$@" >"$T/out" 2>"$T/err"; }
# ctl_rc RC ARGS...: sopctl exits with RC.
ctl_rc() { want=$1; shift; ctl "$@"; rc=$?; [ $rc -eq "$want" ] ||
    { echo "# sopctl $*: exit $rc: $(cat "$T/err")"; return 1; }; }
# out_jq FILTER: sopctl's output satisfies a jq filter.
out_jq() { jq -e "$1" "$T/out" >/dev/null 2>&1; }
out_has() { grep -q -- "$1" "$T/out"; }
err_has() { grep -q -- "$1" "$T/err"; }
id_of() { api "/api/v1/incidents?rule=$1" | jq -r '.incidents[0].id'; }

# An exec hook records each notice's kind and note, one file per notice.
cat > "$T/page.sh" <<EOF
#!/bin/sh
printf '%s|%s\n' "\$SOPD_KIND" "\$SOPD_NOTE" > "$T/notice.\$SOPD_IDEMPOTENCY_KEY"
EOF
chmod +x "$T/page.sh"
write_config <<EOF
windows: {patch: []}
notify:
  targets:
    pager: { type: exec, command: $T/page.sh, timeout: 5s }
  levels:
    L1: [pager]
    L2: [pager]
EOF
# notice_is KIND NOTE: a notice of that kind carried that note.
notice_is() { cat "$T"/notice.* 2>/dev/null | grep -qxF "$1|$2"; }
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"

send kernel kern.crit "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
send kernel kern.err "Out of memory: Killed process 4321 (java) total-vm:8388608kB, anon-rss:4194304kB"
check "disk error opens an incident" wait_for jq_ok \
    "/api/v1/incidents?rule=filesystem-error" '.incidents | length == 1'
check "OOM line opens an incident" wait_for jq_ok \
    "/api/v1/incidents?rule=oom-killer" '.incidents | length == 1'
DISK=$(id_of filesystem-error)
OOM=$(id_of oom-killer)
HOST=$(api "/api/v1/incidents/$DISK" | jq -r .host)

# Health, list, filters.
check "healthz ok with 2 active" jq_ok /healthz \
    '.status == "ok" and .incidents_active == 2 and (.uptime | type == "number")'
check "list: 2 incidents, newest first" jq_ok /api/v1/incidents \
    '(.incidents | length == 2) and .total == 2 and .incidents[0].id > .incidents[1].id'
check "list: incident has the contract's fields" jq_ok /api/v1/incidents \
    '.incidents[0] | has("id") and has("rule") and has("key") and has("severity")
     and has("state") and has("level") and has("host") and has("title")
     and has("count") and has("first_seen") and has("last_seen")
     and has("resolved_at") and has("next_escalation") and has("in_window")'
check "list: times are RFC 3339 UTC" jq_ok /api/v1/incidents \
    '.incidents[0].last_seen | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")'
check "filter severity=critical" jq_ok "/api/v1/incidents?severity=critical" \
    ".incidents | length == 1 and .[0].id == $DISK"
check "filter severity=low" jq_ok "/api/v1/incidents?severity=low" \
    '.incidents | length == 0'
check "filter host" jq_ok "/api/v1/incidents?host=$HOST" '.incidents | length == 2'
HOST_UP=$(printf '%s' "$HOST" | tr '[:lower:]' '[:upper:]')
check "filter host ignores case, as rules do" jq_ok "/api/v1/incidents?host=$HOST_UP" \
    '.incidents | length == 2'
check "filter host glob ignores case" jq_ok "/api/v1/incidents?host=$(printf '%s' "$HOST_UP" | cut -c1)*" \
    '.incidents | length == 2'
check "filter host (no match)" jq_ok "/api/v1/incidents?host=nohost" \
    '.incidents | length == 0'
check "filter state=open" jq_ok "/api/v1/incidents?state=open" '.incidents | length == 2'
check "paging limit=1&offset=1" jq_ok "/api/v1/incidents?limit=1&offset=1" \
    ".incidents | length == 1 and .[0].id == $DISK"
check "bad state is 400" code_is 400 GET "/api/v1/incidents?state=bogus"
check "bad severity is 400" code_is 400 GET "/api/v1/incidents?severity=urgent"
check "limit 0 is 400" code_is 400 GET "/api/v1/incidents?limit=0"
check "limit 1001 is 400" code_is 400 GET "/api/v1/incidents?limit=1001"
check "unknown incident is 404" code_is 404 GET /api/v1/incidents/999999
check "bad incident id is 400" code_is 400 GET /api/v1/incidents/abc
check "unknown path is 404" code_is 404 GET /api/v1/nothing
check "GET on a POST route is 405" code_is 405 GET "/api/v1/incidents/$DISK/ack"
# Errors evhttp would answer itself are JSON too, with the right status.
# allow_is METHOD PATH ALLOW: a 405 naming the allowed methods.
allow_is() {
	curl -s -D "$T/h" -o "$T/body" -X "$1" "$API$2" >/dev/null &&
	    grep -qi "^allow: $3"$'\r'"\$" "$T/h" &&
	    jq -e '.error == "method not allowed"' "$T/body" >/dev/null
}
check "PUT is 405 (JSON)" code_is 405 PUT /api/v1/incidents
check "DELETE is 405 (JSON)" code_is 405 DELETE "/api/v1/incidents/$DISK"
check "PATCH is 405 (JSON)" code_is 405 PATCH "/api/v1/incidents/$DISK"
check "405 names GET, HEAD" allow_is PUT /api/v1/incidents "GET, HEAD"
check "405 names POST" allow_is GET "/api/v1/incidents/$DISK/ack" "POST"
check "405 names GET, HEAD, POST" allow_is DELETE /api/v1/windows "GET, HEAD, POST"
check "unknown method is 501 (JSON)" code_is 501 FROB /api/v1/incidents
head -c 70000 /dev/zero | tr '\0' 'x' > "$T/big"
big_is_413() {
	c=$(curl -s -o "$T/body" -D "$T/h" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' $1 --data-binary @"$T/big" \
	    "$API/api/v1/incidents/$OOM/notes")
	[ "$c" = 413 ] && grep -qi '^content-type: application/json' "$T/h" &&
	    jq -e '.error | test("65536")' "$T/body" >/dev/null ||
	    { echo "# $c $(head -c 200 "$T/body")"; return 1; }
}
check "body over 64 KiB is 413 (JSON)" big_is_413 "-H Expect:"
check "body over 64 KiB with Expect: 100-continue is 413 (JSON)" big_is_413 \
    "-H Expect:100-continue"
raw_is_400() {
	bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$P_HTTP"'
	    printf "%s\r\n\r\n" "$1" >&3; cat <&3' _ "$1" > "$T/raw"
	head -1 "$T/raw" | grep -q '^HTTP/1.1 400 ' &&
	    grep -qi '^content-type: application/json' "$T/raw" &&
	    tail -1 "$T/raw" | jq -e '.error | type == "string"' >/dev/null ||
	    { echo "# $(head -c 300 "$T/raw")"; return 1; }
}
check "malformed request line is 400 (JSON)" raw_is_400 "GET"
check "malformed header is 400 (JSON)" raw_is_400 "$(printf 'GET / HTTP/1.1\r\nno colon here')"
check "keep-alive still works after an error" sh -c "curl -sf -o /dev/null \
    -X PUT '$API/api/v1/incidents' '$API/healthz'; curl -sf '$API/healthz' >/dev/null"
check "show: title and events" jq_ok "/api/v1/incidents/$DISK" \
    '(.title | test("sda1")) and .severity == "critical" and (.events | length >= 1)
     and (.events[0].message | test("EXT4-fs error"))'

# sopctl: list and show.
check "sopctl list (table)" ctl_rc 0 list
check "sopctl list shows both" sh -c "grep -q '^ID ' '$T/out' &&
    grep -q '^$DISK .*critical' '$T/out' && grep -q '^$OOM .*high' '$T/out'"
check "sopctl --json list" ctl_rc 0 --json list
check "sopctl --json list is the API's JSON" out_jq '.incidents | length == 2'
check "sopctl list --severity high" ctl_rc 0 --json list --severity high
check "sopctl list --severity high: one" out_jq ".incidents | length == 1 and
    .[0].id == $OOM"
check "sopctl show" ctl_rc 0 show "$DISK"
check "sopctl show prints fields and events" sh -c "grep -q '^Incident $DISK: ' '$T/out' &&
    grep -q 'severity  *critical' '$T/out' && grep -q 'EXT4-fs error' '$T/out' &&
    grep -q '^History' '$T/out'"
check "sopctl show --json" ctl_rc 0 show "$DISK" --json
check "sopctl show --json is JSON" out_jq ".id == $DISK"

# Lifecycle: ack with a note, notes, resolve; wrong transitions.
check "sopctl ack with note" ctl_rc 0 ack "$DISK" -m "checking the disk" --actor alice
check "sopctl ack says acknowledged" out_has acknowledged
check "incident acknowledged by alice" jq_ok "/api/v1/incidents/$DISK" \
    '.state == "acknowledged" and (.history | map(select(.actor == "alice"
     and .note == "checking the disk")) | length == 1)'
check "the acknowledgement's notice carries its note" wait_for notice_is \
    acknowledged "checking the disk"
check "second ack fails (exit 1)" ctl_rc 1 ack "$DISK"
check "second ack names the reason" err_has "already"
check "second ack over HTTP is 409" code_is 409 POST "/api/v1/incidents/$DISK/ack" '{}'
check "ack of unknown incident is 404" code_is 404 POST /api/v1/incidents/999999/ack '{}'
check "invalid JSON body is 400" code_is 400 POST "/api/v1/incidents/$OOM/ack" '{"actor":'
check "note without text is 400" code_is 400 POST "/api/v1/incidents/$OOM/notes" '{"actor":"bob"}'
check "form content type is refused" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' \
    -X POST --data 'a=b' '$API/api/v1/incidents/$OOM/ack') = 415 ]"
check "cross-origin POST is refused" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' \
    -X POST -H 'Origin: http://evil.example' '$API/api/v1/incidents/$OOM/ack') = 403 ]"
check "note over HTTP" code_is 200 POST "/api/v1/incidents/$OOM/notes" \
    '{"actor":"bob","note":"added swap"}'
check "sopctl note" ctl_rc 0 note "$DISK" -m "cable replaced"
check "sopctl note without -m is usage" ctl_rc 2 note "$DISK"
check "notes are in the history" jq_ok "/api/v1/incidents/$DISK" \
    '.history | map(select(.action == "note" and .note == "cable replaced")) | length == 1'
check "sopctl resolve" ctl_rc 0 resolve "$DISK" -m "fsck done"
check "the resolution's notice carries its note" wait_for notice_is \
    resolved "fsck done"
check "incident resolved" jq_ok "/api/v1/incidents/$DISK" \
    '.state == "resolved" and .resolved_at != null'
check "resolve again is 409" code_is 409 POST "/api/v1/incidents/$DISK/resolve"
check "one active left" jq_ok "/api/v1/incidents?state=active" \
    ".incidents | length == 1 and .[0].id == $OOM"
check "state=resolved lists it" jq_ok "/api/v1/incidents?state=resolved" \
    ".incidents | length == 1 and .[0].id == $DISK"
check "sopctl list: only the active one" sh -c "'$SOPCTL' -u '$API' list > '$T/out' &&
    grep -q '^$OOM ' '$T/out' && ! grep -q '^$DISK ' '$T/out'"
check "sopctl list --all: both" sh -c "'$SOPCTL' -u '$API' list --all > '$T/out' &&
    grep -q '^$OOM ' '$T/out' && grep -q '^$DISK ' '$T/out'"

# Stats, metrics, windows, reports.
check "stats: input counters" jq_ok /api/v1/stats \
    '.inputs.syslog_udp.received >= 2 and .inputs.syslog_udp.accepted >= 2
     and (.inputs.syslog_udp.reasons | has("malformed"))'
check "stats: rule counters with file:line" jq_ok /api/v1/stats \
    '.rules | map(select(.name == "filesystem-error")) | .[0].matched == 1
     and (.[0].file | test("20-storage.yaml$")) and .[0].line > 0'
check "stats: incidents and daemon" jq_ok /api/v1/stats \
    '.incidents.active == 1 and .incidents.by_severity.high == 1
     and .daemon.version == "0.1.0" and .daemon.generation >= 0
     and (.daemon.last_reload | has("ok"))'
check "stats: the loop's longest commit stall, after commits" jq_ok \
    /api/v1/stats '.store.commits > 0 and (.loop.max_stall_ms | type) ==
     "number" and .loop.max_stall_ms > 0 and .loop.max_stall_ms < 60000'
check "sopctl stats" ctl_rc 0 stats
check "sopctl stats lists inputs and rules" sh -c "grep -q '^syslog_udp' '$T/out' &&
    grep -q 'filesystem-error' '$T/out' && grep -q '^Incidents: 1 active' '$T/out'"
check "sopctl health" ctl_rc 0 health
check "sopctl health says ok" out_has "^ok: "
check "metrics: rule counter" sh -c "curl -sf '$API/metrics' |
    grep -q '^sopd_rule_matched_total{rule=\"filesystem-error\"} 1\$'"
check "metrics: active by severity" sh -c "curl -sf '$API/metrics' |
    grep -q '^sopd_incidents_active{severity=\"high\"} 1\$'"
check "metrics: input counter" sh -c "curl -sf '$API/metrics' |
    grep -Eq '^sopd_input_received_total\\{input=\"syslog_udp\"\\} [2-9]'"
check "windows" jq_ok /api/v1/windows '.windows | type == "array"'
check "reports are served (tests/integration/report.sh has more)" code_is 200 GET /api/v1/reports/daily

# The page.
check "page served with CSP" sh -c "curl -sf -D '$T/h' -o '$T/page' '$API/' &&
    grep -qi '^content-security-policy: default-src' '$T/h' &&
    grep -qi '^x-content-type-options: nosniff' '$T/h' && grep -q app.js '$T/page'"
check "page script served" sh -c "curl -sf -D '$T/h' -o /dev/null '$API/static/app.js' &&
    grep -qi '^content-type: text/javascript' '$T/h'"
check "no traversal" code_is 404 GET "/static/..%2f..%2fMakefile"

# sopctl's exit codes.
check "sopctl: unknown command is 2" ctl_rc 2 frobnicate
check "sopctl: bad id is 2" ctl_rc 2 show abc
check "sopctl: unknown incident is 1" ctl_rc 1 show 999999
check "sopctl: API message printed" err_has "999999"
check "sopctl: unreachable is 3" sh -c "'$SOPCTL' -u http://127.0.0.1:$P_SPARE health 2>'$T/err';
    [ \$? -eq 3 ] && grep -q 'cannot reach sopd at http://127.0.0.1:$P_SPARE' '$T/err'"

# sopctl over https (libevent's client with OpenSSL): the server's
# certificate is checked against --cacert (or $SOPD_CACERT), name included.
# openssl s_server -WWW stands in for the appliance's https listener and
# serves the /healthz answer that sopd gave above.
mkdir -p "$T/www"
curl -sf "$API/healthz" > "$T/www/healthz"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sopd-test \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" \
    2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
    -addext subjectAltName=IP:127.0.0.2 -keyout "$T/other.key" \
    -out "$T/other.crt" 2>/dev/null
(cd "$T/www" && exec openssl s_server -quiet -WWW -accept 127.0.0.1:$P_SPARE \
    -cert "$T/tls.crt" -key "$T/tls.key" </dev/null >/dev/null 2>&1) &
SSERVER=$!
tls_up() { (exec 3<>/dev/tcp/127.0.0.1/$P_SPARE) 2>/dev/null; }
wait_for tls_up
HTTPS="https://127.0.0.1:$P_SPARE"
check "sopctl over https with the server's certificate given" sh -c \
    "'$SOPCTL' -u $HTTPS --cacert '$T/tls.crt' health > '$T/out' 2>&1 &&
    grep -q 'sopd 0.1.0 at $HTTPS' '$T/out'"
check "sopctl over https takes the certificate from \$SOPD_CACERT" sh -c \
    "SOPD_CACERT='$T/tls.crt' '$SOPCTL' -u $HTTPS --json health | jq -e '.uptime >= 0'"
check "sopctl over https refuses a certificate it cannot verify (exit 3)" sh -c \
    "'$SOPCTL' -u $HTTPS health 2>'$T/err'; [ \$? -eq 3 ] &&
    grep -q 'cannot reach sopd at $HTTPS' '$T/err'"
check "sopctl over https refuses a certificate signed by another CA (exit 3)" sh -c \
    "'$SOPCTL' -u $HTTPS --cacert '$T/other.crt' health 2>/dev/null; [ \$? -eq 3 ]"
check "sopctl over https refuses a certificate for another name (exit 3)" sh -c \
    "'$SOPCTL' -u https://localhost:$P_SPARE --cacert '$T/tls.crt' health 2>/dev/null; [ \$? -eq 3 ]"
kill $SSERVER 2>/dev/null; wait $SSERVER 2>/dev/null

# sopctl's help and version, and times in the calendar's zone (Asia/Tokyo
# here) with the offset, whatever the zone sopctl runs in.
check "sopctl --help exits 0" ctl_rc 0 --help
check "sopctl --help prints the usage on stdout" out_has "^usage: sopctl"
check "sopctl --version" ctl_rc 0 --version
check "sopctl --version prints the version" out_has "^sopctl 0\.1\.0\$"
check "calendar: zone and offset" jq_ok /api/v1/calendar \
    '.timezone == "Asia/Tokyo" and .utc_offset == "+09:00" and
     (.local_time | endswith("+09:00"))'
# tokyo ISO: an RFC 3339 UTC time as sopctl prints it in Asia/Tokyo.
tokyo() { TZ=Asia/Tokyo date -d "$1" '+%Y-%m-%d %H:%M:%S +09:00'; }
FIRST=$(api "/api/v1/incidents/$DISK" | jq -r .first_seen)
check "sopctl show prints times in the calendar's zone" sh -c \
    "TZ=America/New_York '$SOPCTL' -u '$API' show $DISK |
    grep -q '^  first seen  *$(tokyo "$FIRST") ('"
check "sopctl show prints history times in the calendar's zone" sh -c \
    "TZ=UTC '$SOPCTL' -u '$API' show $DISK | grep -q '^  [0-9-]* [0-9:]* +09:00 '"
# A change window on this host holds a new incident; once resolved, the
# incident is no longer "held" in list --all.
START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
check "change window on this host" code_is 201 POST /api/v1/windows \
    "{\"id\":\"CHG-T\",\"title\":\"t\",\"hosts\":[\"$HOST\"],\"start\":\"$START\",\"end\":\"$END\",\"approved\":true,\"severities\":[\"critical\",\"high\",\"medium\"]}"
SM=$(TZ=Asia/Tokyo date -d "$START" '+%Y-%m-%d %H:%M +09:00')
EM=$(TZ=Asia/Tokyo date -d "$END" '+%Y-%m-%d %H:%M +09:00')
check "sopctl windows prints START and END whole, in the calendar's zone" sh -c \
    "TZ=America/New_York '$SOPCTL' -u '$API' windows | grep -F 'CHG-T' |
    grep -qF '$SM .. $EM '"
send kernel kern.crit "EXT4-fs error (device sdz9): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
held_id() { api "/api/v1/incidents?rule=filesystem-error&state=open" |
    jq -e -r '.incidents[0] | select(.in_window == "CHG-T") | .id'; }
check "the window holds the new incident" wait_for held_id
HELD=$(held_id)
check "sopctl list shows it held" sh -c "'$SOPCTL' -u '$API' list |
    grep -q '^$HELD .* held '"
check "sopctl resolve the held incident" ctl_rc 0 resolve "$HELD" -m done
check "sopctl list --all: a resolved incident is not held" sh -c \
    "'$SOPCTL' -u '$API' list --all > '$T/out' && grep -q '^$HELD ' '$T/out' &&
    ! grep -q '^$HELD .* held ' '$T/out'"

check "sopd still alive" alive
check "sopd stops cleanly" stop_sopd
