#!/bin/sh
# customize.sh ROOT VERSION NMS: the appliance's settings in the root file
# system made by mmdebstrap (firmware/image/build.sh).
set -eu
R=$1
VERSION=$2
NMS=$3
printf 'NAME=sopd-appliance\nVERSION=%s\n' "$VERSION" > "$R/etc/sopd-firmware"
# The console and API on HTTPS 443 of every address (sopd makes a
# self-signed certificate in /var/lib/sopd at first start).
sed -i 's/^  listen: 127\.0\.0\.1:8080$/  listen: 0.0.0.0:443/' "$R/etc/sopd/sopd.yaml"
grep -q '^  listen: 0.0.0.0:443$' "$R/etc/sopd/sopd.yaml"
if [ -n "$NMS" ]; then
	echo "rocommunity public $NMS -V sopView" >> "$R/etc/snmp/snmpd.conf"
fi
chroot "$R" systemctl enable systemd-networkd.service sopd.service \
    sopd-firmware-check.service snmpd.service chrony.service \
    sopd-data.service
# No password: log in on the console only after setting one from a
# rescue system; the appliance is managed over HTTPS and SNMP.
chroot "$R" passwd -l root >/dev/null
ln -sf /lib/systemd/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
# The hardware watchdog resets a machine that hangs (a new slot that never
# reaches mark-good then keeps TRY=1 and GRUB boots the other slot).
mkdir -p "$R/etc/systemd/system.conf.d"
printf '[Manager]\nRuntimeWatchdogSec=30s\nRebootWatchdogSec=2min\n' \
    > "$R/etc/systemd/system.conf.d/watchdog.conf"
# RAUC keeps the slots' status on the data partition (system.conf
# statusfile=/data/rauc.status): its service starts once /data is mounted.
mkdir -p "$R/etc/systemd/system/rauc.service.d"
printf '[Unit]\nRequiresMountsFor=/data\n' \
    > "$R/etc/systemd/system/rauc.service.d/data.conf"
