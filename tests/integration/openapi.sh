#!/bin/sh
# openapi.sh: docs/openapi.yaml, the HTTP API's contract, against the real
# sopd: every route documented, every documented operation answering its
# documented status and required properties (tests/openapi_check.py).
. "$(dirname "$0")/../lib.sh"

if ! python3 -c 'import yaml' 2>/dev/null; then
	notok "python3 with PyYAML is installed (Debian package python3-yaml)"
	exit 1
fi
write_config <<EOF2
windows: {patch: []}
poll:
  hosts: [{name: web-1, address: "127.0.0.1:$P_SPARE", community: public}]
EOF2
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"
# Incident 1, the document's example id.
logger -n 127.0.0.1 -P "$P_SYSLOG" -d --rfc3164 -t kernel -p kern.crit \
    "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
check "incident 1 opens" wait_for sh -c "curl -sf '$API/api/v1/incidents/1' >/dev/null"
# Stored report 1, the document's example id.
check "a job run on demand stores report 1" sh -c \
    "curl -sf -X POST -H 'Content-Type: application/json' -d '{}' \
    '$API/api/v1/schedule/server-check/run' >/dev/null &&
    curl -sf '$API/api/v1/reports/stored/1' >/dev/null"
python3 "$ROOT/tests/openapi_check.py" "$ROOT/docs/openapi.yaml" \
    "$ROOT/appliance/http.c" "$API"
check "sopd still alive" alive
check "sopd stops cleanly" stop_sopd
