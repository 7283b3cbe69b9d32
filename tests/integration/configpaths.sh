#!/bin/bash
# configpaths.sh: hostile paths among the configuration's files.  A FIFO
# among the rule files neither blocks `sopd -t` nor freezes the running
# daemon on SIGHUP; a device (/dev/zero) is not "configuration OK"; a
# world-writable configuration or rule file is refused.  Only regular files
# are read.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/rules"
cp "$ROOT"/rules/*.yaml "$T/rules/"
chmod 0644 "$T"/rules/*.yaml
RULES=$T/rules write_config </dev/null
chmod 0644 "$T/sopd.yaml"

# sopdt: sopd -t, bounded; prints its output, returns its status (124: hung).
sopdt() { timeout 10 "$SOPD" -t -c "$1" 2>&1; }

# refused: the last sopdt failed, without hanging; refused_for TEXT: saying TEXT.
refused() { [ $rc != 0 ] && [ $rc != 124 ]; }
refused_for() { refused && grep -q "$1" <<<"$out"; }

out=$(sopdt "$T/sopd.yaml"); rc=$?
check "sopd -t accepts the regular files" [ $rc = 0 ]

mkfifo "$T/rules/zz-fifo.yaml"
out=$(sopdt "$T/sopd.yaml"); rc=$?
check "a FIFO among the rule files does not block sopd -t (rc $rc)" [ $rc != 124 ]
check "a FIFO among the rule files is an error" [ $rc != 0 ]
check "the FIFO is named as not a regular file" \
    grep -q "zz-fifo.yaml.*not a regular file" <<<"$out"
rm -f "$T/rules/zz-fifo.yaml"

sed "s|^rules: .*|rules: [/dev/zero]|" "$T/sopd.yaml" > "$T/zero.yaml"
out=$(sopdt "$T/zero.yaml"); rc=$?
check "rules: [/dev/zero] is not configuration OK" refused
check "/dev/zero is named as not a regular file" \
    grep -q "/dev/zero.*not a regular file" <<<"$out"

cp "$T/sopd.yaml" "$T/ww.yaml"; chmod 0666 "$T/ww.yaml"
out=$(sopdt "$T/ww.yaml"); rc=$?
check "a world-writable configuration file is refused" refused
check "the refusal names the file and its mode" \
    grep -q "ww.yaml.*writable by anyone (mode 0666)" <<<"$out"
chmod 0666 "$T/rules/syslog.yaml" 2>/dev/null || chmod 0666 "$(ls "$T"/rules/*.yaml | head -1)"
out=$(sopdt "$T/sopd.yaml"); rc=$?
check "a world-writable rule file is refused" refused_for "writable by anyone"
chmod 0644 "$T"/rules/*.yaml

# The running daemon: SIGHUP with a FIFO among the rules keeps it answering.
start_sopd || { notok "sopd starts"; exit 1; }
mkfifo "$T/rules/zz-fifo.yaml"
kill -HUP "$SOPD_PID"
# healthz_fast: /healthz answers within 1 s, 20 times over 2 s.
healthz_fast() {
	for _ in $(seq 20); do
		curl -sf -m 1 "$API/healthz" >/dev/null || return 1
		sleep 0.1
	done
}
check "after SIGHUP with a FIFO, /healthz keeps answering" healthz_fast
check "the reload fails and says why" wait_for grep -q \
    "zz-fifo.yaml.*not a regular file" "$T/sopd.log"
check "the running rules are kept" wait_for sh -c \
    "grep -q 'reload failed' '$T/sopd.log'"
check "sopd stops cleanly" stop_sopd
