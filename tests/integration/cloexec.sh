#!/bin/bash
# cloexec.sh: every descriptor sopd holds, beyond stdin, stdout and stderr,
# is close-on-exec: its own sockets and files, and those net-snmp (trap,
# agent and notification sessions) and librelp (listener, sessions) open
# without it. A child that does not close what it inherits (a helper
# run by a library, an exec without closefrom) gets none of sopd's ports
# or files. Checked in /proc/PID/fdinfo (flags 02000000) with RELP, TCP
# and HTTP sessions open, an SNMP notification sent and a hook running.
. "$(dirname "$0")/../lib.sh"

P_RELP=$((BASE + 6))
P_NMS=$((BASE + 7))
cat > "$T/rules.yaml" <<'EOF2'
rules:
  - name: x-crit
    match:
      message: 'XCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF2
cat > "$T/hook.sh" <<EOF2
#!/bin/sh
echo \$\$ > "$T/hook.pid"
exec sleep 60
EOF2
chmod 0755 "$T/hook.sh"
RULES=$T/rules.yaml write_config <<EOF2
notify:
  targets:
    pager: { type: exec, command: $T/hook.sh, timeout: 120s }
    nms: { type: snmp-trap, address: 127.0.0.1:$P_NMS, community: public }
  levels:
    L2: [pager, nms]
    L3: [pager, nms]
EOF2
sed -i "s/^syslog:\$/syslog:\n  relp: 127.0.0.1:$P_RELP/" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }

# Sessions held open while the descriptors are looked at.
python3 "$ROOT/tests/relpclient.py" --port $P_RELP --clients 3 --rate 2 \
    --duration 20 --grace 5 > "$T/relp.json" &
RELPC=$!
exec 5<>/dev/tcp/127.0.0.1/"$P_SYSLOG"
printf '<11>Nov 27 09:00:00 db1 app: XCRIT disk\n' >&5
exec 6<>/dev/tcp/127.0.0.1/"$P_HTTP"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&6
relp_sessions() { [ "$(api /api/v1/stats | jq -r .inputs.relp.sessions)" -ge 3 ] 2>/dev/null; }
check "three RELP sessions are open" wait_long 15 relp_sessions
check "the hook runs" wait_long 15 test -s "$T/hook.pid"
sent() { api /api/v1/stats | jq -e '[.. | objects | select(has("sent")) | .sent] | add > 0'; }
wait_long 10 sent
sleep 1	# RELP sessions are looked at four times a second

# leaky: sopd's descriptors above 2 without O_CLOEXEC, with their targets.
leaky() {
	for f in /proc/$SOPD_PID/fdinfo/*; do
		fd=${f##*/}
		[ "$fd" -gt 2 ] || continue
		flags=$(awk '/^flags:/ { print $2 }' "$f" 2>/dev/null) || continue
		[ -n "$flags" ] || continue
		[ $(( 0$flags & 02000000 )) -ne 0 ] ||
		    echo "$fd $(readlink /proc/$SOPD_PID/fd/$fd)"
	done
}
n=$(ls /proc/$SOPD_PID/fd | wc -l)
sockets=$(ls -l /proc/$SOPD_PID/fd | grep -c socket:)
echo "# sopd holds $n descriptors ($sockets sockets)"
leaky > "$T/leaky"
sed "s/^/# not close-on-exec: /" "$T/leaky"
check "sopd holds sockets of every kind (>= 10)" test "$sockets" -ge 10
check "every descriptor above 2 is close-on-exec" test ! -s "$T/leaky"

exec 5>&- 6>&-
wait $RELPC
check "sopd stops cleanly" stop_sopd
HOOK=$(cat "$T/hook.pid" 2>/dev/null)
[ -n "$HOOK" ] && kill "$HOOK" 2>/dev/null
exit 0
