# lib.sh: shared helpers for integration tests (sourced by tests/integration/*.sh).
# Each test gets its own directory, private loopback ports and its own sopd.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SOPD=${SOPD:-$ROOT/build/asan/sopd}
SOPCTL=${SOPCTL:-$ROOT/build/asan/sopctl}
T=$(mktemp -d /tmp/sopd-test.XXXXXX)
# net-snmp's tools (snmpwalk, snmptrap, snmptranslate...) keep their state
# (engine IDs, boots) in the test's own directory, never in /var/lib/snmp,
# which tests and tools running side by side would rewrite under each other.
export SNMP_PERSISTENT_DIR=$T/snmp-persist
mkdir -p "$SNMP_PERSISTENT_DIR/cert_indexes" "$SNMP_PERSISTENT_DIR/mib_indexes"
# Ports: a block of 10 below the kernel's ephemeral range (32768-), away
# from the defaults, none of them in use (TCP or UDP) when the test starts,
# and claimed with a lock directory so that tests running side by side
# (several checkouts on one machine) never take the same block.
PORT_LOCKS=/tmp/sopd-test-ports
mkdir -p "$PORT_LOCKS" 2>/dev/null
PORT_LOCK=""
pick_ports() {
	_used=" $(ss -Htuan 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -u | tr '\n' ' ') "
	_try=0
	while [ $_try -lt 1276 ]; do
		_base=$(( 20000 + (($$ + _try * 97) % 1276) * 10 ))
		_try=$((_try + 1))
		_p=$_base _free=1
		while [ $_p -lt $((_base + 10)) ]; do
			case "$_used" in *" $_p "*) _free=0; break ;; esac
			_p=$((_p + 1))
		done
		[ $_free = 1 ] || continue
		# A lock left by a test that died is taken back when its pid is gone.
		if [ -d "$PORT_LOCKS/$_base" ] &&
		    ! kill -0 "$(cat "$PORT_LOCKS/$_base/pid" 2>/dev/null || echo 0)" 2>/dev/null; then
			rm -rf "$PORT_LOCKS/$_base"
		fi
		mkdir "$PORT_LOCKS/$_base" 2>/dev/null || continue
		echo $$ > "$PORT_LOCKS/$_base/pid"
		PORT_LOCK=$PORT_LOCKS/$_base
		BASE=$_base
		return 0
	done
	echo "# no free block of 10 ports in 20000-32759" >&2
	exit 1
}
pick_ports
P_SYSLOG=$BASE
P_TRAP=$((BASE + 1))
P_HTTP=$((BASE + 2))
P_AGENT=$((BASE + 3))
P_SPARE=$((BASE + 4))
API="http://127.0.0.1:$P_HTTP"
SOPD_PID=""
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$T/asan${LD_PRELOAD:+:verify_asan_link_order=0}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$T/ubsan"
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"

