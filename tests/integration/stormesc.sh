#!/bin/bash
# stormesc.sh: an escalation deadline that falls due in the middle of an
# incident storm over UDP syslog fires on time, its notice reaches the exec
# hook and the webhook, the step is stored, and none of the storm's
# incidents is lost (README: deadlines fire in bounded turns between the
# UDP turns and the commits).
#
# sopd (the sanitizer build) runs on libfaketime's accelerated clock
# (x$RATE: the critical's L3 step, one simulated hour after it opened,
# comes about 5 real seconds after). A batching sender sends $N distinct
# lines, each opening its own (low, so step-less) incident, in batches of
# $B every $P s of real time, starting 1 s before the step is due, so the
# storm goes on for about 4 real seconds (48 simulated minutes) after it.
# The clock's speed applies to sopd's monotonic clock too: its 5 ms turns
# are 7 real µs here (finer turns than on a real clock), and the loop's
# stalls in /api/v1/stats are in simulated ms. (escalation.sh runs
# build/sopd, having seen ASan hang under an accelerated libfaketime; the
# sanitizer build has started here at every run so far: if it hangs,
# start_sopd fails after 10 s.)
. "$(dirname "$0")/../lib.sh"

N=${N:-20000}
B=${B:-1000}
P=0.25
RATE=720
# Lateness the clock rate leaves room for: one real second (720 simulated
# seconds) for sopd to wait for a CPU on a loaded machine and for the turns
# (5 ms each: a UDP read turn, a commit) ahead of the deadline's. A step
# held until the storm was worked off would be late by 48 minutes or more.
TOL=$RATE

# The sanitizer build on the accelerated clock, started at $FT (UTC).
cat > "$T/sopd-ft" <<EOF
#!/bin/sh
ASAN_OPTIONS="\$ASAN_OPTIONS:verify_asan_link_order=0" \\
exec env TZ=UTC LD_PRELOAD=$FAKETIME_LIB FAKETIME="\$FT x$RATE" "$SOPD" "\$@"
EOF
chmod +x "$T/sopd-ft"
SOPD=$T/sopd-ft
export FT

mkdir -p "$T/rules"
cat > "$T/rules/storm.yaml" <<'EOR'
rules:
  - name: t-crit
    match:
      message: 'TCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
  - name: storm-open
    match:
      program: stormapp
      message: 'ticket id=(?<id>\d+) opened'
    severity: low
    title: 'storm ticket {id}'
    key: '{rule}:{id}'
EOR
# The exec hook: every SOPD_ variable, one notice per file.
cat > "$T/page.sh" <<EOF
#!/bin/sh
env | grep '^SOPD_' | sort > "$T/page.\$SOPD_IDEMPOTENCY_KEY"
EOF
chmod +x "$T/page.sh"
P_HOOK=$P_SPARE
start_webhook "$P_HOOK" "$T/hook.out"
trap 'kill $HOOK_PID 2>/dev/null; cleanup' EXIT
RULES=$T/rules write_config <<EOF
incidents:
  max_open: 50000
  max_open_per_rule: 50000
notify:
  targets:
    pager:  { type: exec, command: $T/page.sh, timeout: 1h }
    client: { type: webhook, url: "http://127.0.0.1:$P_HOOK/hook", timeout: 10m }
  levels:
    L2: [pager]
    L3: [pager]
    client: [client]
EOF

field() { api_get "/api/v1/incidents/$1" | jq -r "$2"; }
storm_total() { api_get "/api/v1/incidents?rule=storm-open&limit=1" | jq -r .total; }
now_real() { date +%s.%N; }

FT="@2026-11-24 00:00:00"	# Tuesday 09:00 JST
ft0=$(TZ=UTC date -d "${FT#@}" +%s)
r0=$(now_real)
start_sopd || { notok "sopd starts on the accelerated clock"; exit 1; }
ok "sopd starts on the accelerated clock"
printf '<10>Nov 24 09:00:00 db1 app: TCRIT disk' > /dev/udp/127.0.0.1/"$P_SYSLOG"
check "the critical incident opens" wait_for api_jq \
    "/api/v1/incidents?rule=t-crit" '.total == 1'
C=$(api_get "/api/v1/incidents?rule=t-crit&limit=1" | jq -r '.incidents[0].id')
due=$(field "$C" '.next_escalation | fromdateiso8601')
first=$(field "$C" '.first_seen | fromdateiso8601')
check "its L3 step is due one hour after it opened" \
    [ "$((due - first))" = 3600 -a "$(field "$C" .next_level)" = L3 ]

# The storm starts 1 real second before the step is due (by sopd's clock,
# which started at $FT when sopd did, a few ms after r0).
start=$(awk -v r0="$r0" -v d="$((due - ft0))" -v k=$RATE \
    'BEGIN { printf "%.3f", r0 + d / k - 1 }')
