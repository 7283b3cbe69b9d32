#!/bin/sh
# foreignwal.sh: a WAL file from another database next to sopd.db is not
# replayed into it: sopd moves it aside with a warning and serves its own
# incidents; its own WAL, left by kill -9, is replayed as before.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/rules"
cat > "$T/rules/w.yaml" <<'EOR'
rules:
  - name: wal-test
    match: { program: waltest, message: 'name=(?<k>\S+)' }
    severity: low
    key: "{k}"
    title: "incident {k}"
EOR
RULES=$T/rules write_config </dev/null
# synchronous: full also syncs the record of the WAL's salts.
sed -i 's/^  commit_interval_ms: 50$/&\n  synchronous: full/' "$T/sopd.yaml"
send() { printf '<13>Jan  1 00:00:00 h1 waltest: name=%s\n' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG; }
titles() { api "/api/v1/incidents?state=active&limit=100" | jq -r '.incidents[].title' | sort | tr '\n' ' '; }
has() { titles | grep -q "incident $1"; }

# Database B: another sopd's file, whose WAL holds changes not checkpointed.
start_sopd || { notok "sopd starts (B)"; exit 1; }
send beta
check "incident beta opened in database B" wait_for has beta
check "sopd stops cleanly (B)" stop_sopd
mv "$T/var" "$T/var-b"
(echo "PRAGMA wal_autocheckpoint = 0;"
 echo "UPDATE incidents SET title = 'replayed from B';"
 sleep 30) | sqlite3 "$T/var-b/sopd.db" >/dev/null &
SQ=$!
walsize() { [ "$(stat -c %s "$T/var-b/sopd.db-wal" 2>/dev/null || echo 0)" -gt 32 ]; }
check "database B has a WAL with frames" wait_for walsize
cp "$T/var-b/sopd.db-wal" "$T/foreign-wal"
kill $SQ 2>/dev/null; wait $SQ 2>/dev/null

# Database A: sopd's own; the foreign WAL is put next to it while it is down.
start_sopd || { notok "sopd starts (A)"; exit 1; }
send alpha
check "incident alpha opened in database A" wait_for has alpha
check "sopd stops cleanly (A)" stop_sopd
cp "$T/foreign-wal" "$T/var/sopd.db-wal"
start_sopd || { notok "sopd starts with B's WAL next to A"; exit 1; }
t=$(titles)
echo "# incidents served: $t"
check "the foreign WAL is not replayed: A's incident is served as it was" \
    [ "$t" = "incident alpha " ]
check "the foreign WAL is moved aside" \
    sh -c "ls '$T/var/' | grep -q '^sopd.db-wal.foreign-'"
check "a warning names it" grep -q "belongs to another database" "$T/sopd.log"

# sopd's own WAL after kill -9 is replayed.
send gamma
check "incident gamma opened" wait_for has gamma
kill9_sopd
ls -la "$T/var" | sed 's/^/# /'
start_sopd || { notok "sopd restarts after kill -9"; exit 1; }
check "after kill -9 its own WAL is replayed: alpha and gamma are served" \
    [ "$(titles)" = "incident alpha incident gamma " ]
check "its own WAL is not called foreign" \
    [ "$(grep -c 'belongs to another database' "$T/sopd.log")" = 1 ]
check "sopd stops cleanly" stop_sopd
