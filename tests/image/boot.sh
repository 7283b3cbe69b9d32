#!/bin/bash
# boot.sh IMAGEDIR: boots the appliance's disk image (make image) under QEMU
# with UEFI (OVMF) firmware, on a copy-on-write overlay so the image stays as
# built, user networking with its HTTPS, syslog and SNMP ports forwarded to
# loopback; then checks that GRUB booted slot A, sopd answers /healthz over
# HTTPS, takes a syslog message (its UDP input counter in the MIB moves),
# that snmpd answers an SNMP walk of SOP-APPLIANCE-MIB through sopd (AgentX)
# and that the health check marked slot A good; that the first boot put the
# site's configuration and sopd's state on the data partition. With a
# bundle (make firmware): the update from A to B keeps the site's
# configuration (sopd.yaml, snmpd.conf changed on A); then a bundle whose
# sopd never answers is installed from B into A, A fails its health check,
# GRUB falls back to B, and `sopctl firmware status` says so. KVM when
# /dev/kvm can be used, else TCG (several times slower: the limits grow).
# Not part of `make test`: `make image-test`. Prints "ok - ..." lines.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMG=${1:-$ROOT/build/image}
T=$(mktemp -d /tmp/sopd-image.XXXXXX)
QEMU_PID=""
cleanup() {
	[ -n "$QEMU_PID" ] && kill $QEMU_PID 2>/dev/null && wait $QEMU_PID 2>/dev/null
	[ -n "$KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
PASSED=0 NFAILED=0
ok() { echo "ok - $*"; PASSED=$((PASSED + 1)); }
notok() { echo "not ok - $*"; FAILED=1; NFAILED=$((NFAILED + 1)); }
check() { d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
FAILED=0
T0=$(date +%s)

for tool in qemu-system-x86_64 qemu-img curl snmpwalk snmpget logger mtype python3 debugfs; do
	command -v $tool >/dev/null || { echo "not ok - $tool is not installed (make deps)"; exit 1; }
done
OVMF=/usr/share/OVMF/OVMF_CODE_4M.fd
[ -r "$OVMF" ] || { echo "not ok - OVMF is not installed (make deps)"; exit 1; }
[ -s "$IMG/disk.img" ] || { echo "not ok - no $IMG/disk.img: make image first"; exit 1; }

# Free loopback ports (TCP for HTTPS, UDP for syslog and SNMP).
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000))
		ss -Hltun "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return; }
	done
}
P_HTTPS=$(free_port); P_SYSLOG=$(free_port); P_SNMP=$(free_port)

# KVM is used when it runs the UEFI firmware: QEMU started with it must
# still be running after 8 s with no "KVM internal error" (a nested KVM may
# open but fail to emulate the firmware's first instructions).
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/probe-vars.fd"
timeout 8 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults \
    -no-user-config -display none -monitor none \
    -drive if=pflash,format=raw,readonly=on,file="$OVMF" \
    -drive if=pflash,format=raw,file="$T/probe-vars.fd" \
    < /dev/null > "$T/probe.log" 2>&1
rc=$?
if [ $rc = 124 ] && ! grep -q "internal error" "$T/probe.log"; then
	ACCEL="-accel kvm -cpu host"; LIMIT=300; echo "# KVM"
else
	ACCEL="-accel tcg"; LIMIT=900
	echo "# KVM unusable ($(grep -m1 -o 'KVM internal error.*\|Could not access KVM.*' "$T/probe.log" || echo "exit $rc")): TCG emulation (slower)"
