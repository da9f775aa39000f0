# eco2-agent — top-level Makefile (GNU make).
#
#   make [O=DIR] [ARCH=x86_64|arm64|armhf] [CROSS_COMPILE=prefix-] [CC=...]
#        [V=1] [SANITIZE=address,undefined] [WERROR=1]
#
# Each folder owns a Build.mk that registers, module by module, the
# module's object, its unit tests, its fuzz target and its integration
# tests, by adding to:
#   lib-y              objects archived into $(O)/libeco2.a
#   progs-y            the product's programs (plain `make` builds them);
#                      <prog>-objs lists the objects of its main
#   sbin-progs-y       the subset installed into $(PREFIX)/sbin
#   bin-progs-y        the subset installed into $(PREFIX)/bin
#   test-progs-y       test and benchmark drivers (built by make check,
#                      make bench, make demo); <prog>-objs as above
#   tests-y            cmocka unit test programs; <test>-objs as for programs
#   fuzz-y             libFuzzer targets; <fuzz>-srcs lists the target and
#                      the module sources it needs (the ground floor, lib/,
#                      is added to every one)
#   itests-y           integration test scripts (paths relative to the tree)
#   slow-itests-y      integration tests that repeat what make check
#                      already proves, run by make check-slow
# and may use $(CONFIG_...) from the Kconfig .config to pick objects.

MAKEFLAGS += --no-builtin-rules --no-builtin-variables
.SUFFIXES:
.DEFAULT_GOAL := all

srctree := $(CURDIR)

# ---- target architecture --------------------------------------------------
HOSTARCH := $(shell uname -m)
# CROSS_COMPILE alone names the target: take ARCH from the compiler.
ifeq ($(origin ARCH),undefined)
  ifneq ($(CROSS_COMPILE),)
    ARCH := $(firstword $(subst -, ,$(shell $(CROSS_COMPILE)gcc -dumpmachine 2>/dev/null)))
  endif
endif
ARCH ?= $(HOSTARCH)
override ARCH := $(patsubst aarch64,arm64,$(patsubst armv7l,armhf,$(patsubst arm,armhf,$(ARCH))))
ifeq ($(ARCH),arm64)
  DEB_ARCH := arm64
  DEFCONFIG ?= aarch64_defconfig
  ifneq ($(HOSTARCH),aarch64)
    CROSS_COMPILE ?= aarch64-linux-gnu-
  endif
else ifeq ($(ARCH),armhf)
  DEB_ARCH := armhf
  DEFCONFIG ?= armhf_defconfig
  CROSS_COMPILE ?= arm-linux-gnueabihf-
else ifeq ($(ARCH),x86_64)
  DEB_ARCH := amd64
  DEFCONFIG ?= x86_64_defconfig
else
  $(error ARCH=$(ARCH): expected x86_64, arm64 or armhf)
endif

# ---- head-unit build (cross/README.md) -------------------------------------
# HEADUNIT=y: cross/configs/headunit_defconfig, linked against a libcurl
# built from Debian's source package with one TLS back end
# (HEADUNIT_TLS=mbedtls, the default, or openssl; cross/Build.mk), into
# build-headunit-ARCH-TLS/. A cross target builds against a Debian sysroot
# made once by cross/mksysroot.sh (SYSROOT= names another, a vendor SDK's).
ifeq ($(HEADUNIT),y)
  HEADUNIT_TLS ?= mbedtls
  HEADUNIT_CACHE ?= $(CURDIR)/build-headunit-cache
  DEFCONFIG := headunit_defconfig
  O ?= build-headunit-$(ARCH)-$(HEADUNIT_TLS)
  ifneq ($(CROSS_COMPILE),)
    SYSROOT ?= $(HEADUNIT_CACHE)/sysroot-$(DEB_ARCH)
    ifeq ($(SYSROOT),$(HEADUNIT_CACHE)/sysroot-$(DEB_ARCH))
      ifeq ($(wildcard $(SYSROOT)/.eco2-sysroot),)
        $(info   SYSROOT $(SYSROOT) (cross/mksysroot.sh $(DEB_ARCH), once))
        $(shell mkdir -p $(HEADUNIT_CACHE) && cross/mksysroot.sh $(DEB_ARCH) $(SYSROOT) libssl-dev \
          >$(SYSROOT).log 2>&1 && touch $(SYSROOT)/.eco2-sysroot)
      endif
    endif
  endif
