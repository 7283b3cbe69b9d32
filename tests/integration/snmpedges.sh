#!/bin/bash
# snmpedges.sh: the agent's protocol edges as RFC 3416 words them:
# noSuchInstance under an existing object, tooBig for an answer that
# cannot fit, and GETBULK answering as many repetitions as fit.
. "$(dirname "$0")/../lib.sh"

if ! sh "$ROOT/tests/mibs.sh" >/dev/null; then
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi
write_config </dev/null
sed -i "s|^  listen: 127.0.0.1:$P_AGENT\$|&\n  users:\n    - {name: nms, auth: SHA, auth_pass: nmsauthpass, priv: AES, priv_pass: nmsprivpass}|" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
AG=127.0.0.1:$P_AGENT
MIBS="-M $ROOT/mibs:$ROOT/build/ietf-mibs -m SNMPv2-MIB:SOP-APPLIANCE-MIB"
V2="-v2c -c public -t 2 -r 1"
export SNMP_PERSISTENT_DIR=$T/client

# Syslog opens a few incidents, so that tables have rows.
L="logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164"
for i in 1 2 3 4 5 6; do
	$L -t kernel -p kern.crit "EXT4-fs error (device sda$i): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
done
some() { [ "$(api '/api/v1/incidents?state=active&limit=1000' | jq '.incidents | length')" -ge 1 ]; }
check "incidents open through syslog" wait_for some

out=$(snmpget $V2 $MIBS "$AG" SOP-APPLIANCE-MIB::sopSoftwareVersion.1.1 2>&1)
echo "# $out"
check "sopSoftwareVersion.1.1 is noSuchInstance" grep -q "No Such Instance" <<<"$out"
out=$(snmpget $V2 $MIBS "$AG" SOP-APPLIANCE-MIB::sopSoftwareVersion.1 2>&1)
check "sopSoftwareVersion.1 is noSuchInstance" grep -q "No Such Instance" <<<"$out"
out=$(snmpget $V2 $MIBS "$AG" SOP-APPLIANCE-MIB::sopIncidentSeverity.99999 2>&1)
check "a missing incident row is noSuchInstance" grep -q "No Such Instance" <<<"$out"
out=$(snmpget $V2 $MIBS "$AG" SOP-APPLIANCE-MIB::sopIncidentSeverity.1.2 2>&1)
check "an incident column with a too long index is noSuchInstance" grep -q "No Such Instance" <<<"$out"
out=$(snmpget $V2 $MIBS "$AG" .1.3.6.1.4.1.32473.1.1.99.0 2>&1)
check "an object the MIB does not define is noSuchObject" grep -q "No Such Object" <<<"$out"

# tooBig: a GET whose answer cannot fit in the 484 octets the manager
# says it accepts (msgMaxSize of its v3 header).
NMS=(-v3 -l authPriv -u nms -a SHA -A nmsauthpass -x AES -X nmsprivpass -t 2 -r 0)
oids=$(for i in $(seq 1 20); do printf ' .1.3.6.1.2.1.1.1.0'; done)
out=$(snmpget "${NMS[@]}" --sendMessageMaxSize=484 "$AG" $oids 2>&1)
echo "# $(head -2 <<<"$out")"
check "an answer larger than the manager's msgMaxSize gets tooBig" grep -qi "tooBig" <<<"$out"
out=$(snmpget "${NMS[@]}" --sendMessageMaxSize=484 "$AG" .1.3.6.1.2.1.1.1.0 2>&1)
echo "# $out"
check "an answer that fits still comes" grep -q "STRING: \"sopd " <<<"$out"

# GETBULK: above 100 repetitions, as many as fit.
out=$(snmpbulkget -v2c -c public -t 2 -r 0 -Cr500 $MIBS "$AG" sysDescr 2>&1)
n=$(grep -c ' = ' <<<"$out")
echo "# getbulk 500 repetitions: $n varbinds"
check "GETBULK with 500 repetitions answers varbinds ($n)" test "$n" -gt 100
out=$(snmpbulkget -v2c -c public -t 2 -r 0 -Cr150 $MIBS "$AG" SOP-APPLIANCE-MIB::sopApplianceMIB 2>&1)
n=$(grep -c ' = ' <<<"$out")
echo "# getbulk 150 repetitions: $n varbinds"
check "GETBULK with 150 repetitions answers varbinds ($n)" test "$n" = 150
out=$(snmpwalk -v2c -c public -t 2 -r 0 -Cc $MIBS "$AG" .1.3.6.1 2>&1 | grep -c ' = ')
out2=$(snmpbulkwalk -v2c -c public -t 2 -r 0 -Cr400 -Cc $MIBS "$AG" .1.3.6.1 2>&1 | grep -c ' = ')
check "a bulk walk by 400 repetitions sees what a plain walk sees ($out2/$out)" test "$out" -gt 100 -a "$out" = "$out2"

check "sopd stops cleanly" stop_sopd
