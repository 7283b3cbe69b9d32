#!/bin/sh
# clocks.sh: the whole suite (tests/run.sh) on the clocks that break tests
# which depend on today's date, hour or zone. libfaketime is preloaded into
# every process of the run (the scripts, sopd, curl, snmpwalk...) with a fixed
# offset, so they all agree on the simulated time, which then runs at the
# normal speed:
#
#   friday   Friday 2027-01-08 21:30 JST: inside the default patch window
#            (Friday 20:00-24:00 Asia/Tokyo), a one-digit day
#   newyear  2026-12-31 23:59:30 JST: the date, month and year change during
#            the run
#   dst      Sunday 2027-03-14 01:58 in America/New_York, with the machine's
#            TZ set to it: the clocks spring forward two minutes later
#   now      the machine's own clock and zone, no libfaketime
#
# Usage: sh tests/clocks.sh [now|friday|newyear|dst ...] [-- NAME]
# With no clock named, friday, newyear and dst run one after the other; NAME
# runs one test. `make test` runs now and friday. Every line of each run is
# printed with its clock; the last line is "N passed, N failed" over all.
cd "$(dirname "$0")/.." || exit 1
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -r "$FT" ] || { echo "libfaketime is missing (Debian package faketime)"; exit 1; }

clocks=""
only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--) shift; only="$1"; break ;;
	now|friday|newyear|dst) clocks="$clocks $1" ;;
	*) echo "usage: sh tests/clocks.sh [now|friday|newyear|dst ...] [-- NAME]" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$clocks" ] || clocks="friday newyear dst"

pass=0
fail=0
failed=""
for c in $clocks; do
	case "$c" in
	now)     at="" ;;
	friday)  at="2027-01-08 21:30:00 +0900"; zone="" ;;
	newyear) at="2026-12-31 23:59:30 +0900"; zone="" ;;
	dst)     at="2027-03-14 01:58:00 -0500"; zone="America/New_York" ;;
	esac
	out=build/test-logs/clock-$c.out
	mkdir -p build/test-logs
	if [ -z "$at" ]; then
		echo "== clock now: $(date '+%a %F %T %Z')"
		sh tests/run.sh $only 2>&1 | tee "$out" | grep -v ' passed, .* failed$' | sed "s/^/[$c] /"
	else
		off=$(( $(date -d "$at" +%s) - $(date +%s) ))
		[ $off -ge 0 ] && off=+$off
		echo "== clock $c: $(TZ=${zone:-Asia/Tokyo} date -d "$at" '+%a %F %T %Z')${zone:+ (machine TZ $zone)}"
		(
			export LD_PRELOAD=$FT FAKETIME="$off"
			[ -n "$zone" ] && export TZ=$zone
			sh tests/run.sh $only
		) 2>&1 | tee "$out" | grep -v ' passed, .* failed$' | sed "s/^/[$c] /"
	fi
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out")
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out")
	[ -n "$p" ] || { p=0; f=1; }
	echo "== clock $c: $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
	[ "$f" = 0 ] || failed="$failed $c"
done
# A recap of every failure (and of every test that passed only when run
# again), last, so that a log cut to its tail still says
# what failed and why.
for c in $clocks; do
	grep -qE '^(FAIL|FLAKY) ' build/test-logs/clock-$c.out || continue
	echo "== failures on clock $c:"
	grep -E '^(FAIL |FLAKY |not ok |failed:|flaky )' build/test-logs/clock-$c.out | head -60 | sed "s/^/[$c] /"
done
[ -n "$failed" ] && echo "failed clocks:$failed"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
