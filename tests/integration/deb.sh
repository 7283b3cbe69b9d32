#!/bin/bash
# deb.sh: `make deb` builds the Debian package with debhelper; lintian finds
# no error in it; extracted into a scratch root it has the conffiles, the
# user, the state directory and the enabled unit, and its sopd accepts the
# shipped configuration with `sopd -t`.
. "$(dirname "$0")/../lib.sh"

for tool in dpkg-buildpackage dh lintian fakeroot; do
	if ! command -v $tool >/dev/null; then
		echo "ok # skip $tool is not installed (make deps installs it)"
		exit 0
	fi
done
VERSION=$(sed -n 's/^#define SOPD_VERSION[^"]*"\(.*\)"/\1/p' "$ROOT/appliance/version.h")
ARCH=$(dpkg --print-architecture)
DEB="$ROOT/build/sopd_${VERSION}_$ARCH.deb"

check "debian/changelog has sopd's version $VERSION" \
    [ "$(cd "$ROOT" && dpkg-parsechangelog -S Version)" = "$VERSION" ]
# make's dependencies rebuild the package only when a source changed.
make -C "$ROOT" --no-print-directory deb > "$T/build.log" 2>&1
rc=$?
[ $rc = 0 ] || tail -30 "$T/build.log" | sed 's/^/# /'
check "make deb builds sopd_${VERSION}_$ARCH.deb" [ $rc = 0 -a -s "$DEB" ]
[ -s "$DEB" ] || exit 1

lintian --fail-on error "$DEB" > "$T/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$T/lintian.log"
check "lintian reports no error" [ $rc = 0 ]
check "debian/copyright is machine-readable" \
    grep -q "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" \
    "$ROOT/debian/copyright"

R="$T/root"
mkdir -p "$R"
dpkg-deb -x "$DEB" "$R"
dpkg-deb -e "$DEB" "$T/control"
for f in /etc/sopd/sopd.yaml /etc/sopd/rules/99-catchall.yaml; do
	check "$f is a conffile" grep -qx "$f" "$T/control/conffiles"
done
for f in usr/sbin/sopd usr/bin/sopctl usr/share/sopd/web/index.html \
    usr/share/sopd/mibs/SOP-APPLIANCE-MIB.txt lib/systemd/system/sopd.service \
    usr/lib/sysusers.d/sopd.conf usr/lib/tmpfiles.d/sopd.conf \
    usr/share/man/man8/sopd.8.gz usr/share/man/man1/sopctl.1.gz \
    usr/share/man/man5/sopd.yaml.5.gz usr/share/man/man5/sopd-rules.5.gz \
    usr/share/bash-completion/completions/sopctl usr/share/doc/sopd/copyright; do
	check "the package ships /$f" [ -e "$R/$f" ]
done
check "the postinst creates the user (systemd-sysusers)" \
    grep -q "systemd-sysusers.*sopd.conf" "$T/control/postinst"
check "the postinst creates the state directory (systemd-tmpfiles)" \
    grep -q "systemd-tmpfiles.*--create sopd.conf" "$T/control/postinst"
check "the postinst enables the unit" \
    grep -q "deb-systemd-helper enable 'sopd.service'" "$T/control/postinst"
check "the unit is wanted by multi-user.target" \
    grep -qx "WantedBy=multi-user.target" "$R/lib/systemd/system/sopd.service"

# What the postinst does, in the scratch root.
if command -v systemd-sysusers >/dev/null; then
	systemd-sysusers --root="$R" sopd.conf 2>&1 | sed 's/^/# /'
	systemd-tmpfiles --root="$R" --create sopd.conf 2>&1 | sed 's/^/# /'
	check "the system user sopd exists in the root" \
	    grep -q "^sopd:x:[0-9]*:[0-9]*:.*:/var/lib/sopd:/usr/sbin/nologin$" "$R/etc/passwd"
	check "/var/lib/sopd belongs to sopd, mode 0750" \
	    [ "$(stat -c '%a %u' "$R/var/lib/sopd" 2>/dev/null)" = \
	      "750 $(awk -F: '$1 == "sopd" { print $3 }' "$R/etc/passwd")" ]
else
	echo "ok # skip systemd-sysusers is not installed"
fi

# The package's sopd on the shipped configuration as it is: its absolute
# paths (/etc/sopd, /usr/share/sopd) and the user database are those of the
# scratch root in a private mount namespace; without one the paths are
# rewritten and the user (unknown to this machine) left out.
run_check() {
	if [ "$(id -u)" = 0 ] && [ -s "$R/etc/passwd" ] && unshare -m true 2>/dev/null; then
		unshare -m sh -c "mkdir -p /etc/sopd /usr/share/sopd &&
		    mount --bind '$R/etc/sopd' /etc/sopd &&
		    mount --bind '$R/usr/share/sopd' /usr/share/sopd &&
		    mount --bind '$R/etc/passwd' /etc/passwd &&
		    mount --bind '$R/etc/group' /etc/group &&
		    '$R/usr/sbin/sopd' -t" 2>&1
	else
		sed "s|/etc/sopd|$R/etc/sopd|g; s|/usr/share/sopd|$R/usr/share/sopd|g;
		    /^user:/d; /^group:/d" "$R/etc/sopd/sopd.yaml" > "$T/sopd.yaml"
		"$R/usr/sbin/sopd" -t -c "$T/sopd.yaml" 2>&1
	fi
}
out=$(run_check); rc=$?
echo "$out" | sed 's/^/# /'
check "the package's sopd -t accepts the shipped configuration" \
    [ $rc = 0 ] && grep -q "configuration OK ([1-9][0-9]* rules)" <<<"$out"
check "the package's sopd prints its version" \
    [ "$("$R/usr/sbin/sopd" --version)" = "sopd $VERSION" ]
check "the package's sopctl prints its version" \
    [ "$("$R/usr/bin/sopctl" --version)" = "sopctl $VERSION" ]
complete_sopctl() {
	bash -c ". '$R/usr/share/bash-completion/completions/sopctl'
	    COMP_WORDS=($*); COMP_CWORD=$(($# - 1)); _sopctl; echo \${COMPREPLY[*]}"
}
check "bash completes sopctl's commands" [ "$(complete_sopctl sopctl ba)" = backup ]
check "bash completes a command's words" [ "$(complete_sopctl sopctl -u http://x report w)" = weekly ]
check "the package's sopctl knows backup" \
    bash -c "'$R/usr/bin/sopctl' --help | grep -q '^  backup FILE'"
