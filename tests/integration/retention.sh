#!/bin/bash
# retention.sh: two years of resolved incidents generated on a pinned clock;
# sopd keeps store.retention (400 days) of them and deletes the rest in
# steps while it keeps answering; reports of the kept period do not change;
# the file shrinks (incremental vacuum) and stays bounded when more old
# history arrives; `sopctl backup` copies the running database and the
# documented restore brings it back.
. "$(dirname "$0")/../lib.sh"

pin_clock "2026-06-15 12:00:00 +0000"
NOW=$(date +%s)
DB="$T/var/sopd.db"
write_config </dev/null
sed -i 's/^  commit_interval_ms: 50$/&\n  retention: 0/' "$T/sopd.yaml"
retention() { sed -i "s/^  retention: .*/  retention: $1/" "$T/sopd.yaml"; }
sql() { sqlite3 -cmd ".timeout 5000" "$DB" "$@"; }

# A fresh store: schema made by sopd, incremental auto-vacuum.
start_sopd || { notok "sopd starts"; exit 1; }
stop_sopd
check "a new store uses incremental auto-vacuum" [ "$(sql 'PRAGMA auto_vacuum')" = 2 ]

# gen FIRST N: N resolved incidents, one every 1.2 h going back from
# NOW - FIRST*4320 s, each with three history rows and an escalation step.
gen() {
	sql <<EOSQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $1 + $2 - 1)
INSERT INTO incidents (id, rule, rule_file, rule_line, key, severity, state,
    level, host, title, count, first_seen, last_seen, resolved_at, samples)
SELECT 100000 + i, 'disk-error', 'gen.yaml', 1, 'srv' || (i % 40) || ':' || i,
    CASE i % 3 WHEN 0 THEN 'high' WHEN 1 THEN 'medium' ELSE 'critical' END,
    'resolved', 'L1', 'srv' || (i % 40), 'Generated incident ' || i, 3,
    $NOW - i * 4320, $NOW - i * 4320 + 600, $NOW - i * 4320 + 3600, '[]'
FROM n;
INSERT INTO incident_history (incident_id, at, actor, action, from_state, to_state, note)
SELECT id, first_seen + k * 1200, 'gen', a, NULL, NULL, substr(hex(zeroblob(200)), 1, 300)
FROM incidents, (SELECT 0 AS k, 'open' AS a UNION ALL SELECT 1, 'ack' UNION ALL SELECT 2, 'resolve')
WHERE id >= 100000 + $1 AND id < 100000 + $1 + $2;
INSERT INTO escalation (incident_id, step, due, fired_at, level)
SELECT id, 0, first_seen, first_seen, 'L1' FROM incidents
WHERE id >= 100000 + $1 AND id < 100000 + $1 + $2;
INSERT OR REPLACE INTO meta (name, value) VALUES ('next_id', (SELECT MAX(id) + 1 FROM incidents));
COMMIT;
EOSQL
}
# Two years of history: 14600 incidents, 1.2 h apart.
gen 1 14600 || { notok "history generated"; exit 1; }
CUT=$((NOW - 400 * 86400))
old() { sql "SELECT COUNT(*) FROM incidents WHERE resolved_at < $CUT"; }
kept=$(sql "SELECT COUNT(*) FROM incidents WHERE resolved_at >= $CUT")
echo "# generated: $(sql 'SELECT COUNT(*) FROM incidents') incidents, $(old) older than 400 days, $kept kept"
size() { echo $(( $(sql 'PRAGMA page_count') * $(sql 'PRAGMA page_size') )); }
size0=$(size)

# Reports of the kept period with retention off: the reference.
M2=$(date -d "@$((NOW - 60 * 86400))" +%Y-%m-%d)
M11=$(date -d "@$((NOW - 335 * 86400))" +%Y-%m-%d)
report() { api "/api/v1/reports/monthly?date=$1" | jq -S 'del(.generated_at)'; }
start_sopd || { notok "sopd starts on the generated history"; exit 1; }
report "$M2" > "$T/m2.before"
report "$M11" > "$T/m11.before"
check "a report of the kept period counts generated incidents" \
    jq -e '[.. | numbers | select(. > 100)] | length > 0' "$T/m2.before" >/dev/null
sleep 3
check "retention: 0 keeps everything" [ "$(old)" -gt 0 ]
stop_sopd

# Retention on: the old ones go, in steps, while sopd answers.
retention 400d
start_sopd || { notok "sopd starts with retention"; exit 1; }
slow=0
pruned() { grep -q "retention: deleted" "$T/sopd.log"; }
i=0
while ! pruned && [ $i -lt 300 ]; do
	t0=$(date +%s%N)
	api /healthz >/dev/null || slow=$((slow + 100))
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ] || slow=$((slow + 1))
	sleep 0.1; i=$((i + 1))
done
grep "retention" "$T/sopd.log" | sed 's/^/# /'
check "sopd deletes what is older than 400 days" pruned
check "nothing resolved more than 400 days ago is left" [ "$(old)" = 0 ]
check "everything resolved within 400 days is kept" \
    [ "$(sql 'SELECT COUNT(*) FROM incidents')" = "$kept" ]
