#!/bin/bash
# replaystorm.sh: replay of an incident storm. rules/tests/replay/storm.log
# (made by storm_log below) gives exactly storm.expect, printed as well as
# compared; a bigger storm of the same kind opens one incident per failing
# device, numbered in order, and its printed outcome is its own golden file.
. "$(dirname "$0")/../lib.sh"

D=$ROOT/rules/tests/replay
ARGS=(--start 2026-11-27 --until "2026-11-27 12:00")

# storm_log N: N lines, 5 per simulated second from 10:00:00; 57 of every
# 100 a file-system error on a device of its own (a new incident), 5 the
# same error again on web000's sd0, 8 a switch port going down or up
# (sw-core-0 port 0/0 often enough to flap), the rest cron noise.
storm_log() {
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = int(i / 5)
			ts = sprintf("Nov 27 10:%02d:%02d", int(s / 60), s % 60)
			k = (i * 37 + 11) % 100
			if (k < 57)
				printf "<2>%s web%03d kernel: EXT4-fs error (device sd%d): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0\n", ts, i % 40, i
			else if (k < 62)
				printf "<2>%s web000 kernel: EXT4-fs error (device sd0): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0\n", ts
			else if (k < 70) {
				sw = i % 4 == 0; port = sw ? i % 3 == 1 : 0
				state = (up[sw, port] = !up[sw, port]) ? "down" : "up"
				printf "<187>%s sw-core-%d %d: *%s: %%LINK-3-UPDOWN: Interface GigabitEthernet0/%d, changed state to %s\n", ts, sw, 100 + i, ts, port, state
			} else
				printf "<30>%s web%03d CRON[%d]: (root) CMD (run-parts /etc/cron.hourly)\n", ts, i % 40, 1000 + i
		}
	}'
}

storm_log 300 > "$T/storm.log"
check "storm.log is what storm_log makes" \
    cmp -s "$T/storm.log" <(grep -v '^#' "$D/storm.log")

out=$("$SOPD" --replay "$D/storm.log" -c "$D/sopd.yaml" --expect "$D/storm.expect" "${ARGS[@]}" 2>&1)
check "the storm's outcome matches storm.expect" test $? -eq 0
[ -n "$out" ] && echo "$out" | head -20 | sed 's/^/# /'

"$SOPD" --replay "$D/storm.log" -c "$D/sopd.yaml" "${ARGS[@]}" > "$T/storm.out" 2> "$T/storm.err"
check "printed, the outcome is storm.expect byte for byte" \
    cmp -s "$T/storm.out" <(grep -v '^#' "$D/storm.expect")
check "nothing on stderr" test ! -s "$T/storm.err"
check "the storm opens, resolves, flaps, escalates and notifies" \
    test "$(awk '{ print $2 }' "$T/storm.out" | sort -u | tr '\n' ' ')" = \
    "escalate notify open resolve update "

# One outcome line changed: a mismatch (exit 1) naming both lines.
sed 's/^\(.*update #[0-9]* flapping\) 8$/\1 9/' "$D/storm.expect" > "$T/bad.expect"
if cmp -s "$T/bad.expect" "$D/storm.expect"; then
	notok "the changed golden file differs from storm.expect"
else
	ok "the changed golden file differs from storm.expect"
fi
"$SOPD" --replay "$D/storm.log" -c "$D/sopd.yaml" --expect "$T/bad.expect" \
    "${ARGS[@]}" > "$T/diff.out" 2>&1
check "a changed line is a mismatch (exit 1)" test $? -eq 1
check "the mismatch shows the expected and the actual line" \
    sh -c "grep -q '^-.*flapping 9\$' '$T/diff.out' && grep -q '^+.*flapping 8\$' '$T/diff.out'"

# A bigger storm: one incident per failing device, ids in order, and the
# printed outcome (several chunks of lines) is its own golden file.
storm_log 3000 > "$T/big.log"
"$SOPD" --replay "$T/big.log" -c "$D/sopd.yaml" "${ARGS[@]}" > "$T/big.out" 2> "$T/big.err"
check "the bigger storm replays" test $? -eq 0 -a ! -s "$T/big.err"
devices=$(grep -o 'web[0-9]* kernel: EXT4-fs error (device sd[0-9]*' "$T/big.log" | sort -u | wc -l)
opened=$(grep -c ' open #[0-9]* critical filesystem-error ' "$T/big.out")
check "one incident per failing device ($devices)" test "$opened" -eq "$devices"
check "incident ids open in order, none skipped" \
    awk '$2 == "open" { if ($3 != "#" ++n) exit 1 } END { exit n < 1000 }' "$T/big.out"
check "every file-system incident escalates to L3" \
    test "$(grep -c ' notify L3 escalated ' "$T/big.out")" -ge "$opened"
check "the printed outcome is more than 256 KiB" \
    test "$(wc -c < "$T/big.out")" -gt 262144
"$SOPD" --replay "$T/big.log" -c "$D/sopd.yaml" --expect "$T/big.out" \
    "${ARGS[@]}" > "$T/big.diff" 2>&1
check "printed and compared, the bigger storm agrees with itself" test $? -eq 0
check "no sanitizer reports" no_sanitizer_reports
