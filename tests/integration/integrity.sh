#!/bin/sh
# integrity.sh: the scheduled full integrity check (store.
# integrity_check_interval) reports a sound file as ok, and finds damage
# that the quick check at start lets through (an index that no longer
# matches its table): stats, /metrics and a warning say so. The daemon runs
# the check in a process of its own (sopd --integrity-check FILE, checked
# here on its own too), so that its loop goes on meanwhile.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/rules"
cat > "$T/rules/i.yaml" <<'EOR'
rules:
  - name: integ-test
    match: { program: integtest, message: 'name=(?<k>\S+)' }
    severity: low
    key: "{k}"
    title: "incident {k}"
EOR
RULES=$T/rules write_config </dev/null
sed -i 's/^  commit_interval_ms: 50$/&\n  integrity_check_interval: 1s/' "$T/sopd.yaml"
send() { printf '<13>Jan  1 00:00:00 h1 integtest: name=%s\n' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
has() { api "/api/v1/incidents?state=active" | jq -e ".incidents | map(.title) | index(\"incident $1\")" >/dev/null; }
integ() { api /api/v1/stats | jq -r .store.integrity; }
# until_integ WORD: wait up to 30 s (checks run on the 5 s checkpoint tick).
until_integ() {
	n=0
	while [ $n -lt 150 ]; do
		[ "$(integ)" = "$1" ] && return 0
		sleep 0.2; n=$((n + 1))
	done
	return 1
}

start_sopd || { notok "sopd starts"; exit 1; }
check "integrity reads never before the first check" [ "$(integ)" = never ]
send one; send two
check "incidents opened" wait_for has two
check "the scheduled integrity check finds the file sound" until_integ ok
check "its time is in stats" \
    [ "$(api /api/v1/stats | jq -r .store.integrity_checked_at)" -gt 0 ]
check "sopd stops cleanly" stop_sopd

# An index whose definition no longer matches its entries: quick_check at
# start does not look, integrity_check does.
sqlite3 "$T/var/sopd.db" "PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = 'CREATE INDEX incidents_state ON incidents (host)'
 WHERE name = 'incidents_state';" >/dev/null
sqlite3 "$T/var/sopd.db" "PRAGMA quick_check" | grep -qx ok &&
    ! sqlite3 "$T/var/sopd.db" "PRAGMA integrity_check" | grep -qx ok ||
    { notok "the damage passes quick_check and fails integrity_check"; exit 1; }
start_sopd || { notok "sopd starts on the damaged file"; exit 1; }
check "the damage is not found at start (the file is kept)" has one
check "the scheduled integrity check reports the damage" until_integ damaged
check "sopd_store_integrity_damaged is 1 in /metrics" sh -c \
    "curl -sf '$API/metrics' | grep -qx 'sopd_store_integrity_damaged 1'"
check "a warning says what is damaged" \
    grep -q "integrity check found damage: .*incidents_state" "$T/sopd.log"
check "the loop timed the check's turns (stats loop.stall_ms.integrity)" \
    sh -c "curl -sf '$API/api/v1/stats' | jq -e '.loop.stall_ms.integrity > 0' >/dev/null"
check "sopd stops cleanly" stop_sopd
out=$("$SOPD" --integrity-check "$T/var/sopd.db"); rc=$?
check "sopd --integrity-check on the damaged file: exit 1, the problem ($out)" \
    sh -c "[ $rc = 1 ] && echo '$out' | grep -q incidents_state"
sqlite3 "$T/var/sopd.db" "PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = 'CREATE INDEX incidents_state ON incidents (state)'
 WHERE name = 'incidents_state';" >/dev/null
out=$("$SOPD" --integrity-check "$T/var/sopd.db"); rc=$?
check "sopd --integrity-check on the repaired file: exit 0, ok" \
    sh -c "[ $rc = 0 ] && [ '$out' = ok ]"
out=$("$SOPD" --integrity-check "$T/none.db"); rc=$?
check "sopd --integrity-check on no file: exit 2 ($out)" [ "$rc" = 2 ]
