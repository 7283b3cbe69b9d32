#!/bin/sh
# deps.sh: install (or with --check, only look for) the Debian packages sopd needs.
check=0
if [ "$1" = "--check" ]; then check=1; shift; fi
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then exit 0; fi
if [ $check = 1 ]; then exit 1; fi
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || exit 1
$SUDO apt-get install -y -q --no-install-recommends $missing || exit 1
