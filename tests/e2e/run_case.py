#!/usr/bin/python3
"""Runs one golden pcap case (tests/e2e/cases/<name>/) through tierwalld.

Usage: run_case.py [--keep] [--timeout S] TIERWALLD CASE_DIR

Steps: make_input.py writes input.pcap into a fresh temp dir; tierwalld runs
in wire mode over two net_pcap ports (all input arrives on port 0, what it
allows leaves on port 1 as out1.pcap) until it has been idle for 500 ms;
then every check in CASE_DIR/expected.yaml is made and all failures are
printed (not just the first). Exit codes follow meson: 0 pass, 1 fail,
77 skip (not root: the DPDK EAL needs it).

expected.yaml (every key optional unless noted):
  args: [--flows, "4"]        extra tierwalld options (after --)
  update_after_packets: N     with an update/ dir: --policy-update update/
                              --policy-update-after-packets N
  forwarded: N                required: frames in out1.pcap
  forwarded_frames: [i, ...]  out1.pcap must be exactly these input frames,
                              in this order, byte for byte
  packets: {received, forwarded, dropped}   stats.json "packets"
  drops: {reason: N}          listed reasons must match; every other reason
                              in stats.json must be 0
  flows: {created: N, active: N}
  generation: N
  policies:                   per-policy counters, one entry per trace entry
    - name: app.allow-http    trace name as in twctl trace
      staged: false           default false
      direction: ingress      ingress | egress
      action: allow           allow | deny | pass
      rule: 0                 rule index, -1 = end of tier
      frames: [0, 1, 2]       input frames counted: packets = len, bytes =
                              sum of their lengths; or `packets: N` (bytes
                              then unchecked)
    - {name: t2.second, zero: true}   present, every counter zero
  For every policy named there, all counters not listed must be zero (the
  policy level "ingress/egress x allow/deny/pass" and the rules list).
Port counters are always checked: port 0 rx = input frames, port 1 tx =
forwarded, port 0 tx = port 1 rx = 0.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import yaml

ACTIONS = ("allow", "deny", "pass", "log")
DIRECTIONS = ("ingress", "egress")


def read_pcap(path):
    """Returns the frames of a classic pcap file as a list of bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: {len(data)} bytes, not a pcap file")
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise ValueError(f"{path}: bad pcap magic {magic:#x}")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


def write_empty_pcap(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))


def describe(frame):
    """One line for a frame in a diff; scapy's summary when available."""
    try:
        from scapy.all import Ether
        return f"{len(frame)}B {Ether(frame).summary()}"
    except Exception:  # scapy missing or the frame confuses it
        return f"{len(frame)}B {frame[:32].hex()}..."


class Checker:
    def __init__(self):
        self.failures = []

    def eq(self, what, got, want):
        if got != want:
            self.failures.append(f"{what}: got {got!r}, want {want!r}")

    def fail(self, msg):
        self.failures.append(msg)


def check_forwarded(c, exp, inputs, out1):
    c.eq("forwarded frames on port 1 (out1.pcap)", len(out1), exp["forwarded"])
    if "forwarded_frames" not in exp:
        return
    want = [inputs[i] for i in exp["forwarded_frames"]]
    if out1 == want:
        return
    lines = ["out1.pcap differs from the expected input frames "
             f"{exp['forwarded_frames']}:"]
    index_of = {}
    for i, fr in enumerate(inputs):
        index_of.setdefault(fr, i)
    for k in range(max(len(out1), len(want))):
        got = out1[k] if k < len(out1) else None
        w = want[k] if k < len(want) else None
        mark = "  " if got == w else "!!"
        gdesc = "(none)" if got is None else (
            f"input[{index_of[got]}]" if got in index_of else
            "NOT AN INPUT FRAME " + describe(got))
        wdesc = "(none)" if w is None else f"input[{exp['forwarded_frames'][k]}]"
        lines.append(f"  {mark} out1[{k}]: got {gdesc}, want {wdesc}")
    c.fail("\n".join(lines))


