#!/bin/bash
# notifyv3.sh: SNMPv3 notifications out to a real snmptrapd: an authPriv
# trap (sopd's engine is authoritative: the receiver knows its engineID)
# and an authPriv inform (sopd discovers the receiver's engineID first),
# each received once; a target with a wrong key gets nothing through and
# its inform fails after its attempts. Through the outbox: an inform
# receiver that is down gets the notice once it is up, exactly once, and
# a notice pending across a kill -9 of sopd arrives once after it.
. "$(dirname "$0")/../lib.sh"

P_TRAPD=$((BASE + 5))
TRAPD=""
trap '[ -n "$TRAPD" ] && kill $TRAPD 2>/dev/null && wait $TRAPD 2>/dev/null; cleanup' EXIT

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: v3-crit
    match:
      message: 'VCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
RULES=$T/rules.yaml write_config <<EOF
windows:
  patch: []
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 2 }
  targets:
    v3trap: { type: snmp-trap, address: 127.0.0.1:$P_TRAPD, user: sopt, auth: SHA-256, auth_pass: trapauthpass, priv: AES, priv_pass: trapprivpass }
    v3inform: { type: snmp-inform, address: 127.0.0.1:$P_TRAPD, user: sopi, auth: SHA-512, auth_pass: informauthpass, priv: AES-256, priv_pass: informprivpass, retries: 2, timeout: 1s }
    v3bad: { type: snmp-inform, address: 127.0.0.1:$P_TRAPD, user: sopb, auth: SHA-512, auth_pass: wrongauthpass, priv: AES-256, priv_pass: informprivpass, retries: 1, timeout: 1s }
  levels:
    L2: [v3trap, v3inform, v3bad]
    L3: [v3trap, v3inform, v3bad]
EOF
start_sopd || exit 1
ENGINE=$(sed -n 's/^engineID //p' "$T/var/snmp/engine")
check "sopd has an engineID in state_dir ($ENGINE)" test -n "$ENGINE"

# snmptrapd knows sopd's engineID for the trap user (createUser -e), and
# its own engine for the inform user.
mkdir -p "$T/trapd"
cat > "$T/snmptrapd.conf" <<EOF
createUser -e $ENGINE sopt SHA-256 trapauthpass AES trapprivpass
createUser sopi SHA-512 informauthpass AES-256 informprivpass
createUser sopb SHA-512 badtargetauth AES-256 informprivpass
authUser log sopt priv
authUser log sopi priv
authUser log sopb priv
EOF
SNMP_PERSISTENT_DIR=$T/trapd snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" \
    -On udp:127.0.0.1:$P_TRAPD >"$T/trapd.out" 2>&1 &
TRAPD=$!
listening() { ss -Hlun | grep -q ":$P_TRAPD "; }
check "snmptrapd listens" wait_for listening

printf '<11>Nov 27 09:00:00 web01 app: VCRIT disk' > /dev/udp/127.0.0.1/$P_SYSLOG
OPENED=.1.3.6.1.4.1.32473.1.0.1
tstat() { api /api/v1/stats | jq -r ".notify.targets.$1.$2"; }
sent() { [ "$(tstat "$1" sent)" = 1 ]; }
check "the v3 trap is sent" wait_for sent v3trap
check "the v3 inform is acknowledged (discovery, then the inform)" wait_for sent v3inform
got() { [ "$(grep -c "$OPENED" "$T/traps.log")" -ge 2 ]; }
check "snmptrapd logged the trap and the inform" wait_for got
grep -i "sopt\|sopi\|$OPENED" "$T/traps.log" | head -6 | sed 's/^/# /'
failed() { [ "$(tstat v3bad failed)" -ge 1 ] 2>/dev/null; }
i=0; while [ $i -lt 15 ] && ! failed; do sleep 1; i=$((i + 1)); done
check "the inform with a wrong key is not acknowledged and fails" failed
check "and was never sent" test "$(tstat v3bad sent)" = 0
sleep 2
n=$(grep -c "$OPENED" "$T/traps.log")
check "snmptrapd received exactly the two good notifications (got $n)" test "$n" = 2
api /api/v1/stats | jq -c '.notify.targets' | sed 's/^/# /'
check "sopd stops cleanly" stop_sopd
kill $TRAPD 2>/dev/null; wait $TRAPD 2>/dev/null; TRAPD=""

# --- The outbox: a v3 inform receiver that is down gets its notice once
# it is up, exactly once; a notice pending across a restart of sopd (kill
# -9) arrives once after it. ---
P_TRAPD2=$((BASE + 6))
RULES=$T/rules.yaml write_config <<EOF
windows:
  patch: []
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 100 }
  targets:
    v3inf: { type: snmp-inform, address: 127.0.0.1:$P_TRAPD2, user: sopi, auth: SHA-512, auth_pass: informauthpass, priv: AES-256, priv_pass: informprivpass, retries: 0, timeout: 1s }
  levels:
    L2: [v3inf]
    L3: [v3inf]