check "the history of deleted incidents is gone" \
    [ "$(sql 'SELECT COUNT(*) FROM incident_history WHERE incident_id NOT IN (SELECT id FROM incidents)')" = 0 ]
check "their escalation steps are gone" \
    [ "$(sql 'SELECT COUNT(*) FROM escalation WHERE incident_id NOT IN (SELECT id FROM incidents)')" = 0 ]
check "the history of kept incidents is kept" \
    [ "$(sql 'SELECT COUNT(*) FROM incident_history')" = $((kept * 3)) ]
check "the API answered within a second throughout the pruning" [ $slow = 0 ]
report "$M2" > "$T/m2.after"
report "$M11" > "$T/m11.after"
check "the monthly report of two months ago is unchanged" cmp -s "$T/m2.before" "$T/m2.after"
check "the monthly report of eleven months ago is unchanged" cmp -s "$T/m11.before" "$T/m11.after"
vacuumed() { [ "$(sql 'PRAGMA freelist_count')" = 0 ]; }
check "the freed pages are given back (incremental vacuum)" wait_for vacuumed
size1=$(size)
echo "# database: $size0 bytes before, $size1 after"
check "the file shrinks with what was deleted" [ $size1 -lt $((size0 * 3 / 4)) ]
stop_sopd

# A second lot of old history (another year, all past retention): once
# pruned, the file is no bigger than before.
gen 20001 7300 || notok "more history generated"
check "the file grew with the new history" [ "$(size)" -gt "$size1" ]
: > "$T/sopd.log"
start_sopd || { notok "sopd restarts"; exit 1; }
check "sopd deletes the new old history" wait_for pruned
wait_for vacuumed
size2=$(size)
echo "# database after the second lot: $size2 bytes"
check "the file stays bounded (no bigger than after the first pruning)" \
    [ $size2 -le $((size1 + size1 / 20)) ]

# Backup while sopd works: messages keep arriving during the copy.
( for n in $(seq 1 40); do
	logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164 -t kernel -p kern.err \
	    "Out of memory: Killed process $n (java$n) total-vm:8123456kB"
	sleep 0.02
done ) &
LPID=$!
out=$("$SOPCTL" -u "$API" backup "$T/backup.db" 2>&1); rc=$?
echo "# $out"
wait $LPID
check "sopctl backup succeeds while sopd runs" [ $rc = 0 ]
check "sopctl backup says where and how much" grep -q "^backup: $T/backup.db ([0-9]* bytes)" <<<"$out"
check "the backup is a sound SQLite database" \
    [ "$(sqlite3 "$T/backup.db" 'PRAGMA integrity_check')" = ok ]
check "the backup is a sopd store" \
    [ "$(sqlite3 "$T/backup.db" 'PRAGMA application_id')" = "$(sql 'PRAGMA application_id')" ]
check "the backup holds the kept history" \
    [ "$(sqlite3 "$T/backup.db" "SELECT COUNT(*) FROM incidents WHERE rule = 'disk-error'")" = "$kept" ]
check "no temporary copy is left in the state directory" \
    [ -z "$(ls -A "$T/var" | grep -- '^\.backup')" ]
check "no temporary file is left next to the backup" [ ! -e "$T/backup.db.tmp" ]
out=$("$SOPCTL" -u "$API" backup "$T/no/such/dir/b.db" 2>&1); rc=$?
echo "# $out"
check "a backup to a directory that does not exist fails (exit 1)" [ $rc = 1 ]
check "and says why" grep -q "No such file or directory" <<<"$out"
n_backup=$(sqlite3 "$T/backup.db" "SELECT COUNT(*) FROM incidents")
active_backup=$(sqlite3 "$T/backup.db" "SELECT COUNT(*) FROM incidents WHERE state IN ('open', 'acknowledged')")

# New incidents after the backup; the restore brings the backup's state.
logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164 -t kernel -p kern.crit \
    "EXT4-fs error (device sdz1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
more() { [ "$(sql 'SELECT COUNT(*) FROM incidents')" -gt "$n_backup" ]; }
check "an incident after the backup is stored" wait_for more
check "sopd stops cleanly" stop_sopd
# The restore of the README: stop, drop the WAL, put the copy in place, start.
rm -f "$DB-wal" "$DB-shm"
cp "$T/backup.db" "$DB"
start_sopd || { notok "sopd starts on the restored backup"; exit 1; }
check "the restored store has the backup's incidents" \
    [ "$(sql 'SELECT COUNT(*) FROM incidents')" = "$n_backup" ]
check "the API serves the restored history" \
    [ "$(api "/api/v1/incidents?state=resolved&limit=1" | jq .total)" = "$kept" ]
check "the active incidents are those of the backup (not the one made after it)" \
    [ "$(api "/api/v1/incidents?state=active" | jq .total)" = "$active_backup" ]
check "sopd stops cleanly" stop_sopd
