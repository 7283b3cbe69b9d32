#!/bin/sh
# mibs.sh: unpack the IETF base MIBs (SNMPv2-SMI, SNMPv2-TC, ...) into
# build/ietf-mibs for smilint and net-snmp's tools; Debian ships no IETF MIB
# text, the npm registry's net-snmp package carries it under lib/mibs/.
# Idempotent: does nothing when the files are there. Never commit them.
set -e
cd "$(dirname "$0")/.."
PKG=net-snmp
VERSION=3.29.2
# sha512 of net-snmp-3.29.2.tgz as published by the registry (dist.integrity).
INTEGRITY="sha512-ZXQyrPayCUaZxkxXBvExAYjkvZsPDBYUpK8ljIzrA5a/jByYR4REr/hpbld9wJ0tCr8d/pM7pSogDC0B/syiXQ=="
DEST=build/ietf-mibs
NEED="SNMPv2-SMI SNMPv2-TC SNMPv2-CONF SNMPv2-MIB"

have_all() {
	for m in $NEED; do
		[ -s "$DEST/$m.mib" ] || return 1
	done
	return 0
}

if have_all; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "mibs.sh: npm is missing: install Debian's npm (apt-get install npm)" \
	    "to fetch the IETF base MIBs from $PKG@$VERSION" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sopd-mibs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null) || {
	echo "mibs.sh: npm pack $PKG@$VERSION failed" >&2
	exit 1
}
tgz="$tmp/$PKG-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
	echo "mibs.sh: $tgz: checksum mismatch ($got)" >&2
	exit 1
fi
mkdir -p "$tmp/x" "$DEST"
tar -xzf "$tgz" -C "$tmp/x" --wildcards 'package/lib/mibs/*'
cp "$tmp"/x/package/lib/mibs/* "$DEST"/
have_all || { echo "mibs.sh: $PKG@$VERSION lacks a base MIB" >&2; exit 1; }
echo "mibs.sh: IETF base MIBs from $PKG@$VERSION in $DEST"
