"""eco2-sim checks: command line, log format, rates, determinism, faults,
and the encoding against an independent decoder (python3-canmatrix).

    simcheck.py cli|oracle|faults

TAP on stdout; exit 0 / 1, 77 when eco2-sim is not built.
"""
import collections
import decimal
import json
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get("ECO2_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("ECO2_BUILD") or os.path.join(SRC, "build")
SIM = os.path.join(BUILD, "eco2-sim")
PROFILES = os.path.join(SRC, "can", "profiles")
PROFILE = os.path.join(PROFILES, "reference.profile")
DBC = os.path.join(PROFILES, "reference.dbc")
CYCLES = os.path.join(SRC, "can", "sim", "cycles")

LINE = re.compile(r"^\((\d{10})\.(\d{6})\) can0 ([0-9A-F]{3}|[0-9A-F]{8})#([0-9A-F]*)$")

n = 0
failed = 0
work = tempfile.mkdtemp(prefix="simcheck.")


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
        for line in str(detail or "").splitlines()[:20]:
            print("# " + line)
    sys.stdout.flush()
    return cond


def skip(what, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, what, why))


def run(args, check=True):
    p = subprocess.run([SIM] + args, capture_output=True, text=True, check=False)
    if check and p.returncode != 0:
        raise RuntimeError("eco2-sim %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def sim(args, name="s.log"):
    log = os.path.join(work, name)
    p = run(["--profile", PROFILE, "--out", log] + args)
    return json.loads(p.stdout), log


def read_log(path):
    frames = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                raise ValueError("not a candump line: %r" % line)
            t = int(m.group(1)) + int(m.group(2)) / 1e6
            frames.append((t, int(m.group(3), 16), len(m.group(3)) == 8, bytes.fromhex(m.group(4))))
    return frames


def short_cycle(name, rows):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("time_s,speed_kmh\n")
        for t, v in rows:
            f.write("%g,%g\n" % (t, v))
    return path


# A 2-minute drive: accelerate to 72 km/h, cruise, brake hard, stand.
DRIVE = [(0, 0), (5, 0), (25, 72), (85, 72), (100, 0), (120, 0)]


def cli():
    p = run(["--help"], check=False)
    ok(p.returncode == 0 and all(o in p.stdout for o in (
        "--profile", "--odo-resolution-m", "--out", "--iface", "--speedup", "--cycle",
        "--park", "--charge", "--drop", "--odo-glitch", "--bus-off", "--clock-jump", "--seed")),
       "--help lists every option")
    cyc = short_cycle("d.csv", DRIVE)
    for args, what in (([], "no --cycle"),
                       (["--cycle", cyc], "neither --out nor --iface"),
                       (["--cycle", cyc, "--out", "x", "--iface", "vcan0"], "both --out and --iface"),
                       (["--cycle", cyc, "--out", "x", "--drop", "2"], "--drop 2"),
                       (["--cycle", cyc, "--out", "x", "--charge", "ten"], "--charge ten"),
                       (["--cycle", cyc, "--out", "x", "--odo-glitch=sideways"], "--odo-glitch=sideways"),
                       (["--cycle", cyc, "--out", "x", "--set", "wings=2"], "--set wings=2"),
                       (["--cycle", cyc, "--out", "x", "--odo-resolution-m", "0"], "--odo-resolution-m 0"),
                       (["--cycle", cyc, "--out", "x", "--bus-off", "5:"], "--bus-off 5:")):
        p = run(args, check=False)
        ok(p.returncode == 2 and "usage" in p.stderr, "usage error (exit 2): %s" % what, p.stderr)
    bad = os.path.join(work, "bad.csv")
    with open(bad, "w") as f:
        f.write("# bad\ntime_s,speed_kmh\n0,0\n1,fast\n")
    p = run(["--cycle", bad, "--out", os.path.join(work, "b.log")], check=False)
    ok(p.returncode == 1 and "%s:4:3:" % bad in p.stderr, "a malformed cycle is reported as file:line:col",
       p.stderr)
    p = run(["--profile", os.path.join(work, "none.profile"), "--cycle", cyc, "--out",
             os.path.join(work, "b.log")], check=False)
    ok(p.returncode == 1 and "none.profile" in p.stderr, "a missing profile is reported")
    # bare names: the profile and the cycle from the source tree
    p = run(["--cycle", "nedc", "--out", os.path.join(work, "n.log")], check=False)
    ok(p.returncode == 0 and abs(json.loads(p.stdout)["distance_m"] - 11013.2) < 0.5,
       "bare --cycle nedc and the default profile resolve", p.stderr)
    # determinism
    a = sim(["--cycle", cyc, "--drop", "0.1", "--seed", "3"], "a.log")
    b = sim(["--cycle", cyc, "--drop", "0.1", "--seed", "3"], "b.log")
    c = sim(["--cycle", cyc, "--drop", "0.1", "--seed", "4"], "c.log")
    with open(a[1], "rb") as fa, open(b[1], "rb") as fb, open(c[1], "rb") as fc:
        da, db_, dc = fa.read(), fb.read(), fc.read()
    ok(da == db_ and a[0] == b[0], "same arguments and seed: the same log and truth")
    ok(da != dc and a[0]["distance_m"] == c[0]["distance_m"],
       "another seed drops other frames; the truth stays")
    ok(0.08 < a[0]["dropped_frames"] / (a[0]["frames"] + a[0]["dropped_frames"]) < 0.12,
       "--drop 0.1 drops about 10 %% (%d of %d)" % (a[0]["dropped_frames"], a[0]["frames"]))
    # --out - : log on stdout, truth on stderr
    p = run(["--cycle", cyc, "--out", "-"])
    ok(LINE.match(p.stdout.splitlines()[0]) and json.loads(p.stderr.strip().splitlines()[-1])["trips"] == 1,
       "--out - writes the log to stdout and the truth to stderr")
    # format, rates and the time line
    truth, log = sim(["--cycle", cyc, "--park", "100", "--charge", "60:22", "--cycle", cyc])
    try:
        frames = read_log(log)
        ok(True, "every line is a candump -l line")
    except ValueError as e:
        ok(False, "every line is a candump -l line", e)
        return
    ts = [f[0] for f in frames]
    ok(all(b >= a for a, b in zip(ts, ts[1:])), "time stamps never go back")
    first = [f for f in frames if f[0] < truth["records"][0]["end_s"]]
    per_id = collections.Counter(f[1] for f in first)
    dur = truth["records"][0]["end_s"] - truth["records"][0]["start_s"]
    rates = {i: per_id[i] / dur for i in per_id}
    ok(abs(rates.get(0x110, 0) - 100) < 1 and abs(rates.get(0x120, 0) - 50) < 1
       and abs(rates.get(0x130, 0) - 10) < 0.5 and abs(rates.get(0x140, 0) - 10) < 0.5,
       "rates: V/I 100 Hz, speed 50 Hz, odometer and status 10 Hz (%s)"
       % {hex(k): round(v, 2) for k, v in rates.items()})
    ok(0x150 not in per_id, "counters the profile does not map are not sent")
    # parking is silence; the charging stop has frames
    gaps = [(a, b) for a, b in zip(ts, ts[1:]) if b - a > 50]
    ok(len(gaps) == 1 and abs(gaps[0][1] - gaps[0][0] - 100) < 1,
       "--park 100: one silence of 100 s (%s)" % gaps)
    recs = truth["records"]
    ok([r["type"] for r in recs] == [1, 2, 1] and truth["trips"] == 2 and truth["charge_sessions"] == 1,
       "truth: trip, charge, trip")
    ok(abs(recs[1]["charged_wh"] - (22000 - 200) * 60 / 3600) < 0.5,
       "charged %.3f Wh = (22 kW - 200 W) x 60 s" % recs[1]["charged_wh"])
    # 0->20 m/s in 20 s, 60 s at 20 m/s, 20->0 in 15 s: 200 + 1200 + 150 m
    ok(abs(truth["distance_m"] - 2 * 1550) < 0.01,
       "distance %.3f m is twice the trace's 1550 m" % truth["distance_m"])
    # live interface
    if subprocess.run(["ip", "link", "show", "vcan0"], capture_output=True, check=False).returncode == 0:
        p = run(["--cycle", cyc, "--iface", "vcan0", "--speedup", "100"], check=False)
        ok(p.returncode == 0, "--iface vcan0 --speedup 100 sends the drive", p.stderr)
    else:
        skip("--iface vcan0", "no vcan0 on this host (sim_vcan.sh runs it on a real kernel)")


def oracle():
    """Decode the simulator's log with python3-canmatrix and integrate it
    independently: it must agree with the simulator's truth."""
    try:
        import canmatrix.formats
    except ImportError:
        skip("canmatrix oracle", "python3-canmatrix is not installed")
        return
    db = canmatrix.formats.loadp_flat(DBC)
    for res in (100, 1000):
        cyc = short_cycle("o.csv", DRIVE)
        truth, log = sim(["--cycle", cyc, "--odo-resolution-m", str(res)], "o.log")
        frames = read_log(log)
        pw, odo, speed, ign = [], [], [], []
        for t, fid, ext, data in frames:
            fr = db.frame_by_id(canmatrix.ArbitrationId(fid, extended=ext))
            dec = {k: float(decimal.Decimal(v.phys_value)) for k, v in fr.decode(data).items()}
            if fr.name == "BMS_Pack":
                pw.append((t, dec["PackVoltage"] * dec["PackCurrent"]))
            elif fr.name == "VCU_Odometer":
                odo.append(dec["Odometer"] * 1000)
            elif fr.name == "VCU_Speed":
                speed.append((t, dec["VehicleSpeed"]))
            elif fr.name == "VCU_Status":
                ign.append(dec["Ignition"])
        dis = regen = 0.0
        for (t0, p0), (t1, p1) in zip(pw, pw[1:]):
            e = (p0 + p1) / 2 * (t1 - t0) / 3600
            if e > 0:
                dis += e
            else:
                regen -= e
        ok(abs(dis - truth["discharge_wh"]) <= 0.005 * truth["discharge_wh"]
           and abs(regen - truth["regen_wh"]) <= 0.005 * truth["regen_wh"] + 0.05,
           "%g-m odometer: V x I decoded by canmatrix: %.2f / %.2f Wh vs truth %.2f / %.2f Wh"
           % (res, dis, regen, truth["discharge_wh"], truth["regen_wh"]))
        rec = truth["records"][0]
        ok(all(abs(o / res - round(o / res)) < 1e-6 for o in odo),
           "%g-m odometer: every reading is a whole step" % res)
        ok(abs(odo[0] - rec["odo_start_m"]) < res and abs(odo[-1] - rec["odo_end_m"]) < res
           and abs(odo[-1] - odo[0] - truth["distance_m"]) < res,
           "%g-m odometer: readings %.0f..%.0f bracket the truth %.1f..%.1f"
           % (res, odo[0], odo[-1], rec["odo_start_m"], rec["odo_end_m"]))
        dist = sum((v0 + v1) / 2 / 3.6 * (t1 - t0) for (t0, v0), (t1, v1) in zip(speed, speed[1:]))
        ok(abs(dist - truth["distance_m"]) < 2,
           "%g-m odometer: speed decoded and integrated: %.2f m vs truth %.2f m"
           % (res, dist, truth["distance_m"]))
        ok(max(v for _, v in speed) == 72 and ign[0] == 1 and ign[-1] == 0,
           "%g-m odometer: top speed 72 km/h; ignition on, then off" % res)


def faults():
    cyc = short_cycle("f.csv", DRIVE)
    truth, log = sim(["--cycle", cyc, "--bus-off", "50:3"])
    frames = read_log(log)
    errs = [(t, fid) for t, fid, ext, data in frames if fid & 0x20000000]
    t0 = 1700000000
    ok(len(errs) == 2 and errs[0][1] == 0x20000040 and errs[1][1] == 0x20000100
       and abs(errs[0][0] - t0 - 50) < 0.002 and abs(errs[1][0] - t0 - 53) < 0.002,
       "--bus-off 50:3: a bus-off error frame, then a restarted one 3 s later (%s)" % errs)
    inside = [f for f in frames if t0 + 50 < f[0] < t0 + 53]
    ok(inside == [], "nothing is sent while the bus is off")
    truth2, log = sim(["--cycle", cyc, "--clock-jump", "60:-30"])
    ts = [f[0] for f in read_log(log)]
    back = [(a, b) for a, b in zip(ts, ts[1:]) if b < a]
    ok(len(back) == 1 and abs(back[0][1] - back[0][0] + 30) < 0.01,
       "--clock-jump 60:-30: the stamps step back 30 s once")
    phys = ("distance_m", "discharge_wh", "regen_wh", "records")
    ok(all(truth2[k] == truth[k] for k in phys) and truth2["frames"] > truth["frames"],
       "faults change the log, not the truth")
    _, log = sim(["--cycle", cyc, "--odo-glitch=stuck"])
    db = [f for f in read_log(log) if f[1] == 0x130]
    vals = [int.from_bytes(f[3][:4], "little") for f in db]
    runs = max(sum(1 for _ in g) for _, g in __import__("itertools").groupby(vals))
    ok(runs >= 600, "--odo-glitch=stuck: the odometer holds one reading for 60 s (%d frames)" % runs)
    _, log = sim(["--cycle", cyc, "--odo-glitch"])
    vals = [int.from_bytes(f[3][:4], "little") for f in read_log(log) if f[1] == 0x130]
    jumps = [b - a for a, b in zip(vals, vals[1:]) if abs(b - a) > 1000]
    ok(jumps == [100000, -100000] or (len(jumps) == 2 and jumps[0] > 99000 and jumps[1] < -99000),
       "--odo-glitch: one frame 100 km ahead (%s)" % jumps)


def main():
    if not os.access(SIM, os.X_OK):
        print("eco2-sim not built in %s" % BUILD)
        return 77
    for name in sys.argv[1:]:
        try:
            {"cli": cli, "oracle": oracle, "faults": faults}[name]()
        except (RuntimeError, OSError, ValueError, KeyError) as e:
            ok(False, "%s: ran to the end" % name, e)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    rc = main()
    subprocess.run(["rm", "-rf", work], check=False)
    sys.exit(rc)
