#!/bin/sh
# mib.sh: SOP-APPLIANCE-MIB passes smilint at level 6 and loads into
# net-snmp's tools with every notification resolving to its OID.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIB=$ROOT/mibs/SOP-APPLIANCE-MIB.txt
IETF=$ROOT/build/ietf-mibs
# net-snmp's tools keep their state here, not in /var/lib/snmp (which other
# tools on the machine rewrite).
SNMP_PERSISTENT_DIR=$(mktemp -d /tmp/sopd-mib.XXXXXX)
export SNMP_PERSISTENT_DIR
mkdir -p "$SNMP_PERSISTENT_DIR/cert_indexes" "$SNMP_PERSISTENT_DIR/mib_indexes"
trap 'rm -rf "$SNMP_PERSISTENT_DIR"' EXIT

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }

if sh "$ROOT/tests/mibs.sh"; then
	ok "IETF base MIBs in build/ietf-mibs"
else
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi

# smilint: nothing at all up to level 6 (errors, warnings and infos). The
# base modules come from SMIPATH; preloading them with -p would make smilint
# report their own (historic) warnings as well.
out=$(SMIPATH="$IETF" smilint -c /dev/null -s -l 6 "$MIB" 2>&1)
if [ -z "$out" ]; then
	ok "smilint -l 6: no error, no warning"
else
	notok "smilint -l 6 reports:"
	echo "$out" | sed 's/^/# /'
fi

# The enterprise number is written in one place only.
n=$(grep -v '^ *--' "$MIB" | grep -c 32473)
if [ "$n" = 1 ]; then
	ok "enterprise number defined once"
else
	notok "enterprise number appears $n times"
fi

# The daemon takes it from one header, which agrees with the MIB.
pen=$(sed -n 's/^sopEnterprise .*{ *enterprises *\([0-9]*\) *}.*/\1/p' "$MIB")
hdr=$(sed -n 's/^#define SOP_ENTERPRISE[[:space:]]*\([0-9]*\)$/\1/p' "$ROOT/appliance/enterprise.h" 2>/dev/null)
if [ -n "$pen" ] && [ "$hdr" = "$pen" ]; then
	ok "appliance/enterprise.h defines sopEnterprise ($pen)"
else
	notok "appliance/enterprise.h defines '$hdr', the MIB '$pen'"
fi
files=$(grep -rlw "$pen" "$ROOT/appliance" | sed "s|$ROOT/||" | tr '\n' ' ')
if [ "$files" = "appliance/enterprise.h " ]; then
	ok "no other source file writes the enterprise number"
else
	notok "the enterprise number is written in: $files"
fi

tr() { snmptranslate -M "$ROOT/mibs:$IETF" -m SOP-APPLIANCE-MIB "$@" 2>&1; }

out=$(tr -Tp SOP-APPLIANCE-MIB::sopApplianceMIB)
if echo "$out" | grep -q 'sopIncidentEntry' &&
    ! echo "$out" | grep -q -e 'Cannot ' -e 'Did not find' -e 'Unlinked'; then
	ok "snmptranslate -Tp loads the module"
else
	notok "snmptranslate -Tp"
	echo "$out" | head -20 | sed 's/^/# /'
fi

base=.1.3.6.1.4.1.32473.1
for pair in sopIncidentOpened:0.1 sopIncidentEscalated:0.2 \
    sopIncidentAcknowledged:0.3 sopIncidentResolved:0.4 \
    sopApplianceProduct:3.1 sopIncidentTable:1.4 sopNotifLogTable:1.6.4 \
    sopWindowTable:1.5 sopInputReasonTable:1.2.2; do
	name=${pair%%:*}
	want=$base.${pair#*:}
	got=$(tr -On "SOP-APPLIANCE-MIB::$name")
	if [ "$got" = "$want" ]; then
		ok "$name is $want"
	else
		notok "$name is $got, want $want"
	fi
done

got=$(tr -OS "$base.1.4.1.7.42")
if [ "$got" = "SOP-APPLIANCE-MIB::sopIncidentTitle.42" ]; then
	ok "numeric OID translates back to sopIncidentTitle.42"
else
	notok "numeric OID translates to '$got'"
fi