endif

ifneq ($(SANITIZE),)
  O ?= build-san
else ifneq ($(CROSS_COMPILE),)
  O ?= build-$(ARCH)
else
  O ?= build
endif
override O := $(patsubst %/,%,$(O))
objtree := $(abspath $(O))

# ---- tools ---------------------------------------------------------------
CC      := $(CROSS_COMPILE)gcc
AR      := $(CROSS_COMPILE)ar
STRIP   := $(CROSS_COMPILE)strip
# Debian 12 has no <triplet>-pkg-config for foreign architectures: point
# pkg-config at the target's .pc files (multiarch root or SYSROOT). The
# variables go on the command line because GNU make 4.3 does not pass
# `export`ed variables to $(shell).
ifneq ($(CROSS_COMPILE),)
  TRIPLET ?= $(patsubst %-,%,$(notdir $(CROSS_COMPILE)))
  PKG_CONFIG ?= PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/$(TRIPLET)/pkgconfig:$(SYSROOT)/usr/lib/pkgconfig:$(SYSROOT)/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) pkg-config
else
  PKG_CONFIG ?= $(if $(SYSROOT),PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) )pkg-config
endif
FUZZCC   ?= clang
PYTHON   ?= /usr/bin/python3
INSTALL  ?= install
PREFIX   ?= /usr
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR   ?= $(PREFIX)/share/man

ifeq ($(V),1)
  Q :=
  quiet = @true
else
  Q := @
  quiet = @printf '  %-8s %s\n'
endif

