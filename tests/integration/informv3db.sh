#!/bin/bash
# informv3db.sh: an SNMPv3 inform (authPriv, snmpinform) is answered only
# once its event is committed to the SQLite file: right after each answer a
# sqlite3 shell reads the incident from the database file, and an inform
# answered just before a kill -9 is in the store after the restart.
# Commits are 1 s apart, so an answer given before the commit would miss.
. "$(dirname "$0")/../lib.sh"

SEQ_OID=1.3.6.1.4.1.99999.0.3
SEQ_VB=1.3.6.1.4.1.99999.3
mkdir -p "$T/rules"
cat > "$T/rules/seq.yaml" <<EOF
rules:
  - name: inform-v3
    match:
      trap_oid: $SEQ_OID
    severity: info
    key: "{vb:$SEQ_VB}"
    title: "inform {vb:$SEQ_VB}"
    flapping: off
EOF
RULES=$T/rules write_config </dev/null
USERS="  users:\n    - {name: inf, auth: SHA-256, auth_pass: informauthpass, priv: AES-256, priv_pass: informprivpass}"
sed -i -e "s|^  communities: \[public\]\$|&\n$USERS|" \
    -e 's/commit_interval_ms: 50/commit_interval_ms: 1000/' "$T/sopd.yaml"
grep -q 'commit_interval_ms: 1000' "$T/sopd.yaml" || { notok "commits 1 s apart"; exit 1; }
start_sopd || { notok "sopd starts with a v3 trap user"; exit 1; }

export MIBS= MIBDIRS=/nonexistent SNMPCONFPATH=/nonexistent
export SNMP_PERSISTENT_DIR=$T/client
DB=$T/var/sopd.db
INF=(-v3 -u inf -l authPriv -a SHA-256 -A informauthpass -x AES-256 -X informprivpass -r 2 -t 2)
# inform KEY: one v3 inform carrying KEY; 0 once sopd answered it.
inform() {
	snmpinform "${INF[@]}" 127.0.0.1:$P_TRAP '' $SEQ_OID $SEQ_VB s "$1" 2>>"$T/inform.err"
}
# stored KEY: the number of incidents of KEY in the database file.
stored() {
	sqlite3 -readonly -cmd ".timeout 5000" "$DB" \
	    "SELECT count(*) FROM incidents WHERE rule = 'inform-v3' AND key = '$1'" 2>&1
}

answered=0 instore=0
for i in 1 2 3 4 5; do
	inform "v3-$i" || continue
	answered=$((answered + 1))
	n=$(stored "v3-$i")
	[ "$n" = 1 ] && instore=$((instore + 1)) || echo "# v3-$i answered, in the file: '$n'"
done
check "the v3 informs are answered ($answered of 5)" test $answered = 5
check "each answered inform's incident is in the database file at once ($instore of $answered)" \
    test $instore = $answered

# An answer, then at once kill -9: what was answered survives.
lost=0
for i in 1 2 3; do
	inform "k-$i" || { notok "v3 inform k-$i is answered"; sed 's/^/# /' "$T/inform.err"; continue; }
	kill9_sopd
	n=$(stored "k-$i")
	[ "$n" = 1 ] || { lost=$((lost + 1)); echo "# k-$i answered, after kill -9: '$n'"; }
	start_sopd || { notok "sopd restarts after kill -9"; exit 1; }
done
check "every inform answered before a kill -9 is in the store ($lost lost)" test $lost = 0
has() { api "/api/v1/incidents?rule=inform-v3&limit=1000" | jq -e --arg k "$1" '[.incidents[] | select(.key == $k)] | length == 1' >/dev/null; }
check "and sopd loaded it after the restart" has k-3
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
