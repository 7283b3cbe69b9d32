#!/bin/sh
# traps.sh: real snmptrap/snmpinform traffic (v1, v2c) becomes incidents;
# wrong communities and broken PDUs are counted and never take sopd down.
. "$(dirname "$0")/../lib.sh"

start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts with a trap listener"

# net-snmp's tools without MIB files: numeric OIDs only.
export MIBS=
export MIBDIRS=/nonexistent
export SNMPCONFPATH=/nonexistent
DST=127.0.0.1:$P_TRAP
V2="snmptrap -v 2c -c public $DST"
V1="snmptrap -v 1 -c public $DST"
LINKDOWN=1.3.6.1.6.3.1.1.5.3
LINKUP=1.3.6.1.6.3.1.1.5.4
IFINDEX=1.3.6.1.2.1.2.2.1.1
IFDESCR=1.3.6.1.2.1.2.2.1.2
TRAPADDR=1.3.6.1.6.3.18.1.3.0
NETSNMP=1.3.6.1.4.1.8072.2.3

active() { api "/api/v1/incidents?state=active&limit=1000"; }
has_incident() { active | jq -e "[.incidents[] | select($1)] | length > 0" >/dev/null; }
no_incident() { ! has_incident "$1"; }
trapstat() { api /api/v1/stats | jq -r ".inputs.snmp_trap.$1"; }
stat_at_least() { [ "$(trapstat "$1")" -ge "$2" ] 2>/dev/null; }

# v2c linkDown; the device is named by snmpTrapAddress.0, not the UDP source.
$V2 '' $LINKDOWN $IFINDEX.3 i 3 $IFDESCR.3 s GigabitEthernet0/3 $TRAPADDR a 192.0.2.10
check "v2c linkDown opens a high link-down incident for the device in snmpTrapAddress.0" \
  wait_for has_incident '.rule=="link-down" and .host=="192.0.2.10" and .severity=="high"'
check "the incident's title names the interface" \
  wait_for has_incident '.rule=="link-down" and (.title|test("GigabitEthernet0/3"))'

# v2c linkUp for the same interface clears it.
$V2 '' $LINKUP $IFINDEX.3 i 3 $TRAPADDR a 192.0.2.10
check "v2c linkUp clears the link-down incident" \
  wait_for no_incident '.rule=="link-down" and .host=="192.0.2.10"'

# v1 generic traps are mapped to snmpTraps (RFC 3584); the device is agent-addr.
$V1 $NETSNMP 192.0.2.20 0 0 ''
check "v1 coldStart opens a device-cold-start incident for agent-addr 192.0.2.20" \
  wait_for has_incident '.rule=="device-cold-start" and .host=="192.0.2.20"'
$V1 $NETSNMP 192.0.2.21 2 0 '' $IFINDEX.2 i 2 $IFDESCR.2 s eth2
check "v1 linkDown (generic 2) opens a link-down incident keyed by ifIndex" \
  wait_for has_incident '.rule=="link-down" and .host=="192.0.2.21" and (.key|test("192.0.2.21:2"))'

# A v2c inform is acknowledged (snmpinform exits 0 only on our response).
if snmpinform -v 2c -c public -r 1 -t 3 $DST '' 1.3.6.1.6.3.1.1.5.2 $TRAPADDR a 192.0.2.30; then
	ok "v2c inform is acknowledged"
else
	notok "v2c inform is acknowledged"
fi
check "the inform opens a device-warm-start incident" \
  wait_for has_incident '.rule=="device-warm-start" and .host=="192.0.2.30"'

# A wrong community is dropped and counted.
before=$(trapstat reasons.community)
snmptrap -v 2c -c wrong $DST '' 1.3.6.1.6.3.1.1.5.1 $TRAPADDR a 192.0.2.40
check "a trap with a wrong community is counted" wait_for stat_at_least reasons.community $((before + 1))
check "and opens no incident" no_incident '.host=="192.0.2.40"'

# Broken input: a syslog line on the trap port, and a v1 enterprise-specific
# trap whose enterprise OID leaves no room for ".0.specific" (CVE-2025-68615).
before=$(trapstat reasons.bad_pdu)
logger -n 127.0.0.1 -P $P_TRAP -d "this is not an SNMP message"
long=1.3.6.1.4.1
i=0
while [ $i -lt 122 ]; do long=$long.1; i=$((i + 1)); done
$V1 $long 192.0.2.50 6 1 ''
check "undecodable and unconvertible PDUs are counted as bad_pdu" \
  wait_for stat_at_least reasons.bad_pdu $((before + 2))
check "and open no incident" no_incident '.host=="192.0.2.50"'

# A reload adds a community without restarting the listener.
sed -i 's/communities: \[public\]/communities: [public, second]/' "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
sleep 0.5
snmptrap -v 2c -c second $DST '' 1.3.6.1.6.3.1.1.5.1 $TRAPADDR a 192.0.2.60
check "after SIGHUP a new community is accepted" \
  wait_for has_incident '.rule=="device-cold-start" and .host=="192.0.2.60"'

counted() {
	stat_at_least received 9 && stat_at_least accepted 6 && stat_at_least bytes 300
}
check "received, accepted and bytes are counted" counted
check "sopd is still alive" alive
check "sopd stops cleanly with no sanitizer report" stop_sopd
