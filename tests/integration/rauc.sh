#!/bin/bash
# rauc.sh: signed A/B updates with RAUC, on a tiny root file system
# (4 MiB ext4), not the appliance's image. A bundle signed with the
# development key verifies against its keyring; `sopctl firmware install`
# refuses a bundle with a changed byte, one signed by another key, a
# truncated one and an older one, each with a message that says so. Where
# the machine has loop devices and D-Bus (root), a RAUC service on a
# private bus installs into two loop-device slots: the other slot gets the
# image and becomes the next boot (grubenv), a downgrade is refused by
# RAUC's pre-install handler too, and the health check marks the booted
# slot good when sopd answers /healthz, or bad (and reboots) when not;
# booted from A again, `sopctl firmware status` says B's update fell back.
. "$(dirname "$0")/../lib.sh"

for tool in rauc mksquashfs openssl mkfs.ext4 dpkg; do
	if ! command -v $tool >/dev/null; then
		echo "ok # skip $tool is not installed (make deps installs it)"
		exit 0
	fi
done
FW="$ROOT/firmware/image"

sh "$FW/devkey.sh" "$T/key" || { notok "devkey.sh makes a key"; exit 1; }
sh "$FW/devkey.sh" "$T/other" || { notok "devkey.sh makes a key"; exit 1; }
check "the development key, its certificate and the CA are made by OpenSSL" \
    openssl verify -CAfile "$T/key/dev-ca.pem" "$T/key/dev.pem"

# The tiny root file system: a release file and 256 KiB that do not
# compress (a bundle's payload must be larger than one block).
mkdir -p "$T/root/etc"
printf 'NAME=sopd-appliance\nVERSION=2.0\n' > "$T/root/etc/sopd-firmware"
head -c 262144 /dev/urandom > "$T/root/etc/blob"
mkfs.ext4 -q -F -L rootfs -d "$T/root" "$T/rootfs.ext4" 4M

# bundle NAME VERSION [KEYDIR] [FORMAT]
bundle() {
	BUNDLE_FORMAT=${4:-verity} sh "$FW/bundle.sh" "$T/rootfs.ext4" "$2" \
	    "${3:-$T/key}/dev.key" "${3:-$T/key}/dev.pem" \
	    "${3:-$T/key}/dev-ca.pem" "$T/$1.raucb" > "$T/bundle-$1.log" 2>&1 ||
	    sed 's/^/# /' "$T/bundle-$1.log"
}
bundle good 2.0
bundle other 2.0 "$T/other"
bundle old 0.9
bundle plain 2.0 "$T/key" plain
bundle plainold 0.9 "$T/key" plain
check "make firmware's script builds a signed bundle" [ -s "$T/good.raucb" ]

rauc info --keyring "$T/key/dev-ca.pem" "$T/good.raucb" > "$T/info.log" 2>&1
check "a good bundle verifies (rauc info --keyring)" \
    grep -q "^Verified inline signature\|Verified inline signature" "$T/info.log"
check "the bundle is for the appliance, version 2.0" \
    sh -c "grep -q \"^Compatible:.*'sopd-appliance-amd64'\" '$T/info.log' &&
    grep -q \"^Version:.*'2.0'\" '$T/info.log'"

# The system configuration sopctl uses (SOPD_RAUC_CONF): the test's keyring
# and slots; the running firmware is 1.0 (SOPD_FIRMWARE_RELEASE).
printf 'NAME=sopd-appliance\nVERSION=1.0\n' > "$T/release"
export SOPD_FIRMWARE_RELEASE="$T/release"
export SOPD_RAUC_CONF="$T/system.conf"
write_system_conf() {
	cat > "$T/system.conf" <<EOF
[system]
compatible=sopd-appliance-amd64
bootloader=grub
grubenv=$T/grubenv
statusfile=$T/status.raucs

[keyring]
path=$T/key/dev-ca.pem

[handlers]
pre-install=$FW/firmware-pre-install

[slot.rootfs.0]
device=$1
type=ext4
bootname=A

[slot.rootfs.1]
device=$2
type=ext4
bootname=B
EOF
}
write_system_conf "$T/slot-a.img" "$T/slot-b.img"

# refused NAME BUNDLE PATTERN: sopctl firmware install refuses, exit 1, and
# says why.
refused() {
	"$SOPCTL" firmware install "$2" > "$T/$1.out" 2> "$T/$1.err"
	rc=$?
	sed 's/^/# /' "$T/$1.err"
	check "sopctl firmware install refuses $1 (exit 1)" [ $rc = 1 ]
	check "... and says so: $3" grep -q "$3" "$T/$1.err"
	check "... before rauc install runs" sh -c "! grep -q '^installing' '$T/$1.out'"
}

cp "$T/plain.raucb" "$T/tampered.raucb"
# A byte in the middle of the payload (squashfs) of a plain bundle, whose
# signature covers every byte: rauc info refuses it.
size=$(stat -c %s "$T/tampered.raucb")
printf '\001' | dd of="$T/tampered.raucb" bs=1 seek=$((size / 3)) conv=notrunc status=none
refused "a changed byte" "$T/tampered.raucb" "refused: not a bundle signed by a trusted key, or damaged"
check "... with rauc's reason (signature)" grep -qi "signature\|digest" "$T/a changed byte.err"

