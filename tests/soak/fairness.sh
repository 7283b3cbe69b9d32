#!/bin/bash
# fairness.sh: STREAMERS RELP sessions send as fast as they are acknowledged
# (window 1024, each message opens an incident: one commit each), then LATE
# more sessions open while they stream: every open is answered within 2 s,
# and the streaming sessions' rates stay within 1.5x of each other. Prints the
# figures (README, "Syslog over RELP").
. "$(dirname "$0")/../lib.sh"

P_RELP=$((BASE + 6))
STREAMERS=${STREAMERS:-90}
LATE=${LATE:-10}
FAIR_SECS=${FAIR_SECS:-30}
SOPD=${SOAK_SOPD:-$ROOT/build/sopd}	# the optimised build: figures
mkdir -p "$T/rules"
cat > "$T/rules/seq.yaml" <<'EOF2'
rules:
  - name: relp-seq
    match:
      program: relptest
      message: 'seq (?<seq>[0-9]+-[0-9]+)'
    severity: info
    key: "{seq}"
    title: "relp seq {seq}"
    flapping: off
EOF2
RULES=$T/rules write_config <<'EOF2'
incidents:
  max_open_per_rule: 10000000
EOF2
sed -i "s/^syslog:\$/syslog:\n  relp: 127.0.0.1:$P_RELP/" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
client() {
	python3 "$ROOT/tests/relpclient.py" --port $P_RELP --window 1024 \
	    --pad 100 --grace 300 --drain-timeout 300 --open-timeout 30 "$@"
}
client --clients $STREAMERS --first 1 --duration $FAIR_SECS > "$T/stream.json" &
S=$!
sleep $((FAIR_SECS / 4))
client --clients $LATE --first 1001 --duration $((FAIR_SECS / 2)) > "$T/late.json"
wait $S
echo "# $STREAMERS streaming sessions: $(cat "$T/stream.json")"
echo "# $LATE sessions opened meanwhile: $(cat "$T/late.json")"
j() { jq -r "$2" "$T/$1.json"; }
check "every streaming session's open is answered" test "$(j stream .first_open_unanswered)" -eq 0
check "every late session's open is answered" test "$(j late .first_open_unanswered)" -eq 0
check "within 2 s" awk -v m="$(j late .first_open_max_s)" 'BEGIN { exit !(m != "null" && m <= 2) }'
check "and every streaming session's within 2 s" awk -v m="$(j stream .first_open_max_s)" \
	'BEGIN { exit !(m != "null" && m <= 2) }'
check "streaming sessions' rates within 1.5x" awk -v a="$(j stream .rate_per_session_min)" \
	-v b="$(j stream .rate_per_session_max)" 'BEGIN { exit !(a > 0 && b <= 1.5 * a) }'
check "sopd stops cleanly" stop_sopd
