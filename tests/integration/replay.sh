#!/bin/bash
# replay.sh: every rules/tests/replay/NAME.log replayed on the default rules
# (plus the test site's rules) gives exactly NAME.expect; a changed outcome
# is reported as a mismatch.
. "$(dirname "$0")/../lib.sh"

D=$ROOT/rules/tests/replay
for log in "$D"/*.log; do
	name=$(basename "$log" .log)
	args=$(sed -n 's/^# args: //p' "$D/$name.expect" | head -1)
	eval "set -- $args"
	if out=$("$SOPD" --replay "$log" -c "$D/sopd.yaml" --expect "$D/$name.expect" "$@" 2>&1); then
		ok "replay $name matches $name.expect"
	else
		notok "replay $name matches $name.expect"
		echo "$out" | sed 's/^/# /'
	fi
done

# A wrong golden file is a mismatch (exit 1) with a diff.
sed 's/arrived late at 10:30/arrived late at 10:31/' "$D/backup.expect" > "$T/bad.expect"
"$SOPD" --replay "$D/backup.log" -c "$D/sopd.yaml" --expect "$T/bad.expect" \
    --start 2026-11-27 --until "2026-11-28 12:00" > "$T/diff.out" 2>&1
rc=$?
check "a mismatch exits 1" test $rc -eq 1
check "a mismatch shows the expected and the actual line" \
    grep -q '^+.*arrived late at 10:30' "$T/diff.out"

# Printing mode: the outcome on stdout, one line per outcome.
n=$("$SOPD" --replay "$D/backup.log" -c "$D/sopd.yaml" --start 2026-11-27 \
    --until "2026-11-28 12:00" | grep -c ' open #')
check "without --expect the outcome is printed" test "$n" -eq 1
check "no sanitizer reports" no_sanitizer_reports
