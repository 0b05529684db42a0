#!/usr/bin/python3
"""tierwalld as a daemon, end to end with the real twctl:

  1. crash/restart: a stream of `twctl apply` (one- and two-document files)
     is cut by kill -9 at three different points; after each restart every
     apply twctl reported as committed is there at its revision, the store's
     revision is at least the highest reported, nothing is half applied,
     nothing never sent is there, and `twctl audit verify` passes;
  2. audit tamper: one byte of one audit record changed in the SQLite file
     while the daemon is down makes tierwalld refuse to start (DATA_LOSS
     naming that record) and, started with --recover-store, `twctl audit
     verify` fail with DATA_LOSS naming that record;
  3. TLS: server certificate checked against the CA, bearer token over TLS,
     anonymous remote calls UNAUTHENTICATED, a client certificate's CN/O as
     identity under RBAC (read allowed, write PERMISSION_DENIED naming alice),
     a wrong CA UNAVAILABLE, the Unix socket still the local admin;
  4. metrics: /metrics on --metrics-addr (rule counters, program generation,
     apply latency histogram), 404 elsewhere; health only with python3-grpcio;
  5. flow log file: denied SYNs replayed over net_pcap land in flows.log
     (0640) with the end-of-tier deny policy string; a tiny
     --flow-log-max-bytes rotates, keeping at most --flow-log-max-files.

usage: daemon_test.py TIERWALLD TWCTL EXAMPLES_DIR   (root; exit 77 = skip)
"""
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

if os.geteuid() != 0:
    print("SKIP: needs root (DPDK EAL)")
    sys.exit(77)

tierwalld, twctl, examples = [os.path.abspath(a) for a in sys.argv[1:4]]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

work = tempfile.mkdtemp(prefix="tw-daemon-")
prefixes = []
procs = []
T0 = time.monotonic()

ADMIN_TOKEN = "kadmin-token-%08x" % random.getrandbits(32)


class Failure(Exception):
    pass


def fail(msg, out=""):
    raise Failure(msg + ("\n" + out if out else ""))


def check(cond, msg, out=""):
    if not cond:
        fail(msg, out)
    print("  ok: " + msg)


def section(title):
    print("\n== %s (t=%.1fs)" % (title, time.monotonic() - T0), flush=True)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class Daemon:
    """One tierwalld process with its own --file-prefix and log file."""
    count = 0

    def __init__(self, dpdk_args, args, wait_for="generation 1 published", timeout=20, check_exit=True):
        Daemon.count += 1
        self.prefix = "tw-dt-%d-%d" % (os.getpid(), Daemon.count)
        prefixes.append(self.prefix)
        self.log_path = os.path.join(work, "tierwalld-%d.log" % Daemon.count)
        self.log = open(self.log_path, "w+")
        cmd = [tierwalld, "--no-huge", "-m", "256", "--no-pci", "--file-prefix", self.prefix, "-l", "0,1",
               "--log-level=error"] + dpdk_args + ["--"] + args
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, cwd=work)
        procs.append(self.p)
        if wait_for is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wait_for in self.text():
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        fail("tierwalld did not come up (waiting for %r)" % wait_for, self.text())

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def port(self, pattern):
        m = re.search(pattern, self.text())
        if not m:
            fail("no %r in the daemon log" % pattern, self.text())
        return int(m.group(1))

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=10)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("tierwalld did not stop within 30 s after SIGTERM", self.text())
        if rc != 0:
            fail("tierwalld exited %d after SIGTERM" % rc, self.text())


