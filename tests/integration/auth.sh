#!/bin/sh
# auth.sh: who may use the console and the API: users, sessions, CSRF,
# API tokens, the Host allow-list, login rate limits, HTTPS with the
# certificate sopd makes at first start, public reading, login required.
. "$(dirname "$0")/../lib.sh"

# http_settings LINES: write_config's sopd.yaml with LINES in http:.
http_settings() {
	write_config </dev/null
	printf '%s\n' "$1" > "$T/http.extra"
	awk -v f="$T/http.extra" '{ print } /^  listen: 127.0.0.1:'"$P_HTTP"'$/ {
	    while ((getline l < f) > 0) print l }' "$T/sopd.yaml" > "$T/sopd.new"
	mv "$T/sopd.new" "$T/sopd.yaml"
}
# req CODE METHOD PATH [CURL ARGS...]: the HTTP status of a request.
req() {
	_want=$1 _m=$2 _p=$3; shift 3
	_c=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' -X "$_m" \
	    "$@" "$API$_p")
	[ "$_c" = "$_want" ] || { echo "# $_m $_p: $_c $(cat "$T/body")"; return 1; }
}
JSON='Content-Type: application/json'
# login USER PASSWORD: a session in $T/jar, its CSRF token in $CSRF.
login() {
	rm -f "$T/jar"
	req 200 POST /api/v1/login -c "$T/jar" -H "$JSON" \
	    --data "{\"user\":\"$1\",\"password\":\"$2\"}" || return 1
	CSRF=$(jq -r .csrf "$T/body")
	[ -n "$CSRF" ] && [ "$CSRF" != null ]
}
send() {
	logger -n 127.0.0.1 -P "$P_SYSLOG" -d --rfc3164 -t "$1" -p "$2" "$3"
}
# tget PATH: GET with the API token.
tget() { curl -sf -H "Authorization: Bearer $TOKEN" "$API$1"; }
tjq() { tget "$1" | jq -e "$2" >/dev/null 2>&1; }

check "sopctl passwd makes a yescrypt hash" sh -c \
    "echo 'correct horse' | '$SOPCTL' passwd > '$T/alice.hash' &&
    grep -q '^\\\$y\\\$' '$T/alice.hash'"
echo 'viewer pass' | "$SOPCTL" passwd > "$T/victor.hash"
"$SOPCTL" token > "$T/token"
TOKEN=$(sed -n 's/^token: //p' "$T/token")
TOKEN_SHA=$(sed -n 's/^sha256: //p' "$T/token")
"$SOPCTL" token > "$T/admin-token"
ADMIN=$(sed -n 's/^token: //p' "$T/admin-token")
ADMIN_SHA=$(sed -n 's/^sha256: //p' "$T/admin-token")
check "sopctl token prints a token and its SHA-256" \
    [ "$(printf %s "$TOKEN" | sha256sum | cut -c1-64)" = "$TOKEN_SHA" ]

# 1. Users and a token on loopback: plain HTTP, login required.
http_settings "  users:
    - {name: alice, role: operator, password: '$(cat "$T/alice.hash")'}
    - {name: victor, role: viewer, password: '$(cat "$T/victor.hash")'}
  tokens:
    - {name: nightly-script, role: operator, sha256: $TOKEN_SHA}
    - {name: backup-job, role: admin, sha256: $ADMIN_SHA}
  allowed_hosts: [sopd.example]
  login_attempts: 20"
check "sopd -t accepts the users and tokens" "$SOPD" -t -c "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"
send kernel kern.crit "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
send kernel kern.err "Out of memory: Killed process 4321 (java) total-vm:8388608kB, anon-rss:4194304kB"
check "incidents open" wait_for tjq "/api/v1/incidents" '.incidents | length == 2'
DISK=$(tget "/api/v1/incidents?rule=filesystem-error" | jq -r '.incidents[0].id')
OOM=$(tget "/api/v1/incidents?rule=oom-killer" | jq -r '.incidents[0].id')

check "the page loads without a session" req 200 GET /
check "healthz answers without a session" req 200 GET /healthz
check "reading without a session or token is 401" req 401 GET /api/v1/incidents
check "a write without a session or token is 401" \
    req 401 POST "/api/v1/incidents/$DISK/ack" -H "$JSON" --data '{}'
