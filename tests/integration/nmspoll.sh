#!/bin/bash
# nmspoll.sh: an NMS-style poller over SNMPv3. It walks sopIncidentTable
# only when sopIncidentLastChanged moved, and finds every change that
# way; it reads sopCounterDiscontinuityTime to know when counters restarted,
# and usmStats and the SNMPv2-MIB snmp group to see authentication failures.
# It receives sopd's v3 traps (through a relay that loses the first one),
# sees the gap in sopNotifSequence and finds the lost notification in
# sopNotifLogTable.
. "$(dirname "$0")/../lib.sh"

P_TRAPD=$((BASE + 5))
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; cleanup' EXIT

if ! sh "$ROOT/tests/mibs.sh" >/dev/null; then
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi
write_config <<EOF
notify:
  targets:
    nms: { type: snmp-trap, address: 127.0.0.1:$P_SPARE, user: nmst, auth: SHA-256, auth_pass: nmstrapauth, priv: AES, priv_pass: nmstrappriv }
  levels:
    L1: [nms]
    L2: [nms]
    L3: [nms]
    client: [nms]
EOF
sed -i "s|^  listen: 127.0.0.1:$P_AGENT\$|&\n  users:\n    - {name: nms, auth: SHA-256, auth_pass: nmsauthpass, priv: AES, priv_pass: nmsprivpass}|" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
export SNMP_PERSISTENT_DIR=$T/client
AG=127.0.0.1:$P_AGENT
M=(-M "$ROOT/mibs:$ROOT/build/ietf-mibs" -m SNMPv2-MIB:SOP-APPLIANCE-MIB)
NMS=(-v3 -l authPriv -u nms -a SHA-256 -A nmsauthpass -x AES -X nmsprivpass -t 2 -r 1 "${M[@]}")
get() { snmpget "${NMS[@]}" -Oqv "$AG" "$@" 2>/dev/null; }

# The NMS's trap receiver: snmptrapd with the v3 user localized to sopd's
# engineID, behind a relay that loses the first datagram.
ENGINE=$(sed -n 's/^engineID //p' "$T/var/snmp/engine")
cat > "$T/snmptrapd.conf" <<EOF
createUser -e $ENGINE nmst SHA-256 nmstrapauth AES nmstrappriv
authUser log nmst priv
EOF
SNMP_PERSISTENT_DIR=$T/trapd snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" -On \
    udp:127.0.0.1:$P_TRAPD >/dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$ROOT/tests/agents/udprelay.py" "$P_SPARE" "$P_TRAPD" --drop-first &
PIDS="$PIDS $!"
check "the NMS's snmptrapd and the lossy relay listen" wait_for sh -c \
    "ss -Hlun | grep -q ':$P_TRAPD ' && ss -Hlun | grep -q ':$P_SPARE '"

# The NMS's notification check: it knows the last sequence number it has
# (at its start, the last sopNotifLogIndex); each trap's sopNotifSequence
# must follow it, and each number skipped is a lost notification, read
# back from sopNotifLogTable: LOST has them as "index:notification".
SEQ=.1.3.6.1.4.1.32473.1.1.6.5.0
LOGNOTIF=.1.3.6.1.4.1.32473.1.1.6.4.1.3
seqs() { sed -n "s/.*$SEQ = Gauge32: \([0-9]*\).*/\1/p" "$T/traps.log"; }
HAVE=$(snmpwalk "${NMS[@]}" -On -Oq "$AG" $LOGNOTIF 2>/dev/null |
    sed -n "s/^$LOGNOTIF\.\([0-9]*\) .*/\1/p" | tail -1)
HAVE=${HAVE:-0} SEEN=0 LOST=""
check_seq() {
	_all=$(seqs)
	for _s in $(sed -n "$((SEEN + 1)),\$p" <<<"$_all"); do
		_m=$((HAVE + 1))
		while [ "$_m" -lt "$_s" ]; do
			LOST="$LOST $_m:$(snmpget "${NMS[@]}" -On -Oqv "$AG" $LOGNOTIF.$_m 2>/dev/null)"
			_m=$((_m + 1))
		done
		[ "$_s" -gt "$HAVE" ] && HAVE=$_s
		SEEN=$((SEEN + 1))
	done
}

# The poller: one GET of sopIncidentLastChanged per cycle, a walk of the
# table only when it moved. WALKS counts the walks, ROWS keeps the last.
LAST="" WALKS=0 ROWS=""
poll() {
	_now=$(get SOP-APPLIANCE-MIB::sopIncidentLastChanged.0)
	[ -n "$_now" ] || { echo "# no sopIncidentLastChanged"; return 1; }
	if [ "$_now" != "$LAST" ]; then
		LAST=$_now
		WALKS=$((WALKS + 1))
		ROWS=$(snmpwalk "${NMS[@]}" -Oqs "$AG" SOP-APPLIANCE-MIB::sopIncidentState 2>/dev/null)
	fi
	return 0
}
poll
check "first cycle: one walk" test "$WALKS" = 1
sleep 1.2; poll; poll
check "nothing changed: no walk" test "$WALKS" = 1

