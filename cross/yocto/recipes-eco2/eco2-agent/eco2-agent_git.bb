SUMMARY = "Signed CO2-avoided trip records from the CAN bus"
DESCRIPTION = "eco2d reads odometer and battery signals over SocketCAN, \
computes trips and the CO2 they avoided, signs each trip record \
(COSE_Sign1, PKCS#11 or file key), chains and queues them in SQLite and \
uploads them over TLS to a ledger. Also eco2ctl, eco2-verify, eco2-sim."
HOMEPAGE = "https://example.invalid/eco2-agent"
SECTION = "console/network"
# No licence file in the tree yet: set LICENSE and LIC_FILES_CHKSUM here
# once the project has one.
LICENSE = "CLOSED"

# Point ECO2_GIT_URI at your mirror in local.conf or a bbappend, and pin
# SRCREV there for a reproducible image.
ECO2_GIT_URI ??= "git://example.invalid/eco2-agent.git;protocol=https;branch=main"
SRC_URI = "${ECO2_GIT_URI}"
SRCREV ??= "${AUTOREV}"
PV = "0.1+git${SRCPV}"
S = "${WORKDIR}/git"
B = "${WORKDIR}/build"

# Every library the top-level Makefile links (PKGS and -lmbedtls...);
# tests/integration/cross_recipes_lint.sh keeps this list, the Makefile's
# and debian-packages.txt in step.
DEPENDS = "curl mbedtls sqlite3 libsodium libinih python3-kconfiglib-native"

inherit pkgconfig python3native systemd useradd

# Kconfig options switched by PACKAGECONFIG (written into a fragment that
# is merged after the defconfig and before your own .cfg fragments).
PACKAGECONFIG ??= "pkcs11 seccomp"
PACKAGECONFIG[pkcs11] = ",,p11-kit"
PACKAGECONFIG[seccomp] = ",,libseccomp"
PACKAGECONFIG[simulator] = ",,"

# Kconfig: the defconfig for the target, then Kconfig fragments in SRC_URI
# order (add them in a bbappend: SRC_URI += "file://head-unit.cfg"), merged
# by cross/kconfig-merge.py, which fails on unknown options and on values a
# dependency overrides.
ECO2_ARCH = "${@{'aarch64': 'arm64', 'arm': 'armhf', 'x86_64': 'x86_64'}.get(d.getVar('TARGET_ARCH'), 'unsupported')}"
ECO2_DEFCONFIG ??= "${@{'arm64': 'aarch64_defconfig', 'armhf': 'armhf_defconfig'}.get(d.getVar('ECO2_ARCH'), 'x86_64_defconfig')}"
ECO2_FRAGMENTS = "${@' '.join(os.path.join(d.getVar('UNPACKDIR') or d.getVar('WORKDIR'), os.path.basename(u.split(';')[0])) for u in d.getVar('SRC_URI').split() if u.split(';')[0].endswith('.cfg'))}"
COMPATIBLE_HOST = "(x86_64|aarch64|arm).*-linux.*"

EXTRA_OEMAKE = "\
    -C ${S} O=${B} ARCH=${ECO2_ARCH} CROSS_COMPILE=${TARGET_PREFIX} \
    CC='${CC}' AR='${AR}' STRIP='${STRIP}' PKG_CONFIG=pkg-config \
    PYTHON=python3 OPT='' CFLAGS='${CFLAGS}' LDFLAGS='${LDFLAGS}' V=1 \
    PREFIX=${prefix} SYSCONFDIR=${sysconfdir} LOCALSTATEDIR=${localstatedir} \
    SYSTEMDUNITDIR=${systemd_system_unitdir} MANDIR=${mandir} \
"

do_configure() {
    frag=${B}/packageconfig.cfg
    mkdir -p ${B}
    : > $frag
    ${@bb.utils.contains('PACKAGECONFIG', 'pkcs11', 'echo CONFIG_SIGNER_PKCS11=y', 'echo "# CONFIG_SIGNER_PKCS11 is not set"', d)} >> $frag
    ${@bb.utils.contains('PACKAGECONFIG', 'seccomp', 'echo CONFIG_SECCOMP=y', 'echo "# CONFIG_SECCOMP is not set"', d)} >> $frag
    ${@bb.utils.contains('PACKAGECONFIG', 'simulator', 'echo CONFIG_SIMULATOR=y', 'echo "# CONFIG_SIMULATOR is not set"', d)} >> $frag
    echo "# CONFIG_LEDGER_SERVER is not set" >> $frag
    cd ${S}
    srctree=${S} python3 ${S}/cross/kconfig-merge.py ${B}/.config \
        ${S}/cross/configs/${ECO2_DEFCONFIG} $frag ${ECO2_FRAGMENTS}
    oe_runmake olddefconfig
}

do_compile() {
    oe_runmake all
}

do_install() {
    oe_runmake install DESTDIR=${D}
    # The daemon runs as eco2 (eco2d.service User=): it reads its config
    # and keys, and owns its state.
    chown root:eco2 ${D}${sysconfdir}/eco2
    chown eco2:eco2 ${D}${sysconfdir}/eco2/keys ${D}${localstatedir}/lib/eco2
    if [ -f ${D}${sysconfdir}/eco2/eco2d.conf ]; then
        chown root:eco2 ${D}${sysconfdir}/eco2/eco2d.conf
    fi
}

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --home-dir ${localstatedir}/lib/eco2 \
    --no-create-home --shell ${base_sbindir}/nologin eco2"

SYSTEMD_SERVICE:${PN} = "eco2d.service"
SYSTEMD_AUTO_ENABLE:${PN} ?= "enable"

CONFFILES:${PN} = "${sysconfdir}/eco2/eco2d.conf"
FILES:${PN} += "${datadir}/eco2 ${systemd_system_unitdir}/eco2d.service \
    ${localstatedir}/lib/eco2"
# SocketCAN: the BSP provides the controller driver; raw sockets come
# from can-raw.
RRECOMMENDS:${PN} += "kernel-module-can-raw"
