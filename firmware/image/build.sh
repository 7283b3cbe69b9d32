#!/bin/sh
# build.sh OUT DEB: the appliance's disk image from Debian 12's packages.
#   OUT/rootfs/        the root file system (mmdebstrap, Debian bookworm)
#   OUT/rootfs.ext4    the same as an ext4 image: one root slot, the payload
#                      of a RAUC bundle (make firmware)
#   OUT/disk.img       GPT: 1 EFI system partition (GRUB, grubenv),
#                      2 rootfs-a, 3 rootfs-b (A/B slots), 4 data
#                      (/data: the site's configuration and state,
#                      sopd-data.service)
# Environment: FIRMWARE_VERSION (the image's version, /etc/sopd-firmware),
# RAUC_CERT (the certificate chain RAUC accepts: /etc/rauc/keyring.pem),
# IMAGE_NMS (address or network allowed SNMP with community public),
# MIRROR (Debian mirror; mmdebstrap's default otherwise), KERNEL.
# Needs root (mmdebstrap's root mode), mmdebstrap, mkfs.ext4, mkfs.vfat,
# mtools, sfdisk, grub-mkimage (grub-efi-amd64-bin). No loop device: each
# file system is made in a file and copied into the disk at its offset.
set -eu
OUT=$1
DEB=$2
HERE=$(cd "$(dirname "$0")" && pwd)
FW=$(cd "$HERE/.." && pwd)
: "${FIRMWARE_VERSION:?}" "${RAUC_CERT:?}"
IMAGE_NMS=${IMAGE_NMS:-}
KERNEL=${KERNEL:-linux-image-cloud-amd64}
SLOT_MB=${SLOT_MB:-1024}
ESP_MB=64
DATA_MB=${DATA_MB:-512}

rm -rf "$OUT/rootfs" "$OUT/rootfs.ext4" "$OUT/disk.img" "$OUT/esp.img" "$OUT/data.img"
mkdir -p "$OUT"

# The root file system. snmpd is the AgentX master (firmware/snmpd.conf),
# sopd its subagent; chrony keeps the clock; systemd-networkd takes an
# address by DHCP on every Ethernet interface.
mmdebstrap --variant=minbase --mode=root \
    --include="systemd-sysv,udev,dbus,$KERNEL,initramfs-tools,snmpd,chrony,rauc,rauc-service,grub-common,curl,ca-certificates,iproute2" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/sopd/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="upload '$DEB' /tmp/sopd.deb" \
    --customize-hook='chroot "$1" apt-get install -y -q --no-install-recommends /tmp/sopd.deb' \
    --customize-hook='rm -f "$1/tmp/sopd.deb"; chroot "$1" apt-get clean' \
    --customize-hook='mkdir -p "$1/etc/rauc" "$1/usr/lib/sopd" "$1/etc/systemd/network" "$1/boot/efi" "$1/var/lib/sopd" "$1/data"' \
    --customize-hook='echo sopd > "$1/etc/hostname"' \
    --customize-hook="upload '$FW/snmpd.conf' /etc/snmp/snmpd.conf" \
    --customize-hook="upload '$HERE/system.conf' /etc/rauc/system.conf" \
    --customize-hook="upload '$RAUC_CERT' /etc/rauc/keyring.pem" \
    --customize-hook="upload '$HERE/firmware-pre-install' /usr/lib/sopd/firmware-pre-install" \
    --customize-hook="upload '$HERE/firmware-check' /usr/lib/sopd/firmware-check" \
    --customize-hook="upload '$HERE/sopd-firmware-check.service' /lib/systemd/system/sopd-firmware-check.service" \
    --customize-hook="upload '$HERE/data-setup' /usr/lib/sopd/data-setup" \
    --customize-hook="upload '$HERE/sopd-data.service' /lib/systemd/system/sopd-data.service" \
    --customize-hook="upload '$HERE/fstab' /etc/fstab" \
    --customize-hook="upload '$HERE/20-wired.network' /etc/systemd/network/20-wired.network" \
    --customize-hook='chmod 0755 "$1/usr/lib/sopd/firmware-pre-install" "$1/usr/lib/sopd/firmware-check" "$1/usr/lib/sopd/data-setup"' \
    --customize-hook="sh '$HERE/customize.sh' \"\$1\" '$FIRMWARE_VERSION' '$IMAGE_NMS'" \
    bookworm "$OUT/rootfs" ${MIRROR:-}

# Slot image: ext4 from the directory (mke2fs -d), no mount needed.
mkfs.ext4 -q -F -L rootfs -d "$OUT/rootfs" "$OUT/rootfs.ext4" "${SLOT_MB}M"

# EFI system partition: GRUB as the removable-media loader
# (EFI/BOOT/BOOTX64.EFI), its configuration and the RAUC grubenv
# (slot A good, B empty).
grub-mkimage -O x86_64-efi -p /EFI/BOOT -o "$OUT/BOOTX64.EFI" \
    part_gpt fat ext2 normal configfile linux echo test loadenv \
    search search_label regexp gzio all_video efi_gop sleep reboot
grub-editenv "$OUT/grubenv" create
grub-editenv "$OUT/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
mkfs.vfat -C -n EFI "$OUT/esp.img" $((ESP_MB * 1024)) >/dev/null
mmd -i "$OUT/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$OUT/esp.img" "$OUT/BOOTX64.EFI" "$HERE/grub.cfg" "$OUT/grubenv" ::/EFI/BOOT/

# The data partition, empty: at first boot sopd-data.service copies the
# shipped configuration and state directories into it (data-setup).
mkfs.ext4 -q -F -L data "$OUT/data.img" "${DATA_MB}M"

# The disk: 1 MiB aligned GPT partitions, each file system copied in.
esp=2048
a=$((esp + ESP_MB * 2048))
b=$((a + SLOT_MB * 2048))
d=$((b + SLOT_MB * 2048))
end=$((d + DATA_MB * 2048 + 2048))
truncate -s $((end * 512)) "$OUT/disk.img"
sfdisk -q "$OUT/disk.img" <<EOT
label: gpt
start=$esp, size=$((ESP_MB * 2048)), type=uefi, name=efi
start=$a, size=$((SLOT_MB * 2048)), type=linux, name=rootfs-a
start=$b, size=$((SLOT_MB * 2048)), type=linux, name=rootfs-b
start=$d, size=$((DATA_MB * 2048)), type=linux, name=data
EOT
dd if="$OUT/esp.img" of="$OUT/disk.img" bs=1M seek=$((esp / 2048)) conv=notrunc,sparse status=none
dd if="$OUT/rootfs.ext4" of="$OUT/disk.img" bs=1M seek=$((a / 2048)) conv=notrunc,sparse status=none
dd if="$OUT/data.img" of="$OUT/disk.img" bs=1M seek=$((d / 2048)) conv=notrunc,sparse status=none
rm -f "$OUT/esp.img" "$OUT/data.img" "$OUT/BOOTX64.EFI" "$OUT/grubenv"
echo "$OUT/disk.img: firmware $FIRMWARE_VERSION, slot A $OUT/rootfs.ext4"
