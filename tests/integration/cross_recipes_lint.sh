#!/bin/bash
# cross_recipes_lint.sh — the Yocto layer (cross/yocto/) and the Buildroot
# package (cross/buildroot/) cannot be built here, so check what can be
# checked: the variables each build system needs are present, the library
# lists of the Makefile, debian-packages.txt, the Yocto recipe and the
# Buildroot package name the same libraries (so they cannot drift apart),
# the Kconfig options and defconfigs they name exist, the unit and user
# agree, and cross/kconfig-merge.py (which both call) merges fragments and
# refuses bad ones.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import kconfiglib' 2>/dev/null || { echo "skip: $PYTHON has no kconfiglib"; exit 77; }
cd "$top" || exit 1
exec "$PYTHON" - <<'PY'
import os, re, subprocess, sys, tempfile

n = 0
failed = False

def tap(ok, what):
    global n, failed
    n += 1
    print(("ok" if ok else "not ok") + f" {n} - {what}")
    failed |= not ok

def read(p):
    with open(p, encoding="utf-8") as f:
        return f.read()

# Canonical library names, and how each list spells them.
MAKEFILE = {"libcurl": "curl", "sqlite3": "sqlite3", "libsodium": "sodium",
            "inih": "inih", "p11-kit-1": "p11-kit", "libseccomp": "seccomp",
            "mbedtls": "mbedtls", "mbedx509": "mbedtls", "mbedcrypto": "mbedtls"}
# Not target libraries of the programs: libc's, the host-only verifier
# back end (CONFIG_VERIFY_LIBCRYPTO, x86_64 defconfig only), test-only.
MAKEFILE_IGNORE = {"dl", "m", "crypto", "pthread"}
DEBIAN = {"libcurl4-openssl-dev": "curl", "libmbedtls-dev": "mbedtls",
          "libsqlite3-dev": "sqlite3", "libsodium-dev": "sodium",
          "libinih-dev": "inih", "libp11-kit-dev": "p11-kit",
          "libseccomp-dev": "seccomp"}
DEBIAN_IGNORE = {"libcmocka-dev": "unit tests only", "linux-libc-dev": "kernel headers",
                 "libc6-dev": "C library headers"}
YOCTO = {"curl": "curl", "mbedtls": "mbedtls", "sqlite3": "sqlite3",
         "libsodium": "sodium", "libinih": "inih", "p11-kit": "p11-kit",
         "libseccomp": "seccomp"}
YOCTO_IGNORE = {"python3-kconfiglib-native"}
BR_SELECT = {"BR2_PACKAGE_LIBCURL": "curl", "BR2_PACKAGE_MBEDTLS": "mbedtls",
             "BR2_PACKAGE_SQLITE": "sqlite3", "BR2_PACKAGE_LIBSODIUM": "sodium",
             "BR2_PACKAGE_INIH": "inih", "BR2_PACKAGE_P11_KIT": "p11-kit",
             "BR2_PACKAGE_LIBSECCOMP": "seccomp"}
BR_DEPS = {"libcurl": "curl", "mbedtls": "mbedtls", "sqlite": "sqlite3",
           "libsodium": "sodium", "inih": "inih", "p11-kit": "p11-kit",
           "libseccomp": "seccomp"}
BR_DEPS_IGNORE = {"host-pkgconf"}

def canon(names, table, ignore, where):
    out, unknown = set(), []
    for x in names:
        if x in ignore:
            continue
        if x in table:
            out.add(table[x])
        else:
            unknown.append(x)
    tap(not unknown, f"{where}: every library is a known one"
        + (f" (unknown: {' '.join(unknown)}; add it to this lint's tables and to the other lists)" if unknown else ""))
    return out

# ---- the Makefile ----------------------------------------------------------
mk = read("Makefile")
pkgs = []
for m in re.finditer(r"^\s*PKGS\s*[:+]?=\s*(.*)$", mk, re.M):
    pkgs += m.group(1).split()
libs = []
for m in re.finditer(r"^\s*LIBS\s*[:+]?=\s*(.*)$", mk, re.M):
    libs += [w[2:] for w in m.group(1).split() if w.startswith("-l")]
tap(bool(pkgs) and bool(libs), f"Makefile: PKGS ({' '.join(pkgs)}) and -l libraries ({' '.join(libs)}) found")
make_set = canon(pkgs + libs, MAKEFILE, MAKEFILE_IGNORE, "Makefile")

