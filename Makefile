# sopd: syslog/SNMP incident appliance.  See README.md.

CC	?= cc
PKGS	 = libevent libevent_openssl relp sqlite3 openssl yaml-0.1 libpcre2-8 libhs jansson \
	   libsystemd libcrypt zlib
DEBS	 = build-essential pkg-config libevent-dev libsnmp-dev libsqlite3-dev \
	   libssl-dev libyaml-dev libpcre2-dev libvectorscan-dev libjansson-dev \
	   libcmocka-dev librelp-dev snmp snmpd snmptrapd sqlite3 bsdutils curl \
	   faketime smitools procps time jq rsyslog rsyslog-relp rsyslog-openssl python3 python3-yaml \
	   chromium libsystemd-dev debhelper lintian fakeroot dpkg-dev libcrypt-dev zlib1g-dev \
	   python3-pysnmp4 rauc squashfs-tools openssl e2fsprogs grub-common clang-format
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

.PHONY: all run test test-clocks bench deps check-deps clean asan fuzz firmware format
.PHONY: install deb image image-test

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
	@[ -d node_modules/puppeteer-core ] || $(MAKE) --no-print-directory deps
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
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance $< $(B)/libsopd.a $(LDFLAGS) $(PKGLIBS) -o $@

$(B)/sopctl: appliance/sopctl.c $(B)/libsopd.a
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance $< $(B)/libsopd.a $(LDFLAGS) $(PKGLIBS) -o $@

$(B)/sopbench: bench/sopbench.c
	$(CC) $(CSTD) $(WARN) $(OPT) $< -o $@ $(shell net-snmp-config --libs 2>/dev/null) -lm

$(B)/bench_match: bench/bench_match.c $(B)/libsopd.a
	$(CC) $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Iappliance $< $(B)/libsopd.a $(PKGLIBS) -o $@

$(A)/sopd: appliance/sopd.c $(A)/libsopd.a
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance $< $(A)/libsopd.a $(PKGLIBS) -o $@

$(A)/sopctl: appliance/sopctl.c $(A)/libsopd.a
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance $< $(A)/libsopd.a $(PKGLIBS) -o $@

# Every unit test is linked with the shared helpers of tests/unit/unit.c.
$(A)/tests/%: tests/unit/%.c tests/unit/unit.c tests/unit/unit.h $(A)/libsopd.a
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKGCFLAGS) -Iappliance -Itests/unit $< tests/unit/unit.c $(A)/libsopd.a $(PKGLIBS) -lcmocka -o $@

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

# Apply .clang-format to every C file (tests/integration/format.sh checks it).
format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

bench: all
	@sh bench/run.sh
	@sh bench/drain.sh

# The heavy fault tests (minutes): a long kill -9 loop, 100 RELP sessions.
.PHONY: soak
soak: all asan
	@sh tests/soak/soak.sh