check "a write with an unknown token is 401" \
    req 401 POST "/api/v1/incidents/$DISK/ack" -H "$JSON" --data '{}' \
    -H 'Authorization: Bearer 00112233'
check "the session route says login is required" req 401 GET /api/v1/session
check "a wrong password is 401" req 401 POST /api/v1/login -H "$JSON" \
    --data '{"user":"alice","password":"wrong"}'
check "an unknown user is 401" req 401 POST /api/v1/login \
    --data 'user=mallory&password=whatever'
check "the failure is logged with user and source" \
    grep -q 'login failed for "alice" from 127.0.0.1' "$T/sopd.log"
check "alice logs in (JSON)" login alice 'correct horse'
check "the cookie is HttpOnly and SameSite=Strict" \
    grep -qi '^Set-Cookie: sopd_session=[0-9a-f]*; Path=/; HttpOnly; SameSite=Strict' "$T/head"
check "plain HTTP: the cookie is not marked Secure" \
    sh -c "! grep -qi 'Secure\$' '$T/head'"
check "the session reads the API" req 200 GET /api/v1/incidents -b "$T/jar"
check "the session route names alice, operator" sh -c \
    "curl -s -b '$T/jar' '$API/api/v1/session' | jq -e '.user == \"alice\" and .role == \"operator\" and .csrf == \"$CSRF\"' >/dev/null"
check "a session write without the CSRF token is 403" \
    req 403 POST "/api/v1/incidents/$DISK/ack" -b "$T/jar" -H "$JSON" --data '{}'
check "a session write with a wrong CSRF token is 403" \
    req 403 POST "/api/v1/incidents/$DISK/ack" -b "$T/jar" -H "$JSON" \
    -H "X-CSRF-Token: $(echo "$CSRF" | tr 0-9a-f a-f0-9)" --data '{}'
check "ack with session and CSRF token is 200" \
    req 200 POST "/api/v1/incidents/$DISK/ack" -b "$T/jar" -H "$JSON" \
    -H "X-CSRF-Token: $CSRF" --data '{"actor":"mallory","note":"on it"}'
check "the ack is recorded as alice, whatever the body claims" \
    tjq "/api/v1/incidents/$DISK" '.state == "acknowledged" and
    (.history | map(select(.actor == "alice")) | length >= 1) and
    (.history | map(select(.actor == "mallory")) | length == 0)'
check "a form login works too" sh -c "curl -s -c '$T/jar2' --data \
    'user=victor&password=viewer+pass' '$API/api/v1/login' | jq -e '.role == \"viewer\"' >/dev/null"
VCSRF=$(curl -s -b "$T/jar2" "$API/api/v1/session" | jq -r .csrf)
check "a viewer reads" req 200 GET "/api/v1/incidents/$OOM" -b "$T/jar2"
check "a viewer may not write (403)" \
    req 403 POST "/api/v1/incidents/$OOM/notes" -b "$T/jar2" -H "$JSON" \
    -H "X-CSRF-Token: $VCSRF" --data '{"note":"x"}'
check "a viewer may not download the database (403)" \
    req 403 GET /api/v1/backup -b "$T/jar2"
check "an operator's token may not download the database (403)" \
    req 403 GET /api/v1/backup -H "Authorization: Bearer $TOKEN"
check "an admin's token backs up with sopctl" sh -c "SOPD_TOKEN='$ADMIN' \
    '$SOPCTL' -u '$API' backup '$T/copy.db' >/dev/null &&
    [ \$(sqlite3 '$T/copy.db' 'select count(*) from incidents') -ge 2 ]"
check "logout ends the session" sh -c "curl -s -b '$T/jar2' -H 'X-CSRF-Token: $VCSRF' \
    -X POST '$API/api/v1/logout' >/dev/null &&
    [ \$(curl -s -o /dev/null -w '%{http_code}' -b '$T/jar2' '$API/api/v1/incidents') = 401 ]"

# API tokens: sopctl takes one from $SOPD_TOKEN or a file.
check "sopctl without a token is refused (exit 1)" sh -c \
    "! env -u SOPD_TOKEN '$SOPCTL' -u '$API' list >/dev/null 2>&1"