# ---- debian-packages.txt ---------------------------------------------------
deb = [l.split() for l in read("debian-packages.txt").splitlines()
       if l.strip() and not l.startswith("#")]
deb_target = [f[0] for f in deb if len(f) > 1 and f[1] == "target"]
deb_set = canon(deb_target, DEBIAN, DEBIAN_IGNORE, "debian-packages.txt (target)")

# ---- Yocto -----------------------------------------------------------------
bb_path = "cross/yocto/recipes-eco2/eco2-agent/eco2-agent_git.bb"
bb = read(bb_path)
bbj = re.sub(r"\\\n", " ", bb)   # join continuation lines

def bbvar(name):
    m = re.search(r"^" + re.escape(name) + r"\s*(\?\?=|\?=|=|\+=)\s*\"(.*?)\"", bbj, re.M)
    return m.group(2) if m else None

for v in ["SUMMARY", "LICENSE", "SRC_URI", "SRCREV", "PV", "S", "DEPENDS",
          "PACKAGECONFIG", "USERADD_PACKAGES", "USERADD_PARAM:${PN}",
          "SYSTEMD_SERVICE:${PN}", "EXTRA_OEMAKE", "CONFFILES:${PN}"]:
    tap(bbvar(v) is not None, f"{bb_path}: {v} set")
inherit = set()
for m in re.finditer(r"^inherit\s+(.*)$", bb, re.M):
    inherit |= set(m.group(1).split())
for c in ["systemd", "useradd", "pkgconfig", "python3native"]:
    tap(c in inherit, f"{bb_path}: inherit {c}")
for fn in ["do_configure", "do_compile", "do_install"]:
    tap(re.search(r"^" + fn + r"\(\)\s*\{", bb, re.M) is not None, f"{bb_path}: {fn}() defined")
tap("cross/kconfig-merge.py" in bb and "ECO2_FRAGMENTS" in bb,
    f"{bb_path}: do_configure merges Kconfig fragments with cross/kconfig-merge.py")
tap(bbvar("SYSTEMD_SERVICE:${PN}") == "eco2d.service", f"{bb_path}: SYSTEMD_SERVICE is eco2d.service")
yocto_names = (bbvar("DEPENDS") or "").split()
for m in re.finditer(r"^PACKAGECONFIG\[(\w+)\]\s*=\s*\"([^\"]*)\"", bb, re.M):
    parts = (m.group(2).split(",") + ["", "", ""])[:3]
    yocto_names += parts[2].split()
yocto_set = canon(yocto_names, YOCTO, YOCTO_IGNORE, "Yocto DEPENDS + PACKAGECONFIG")

lc = read("cross/yocto/conf/layer.conf")
for v in ["BBPATH", "BBFILES", "BBFILE_COLLECTIONS", "BBFILE_PATTERN_eco2",
          "BBFILE_PRIORITY_eco2", "LAYERSERIES_COMPAT_eco2", "LAYERDEPENDS_eco2"]:
    tap(re.search(r"^" + re.escape(v) + r"\s*(\.=|\+=|=)", lc, re.M) is not None,
        f"cross/yocto/conf/layer.conf: {v} set")

# ---- Buildroot -------------------------------------------------------------
cin_path = "cross/buildroot/package/eco2-agent/Config.in"
cin = read(cin_path)
brmk_path = "cross/buildroot/package/eco2-agent/eco2-agent.mk"
brmk = read(brmk_path)
tap(re.search(r"^config BR2_PACKAGE_ECO2_AGENT$", cin, re.M) is not None, f"{cin_path}: config BR2_PACKAGE_ECO2_AGENT")
br_sel = re.findall(r"^\s*select\s+(BR2_PACKAGE_\w+)", cin, re.M)
br_sel_set = canon(br_sel, BR_SELECT, set(), f"{cin_path} selects")
for v in ["VERSION", "SITE", "SITE_METHOD", "LICENSE", "DEPENDENCIES"]:
    tap(re.search(r"^ECO2_AGENT_" + v + r"\s*[:+]?=", brmk, re.M) is not None, f"{brmk_path}: ECO2_AGENT_{v} set")
for v in ["CONFIGURE_CMDS", "BUILD_CMDS", "INSTALL_TARGET_CMDS", "USERS", "PERMISSIONS"]:
    tap(re.search(r"^define ECO2_AGENT_" + v + r"$", brmk, re.M) is not None, f"{brmk_path}: ECO2_AGENT_{v} defined")