fi
BOOT_LIMIT=$LIMIT
qemu-img create -q -f qcow2 -b "$(cd "$IMG" && pwd)/disk.img" -F raw "$T/disk.qcow2"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/vars.fd"
# boot_vm DRIVE: start QEMU on DRIVE (a -drive option's format= and file=).
boot_vm() {
	rm -f "$T/monitor"
	start=$(date +%s)
	qemu-system-x86_64 $ACCEL -m 1024 -smp 2 -nodefaults -display none \
	    -drive if=pflash,format=raw,readonly=on,file="$OVMF" \
	    -drive if=pflash,format=raw,file="$T/vars.fd" \
	    -drive if=virtio,"$1" \
	    -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$P_HTTPS-:443,hostfwd=udp:127.0.0.1:$P_SYSLOG-:514,hostfwd=udp:127.0.0.1:$P_SNMP-:161 \
	    -device virtio-net-pci,netdev=n0 \
	    -serial file:"$T/console.log" -device i6300esb \
	    -monitor unix:"$T/monitor",server,nowait \
	    > "$T/qemu.log" 2>&1 &
	QEMU_PID=$!
}
# power_off: the ACPI power button, then up to 300 s for QEMU to exit.
power_off() {
	python3 - "$T/monitor" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.settimeout(30)
	s.connect(sys.argv[1])
	got = b""
	while b"(qemu)" not in got:
	    got += s.recv(4096)
	s.sendall(b"system_powerdown\n")
	got = b""
	while got.count(b"(qemu)") < 1:
	    got += s.recv(4096)
PY
	i=0
	while kill -0 $QEMU_PID 2>/dev/null && [ $i -lt 300 ]; do sleep 1; i=$((i + 1)); done
	check "the appliance shuts down on ACPI power-off (${i}s)" sh -c "! kill -0 $QEMU_PID 2>/dev/null"
	# Still running: what follows reads its disk, so stop here.
	if kill -0 $QEMU_PID 2>/dev/null; then
		tail -20 "$T/console.log" | sed 's/^/# console: /'
		echo "$PASSED passed, $NFAILED failed"
		exit 1
	fi
	QEMU_PID=""
}
boot_vm "format=qcow2,file=$T/disk.qcow2"

# bounded LIMIT CMD...: retry CMD every 2 s until the boot limit.
bounded() {
	while [ $(( $(date +%s) - start )) -lt $LIMIT ]; do
		"$@" > /dev/null 2>&1 && return 0
		kill -0 $QEMU_PID 2>/dev/null || return 1
		sleep 2
	done
	return 1
}
healthz() { curl -fsk --max-time 5 -o /dev/null "https://127.0.0.1:$P_HTTPS/healthz"; }
bounded healthz
rc=$?
up=$(( $(date +%s) - start ))
check "sopd answers /healthz over HTTPS (443) after ${up}s" [ $rc = 0 ]
if [ $rc != 0 ]; then
	echo "# console:"; tail -40 "$T/console.log" | sed 's/^/# /'
	sed 's/^/# qemu: /' "$T/qemu.log"
	exit 1
fi
check "GRUB booted slot A (rauc.slot=A)" grep -q "rauc.slot=A" "$T/console.log"

sh "$ROOT/tests/mibs.sh" > /dev/null 2>&1
MIBS="-M +:$ROOT/mibs:$ROOT/build/ietf-mibs -m SOP-APPLIANCE-MIB"
walk() { snmpwalk -v2c -c public -t 3 -r 2 -Oqv $MIBS "127.0.0.1:$P_SNMP" "$@"; }
udp_received() {
	snmpget -v2c -c public -t 3 -r 2 -Oqv $MIBS "127.0.0.1:$P_SNMP" \
	    sopInputReceived.syslogUdp 2>/dev/null
}
has_rows() { [ "$(walk .1.3.6.1.4.1.32473 2>/dev/null | wc -l)" -gt 10 ]; }
bounded has_rows
check "snmpd answers a walk of SOP-APPLIANCE-MIB (sopd as its AgentX subagent)" has_rows
walk sopSoftwareVersion 2>/dev/null | sed 's/^/# sopSoftwareVersion: /'
before=$(udp_received)
echo "# sopInputReceived (udp) before: ${before:-?}"
logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164 -t imagetest "sopd image boot test $$"
moved() { n=$(udp_received); [ -n "$n" ] && [ "$n" -gt "${before:-0}" ]; }
LIMIT=$(( up + 60 ))
bounded moved
check "sopd took the syslog message (UDP 514): sopInputReceived moved from ${before:-?} to $(udp_received)" moved

