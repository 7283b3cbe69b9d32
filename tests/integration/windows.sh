#!/bin/bash
# windows.sh: windows that never hide a critical, and a change (SOP 4) from
# request to close, on the real sopd under libfaketime's accelerated clock
# (x720: a simulated hour passes in about 5 real seconds), with every
# notice written by exec targets, one per level.
#
# As in escalation.sh, libfaketime and AddressSanitizer do not start
# together: this test runs build/sopd, built on demand.
. "$(dirname "$0")/../lib.sh"

accel_sopd x720

# Every notice, one line: level|kind|incident|title|note.
cat > "$T/tell.sh" <<EOF
#!/bin/sh
echo "\$1|\$SOPD_KIND|\$SOPD_INCIDENT_ID|\$SOPD_TITLE|\$SOPD_NOTE" >> "$T/notices"
EOF
chmod +x "$T/tell.sh"
: > "$T/notices"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: w-crit
    match:
      message: 'WCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
  - name: w-med
    match:
      message: 'WMED (?<what>\w+)'
    severity: medium
    key: "{host}:{what}"
EOF
target() {
	echo "    $1: { type: exec, command: $T/tell.sh, args: [$1], timeout: 1h }"
}
WINDOWS='windows:
  patch:
    - {id: patch, title: weekly security patches, when: "fri 20:00-24:00",
       groups: [web], owner: ops}'
RULES=$T/rules.yaml write_config <<EOF
host_groups:
  web: ["web*"]
notify:
  targets:
$(target L1)
$(target L2)
$(target L3)
$(target client)
$(target ops)
  levels:
    L1: [L1]
    L2: [L2]
    L3: [L3]
    client: [client]
    ops: [ops]
EOF

send() {
	printf '<11>Nov 27 09:00:00 %s app: %s' "$1" "$2" \
	    > /dev/udp/127.0.0.1/"$P_SYSLOG"
}
inc() {
	api_get "/api/v1/incidents?rule=$1&host=$2&limit=1" | jq -r '.incidents[0].id'
}
# told LEVEL KIND ID TEXT: a notice of that kind about incident ID (or the
# change or window, ID 0) whose title or note holds TEXT reached LEVEL.
told() {
	grep -F "$1|$2|$3|" "$T/notices" | grep -qF -- "$4"
}

"$REAL_SOPD" -t -c "$T/sopd.yaml" > "$T/check.out" 2>&1
check "sopd -t accepts a patch window scoped to a group with an owner" \
    test $? -eq 0 || sed 's/^/# /' "$T/check.out"

# --- Friday 21:00 JST, inside the patch window of the web group ---
FT="@2026-11-27 12:00:00"
start_sopd || { notok "sopd starts inside the patch window"; exit 1; }
check "the patch window is active and holds all but critical" api_jq \
    /api/v1/windows '.windows[] | select(.id == "patch") | .active and
     .severities == ["high", "medium", "low", "info"] and .owner == "ops"'

send web1 "WCRIT disk"
check "a critical opens inside the window" wait_for api_jq \
    "/api/v1/incidents?rule=w-crit" '.total == 1'
C=$(inc w-crit web1)
check "the window never holds a critical: it is at L2 at once" api_jq \
    "/api/v1/incidents/$C" '.in_window == null and .level == "L2"'
check "L2 is told of the critical at once" wait_long 5 told L2 opened "$C" ""
check "the client is told of the critical at once" wait_long 5 told client opened "$C" ""

send web2 "WMED slow"
send db1 "WMED other"
check "two mediums open" wait_for api_jq "/api/v1/incidents?rule=w-med" '.total == 2'
M=$(inc w-med web2); O=$(inc w-med db1)
check "the medium in scope is held by the window" api_jq "/api/v1/incidents/$M" \
    '.in_window == "patch" and .next_escalation == null'
check "L1 is told at once that it opened during the window" wait_long 5 \
    told L1 opened "$M" "opened during patch window patch"
check "a host outside the window's groups is not held" api_jq \
    "/api/v1/incidents/$O" '.in_window == null'

# --- a change requested by bob for db1 (Saturday 00:30-01:30 JST) ---
ctl_retry change request --id CHG-7 --title "kernel upgrade" --hosts db1 \
    --start 2026-11-27T15:30:00Z --end 2026-11-27T16:30:00Z \
    --description "reboot into 6.1" --impact "db1 down 10 minutes" \
    --risk "boot failure" --rollback "boot the previous kernel" \
    --owner ops --actor bob
