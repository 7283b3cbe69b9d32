# browser.sh: what the console tests (web.sh, web2.sh) share, sourced after
# lib.sh: headless Debian chromium driven by puppeteer-core from
# `make deps`, kept offline, and a place for screenshots.

# browser_env NAME: fail the script unless chromium, node, puppeteer-core and
# axe-core are installed; set CHROMIUM, CHROME_FLAGS and SHOTS, and remove
# the screenshots NAME-*.png of an earlier run.
browser_env() {
	CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
	if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null ||
	    [ ! -d "$ROOT/node_modules/puppeteer-core" ] ||
	    [ ! -f "$ROOT/node_modules/axe-core/axe.min.js" ]; then
		notok "chromium, node, puppeteer-core and axe-core are installed (make deps)"
		exit 1
	fi
	# Flags that keep Chromium offline, quiet and away from the user's
	# profile (one a line: the resolver rule holds spaces); it can resolve
	# no name at all.
	CHROME_FLAGS="--no-sandbox
--disable-gpu
--disable-quic
--no-first-run
--disable-background-networking
--disable-component-update
--disable-sync
--disable-extensions
--disable-default-apps
--no-default-browser-check
--no-proxy-server
--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1
--user-data-dir=$T/chrome"
	SHOTS=$ROOT/build/test-logs
	mkdir -p "$SHOTS"
	rm -f "$SHOTS/$1"-*.png
}

# raw HOST TAG PRI MESSAGE: one RFC 3164 line over UDP from a named host.
raw() {
	printf '<%s>%s %s %s: %s' "$3" "$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2" "$4" \
	    >/dev/udp/127.0.0.1/"$P_SYSLOG"
}
# tapi PATH, tjq PATH FILTER: the API with the bearer token $TOKEN.
tapi() { curl -sf -H "Authorization: Bearer $TOKEN" "$API$1"; }
tjq() { tapi "$1" | jq -e "$2" >/dev/null 2>&1; }
