# lib.sh: shared helpers for integration tests (sourced by tests/integration/*.sh).
# Each test gets its own directory, private loopback ports and its own sopd.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SOPD=${SOPD:-$ROOT/build/asan/sopd}
SOPCTL=${SOPCTL:-$ROOT/build/asan/sopctl}
T=$(mktemp -d /tmp/sopd-test.XXXXXX)
# Ports: a block of 10 chosen from the test's pid, away from the defaults.
BASE=$(( 20000 + ($$ % 400) * 10 ))
P_SYSLOG=$BASE
P_TRAP=$((BASE + 1))
P_HTTP=$((BASE + 2))
P_AGENT=$((BASE + 3))
P_SPARE=$((BASE + 4))
API="http://127.0.0.1:$P_HTTP"
SOPD_PID=""
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$T/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$T/ubsan"
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"

# jq 1.6 exits 0 when it is given no input at all, so a request that failed
# would pass a "jq -e" check: in the tests, jq fails on empty input.
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

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
# check DESC CMD...: ok when CMD succeeds.
check() { d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

# Write $T/sopd.yaml; extra YAML lines may be given on stdin (use : </dev/null).
write_config() {
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
EOC
	cat >> "$T/sopd.yaml"
}

# Start sopd in the foreground (in the background of the test), wait for healthz.
start_sopd() {
	[ -f "$T/sopd.yaml" ] || write_config </dev/null
	"$SOPD" -d -c "$T/sopd.yaml" "$@" >> "$T/sopd.log" 2>&1 &
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
	[ -n "$KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