# ---- Kconfig -------------------------------------------------------------
KCONFIG_ENV := KCONFIG_CONFIG=$(objtree)/.config srctree=$(srctree) ARCH=$(ARCH)
KCONFIG     := $(KCONFIG_ENV) $(PYTHON) -m
autoconf    := $(O)/include/generated/autoconf.h
version-h   := $(O)/include/generated/version.h
kconfig-files := Kconfig $(wildcard */Kconfig */*/Kconfig)
config-targets := defconfig %_defconfig menuconfig olddefconfig savedefconfig oldconfig

# Goals that build nothing themselves: make check and make demo install
# what is missing first (deps-check), then build in a sub-make.
no-build-goals := deps deps-check clean distclean help lint-banned lint-layers check check-slow demo
# A first make on a fresh machine stops at once, naming what is missing
# and its package (scripts/preflight.sh), not deep inside a compiler run.
preflight = $(shell PYTHON="$(PYTHON)" PKG_CONFIG="$(PKG_CONFIG)" CC="$(CC)" \
	CFLAGS="$(if $(SYSROOT),--sysroot=$(SYSROOT))" scripts/preflight.sh $(DEB_ARCH) $(1) \
	>/dev/null || echo missing)
ifeq ($(filter $(no-build-goals),$(MAKECMDGOALS)),)
  ifneq ($(call preflight,cmd:$(CC) cmd:pkg-config py:kconfiglib),)
    $(error cannot build for ARCH=$(ARCH): the tools above are missing)
  endif
endif

ifeq ($(filter $(config-targets) $(no-build-goals),$(MAKECMDGOALS)),)
  # Any build goal: make sure a .config exists (the target's defconfig).
  ifeq ($(wildcard $(O)/.config),)
    $(shell mkdir -p $(O) && $(KCONFIG) defconfig --kconfig Kconfig cross/configs/$(DEFCONFIG) >&2)
  endif
  -include $(O)/.config
endif

# ---- flags ---------------------------------------------------------------
WARNINGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wformat=2 -Wundef -Wvla -Wpointer-arith -Wno-missing-field-initializers
ifeq ($(WERROR),1)
  WARNINGS += -Werror
endif
OPT ?= -O2 -g
CPPFLAGS_ALL := -I$(srctree) -I$(O)/include \
                -include $(srctree)/lib/kconfig.h \
                -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARNINGS) -ffunction-sections -fdata-sections \
              -fno-common -MMD -MP
LDFLAGS_ALL := -Wl,--gc-sections -Wl,--as-needed
ifneq ($(SANITIZE),)
  CFLAGS_ALL += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS_ALL += -fsanitize=$(SANITIZE)
endif
ifneq ($(SYSROOT),)
  CFLAGS_ALL  += --sysroot=$(SYSROOT)
  LDFLAGS_ALL += --sysroot=$(SYSROOT)
endif

# Libraries every program may link (--as-needed keeps only what it uses).
PKGS := libcurl sqlite3 libsodium inih
ifeq ($(CONFIG_SIGNER_PKCS11),y)
  PKGS += p11-kit-1
endif
ifeq ($(CONFIG_SECCOMP),y)
  PKGS += libseccomp
endif
# The target's libraries, before a compiler runs: one missing .pc would
# make pkg-config print nothing at all, and a missing header fail deep
# inside the first file that includes it.
ifneq ($(wildcard $(O)/.config),)
  ifeq ($(filter $(config-targets) $(no-build-goals),$(MAKECMDGOALS)),)
    ifneq ($(call preflight,$(addprefix pc:,$(PKGS)) h:stdio.h h:linux/can.h l:mbedcrypto \
                          $(if $(filter y,$(CONFIG_VERIFY_LIBCRYPTO)),pc:libcrypto) \
                          $(if $(filter y,$(CONFIG_LEDGER_SERVER)),pc:libmicrohttpd pc:gnutls) \
                          $(if $(filter y,$(CONFIG_LEDGER_POSTGRES)),pc:libpq)),)
      $(error cannot build for ARCH=$(ARCH): the libraries above are missing)
    endif
  endif
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LIBS := $(PKG_LIBS) -lmbedtls -lmbedx509 -lmbedcrypto -ldl -lm
ifeq ($(CONFIG_VERIFY_LIBCRYPTO),y)
  LIBS += -lcrypto
endif
TEST_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
LEDGER_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)

CFLAGS   ?=
CPPFLAGS ?=
LDFLAGS  ?=
c_flags  = $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS_ALL) $(CFLAGS) $(CFLAGS_$(notdir $(basename $<)))

# ---- what to build -------------------------------------------------------
lib-y :=
floor-y :=
progs-y :=
test-progs-y :=
sbin-progs-y :=
bin-progs-y :=
tests-y :=
fuzz-y :=
itests-y :=
slow-itests-y :=
include $(sort $(wildcard */Build.mk */*/Build.mk))

lib-objs  := $(addprefix $(O)/obj/,$(lib-y))
prog-bins := $(addprefix $(O)/,$(progs-y))
test-prog-bins := $(addprefix $(O)/,$(test-progs-y))
test-bins := $(addprefix $(O)/tests/,$(tests-y))
fuzz-bins := $(addprefix $(O)/fuzz/,$(fuzz-y))
floor-srcs := $(floor-y:.o=.c)
all-objs  := $(lib-objs) $(foreach p,$(progs-y) $(test-progs-y) $(tests-y),$(addprefix $(O)/obj/,$($(p)-objs)))

.PHONY: all
all: $(prog-bins)

$(O)/obj/%.o: %.c $(autoconf) | $(version-h)
	$(quiet) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(c_flags) -c $< -o $@

$(O)/libeco2.a: $(lib-objs)
	$(quiet) AR $@
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

define prog_rule
$(O)/$(1): $(addprefix $(O)/obj/,$($(1)-objs)) $(O)/libeco2.a
	$$(quiet) LD $$@
	$$(Q)$$(CC) $$(LDFLAGS_ALL) $$(LDFLAGS) -o $$@ $$^ $$(LIBS) $($(1)-libs)
endef
$(foreach p,$(progs-y) $(test-progs-y),$(eval $(call prog_rule,$(p))))

define test_rule
$(O)/tests/$(1): $(addprefix $(O)/obj/,$($(1)-objs)) $(O)/libeco2.a
	$$(quiet) LD $$@
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(LDFLAGS_ALL) $$(LDFLAGS) -o $$@ $$^ $$(LIBS) $$(TEST_LIBS) $($(1)-libs)
endef
$(foreach t,$(tests-y),$(eval $(call test_rule,$(t))))

# Fuzz targets are built with clang's libFuzzer from the sources themselves,
# the ground floor's included.
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              $(CPPFLAGS_ALL) $(PKG_CFLAGS)
define fuzz_rule
$(O)/fuzz/$(1): $($(1)-srcs) $(floor-srcs) $(autoconf)
	$$(quiet) FUZZ $$@
	@mkdir -p $$(dir $$@)
	$$(Q)$$(FUZZCC) $$(FUZZ_FLAGS) -o $$@ $($(1)-srcs) $(floor-srcs) $$(LIBS) $($(1)-libs)
endef
$(foreach f,$(fuzz-y),$(eval $(call fuzz_rule,$(f))))

-include $(all-objs:.o=.d)

# ---- the software's identity ---------------------------------------------
# Every record eco2d signs names the software that made it (UNECE R156
# software identification): VERSION, and the commit when built from git
# ("0.1+g1a2b3c4d5e6f", ".dirty" for uncommitted changes). The header is
# rewritten only when that changes, so nothing else rebuilds.
ECO2_VERSION := $(shell cat $(srctree)/VERSION 2>/dev/null)
ECO2_GIT := $(shell git -C $(srctree) describe --always --dirty=.dirty --abbrev=12 --match=NONE 2>/dev/null)
ECO2_BUILD_ID := $(ECO2_VERSION)$(if $(ECO2_GIT),+g$(ECO2_GIT))
.PHONY: FORCE
FORCE:
$(version-h): FORCE
	@mkdir -p $(dir $@)
	@printf '#define ECO2_VERSION "%s"\n#define ECO2_BUILD_ID "%s"\n' '$(ECO2_VERSION)' '$(ECO2_BUILD_ID)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# ---- Kconfig targets -----------------------------------------------------
# A Kconfig file newer than the .config (an option added or moved): bring
# the .config up to date first, so the Build.mk fragments (which read it)
# and autoconf.h agree. make re-reads the .config it included.
ifneq ($(wildcard $(O)/.config),)
$(O)/.config: $(kconfig-files)
	$(quiet) KCONFIG $@
	$(Q)$(KCONFIG) olddefconfig Kconfig >/dev/null
	@touch $@
endif

$(autoconf): $(O)/.config $(kconfig-files)
	$(quiet) GEN $@
	@mkdir -p $(dir $@)
	$(Q)$(KCONFIG) genconfig --header-path $@ Kconfig

.PHONY: defconfig menuconfig olddefconfig oldconfig savedefconfig
defconfig:
	@mkdir -p $(O)
	$(Q)$(KCONFIG) defconfig --kconfig Kconfig cross/configs/$(DEFCONFIG)
%_defconfig: cross/configs/%_defconfig
	@mkdir -p $(O)
	$(Q)$(KCONFIG) defconfig --kconfig Kconfig $<
menuconfig oldconfig olddefconfig:
	@mkdir -p $(O)
	$(Q)$(KCONFIG) $@ Kconfig
savedefconfig:
	$(Q)$(KCONFIG) savedefconfig --kconfig Kconfig --out $(O)/defconfig
	@echo "wrote $(O)/defconfig"

# ---- dependencies --------------------------------------------------------
.PHONY: deps deps-check
deps:
	$(Q)scripts/deps.sh install $(DEB_ARCH)
deps-check:
	$(Q)scripts/deps.sh check $(DEB_ARCH) >/dev/null 2>&1 || scripts/deps.sh install $(DEB_ARCH)

# ---- tests ---------------------------------------------------------------
export ECO2_SRC   := $(srctree)
export ECO2_BUILD := $(objtree)
export PYTHON
FUZZ_SECONDS ?= 5

.PHONY: demo
demo: deps-check
	$(Q)$(MAKE) --no-print-directory all $(O)/eco2-ledger
	$(Q)scripts/demo.sh

.PHONY: check check-build test-list fuzz bench soak
check: deps-check
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(MAKE) --no-print-directory test-list
	$(Q)tests/run-tests.sh $(O)/tests/list $(O)/test-logs

check-build: $(prog-bins) $(test-prog-bins) $(test-bins)
	$(Q)if command -v $(FUZZCC) >/dev/null 2>&1 && [ -z "$(SANITIZE)" ]; then \
		$(MAKE) --no-print-directory $(fuzz-bins); fi

# One line per test: tier <TAB> name <TAB> command
test-list:
	@mkdir -p $(O)/tests
	@{ for t in $(tests-y); do printf 'unit\t%s\t%s\n' $$t $(objtree)/tests/$$t; done; \
	   for s in $(itests-y); do printf 'integration\t%s\t%s\n' $$(basename $$s .sh) $(srctree)/$$s; done; \
	   if [ -n "$(SANITIZE)" ]; then :; else \
	   for f in $(fuzz-y); do printf 'fuzz\t%s\t%s %s %s %s\n' $$f $(srctree)/tests/fuzz/run-fuzz.sh $(objtree)/fuzz/$$f $(srctree)/tests/fuzz/corpus/$$f $(FUZZ_SECONDS); done; fi; \
	 } > $(O)/tests/list

# make check-slow: make check's list plus the slower tests it can do
# without (the qemu harness alone, ...).
.PHONY: check-slow
check-slow: deps-check
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(MAKE) --no-print-directory test-list
	$(Q){ cat $(O)/tests/list; for s in $(slow-itests-y); do \
		printf 'integration\t%s\t%s\n' $$(basename $$s .sh) $(srctree)/$$s; done; } > $(O)/tests/list-slow
	$(Q)tests/run-tests.sh $(O)/tests/list-slow $(O)/test-logs

# The crash loops at length: 1000 kill -9 rounds against the queue writer
# and uploader, against eco2d, and against eco2d with its store full.
soak: all $(test-prog-bins)
	$(Q)UPLOAD_CRASH_ITER=1000 tests/integration/upload_crash.sh
	$(Q)AGENT_CRASH_ROUNDS=1000 tests/integration/agent_crash.sh
	$(Q)AGENT_FULL_ROUNDS=1000 tests/integration/agent_storefull.sh

fuzz: $(fuzz-bins)
	$(Q)for f in $(fuzz-y); do tests/fuzz/run-fuzz.sh $(O)/fuzz/$$f tests/fuzz/corpus/$$f $${FUZZ_LONG_SECONDS:-300} || exit 1; done

# Benchmarks print figures (and callgrind instruction counts); they never
# pass or fail on timing.
bench: all $(test-prog-bins)
	$(Q)for b in tests/bench/bench_*.sh; do [ -f "$$b" ] || continue; \
		echo "== $$b"; bash "$$b" || echo "bench: $$b exited $$?"; done

# ---- lint ----------------------------------------------------------------
c-sources := $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
.PHONY: lint lint-banned lint-layers
lint: lint-banned lint-layers $(autoconf)
	$(Q)scripts/lint.sh $(O) $(c-sources)
lint-banned:
	$(Q)scripts/banned.sh $(c-sources)
# The architecture's include rules (docs/architecture.md).
lint-layers:
	$(Q)$(PYTHON) scripts/layers.py .

# ---- install -------------------------------------------------------------
.PHONY: install install-strip
install-strip: export STRIP := $(STRIP)
install-strip: install
install: all
	$(Q)scripts/install.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(LOCALSTATEDIR)" \
		"$(SYSTEMDUNITDIR)" "$(MANDIR)" "$(O)" "$(sbin-progs-y)" "$(bin-progs-y)"

.PHONY: clean distclean help
clean:
	rm -rf $(O)/obj $(O)/tests $(O)/fuzz $(O)/libeco2.a $(prog-bins) $(test-prog-bins) $(O)/test-logs
distclean:
	rm -rf build build-*

help:
	@echo 'Build:    make [O=dir] [ARCH=x86_64|arm64|armhf] [V=1] [WERROR=1] [SANITIZE=address,undefined]'
	@echo 'Config:   make defconfig | menuconfig | olddefconfig | savedefconfig | <name>_defconfig'
	@echo 'Test:     make check | check-slow | fuzz | bench | soak | lint | demo'
	@echo 'Cross:    make check-cross ARCH=arm64|armhf [SYSROOT=dir] | size-report'
	@echo 'Set-up:   make deps [ARCH=...]'
	@echo 'Install:  make install DESTDIR=... PREFIX=/usr'
