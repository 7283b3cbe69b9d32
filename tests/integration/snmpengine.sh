#!/bin/bash
# snmpengine.sh: an SNMP engine file (state_dir/snmp/engine) that cannot be
# written does not stop sopd: it starts, warns in the log, receives syslog,
# answers HTTP and shows snmp.engine_persist false in /api/v1/stats.
. "$(dirname "$0")/../lib.sh"

write_config </dev/null
persist() { api /api/v1/stats | jq -e ".snmp.engine_persist == $1" >/dev/null; }

start_sopd || { notok "sopd starts"; exit 1; }
check "a saved engine file shows engine_persist true" persist true
check "sopd stops cleanly" stop_sopd

# The engine file cannot be replaced: its temporary name is taken by a
# directory (this fails for root too) and the directory is read-only.
mkdir -p "$T/var/snmp/engine.new"
chmod 0500 "$T/var/snmp"
: > "$T/sopd.log"
check "sopd starts with an unwritable engine file" start_sopd
check "it warns in the log" grep -q "snmp: cannot save .*engine" "$T/sopd.log"
check "stats show engine_persist false" persist false
printf '<13>Nov 27 09:00:00 h1 app: hello' > /dev/udp/127.0.0.1/"$P_SYSLOG"
received() { api /api/v1/stats | jq -e '.inputs.syslog_udp.received >= 1' >/dev/null; }
check "syslog is still received" wait_for received
check "sopd stops cleanly" stop_sopd
chmod 0700 "$T/var/snmp"