EOF
mkdir -p "$T/trapd2"
# start_trapd2 ENGINEID: the inform receiver on P_TRAPD2 with that
# snmpEngineID (text), appending to traps2.log.
start_trapd2() {
	cat > "$T/snmptrapd2.conf" <<EOF
engineID $1
createUser sopi SHA-512 informauthpass AES-256 informprivpass
authUser log sopi priv
EOF
	SNMP_PERSISTENT_DIR=$T/trapd2 snmptrapd -f -A -Lf "$T/traps2.log" -C \
	    -c "$T/snmptrapd2.conf" -On udp:127.0.0.1:$P_TRAPD2 >>"$T/trapd2.out" 2>&1 &
	TRAPD=$!
	wait_for sh -c "ss -Hlun | grep -q ':$P_TRAPD2 '"
}
: > "$T/traps2.log"
# incident WHAT: open a critical incident; its id in ID.
incident() {
	printf '<11>Nov 27 09:00:00 web01 app: VCRIT %s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG
	wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=v3-crit&state=active&limit=100' |
	    jq -e '[.incidents[] | select(.key == \"web01:$1\")] | length == 1'"
	ID=$(api "/api/v1/incidents?rule=v3-crit&state=active&limit=100" |
	    jq -r "[.incidents[] | select(.key == \"web01:$1\")][0].id")
	[ -n "$ID" ] && [ "$ID" != null ]
}
pending() {
	[ "$(sqlite3 -readonly -cmd ".timeout 5000" "$T/var/sopd.db" \
	    "select count(*) from outbox where target = 'v3inf' and state = 'pending'")" = "$1" ]
}
retried() { [ "$(tstat v3inf retried)" -ge "$1" ] 2>/dev/null; }
# received ID: how many sopIncidentOpened of incident ID the receiver logged.
received() { grep "$OPENED" "$T/traps2.log" | grep -c "\.1\.3\.6\.1\.4\.1\.32473\.1\.1\.4\.1\.[0-9]*\.$1 "; }

start_sopd || exit 1
check "an incident opens while the v3 inform receiver is down" incident fan
ID1=$ID
check "the v3 inform is retried" wait_long 15 retried 1
check "its notice waits in the outbox (SQLite)" wait_for pending 1
kill9_sopd
ok "sopd killed with -9 while the v3 inform is pending"
check "the receiver comes up" start_trapd2 recv1
start_sopd || exit 1
check "after the restart sopd takes the notice from the outbox" \
    grep -q "1 undelivered notices from the outbox" "$T/sopd.log"
got1() { [ "$(received $ID1)" -ge 1 ]; }
check "and the receiver gets the v3 inform" wait_long 15 got1
check "the delivered notice leaves the outbox" wait_for pending 0
kill $TRAPD 2>/dev/null; wait $TRAPD 2>/dev/null; TRAPD=""

r0=$(tstat v3inf retried)
check "an incident opens while the receiver is down again" incident disk2
ID2=$ID
check "the v3 inform is retried" wait_long 15 retried $((r0 + 1))
check "its notice waits in the outbox" wait_for pending 1
check "the receiver comes up again (same engineID)" start_trapd2 recv1
got2() { [ "$(received $ID2)" -ge 1 ]; }
check "and gets the v3 inform with its next try" wait_long 15 got2
check "the delivered notice leaves the outbox" wait_for pending 0
kill $TRAPD 2>/dev/null; wait $TRAPD 2>/dev/null; TRAPD=""

# The receiver is replaced: it comes back with another engineID, which
# sopd discovers anew.
r0=$(tstat v3inf retried)
check "an incident opens while the receiver is down a third time" incident psu
ID3=$ID
check "the v3 inform is retried" wait_long 15 retried $((r0 + 1))
check "the receiver comes up with another engineID" start_trapd2 recv2
got3() { [ "$(received $ID3)" -ge 1 ]; }
check "and gets the v3 inform (engineID discovered again)" wait_long 15 got3
check "the delivered notice leaves the outbox" wait_for pending 0
sleep 3	# three more retry intervals: nothing else may come
n1=$(received $ID1) n2=$(received $ID2) n3=$(received $ID3)
check "the receiver got each v3 inform exactly once ($n1, $n2, $n3)" \
    test "$n1" = 1 -a "$n2" = 1 -a "$n3" = 1
check "sopd counted each as sent once" test "$(tstat v3inf sent)" = 3
grep "$OPENED" "$T/traps2.log" | cut -c1-200 | sed 's/^/# /'
check "sopd stops cleanly after the restart" stop_sopd