wait_s=$(awk -v s="$start" -v n="$(now_real)" 'BEGIN { w = s - n; if (w < 0) w = 0; printf "%.3f", w }')
echo "# the storm starts in ${wait_s} s"
sleep "$wait_s"
python3 - "$P_SYSLOG" "$N" "$B" "$P" <<'EOP'
import socket, sys, time
port, n, b, p = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(0, n, b):
	for j in range(i, min(i + b, n)):
		s.sendto(b"<13>Nov 24 09:00:00 h1 stormapp: ticket id=%d opened" % j,
		    ("127.0.0.1", port))
	left = t0 + (i // b + 1) * p - time.monotonic()
	if left > 0:
		time.sleep(left)
EOP
echo "# the storm was sent ($N lines, $(awk -v s="$start" -v n="$(now_real)" 'BEGIN { printf "%.1f", n - s }') s)"

all_open() { [ "$(storm_total)" = "$N" ]; }
# After the storm every request is retried for a while: a commit of the
# storm's incidents can outlast evhttp's timeouts, which the accelerated
# clock shortens (see api_get in lib.sh).
wait_long 60 all_open || echo "# storm incidents open: $(storm_total)"
check "all $N storm incidents open (API)" wait_long 10 all_open
get_stats() { st=$(api_get /api/v1/stats) && [ -n "$st" ]; }
wait_long 10 get_stats
# (Under libfaketime the monotonic clock runs x$RATE too: the stalls are in
# simulated ms.)
echo "# loop: $(printf '%s' "$st" | jq -c .loop)"
check "every datagram received, none dropped by the kernel" \
    sh -c "printf '%s' '$st' | jq -e '.inputs.syslog_udp.received == $N + 1 and
        .inputs.syslog_udp.kernel_drops == 0' >/dev/null"
check "stats: the loop's stall per kind of work, deadline included" \
    sh -c "printf '%s' '$st' | jq -e '.loop.stall_ms | keys ==
        [\"checkpoint\",\"commit\",\"deadline\",\"integrity\",\"udp\"] and
        all(.[]; type == \"number\" and . >= 0)' >/dev/null"

check "the critical reached L3" wait_long 10 api_jq "/api/v1/incidents/$C" \
    '.level == "L3" and .next_escalation == null'
# esc_at: when the history says the L3 step fired (Unix time).
get_esc() {
	esc_at=$(field "$C" '[.history[] | select(.action == "escalate")][0].at //
	    empty | fromdateiso8601') && [ -n "$esc_at" ]
}
wait_long 10 get_esc
late=none
[ -n "$esc_at" ] && late=$((esc_at - due))
echo "# escalated ${late} simulated s after the due time (tolerance $TOL)"
on_time() { [ -n "$esc_at" ] && [ "$late" -ge 0 ] && [ "$late" -le "$TOL" ]; }
on_time || field "$C" .history | sed 's/^/# /'
check "escalated at its due time, not before, at most ${TOL} s (1 real s) late" on_time
check "the exec hook ran for the L3 step" wait_long 10 sh -c \
    "grep -l '^SOPD_LEVEL=L3\$' '$T'/page.$C-* | xargs grep -q '^SOPD_INCIDENT_ID=$C\$'"
check "the webhook got the escalation notice" wait_long 10 \
    grep -q "^{\"idempotency_key\":\"$C-escalated-1\".*\"level\":\"L3\"" "$T/hook.out"
check "sopd stops cleanly after the storm" stop_sopd

db() { sqlite3 "$T/var/sopd.db" "$1"; }
check "all $N storm incidents are in sopd.db" \
    [ "$(db "SELECT COUNT(*) FROM incidents WHERE rule = 'storm-open'")" = "$N" ]
check "the step is stored as fired, once, at the time the history says" \
    [ "$(db "SELECT COUNT(*) || ':' || MAX(fired_at) FROM escalation
        WHERE incident_id = $C AND step = 1 AND fired_at IS NOT NULL")" = "1:$esc_at" ]
# The step fell due while the storm's incidents were opening: some opened
# before it fired, some after.
span=$(db "SELECT MIN(first_seen) || ' ' || MAX(first_seen) FROM incidents
    WHERE rule = 'storm-open'")
echo "# storm incidents opened from +$(( ${span% *} - first )) to +$(( ${span#* } - first )) simulated s, the step fired at +$(( ${esc_at:-$first} - first ))"
inside() { [ -n "$esc_at" ] && [ "${span% *}" -lt "$esc_at" ] && [ "${span#* }" -gt "$esc_at" ]; }
check "the step fired inside the storm" inside

FT="@2026-11-24 03:00:00"
start_sopd || { notok "sopd restarts"; exit 1; }
check "after a restart all $N storm incidents are still there" wait_long 30 all_open
check "after a restart the critical is at L3, escalated once" wait_long 10 api_jq \
    "/api/v1/incidents/$C" '.level == "L3" and
     ([.history[] | select(.action == "escalate")] | length) == 1'
check "sopd stops cleanly at the end" stop_sopd
