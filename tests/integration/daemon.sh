#!/bin/bash
# daemon.sh: -t checks, reload with a broken rule file, restart and kill -9
# keep incidents.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/rules"
cp "$ROOT"/rules/*.yaml "$T/rules/"
RULES="$T/rules" write_config </dev/null

# -t on the good configuration.
out=$("$SOPD" -t -c "$T/sopd.yaml" 2>&1); rc=$?
check "sopd -t accepts the default configuration" [ $rc = 0 ]
check "sopd -t says configuration OK" grep -q "configuration OK" <<<"$out"

# Debug lines per subsystem: -v rules says what the rule compiler did, -v
# store does not; an unknown subsystem is refused with the list.
cat > "$T/dbg.yaml" <<'EOF2'
rules:
  - name: branch-reset
    match:
      message: '^(?|disk (?<dev>sd\w+) failed|(?<dev>nvme\w+) dead)$'
    severity: high
EOF2
sed "s|^rules: .*|rules: [$T/dbg.yaml]|" "$T/sopd.yaml" > "$T/dbg-config.yaml"
out=$("$SOPD" -v rules -t -c "$T/dbg-config.yaml" 2>&1)
check "sopd -v rules prints the rule compiler's debug lines" \
    grep -q "regex prefilter refuses" <<<"$out"
out=$("$SOPD" -v store,snmp -t -c "$T/dbg-config.yaml" 2>&1)
check "sopd -v store,snmp does not print the rules' debug lines" \
    test -z "$(grep "regex prefilter" <<<"$out")" -a -n "$out"
out=$("$SOPD" -v disks -t -c "$T/dbg-config.yaml" 2>&1); rc=$?
check "sopd -v with an unknown subsystem exits 2 naming the known ones" \
    test $rc = 2 -a -n "$(grep "core,input,rules,snmp" <<<"$out")"

# -t on broken files: every error as file:line:col, exit 1.
cat > "$T/bad.yaml" <<'EOF2'
rules:
  - name: broken-regex
    match:
      message: 'unclosed (group'
    severity: high
  - name: bad-severity
    match: { program: foo }
    severity: urgent
EOF2
cp "$T/sopd.yaml" "$T/bad-config.yaml"
echo "bogus_setting: 1" >> "$T/bad-config.yaml"
sed -i "s|^rules: .*|rules: [$T/rules, $T/bad.yaml]|" "$T/bad-config.yaml"
out=$("$SOPD" -t -c "$T/bad-config.yaml" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "sopd -t exits 1 on errors" [ $rc = 1 ]
check "an unknown setting is reported as file:line:col" \
  grep -Eq "bad-config.yaml:[0-9]+:[0-9]+: .*bogus_setting" <<<"$out"
check "sopd -t reports nothing else when the config itself is wrong" \
  [ "$(grep -c 'bad.yaml' <<<"$out")" = 0 ]
sed -i '/bogus_setting/d' "$T/bad-config.yaml"
out=$("$SOPD" -t -c "$T/bad-config.yaml" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "a bad regex is reported at its file:line:col" \
  grep -Eq "bad.yaml:4:[0-9]+: " <<<"$out"
check "an unknown severity is reported at its file:line:col" \
  grep -Eq "bad.yaml:8:[0-9]+: .*urgent" <<<"$out"

start_sopd || { notok "sopd starts"; exit 1; }
L="logger -n 127.0.0.1 -P $P_SYSLOG"
active() { api "/api/v1/incidents?state=active"; }
n_active() { active | jq '.incidents | length'; }
$L -d --rfc3164 -t kernel -p kern.err "Out of memory: Killed process 4242 (java) total-vm:8123456kB"
check "an incident opens" wait_for [ "$(n_active)" = 1 ]
ID=$(active | jq -r '.incidents[0].id')
rules_before=$(api /api/v1/stats | jq '.rules | length')

# Reload with a broken rule file: the running set stays.
cp "$T/bad.yaml" "$T/rules/50-broken.yaml"
kill -HUP $SOPD_PID; sleep 0.5
check "sopd survives a reload with a broken rule file" alive
check "the failed reload is reported in stats" \
  wait_for eval 'api /api/v1/stats | jq -e ".daemon.last_reload.ok == false"'
check "the old rule set stays loaded" [ "$(api /api/v1/stats | jq '.rules | length')" = "$rules_before" ]
$L -d --rfc3164 -t kernel -p kern.err "Out of memory: Killed process 4243 (java) total-vm:8123456kB"
check "the old rules still match after the failed reload" \
  wait_for eval 'active | jq -e ".incidents[0].count == 2"'

# A good reload keeps incidents.
rm "$T/rules/50-broken.yaml"
cat > "$T/rules/50-extra.yaml" <<'EOF2'
rules:
  - name: extra-widget
    match: { program: widgetd, message: 'widget (?<w>\w+) jammed' }
    severity: medium
    title: "Widget {w} jammed on {host}"
    key: "{host}:{w}"
EOF2
kill -HUP $SOPD_PID; sleep 0.5
check "a good reload is reported in stats" \
  wait_for eval 'api /api/v1/stats | jq -e ".daemon.last_reload.ok == true"'
check "the reload keeps incidents" [ "$(active | jq -r '.incidents[0].id')" = "$ID" ]
$L -d --rfc3164 -t widgetd -p daemon.err "widget w7 jammed"
check "a rule added by the reload matches" \
  wait_for eval 'active | jq -e "[.incidents[] | select(.rule==\"extra-widget\")] | length == 1"'

# Restart (SIGTERM) keeps incidents and ids.
check "sopd stops cleanly" stop_sopd
start_sopd
check "after a restart the incident is still there with its count" \
  eval 'api /api/v1/incidents/$ID | jq -e ".count == 2"'

# kill -9: what was committed survives.
$L -d --rfc3164 -t widgetd -p daemon.err "widget w8 jammed"
wait_for eval 'active | jq -e "[.incidents[] | select(.key|test(\"w8\"))] | length == 1"'
sleep 0.3
kill9_sopd
start_sopd
check "after kill -9 and restart, committed incidents are there" \
  eval 'active | jq -e "[.incidents[] | select(.key|test(\"w8\"))] | length == 1"'
NEXT=$(active | jq '[.incidents[].id] | max')
$L -d --rfc3164 -t widgetd -p daemon.err "widget w9 jammed"
check "ids are not reused after kill -9" \
  wait_for eval 'active | jq -e "[.incidents[] | select(.key|test(\"w9\")) | .id > $NEXT] | all and length == 1"'
check "sopd stops cleanly" stop_sopd
