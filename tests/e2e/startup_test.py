#!/usr/bin/python3
"""tierwalld checks and binds everything before any port starts:

  - a control run (good config) forwards the allowed SYNs, so an empty output
    below means "nothing forwarded", not "nothing to forward";
  - a busy --api-listen, a busy --metrics-addr, a missing TLS file and an
    invalid tokens file each make tierwalld exit non-zero with a line naming
    the problem, and the wire port's output pcap holds no frame;
  - a SIGHUP during start-up (while the EAL initialises) neither kills the
    daemon nor is lost: it comes up and reloads (generation 2).

usage: startup_test.py TIERWALLD EXAMPLES_DIR   (root; exit 77 = skip)
"""
import re
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

if os.geteuid() != 0:
    print("SKIP: needs root (DPDK EAL)")
    sys.exit(77)

tierwalld, examples = [os.path.abspath(a) for a in sys.argv[1:3]]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_pcap import write_pcap  # noqa: E402

work = tempfile.mkdtemp(prefix="tw-startup-")
prefixes = []
RESOURCES = ["-f", os.path.join(examples, "base"), "-f", os.path.join(examples, "healthy")]


def fail(msg, log=""):
    print("FAIL: " + msg)
    if log:
        print(log)
    sys.exit(1)


def ok(msg):
    print("  ok: " + msg, flush=True)


def syn_frames(n=5):
    """loadgenerator -> frontend:8080 SYNs: allowed by the healthy shop."""
    from scapy.all import IP, TCP, Ether
    return [bytes(Ether(src="02:00:00:00:01:0a", dst="02:00:00:00:01:0b") /
                  IP(src="198.18.1.10", dst="198.18.1.11", id=1) /
                  TCP(sport=40000 + i, dport=8080, flags="S", seq=1000 + i)) for i in range(n)]


def frames_in(path):
    """Frames in a classic pcap; 0 when the file is missing or header-only."""
    if not os.path.exists(path):
        return 0
    data = open(path, "rb").read()
    n, off = 0, 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        off += 16 + caplen
        n += 1
    return n


def command(name, args):
    d = os.path.join(work, name)
    os.makedirs(d)
    inp, empty = os.path.join(d, "in.pcap"), os.path.join(d, "empty.pcap")
    write_pcap(inp, syn_frames())
    write_pcap(empty, [])
    prefix = "tw-su-%d-%s" % (os.getpid(), name)
    prefixes.append(prefix)
    out = os.path.join(d, "out1.pcap")
    cmd = [tierwalld, "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix, "-l", "0,1",
           "--log-level=error",
           "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (inp, os.path.join(d, "out0.pcap")),
           "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (empty, out),
           "--", "--forward", "wire", "--stop-after-idle", "700"] + RESOURCES + args
    return cmd, out, prefix


def run(name, args):
    cmd, out, _ = command(name, args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=work)
    return r, out


def tierwalld_lines(stderr):
    """tierwalld's own lines, less the informational port naming lines
    ('tierwalld: port N is "NAME"', printed as the ports are named)."""
    return [l for l in stderr.splitlines()
            if l.startswith("tierwalld:") and not re.match(r'tierwalld: port \d+ is "', l)]


def make_certs():
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    r = subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", "server.key", "-out", "server.pem",
                        "-days", "1", "-subj", "/CN=tierwalld", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, text=True, cwd=work)
    if r.returncode != 0:
        fail("openssl", r.stderr)
    return os.path.join(work, "server.pem"), os.path.join(work, "server.key")


def busy_port():
    """A listening socket on 127.0.0.1 (no SO_REUSEPORT), kept open."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def expect_refused(name, args, needle):
    r, out = run(name, args)
    lines = tierwalld_lines(r.stderr)
    if r.returncode == 0:
        fail("%s: tierwalld exited 0" % name, r.stderr)
    if not any(needle in l for l in lines):
        fail("%s: no tierwalld line naming %r" % (name, needle), r.stderr)
    if len(lines) != 1:
        fail("%s: want exactly one tierwalld line, got %d" % (name, len(lines)), r.stderr)
    if frames_in(out) != 0:
        fail("%s: %d frame(s) forwarded before the refusal" % (name, frames_in(out)), r.stderr)
    ok("%s: exit %d, %r, nothing forwarded" % (name, r.returncode, lines[0]))


try:
    r, out = run("control", [])
    if r.returncode != 0 or frames_in(out) != 5:
        fail("control run: want exit 0 and 5 frames forwarded, got %d and %d" % (r.returncode, frames_in(out)),
             r.stderr)
    ok("control run forwards the 5 allowed SYNs")

    cert, key = make_certs()
    sock, port = busy_port()
    expect_refused("busy-api-listen",
                   ["--state-dir", os.path.join(work, "s1"), "--api-listen", "127.0.0.1:%d" % port,
                    "--tls-cert", cert, "--tls-key", key],
                   "127.0.0.1:%d" % port)
    sock.close()

    sock, port = busy_port()
    expect_refused("busy-metrics-addr", ["--metrics-addr", "127.0.0.1:%d" % port], "127.0.0.1:%d" % port)
    sock.close()

    missing = os.path.join(work, "no-such-cert.pem")
    expect_refused("missing-tls-file",
                   ["--state-dir", os.path.join(work, "s2"), "--api-listen", "127.0.0.1:0",
                    "--tls-cert", missing, "--tls-key", key],
                   missing)

    tokens = os.path.join(work, "tokens.yaml")
    with open(tokens, "w") as f:
        f.write("- token: short\n  user: [not, a, name]\n")
    expect_refused("invalid-tokens", ["--state-dir", os.path.join(work, "s3"), "--tokens", tokens], tokens)

    # SIGHUP while the EAL is still initialising: the run directory of the
    # file prefix appears inside rte_eal_init, long before any port starts.
    cmd, out, prefix = command("early-sighup", [])
    cmd = [c for c in cmd if c not in ("--stop-after-idle", "700")]
    log = open(os.path.join(work, "early-sighup.log"), "w+")
    p = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=work)
    run_dir = "/var/run/dpdk/" + prefix
    deadline = time.monotonic() + 30
    while not os.path.exists(run_dir) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline and p.poll() is None:
        log.seek(0)
        text = log.read()
        if "generation 2 published" in text:
            break
        time.sleep(0.05)
    if p.poll() is not None:
        log.seek(0)
        fail("an early SIGHUP ended tierwalld (exit %s)" % p.returncode, log.read())
    if "generation 2 published" not in text:
        fail("an early SIGHUP was lost: no reload", text)
    p.send_signal(signal.SIGTERM)
    if p.wait(timeout=30) != 0:
        log.seek(0)
        fail("tierwalld did not stop cleanly after the early SIGHUP", log.read())
    ok("an early SIGHUP is remembered: the daemon came up and reloaded")
    print("PASS: startup")
finally:
    shutil.rmtree(work, ignore_errors=True)
    for prefix in prefixes:
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