def tw(*args, sock=None, token=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERWALL_")}
    if sock:
        env["TIERWALL_ADDR"] = "unix:" + sock
    if token:
        env["TIERWALL_TOKEN"] = token
    return subprocess.run([twctl] + list(args), capture_output=True, text=True, env=env, timeout=timeout)


def out(r):
    return "rc=%d\nstdout: %s\nstderr: %s" % (r.returncode, r.stdout.strip(), r.stderr.strip())


write(os.path.join(work, "tokens.yaml"),
      '- token: "%s"\n  user: kubernetes-admin\n  groups: [system-admins]\n' % ADMIN_TOKEN)
RBAC = os.path.join(work, "rbac.yaml")
write(RBAC, """roles:
  - name: admin
    rules:
      - verbs: ["*"]
        resources: ["*"]
  - name: reader
    rules:
      - verbs: [get, list, watch]
        resources: ["*"]
bindings:
  - role: admin
    users: [kubernetes-admin]
  - role: reader
    groups: [shop-team]
""")
TOKENS = os.path.join(work, "tokens.yaml")
NULL_PORTS = ["--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1"]
SEED = ["-f", os.path.join(examples, "base"), "-f", os.path.join(examples, "healthy")]


def policy_doc(name, port):
    return ("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
            "metadata:\n  name: app-hipstershop.%s\n  namespace: hipstershop\n"
            "spec:\n  tier: app-hipstershop\n  order: %d\n  selector: app == '%s'\n"
            "  types: [Ingress]\n  ingress:\n    - action: Allow\n      protocol: TCP\n"
            "      destination:\n        ports: [%d]\n" % (name, 500 + port % 1000, name, port))


def list_policies(sock):
    r = tw("get", "np", "-n", "hipstershop", "-o", "json", sock=sock)
    if r.returncode != 0:
        fail("twctl get np -n hipstershop after restart", out(r))
    items = json.loads(r.stdout)["items"]
    return {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in items}


def audit_verify(sock):
    return tw("audit", "verify", sock=sock)


# --- 1. crash/restart ---------------------------------------------------------
def crash_rounds():
    section("1. kill -9 mid-stream of applies, restart on the same state dir")
    state = os.path.join(work, "state")
    sock = os.path.join(state, "tierwall.sock")
    applies_per_round = 60
    # Reported applies before the kill, per round; 3 and 15 put a two-document
    # apply (every 4th) in flight at the kill.
    kill_after = [3, 15, 30]
    d = Daemon(NULL_PORTS, ["--forward", "wire", "--state-dir", state] + SEED)
    for rnd, k in enumerate(kill_after):
        files = []
        for i in range(applies_per_round):
            names = ["r%dp%d" % (rnd, i)]
            if i % 4 == 3:  # a two-document apply: both or neither
                names = [names[0] + "a", names[0] + "b"]
            path = os.path.join(work, "apply-r%d-%d.yaml" % (rnd, i))
            write(path, "---\n".join(policy_doc(n, 1000 + rnd * 100 + i * 2 + j) for j, n in enumerate(names)))
            files.append((path, ["app-hipstershop." + n for n in names]))
        results = [None] * applies_per_round  # (rc, revision or None, output)
        attempted = [0]
        killed = threading.Event()
        early_errors = []

        def stream():
            for i, (path, _) in enumerate(files):
                attempted[0] = i + 1
                r = tw("apply", "-f", path, sock=sock, timeout=30)
                revs = {int(m) for m in re.findall(r"applied \(revision (\d+)", r.stdout)}
                rev = revs.pop() if r.returncode == 0 and len(revs) == 1 else None
                results[i] = (r.returncode, rev, out(r))
                if r.returncode != 0 or rev is None:
                    if not killed.is_set():
                        early_errors.append("apply %d before the kill: %s" % (i, out(r)))
                    return

        th = threading.Thread(target=stream)
        th.start()
        deadline = time.monotonic() + 60
        while sum(1 for x in results if x) < k and th.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.04))  # land inside an apply, not between
        killed.set()
        d.kill9()
        th.join(timeout=60)
        if early_errors:
            fail("round %d: an apply failed before the daemon was killed" % rnd, early_errors[0])
        reported = {i: res[1] for i, res in enumerate(results) if res and res[0] == 0 and res[1]}
        n_rep = len(reported)
        unreported = [i for i in range(attempted[0]) if i not in reported]
        print("round %d: %d applies reported committed, %d attempted without a report, kill -9 at t=%.1fs"
              % (rnd, n_rep, len(unreported), time.monotonic() - T0))
        if n_rep >= applies_per_round:
            fail("round %d: the kill came after the whole stream" % rnd)

        d = Daemon(NULL_PORTS, ["--forward", "wire", "--state-dir", state])
        have = list_policies(sock)
        for i, rev in reported.items():
            for name in files[i][1]:
                if have.get(name) != rev:
                    fail("round %d: apply %d was reported as revision %d but %s is %s after the restart"
                         % (rnd, i, rev, name, "missing" if name not in have else "at revision %d" % have[name]))
        check(True, "round %d: all %d reported applies present at their reported revisions" % (rnd, n_rep))
        for i in unreported:
            present = [n for n in files[i][1] if n in have]
            if present and len(present) != len(files[i][1]):
                fail("round %d: apply %d (not reported) is half there: %s of %s" % (rnd, i, present, files[i][1]))
            if present and n_rep and min(have[n] for n in present) <= max(reported.values()):
                fail("round %d: unreported apply %d committed before a reported one" % (rnd, i))
            print("  apply %d (in flight at the kill, %d document(s)): %s" %
                  (i, len(files[i][1]), "committed" if present else "not committed"))
        stray = [n for i in range(attempted[0], applies_per_round) for n in files[i][1] if n in have]
        check(not stray, "round %d: nothing from the %d applies never sent is in the store"
              % (rnd, applies_per_round - attempted[0]), str(stray))
        two_doc = sum(1 for i in reported if len(files[i][1]) == 2)
        print("  (%d of the reported applies were two-document files, both documents present)" % two_doc)
        r = audit_verify(sock)
        m = re.search(r"revision (\d+)", r.stdout)
        check(r.returncode == 0 and m, "round %d: twctl audit verify passes after the restart (%s)"
              % (rnd, r.stdout.strip()), out(r))
        top = max(reported.values()) if reported else 0
        check(int(m.group(1)) >= top, "round %d: store revision %s >= highest reported %d"
              % (rnd, m.group(1), top))
    return d, state, sock


