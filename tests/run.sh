#!/bin/sh
# run.sh: every unit and integration test; ends with "N passed, N failed".
# Unit tests are cmocka binaries in build/asan/tests; integration tests are
# scripts in tests/integration that print "ok - ..." / "not ok - ..." lines.
cd "$(dirname "$0")/.." || exit 1
# Under tests/clocks.sh libfaketime is preloaded, ahead of the ASan runtime.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1${LD_PRELOAD:+:verify_asan_link_order=0}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
# libfaketime (0.9.10) names its shared semaphore and memory after the pid
# of the process that created them, and removes them when that process
# exits normally. A process killed by a signal leaves them in /dev/shm, and
# pids wrap (pid_max 32768): a later process given that pid cannot create
# its own, and if it inherited the name of a creator that has exited, it
# exits with "sem_open failed and recreation attempts failed". Remove those
# left by processes that are gone, before the run and after each test.
ft_sweep() {
	for f in /dev/shm/sem.faketime_sem_* /dev/shm/faketime_shm_*; do
		[ -e "$f" ] || continue
		[ -d "/proc/${f##*_}" ] || rm -f "$f"
	done
}
ft_sweep

pass=0
fail=0
failed=""
flaky=""
log=build/test-logs
mkdir -p $log
only="$1"

for t in build/asan/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	[ -n "$only" ] && [ "$only" != "$name" ] && continue
	"$t" > "$log/$name.log" 2>&1
	rc=$?
	ft_sweep
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/$name.log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/$name.log" | tail -1)
	p=${p:-0}; f=${f:-0}
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" != 0 ]; then
		failed="$failed $name"
		echo "FAIL $name (see $log/$name.log)"; tail -30 "$log/$name.log"
	else
		echo "ok   $name ($p)"
	fi
done

for s in tests/integration/*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	[ -n "$only" ] && [ "$only" != "$name" ] && continue
	timeout 600 bash "$s" > "$log/$name.log" 2>&1
	rc=$?
	ft_sweep
	p=$(grep -c '^ok ' "$log/$name.log")
	f=$(grep -c '^not ok ' "$log/$name.log")
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
	# A script that fails runs once more, from the start, with a fresh
	# daemon. If it then passes it counts as passed but is named FLAKY with
	# what failed the first time: a check that depends on the machine's
	# speed is a defect to fix, not one to hide.
	if [ "$f" != 0 ] && [ -z "$NO_RERUN" ]; then
		mv "$log/$name.log" "$log/$name.first.log"
		timeout 600 bash "$s" > "$log/$name.log" 2>&1
		rc=$?
		ft_sweep
		p=$(grep -c '^ok ' "$log/$name.log")
		f=$(grep -c '^not ok ' "$log/$name.log")
		if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
		if [ "$f" = 0 ]; then
			flaky="$flaky $name"
			echo "FLAKY $name: failed, then passed when run again (see $log/$name.first.log):"
			grep '^not ok ' "$log/$name.first.log" | head -10
		fi
	fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" != 0 ]; then
		failed="$failed $name"
		echo "FAIL $name (see $log/$name.log)"; grep -v '^ok ' "$log/$name.log" | tail -40
	else
		echo "ok   $name ($p)"
	fi
done

[ -n "$flaky" ] && echo "flaky (passed when run again):$flaky"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