check "sopctl notes with \$SOPD_TOKEN" sh -c \
    "SOPD_TOKEN='$TOKEN' '$SOPCTL' -u '$API' note $OOM -m 'swap added' >/dev/null"
printf '%s\n' "$TOKEN" > "$T/token.file"
check "sopctl acks with a token file" sh -c \
    "env -u SOPD_TOKEN '$SOPCTL' -u '$API' -T '$T/token.file' ack $OOM >/dev/null"
check "token writes are recorded under the token's name" \
    tjq "/api/v1/incidents/$OOM" '.state == "acknowledged" and
    (.history | map(select(.actor == "nightly-script")) | length >= 2)'

# A reload reads users again: a removed user's session ends, a new one logs in.
curl -s -c "$T/jar3" -H "$JSON" --data '{"user":"victor","password":"viewer pass"}' \
    "$API/api/v1/login" >/dev/null
check "victor's new session reads" req 200 GET /api/v1/incidents -b "$T/jar3"
echo 'builder pass' | "$SOPCTL" passwd > "$T/bob.hash"
GEN=$(tget /api/v1/stats | jq .daemon.generation)
sed -i "s|^    - {name: victor, .*|    - {name: bob, role: operator, password: '$(cat "$T/bob.hash")'}|" "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
check "the reload takes" wait_for tjq /api/v1/stats ".daemon.generation > $GEN"
check "a removed user's session is refused after a reload" \
    req 401 GET /api/v1/incidents -b "$T/jar3"
check "a user added by a reload logs in" req 200 POST /api/v1/login -H "$JSON" \
    --data '{"user":"bob","password":"builder pass"}'

# DNS rebinding: only IP literals, localhost, this host and allowed_hosts.
check "a foreign Host is refused" req 421 GET /healthz -H 'Host: evil.example'
check "a foreign Host is refused on the API too" \
    req 421 GET /api/v1/incidents -H 'Host: evil.example:8080' \
    -H "Authorization: Bearer $TOKEN"
check "an allowed Host name is served" req 200 GET /healthz \
    -H "Host: sopd.example:$P_HTTP"
check "localhost is served" req 200 GET /healthz -H "Host: localhost:$P_HTTP"

# Rate limit: login_attempts (20) per source per minute, then 429.
n=0
while [ $n -lt 25 ]; do
	c=$(curl -s -o /dev/null -w '%{http_code}' -H "$JSON" --data \
	    '{"user":"alice","password":"guess"}' "$API/api/v1/login")
	[ "$c" = 429 ] && break
	n=$((n + 1))
done
check "login attempts are limited per source (429)" [ "$c" = 429 ]
check "the limit counts every attempt of the minute" [ $n -le 20 ]
check "even the right password waits" req 429 POST /api/v1/login -H "$JSON" \
    --data '{"user":"alice","password":"correct horse"}'
check "stats count failures, limits, refusals" tjq /api/v1/stats \
    '.auth.login_failures >= 3 and .auth.login_rate_limited >= 2 and
    .auth.refused_host >= 2 and .auth.refused_csrf >= 2 and
    .auth.login_required and (.auth.https | not)'
check "/metrics counts login failures" sh -c "curl -sf -H 'Authorization: Bearer $TOKEN' \
    '$API/metrics' | awk '\$1 == \"sopd_http_login_failures_total\" && \$2 >= 3 { f = 1 } END { exit !f }'"
check "/metrics counts refusals by reason" sh -c "curl -sf -H 'Authorization: Bearer $TOKEN' \
    '$API/metrics' | grep -q '^sopd_http_refused_total{reason=\"csrf\"} [1-9]'"
check "sopd stops cleanly" stop_sopd

# 2. Off loopback (tls: auto), HTTPS with the certificate sopd makes,
# public reading.
rm -f "$T/jar"
http_settings "  public_read: true
  users:
    - {name: alice, role: operator, password: '$(cat "$T/alice.hash")'}"
sed -i "s/^  listen: 127.0.0.1:$P_HTTP\$/  listen: 0.0.0.0:$P_HTTP/" "$T/sopd.yaml"
API="https://127.0.0.1:$P_HTTP"
# start_sopd's health probe trusts the certificate once it exists.
printf 'cacert = "%s"\n' "$T/var/http-cert.pem" > "$T/.curlrc"
export CURL_HOME="$T"
start_sopd || { notok "sopd starts with https"; exit 1; }
ok "sopd starts with https"
check "off loopback the listener speaks HTTPS" \
    grep -q "listening on 0.0.0.0:$P_HTTP (https)" "$T/sopd.log"
