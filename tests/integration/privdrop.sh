#!/bin/bash
# privdrop.sh: started as root with user: nobody, sopd binds its ports, hands
# its state to nobody, drops every privilege, and still works (syslog to
# SQLite, SIGHUP reload, SIGTERM); a reload cannot bind a privileged port.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "# skipped: not root (switching users needs root)"
	exit 0
fi
NOBODY=$(id -u nobody) NOGROUP=$(getent group nogroup | cut -d: -f3)
if [ -z "$NOBODY" ] || [ -z "$NOGROUP" ]; then
	echo "# skipped: no user nobody or group nogroup"
	exit 0
fi

# nobody must reach the config, the rules and the state: the test's
# directory (0700 from mktemp) becomes traversable, its files readable.
chmod 0711 "$T"
mkdir -m 0777 "$T/san"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$T/san/asan${LD_PRELOAD:+:verify_asan_link_order=0}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$T/san/ubsan"
mkdir -m 0755 "$T/rules"
cp "$ROOT"/rules/*.yaml "$T/rules/"
chmod 0644 "$T"/rules/*.yaml
RULES="$T/rules" write_config <<EOC
user: nobody
group: nogroup
EOC
sed -i "s|^state_dir: .*|state_dir: $T/state|" "$T/sopd.yaml"
chmod 0644 "$T/sopd.yaml"
S="$T/state"

san_clean() {
	if ls "$T"/san/* >/dev/null 2>&1; then
		echo "# sanitizer reports:"; cat "$T"/san/* | sed 's/^/# /' | head -60
		return 1
	fi
	return 0
}
status() { grep "^$1:" /proc/$SOPD_PID/status | tr -s ' \t' ' '; }
owner() { stat -c '%U:%G' "$1"; }

# -t names an unknown user at its file:line:col.
sed 's/^user: nobody$/user: no-such-user-sopd/' "$T/sopd.yaml" > "$T/bad.yaml"
out=$("$SOPD" -t -c "$T/bad.yaml" 2>&1)
check "an unknown user is a config error at file:line:col" \
  grep -Eq 'bad.yaml:[0-9]+:[0-9]+: user: no user "no-such-user-sopd"' <<<"$out"

# Not root: switching to another user is refused at start.
sed 's/^user: nobody$/user: root/; /^group:/d' "$T/sopd.yaml" > "$T/root.yaml"
chmod 0644 "$T/root.yaml"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$SOPD" -d -c "$T/root.yaml" 2>&1); rc=$?
echo "$out" | tail -3 | sed 's/^/# /'
refused() {
	[ $rc != 0 ] && grep -q 'cannot switch to user root: not running as root' <<<"$out"
}
check "as nobody, user: root is refused at start" refused

start_sopd || { notok "sopd starts as root with user: nobody"; exit 1; }
ok "sopd starts as root with user: nobody"
status Uid | sed 's/^/# /'; status Gid | sed 's/^/# /'; status CapEff | sed 's/^/# /'
check "real, effective, saved and fs uid are nobody" \
  [ "$(status Uid)" = "Uid: $NOBODY $NOBODY $NOBODY $NOBODY" ]
check "real, effective, saved and fs gid are nogroup" \
  [ "$(status Gid)" = "Gid: $NOGROUP $NOGROUP $NOGROUP $NOGROUP" ]
check "supplementary groups are nobody's" \
  [ "$(status Groups)" = "Groups: $NOGROUP " -o "$(status Groups)" = "Groups: $NOGROUP" ]
check "no effective capability is left" \
  [ "$(status CapEff)" = "CapEff: 0000000000000000" ]
check "no permitted capability is left" \
  [ "$(status CapPrm)" = "CapPrm: 0000000000000000" ]
check "the log says which user sopd runs as" \
  grep -q "running as user nobody (uid $NOBODY, gid $NOGROUP)" "$T/sopd.log"

# Syslog still becomes incidents, committed by nobody.
L="logger -n 127.0.0.1 -P $P_SYSLOG"
active() { api "/api/v1/incidents?state=active"; }
$L -d --rfc3164 -t kernel -p kern.err "Out of memory: Killed process 4242 (java) total-vm:8123456kB"
check "syslog over UDP opens an incident" \
  wait_for eval '[ "$(active | jq ".incidents | length")" = 1 ]'
$L -T --rfc3164 -t kernel -p kern.err "Out of memory: Killed process 4243 (java) total-vm:8123456kB"
check "syslog over TCP counts on it" \
  wait_for eval 'active | jq -e ".incidents[0].count == 2"'
check "the incident is committed to SQLite" \
  wait_for eval '[ "$(sqlite3 -readonly "$S/sopd.db" "select count(*) from incidents" 2>/dev/null)" = 1 ]'
check "the state directory belongs to nobody" [ "$(owner "$S")" = "nobody:nogroup" ]
for f in sopd.db sopd.db-wal sopd.db-shm sopd.db-walsalt snmp snmp/engine; do
	check "$f belongs to nobody" [ "$(owner "$S/$f")" = "nobody:nogroup" ]
done
check "nothing under the state directory belongs to root" \
  [ -z "$(find "$S" -user root)" ]

# SIGHUP: the config and rules are read as nobody.
cat > "$T/rules/50-extra.yaml" <<'EOR'
rules:
  - name: extra-widget
    match: { program: widgetd, message: 'widget (?<w>\w+) jammed' }
    severity: medium
    title: "Widget {w} jammed on {host}"
    key: "{host}:{w}"
EOR
chmod 0644 "$T/rules/50-extra.yaml"
gen=$(api /api/v1/stats | jq '.daemon.generation')
kill -HUP $SOPD_PID
check "a reload as nobody succeeds" \
  wait_for eval 'api /api/v1/stats | jq -e ".daemon.last_reload.ok == true and .daemon.generation > $gen"'
$L -d --rfc3164 -t widgetd -p daemon.err "widget w7 jammed"
check "a rule added by the reload matches" \
  wait_for eval 'active | jq -e "[.incidents[] | select(.rule==\"extra-widget\")] | length == 1"'

# A reload that moves the trap receiver to a privileged port cannot bind it:
# the error is logged and the old listener keeps working.
# A privileged port that nothing uses (else the refusal would be another).
PRIV=""
for p in $(seq $((600 + $$ % 300)) 1023) $(seq 600 1023); do
	[ -z "$(ss -Hlnu "sport = :$p")" ] && { PRIV=$p; break; }
done
sed -i "s|^  listen: 127.0.0.1:$P_TRAP\$|  listen: 127.0.0.1:$PRIV|" "$T/sopd.yaml"
kill -HUP $SOPD_PID
check "binding a privileged port on reload is refused with a clear error" \
  wait_for grep -q "traps.listen 127.0.0.1:$PRIV: sopd runs as user nobody and cannot bind" "$T/sopd.log"
grep -E "traps|reload" "$T/sopd.log" | tail -4 | sed 's/^/# /'
check "sopd survives that reload" alive
before=$(api /api/v1/stats | jq '.inputs.snmp_trap.received')
snmptrap -v 2c -c public 127.0.0.1:$P_TRAP '' 1.3.6.1.6.3.1.1.5.3 \
  1.3.6.1.2.1.2.2.1.1.3 i 3 2>/dev/null
check "the old trap listener still receives" \
  wait_for eval '[ "$(api /api/v1/stats | jq ".inputs.snmp_trap.received")" -gt "$before" ]'
check "the privileged port stays unbound" \
  [ -z "$(ss -Hlnu "sport = :$PRIV")" ]

# SIGTERM as nobody: clean exit, state flushed.
n=$(active | jq '.incidents | length')
check "SIGTERM stops sopd cleanly" stop_sopd
check "no sanitizer report" san_clean
check "the files still belong to nobody after the stop" \
  [ -z "$(find "$S" -user root)" ]

# A second start as root reopens state that nobody owns.
sed -i "s|^  listen: 127.0.0.1:$PRIV\$|  listen: 127.0.0.1:$P_TRAP|" "$T/sopd.yaml"
start_sopd || { notok "sopd restarts on nobody's state"; exit 1; }
ok "sopd restarts on nobody's state"
check "incidents survive the restart" \
  wait_for eval '[ "$(active | jq ".incidents | length")" = "$n" ]'
check "the restarted sopd runs as nobody" \
  [ "$(status Uid)" = "Uid: $NOBODY $NOBODY $NOBODY $NOBODY" ]
check "SIGTERM stops the restarted sopd cleanly" stop_sopd
check "no sanitizer report after the restart" san_clean