tap("$(eval $(generic-package))" in brmk, f"{brmk_path}: generic-package")
br_deps = []
for m in re.finditer(r"^ECO2_AGENT_DEPENDENCIES\s*[:+]?=\s*(.*)$", brmk, re.M):
    br_deps += m.group(1).split()
br_dep_set = canon(br_deps, BR_DEPS, BR_DEPS_IGNORE, f"{brmk_path} DEPENDENCIES")
tap(os.path.isfile("cross/buildroot/external.desc") and
    re.search(r"^name: ECO2$", read("cross/buildroot/external.desc"), re.M) is not None,
    "cross/buildroot/external.desc names the ECO2 external tree")

# ---- the lists agree -------------------------------------------------------
lists = {"debian-packages.txt": deb_set, "Yocto recipe": yocto_set,
         "Buildroot Config.in": br_sel_set, "Buildroot .mk": br_dep_set}
for name, s in lists.items():
    missing, extra = sorted(make_set - s), sorted(s - make_set)
    tap(not missing and not extra,
        f"{name} names the Makefile's libraries ({' '.join(sorted(make_set))})"
        + (f"; missing: {' '.join(missing)}" if missing else "")
        + (f"; extra: {' '.join(extra)}" if extra else ""))

# ---- Kconfig options, defconfigs, unit, user -----------------------------------
kopts = set()
for root, _, files in os.walk("."):
    if root.startswith("./build") or "/." in root:
        continue
    for f in files:
        if f == "Kconfig":
            kopts |= set(re.findall(r"^\s*(?:menu)?config\s+(\w+)", read(os.path.join(root, f)), re.M))
named = set(re.findall(r"(?<![A-Z0-9_])CONFIG_([A-Z0-9_]+)(?==|\s+is not set)", bb + brmk))
unknown = sorted(named - kopts)
tap(not unknown, "Kconfig options the recipes set exist"
    + (f" (unknown: {' '.join(unknown)})" if unknown else f" ({' '.join(sorted(named))})"))
defcfgs = {"aarch64_defconfig", "armhf_defconfig", "x86_64_defconfig"}
tap(all(os.path.isfile("cross/configs/" + d) for d in defcfgs) and
    all(d in bb for d in ("aarch64_defconfig", "armhf_defconfig", "x86_64_defconfig")),
    "the recipes' defconfigs exist in cross/configs/")
if os.path.isfile("agent/eco2d.service"):
    unit = read("agent/eco2d.service")
    m = re.search(r"^User=(\S+)", unit, re.M)
    user = m.group(1) if m else None
    tap(user is not None and user in (bbvar("USERADD_PARAM:${PN}") or "").split(),
        f"eco2d.service User={user} is the Yocto useradd user")
    tap(user is not None and re.search(r"^\t" + re.escape(user or "-") + r" ", brmk, re.M) is not None,
        f"eco2d.service User={user} is the Buildroot user")
else:
    print(f"ok {n + 1} - eco2d.service user # SKIP agent/eco2d.service not in the tree"); n += 1

# ---- kconfig-merge.py, as the recipes call it --------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    frag = os.path.join(tmp, "unit.cfg")
    with open(frag, "w") as f:
        f.write("CONFIG_SECCOMP=n\n# CONFIG_SIGNER_PKCS11 is not set\n")
    out = os.path.join(tmp, ".config")
    r = subprocess.run([sys.executable, "cross/kconfig-merge.py", out,
                        "cross/configs/aarch64_defconfig", frag],
                       capture_output=True, text=True, env=dict(os.environ, srctree="."))
    cfg = read(out) if os.path.exists(out) else ""
    tap(r.returncode == 0 and "# CONFIG_SECCOMP is not set" in cfg
        and "# CONFIG_SIGNER_PKCS11 is not set" in cfg and "CONFIG_UPLOAD=y" in cfg,
        "kconfig-merge.py: a fragment overrides the defconfig, the rest stays")
    bad = os.path.join(tmp, "bad.cfg")
    with open(bad, "w") as f:
        f.write("CONFIG_SECCOMP=y\nCONFIG_NO_SUCH_OPTION=y\n")
    r = subprocess.run([sys.executable, "cross/kconfig-merge.py", out + "2",
                        "cross/configs/aarch64_defconfig", bad],
                       capture_output=True, text=True, env=dict(os.environ, srctree="."))
    tap(r.returncode == 1 and f"{bad}:2: CONFIG_NO_SUCH_OPTION" in r.stderr
        and not os.path.exists(out + "2"),
        "kconfig-merge.py: an unknown option fails with file:line")

print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
