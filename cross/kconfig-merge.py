#!/usr/bin/python3
"""kconfig-merge.py OUT BASE [FRAGMENT...] — merge Kconfig fragments.

Loads BASE (a defconfig from cross/configs/), then each FRAGMENT in order
(later assignments win), resolves dependencies as olddefconfig does and
writes the full configuration to OUT. Run in the source tree (it reads
./Kconfig). Exits 1, naming file and symbol, when a fragment assigns an
unknown symbol or asks for a value the final configuration does not have
(a dependency switched it off): a vendor's fragment never fails silently.
This is what the Yocto recipe and the Buildroot package call; by hand:

    srctree=. python3 cross/kconfig-merge.py build-x/.config \\
        cross/configs/aarch64_defconfig my-unit.cfg
"""
import os
import re
import sys

import kconfiglib

ASSIGN = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def requested(path):
    """(lineno, name, value) for every assignment in a fragment."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = ASSIGN.match(line)
            if m:
                out.append((n, m.group(1)[len("CONFIG_"):], m.group(2).strip('"')))
                continue
            m = UNSET.match(line)
            if m:
                out.append((n, m.group(1)[len("CONFIG_"):], "n"))
    return out


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out, base, frags = argv[1], argv[2], argv[3:]
    os.environ.setdefault("srctree", ".")
    kconf = kconfiglib.Kconfig("Kconfig", warn_to_stderr=False)
    kconf.load_config(base)
    for frag in frags:
        kconf.load_config(frag, replace=False)
    errors = 0
    for frag in frags:
        for n, name, value in requested(frag):
            sym = kconf.syms.get(name)
            if sym is None or not sym.nodes:
                print(f"{frag}:{n}: CONFIG_{name}: no such option", file=sys.stderr)
                errors += 1
                continue
            if sym.str_value != value:
                print(f"{frag}:{n}: CONFIG_{name}={value} requested, "
                      f"the merged configuration has {sym.str_value!r} "
                      f"(depends on: {kconfiglib.expr_str(sym.direct_dep)})",
                      file=sys.stderr)
                errors += 1
    if errors:
        return 1
    kconf.write_config(out, header="# eco2-agent: merged by cross/kconfig-merge.py\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