def check_stats(c, exp, stats, inputs):
    if "packets" in exp:
        for k, v in exp["packets"].items():
            c.eq(f"packets.{k}", stats.get("packets", {}).get(k), v)
    drops = stats.get("drops", {})
    want_drops = exp.get("drops", {})
    for k, v in want_drops.items():
        c.eq(f"drops.{k}", drops.get(k), v)
    for k, v in drops.items():
        if k not in want_drops and v != 0:
            c.fail(f"drops.{k}: got {v}, want 0 (not listed in expected.yaml)")
    for k, v in exp.get("flows", {}).items():
        c.eq(f"flows.{k}", stats.get("flows", {}).get(k), v)
    if "generation" in exp:
        c.eq("generation", stats.get("generation"), exp["generation"])

    ports = {p.get("port"): p for p in stats.get("ports", [])}
    for port, key, want in ((0, "rx", len(inputs)), (0, "tx", 0), (1, "rx", 0),
                            (1, "tx", exp["forwarded"])):
        c.eq(f"ports[{port}].{key}", ports.get(port, {}).get(key), want)

    check_policies(c, exp.get("policies", []), stats.get("policies", []), inputs)


def check_policies(c, want_entries, got_policies, inputs):
    by_key = {}
    for p in got_policies:
        key = (p.get("name"), bool(p.get("staged", False)))
        if key in by_key:
            c.fail(f"stats.json lists policy {key[0]!r} (staged={key[1]}) twice")
        by_key[key] = p

    # (name, staged) -> {(direction, action): [packets, bytes or None]} and
    # the same per rule.
    want_pol, want_rules = {}, {}
    for e in want_entries:
        key = (e["name"], bool(e.get("staged", False)))
        want_pol.setdefault(key, {})
        want_rules.setdefault(key, {})
        if e.get("zero"):
            continue
        d, a, r = e["direction"], e["action"], e["rule"]
        assert d in DIRECTIONS and a in ACTIONS, e
        if "frames" in e:
            pk, by = len(e["frames"]), sum(len(inputs[i]) for i in e["frames"])
        else:
            pk, by = e["packets"], None
        pol = want_pol.setdefault(key, {})
        acc = pol.setdefault((d, a), [0, 0])
        acc[0] += pk
        acc[1] = None if (by is None or acc[1] is None) else acc[1] + by
        want_rules.setdefault(key, {})[(d, r, a)] = [pk, by]

    for key, pol_want in want_pol.items():
        name = f"{key[0]}{' (staged)' if key[1] else ''}"
        p = by_key.get(key)
        if p is None:
            known = sorted(f"{n}{' (staged)' if s else ''}" for n, s in by_key)
            c.fail(f"policy {name}: missing from stats.json (has: {known})")
            continue
        for d in DIRECTIONS:
            for a in ACTIONS:
                # A counter left out of stats.json reads as zero.
                got = p.get(d, {}).get(a, {})
                pk, by = pol_want.get((d, a), [0, 0])
                c.eq(f"policy {name} {d}.{a}.packets", got.get("packets", 0), pk)
                if by is not None:
                    c.eq(f"policy {name} {d}.{a}.bytes", got.get("bytes", 0), by)
        rules_got = {}
        for r in p.get("rules", []):
            rk = (r.get("direction"), r.get("index"), r.get("action"))
            acc = rules_got.setdefault(rk, [0, 0])
            acc[0] += r.get("packets", 0)
            acc[1] += r.get("bytes", 0)
        for rk, (pk, by) in want_rules[key].items():
            got = rules_got.get(rk, [0, 0])
            what = f"policy {name} rule {rk[0]}[{rk[1]}] {rk[2]}"
            c.eq(what + " packets", got[0], pk)
            if by is not None:
                c.eq(what + " bytes", got[1], by)
        for rk, (pk, _) in rules_got.items():
            if rk not in want_rules[key] and pk != 0:
                c.fail(f"policy {name} rule {rk[0]}[{rk[1]}] {rk[2]}: got {pk} "
                       "packets, want 0 (not listed in expected.yaml)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tierwalld")
    ap.add_argument("case_dir")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work dir (always kept on failure)")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("SKIP: tierwalld needs root (DPDK EAL)")
        return 77
    case_dir = os.path.abspath(args.case_dir)
    name = os.path.basename(case_dir.rstrip("/"))
    with open(os.path.join(case_dir, "expected.yaml")) as f:
        exp = yaml.safe_load(f)

    work = tempfile.mkdtemp(prefix=f"tw-e2e-{name}-")
    inp = os.path.join(work, "input.pcap")
    # No __pycache__ in the source tree from importing e2e_pcap.
    env = dict(os.environ, E2E_QUIET="0", PYTHONDONTWRITEBYTECODE="1")
    gen = subprocess.run([sys.executable, os.path.join(case_dir, "make_input.py"), inp],
                         cwd=case_dir, env=env, capture_output=True, text=True)
    if gen.returncode != 0:
        print(f"FAIL: make_input.py exited {gen.returncode}\n{gen.stdout}{gen.stderr}")
        return 1
    print(f"input.pcap ({work}):\n{gen.stdout}", end="")
    empty = os.path.join(work, "empty.pcap")
    write_empty_pcap(empty)
    out0, out1 = os.path.join(work, "out0.pcap"), os.path.join(work, "out1.pcap")
    stats_path = os.path.join(work, "stats.json")

    prefix = f"tw-e2e-{name}-{os.getpid()}"
    cmd = [os.path.abspath(args.tierwalld),
           "--no-huge", "-m", "512", "--no-pci",
           "--file-prefix", prefix,
           "-l", "0,1", "--log-level=error",
           f"--vdev=net_pcap0,rx_pcap={inp},tx_pcap={out0}",
           f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={out1}",
           "--", "--forward", "wire", "-f", os.path.join(case_dir, "policy"),
           "--stop-after-idle", "500", "--stats-json", stats_path]
    if "update_after_packets" in exp:
        cmd += ["--policy-update", os.path.join(case_dir, "update"),
                "--policy-update-after-packets", str(exp["update_after_packets"])]
    cmd += [str(a) for a in exp.get("args", [])]
    print("command:", " ".join(cmd))

    try:
        run = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                             timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        print(f"FAIL: tierwalld still running after {args.timeout}s (killed)")
        print((e.stdout or b"")[-4000:], (e.stderr or b"")[-4000:])
        print(f"work dir kept: {work}")
        return 1
    # EAL leaves its runtime dir behind; one per run would pile up.
    shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
    with open(os.path.join(work, "tierwalld.log"), "w") as f:
        f.write(run.stdout + run.stderr)

    c = Checker()
    if run.returncode != 0:
        c.fail(f"tierwalld exited {run.returncode}, want 0")
    inputs = read_pcap(inp)
    out1_frames = None
    try:
        out1_frames = read_pcap(out1)
        out0_frames = read_pcap(out0)
        c.eq("frames in out0.pcap (port 0 tx)", len(out0_frames), 0)
    except (OSError, ValueError) as e:
        c.fail(f"cannot read the output pcaps: {e}")
    stats = None
    try:
        with open(stats_path) as f:
            stats = json.load(f)
    except (OSError, ValueError) as e:
        c.fail(f"cannot read stats.json: {e}")
    if out1_frames is not None:
        check_forwarded(c, exp, inputs, out1_frames)
    if stats is not None:
        check_stats(c, exp, stats, inputs)

    if c.failures:
        print(f"FAIL: case {name}: {len(c.failures)} check(s) failed")
        for msg in c.failures:
            print("  - " + msg)
        tail = (run.stdout + run.stderr)[-3000:]
        if tail:
            print("tierwalld output (tail):\n" + tail)
        print(f"work dir kept: {work} (stats.json, out1.pcap, tierwalld.log)")
        return 1
    print(f"PASS: case {name}")
    if args.keep:
        print(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
