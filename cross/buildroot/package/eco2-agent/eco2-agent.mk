################################################################################
#
# eco2-agent
#
################################################################################

# Built from the tree this external lives in; for a release, set VERSION,
# SITE (git URL) and SITE_METHOD = git instead.
ECO2_AGENT_VERSION = 0.1
ECO2_AGENT_SITE = $(realpath $(BR2_EXTERNAL_ECO2_PATH)/../..)
ECO2_AGENT_SITE_METHOD = local
# No licence file in the tree yet.
ECO2_AGENT_LICENSE = unknown

# Every library the top-level Makefile links; tests/integration/
# cross_recipes_lint.sh keeps this list in step with it.
ECO2_AGENT_DEPENDENCIES = host-pkgconf libcurl mbedtls sqlite libsodium inih

ECO2_AGENT_KCONFIG_OPTS = CONFIG_LEDGER_SERVER=n
ifeq ($(BR2_PACKAGE_ECO2_AGENT_PKCS11),y)
ECO2_AGENT_DEPENDENCIES += p11-kit
ECO2_AGENT_KCONFIG_OPTS += CONFIG_SIGNER_PKCS11=y
else
ECO2_AGENT_KCONFIG_OPTS += CONFIG_SIGNER_PKCS11=n
endif
ifeq ($(BR2_PACKAGE_ECO2_AGENT_SECCOMP),y)
ECO2_AGENT_DEPENDENCIES += libseccomp
ECO2_AGENT_KCONFIG_OPTS += CONFIG_SECCOMP=y
else
ECO2_AGENT_KCONFIG_OPTS += CONFIG_SECCOMP=n
endif
ifeq ($(BR2_PACKAGE_ECO2_AGENT_SIMULATOR),y)
ECO2_AGENT_KCONFIG_OPTS += CONFIG_SIMULATOR=y
else
ECO2_AGENT_KCONFIG_OPTS += CONFIG_SIMULATOR=n
endif

ECO2_AGENT_ARCH = $(if $(BR2_aarch64),arm64,$(if $(BR2_arm),armhf,$(if $(BR2_x86_64),x86_64,unsupported)))
ECO2_AGENT_DEFCONFIG = $(call qstrip,$(BR2_PACKAGE_ECO2_AGENT_DEFCONFIG))
ifeq ($(ECO2_AGENT_DEFCONFIG),)
ECO2_AGENT_DEFCONFIG = $(patsubst arm64_%,aarch64_%,$(ECO2_AGENT_ARCH)_defconfig)
endif
ECO2_AGENT_FRAGMENTS = $(call qstrip,$(BR2_PACKAGE_ECO2_AGENT_CONFIG_FRAGMENT_FILES))
ECO2_AGENT_PYTHON = $(call qstrip,$(BR2_PACKAGE_ECO2_AGENT_HOST_PYTHON))

ECO2_AGENT_MAKE_OPTS = \
	-C $(@D) O=$(@D)/build ARCH=$(ECO2_AGENT_ARCH) \
	CROSS_COMPILE="$(TARGET_CROSS)" CC="$(TARGET_CC)" AR="$(TARGET_AR)" \
	STRIP="$(TARGET_STRIP)" PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)" \
	PYTHON="$(ECO2_AGENT_PYTHON)" OPT= CFLAGS="$(TARGET_CFLAGS)" \
	LDFLAGS="$(TARGET_LDFLAGS)" V=1 PREFIX=/usr SYSCONFDIR=/etc \
	LOCALSTATEDIR=/var SYSTEMDUNITDIR=/usr/lib/systemd/system \
	MANDIR=/usr/share/man

define ECO2_AGENT_CONFIGURE_CMDS
	mkdir -p $(@D)/build
	printf '%s\n' $(ECO2_AGENT_KCONFIG_OPTS) > $(@D)/build/buildroot.cfg
	cd $(@D) && srctree=$(@D) $(ECO2_AGENT_PYTHON) cross/kconfig-merge.py \
		$(@D)/build/.config cross/configs/$(ECO2_AGENT_DEFCONFIG) \
		$(@D)/build/buildroot.cfg $(ECO2_AGENT_FRAGMENTS)
	$(TARGET_MAKE_ENV) $(MAKE) $(ECO2_AGENT_MAKE_OPTS) olddefconfig
endef

define ECO2_AGENT_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) $(ECO2_AGENT_MAKE_OPTS) all
endef

define ECO2_AGENT_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) $(ECO2_AGENT_MAKE_OPTS) install DESTDIR=$(TARGET_DIR)
endef

# make install puts eco2d.service into /usr/lib/systemd/system.
define ECO2_AGENT_INSTALL_INIT_SYSTEMD
endef

# The daemon runs as eco2 (eco2d.service User=).
define ECO2_AGENT_USERS
	eco2 -1 eco2 -1 * /var/lib/eco2 - - eco2-agent daemon
endef

define ECO2_AGENT_PERMISSIONS
	/etc/eco2 d 750 root eco2 - - - - -
	/etc/eco2/eco2d.conf f 640 root eco2 - - - - -
	/etc/eco2/keys d 700 eco2 eco2 - - - - -
	/var/lib/eco2 d 700 eco2 eco2 - - - - -
endef

$(eval $(generic-package))
