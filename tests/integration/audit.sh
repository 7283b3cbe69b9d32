#!/bin/bash
# audit.sh: the reload audit (SOP 5.2). A reload that adds, removes and
# changes rules, a policy, a window and a notification target records what
# changed (the fields of a changed rule), logs it, keeps it in the store
# across a restart, tells L1, and sopctl audit and GET /api/v1/audit list it.
. "$(dirname "$0")/../lib.sh"

P_HOOK=$((BASE + 5))
HOOK_PID=""
trap '[ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null; cleanup' EXIT
start_webhook "$P_HOOK" "$T/hook.out"

rules_v1() {
	cat > "$T/rules.yaml" <<'EOF2'
rules:
  - name: r-a
    match: { message: 'RA (?<w>\w+)' }
    severity: high
  - name: r-b
    match: { message: 'RB (?<w>\w+)' }
    severity: medium
    title: "b on {host}"
  - name: r-c
    match: { message: 'RC (?<w>\w+)' }
    severity: low
EOF2
}
rules_v2() {
	cat > "$T/rules.yaml" <<'EOF2'
rules:
  - name: r-b
    match: { message: 'RB (?<w>\w+)' }
    severity: high
    title: "b failed on {host}"
  - name: r-c
    match: { message: 'RC (?<w>\w+)' }
    severity: low
  - name: r-d
    match: { message: 'RD (?<w>\w+)' }
    severity: critical
EOF2
}
# config HIGH-AFTER EXTRA-TARGET EXTRA-WINDOW
config() {
	RULES=$T/rules.yaml WINDOWS="windows:
  patch:
    - {id: patch, title: patches, when: \"sat 20:00-24:00\", hosts: [web1]}
$3" write_config <<EOF2
escalation:
  high:
    - {after: 0, level: L1}
    - {after: $1, level: L2}
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 5 }
  targets:
    hook: { type: webhook, url: "http://127.0.0.1:$P_HOOK/hook", timeout: 2s }
$2
  levels:
    L1: [hook]
EOF2
}
hook_has() { [ -f "$T/hook.out" ] && jq -s -e "any(.[]; $1)" "$T/hook.out" >/dev/null 2>&1; }
audit_has() { curl -sf "$API/api/v1/audit" | jq -e "$1" >/dev/null 2>&1; }

rules_v1
config 1h "" ""
start_sopd || { notok "sopd starts"; exit 1; }
check "no reload recorded yet" audit_has '.audit == []'

rules_v2
config 2h "    pager: { type: exec, command: /bin/true }" \
    "    - {id: patch2, title: db patches, when: \"sun 01:00-03:00\", hosts: [db1]}"
kill -HUP "$SOPD_PID"
check "the reload is recorded" wait_for audit_has '.audit | length == 1'
A0='.audit[0].changes'
check "rule r-d added, r-a removed" audit_has \
    "$A0.rules.added == [\"r-d\"] and $A0.rules.removed == [\"r-a\"]"
check "r-b changed, with the fields that changed" audit_has \
    "$A0.rules.changed == [{\"name\": \"r-b\", \"fields\": [\"severity\", \"title\"]}]"
check "r-c unchanged is not listed" audit_has \
    "[$A0.rules[][] | tostring | select(test(\"r-c\"))] == []"
check "the high policy changed" audit_has "$A0.policies.changed[0].name == \"high\""
check "the window patch2 added" audit_has "$A0.windows.added == [\"patch2\"]"
check "the target pager added" audit_has "$A0.targets.added == [\"pager\"]"
check "with its generation and summary" audit_has \
    '.audit[0].generation == 1 and (.audit[0].summary | startswith("rules: added r-d; removed r-a; changed r-b (severity, title)."))'
check "the reload is logged with what changed" grep -q \
    'reload audit: generation 1: rules: added r-d; removed r-a; changed r-b (severity, title). windows: added patch2. policies: changed high. targets: added pager.' "$T/sopd.log"
check "L1 is told" wait_for hook_has \
    '.kind == "reload" and .level == "L1" and (.note | test("removed r-a"))'
check "the agent knows its MIB notification (sopConfigReloaded): none unknown" \
    sh -c "! grep -q 'unknown notification' '$T/sopd.log'"
check "sopctl audit lists it" sh -c "'$SOPCTL' -u '$API' audit | grep -q 'rules: added r-d; removed r-a'"
check "sopctl audit --json gives the changes" sh -c \
    "'$SOPCTL' -u '$API' audit --json | jq -e '.audit[0].changes.rules.added == [\"r-d\"]' >/dev/null"
check "a bad limit is refused" sh -c "curl -s -o /dev/null -w '%{http_code}' \
    '$API/api/v1/audit?limit=0' | grep -qx 400"

# A reload that changes nothing is recorded too, as such.
kill -HUP "$SOPD_PID"
check "a reload without changes says so" wait_for audit_has \
    '(.audit | length == 2) and .audit[0].summary == "no changes" and .audit[0].generation == 2'
check "sopd stops cleanly" stop_sopd

start_sopd || { notok "sopd starts again"; exit 1; }
check "the audit is kept across a restart" audit_has \
    '(.audit | length == 2) and .audit[1].changes.rules.removed == ["r-a"]'

# HTTPS settings and the listen address only apply at a restart: a reload
# says so (log, audit, stats) and keeps serving as before.
cp "$T/sopd.yaml" "$T/sopd.yaml.orig"
sed -i "s|^  listen: 127.0.0.1:$P_HTTP\$|&\\n  tls: on\\n  tls_cert: $T/none.pem\\n  tls_key: $T/none.key|" "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
fixed='["http.tls", "http.tls_cert", "http.tls_key"]'
check "a reload that changes http tls is recorded" wait_for audit_has \
    "(.audit | length == 3) and .audit[0].changes.restart_needed == $fixed"
check "its summary says they need a restart" audit_has \
    '.audit[0].summary == "needs a restart (not applied): http.tls, http.tls_cert, http.tls_key."'
check "the stats say so" sh -c "curl -sf '$API/api/v1/stats' |
    jq -e '.daemon.last_reload.ok and .daemon.last_reload.restart_needed == $fixed' >/dev/null"
check "the log warns that only a restart applies them" grep -q \
    'reload: http.tls, http.tls_cert, http.tls_key changed: only a restart applies them' "$T/sopd.log"
check "plain HTTP is still served" sh -c "curl -sf '$API/healthz' >/dev/null"
cp "$T/sopd.yaml.orig" "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
check "changed back, nothing needs a restart" wait_for sh -c \
    "curl -sf '$API/api/v1/stats' | jq -e '.daemon.generation == 2 and .daemon.last_reload.restart_needed == []' >/dev/null"
check "sopd stops cleanly again" stop_sopd