# Install for a package or a root file system: make install DESTDIR=...
# PREFIX=/usr. The configuration and rules go to $(SYSCONFDIR)/sopd.
PREFIX	?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
SHARE	 = $(DESTDIR)$(PREFIX)/share
INSTALL	?= install
install: $(BINS)
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(SHARE)/sopd/web $(SHARE)/sopd/mibs $(DESTDIR)$(SYSCONFDIR)/sopd/holidays \
	    $(SHARE)/man/man1 $(SHARE)/man/man5 $(SHARE)/man/man8 \
	    $(SHARE)/bash-completion/completions $(SHARE)/doc/sopd \
	    $(DESTDIR)$(SYSCONFDIR)/sopd/rules $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	$(INSTALL) -m 0755 $(B)/sopd $(DESTDIR)$(PREFIX)/sbin/sopd
	$(INSTALL) -m 0755 $(B)/sopctl $(DESTDIR)$(PREFIX)/bin/sopctl
	$(INSTALL) -m 0644 web/* $(SHARE)/sopd/web/
	$(INSTALL) -m 0644 mibs/*.txt $(SHARE)/sopd/mibs/
	$(INSTALL) -m 0644 firmware/holidays/* $(DESTDIR)$(SYSCONFDIR)/sopd/holidays/
	$(INSTALL) -m 0644 rules/*.yaml $(DESTDIR)$(SYSCONFDIR)/sopd/rules/
	$(INSTALL) -m 0644 firmware/sopd.yaml $(DESTDIR)$(SYSCONFDIR)/sopd/sopd.yaml
	$(INSTALL) -m 0644 firmware/site-rules.yaml $(DESTDIR)$(SYSCONFDIR)/sopd/site-rules.yaml
	$(INSTALL) -m 0644 man/sopctl.1 $(SHARE)/man/man1/
	$(INSTALL) -m 0644 man/sopd.yaml.5 man/sopd-rules.5 $(SHARE)/man/man5/
	$(INSTALL) -m 0644 man/sopd.8 $(SHARE)/man/man8/
	$(INSTALL) -m 0644 firmware/sopctl.bash \
	    $(SHARE)/bash-completion/completions/sopctl
	$(INSTALL) -m 0644 README.md $(SHARE)/doc/sopd/README.md
	$(INSTALL) -m 0644 rules/README.md $(SHARE)/doc/sopd/rules.md
	$(INSTALL) -m 0644 firmware/sopd.service $(DESTDIR)$(UNITDIR)/sopd.service
	$(INSTALL) -m 0644 firmware/sopd.sysusers \
	    $(DESTDIR)$(PREFIX)/lib/sysusers.d/sopd.conf
	$(INSTALL) -m 0644 firmware/sopd.tmpfiles \
	    $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/sopd.conf

# The Debian package, built by dpkg-buildpackage (debian/, debhelper) in a
# copy of the sources under build/deb; the .deb is copied into build/.
VERSION	 = $(shell sed -n 's/^\#define SOPD_VERSION[^"]*"\(.*\)"/\1/p' appliance/version.h)
DEBARCH	 = $(shell dpkg --print-architecture 2>/dev/null)
DEBSRC	 = Makefile README.md appliance debian firmware man mibs rules web
DEB	 = $(B)/sopd_$(VERSION)_$(DEBARCH).deb
deb: $(DEB)
$(DEB): $(shell find $(DEBSRC) -type f 2>/dev/null)
	rm -rf $(B)/deb && mkdir -p $(B)/deb/sopd-$(VERSION)
	tar cf - $(DEBSRC) | tar xf - -C $(B)/deb/sopd-$(VERSION)
	cd $(B)/deb/sopd-$(VERSION) && dpkg-buildpackage -us -uc -b
	cp $(B)/deb/sopd_$(VERSION)_$(DEBARCH).deb $@

clean:
	rm -rf build

# The appliance (firmware/image/build.sh): a Debian 12 root file system made
# by mmdebstrap with sopd's package, and a disk image with two root slots
# (A/B) and a data partition; minutes, root, Debian's mirror. Not part of
# `make test`: `make image-test` boots it under QEMU (and, after `make
# firmware`, updates it from slot A to B).
IMGDEBS	 = mmdebstrap fdisk dosfstools mtools grub-efi-amd64-bin \
	   qemu-system-x86 qemu-utils ovmf
IMG	 = $(B)/image
FIRMWARE_VERSION ?= $(VERSION)+$(shell date -u +%Y%m%d%H%M%S)
# RAUC's signing key and certificate, and the keyring the image trusts:
# by default a development CA and key made by OpenSSL in build/rauc
# (firmware/image/devkey.sh). For production pass your own, e.g.
# RAUC_KEY=/secure/fw.key RAUC_CERT=/secure/fw.pem RAUC_KEYRING=/secure/ca.pem
RAUC_DIR = $(B)/rauc
RAUC_KEY ?= $(RAUC_DIR)/dev.key
RAUC_CERT ?= $(RAUC_DIR)/dev.pem
RAUC_KEYRING ?= $(RAUC_DIR)/dev-ca.pem
# (devkey.sh keeps a key it made before; a PKCS#11 URI is no file for make.)
DEVKEY	 = sh firmware/image/devkey.sh $(RAUC_DIR)
image: $(DEB)
	@sh tests/deps.sh --check $(IMGDEBS) || sh tests/deps.sh $(IMGDEBS)
	@[ '$(RAUC_KEYRING)' != '$(RAUC_DIR)/dev-ca.pem' ] || $(DEVKEY)
	FIRMWARE_VERSION='$(FIRMWARE_VERSION)' RAUC_CERT='$(RAUC_KEYRING)' \
	    IMAGE_NMS='$(IMAGE_NMS)' sh firmware/image/build.sh $(IMG) $(abspath $(DEB))
# The NMS allowed SNMP with community public in the image: QEMU's host in
# user networking, for `make image-test`; set your NMS's address.
IMAGE_NMS ?= 10.0.2.2
image-test:
	@sh tests/deps.sh --check $(IMGDEBS) || sh tests/deps.sh $(IMGDEBS)
	@sh tests/image/boot.sh $(IMG)

# A RAUC bundle of the image's root file system (make image first), signed
# with RAUC_KEY and RAUC_CERT: build/sopd-firmware-VERSION.raucb.
firmware:
	@[ -s $(IMG)/rootfs.ext4 ] || { echo "make image first" >&2; exit 1; }
	@[ '$(RAUC_KEY)' != '$(RAUC_DIR)/dev.key' ] || $(DEVKEY)
	sh firmware/image/bundle.sh $(IMG)/rootfs.ext4 '$(FIRMWARE_VERSION)' \
	    '$(RAUC_KEY)' '$(RAUC_CERT)' '$(RAUC_KEYRING)' \
	    $(B)/sopd-firmware-$(FIRMWARE_VERSION).raucb
