#!/bin/bash
# replaylong.sh: a replay whose outcome is longer than a million lines (the
# cap replay once had) prints every line, reports nothing dropped, and
# --expect still finds a difference near the end of so long an outcome.
. "$(dirname "$0")/../lib.sh"

D=$ROOT/rules/tests/replay
ARGS=(--start 2026-11-27)

# churn_log N: N lines, 50 per simulated second from Nov 27 00:00:00: a
# switch port (100 switches x 100 ports) going down, then up again; a port
# comes back every 400 s, too seldom to flap. Each pair opens an incident
# and resolves it, so few are open at once, but the outcome (open,
# escalate, resolve and their notices) grows with the log: 3 lines a line.
churn_log() {
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = int(i / 50)
			ts = sprintf("Nov %2d %02d:%02d:%02d", 27 + int(s / 86400),
			    int(s / 3600) % 24, int(s / 60) % 60, s % 60)
			p = int(i / 2) % 10000
			printf "<187>%s sw%02d %d: *%s: %%LINK-3-UPDOWN: Interface GigabitEthernet0/%d, changed state to %s\n",
			    ts, p % 100, i, ts, int(p / 100), i % 2 ? "up" : "down"
		}
	}'
}

N=400000
churn_log $N > "$T/churn.log"
"$SOPD" --replay "$T/churn.log" -c "$D/sopd.yaml" "${ARGS[@]}" > "$T/churn.out" 2> "$T/churn.err"
check "the long replay succeeds with nothing on stderr (nothing dropped)" \
    test $? -eq 0 -a ! -s "$T/churn.err"
lines=$(wc -l < "$T/churn.out")
check "its outcome is longer than 1,000,000 lines ($lines)" test "$lines" -gt 1000000
check "one incident opened per link down ($((N / 2)))" \
    test "$(grep -c ' open #[0-9]* high cisco-link-down ' "$T/churn.out")" -eq $((N / 2))
check "one resolved per link up, the last one too" \
    sh -c "test \"\$(grep -c ' resolve #' '$T/churn.out')\" -eq $((N / 2)) &&
        grep -q ' resolve #$((N / 2))\$' '$T/churn.out'"
check "every line of the outcome is there: 3 per log line, in order" \
    awk -v n=$N '$2 == "open" { if ($3 != "#" ++o) exit 1 }
        END { exit !(NR == 3 * n && o == n / 2) }' "$T/churn.out"

# The printed outcome is its own golden file, read as it is compared (here
# from a pipe).
"$SOPD" --replay "$T/churn.log" -c "$D/sopd.yaml" "${ARGS[@]}" \
    --expect <(cat "$T/churn.out") > "$T/same.out" 2>&1
check "compared with itself, the long outcome matches (exit 0, no output)" \
    test $? -eq 0 -a ! -s "$T/same.out"

# One line changed near the end: a mismatch showing just that line.
last=$(grep -n ' resolve #' "$T/churn.out" | tail -1)
at=${last%%:*}
sed "${at}s/resolve #\\([0-9]*\\)\$/resolve #\\1 late/" "$T/churn.out" > "$T/bad.expect"
"$SOPD" --replay "$T/churn.log" -c "$D/sopd.yaml" "${ARGS[@]}" \
    --expect "$T/bad.expect" > "$T/diff.out" 2>&1
check "a line changed at line $at of $lines is a mismatch (exit 1)" test $? -eq 1
check "the diff shows the expected and the actual line, and nothing else" \
    test "$(cat "$T/diff.out")" = "-$(sed -n "${at}p" "$T/bad.expect")
+${last#*:}
replay: $T/bad.expect: outcome differs (- expected, + got)"

# The golden file one line short, then one line longer.
"$SOPD" --replay "$T/churn.log" -c "$D/sopd.yaml" "${ARGS[@]}" \
    --expect <(sed '$d' "$T/churn.out") > "$T/short.out" 2>&1
check "a golden file without the last line: exit 1, the line shown as +" \
    sh -c "test $? -eq 1 && test \"\$(head -1 '$T/short.out')\" = \"+\$(tail -1 '$T/churn.out')\""
"$SOPD" --replay "$T/churn.log" -c "$D/sopd.yaml" "${ARGS[@]}" \
    --expect <(cat "$T/churn.out"; echo "2026-11-28T00:00:00+09:00 open #0 extra") \
    > "$T/long.out" 2>&1
check "a golden file with a line more: exit 1, the line shown as -" \
    sh -c "test $? -eq 1 && test \"\$(head -1 '$T/long.out')\" = '-2026-11-28T00:00:00+09:00 open #0 extra'"
check "no sanitizer reports" no_sanitizer_reports
