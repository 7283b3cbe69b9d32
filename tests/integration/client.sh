#!/bin/bash
# client.sh: what the client hears (SOP 3.1). A high incident is not told
# to the client when it opens, but its resolution is, with the note it was
# resolved with; "escalation: client: {high: never}" keeps it from them.
. "$(dirname "$0")/../lib.sh"

P_HOOK=$((BASE + 5))
HOOK_PID=""
trap '[ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null; cleanup' EXIT
if ! command -v python3 >/dev/null 2>&1; then
	notok "python3 is installed (webhook receiver)"
	exit 0
fi
start_webhook "$P_HOOK" "$T/hook.out"

cat > "$T/rules.yaml" <<'EOF2'
rules:
  - name: c-high
    match: { message: 'CHIGH (?<what>\w+)' }
    severity: high
    key: "{host}:{what}"
EOF2
config() {
	RULES=$T/rules.yaml write_config <<EOF2
escalation:
  client: {high: $1}
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 5 }
  targets:
    client: { type: webhook, url: "http://127.0.0.1:$P_HOOK/hook", timeout: 2s }
  levels:
    client: [client]
EOF2
}
# hook_has JQ: some notice the client received passes the jq test.
hook_has() { [ -f "$T/hook.out" ] && jq -s -e "any(.[]; $1)" "$T/hook.out" >/dev/null 2>&1; }
# open_one WHAT: a high incident; its id.
open_one() {
	printf '<11>Nov 27 09:00:00 web01 app: CHIGH %s' "$1" > /dev/udp/127.0.0.1/$P_SYSLOG
	wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=c-high&state=active' | jq -e '[.incidents[] | select(.key == \"web01:$1\")] | length == 1'" >/dev/null
	api "/api/v1/incidents?rule=c-high&state=active" |
	    jq -r ".incidents[] | select(.key == \"web01:$1\") | .id"
}
resolve() {
	curl -sf -X POST -H 'Content-Type: application/json' \
	    -d "{\"actor\": \"ops\", \"note\": \"$2\"}" \
	    "$API/api/v1/incidents/$1/resolve" >/dev/null
}

config resolved
start_sopd || { notok "sopd starts"; exit 1; }
ID=$(open_one fan)
check "a high incident opened" test -n "$ID"
check "sato acknowledges it" curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"actor": "sato"}' "$API/api/v1/incidents/$ID/ack" -o /dev/null
check "it is resolved with a note" resolve "$ID" "fan replaced, service restored 09:40"
check "the client hears of the resolution" wait_for hook_has \
    ".kind == \"resolved\" and .incident.id == $ID"
check "with the note it was resolved with" hook_has \
    ".kind == \"resolved\" and .incident.id == $ID and .note == \"fan replaced, service restored 09:40\""
check "and its owner" hook_has \
    ".kind == \"resolved\" and .incident.id == $ID and .incident.owner == \"sato\""
check "but was not told when it opened (high opens at L1)" \
    bash -c "! jq -s -e 'any(.[]; .kind == \"opened\")' '$T/hook.out' >/dev/null"
check "sopd stops cleanly" stop_sopd

# client: {high: never}: the resolution stays internal.
: > "$T/hook.out"
config never
start_sopd || { notok "sopd starts again"; exit 1; }
ID2=$(open_one psu)
check "a second high incident is resolved" resolve "$ID2" "psu swapped"
sleep 2
check "with client: never the client hears nothing of it" \
    bash -c "! jq -s -e 'any(.[]; .incident.id == $ID2)' '$T/hook.out' >/dev/null"
check "sopd stops cleanly" stop_sopd
check "no sanitizer reports" no_sanitizer_reports