# --- 2. audit tamper ------------------------------------------------------------
def tamper(d, state, sock):
    section("2. one byte of an audit record changed while the daemon is down")
    d.stop()
    db_path = os.path.join(state, "tierwall.db")
    check(os.path.exists(db_path), "the store is %s" % db_path)
    db = sqlite3.connect(db_path)
    (n,) = db.execute("SELECT COUNT(*) FROM audit").fetchone()
    seq, user = db.execute("SELECT seq, user FROM audit ORDER BY seq LIMIT 1 OFFSET ?", (n // 2,)).fetchone()
    flipped = chr(ord(user[0]) ^ 0x20) + user[1:]  # 'system:admin' -> 'System:admin'
    db.execute("UPDATE audit SET user = ? WHERE seq = ?", (flipped, seq))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print("audit record %d of %d: user %r -> %r" % (seq, n, user, flipped))
    # Start-up checks the chain: the daemon refuses the store, naming the
    # record; --recover-store runs it anyway and audit verify keeps saying so.
    d = Daemon(NULL_PORTS, ["--forward", "wire", "--state-dir", state], wait_for=None)
    rc = d.p.wait(timeout=60)
    check(rc != 0 and "DATA_LOSS" in d.text() and ("record %d" % seq) in d.text(),
          "tierwalld refuses to start on the tampered store (exit %d), naming record %d" % (rc, seq),
          d.text())
    d = Daemon(NULL_PORTS, ["--forward", "wire", "--state-dir", state, "--recover-store"])
    r = audit_verify(sock)
    check(r.returncode != 0 and "DATA_LOSS" in r.stderr and ("record %d" % seq) in r.stderr,
          "twctl audit verify fails with DATA_LOSS naming record %d: %s" % (seq, r.stderr.strip()), out(r))
    d.stop()


# --- 3 + 4. TLS, metrics ------------------------------------------------------------
def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, cwd=work)
    if r.returncode != 0:
        fail("openssl " + " ".join(args), r.stderr)


def make_certs():
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "wrongca"):
        openssl("req", "-x509", *ec, "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "1",
                "-subj", "/CN=tierwall test " + ca)
    write(os.path.join(work, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    write(os.path.join(work, "client.ext"), "extendedKeyUsage=clientAuth\n")
    for name, subj, serial in (("server", "/CN=tierwalld", "11"), ("alice", "/CN=alice/O=shop-team", "12")):
        openssl("req", "-new", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial,
                "-days", "1", "-out", name + ".pem",
                "-extfile", "server.ext" if name == "server" else "client.ext")


def metrics_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def metric_value(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def tls_and_metrics():
    section("3. TLS listener, client certificates, RBAC; 4. metrics")
    make_certs()
    p = lambda n: os.path.join(work, n)
    state = p("tls-state")
    sock = os.path.join(state, "tierwall.sock")
    d = Daemon(NULL_PORTS, ["--forward", "wire", "--state-dir", state, "--tokens", TOKENS, "--rbac", RBAC,
                            "--api-listen", "127.0.0.1:0", "--tls-cert", p("server.pem"),
                            "--tls-key", p("server.key"), "--tls-client-ca", p("ca.pem"),
                            "--metrics-addr", "127.0.0.1:0"] + SEED)
    tls_port = d.port(r"TLS port (\d+)")
    metrics_port = d.port(r"metrics on \S+ \(port (\d+)\)")
    print("TLS port %d, metrics port %d" % (tls_port, metrics_port))
    server = ["--server", "127.0.0.1:%d" % tls_port, "--timeout", "10"]

    r = tw("get", "tier", *server, "--ca", p("ca.pem"), "--token", ADMIN_TOKEN)
    check(r.returncode == 0 and "app-hipstershop" in r.stdout and "security" in r.stdout,
          "get tier over TLS with the admin's token (server cert checked against the CA)", out(r))
    r = tw("get", "tier", *server, "--ca", p("ca.pem"))
    check(r.returncode != 0 and "UNAUTHENTICATED" in r.stderr,
          "no token, no client certificate: UNAUTHENTICATED (%s)" % r.stderr.strip(), out(r))
    alice = ["--ca", p("ca.pem"), "--cert", p("alice.pem"), "--key", p("alice.key")]
    r = tw("get", "tier", *server, *alice)
    check(r.returncode == 0 and "security" in r.stdout,
          "client certificate CN=alice O=shop-team, read-only role: get tier works", out(r))
    r = tw("apply", "-f", os.path.join(examples, "base", "30-security.yaml"), *server, *alice)
    check(r.returncode != 0 and "PERMISSION_DENIED" in r.stderr and 'user "alice"' in r.stderr
          and 'tier "security"' in r.stderr,
          "alice's apply to tier security is PERMISSION_DENIED: %s" % r.stderr.strip(), out(r))
    r = tw("get", "tier", *server, "--ca", p("wrongca.pem"), "--token", ADMIN_TOKEN)
    check(r.returncode != 0 and "UNAVAILABLE" in r.stderr,
          "a CA that did not sign the server certificate: UNAVAILABLE", out(r))
    r = tw("get", "tier", *server, "--ca", p("ca.pem"), "--token", "not-a-token")
    check(r.returncode != 0 and "UNAUTHENTICATED" in r.stderr, "a wrong token over TLS: UNAUTHENTICATED", out(r))
    # Applying the file as stored would be "unchanged": the admin edits it.
    with open(os.path.join(examples, "base", "30-security.yaml")) as f:
        edited = f.read().replace("  name: security.block-threat-feed\n",
                                  "  name: security.block-threat-feed\n  labels: {reviewed: \"yes\"}\n", 1)
    with open(p("security-edited.yaml"), "w") as f:
        f.write(edited)
    r = tw("apply", "-f", p("security-edited.yaml"), *server, "--ca", p("ca.pem"), "--token", ADMIN_TOKEN)
    check(r.returncode == 0 and "applied (revision 2" in r.stdout,
          "the admin's token over TLS may apply to tier security", out(r))
    r = tw("history", "gnp", "security.block-threat-feed", *server, "--ca", p("ca.pem"), "--token", ADMIN_TOKEN)
    check(r.returncode == 0 and re.search(r"^2 +\S+ +kubernetes-admin +apply", r.stdout, re.M),
          "history names kubernetes-admin for the TLS apply", out(r))

    status, text = metrics_get(metrics_port, "/metrics")
    check(status == 200 and "tierwall_policy_rule_packets_total{" in text,
          "/metrics: 200 with tierwall_policy_rule_packets_total{...} lines", text[:2000])
    gen0 = metric_value(text, "tierwall_program_generation")
    check(gen0 is not None and gen0 >= 1, "/metrics: tierwall_program_generation %s" % gen0)

    # The Unix socket is still the local administrator (no token, no RBAC).
    r = tw("get", "tier", sock=sock)
    check(r.returncode == 0 and "security" in r.stdout, "Unix socket: get tier as the local admin", out(r))
    r = tw("apply", "-f", os.path.join(examples, "broken", "51-app-frontend.yaml"), sock=sock)
    check(r.returncode == 0 and "revision 3" in r.stdout, "Unix socket: apply as system:admin", out(r))
    r = tw("history", "np", "app-hipstershop.frontend", "-n", "hipstershop", sock=sock)
    check(r.returncode == 0 and re.search(r"^3 +\S+ +system:admin +apply", r.stdout, re.M),
          "history names system:admin for the socket's apply", out(r))

    status, text = metrics_get(metrics_port, "/metrics")
    count = metric_value(text, "tierwall_policy_apply_seconds_count")
    gen1 = metric_value(text, "tierwall_program_generation")
    check(count is not None and count >= 1, "/metrics: tierwall_policy_apply_seconds_count %s >= 1 after an apply"
          % count)
    check(gen1 is not None and gen1 > gen0, "/metrics: tierwall_program_generation %s -> %s" % (gen0, gen1))
    status, _ = metrics_get(metrics_port, "/other")
    check(status == 404, "/other: 404 (got %d)" % status)

    try:
        import grpc  # noqa: F401  (Debian's python3-grpcio; not a dependency)
    except ImportError:
        print("  skip: health check (python3-grpcio not installed)")
    else:
        ch = grpc.insecure_channel("unix:" + sock)
        check_rpc = ch.unary_unary("/grpc.health.v1.Health/Check")
        resp = check_rpc(b"", timeout=5)  # HealthCheckRequest{} -> HealthCheckResponse{status}
        check(resp == b"\x08\x01", "health: SERVING while ports are up (%r)" % resp)
        ch.close()
    d.stop()


# --- 5. flow log file ------------------------------------------------------------
def pcap_run(name, frames, extra):
    from e2e_pcap import write_pcap
    dirn = os.path.join(work, name)
    os.makedirs(dirn)
    inp = os.path.join(dirn, "in.pcap")
    write_pcap(inp, frames)
    empty = os.path.join(dirn, "empty.pcap")
    write_pcap(empty, [])
    flows = os.path.join(dirn, "flows")
    d = Daemon(["--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (inp, os.path.join(dirn, "out0.pcap")),
                "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (empty, os.path.join(dirn, "out1.pcap"))],
               ["--forward", "wire", "-f", os.path.join(examples, "base"), "-f", os.path.join(examples, "broken"),
                "--flow-log-dir", flows, "--flow-log-flush", "1", "--stop-after-idle", "700"] + extra,
               wait_for=None)
    try:
        rc = d.p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fail("tierwalld (%s) still running after 30 s" % name, d.text())
    if rc != 0:
        fail("tierwalld (%s) exited %d" % (name, rc), d.text())
    return flows, d


def syn_frames(dports, sport0=40000):
    from scapy.all import IP, TCP, Ether
    return [bytes(Ether(src="02:00:00:00:01:0a", dst="02:00:00:00:01:0b") /
                  IP(src="198.18.1.10", dst="198.18.1.11", id=1) /
                  TCP(sport=sport0 + i, dport=dp, flags="S", seq=1000 + i))
            for i, dp in enumerate(dports)]


def read_records(path):
    recs = []
    with open(path) as f:
        for line in f:
            recs.append(json.loads(line))
    return recs


def flow_logs():
    section("5. flow log file: denied SYNs to frontend:8080 on the broken example")
    flows, d = pcap_run("flowlog", syn_frames([8080] * 4), [])
    path = os.path.join(flows, "flows.log")
    check(os.path.exists(path), "%s exists" % path, d.text())
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o640, "flows.log has mode 0640 (got %o)" % mode)
    recs = read_records(path)
    want = "2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"
    hit = [r for r in recs if r.get("action") == "deny" and r.get("reporter") == "dst"
           and r.get("dest_port") == 8080 and want in r.get("policies", {}).get("enforced_policies", [])]
    check(hit, "a JSON line: action deny, reporter dst, dest_port 8080, enforced_policies has %s" % want,
          "\n".join(json.dumps(r) for r in recs))
    print("  record: " + json.dumps(hit[0])[:400])

    section("5b. flow log rotation: --flow-log-max-bytes 300 --flow-log-max-files 2")
    flows, d = pcap_run("rotation", syn_frames(range(9000, 9030)),
                        ["--flow-log-max-bytes", "300", "--flow-log-max-files", "2"])
    names = sorted(os.listdir(flows))
    print("  files: %s" % names)
    check("flows.log.1" in names, "flows.log.1 appears", d.text())
    rotated = [n for n in names if n.startswith("flows.log.")]
    check(len(rotated) <= 2 and "flows.log.3" not in names, "at most 2 rotated files kept (%s)" % rotated)
    for n in names:
        for r in read_records(os.path.join(flows, n)):
            if r.get("dest_ip") is None and r.get("dest_port") is None:
                fail("%s: a line that is not a flow record: %s" % (n, r))


try:
    d, state, sock = crash_rounds()
    tamper(d, state, sock)
    tls_and_metrics()
    flow_logs()
    print("\nPASS: daemon (%.1fs)" % (time.monotonic() - T0))
except Failure as e:
    print("FAIL: %s" % e)
    sys.exit(1)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)
    for prefix in prefixes:
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