# A verity bundle: the signature covers the manifest and the hash tree of
# the payload; a changed payload byte is found when it is read (dm-verity
# during rauc install, or rauc extract's own check, used here).
cp "$T/good.raucb" "$T/tampered-verity.raucb"
printf '\001' | dd of="$T/tampered-verity.raucb" bs=1 seek=5000 conv=notrunc status=none
rm -rf "$T/x"
rauc extract --keyring "$T/key/dev-ca.pem" "$T/tampered-verity.raucb" "$T/x" \
    > "$T/extract.log" 2>&1
rc=$?
sed 's/^/# /' "$T/extract.log" | grep -v "rauc-Message" | head -3
check "a changed payload byte in a verity bundle is refused (payload is corrupted)" \
    sh -c "[ $rc != 0 ] && [ ! -s '$T/x/rootfs.ext4' ]"
check "... and the reason is given" grep -q "payload is corrupted\|Verification of data area failed" "$T/extract.log"

refused "a bundle signed by another key" "$T/other.raucb" "refused: not a bundle signed by a trusted key"
check "... with rauc's reason (the signer's CA is not in the keyring)" \
    grep -q "signature verification failed" "$T/a bundle signed by another key.err"

head -c $(( $(stat -c %s "$T/good.raucb") / 2 )) "$T/good.raucb" > "$T/truncated.raucb"
refused "a truncated bundle" "$T/truncated.raucb" "refused: not a bundle signed by a trusted key, or damaged"

refused "an older bundle" "$T/old.raucb" "version 0.9 is older than the running firmware 1.0 (downgrade)"

"$SOPCTL" firmware install "$T/missing.raucb" > /dev/null 2> "$T/missing.err"
check "sopctl firmware install on a missing file fails with its name" \
    grep -q "missing.raucb: No such file" "$T/missing.err"
"$SOPCTL" firmware bogus > /dev/null 2>&1
check "sopctl firmware with an unknown subcommand is a usage error (2)" [ $? = 2 ]

# The pre-install handler as RAUC runs it: the bundle's manifest mounted
# at RAUC_BUNDLE_MOUNT_POINT.
mkdir -p "$T/mf"
printf '[update]\ncompatible=sopd-appliance-amd64\nversion=0.9\n' > "$T/mf/manifest.raucm"
RAUC_BUNDLE_MOUNT_POINT="$T/mf" sh "$FW/firmware-pre-install" 2> "$T/pre.err"
rc=$?
check "RAUC's pre-install handler refuses an older bundle" [ $rc = 1 ]
check "... and says so" grep -q "refusing downgrade from 1.0 to 0.9" "$T/pre.err"
sed -i 's/^version=0.9/version=1.0.1/' "$T/mf/manifest.raucm"
check "RAUC's pre-install handler accepts a newer bundle" \
    env RAUC_BUNDLE_MOUNT_POINT="$T/mf" sh "$FW/firmware-pre-install"

# The install into two loop-device slots, through a RAUC service on a
# private system bus. Needs root, free loop devices and dbus-daemon; a
# verity bundle also needs device-mapper (/dev/mapper/control), which a
# container usually lacks: then the plain bundle is installed.
why=""
[ "$(id -u)" = 0 ] || why="not root"
[ -z "$why" ] && ! command -v dbus-daemon >/dev/null && why="dbus-daemon is not installed"
[ -z "$why" ] && ! command -v grub-editenv >/dev/null && why="grub-editenv is not installed"
[ -z "$why" ] && ! losetup -f >/dev/null 2>&1 && why="no free loop device"
if [ -n "$why" ]; then
	echo "ok # skip the install into loop-device slots: $why"
	exit 0
