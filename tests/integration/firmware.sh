#!/bin/bash
# firmware.sh: the appliance's shipped configuration (firmware/sopd.yaml with
# firmware/site-rules.yaml and the holiday data), laid out as on the
# appliance under a temporary root, passes `sopd -t`; -t warns when the
# holiday data ends within 90 days; /api/v1/stats shows where it ends.
. "$(dirname "$0")/../lib.sh"

FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
R=$T/root
mkdir -p "$R/etc/sopd" "$R/usr/share/sopd" "$R/var"
cp -r "$ROOT/firmware/holidays" "$ROOT/firmware/site-rules.yaml" "$R/etc/sopd/"
cp -r "$ROOT/rules" "$R/etc/sopd/rules"
cp -r "$ROOT/mibs" "$R/usr/share/sopd/mibs"
sed "s#/etc/sopd#$R/etc/sopd#g; s#/usr/share/sopd#$R/usr/share/sopd#g;
    s#/var/lib/sopd#$R/var#; s/^user: sopd/user: $(id -un)/;
    s/^group: sopd/group: $(id -gn)/" "$ROOT/firmware/sopd.yaml" \
    > "$R/etc/sopd/sopd.yaml"

shipped() { grep -q "$1" "$ROOT/firmware/sopd.yaml"; }
check "the shipped config has the calendar with the holidays" shipped '^  holidays: \[holidays/jp.yaml\]'
check "it has a backup group" shipped '^  backup: '
check "its patch window is scoped to a group" shipped 'when: "fri 20:00-24:00", groups: \[patch\]'
check "its notification targets are there, commented" shipped '^#     client: '
check "the site rules check the backup group" \
    grep -q 'hosts: { group: backup }' "$ROOT/firmware/site-rules.yaml"

t_at() {
	LD_PRELOAD=$FT FAKETIME="@$1" "$SOPD" -t -c "$R/etc/sopd/sopd.yaml" \
	    > "$T/t.out" 2> "$T/t.err"
}
if [ -r "$FT" ]; then
	check "sopd -t passes in 2026" t_at "2026-12-01 12:00:00"
	check "without a warning while the holidays run a year on" \
	    test ! -s "$T/t.err"
	check "sopd -t still passes in September 2027" t_at "2027-09-01 12:00:00"
	check "but warns that the holiday data ends 2027-11-23" \
	    grep -q 'warning: the holiday data ends 2027-11-23, within 90 days' "$T/t.err"
else
	notok "libfaketime is installed (Debian package faketime)"
fi
check "sopd -t accepts the backup check's rule" grep -q 'configuration OK' "$T/t.out"

write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }
check "/api/v1/stats shows the holiday data's end" \
    bash -c "curl -sf $API/api/v1/stats | jq -e '.calendar.holidays_end == \"2027-11-23\" and .calendar.holidays > 30' >/dev/null"
check "sopd stops cleanly" stop_sopd
check "no sanitizer reports" no_sanitizer_reports
