#!/bin/bash
# killloop.sh: sopd is killed with -9 again and again while RELP sessions
# (tests/relpclient.py, which notes every acknowledgement and resends what
# was not acknowledged) and snmpinform senders send numbered messages:
# every message and inform sopd acknowledged is in the store after the
# restarts (0 acknowledged lost). Commits are 1 s apart, so an answer given
# before the commit would be lost at the next kill.
# KILLS, DURATION, RELP_CLIENTS, RELP_RATE, INFORMERS scale it (tests/soak).
. "$(dirname "$0")/../lib.sh"

P_RELP=$((BASE + 6))
KILLS=${KILLS:-4}
DURATION=${DURATION:-12}
RELP_CLIENTS=${RELP_CLIENTS:-3}
RELP_RATE=${RELP_RATE:-50}
INFORMERS=${INFORMERS:-4}
SEQ_OID=1.3.6.1.4.1.99999.0.1
SEQ_VB=1.3.6.1.4.1.99999.1
export MIBS= MIBDIRS=/nonexistent SNMPCONFPATH=/nonexistent

mkdir -p "$T/rules"
cat > "$T/rules/seq.yaml" <<EOF
rules:
  - name: relp-seq
    match:
      program: relptest
      message: 'seq (?<seq>[0-9]+-[0-9]+)'
    severity: info
    key: "{seq}"
    title: "relp seq {seq}"
    flapping: off
  - name: inform-seq
    match:
      trap_oid: $SEQ_OID
    severity: info
    key: "{vb:$SEQ_VB}"
    title: "inform {vb:$SEQ_VB}"
    flapping: off
EOF
RULES=$T/rules write_config <<'EOF'
incidents:
  max_open_per_rule: 1000000
EOF
sed -i -e "s/^syslog:\$/syslog:\n  relp: 127.0.0.1:$P_RELP/" \
    -e 's/commit_interval_ms: 50/commit_interval_ms: 1000/' "$T/sopd.yaml"

# keys RULE: the key of every incident of the rule, one a line.
keys() {
	o=0
	while :; do
		page=$(api "/api/v1/incidents?rule=$1&limit=1000&offset=$o") || return 1
		n=$(printf '%s' "$page" | jq '.incidents | length')
		printf '%s' "$page" | jq -r '.incidents[].key'
		[ "$n" -lt 1000 ] && return 0
		o=$((o + 1000))
	done
}
# informer W: numbered informs until $T/stop exists; the acknowledged ones
# (snmpinform exits 0 only on sopd's response) go to $T/acked.inform.
informer() {
	i=1
	while [ ! -e "$T/stop" ]; do
		snmpinform -v 2c -c public -r 5 -t 1 127.0.0.1:$P_TRAP '' \
		    $SEQ_OID $SEQ_VB s "i$1-$i" >/dev/null 2>&1 &&
		    echo "i$1-$i" >> "$T/acked.inform"
		i=$((i + 1))
	done
}

start_sopd || { notok "sopd starts with RELP and traps"; exit 1; }
ok "sopd starts with RELP and traps"
: > "$T/acked.inform"
: > "$T/acked.relp"
python3 "$ROOT/tests/relpclient.py" --port $P_RELP --clients $RELP_CLIENTS \
    --rate $RELP_RATE --duration $DURATION --grace 120 --window 128 \
    --acked "$T/acked.relp" --verbose > "$T/relp.json" &
RELP_PID=$!
INF_PIDS=""
w=1
while [ $w -le $INFORMERS ]; do
	informer $w & INF_PIDS="$INF_PIDS $!"
	w=$((w + 1))
done
k=0
restarted=0
while [ $k -lt $KILLS ]; do
	sleep $(awk -v d="$DURATION" -v k="$KILLS" 'BEGIN { printf "%.2f", d / (k + 1) }')
	kill9_sopd
	k=$((k + 1))
	start_sopd && restarted=$((restarted + 1))
done
check "sopd restarts after each of $KILLS kill -9" test $restarted -eq $KILLS
touch "$T/stop"
wait $INF_PIDS
wait $RELP_PID
echo "# relp client: $(cat "$T/relp.json")"
sleep 1.5	# one commit interval: nothing pending is needed, but be fair
keys relp-seq | sort -u > "$T/have.relp"
keys inform-seq | sort -u > "$T/have.inform"
sort -u "$T/acked.relp" > "$T/want.relp"
sort -u "$T/acked.inform" > "$T/want.inform"
lost_relp=$(comm -23 "$T/want.relp" "$T/have.relp" | wc -l)
lost_inf=$(comm -23 "$T/want.inform" "$T/have.inform" | wc -l)
echo "# $KILLS kills: $(wc -l < "$T/want.relp") RELP messages and $(wc -l < "$T/want.inform") informs acknowledged; lost: $lost_relp and $lost_inf"
check "some RELP messages and informs were acknowledged" \
	test -s "$T/want.relp" -a -s "$T/want.inform"
check "every acknowledged RELP message is stored ($lost_relp lost)" test "$lost_relp" -eq 0
check "every acknowledged inform is stored ($lost_inf lost)" test "$lost_inf" -eq 0
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
