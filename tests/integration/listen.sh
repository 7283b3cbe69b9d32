#!/bin/bash
# listen.sh: the console on several addresses, each with its own TLS
# setting: HTTPS off loopback (the management address) and plain HTTP on
# loopback, one sopd, the same API on both (curl against each).
. "$(dirname "$0")/../lib.sh"
trap cleanup EXIT

P_PLAIN=$P_SPARE
JSON='Content-Type: application/json'
echo 'correct horse' | "$SOPCTL" passwd > "$T/alice.hash"
write_config </dev/null
# http.listen as a list: 0.0.0.0 (tls: auto, so HTTPS) and loopback, plain.
awk -v h="$(cat "$T/alice.hash")" -v p="$P_HTTP" -v q="$P_PLAIN" '
    $0 == "  listen: 127.0.0.1:" p {
	print "  listen:"
	print "    - 0.0.0.0:" p
	print "    - {address: \"127.0.0.1:" q "\", tls: off}"
	print "  users:"
	print "    - {name: alice, role: operator, password: \x27" h "\x27}"
	print "  public_read: true"
	next }
    { print }' "$T/sopd.yaml" > "$T/sopd.new" && mv "$T/sopd.new" "$T/sopd.yaml"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/t.out" 2>&1
check "sopd -t accepts a list of listen addresses" test $? -eq 0
API="http://127.0.0.1:$P_PLAIN"
start_sopd || { notok "sopd starts"; sed 's/^/# /' "$T/sopd.log" | tail; exit 1; }
ok "sopd starts"
HTTPS="https://127.0.0.1:$P_HTTP"
CA="--cacert $T/var/http-cert.pem"
check "it listens on the management address with HTTPS" \
    grep -q "listening on 0.0.0.0:$P_HTTP (https)" "$T/sopd.log"
check "and on loopback with plain HTTP" \
    grep -q "listening on 127.0.0.1:$P_PLAIN (http)" "$T/sopd.log"
check "curl over HTTPS gets the API" sh -c \
    "curl -sf $CA '$HTTPS/api/v1/stats' | jq -e '.auth.https' >/dev/null"
check "curl over plain HTTP on loopback gets the API" sh -c \
    "curl -sf 'http://127.0.0.1:$P_PLAIN/api/v1/incidents' | jq -e '.total == 0' >/dev/null"
check "the HTTPS port does not answer plain HTTP" sh -c \
    "! curl -s -m 5 -o /dev/null 'http://127.0.0.1:$P_HTTP/healthz'"
check "the plain port does not speak TLS" sh -c \
    "! curl -s -m 5 $CA -o /dev/null 'https://127.0.0.1:$P_PLAIN/healthz'"
# A login sets a Secure cookie over HTTPS only (a browser would not send
# it back over plain HTTP).
login_head() {
	curl -s -o /dev/null -D "$T/head.$1" $CA -X POST -H "$JSON" \
	    --data '{"user":"alice","password":"correct horse"}' "$2/api/v1/login"
}
login_head tls "$HTTPS"
check "over HTTPS the session cookie is Secure" \
    grep -qi '^Set-Cookie: sopd_session=.*; Secure' "$T/head.tls"
login_head plain "http://127.0.0.1:$P_PLAIN"
check "over loopback HTTP the session cookie is not Secure" sh -c \
    "grep -qi '^Set-Cookie: sopd_session=' '$T/head.plain' &&
     ! grep -qi '^Set-Cookie: sopd_session=.*Secure' '$T/head.plain'"
check "sopd stops cleanly" stop_sopd

# The single form keeps working; a bad entry is named with its place.
write_config </dev/null
API="http://127.0.0.1:$P_HTTP"
start_sopd || notok "sopd starts with one listen address"
check "one listen address as before" grep -q \
    "listening on 127.0.0.1:$P_HTTP (http)" "$T/sopd.log"
check "sopd stops cleanly (one address)" stop_sopd
cp "$T/sopd.yaml" "$T/sopd.one"
sed -i "s|^  listen: 127.0.0.1:$P_HTTP\$|  listen:\n    - {address: 127.0.0.1:$P_HTTP, tls: sometimes, port: 1}|" "$T/sopd.yaml"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/t.out" 2>&1
check "a bad tls of an entry is reported with its line" \
    grep -q 'sopd.yaml:12:39: tls: must be auto, on or off' "$T/t.out"
check "an unknown key of an entry is named" \
    grep -q 'sopd.yaml:12:50: listen: unknown setting "port" (expected address, tls)' "$T/t.out"
sed "s|^  listen: 127.0.0.1:$P_HTTP\$|  listen:\n    - 127.0.0.1:$P_HTTP\n    - [1]|" "$T/sopd.one" > "$T/sopd.yaml"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/t.out" 2>&1
check "an entry that is no address is named with its place" \
    grep -q 'sopd.yaml:13:7: http listen: expected host:port or {address: host:port, tls: auto|on|off}' "$T/t.out"
sed "s|^  listen: 127.0.0.1:$P_HTTP\$|  listen: []|" "$T/sopd.one" > "$T/sopd.yaml"
"$SOPD" -t -c "$T/sopd.yaml" > "$T/t.out" 2>&1
check "an empty list is refused" \
    grep -q 'sopd.yaml:[0-9]*:[0-9]*: http listen: expected at least one address' "$T/t.out"
