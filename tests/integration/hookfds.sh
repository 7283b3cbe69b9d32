#!/bin/bash
# hookfds.sh: the exec notification hook gets only stdin, stdout and stderr
# (no listener, trap or agent socket, database or pipe of sopd), so a hook
# still running after sopd is killed -9 does not keep its ports: sopd
# starts again at once.
. "$(dirname "$0")/../lib.sh"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: h-crit
    match:
      message: 'HCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
# The hook lists its shell's descriptors (fd and target; ls runs as a
# child, so its own do not count; the output is redirected in the child:
# a pipeline or redirection in the shell itself would show the shell's
# pipe or saved descriptor), then stays running.
cat > "$T/hook.sh" <<EOF
#!/bin/sh
sh -c 'ls -l /proc/\$1/fd/ > "\$2"' sh \$\$ "$T/ls.tmp"
awk '/->/ { print \$(NF - 2), \$NF }' "$T/ls.tmp" > "$T/fds.tmp"
echo \$\$ > "$T/hook.pid"
mv "$T/fds.tmp" "$T/fds"
exec sleep 60
EOF
chmod 0755 "$T/hook.sh"
RULES=$T/rules.yaml write_config <<EOF
notify:
  targets:
    pager: { type: exec, command: $T/hook.sh, timeout: 120s }
  levels:
    L2: [pager]
    L3: [pager]
EOF
start_sopd || { notok "sopd starts"; exit 1; }
printf '<11>Nov 27 09:00:00 db1 app: HCRIT disk' > /dev/udp/127.0.0.1/"$P_SYSLOG"
wait_long() {
	n=$(( $1 * 10 )); shift; i=0
	while [ $i -lt $n ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
check "the hook ran" wait_long 15 test -s "$T/fds"
sed 's/^/# /' "$T/fds"
# extra: descriptors above 2 other than the hook's own script (the shell's).
extra() { awk '$1 > 2 && $2 != "'"$T/hook.sh"'"' "$T/fds"; }
check "the hook has only stdin, stdout and stderr" test -z "$(extra)"
check "no socket of sopd reached the hook" sh -c "! grep -q socket: '$T/fds'"
HOOK=$(cat "$T/hook.pid" 2>/dev/null)

kill9_sopd
check "the hook is still running after kill -9 of sopd" kill -0 "$HOOK"
: > "$T/sopd.log"
check "sopd starts again on its ports while the hook runs" start_sopd
check "sopd stops cleanly" stop_sopd
[ -n "$HOOK" ] && kill "$HOOK" 2>/dev/null
