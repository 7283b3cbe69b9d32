#!/bin/sh
# bundle.sh ROOTFS.ext4 VERSION KEY CERT KEYRING OUT.raucb: a RAUC bundle
# with ROOTFS.ext4 as the image of the rootfs slot class, for the appliance
# (compatible sopd-appliance-amd64), signed with KEY and CERT (files or
# PKCS#11 URIs, as rauc accepts them) and checked against KEYRING.
set -eu
ROOTFS=$1 VERSION=$2 KEY=$3 CERT=$4 KEYRING=$5 OUT=$6
COMPATIBLE=${COMPATIBLE:-sopd-appliance-amd64}
FORMAT=${BUNDLE_FORMAT:-verity}
dir=$(mktemp -d "${TMPDIR:-/tmp}/bundle.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ln "$ROOTFS" "$dir/rootfs.ext4" 2>/dev/null || cp "$ROOTFS" "$dir/rootfs.ext4"
cat > "$dir/manifest.raucm" <<EOT
[update]
compatible=$COMPATIBLE
version=$VERSION
description=sopd appliance firmware $VERSION

[bundle]
format=$FORMAT

[image.rootfs]
filename=rootfs.ext4
EOT
rm -f "$OUT"
rauc bundle --cert="$CERT" --key="$KEY" --keyring="$KEYRING" "$dir" "$OUT"
