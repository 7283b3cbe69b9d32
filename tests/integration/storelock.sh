#!/bin/sh
# storelock.sh: another process (a sqlite3 shell) holds the database's write
# lock for several seconds while syslog and RELP arrive: the event loop
# keeps answering /healthz at once, the commits found locked are counted and
# retried, no RELP message is acknowledged while nothing can be committed,
# and after the lock is released every message is stored.
. "$(dirname "$0")/../lib.sh"

N=60				# UDP messages sent while the lock is held
HOLD=6				# seconds the lock is held
P_RELP=$((BASE + 6))
mkdir -p "$T/rules"
cat > "$T/rules/lock.yaml" <<'EOR'
rules:
  - name: lock-test
    match: { program: locktest, message: 'n=(?<k>\d+)' }
    severity: low
    key: "{k}"
    title: "lock test {k}"
  - name: relp-seq
    match: { program: relptest, message: 'seq (?<seq>[0-9]+-[0-9]+)' }
    severity: info
    key: "{seq}"
    title: "relp seq {seq}"
    flapping: off
EOR
RULES=$T/rules write_config </dev/null
sed -i "s/^syslog:\$/syslog:\n  relp: 127.0.0.1:$P_RELP/" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
DB=$T/var/sopd.db
send() { printf '<13>Jan  1 00:00:00 h1 locktest: n=%s\n' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
count() { sqlite3 "$DB" "SELECT count(*) FROM incidents WHERE rule = '$1'"; }
stored_is() { [ "$(count lock-test 2>/dev/null)" = "$1" ]; }
acked() { wc -l < "$T/acked"; }

send 0
check "a message before the lock is stored" wait_for stored_is 1
: > "$T/acked"
python3 "$ROOT/tests/relpclient.py" --port $P_RELP --clients 1 --rate 20 \
    --duration $((HOLD + 4)) --grace 30 --window 1000 --acked "$T/acked" \
    > "$T/relp.json" &
RELP_PID=$!
has_acks() { [ "$(acked)" -gt 0 ]; }
check "RELP messages are acknowledged before the lock" wait_for has_acks

# The lock: BEGIN IMMEDIATE in a sqlite3 shell, until the test says COMMIT.
mkfifo "$T/sq"
sqlite3 "$DB" < "$T/sq" > /dev/null &
LOCKER=$!
exec 3> "$T/sq"
# The shell waits for a commit of sopd in progress rather than fail.
echo ".timeout 5000" >&3
echo "BEGIN IMMEDIATE;" >&3
locked() { ! sqlite3 "$DB" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null; }
check "the sqlite3 shell holds the write lock" wait_for locked

# While it is held: send, and time /healthz every 0.1 s or so.
max=0 i=1 slow=0 a0=""
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt $HOLD ]; do
	[ $i -le $N ] && { send $i; i=$((i + 1)); }
	t=$(curl -s -o /dev/null --max-time 5 -w '%{time_total}' "$API/healthz")
	ms=$(awk -v t="${t:-5}" 'BEGIN { printf "%d", t * 1000 }')
	[ "$ms" -gt "$max" ] && max=$ms
	[ "$ms" -ge 1000 ] && slow=$((slow + 1))
	# Acks of commits made before the lock may still be on their way.
	[ -z "$a0" ] && [ $(( $(date +%s) - start )) -ge 1 ] && a0=$(acked)
	sleep 0.1
done
a1=$(acked)
while [ $i -le $N ]; do send $i; i=$((i + 1)); done
echo "# slowest /healthz under the lock: ${max} ms, ${slow} at 1 s or more"
check "/healthz answers within 1 s while another process holds the lock" \
    [ "$slow" -eq 0 ]
echo "# RELP acks: $a0 one second into the lock, $a1 at its end"
check "no RELP message is acknowledged while nothing can be committed" \
    [ "$a0" = "$a1" ]
busy=$(api /api/v1/stats | jq -r '.store.busy_retries')
echo "# store.busy_retries = $busy"
check "commits found locked are counted (store.busy_retries)" \
    [ "${busy:-0}" -gt 0 ]
check "sopd_store_busy_retries_total in /metrics" \
    sh -c "curl -sf '$API/metrics' | grep -q '^sopd_store_busy_retries_total [1-9]'"
echo "COMMIT;" >&3
exec 3>&-
wait $LOCKER
check "after the lock is released, every UDP message sent under it is stored" \
    wait_for stored_is $((N + 1))
echo "# stored: $(count lock-test)"
wait $RELP_PID
echo "# relp client: $(cat "$T/relp.json")"
check "RELP acknowledgements resume after the lock" [ "$(acked)" -gt "$a1" ]
sqlite3 "$DB" "SELECT key FROM incidents WHERE rule = 'relp-seq'" | sort -u > "$T/have"
sort -u "$T/acked" > "$T/want"
lost=$(comm -23 "$T/want" "$T/have" | wc -l)
check "every acknowledged RELP message is stored ($(wc -l < "$T/want") acked, $lost lost)" \
    [ "$lost" -eq 0 ]
check "sopd stops cleanly" stop_sopd