# The shipped configuration: the API asks for a login, snmpd knows no
# community sitecfg (the update below changes both on A).
api_code() { curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P_HTTPS/api/v1/incidents"; }
site_snmp() { snmpget -v2c -c sitecfg -t 2 -r 1 -Oqv "127.0.0.1:$P_SNMP" .1.3.6.1.2.1.1.3.0 > /dev/null 2>&1; }
check "the shipped sopd.yaml asks for a login (GET /api/v1/incidents: $(api_code))" [ "$(api_code)" = 401 ]
if site_snmp > /dev/null 2>&1; then notok "the shipped snmpd.conf has no community sitecfg"
else ok "the shipped snmpd.conf has no community sitecfg"; fi

# The health check (sopd-firmware-check.service) ran `rauc status
# mark-good` once sopd answered: GRUB had set A_TRY=1 before booting A, RAUC
# sets it back to 0. Shut the machine down cleanly (ACPI) and read grubenv
# on the EFI system partition of the overlay.
sleep 10
power_off
qemu-img convert -O raw "$T/disk.qcow2" "$T/disk.raw"
mtype -i "$T/disk.raw@@1M" ::/EFI/BOOT/grubenv 2>/dev/null | grep -a '=' > "$T/grubenv.txt"
sed 's/^/# grubenv: /' "$T/grubenv.txt"
grep -a "marking slot" "$T/console.log" | sed 's/^/# console: /'
check "slot A was marked good once sopd answered /healthz (A_OK=1 A_TRY=0)" \
    sh -c "grep -qx A_OK=1 '$T/grubenv.txt' && grep -qx A_TRY=0 '$T/grubenv.txt'"

# The data partition after the first boot (sopd-data.service): the shipped
# configuration copied there, sopd's database written there.
part() { sfdisk -d "$T/disk.raw" | sed -n "s/.*start= *\([0-9]*\), size= *\([0-9]*\),.*name=\"$1\".*/\1 \2/p"; }
set -- $(part data); d_start=$1 d_size=$2
dd if="$T/disk.raw" of="$T/data.ext4" bs=512 skip=$d_start count=$d_size status=none
on_data() { for f; do debugfs -R "stat $f" "$T/data.ext4" 2>/dev/null | grep -q "Type: regular" || return 1; done; }
grep -a "sopd-data:" "$T/console.log" | cut -c1-160 | sed 's/^/# console: /'
check "the first boot copied the shipped configuration to the data partition (/etc/sopd, /etc/snmp)" \
    on_data /etc/sopd/sopd.yaml /etc/snmp/snmpd.conf
check "sopd's database is on the data partition (/data/sopd bound on /var/lib/sopd)" \
    on_data /sopd/sopd.db

# The update, when a bundle is given (BUNDLE, or make firmware's newest in
# build/): the test's copy of the disk gets the bundle on the data partition
# and, in slot A, a one-shot unit that runs `sopctl firmware install` and
# reboots (test scaffolding written with debugfs, not part of the image).
# RAUC writes slot B and puts it first; GRUB boots B; the health check marks
# B good.
BUNDLE=${BUNDLE:-$(ls -t "$ROOT"/build/sopd-firmware-*.raucb 2>/dev/null | head -n 1)}
if [ -z "$BUNDLE" ]; then
	echo "ok # skip the update: no bundle (make firmware)"
elif ! command -v debugfs > /dev/null; then
	echo "ok # skip the update: debugfs is not installed"
else
	set -- $(part rootfs-a); a_start=$1 a_size=$2
	dd if="$T/disk.raw" of="$T/a.ext4" bs=512 skip=$a_start count=$a_size status=none
	# The site's changes on A before the update: the API readable
	# without login (http: public_read), a community for the NMS.
	cat > "$T/test-site.sh" <<-'EOF'
	sed -i 's/^  require_login: true$/&\n  public_read: true/' /etc/sopd/sopd.yaml
	echo 'rocommunity sitecfg 10.0.2.2 -V sopView' >> /etc/snmp/snmpd.conf
	EOF
	cat > "$T/test-update.service" <<-'EOF'
	[Unit]
	Description=Test: install the firmware bundle and reboot
	After=sopd-firmware-check.service
	ConditionPathExists=!/data/test-update.done
	[Service]
	Type=oneshot
	StandardOutput=journal+console
	ExecStart=/bin/touch /data/test-update.done
	ExecStart=/bin/sh /etc/systemd/system/test-site.sh
	ExecStart=/usr/bin/sopctl firmware install /data/update.raucb
	ExecStart=/bin/rm -f /data/update.raucb
	ExecStart=/bin/systemctl reboot
	EOF
	debugfs -w -R "write $T/test-update.service /etc/systemd/system/test-update.service" "$T/a.ext4" > /dev/null 2>&1
	debugfs -w -R "write $T/test-site.sh /etc/systemd/system/test-site.sh" "$T/a.ext4" > /dev/null 2>&1
	debugfs -w -R "symlink /etc/systemd/system/multi-user.target.wants/test-update.service /etc/systemd/system/test-update.service" "$T/a.ext4" > /dev/null 2>&1
	debugfs -w -R "write $BUNDLE /update.raucb" "$T/data.ext4" > /dev/null 2>&1
	dd if="$T/a.ext4" of="$T/disk.raw" bs=512 seek=$a_start conv=notrunc status=none
	dd if="$T/data.ext4" of="$T/disk.raw" bs=512 seek=$d_start conv=notrunc status=none
	rm -f "$T/a.ext4" "$T/data.ext4" "$T/disk.qcow2"
	echo "# installing $(basename "$BUNDLE") (running $(sed -n 's/^VERSION=//p' "$IMG/rootfs/etc/sopd-firmware" 2>/dev/null))"
	: > "$T/console.log"
	boot_vm "format=raw,file=$T/disk.raw"
	LIMIT=$(( LIMIT * 3 ))
	booted_b() { grep -aq "Command line:.*rauc.slot=B" "$T/console.log"; }
	bounded booted_b
	grep -a "firmware-check\|installing\|Installing\|installed\|refused\|failed" "$T/console.log" | cut -c1-200 | sed 's/^/# console: /' | head -20
	check "after sopctl firmware install and a reboot GRUB boots slot B ($(( $(date +%s) - start ))s)" booted_b
	bounded healthz
	check "sopd of slot B answers /healthz" healthz
	marked_b() { grep -aq "marking slot B good" "$T/console.log"; }
	bounded marked_b
	check "the health check marked slot B good" marked_b
	check "the site's sopd.yaml survived the update: B's sopd lets GET /api/v1/incidents without login ($(api_code), public_read set on A)" \
	    [ "$(api_code)" = 200 ]
	bounded site_snmp
	check "the site's snmpd.conf survived the update: B's snmpd answers community sitecfg" site_snmp
	check "B used the data partition's configuration, not the shipped one" \
	    sh -c "! grep -aq 'made from the shipped' '$T/console.log'"
	sleep 5
	power_off
	mtype -i "$T/disk.raw@@1M" ::/EFI/BOOT/grubenv 2>/dev/null | grep -a '=' > "$T/grubenv.txt"
	sed 's/^/# grubenv: /' "$T/grubenv.txt"
	check "grubenv: ORDER=\"B A\", B_OK=1, B_TRY=0 (B stays the boot slot)" \
	    sh -c "grep -qx 'ORDER=B A' '$T/grubenv.txt' && grep -qx B_OK=1 '$T/grubenv.txt' && grep -qx B_TRY=0 '$T/grubenv.txt'"
fi

# The fallback: a signed bundle whose sopd never starts (sopd.service
# masked, and the health check's limit cut to 30 s in that bundle only) is
# installed from B into A. GRUB tries A once (A_TRY=1); the health check
# gives up, marks A bad and reboots; GRUB skips A and boots B again, where
# `sopctl firmware status` (a one-shot unit the test adds to B) says so.
KEYDIR=$ROOT/build/rauc
if [ -z "$BUNDLE" ] || ! command -v debugfs > /dev/null; then
	:
elif [ $FAILED != 0 ]; then
	echo "ok # skip the fallback: the update failed"
elif [ ! -s "$KEYDIR/dev.key" ] || [ "${RAUC_KEY:-$KEYDIR/dev.key}" != "$KEYDIR/dev.key" ]; then
	echo "ok # skip the fallback: it signs a bundle with the development key (build/rauc)"
else
	cp --sparse=always "$IMG/rootfs.ext4" "$T/bad.ext4"
	printf '[Service]\nExecStart=\nExecStart=/usr/lib/sopd/firmware-check 30\n' > "$T/limit.conf"
	debugfs -w -f - "$T/bad.ext4" > /dev/null 2>&1 <<-EOF
	rm /etc/systemd/system/multi-user.target.wants/sopd.service
	symlink /etc/systemd/system/sopd.service /dev/null
	mkdir /etc/systemd/system/sopd-firmware-check.service.d
	write $T/limit.conf /etc/systemd/system/sopd-firmware-check.service.d/limit.conf
	EOF
	badver="$(rauc info --keyring "$KEYDIR/dev-ca.pem" --output-format=shell "$BUNDLE" 2>/dev/null |
	    sed -n "s/^RAUC_MF_VERSION='\(.*\)'/\1/p")+nosopd"
	sh "$ROOT/firmware/image/bundle.sh" "$T/bad.ext4" "$badver" "$KEYDIR/dev.key" \
	    "$KEYDIR/dev.pem" "$KEYDIR/dev-ca.pem" "$T/bad.raucb" > "$T/bad-bundle.log" 2>&1 ||
	    sed 's/^/# bundle: /' "$T/bad-bundle.log"
	rm -f "$T/bad.ext4"
	set -- $(part rootfs-b); b_start=$1 b_size=$2
	dd if="$T/disk.raw" of="$T/b.ext4" bs=512 skip=$b_start count=$b_size status=none
	dd if="$T/disk.raw" of="$T/data.ext4" bs=512 skip=$d_start count=$d_size status=none
	sed -e 's#/data/update.raucb#/data/bad.raucb#' -e 's#test-update#test-bad#g' \
	    -e '/test-site.sh/d' "$T/test-update.service" > "$T/test-bad.service"
	cat > "$T/test-status.service" <<-'EOF'
	[Unit]
	Description=Test: sopctl firmware status on the console
	After=sopd-firmware-check.service
	[Service]
	Type=oneshot
	StandardOutput=journal+console
	ExecStart=/usr/bin/sopctl firmware status
	EOF
	debugfs -w -f - "$T/b.ext4" > /dev/null 2>&1 <<-EOF
	write $T/test-bad.service /etc/systemd/system/test-bad.service
	symlink /etc/systemd/system/multi-user.target.wants/test-bad.service /etc/systemd/system/test-bad.service
	write $T/test-status.service /etc/systemd/system/test-status.service
	symlink /etc/systemd/system/multi-user.target.wants/test-status.service /etc/systemd/system/test-status.service
	EOF
	# (the data partition has no room for two bundles: 256 MiB)
	debugfs -w -f - "$T/data.ext4" > /dev/null 2>&1 <<-EOF
	rm /update.raucb
	write $T/bad.raucb /bad.raucb
	EOF
	dd if="$T/b.ext4" of="$T/disk.raw" bs=512 seek=$b_start conv=notrunc status=none
	dd if="$T/data.ext4" of="$T/disk.raw" bs=512 seek=$d_start conv=notrunc status=none
	rm -f "$T/b.ext4" "$T/data.ext4" "$T/bad.raucb"
	echo "# installing a bundle whose sopd does not start ($badver) from B into A"
	: > "$T/console.log"
	boot_vm "format=raw,file=$T/disk.raw"
	# Three boots (B, A, B), the install and A's health check limit.
	LIMIT=$(( BOOT_LIMIT * 3 ))
	booted() { grep -a "\] Command line:.*rauc.slot=" "$T/console.log" | sed 's/.*rauc.slot=\(.\).*/\1/' | tr -d '\n'; }
	back_to_b() { grep -aq "marking slot A bad" "$T/console.log" && [ "$(booted)" = BAB ]; }
	bounded back_to_b
	grep -a "firmware-check\|test-bad\|marking slot\|fallback:" "$T/console.log" | cut -c1-200 | sed 's/^/# console: /' | head -12
	check "A without sopd is marked bad after the limit and GRUB falls back to B (slots booted: $(booted), want BAB)" back_to_b
	bounded healthz
	check "sopd of slot B answers /healthz again" healthz
	said() { grep -aq "fallback: firmware $badver in slot A failed its first boot (marked bad); slot B runs the previous firmware" "$T/console.log"; }
	bounded said
	check "sopctl firmware status on B says A's firmware $badver failed and B runs the previous one" said
	check "the site's configuration is still in force after the fallback (GET /api/v1/incidents: $(api_code))" \
	    [ "$(api_code)" = 200 ]
	sleep 5
	power_off
	mtype -i "$T/disk.raw@@1M" ::/EFI/BOOT/grubenv 2>/dev/null | grep -a '=' > "$T/grubenv.txt"
	sed 's/^/# grubenv: /' "$T/grubenv.txt"
	check "grubenv: A_OK=0 (A is not tried again), B_OK=1" \
	    sh -c "grep -qx A_OK=0 '$T/grubenv.txt' && grep -qx B_OK=1 '$T/grubenv.txt'"
fi
echo "# boot to /healthz: ${up}s; whole run: $(( $(date +%s) - T0 ))s"
echo "$PASSED passed, $NFAILED failed"
exit $FAILED
