"""Acceptance checks: eco2-sim's ground truth against the trip calculator.

Each check drives the simulator into a candump log, replays it through the
reference profile and the trip calculator (trip-replay), and compares the
records with the truth. Output is TAP; run as

    tripcheck.py acceptance|segments|faults|property|resume|co2

with ECO2_SRC and ECO2_BUILD set (make check does). Exit 0 when every
check passed, 1 otherwise, 77 when the programs are not built.
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from fractions import Fraction

SRC = os.environ.get("ECO2_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("ECO2_BUILD") or os.path.join(SRC, "build")
SIM = os.path.join(BUILD, "eco2-sim")
REPLAY = os.path.join(BUILD, "trip-replay")
PROFILE = os.path.join(SRC, "can", "profiles", "reference.profile")
CYCLES = os.path.join(SRC, "can", "sim", "cycles")
WLTC = os.path.join(CYCLES, "wltc_class3b.csv")
NEDC = os.path.join(CYCLES, "nedc.csv")

FLAGS = {
    "odo_rollback": 1 << 0, "odo_jump": 1 << 1, "odo_stuck": 1 << 2,
    "data_gap": 1 << 3, "clock_jump": 1 << 4, "frames_dropped": 1 << 5,
    "bus_error": 1 << 6, "resumed": 1 << 7, "odo_wrap": 1 << 8,
    "no_energy": 1 << 9, "no_odometer": 1 << 10, "ended_early": 1 << 11,
    "state_break": 1 << 12, "clock_stuck": 1 << 13,
}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, what))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, what))
            if detail:
                for line in str(detail).splitlines():
                    print("# " + line)
        sys.stdout.flush()
        return cond

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


tap = Tap()
work = tempfile.mkdtemp(prefix="tripcheck.")


def sim(args, log_name="sim.log"):
    """Run eco2-sim into a log; return (truth dict, log path)."""
    log = os.path.join(work, log_name)
    cmd = [SIM, "--profile", PROFILE, "--out", log] + args
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr))
    return json.loads(p.stdout), log


def replay(log, extra=()):
    """Run trip-replay; return the list of records."""
    cmd = [REPLAY, "--profile", PROFILE] + list(extra) + [log]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def rel(a, b):
    return abs(a - b) / abs(b) if b else abs(a - b)


def sane(rec):
    """No negative or absurd figure in a record."""
    dur = rec["end_s"] - rec["start_s"]
    return (rec["distance_m"] >= 0 and rec["discharge_wh"] >= 0 and rec["regen_wh"] >= 0
            and rec["charged_wh"] >= 0 and 0 <= dur < 7 * 86400
            and rec["distance_m"] <= max(dur, 1) * 250 / 3.6 + 1000
            and rec["discharge_wh"] < 1e6 and rec["regen_wh"] < 1e6)


def compare_trip(rec, truth, dist_tol, energy_tol, what):
    t = truth
    tap.ok(rel(rec["distance_m"], t["distance_m"]) <= dist_tol,
           "%s: distance %d m vs truth %.1f m (within %.1f%%)"
           % (what, rec["distance_m"], t["distance_m"], dist_tol * 100))
    tap.ok(rel(rec["discharge_wh"], t["discharge_wh"]) <= energy_tol,
           "%s: discharge %d Wh vs truth %.1f Wh (within %.1f%%)"
           % (what, rec["discharge_wh"], t["discharge_wh"], energy_tol * 100))
    tap.ok(rel(rec["regen_wh"], t["regen_wh"]) <= energy_tol,
           "%s: regen %d Wh vs truth %.1f Wh (within %.1f%%)"
           % (what, rec["regen_wh"], t["regen_wh"], energy_tol * 100))


def co2_oracle(rec):
    """eco2-ev-v1 from the record's own parameters, exact rationals,
    rounded half away from zero (docs/methodology.md)."""
    be = Fraction(rec["distance_m"], 1000) * Fraction(rec["baseline_mg_per_km"], 1000)
    pe = (Fraction(rec["discharge_wh"] - rec["regen_wh"], 1000)
          / Fraction(rec["charge_eff_permille"], 1000)
          * Fraction(rec["grid_mg_per_kwh"], 1000)
          * (1 + Fraction(rec["td_loss_permille"], 1000)))
    er = be - pe
    mag = math.floor(abs(er) + Fraction(1, 2))
    return mag if er >= 0 else -mag


# ---- checks ---------------------------------------------------------------

def acceptance():
    """WLTC class 3b and NEDC at 0.1-km and 1-km odometer resolution."""
    for name, path, published_km in (("WLTC class 3b", WLTC, 23.266), ("NEDC", NEDC, 11.013)):
        for res, dist_tol in ((100, 0.002), (1000, 0.01)):
            what = "%s, %g-km odometer" % (name, res / 1000)
            truth, log = sim(["--cycle", path, "--odo-resolution-m", str(res)])
            if res == 100:
                tap.ok(abs(truth["distance_m"] / 1000 - published_km) < 0.0005,
                       "%s: simulated distance %.3f km is the trace's %.3f km"
                       % (name, truth["distance_m"] / 1000, published_km))
            recs = replay(log)
            trips = [r for r in recs if r["type"] == 1]
            if not tap.ok(len(recs) == 1 and len(trips) == 1, "%s: one trip record" % what, recs):
                continue
            r = trips[0]
            compare_trip(r, truth, dist_tol, 0.005, what)
            tap.ok(r["flags"] == FLAGS["ended_early"] or r["flags"] == 0,
                   "%s: no anomaly flag (got %s)" % (what, r["flag_names"]))
            tap.ok(r["co2_g"] == co2_oracle(r), "%s: co2_g %d recomputed from the record alone"
                   % (what, r["co2_g"]))


def segments():
    """Three cycles with parking between them; then with a charging stop."""
    truth, log = sim(["--cycle", WLTC, "--park", "600", "--cycle", NEDC, "--park", "900",
                      "--cycle", WLTC])
    recs = replay(log)
    tap.ok(truth["trips"] == 3 and len(truth["records"]) == 3, "simulator drove three trips")
    if tap.ok(len(recs) == 3 and all(r["type"] == 1 for r in recs),
              "three cycles with parking: three trip records", recs):
        for i, (r, t) in enumerate(zip(recs, truth["records"])):
            tap.ok(abs(r["start_s"] - t["start_s"]) <= 1 and abs(r["end_s"] - t["end_s"]) <= 1,
                   "trip %d: boundaries %d..%d vs truth %.1f..%.1f"
                   % (i + 1, r["start_s"], r["end_s"], t["start_s"], t["end_s"]))
            compare_trip(r, t, 0.002, 0.005, "trip %d" % (i + 1))
            tap.ok(abs(r["odo_start_m"] - t["odo_start_m"]) <= 100
                   and abs(r["odo_end_m"] - t["odo_end_m"]) <= 100,
                   "trip %d: odometer readings match the truth within one step" % (i + 1))
        tap.ok(recs[0]["odo_end_m"] == recs[1]["odo_start_m"]
               and recs[1]["odo_end_m"] == recs[2]["odo_start_m"],
               "consecutive trips share their odometer boundary")

    truth, log = sim(["--cycle", NEDC, "--park", "300", "--charge", "1800:7.4", "--park", "300",
                      "--cycle", NEDC, "--charge", "600", "--cycle", NEDC])
    recs = replay(log)
    kinds = [r["type"] for r in recs]
    tap.ok(kinds == [1, 2, 1, 2, 1], "cycles with two charging stops: trip, charge, trip, "
           "charge, trip (got %s)" % kinds)
    if kinds == [1, 2, 1, 2, 1]:
        tc = [t for t in truth["records"] if t["type"] == 2]
        for k, (r, t) in enumerate(zip([r for r in recs if r["type"] == 2], tc)):
            tap.ok(rel(r["charged_wh"], t["charged_wh"]) <= 0.005,
                   "charge %d: %d Wh vs truth %.1f Wh" % (k + 1, r["charged_wh"], t["charged_wh"]))
            tap.ok(r["distance_m"] == 0 and r["discharge_wh"] == 0 and r["co2_g"] == 0,
                   "charge %d: no distance, no driving energy, no CO2 of its own" % (k + 1))
            tap.ok(abs(r["start_s"] - t["start_s"]) <= 1 and abs(r["end_s"] - t["end_s"]) <= 1,
                   "charge %d: boundaries" % (k + 1))
        for k, r in enumerate([r for r in recs if r["type"] == 1]):
            t = [t for t in truth["records"] if t["type"] == 1][k]
            compare_trip(r, t, 0.002, 0.005, "trip %d around charges" % (k + 1))


FAULTS = (
    (["--drop", "0.05", "--seed", "7"], "frames_dropped", "5% of frames dropped"),
    (["--odo-glitch"], "odo_jump", "one odometer frame 100 km ahead"),
    (["--odo-glitch=rollback"], "odo_rollback", "one odometer frame 5 km back"),
    (["--odo-glitch=stuck"], "odo_stuck", "odometer stuck for 60 s while moving"),
    (["--bus-off", "700"], "bus_error", "bus-off for 2 s"),
    (["--clock-jump", "900"], "clock_jump", "wall clock one hour ahead mid-trip"),
    (["--clock-jump", "900:-7200"], "clock_jump", "wall clock two hours back mid-trip"),
    (["--odo-start-km", "4294960"], "odo_wrap", "odometer counter wraps"),
)


def faults():
    """Every fault injection yields its documented flag and sane figures."""
    for args, flag, what in FAULTS:
        truth, log = sim(["--cycle", WLTC] + args)
        recs = replay(log)
        if not tap.ok(len(recs) == 1, "%s: one trip record" % what, recs):
            continue
        r = recs[0]
        tap.ok(r["flags"] & FLAGS[flag], "%s: flagged %s (got %s)" % (what, flag, r["flag_names"]))
        tap.ok(sane(r), "%s: no negative or absurd figure" % what, r)
        # The odometer carries the distance through every fault.
        tap.ok(rel(r["distance_m"], truth["distance_m"]) <= 0.002,
               "%s: distance %d m vs truth %.1f m" % (what, r["distance_m"], truth["distance_m"]))
        # Energy: a bus-off loses 2 s of samples (flagged, not made up).
        tol = 0.01 if flag == "bus_error" else 0.005
        tap.ok(rel(r["discharge_wh"], truth["discharge_wh"]) <= tol
               and rel(r["regen_wh"], truth["regen_wh"]) <= tol,
               "%s: energy %d/%d Wh vs truth %.1f/%.1f Wh"
               % (what, r["discharge_wh"], r["regen_wh"], truth["discharge_wh"], truth["regen_wh"]))
        if flag == "clock_jump":
            dur = r["end_s"] - r["start_s"]
            tap.ok(abs(dur - 1800) <= 2, "%s: duration %d s stays the drive's 1800 s" % (what, dur))
    # A log whose frames all carry the first frame's time: the odometer's
    # ticks would make a distance with no energy. Recorded, flagged.
    truth, log = sim(["--cycle", WLTC])
    stuck = os.path.join(work, "stuck.log")
    with open(log) as f, open(stuck, "w") as out:
        first = None
        for line in f:
            stamp, rest = line.split(" ", 1)
            first = first or stamp
            out.write(first + " " + rest)
    recs = replay(stuck)
    # The odometer's distance stands (the vehicle's own count, within one
    # step); nothing is integrated over no time: no energy is invented.
    tap.ok(len(recs) >= 1 and all(r["flags"] & FLAGS["clock_stuck"] for r in recs)
           and sum(r["distance_m"] for r in recs) <= truth["distance_m"] + 100
           and all(r["distance_m"] >= 0 and r["discharge_wh"] == 0 and r["regen_wh"] == 0 for r in recs),
           "frame times that never advance: flagged clock_stuck, the odometer's distance, no energy invented",
           recs)


def random_cycle(rng, path):
    """A drive of random stops, accelerations and cruises, 1 Hz, every
    stop shorter than the idle limit."""
    t, v, rows = 0, 0.0, [(0, 0.0)]
    short = rng.random() < 0.3   # a few hundred metres: less than one 1-km step
    for _ in range(1 if short else rng.randint(3, 12)):
        stop = rng.randint(2, 60)
        for _ in range(stop):
            t += 1
            rows.append((t, 0.0))
        target = rng.uniform(15, 50 if short else 135)
        acc = rng.uniform(1.5, 9)          # km/h per second
        while v < target:
            v = min(target, v + acc)
            t += 1
            rows.append((t, round(v, 1)))
        for _ in range(rng.randint(5, 40 if short else 300)):
            v = max(5.0, min(140.0, v + rng.uniform(-3, 3)))
            t += 1
            rows.append((t, round(v, 1)))
        dec = rng.uniform(3, 12)
        while v > 0:
            v = max(0.0, v - dec)
            t += 1
            rows.append((t, round(v, 1)))
    for _ in range(3):
        t += 1
        rows.append((t, 0.0))
    with open(path, "w") as f:
        f.write("# random drive\ntime_s,speed_kmh\n")
        for row in rows:
            f.write("%d,%g\n" % row)


def prop():
    """Random drive cycles (seeded): distance and energy within tolerance
    every time, on a 0.1-km and a 1-km odometer."""
    seed = int(os.environ.get("TRIP_PROPERTY_SEED", "20261122"))
    runs = int(os.environ.get("TRIP_PROPERTY_RUNS", "16"))
    rng = random.Random(seed)
    print("# seed %d, %d runs" % (seed, runs))
    for i in range(runs):
        path = os.path.join(work, "random%d.csv" % i)
        random_cycle(rng, path)
        res = rng.choice((100, 1000))
        start_km = rng.uniform(0, 999999)
        truth, log = sim(["--cycle", path, "--odo-resolution-m", str(res),
                          "--odo-start-km", "%.3f" % start_km])
        recs = replay(log)
        d = truth["distance_m"]
        dtol = 0.002 if res == 100 else 0.01
        # the acceptance tolerance, and (tighter) within 10 m: the speed
        # integral closes the first and last step to a few metres
        # (records carry whole metres and watt-hours: 1 of rounding)
        ok = (len(recs) == 1 and abs(recs[0]["distance_m"] - d) <= max(dtol * d, 1)
              and abs(recs[0]["distance_m"] - d) <= 10
              and rel(recs[0]["discharge_wh"], truth["discharge_wh"]) <= max(0.005, 2 / truth["discharge_wh"])
              and abs(recs[0]["regen_wh"] - truth["regen_wh"]) <= max(0.005 * truth["regen_wh"], 2)
              and recs[0]["flags"] == 0 and sane(recs[0]))
        tap.ok(ok, "random drive %d (%.2f km, %g-m odometer): within tolerance" % (i, d / 1000, res),
               json.dumps({"truth": {k: truth[k] for k in ("distance_m", "discharge_wh", "regen_wh")},
                           "records": recs}))


def resume():
    """A crash mid-trip: the checkpoint restores one trip with the whole
    distance, flagged resumed; with and without a restart gap."""
    truth, log = sim(["--cycle", WLTC, "--odo-resolution-m", "1000"])
    t0 = truth["records"][0]["start_s"]
    for gap_s, what in ((0, "no gap"), (5, "5 s restart")):
        ck = os.path.join(work, "trip.ck")
        stop = t0 + 1000
        recs = replay(log, ["--stop-at", "%.3f" % stop, "--checkpoint", ck])
        tap.ok(recs == [] and os.path.getsize(ck) > 0, "%s: crash at 1000 s leaves a checkpoint, "
               "no record" % what)
        rest = os.path.join(work, "rest.log")
        with open(log) as src, open(rest, "w") as dst:
            for line in src:
                ts = float(line[1:line.index(")")])
                if ts >= stop + gap_s:
                    dst.write(line)
        recs = replay(rest, ["--resume", ck])
        if not tap.ok(len(recs) == 1, "%s: one trip after the restart" % what, recs):
            continue
        r = recs[0]
        tap.ok(r["flags"] & FLAGS["resumed"], "%s: flagged resumed (%s)" % (what, r["flag_names"]))
        tap.ok(abs(r["distance_m"] - truth["distance_m"]) <= 1000,
               "%s: whole distance %d m vs truth %.1f m (within one 1-km step)"
               % (what, r["distance_m"], truth["distance_m"]))
        tap.ok(abs(r["start_s"] - t0) <= 1, "%s: the trip starts where it started" % what)
        if gap_s == 0:
            compare_trip(r, truth, 0.01, 0.005, what)
    # a damaged checkpoint is refused, not half-used
    with open(ck, "r+b") as f:
        f.seek(40)
        b = f.read(1)
        f.seek(40)
        f.write(bytes([b[0] ^ 0x55]))
    p = subprocess.run([REPLAY, "--profile", PROFILE, "--resume", ck, log],
                       capture_output=True, text=True, check=False)
    tap.ok(p.returncode != 0 and "cannot restore" in p.stderr, "a corrupt checkpoint is refused")


def co2():
    """co2_g with non-default parameters from an eco2d.conf: recomputed
    from the record alone."""
    conf = os.path.join(work, "eco2d.conf")
    with open(conf, "w") as f:
        f.write("[can]\nprofile = %s\n[key]\nuri = file:%s/device.key\n[store]\n"
                "path = %s/eco2.db\n[ledger]\nenabled = false\n" % (PROFILE, work, work))
        f.write("[method]\nbaseline_g_per_km = 150.5\ngrid_g_per_kwh = 581\n"
                "charge_efficiency = 0.87\ntd_loss = 0.065\n[trip]\nidle_end_s = 200\n")
    truth, log = sim(["--cycle", WLTC])
    recs = replay(log, ["--config", conf])
    if tap.ok(len(recs) == 1, "one record with a configured method"):
        r = recs[0]
        tap.ok((r["baseline_mg_per_km"], r["grid_mg_per_kwh"], r["charge_eff_permille"],
                r["td_loss_permille"]) == (150500, 581000, 870, 65),
               "parameters copied into the record as integers")
        tap.ok(r["co2_g"] == co2_oracle(r), "co2_g %d = independent recomputation %d"
               % (r["co2_g"], co2_oracle(r)))


def profiles():
    """Every shipped profile: the simulator encodes the drive with that
    vehicle's DBC (Motorola signals, multiplexed counters, J1939 ids) and
    the trip calculator reads it back. Profiles without a speed signal
    cannot measure the first and last partial odometer steps (at most two
    steps short: conservative), nor the standing start before the first
    step."""
    global PROFILE
    keep = PROFILE
    for name in ("reference", "tesla-model3", "hyundai-kona-ev", "nissan-leaf-aze0", "j1939"):
        PROFILE = os.path.join(SRC, "can", "profiles", name + ".profile")
        try:
            truth, log = sim(["--cycle", WLTC, "--odo-resolution-m", "100"])
            recs = replay(log)
        finally:
            PROFILE = keep
        if not tap.ok(len(recs) == 1 and recs[0]["type"] == 1, "%s: one trip" % name, recs):
            continue
        r = recs[0]
        short = truth["distance_m"] - r["distance_m"]
        tap.ok(-5 <= short <= 250, "%s: distance %d m vs truth %.1f m (never more, at most two "
               "100-m steps less)" % (name, r["distance_m"], truth["distance_m"]))
        tap.ok(rel(r["discharge_wh"], truth["discharge_wh"]) <= 0.01
               and rel(r["regen_wh"], truth["regen_wh"]) <= 0.01,
               "%s: energy %d/%d Wh vs truth %.1f/%.1f Wh (within 1 %%)"
               % (name, r["discharge_wh"], r["regen_wh"], truth["discharge_wh"], truth["regen_wh"]))
        tap.ok(r["flags"] & ~FLAGS["ended_early"] == 0, "%s: no anomaly (%s)" % (name, r["flag_names"]))


def main():
    if not (os.access(SIM, os.X_OK) and os.access(REPLAY, os.X_OK)):
        print("eco2-sim or trip-replay not built in %s" % BUILD)
        return 77
    checks = {"acceptance": acceptance, "segments": segments, "faults": faults,
              "property": prop, "resume": resume, "co2": co2, "profiles": profiles}
    for name in sys.argv[1:]:
        try:
            checks[name]()
        except (RuntimeError, OSError, ValueError, KeyError) as e:
            tap.ok(False, "%s: ran to the end" % name, e)
    return tap.done()


if __name__ == "__main__":
    rc = main()
    subprocess.run(["rm", "-rf", work], check=False)
    sys.exit(rc)
