#!/bin/bash
# tls.sh: syslog over TLS (RFC 5425) from openssl s_client and rsyslog
# becomes incidents; plain text, TLS 1.1, missing client certificates and
# stalled handshakes are refused and counted; certificates reload on SIGHUP.
. "$(dirname "$0")/../lib.sh"

P_TLS=$P_SPARE
P_RSUDP=$((BASE + 5))

# A throwaway CA, a server certificate for 127.0.0.1 and a client one.
mkcert() { # NAME CN [extra openssl x509 args...]
	n=$1; cn=$2; shift 2
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$n.key" \
	    -subj "/CN=$cn" -out "$T/$n.csr" 2>/dev/null &&
	openssl x509 -req -in "$T/$n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -days 2 -out "$T/$n.pem" "$@" 2>/dev/null
}
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$T/san.ext"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
    -subj "/CN=sopd test CA" -days 2 2>/dev/null &&
mkcert server localhost -extfile "$T/san.ext" &&
mkcert server2 localhost-renewed -extfile "$T/san.ext" &&
mkcert client client.example.net || { notok "openssl makes test certificates"; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rogue.key" \
    -out "$T/rogue.pem" -subj "/CN=rogue" -days 2 2>/dev/null
cp "$T/server.pem" "$T/cur.pem"; cp "$T/server.key" "$T/cur.key"

tls_config() { # extra syslog settings on stdin
	write_config </dev/null
	extra=$(cat)
	awk -v x="$extra" '{ print } /^syslog:$/ { print x }' "$T/sopd.yaml" \
	    > "$T/y" && mv "$T/y" "$T/sopd.yaml"
}

# A config with tls but no certificate is refused with file:line:col.
tls_config <<EOF
  tls: 127.0.0.1:$P_TLS
EOF
refused() { # sopd ARGS... fails and its output matches $pat
	! "$SOPD" "$@" > "$T/bad.log" 2>&1 && grep -q -e "$pat" "$T/bad.log"
}
pat='sopd.yaml:[0-9]*:[0-9]*: syslog tls needs tls_cert'
check "tls without tls_cert/tls_key is refused by sopd -t (file:line:col)" \
    refused -t -c "$T/sopd.yaml"

# A missing certificate file stops sopd at start with a clear message.
tls_config <<EOF
  tls: 127.0.0.1:$P_TLS
  tls_cert: $T/nonexistent.pem
  tls_key: $T/cur.key
EOF
pat="tls_cert $T/nonexistent.pem"
check "a missing tls_cert file fails sopd -t with a message naming it" \
    refused -t -c "$T/sopd.yaml"
check "a missing tls_cert file stops sopd with a message naming it" \
    refused -d -c "$T/sopd.yaml"
tls_config <<EOF
  tls: 127.0.0.1:$P_TLS
  tls_cert: $T/cur.pem
  tls_key: $T/rogue.key
EOF
pat='does not match'
check "a key that does not match the certificate stops sopd" \
    refused -d -c "$T/sopd.yaml"

tls_config <<EOF
  tls: 127.0.0.1:$P_TLS
  tls_cert: $T/cur.pem
  tls_key: $T/cur.key
  tls_handshake_timeout: 1
EOF
start_sopd || { notok "sopd starts with a TLS input"; exit 1; }
ok "sopd starts with a TLS input"

active() { api "/api/v1/incidents?state=active&limit=1000"; }
has_incident() { active | jq -e "[.incidents[] | select($1)] | length > 0" >/dev/null; }
no_incident() { active | jq -e "[.incidents[] | select($1)] | length == 0" >/dev/null; }
tstat() { api /api/v1/stats | jq -r ".inputs.syslog_tls.$1"; }
stat_ge() { [ "$(tstat "$1")" -ge "$2" ] 2>/dev/null; }
sclient() { # s_client options...; the message on stdin
	openssl s_client -connect 127.0.0.1:$P_TLS -quiet -no_ign_eof \
	    -CAfile "$T/ca.pem" -verify_return_error "$@" >/dev/null 2>>"$T/sclient.log"
}
octet() { printf '%d %s' "${#1}" "$1"; }

# Octet counting (RFC 5425 section 4.3), two frames in one session.
m1='<10>Nov 27 10:00:00 tls-a kernel: EXT4-fs error (device sdc1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0'
m2='<11>1 2026-11-27T10:00:01Z tls-a kernel - - - Out of memory: Killed process 4343 (java) total-vm:8123456kB'
{ octet "$m1"; octet "$m2"; } | sclient
check "octet-counted frames over TLS: EXT4-fs error opens a critical incident" \
    wait_for has_incident '.severity=="critical" and .host=="tls-a"'
check "octet-counted frames over TLS: a second frame in the session (OOM, high)" \
    wait_for has_incident '.severity=="high" and .host=="tls-a"'

# LF framing, TLS 1.2 forced.
printf '%s\n' '<10>Nov 27 10:00:02 tls-b kernel: EXT4-fs error (device sdd1): ext4_lookup: deleted inode referenced' |
    sclient -tls1_2
check "LF-framed message over TLS 1.2 opens an incident" \
    wait_for has_incident '.severity=="critical" and .host=="tls-b"'
check "the TLS input counts what it accepted" stat_ge accepted 3

# A plain-text client speaking no TLS is dropped and counted.
n0=$(tstat reasons.tls)
printf '<10>Nov 27 10:00:03 plain-c kernel: EXT4-fs error (device sde1): x\n' \
    > /dev/tcp/127.0.0.1/$P_TLS
check "a plain-text client is counted as a TLS failure" wait_for stat_ge reasons.tls $((n0 + 1))
sleep 0.3
check "and its message is not taken" no_incident '.host=="plain-c"'

# TLS 1.1 is refused.
n0=$(tstat reasons.tls)
printf 'x\n' | sclient -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'; rc=$?
check "openssl s_client -tls1_1 fails" [ $rc -ne 0 ]
check "the TLS 1.1 attempt is counted" wait_for stat_ge reasons.tls $((n0 + 1))

# A connection that never finishes its handshake is closed after 1 s.
n0=$(tstat reasons.tls)
exec 3<>/dev/tcp/127.0.0.1/$P_TLS
printf '\x16\x03\x01' >&3
sleep 1.6
check "a stalled handshake is closed after tls_handshake_timeout" stat_ge reasons.tls $((n0 + 1))
exec 3>&-
no_sessions() { [ "$(tstat sessions)" = 0 ]; }
check "no session is left open" wait_for no_sessions

# A bad octet count inside TLS is a framing error, the session closes.
printf '99999999999999999999 x' | sclient
check "a bad octet count over TLS is counted (framing)" wait_for stat_ge reasons.framing 1

# SIGHUP loads renewed certificates; a broken one keeps the running pair.
subject() { openssl s_client -connect 127.0.0.1:$P_TLS -CAfile "$T/ca.pem" </dev/null 2>/dev/null |
    openssl x509 -noout -subject 2>/dev/null; }
cp "$T/server2.pem" "$T/cur.pem"; cp "$T/server2.key" "$T/cur.key"
kill -HUP $SOPD_PID
renewed() { subject | grep -q localhost-renewed; }
check "SIGHUP loads the renewed server certificate" wait_for renewed
cp "$T/rogue.pem" "$T/cur.pem"
kill -HUP $SOPD_PID
sleep 0.5
check "a reload with a mismatched key keeps the running certificate" renewed
grep -q 'keeping the old certificates' "$T/sopd.log"
check "and says so in the log" [ $? -eq 0 ]
cp "$T/server2.pem" "$T/cur.pem"

# rsyslog's omfwd with the ossl driver as a realistic peer (octet-counted).
RSMOD=/usr/lib/x86_64-linux-gnu/rsyslog
if [ -x /usr/sbin/rsyslogd ] && [ -f $RSMOD/lmnsd_ossl.so ]; then
	mkdir -p "$T/rs"
	cat > "$T/rsyslog.conf" <<EOF
global(workDirectory="$T/rs" defaultNetstreamDriver="ossl"
    defaultNetstreamDriverCAFile="$T/ca.pem"
    defaultNetstreamDriverCertFile="$T/client.pem"
    defaultNetstreamDriverKeyFile="$T/client.key")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$P_RSUDP")
action(type="omfwd" target="127.0.0.1" port="$P_TLS" protocol="tcp"
    streamDriver="ossl" streamDriverMode="1" streamDriverAuthMode="x509/name"
    streamDriverPermittedPeers="localhost" tcp_framing="octet-counted")
EOF
	/usr/sbin/rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rs/pid" > "$T/rsyslog.log" 2>&1 &
	RSPID=$!
	sleep 0.5
	logger -d -n 127.0.0.1 -P $P_RSUDP --rfc3164 -t kernel -p kern.crit \
	    "EXT4-fs error (device sdf1): ext4_find_entry:1455: inode #2: comm rsyslog-peer"
	check "rsyslog omfwd (ossl driver, octet-counted) delivers over TLS" \
	    wait_for has_incident '.severity=="critical" and (.title|test("sdf1"))'
	kill $RSPID 2>/dev/null; wait $RSPID 2>/dev/null
else
	ok "# SKIP rsyslog with lmnsd_ossl not installed"
fi

check "sopd is alive after all TLS clients" alive
check "sopd stops cleanly on SIGTERM (ASan/UBSan clean)" stop_sopd

# With tls_ca, a client needs a certificate signed by that CA.
tls_config <<EOF
  tls: 127.0.0.1:$P_TLS
  tls_cert: $T/server.pem
  tls_key: $T/server.key
  tls_ca: $T/ca.pem
EOF
start_sopd || { notok "sopd starts with tls_ca"; exit 1; }
n0=$(tstat reasons.tls)
printf '<10>Nov 27 10:00:04 nocert-d kernel: EXT4-fs error (device sdg1): x\n' | sclient
check "with tls_ca, a client without a certificate is counted as refused" \
    wait_for stat_ge reasons.tls $((n0 + 1))
printf '<10>Nov 27 10:00:04 rogue-e kernel: EXT4-fs error (device sdh1): x\n' |
    sclient -cert "$T/rogue.pem" -key "$T/rogue.key"
check "with tls_ca, a self-signed client certificate is refused" \
    wait_for stat_ge reasons.tls $((n0 + 2))
printf '<10>Nov 27 10:00:05 cert-f kernel: EXT4-fs error (device sdi1): x\n' |
    sclient -cert "$T/client.pem" -key "$T/client.key"
check "with tls_ca, a client with a CA-signed certificate is accepted" \
    wait_for has_incident '.severity=="critical" and .host=="cert-f"'
check "the refused clients' messages were not taken" \
    no_incident '(.host=="nocert-d") or (.host=="rogue-e")'
check "sopd stops cleanly on SIGTERM (ASan/UBSan clean)" stop_sopd
