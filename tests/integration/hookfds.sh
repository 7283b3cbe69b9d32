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
# The hook notes its pid and becomes a sleep; the test lists that
# process's descriptors from outside (what sopd gave the hook, nothing the
# shell opened for itself).
cat > "$T/hook.sh" <<EOF
#!/bin/sh
echo \$\$ > "$T/hook.pid.tmp"
mv "$T/hook.pid.tmp" "$T/hook.pid"
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
check "the hook ran" wait_long 15 test -s "$T/hook.pid"
HOOK=$(cat "$T/hook.pid" 2>/dev/null)
sleeping() { [ "$(readlink "/proc/$HOOK/exe")" = "$(readlink -f "$(command -v sleep)")" ]; }
check "the hook became a sleep" wait_long 15 sleeping
ls -l "/proc/$HOOK/fd/" | awk '/->/ { print $(NF - 2), $NF }' > "$T/fds"
sed 's/^/# /' "$T/fds"
extra() { awk '$1 > 2' "$T/fds"; }
check "the hook has only stdin, stdout and stderr" test -z "$(extra)"
check "no socket of sopd reached the hook" sh -c "! grep -q socket: '$T/fds'"

kill9_sopd
check "the hook is still running after kill -9 of sopd" kill -0 "$HOOK"
: > "$T/sopd.log"
check "sopd starts again on its ports while the hook runs" start_sopd
check "sopd stops cleanly" stop_sopd
[ -n "$HOOK" ] && kill "$HOOK" 2>/dev/null
