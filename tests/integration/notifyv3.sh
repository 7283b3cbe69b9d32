#!/bin/bash
# notifyv3.sh: SNMPv3 notifications out to a real snmptrapd: an authPriv
# trap (sopd's engine is authoritative: the receiver knows its engineID)
# and an authPriv inform (sopd discovers the receiver's engineID first),
# each received once; a target with a wrong key gets nothing through and
# its inform fails after its attempts.
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
