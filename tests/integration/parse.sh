#!/bin/bash
# parse.sh: the rule author's tool, "sopd --parse" and "sopctl parse", on the
# real binaries: NUL bytes as the daemon reads them, a pinned reception
# time, rejected lines with their number and input, lines without a header,
# and rules (an expect rule included) through -c.
. "$(dirname "$0")/../lib.sh"

export TZ=UTC
RULES="$ROOT/rules, $ROOT/rules/tests/replay/site-rules.yaml" write_config </dev/null
jqe() { jq -e "$@" >/dev/null; }
jqs() { jq -se "$@" >/dev/null; }
parse() { "$SOPD" --parse "$@" 2>>"$T/parse.err"; }

# NUL bytes: an inner NUL is a space (nul), trailing NULs and CR LF go.
printf '<13>Nov 27 10:00:00 h p: a\0b\0\0\r\n' | parse > "$T/nul.out"
check "a NUL inside a line is a space, not the line's end" \
    jqe '.message == "a b" and .repairs == ["nul"]' "$T/nul.out"

# --received pins the reception time and the year taken for a 3164 date.
printf '<13>Mar  6 10:00:00 h p: x\n<13>Dec  5 14:00:00 h p: y\n' |
    parse --received 2026-12-04T13:30:00Z > "$T/recv.out"
check "--received sets the reception time" jqs \
    'map(.received) == ["2026-12-04T13:30:00.000000Z", "2026-12-04T13:30:00.000000Z"]' "$T/recv.out"
check "a year is never taken more than a day into the future" jqs \
    'map(.timestamp) == ["2026-03-06T10:00:00.000000Z", "2025-12-05T14:00:00.000000Z"]' "$T/recv.out"
printf '<13>x\n' | parse --received '2026-12-04T22:30:00+09:00' > "$T/recv2.out"
check "--received takes an offset" \
    jqe '.received == "2026-12-04T13:30:00.000000Z"' "$T/recv2.out"
check "--received refuses a malformed time" bash -c \
    "! '$SOPD' --parse --received 2026-12-04 </dev/null 2>/dev/null"

# A rejected line says which line it was and what it held.
printf '<13>Nov 27 10:00:00 h p: one\n   \n<13>\n' |
    parse --received 2026-11-27T01:00:00Z > "$T/rej.out"
check "rejected lines carry their line number and input" jqs \
    '.[1] == {"error":"rejected","reason":"empty","line":2,"input":"   "} and .[2].line == 3 and .[2].input == "<13>"' "$T/rej.out"

# A line without a recognisable header says so; one with a header does not.
printf 'just some text\n<13>Nov 27 10:00:00 h p: x\n' | parse > "$T/hdr.out"
check "a line without a syslog header gets a warning" jqs \
    '(.[0].warning | test("no syslog header")) and (.[1] | has("warning") | not)' "$T/hdr.out"

# -c: an expect rule takes the line (this crashed in template_render).
line='<30>Nov 27 09:58:10 backup-2 backupd[7]: backup job completed'
printf '%s\n<30>Nov 27 09:58:10 web9 backupd[7]: backup job completed\n' "$line" |
    parse -c "$T/sopd.yaml" > "$T/expect.out"
rc=$?
check "sopd --parse -c survives a line an expect rule takes" test $rc -eq 0
check "it names the rule, the action expect and the expectation's key" jqs \
    '.[0].rule == "backup-completed" and .[0].action == "expect" and .[0].key == "backup-completed:backup-2" and .[0].expected_host == true and .[1].expected_host == false' "$T/expect.out"
printf '%s\n' "$line" | "$SOPCTL" parse -c "$T/sopd.yaml" > "$T/ctl.out" 2>>"$T/parse.err"
rc=$?
check "sopctl parse -c too" bash -c \
    "test $rc -eq 0 && jq -e '.action == \"expect\"' '$T/ctl.out' >/dev/null"
# An incident rule still renders its key and title.
printf '<3>Nov 27 10:00:00 web1 kernel: EXT4-fs error (device sda1): x\n' |
    parse -c "$T/sopd.yaml" > "$T/inc.out"
check "an incident rule still gives its key and title" \
    jqe '.action == "incident" and (.key | length > 0) and (.title | length > 0)' "$T/inc.out"
check "no sanitizer report" no_sanitizer_reports
