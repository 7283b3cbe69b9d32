#!/bin/sh
# soak.sh: the heavy versions of the fault tests (make soak; minutes, not
# seconds): the kill -9 loop with 100 RELP sessions and informs, then 100
# RELP sessions opening while others stream (fairness and open latency).
# Prints the figures; exits non-zero if a check failed.
cd "$(dirname "$0")/../.." || exit 1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
log=build/test-logs
mkdir -p $log
rc=0
run() {
	name=$1; shift
	env "$@" timeout 1800 bash tests/soak/$name.sh > $log/soak-$name.log 2>&1
	grep -E '^(ok|not ok|#)' $log/soak-$name.log
	grep -q '^not ok' $log/soak-$name.log && rc=1
	return 0
}
# 30 kills over 150 s; 100 RELP sessions at 1.5 messages/s each (150/s)
# and 8 snmpinform loops.
KILLS=${KILLS:-30} DURATION=${DURATION:-150} RELP_CLIENTS=${RELP_CLIENTS:-100} \
    RELP_RATE=${RELP_RATE:-1.5} INFORMERS=${INFORMERS:-8} \
    timeout 1800 bash tests/integration/killloop.sh > $log/soak-killloop.log 2>&1
grep -E '^(ok|not ok|#)' $log/soak-killloop.log
grep -q '^not ok' $log/soak-killloop.log && rc=1
run fairness STREAMERS=${STREAMERS:-90} LATE=${LATE:-10} FAIR_SECS=${FAIR_SECS:-30}
[ $rc = 0 ] && echo "soak: passed" || echo "soak: FAILED (logs in $log/soak-*.log)"
exit $rc