check "the certificate and key are in state_dir" \
    test -s "$T/var/http-cert.pem" -a -s "$T/var/http-key.pem"
check "the key is readable by its owner only" \
    [ "$(stat -c %a "$T/var/http-key.pem")" = 600 ]
check "openssl s_client verifies the certificate for 127.0.0.1" sh -c \
    "openssl s_client -connect 127.0.0.1:$P_HTTP -verify_ip 127.0.0.1 \
    -CAfile '$T/var/http-cert.pem' -verify_return_error </dev/null 2>&1 |
    grep -q 'Verify return code: 0 (ok)'"
check "TLS 1.1 is refused" sh -c \
    "! openssl s_client -connect 127.0.0.1:$P_HTTP -tls1_1 </dev/null >/dev/null 2>&1"
check "plain HTTP on the https port gets no answer" sh -c \
    "! curl -s -m 5 -o /dev/null 'http://127.0.0.1:$P_HTTP/healthz'"
check "public reading without a session over https" req 200 GET /api/v1/incidents
check "public reading does not allow writes (401)" \
    req 401 POST /api/v1/incidents/1/ack -H "$JSON" --data '{}'
check "login over https" login alice 'correct horse'
check "over https the cookie is Secure" \
    grep -qi '^Set-Cookie: sopd_session=.*; Secure' "$T/head"
check "sopctl speaks https, trusting the certificate given" sh -c \
    "'$SOPCTL' -u '$API' --cacert '$T/var/http-cert.pem' health >/dev/null"
check "sopctl takes the certificate from \$SOPD_CACERT" sh -c \
    "SOPD_CACERT='$T/var/http-cert.pem' '$SOPCTL' -u '$API' --json list | jq -e '.total >= 0' >/dev/null"
"$SOPCTL" -u "$API" health >"$T/ctl.out" 2>&1; rc=$?
check "sopctl refuses a certificate it does not trust (exit 3)" [ $rc -eq 3 ]
check "and says it cannot reach sopd" grep -q 'cannot reach sopd at https://' "$T/ctl.out"
check "sopd stops cleanly (https)" stop_sopd
CERT1=$(md5sum < "$T/var/http-cert.pem")
sed -i "s/^  listen: 0.0.0.0:$P_HTTP\$/  listen: 127.0.0.1:$P_HTTP\n  tls: on/" "$T/sopd.yaml"
start_sopd || notok "sopd starts again with https"
check "tls: on speaks HTTPS on loopback too" \
    grep -q "listening on 127.0.0.1:$P_HTTP (https)" "$T/sopd.log"
check "the certificate is kept across restarts" \
    [ "$(md5sum < "$T/var/http-cert.pem")" = "$CERT1" ]
check "sopd stops cleanly (https, again)" stop_sopd

# 3. The appliance's default: login required even with no users yet.
http_settings "  require_login: true"
API="http://127.0.0.1:$P_HTTP"
start_sopd || { notok "sopd starts with require_login"; exit 1; }
check "require_login: reading needs a login" req 401 GET /api/v1/stats
check "require_login: the page still loads (login form)" req 200 GET /
check "firmware/sopd.yaml requires a login" \
    grep -q '^  require_login: true' "$ROOT/firmware/sopd.yaml"
check "sopd stops cleanly (require_login)" stop_sopd

# 4. Configuration errors name the file, line and column.
http_settings "  users:
    - {name: bob, role: boss, password: plain}
  tls: maybe"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/t.out" 2>&1
check "a bad role is reported with its line" grep -q 'sopd.yaml:[0-9]*:[0-9]*: .*role must be viewer, operator or admin' "$T/t.out"
check "a bad tls value is reported" grep -q 'tls: must be auto, on or off' "$T/t.out"
http_settings "  user: [alice]"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/t.out" 2>&1
check "an unknown http setting is named with the allowed ones" \
    grep -q 'sopd.yaml:[0-9]*:[0-9]*: unknown setting "user" in http (expected one of: listen, tls, ' "$T/t.out"