check "sopctl change request records a requested change" grep -q \
    "CHG-7 requested" "$T/out"
check "the owner is told of the request with impact and rollback" wait_long 5 \
    told ops change 0 "change CHG-7 requested by bob"
check "the request's notice carries impact, risk and rollback" \
    grep -q "ops|change|0|change CHG-7 requested.*impact: db1 down 10 minutes; risk: boot failure; rollback: boot the previous kernel" "$T/notices"
check "a requested change holds nothing" api_jq /api/v1/changes/CHG-7 \
    '.state == "requested" and .approved == false'
ctl_retry change close CHG-7 --actor bob
check "a requested change cannot be closed (409)" [ $? -ne 0 ]
ctl_retry change approve CHG-7 --actor carol -m "CAB 2026-11-26"
check "sopctl change approve approves it" grep -q "CHG-7 approved" "$T/out"
check "the change records who approved it and when" api_jq /api/v1/changes/CHG-7 \
    '.state == "approved" and .approved_by == "carol" and .approved_at != null'
check "the owner and L1 are told of the approval" wait_long 5 sh -c \
    "grep -q 'ops|change|0|change CHG-7 approved by carol' '$T/notices' &&
     grep -q 'L1|change|0|change CHG-7 approved by carol' '$T/notices'"

# --- the patch window ends at 24:00 JST: one summary ---
check "the patch window's end releases the medium" wait_long 25 api_jq \
    "/api/v1/incidents/$M" '.in_window == null'
check "the owner gets one summary of the window" wait_long 5 \
    told ops window 0 "window patch ended: 2 opened, 0 resolved, 1 failed verification"
check "L1 gets the summary too, naming the failed incident" wait_long 5 \
    told L1 window 0 "failed verification: #$M"
check "the summary is sent once per level" \
    [ "$(grep -c '^ops|window|' "$T/notices")" = 1 ]

# --- the change window: in progress, then a failed verification ---
check "the change is in progress when its window starts" wait_long 15 api_jq \
    /api/v1/changes/CHG-7 '.state == "in_progress" and .active'
send db1 "WMED kernel"
check "a medium on db1 opens during the change" wait_for api_jq \
    "/api/v1/incidents?rule=w-med&host=db1" '.total == 2'
K=$(inc w-med db1)
check "the approved change holds it" api_jq "/api/v1/incidents/$K" \
    '.in_window == "CHG-7"'
check "the owner is told the change is in progress" wait_long 5 \
    told ops change 0 "change CHG-7 in_progress"
check "the change's end records a failed verification" wait_long 15 api_jq \
    /api/v1/changes/CHG-7 '.state == "failed"'
check "the owner is told it failed, with the incident" wait_long 5 \
    told ops change 0 "failed verification: #$K"
ctl_retry change close CHG-7 --actor carol -m "reverted to the old kernel"
check "sopctl change close closes it" grep -q "CHG-7 closed" "$T/out"
check "the owner is told of the close" wait_long 5 \
    told ops change 0 "change CHG-7 closed by carol"
check "the history holds every step with actor and note" api_jq \
    /api/v1/changes/CHG-7 '[.history[] | .to] ==
     ["requested", "approved", "in_progress", "failed", "closed"] and
     .history[1].actor == "carol" and .history[1].note == "CAB 2026-11-26" and
     .history[4].note == "reverted to the old kernel"'
ctl_retry change show CHG-7
check "sopctl change show prints the record and history" sh -c \
    "grep -q 'rollback.*boot the previous kernel' '$T/out' &&
     grep -q 'closed .*by carol' '$T/out'"
ctl_retry window show CHG-7
check "sopctl window show prints the times of an ended window" sh -c \
    "! grep -q -- '- \.\. -' '$T/out' && grep -q CHG-7 '$T/out'"
ctl_retry changes
check "sopctl changes lists it" grep -q "CHG-7 .*closed" "$T/out"
stop_sopd
check "the change's record is in the store" [ "$(sqlite3 "$T/var/sopd.db" \
    "select json_extract(doc, '$.state') || ' ' || json_array_length(doc, '$.history')
     from windows where id = 'CHG-7'")" = "closed 5" ]
FT="@2026-11-27 17:00:00"
start_sopd || { notok "sopd restarts"; exit 1; }
check "the change and its history survive a restart" api_jq /api/v1/changes/CHG-7 \
    '.state == "closed" and (.history | length) == 5 and .approved_by == "carol"'
check "sopd stops cleanly" stop_sopd
