# cross/ — cross builds, target tests under qemu, packaging checks.
#
#   make ARCH=arm64|armhf [SYSROOT=dir] [O=...]   cross build (Debian toolchains)
#   make check-cross ARCH=arm64|armhf             unit tests under qemu-user
#   make size-report                              stripped sizes per architecture
#   make [ARCH=arm64] HEADUNIT=y                   the head-unit build (cross/README.md)
#   make headunit                                  ... built and measured in qemu guests

# time_t/off_t past 2038 on every target (armhf above all).
tests-y += test_time64
test_time64-objs := tests/unit/test_time64.o

# The harness alone (a frame through vcan0 in each guest): what
# cross_vm_system also proves, so it runs in make check-slow.
slow-itests-y += tests/integration/cross_vm_smoke.sh
itests-y += tests/integration/cross_vm_system.sh
itests-y += tests/integration/cross_units.sh
itests-y += tests/integration/cross_sysroot.sh
itests-y += tests/integration/install_layout.sh
itests-y += tests/integration/cross_recipes_lint.sh
itests-y += tests/integration/cross_headunit.sh

# ---- unit tests on the target architecture, under qemu-user ------------------
# The interpreter and libc come from the cross libc (-L /usr/<triplet>, as
# Debian's qemu-user documents) or from SYSROOT; the other libraries from
# the multiarch root /usr/lib/<triplet> (or SYSROOT's), via LD_LIBRARY_PATH,
# which the guest's ld.so reads and the static qemu ignores.
# ECO2_QEMU_USER tells a test it runs emulated: qemu-user does not emulate
# seccomp filters, so a test of the syscall allowlist should skip then.
ifeq ($(ARCH),arm64)
  QEMU_USER ?= qemu-aarch64-static
  cross-triplet-run := aarch64-linux-gnu
else ifeq ($(ARCH),armhf)
  QEMU_USER ?= qemu-arm-static
  cross-triplet-run := arm-linux-gnueabihf
else
  QEMU_USER ?=
  cross-triplet-run := x86_64-linux-gnu
endif
ifneq ($(SYSROOT),)
  QEMU_LD_PREFIX ?= $(abspath $(SYSROOT))
  cross-ld-path := $(QEMU_LD_PREFIX)/lib/$(cross-triplet-run):$(QEMU_LD_PREFIX)/usr/lib/$(cross-triplet-run)
else
  QEMU_LD_PREFIX ?= /usr/$(cross-triplet-run)
  cross-ld-path := /usr/$(cross-triplet-run)/lib:/usr/lib/$(cross-triplet-run):/lib/$(cross-triplet-run)
endif
cross-run := env ECO2_QEMU_USER=$(QEMU_USER) QEMU_LD_PREFIX=$(QEMU_LD_PREFIX) LD_LIBRARY_PATH=$(cross-ld-path) $(QEMU_USER)

.PHONY: check-cross cross-test-list
# Builds what it can (-k: one module's broken test must not hide the
# others'); a test program that failed to build is listed and fails.
check-cross:
	@if [ -z "$(QEMU_USER)" ]; then echo "check-cross: ARCH=arm64 or ARCH=armhf" >&2; exit 2; fi
	@command -v $(QEMU_USER) >/dev/null || { echo "check-cross: $(QEMU_USER) not installed (qemu-user-static)" >&2; exit 2; }
	-$(Q)$(MAKE) --no-print-directory -k $(test-bins)
	$(Q)$(MAKE) --no-print-directory cross-test-list
	@bash -c 'TIMEFORMAT="%R %U %S"; { time tests/run-tests.sh $(O)/tests/cross-list \
		$(O)/cross-logs 2>&1; } 2>$(O)/cross-time; rc=$$?; \
		read -r r u s <$(O)/cross-time; \
		awk -v r=$$r -v u=$$u -v s=$$s "BEGIN { printf \"check-cross: $(ARCH) unit suite under $(QEMU_USER): %.1f s wall, %.1f s CPU\\n\", r, u + s }"; \
		exit $$rc'

# One line per unit test: unit <TAB> name <TAB> command (as test-list).
cross-test-list:
	@mkdir -p $(O)/tests
	@for t in $(tests-y); do \
		printf 'unit\t%s\t%s %s\n' $$t '$(cross-run)' $(objtree)/tests/$$t; \
	done > $(O)/tests/cross-list