# jq 1.6 exits 0 when it is given no input at all, so a request that failed
# would pass a "jq -e" check: in the tests, jq fails on empty input (in
# sub-shells too: "sh -c 'curl ... | jq -e ...'" finds tests/bin/jq first).
PATH=$ROOT/tests/bin:$PATH
export PATH
jq() {
	_last=
	for _a in "$@"; do _last=$_a; done
	if [ $# -ge 2 ] && [ -f "$_last" ]; then
		[ -s "$_last" ] || { echo "# jq: $_last is empty" >&2; return 1; }
		command jq "$@"
		return
	fi
	_in=$(cat)
	[ -n "$_in" ] || { echo "# jq: no input (did the request fail?)" >&2; return 1; }
	printf '%s\n' "$_in" | command jq "$@"
}

# pin_clock "YYYY-MM-DD HH:MM:SS +ZZZZ": from here on, every process the test
# starts (sopd, logger, curl, date...) sees the clock at that time, running at
# the normal speed (libfaketime preloaded with a fixed offset, computed
# against the real clock even when tests/clocks.sh already shifted it).
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
pin_clock() {
	[ -r "$FAKETIME_LIB" ] || { notok "libfaketime is installed (Debian package faketime)"; exit 1; }
	_off=$(( $(date -d "$1" +%s) - $(LD_PRELOAD= date +%s) ))
	[ $_off -ge 0 ] && _off=+$_off
	unset FAKETIME_SHARED
	export LD_PRELOAD=$FAKETIME_LIB FAKETIME="$_off"
	case "$ASAN_OPTIONS" in
	*verify_asan_link_order=0*) ;;
	*) export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" ;;
	esac
}

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
# check DESC CMD...: ok when CMD succeeds.
check() { d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

# Write $T/sopd.yaml; extra YAML lines may be given on stdin (use : </dev/null).
# The zone, business hours and windows are pinned: no patch window unless the
# test gives its own windows: section (in $WINDOWS or on stdin), so the day
# and hour the suite runs at never hold an incident.
write_config() {
	_extra=$(cat)
	_windows=${WINDOWS:-windows: {patch: []\}}
	case "$_extra" in
	windows:*|*"
windows:"*) _windows="" ;;
	esac
	cat > "$T/sopd.yaml" <<EOC
state_dir: $T/var
syslog:
  udp: 127.0.0.1:$P_SYSLOG
  tcp: 127.0.0.1:$P_SYSLOG
traps:
  listen: 127.0.0.1:$P_TRAP
  communities: [public]
agent:
  listen: 127.0.0.1:$P_AGENT
http:
  listen: 127.0.0.1:$P_HTTP
rules: [${RULES:-$ROOT/rules}]
mib_dirs: [$ROOT/mibs]
store:
  commit_interval_ms: 50
calendar:
  timezone: Asia/Tokyo
  hours: "mon-fri 09:00-18:00"
  holidays: [$ROOT/firmware/holidays/jp.yaml]
  business_day: 9h
$_windows
EOC
	printf '%s\n' "$_extra" >> "$T/sopd.yaml"
}

# Start sopd in the foreground (in the background of the test), wait for healthz.
start_sopd() {
	[ -f "$T/sopd.yaml" ] || write_config </dev/null
	# A libfaketime already loaded in this shell (tests/clocks.sh) shares
	# its clock's start through FAKETIME_SHARED, which would override the
	# start and speed a test gives sopd in FAKETIME: sopd gets its own.
	env -u FAKETIME_SHARED "$SOPD" -d -c "$T/sopd.yaml" "$@" >> "$T/sopd.log" 2>&1 &
	SOPD_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		curl -sf "$API/healthz" >/dev/null 2>&1 && return 0
		kill -0 $SOPD_PID 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	echo "# sopd did not start:"; sed 's/^/# /' "$T/sopd.log" | tail -20
	return 1
}

# Stop sopd with SIGTERM; fails if it does not exit cleanly or a sanitizer spoke.
stop_sopd() {
	[ -n "$SOPD_PID" ] || return 0
	kill -TERM $SOPD_PID 2>/dev/null
	wait $SOPD_PID; rc=$?
	SOPD_PID=""
	if [ $rc -ne 0 ]; then
		echo "# sopd exited with $rc"; sed 's/^/# /' "$T/sopd.log" | tail -20
		return 1
	fi
	no_sanitizer_reports
}

# Kill sopd hard (no flush).
kill9_sopd() {
	[ -n "$SOPD_PID" ] && kill -9 $SOPD_PID 2>/dev/null && wait $SOPD_PID 2>/dev/null
	SOPD_PID=""
	return 0
}

no_sanitizer_reports() {
	if ls "$T"/asan* "$T"/ubsan* >/dev/null 2>&1; then
		echo "# sanitizer reports:"; cat "$T"/asan* "$T"/ubsan* | sed 's/^/# /' | head -60
		return 1
	fi
	return 0
}

alive() { kill -0 "$SOPD_PID" 2>/dev/null; }

# api PATH: GET the API and print the body.
api() { curl -sf "$API$1"; }

# api_get PATH: GET the API, retried when a request got no answer. Under a
# fast libfaketime clock (x720) evhttp's 15 s inactivity timeout is about
# 20 real ms, so a loaded machine sees dropped connections; a failed GET is
# never read as an answer (jq 1.6 -e exits 0 on empty input).
api_get() {
	for _ in 1 2 3 4 5; do
		curl -sf "$API$1" && return 0
		sleep 0.1
	done
	return 1
}

# api_jq PATH FILTER: the API's answer (api_get) satisfies a jq filter.
api_jq() {
	_b=$(api_get "$1") || return 1
	printf '%s' "$_b" | jq -e "$2" >/dev/null 2>&1
}

# ctl_retry ARGS...: sopctl into $T/out and $T/err, again when the
# connection was dropped (exit 3; see api_get).
ctl_retry() {
	for _ in 1 2 3 4 5; do
		"$SOPCTL" -u "$API" "$@" >"$T/out" 2>"$T/err"
		rc=$?
		[ $rc -ne 3 ] && return $rc
		sleep 0.1
	done
	return $rc
}

# start_sopd_at DATE SPEED: start sopd on libfaketime at the local time
# DATE, running SPEED (x300) times faster; the script ends if it does not.
start_sopd_at() {
	LD_PRELOAD=$FAKETIME_LIB FAKETIME="@$1 $2" FAKETIME_NO_CACHE=1 start_sopd ||
	    { notok "sopd starts at $1"; exit 1; }
}

# db_ro SQL: a query on sopd's store, read-only; epoch DATE: local DATE in s.
db_ro() { sqlite3 "file:$T/var/sopd.db?mode=ro" "$1" 2>/dev/null; }
epoch() { date -d "$1" +%s; }

# wait_for DESC CMD...: retry CMD for up to 5 s.
wait_for() {
	i=0
	while [ $i -lt 50 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

cleanup() {
	[ -n "$SOPD_PID" ] && kill -9 $SOPD_PID 2>/dev/null
	[ -n "$PORT_LOCK" ] && rm -rf "$PORT_LOCK"
	[ -n "$KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT

# accel_sopd SPEED: start sopd through $T/sopd-ft ($SOPD) at the simulated UTC
# time in $FT ("@YYYY-MM-DD hh:mm:ss"), SPEED ("x720") times faster. It runs
# $REAL_SOPD, build/sopd without sanitizers (libfaketime and ASan do not
# start together), built on demand.
accel_sopd() {
	[ -f "$FAKETIME_LIB" ] || { notok "libfaketime is installed (Debian package faketime)"; exit 1; }
	make -C "$ROOT" -s build/sopd >/dev/null 2>&1 || { notok "build/sopd builds"; exit 1; }
	REAL_SOPD=$ROOT/build/sopd
	printf '#!/bin/sh\nexec env TZ=UTC LD_PRELOAD=%s FAKETIME="$FT %s" %s "$@"\n' \
	    "$FAKETIME_LIB" "$1" "$REAL_SOPD" > "$T/sopd-ft"
	chmod +x "$T/sopd-ft"
	SOPD=$T/sopd-ft
	export FT
}

# start_webhook PORT FILE: a webhook receiver on 127.0.0.1:PORT appending each
# POST body as a line to FILE; its PID in HOOK_PID (the test kills it).
start_webhook() {
	command -v python3 >/dev/null 2>&1 || { notok "python3 is installed (webhook receiver)"; exit 1; }
	cat > "$T/hook.py" <<'EOF2'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF2
	python3 "$T/hook.py" "$1" "$2" >/dev/null 2>&1 &
	HOOK_PID=$!
}

# wait_long SECONDS CMD...: retry CMD for up to SECONDS real seconds.
wait_long() {
	n=$(( $1 * 10 )); shift; i=0
	while [ $i -lt $n ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# active: the active incidents (up to 1000) as the API lists them.
active() { api "/api/v1/incidents?state=active&limit=1000"; }
# two_incidents: a critical and a high kernel line through logger, and the
# check that both opened (the SNMP tests read them back).
two_incidents() {
	_l="logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164"
	$_l -t kernel -p kern.crit "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
	$_l -t kernel -p kern.err "Out of memory: Killed process 4242 (java) total-vm:8123456kB, anon-rss:4012345kB"
	check "two incidents open through syslog" wait_for _two_active
}
_two_active() { [ "$(active | jq '.incidents | length')" -ge 2 ]; }
