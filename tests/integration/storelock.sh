#!/bin/sh
# storelock.sh: another process (a sqlite3 shell) holds the database's write
# lock for several seconds while syslog arrives: the event loop keeps
# answering /healthz at once, the commits found locked are counted and
# retried, and after the lock is released every message's incident is stored.
. "$(dirname "$0")/../lib.sh"

N=60				# messages sent while the lock is held
HOLD=6				# seconds the lock is held
mkdir -p "$T/rules"
cat > "$T/rules/lock.yaml" <<'EOR'
rules:
  - name: lock-test
    match: { program: locktest, message: 'n=(?<k>\d+)' }
    severity: low
    key: "{k}"
    title: "lock test {k}"
EOR
RULES=$T/rules write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }
DB=$T/var/sopd.db
send() { printf '<13>Jan  1 00:00:00 h1 locktest: n=%s\n' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
stored() { sqlite3 "$DB" "SELECT count(*) FROM incidents WHERE rule = 'lock-test'"; }
stored_is() { [ "$(stored 2>/dev/null)" = "$1" ]; }

send 0
check "a message before the lock is stored" wait_for stored_is 1

# The lock: BEGIN IMMEDIATE in a sqlite3 shell, held for $HOLD seconds.
(echo "BEGIN IMMEDIATE;"; sleep $HOLD; echo "COMMIT;") | sqlite3 "$DB" &
LOCKER=$!
locked() { ! sqlite3 "$DB" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null; }
check "the sqlite3 shell holds the write lock" wait_for locked

# While it is held: send, and time /healthz every 0.2 s.
max=0 i=1 slow=0
start=$(date +%s)
while locked && [ $(( $(date +%s) - start )) -lt $((HOLD + 5)) ]; do
	[ $i -le $N ] && { send $i; i=$((i + 1)); }
	t=$(curl -s -o /dev/null --max-time 5 -w '%{time_total}' "$API/healthz")
	ms=$(awk -v t="${t:-5}" 'BEGIN { printf "%d", t * 1000 }')
	[ "$ms" -gt "$max" ] && max=$ms
	[ "$ms" -ge 1000 ] && slow=$((slow + 1))
	sleep 0.1
done
while [ $i -le $N ]; do send $i; i=$((i + 1)); done	# if the lock ended early
echo "# slowest /healthz under the lock: ${max} ms, ${slow} at 1 s or more"
check "/healthz answers within 1 s while another process holds the lock" \
    [ "$slow" -eq 0 ]
busy=$(api /api/v1/stats | jq -r '.store.busy_retries')
echo "# store.busy_retries = $busy"
check "commits found locked are counted (store.busy_retries)" \
    [ "${busy:-0}" -gt 0 ]
check "sopd_store_busy_retries_total in /metrics" \
    sh -c "curl -sf '$API/metrics' | grep -q '^sopd_store_busy_retries_total [1-9]'"
wait $LOCKER
check "after the lock is released, every message sent under it is stored" \
    wait_for stored_is $((N + 1))
echo "# stored: $(stored)"
check "sopd stops cleanly" stop_sopd