fi
truncate -s 8M "$T/slot-a.img" "$T/slot-b.img"
LA=$(losetup -f --show "$T/slot-a.img") &&
LB=$(losetup -f --show "$T/slot-b.img") || {
	echo "ok # skip the install into loop-device slots: losetup failed"
	[ -n "$LA" ] && losetup -d "$LA"
	exit 0
}
BUS_PID=""
RAUC_PID=""
cleanup_rauc() {
	[ -n "$RAUC_PID" ] && kill $RAUC_PID 2>/dev/null && wait $RAUC_PID 2>/dev/null
	[ -n "$BUS_PID" ] && kill $BUS_PID 2>/dev/null
	grep -q " $T/mnt" /proc/mounts 2>/dev/null &&
	    awk -v m="$T/mnt" 'index($2, m) == 1 { print $2 }' /proc/mounts |
	    sort -r | xargs -r -n1 umount -l
	losetup -d "$LA" "$LB" 2>/dev/null
	cleanup
}
trap cleanup_rauc EXIT
write_system_conf "$LA" "$LB"
cat > "$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/> <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
BUS_PID=$(dbus-daemon --config-file="$T/bus.conf" --fork --print-pid) || {
	echo "ok # skip the install into loop-device slots: dbus-daemon failed"
	exit 0
}
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus"
grub-editenv "$T/grubenv" create
grub-editenv "$T/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
mkdir -p "$T/mnt"
# start_rauc SLOT: the service as booted from SLOT.
start_rauc() {
	[ -n "$RAUC_PID" ] && kill $RAUC_PID 2>/dev/null && wait $RAUC_PID 2>/dev/null
	rauc --conf="$T/system.conf" --mount="$T/mnt" --override-boot-slot="$1" \
	    service >> "$T/rauc.log" 2>&1 &
	RAUC_PID=$!
	wait_for sh -c 'rauc status >/dev/null 2>&1'
}
start_rauc A || { notok "the RAUC service starts"; sed 's/^/# /' "$T/rauc.log"; exit 1; }
env_is() { [ "$(grub-editenv "$T/grubenv" list | sed -n "s/^$1=//p")" = "$2" ]; }

B=plain
[ -e /dev/mapper/control ] && B=good
echo "# installing the $B bundle (verity needs device-mapper: $([ -e /dev/mapper/control ] && echo present || echo absent))"
"$SOPCTL" firmware install "$T/$B.raucb" > "$T/install.out" 2>&1
rc=$?
sed 's/^/# /' "$T/install.out" | tail -5
check "sopctl firmware install installs a good bundle (exit 0)" [ $rc = 0 ]
check "the other slot (B) holds the new root file system" \
    cmp -n $(stat -c %s "$T/rootfs.ext4") "$T/rootfs.ext4" "$LB"
check "the booted slot (A) is untouched" \
    sh -c "! cmp -s -n 4096 '$T/rootfs.ext4' '$LA'"
check "B is the next boot: ORDER=\"B A\", B_OK=1, B_TRY=0 in grubenv" \
    sh -c "[ \"\$(grub-editenv '$T/grubenv' list | grep -E '^(ORDER|B_OK|B_TRY)=' | tr '\n' ' ')\" = 'ORDER=B A B_OK=1 B_TRY=0 ' ]"
"$SOPCTL" firmware status > "$T/status.out" 2>&1
check "sopctl firmware status shows the running firmware" grep -q "^firmware: 1.0$" "$T/status.out"
check "... and RAUC's next boot: B" grep -q "Activated: rootfs.1 (B)" "$T/status.out"
check "... and no fallback while B has not failed" sh -c "! grep -q '^fallback' '$T/status.out'"

# A downgrade past sopctl, straight to rauc: the pre-install handler refuses
# it and slot B keeps 2.0.
printf '\001' > "$T/marker"
dd if="$T/marker" of="$LB" bs=1 seek=$((8 * 1024 * 1024 - 1)) conv=notrunc status=none
SOPD_FIRMWARE_RELEASE="$T/release" rauc install "$T/plainold.raucb" > "$T/down.out" 2>&1
rc=$?
check "rauc install of an older bundle is refused by the pre-install handler" \
    sh -c "[ $rc != 0 ] && grep -qi 'pre-install handler' '$T/down.out'"
check "... and slot B is not rewritten" \
    [ "$(tail -c 1 "$LB" | od -An -tx1 | tr -d ' ')" = 01 ]

# First boot of B (GRUB set B_TRY=1): the health check marks it good when
# sopd answers /healthz.
grub-editenv "$T/grubenv" set B_TRY=1
start_rauc B || notok "the RAUC service starts as booted from B"
pick_ports
write_config </dev/null
start_sopd || exit 1
SOPD_HEALTHZ="$API/healthz" SOPD_REBOOT="touch $T/rebooted" \
    sh "$FW/firmware-check" 20 > "$T/check.out" 2>&1
rc=$?
sed 's/^/# /' "$T/check.out"
check "the health check marks B good once sopd answers /healthz" \
    sh -c "[ $rc = 0 ] && [ ! -e '$T/rebooted' ]"
check "... B_OK=1: GRUB keeps booting B" env_is B_OK 1
check "... B_TRY=0" env_is B_TRY 0
stop_sopd

# sopd does not answer: B is marked bad and the machine reboots; GRUB then
# skips B (OK=0) and boots A.
grub-editenv "$T/grubenv" set B_TRY=1
SOPD_HEALTHZ="$API/healthz" SOPD_REBOOT="touch $T/rebooted" \
    sh "$FW/firmware-check" 3 > "$T/check2.out" 2>&1
rc=$?
sed 's/^/# /' "$T/check2.out"
check "without /healthz the health check gives up after its limit (exit 1)" [ $rc = 1 ]
check "... marks B bad (B_OK=0) so GRUB falls back to A" env_is B_OK 0
check "... and reboots" [ -e "$T/rebooted" ]

# Booted from A again: sopctl firmware status says the update fell back.
start_rauc A || notok "the RAUC service starts as booted from A"
"$SOPCTL" firmware status > "$T/status2.out" 2>&1
sed 's/^/# /' "$T/status2.out" | tail -3
check "sopctl firmware status on A says B's firmware 2.0 failed and A runs the previous one" \
    grep -q "^fallback: firmware 2.0 in slot B failed its first boot (marked bad); slot A runs the previous firmware$" "$T/status2.out"
exit 0
