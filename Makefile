# sopd: syslog/SNMP incident appliance.  See README.md.

CC	?= cc
PKGS	 = libevent libevent_openssl relp sqlite3 openssl yaml-0.1 libpcre2-8 libhs jansson \
	   libcrypt zlib
DEBS	 = build-essential pkg-config libevent-dev libsnmp-dev libsqlite3-dev \
	   libssl-dev libyaml-dev libpcre2-dev libvectorscan-dev libjansson-dev \
	   libcmocka-dev librelp-dev snmp snmpd snmptrapd sqlite3 bsdutils curl \
	   faketime smitools procps jq rsyslog rsyslog-relp rsyslog-openssl python3 python3-yaml \
	   chromium libcrypt-dev zlib1g-dev
WARN	 = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	   -Wno-unused-parameter
CSTD	 = -std=c11 -D_GNU_SOURCE
PKGCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) \
	   $(shell net-snmp-config --agent-libs 2>/dev/null) -lm
OPT	?= -O2 -g
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined

LIBSRC	 = $(filter-out appliance/sopd.c appliance/sopctl.c, \
	   $(wildcard appliance/*.c))
TESTSRC	 = $(wildcard tests/unit/test_*.c)

B	 = build
A	 = build/asan

LIBOBJ	 = $(LIBSRC:appliance/%.c=$(B)/obj/%.o)
ALIBOBJ	 = $(LIBSRC:appliance/%.c=$(A)/obj/%.o)
UNITS	 = $(TESTSRC:tests/unit/%.c=$(A)/tests/%)

.PHONY: all run test test-clocks bench deps check-deps clean asan fuzz firmware

MAINS	 = $(wildcard appliance/sopd.c appliance/sopctl.c)
BINS	 = $(MAINS:appliance/%.c=$(B)/%)
ABINS	 = $(MAINS:appliance/%.c=$(A)/%)
BENCH	 = $(if $(wildcard bench/sopbench.c),$(B)/sopbench) \
	   $(if $(wildcard bench/bench_match.c),$(B)/bench_match)

all: check-deps $(BINS) $(BENCH)

# Install the Debian packages the build and tests need (idempotent).
deps:
	@sh tests/deps.sh $(DEBS)
	@command -v npm >/dev/null || sh tests/deps.sh npm
	@npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@sh tests/mibs.sh

check-deps:
	@sh tests/deps.sh --check $(DEBS) || $(MAKE) --no-print-directory deps
	@sh tests/mibs.sh

$(B)/obj/%.o: appliance/%.c appliance/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance -c $< -o $@

$(A)/obj/%.o: appliance/%.c appliance/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance -c $< -o $@

$(B)/libsopd.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $^

$(A)/libsopd.a: $(ALIBOBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/sopd: appliance/sopd.c $(B)/libsopd.a
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance $< $(B)/libsopd.a $(PKGLIBS) -o $@

$(B)/sopctl: appliance/sopctl.c $(B)/libsopd.a
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance $< $(B)/libsopd.a $(PKGLIBS) -o $@

$(B)/sopbench: bench/sopbench.c
	$(CC) $(CSTD) $(WARN) $(OPT) $< -o $@ -lm

$(B)/bench_match: bench/bench_match.c $(B)/libsopd.a
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance $< $(B)/libsopd.a $(PKGLIBS) -o $@

$(A)/sopd: appliance/sopd.c $(A)/libsopd.a
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance $< $(A)/libsopd.a $(PKGLIBS) -o $@

$(A)/sopctl: appliance/sopctl.c $(A)/libsopd.a
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance $< $(A)/libsopd.a $(PKGLIBS) -o $@

$(A)/tests/%: tests/unit/%.c $(A)/libsopd.a
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance $< $(A)/libsopd.a $(PKGLIBS) -lcmocka -o $@

asan: check-deps $(ABINS) $(UNITS) $(BINS)

# Run sopd in the foreground on the development defaults (loopback ports).
run: all
	@mkdir -p var
	./$(B)/sopd -d -c firmware/sopd-dev.yaml

# Every test, on the ASan+UBSan build, on the machine's clock and again on a
# Friday evening in Tokyo (tests/clocks.sh); ends with "N passed, N failed".
test: asan
	@sh tests/clocks.sh now friday

# The suite on every clock of tests/clocks.sh (a Friday evening, New Year's
# Eve, a DST change in New York).
test-clocks: asan
	@sh tests/clocks.sh

bench: all
	@sh bench/run.sh

# The heavy fault tests (minutes): a long kill -9 loop, 100 RELP sessions.
.PHONY: soak
soak: all asan
	@sh tests/soak/soak.sh

clean:
	rm -rf build