L="logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164"
$L -t kernel -p kern.crit "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
one() { [ "$(api '/api/v1/incidents?state=active&limit=1000' | jq '.incidents | length')" -ge 1 ]; }
check "an incident opens through syslog" wait_for one
id=$(api '/api/v1/incidents?state=active&limit=1000' | jq -r '.incidents[0].id')
sleep 1.2; poll
check "it moved sopIncidentLastChanged: a walk that shows the new row" \
    test "$WALKS" = 2 -a "$(grep -c "sopIncidentState.$id open" <<<"$ROWS")" = 1
poll
check "and no walk while nothing changes" test "$WALKS" = 2
sleep 1.2
curl -sf -X POST -H 'Content-Type: application/json' -d '{"actor":"alice"}' \
    "$API/api/v1/incidents/$id/ack" >/dev/null
poll
check "an acknowledgement moves it: the walk shows it acknowledged" \
    test "$WALKS" = 3 -a "$(grep -c "sopIncidentState.$id acknowledged" <<<"$ROWS")" = 1

# The opening's trap was lost on the way, the acknowledgement's arrives.
ACKED=.1.3.6.1.4.1.32473.1.0.3
acked() { grep -q "$ACKED" "$T/traps.log"; }
check "the NMS receives sopIncidentAcknowledged (v3 trap)" wait_for acked
echo "# sequence numbers received: $(seqs | tr '\n' ' ')(had $HAVE before)"
check_seq
echo "# lost:$LOST"
check "the NMS finds one lost notification by sopNotifSequence" \
    test "$(wc -w <<<"$LOST")" = 1
check "sopNotifLogTable names it: the opening (sopIncidentOpened)" \
    grep -q ":\.1\.3\.6\.1\.4\.1\.32473\.1\.0\.1\$" <<<"$LOST"
lostidx=${LOST# }; lostidx=${lostidx%%:*}
inc=$(snmpget "${NMS[@]}" -On -Oqv "$AG" .1.3.6.1.4.1.32473.1.1.6.4.1.4.$lostidx 2>/dev/null)
check "of this incident (sopNotifLogIncidentId $inc)" test "$inc" = "$id"

row=$(snmpget "${NMS[@]}" -Oqv "$AG" SOP-APPLIANCE-MIB::sopIncidentOwner.$id \
    SOP-APPLIANCE-MIB::sopIncidentAcknowledgedTime.$id SOP-APPLIANCE-MIB::sopIncidentResolvedTime.$id 2>/dev/null | tr '\n' '|')
echo "# owner|acked|resolved: $row"
check "sopIncidentOwner says who acknowledged (alice)" test "${row%%|*}" = alice
acked=$(cut -d'|' -f2 <<<"$row")
check "sopIncidentAcknowledgedTime is set ($acked)" test -n "$acked" -a "$acked" != "0-0-0,0:0:0.0"
cause=$(get SOP-APPLIANCE-MIB::sopIncidentCause.$id)
check "sopIncidentCause names the syslog program and no MSGID ($cause)" test "$cause" = '"kernel -"' -o "$cause" = 'kernel -'
check "sopIncidentResolvedTime is the zero time while active" \
    test "$(cut -d'|' -f3 <<<"$row")" = "0-0-0,0:0:0.0"

# Counters: when they last started from zero.
d1=$(get SOP-APPLIANCE-MIB::sopCounterDiscontinuityTime.0)
st=$(get SOP-APPLIANCE-MIB::sopStartTime.0)
check "sopCounterDiscontinuityTime is sopd's start ($d1)" test -n "$d1" -a "$d1" = "$st"

# Authentication failures, in the default view of a v3 user.
snmpget -v3 -l authPriv -u nobody -a SHA -A whatever1 -x AES -X whatever1 -t 1 -r 0 \
    "$AG" .1.3.6.1.2.1.1.1.0 >/dev/null 2>&1
u=$(get SNMP-USER-BASED-SM-MIB::usmStatsUnknownUserNames.0 2>/dev/null || true)
[ -n "$u" ] || u=$(snmpget "${NMS[@]}" -Oqv "$AG" .1.3.6.1.6.3.15.1.1.3.0 2>/dev/null)
check "usmStatsUnknownUserNames counts the unknown user ($u)" test "${u:-0}" -ge 1 2>/dev/null
p=$(snmpget "${NMS[@]}" -Oqv "$AG" .1.3.6.1.2.1.11.1.0 2>/dev/null)
check "snmpInPkts (SNMPv2-MIB snmp group) is readable ($p)" test "${p:-0}" -ge 1 2>/dev/null

check "sopd stops" stop_sopd
sleep 1.2
start_sopd || { notok "sopd restarts"; exit 1; }
d2=$(get SOP-APPLIANCE-MIB::sopCounterDiscontinuityTime.0)
check "after a restart sopCounterDiscontinuityTime moved ($d1 -> $d2)" test -n "$d2" -a "$d2" != "$d1"
poll
check "and so did sopIncidentLastChanged (incidents loaded): a walk" test "$WALKS" = 4
cause=$(get SOP-APPLIANCE-MIB::sopIncidentCause.$id)
check "after the restart sopIncidentCause is the same ($cause)" test "$cause" = '"kernel -"' -o "$cause" = 'kernel -'

check "sopd stops cleanly" stop_sopd