# What `make install` puts into sbin and bin (tests/integration/install_layout.sh).
.PHONY: print-install-progs
print-install-progs:
	@echo "sbin: $(sbin-progs-y)"
	@echo "bin: $(bin-progs-y)"

# Stripped program sizes on x86_64, aarch64 and armhf (a table).
.PHONY: size-report
size-report:
	$(Q)cross/size-report.sh

# The head-unit builds of x86_64 and arm64, measured in qemu guests of
# 256 MiB (also part of make bench; tests/bench/bench_headunit.sh).
.PHONY: headunit
headunit:
	$(Q)bash tests/bench/bench_headunit.sh

# ---- head-unit build: make [ARCH=arm64] HEADUNIT=y [HEADUNIT_TLS=openssl] ----
# (the Makefile's head-unit block picks headunit_defconfig, O= and SYSROOT=).
# libcurl, SQLite and mbedTLS come from Debian's source packages, built by
# cross/headunit/build-{mbedtls,sqlite,curl}.sh into $(O)/headunit/prefix
# with what eco2-agent uses only, and are linked statically: libcurl with
# that mbedTLS or with OpenSSL's libssl and libcrypto (HEADUNIT_TLS). They
# are built before anything is compiled (the configuration header waits
# for them), and every mbedTLS header comes from that build.
ifeq ($(HEADUNIT),y)
hu-prefix := $(objtree)/headunit/prefix
hu-curl := $(hu-prefix)/lib/libcurl.a
hu-sqlite := $(hu-prefix)/lib/libsqlite3.a
hu-mbedtls := $(hu-prefix)/lib/libmbedtls.a $(hu-prefix)/lib/libmbedx509.a $(hu-prefix)/lib/libmbedcrypto.a
$(hu-curl): cross/headunit/build-curl.sh cross/headunit/debsrc.sh cross/headunit/target.sh | $(hu-mbedtls)
	$(Q)cross/headunit/build-curl.sh $(ARCH) $(HEADUNIT_TLS) $(HEADUNIT_CACHE) $(objtree)/headunit $(SYSROOT)
	@touch $@
$(hu-sqlite): cross/headunit/build-sqlite.sh cross/headunit/debsrc.sh cross/headunit/target.sh
	$(Q)cross/headunit/build-sqlite.sh $(ARCH) $(HEADUNIT_CACHE) $(objtree)/headunit $(SYSROOT)
	@touch $@
$(hu-mbedtls) &: cross/headunit/build-mbedtls.sh cross/headunit/debsrc.sh cross/headunit/target.sh
	$(Q)cross/headunit/build-mbedtls.sh $(ARCH) $(HEADUNIT_CACHE) $(objtree)/headunit $(SYSROOT)
	@touch $(hu-mbedtls)
$(autoconf): | $(hu-curl) $(hu-sqlite) $(hu-mbedtls)
hu-tls-libs-mbedtls :=
hu-tls-libs-openssl := -lssl -lcrypto
PKG_CFLAGS := -I$(hu-prefix)/include $(PKG_CFLAGS)
# libsodium, inih and libseccomp are linked from Debian's static archives:
# only the code called is loaded, in the program's own pages, with no
# relocations of its own. glibc stays shared, libm with it (its static
# archive's ifunc resolvers need ld.so's internals), and so does OpenSSL
# (its pkcs11 engine is a plug-in that loads the shared libcrypto: two
# copies in one process would disagree).
hu-static := sodium inih seccomp
hu-lib = $(if $(filter -lsqlite3,$(1)),$(hu-sqlite),$(if $(filter -lmbedtls -lmbedx509 -lmbedcrypto,$(1)),$(hu-prefix)/lib/lib$(patsubst -l%,%,$(1)).a,$(if $(filter $(patsubst -l%,%,$(1)),$(hu-static)),-l:lib$(patsubst -l%,%,$(1)).a,$(1))))
LIBS := $(hu-curl) $(hu-tls-libs-$(HEADUNIT_TLS)) $(foreach l,$(filter-out -lcurl,$(LIBS)),$(call hu-lib,$(l)))
.PHONY: headunit-libs
headunit-libs: $(hu-curl) $(hu-sqlite) $(hu-mbedtls)
endif
