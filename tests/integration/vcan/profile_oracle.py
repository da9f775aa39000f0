"""profile_oracle.py PROBE PROFILES_DIR WORK — every shipped vehicle profile
against an independent decoder.

For each can/profiles/*.profile: random frames of the messages it maps
(random priority and source address for J1939) go into a candump log; the
agent's path (can-probe --log: canlog -> profile_decode) and this script
(python3-canmatrix for the DBC, its own unit table, sign rule and J1939
"not available" rule, written from the profile documentation) must yield
the same samples. Prints TAP; exit status 1 on any mismatch.
"""
import configparser
import decimal
import glob
import os
import random
import subprocess
import sys

import canmatrix
import canmatrix.formats

UNITS = {  # unit (lower case) -> (kind, factor to the canonical unit)
    "m": ("length", 1.0), "km": ("length", 1000.0), "mi": ("length", 1609.344),
    "km/h": ("speed", 1.0), "kph": ("speed", 1.0), "m/s": ("speed", 3.6),
    "mph": ("speed", 1.609344),
    "v": ("voltage", 1.0), "mv": ("voltage", 0.001),
    "a": ("current", 1.0), "ma": ("current", 0.001),
    "wh": ("energy", 1.0), "kwh": ("energy", 1000.0),
}
STATE_ROLES = ("ignition", "charging")


def j1939_canonical(can_id):
    pf = (can_id >> 16) & 0xFF
    keep = 0x03FFFF00 if pf >= 240 else 0x03FF0000
    return (can_id & keep) | (6 << 26)


def j1939_valid(raw, bits):
    if bits < 8:
        return raw < (1 << bits) - 2
    return ((raw >> (bits - 8)) & 0xFF) <= 0xFA


def main():
    probe, pdir, work = sys.argv[1:4]
    rng = random.Random(20261122)
    n = 0
    failed = 0
    for path in sorted(glob.glob(os.path.join(pdir, "*.profile"))):
        name = os.path.basename(path)
        cfg = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                        comment_prefixes=(";", "#"))
        cfg.read(path)
        if not cfg.has_section("signals"):
            continue   # every role asked for: poll_profiles checks those
        veh = cfg["vehicle"]
        j1939 = veh.get("j1939") == "builtin"
        if j1939:
            text = subprocess.run([probe, "--print-j1939-dbc"], check=True,
                                  capture_output=True, text=True).stdout
            dbc_path = os.path.join(work, "j1939-builtin.dbc")
            with open(dbc_path, "w") as f:
                f.write(text)
        else:
            dbc_path = os.path.join(pdir, veh["dbc"])
        db = canmatrix.formats.loadp_flat(dbc_path)
        opts = cfg["options"] if cfg.has_section("options") else {}
        charge_positive = opts.get("current_positive", "discharge") == "charge"

        roles = {}  # role -> (frame, signal name, factor)
        for role, ref in cfg["signals"].items():
            if role.endswith("_unit"):
                continue
            msg, sig = ref.split(".", 1)
            frame = db.frame_by_name(msg)
            signal = frame.signal_by_name(sig)
            factor = 1.0
            if role not in STATE_ROLES:
                unit = cfg["signals"].get(role + "_unit") or opts.get(role + "_unit") or signal.unit
                factor = UNITS[unit.strip().lower()][1]
                if role == "pack_current" and charge_positive:
                    factor = -factor
            roles[role] = (frame, sig, factor)

        frames = sorted({f.arbitration_id.id: f for f, _, _ in roles.values()}.items())
        frames = [f for _, f in frames]
        log_path = os.path.join(work, name + ".log")
        expected = {}
        with open(log_path, "w") as log:
            for i in range(400):
                frame = rng.choice(frames)
                size = frame.size
                if rng.random() < 0.2:
                    data = bytearray([0xFF] * size)
                else:
                    data = bytearray(rng.getrandbits(8) for _ in range(size))
                can_id = frame.arbitration_id.id
                if j1939:
                    can_id = (can_id & 0x03FFFF00) | (rng.randrange(8) << 26) | rng.randrange(256)
                    if (can_id >> 16) & 0xFF < 240:
                        can_id = (can_id & ~0xFF00) | (rng.randrange(256) << 8)
                    assert j1939_canonical(can_id) == frame.arbitration_id.id
                t_us = 1700000000000000 + i * 1000
                idtxt = "%08X" % can_id if frame.arbitration_id.extended else "%03X" % can_id
                log.write("(%d.%06d) can0 %s#%s\n" % (t_us // 1000000, t_us % 1000000,
                                                      idtxt, data.hex().upper()))
                decoded = frame.decode(data)
                for role, (rf, sig, factor) in roles.items():
                    if rf is not frame or sig not in decoded:
                        continue
                    d = decoded[sig]
                    if j1939 and not j1939_valid(d.raw_value, d.signal.size):
                        continue
                    phys = float(decimal.Decimal(d.phys_value))
                    if role in STATE_ROLES:
                        value = 1.0 if phys != 0 else 0.0
                    else:
                        value = phys * factor
                    expected[(t_us * 1000, role)] = value

        out = subprocess.run([probe, "--profile", path, "--log", log_path],
                             capture_output=True, text=True)
        got = {}
        for line in out.stdout.splitlines():
            _, t, role, value = line.split()
            got[(int(t), role)] = float(value)
        problems = []
        if out.returncode != 0:
            problems.append("can-probe exited %d: %s" % (out.returncode, out.stderr.strip()))
        for key in sorted(set(expected) | set(got)):
            e, g = expected.get(key), got.get(key)
            if e is None or g is None or abs(e - g) > 1e-9 * max(1.0, abs(e)):
                problems.append("t=%d %s: oracle %r, agent %r" % (key[0], key[1], e, g))
        n += 1
        if problems:
            failed = 1
            print("not ok %d - %s: %d samples differ from python3-canmatrix" % (n, name, len(problems)))
            for p in problems[:10]:
                print("# " + p)
        else:
            print("ok %d - %s: %d samples from 400 random frames match python3-canmatrix"
                  % (n, name, len(expected)))
    print("1..%d" % n)
    return failed


if __name__ == "__main__":
    sys.exit(main())
