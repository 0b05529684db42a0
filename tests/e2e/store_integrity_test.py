#!/usr/bin/python3
"""tierwalld refuses to run a store that is not what it acknowledged:

  1. a row of the live resources table edited with sqlite3 while the daemon
     is down (the frontend policy's ingress rule removed): tierwalld exits
     non-zero with DATA_LOSS naming the revision; with --recover-store it
     starts, the policy is the audited one again, `twctl audit verify`
     passes and the audit log's last record is the recovery;
  2. the WAL deleted after kill -9 (acknowledged revisions would silently
     roll back): refused naming the lost revision; --recover-store starts
     and audits the recovery.

usage: store_integrity_test.py TIERWALLD TWCTL EXAMPLES_DIR   (root; exit 77 = skip)
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

if os.geteuid() != 0:
    print("SKIP: needs root (DPDK EAL)")
    sys.exit(77)

tierwalld, twctl, examples = [os.path.abspath(a) for a in sys.argv[1:4]]
work = tempfile.mkdtemp(prefix="tw-store-integrity-")
state = os.path.join(work, "state")
sock = os.path.join(state, "tierwall.sock")
db_path = os.path.join(state, "tierwall.db")
prefixes = []
SEED = ["-f", os.path.join(examples, "base"), "-f", os.path.join(examples, "healthy")]


def fail(msg, log=""):
    print("FAIL: " + msg)
    if log:
        print(log)
    sys.exit(1)


def ok(msg):
    print("  ok: " + msg, flush=True)


def start(args, wait=True):
    n = len(prefixes)
    prefix = "tw-si-%d-%d" % (os.getpid(), n)
    prefixes.append(prefix)
    log_path = os.path.join(work, "tierwalld-%d.log" % n)
    log = open(log_path, "w+")
    cmd = [tierwalld, "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix, "-l", "0,1",
           "--log-level=error", "--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1", "--",
           "--forward", "wire", "--state-dir", state] + args
    p = subprocess.Popen(cmd, stdout=log, stderr=log)
    text = lambda: open(log_path).read()
    if not wait:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("tierwalld kept running on a damaged store", text())
        return p, text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "generation 1 published" in text():
            return p, text
        if p.poll() is not None:
            break
        time.sleep(0.02)
    fail("tierwalld did not come up", text())


def stop(p):
    p.send_signal(signal.SIGTERM)
    if p.wait(timeout=30) != 0:
        fail("tierwalld did not stop cleanly")


def tw(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERWALL_")}
    env["TIERWALL_ADDR"] = "unix:" + sock
    return subprocess.run([twctl] + list(args), capture_output=True, text=True, env=env, timeout=60)


def refused(needle, what):
    p, text = start([], wait=False)
    lines = [l for l in text().splitlines() if l.startswith("tierwalld:")]
    if p.returncode == 0 or not any("DATA_LOSS" in l and needle in l for l in lines):
        fail("%s: want a non-zero exit with DATA_LOSS naming %r, got %d" % (what, needle, p.returncode), text())
    ok("%s: refused (exit %d): %s" % (what, p.returncode, [l for l in lines if needle in l][0]))


def last_audit_record():
    db = sqlite3.connect(db_path)
    row = db.execute("SELECT revision, verb, user, kind, name, after_yaml FROM audit "
                     "ORDER BY seq DESC LIMIT 1").fetchone()
    db.close()
    return row


def recovered(what):
    p, text = start(["--recover-store"])
    if "store recovered" not in text():
        fail("%s: no recovery line" % what, text())
    r = tw("audit", "verify")
    if r.returncode != 0:
        fail("%s: audit verify after the recovery" % what, r.stdout + r.stderr)
    return p, text, r.stdout.strip()


FRONTEND = ("np", "app-hipstershop.frontend", "-n", "hipstershop")
try:
    # 1. An edited row of the resources table.
    p, _ = start(SEED)
    before = tw("get", *FRONTEND, "-o", "yaml")
    if before.returncode != 0 or "ingress" not in before.stdout:
        fail("the seeded frontend policy", before.stdout + before.stderr)
    stop(p)
    db = sqlite3.connect(db_path)
    (yaml, revision) = db.execute("SELECT yaml, revision FROM resources WHERE name = "
                                  "'app-hipstershop.frontend'").fetchone()
    edited = yaml[:yaml.index("  ingress:")]  # the ingress rule is gone: the site would stop loading
    db.execute("UPDATE resources SET yaml = ? WHERE name = 'app-hipstershop.frontend'", (edited,))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    refused("revision %d" % revision, "an edited resources row")
    p, text, verify = recovered("edited row")
    now = tw("get", *FRONTEND, "-o", "yaml")
    if "ingress" not in now.stdout:
        fail("after the recovery the edited policy is enforced", now.stdout)
    stop(p)
    rec = last_audit_record()
    if rec[1] != "recover" or rec[3] != "Store" or "revision %d" % revision not in rec[5]:
        fail("the audit log's last record is not the recovery: %r" % (rec,))
    ok("--recover-store: the audited policy is back, %s, last audit record %r at revision %d"
       % (verify, rec[1], rec[0]))

    # 2. The WAL deleted after kill -9.
    p, _ = start([])
    for i in range(5):
        doc = os.path.join(work, "set-%d.yaml" % i)
        with open(doc, "w") as f:
            f.write("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: feed-%d\n"
                    "spec:\n  nets: [203.0.113.%d/32]\n" % (i, i))
        r = tw("apply", "-f", doc)
        if r.returncode != 0:
            fail("apply %d" % i, r.stdout + r.stderr)
    top = int(re.findall(r"revision (\d+)", r.stdout)[-1])
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    wal = db_path + "-wal"
    if not os.path.exists(wal) or os.path.getsize(wal) == 0:
        fail("no WAL after kill -9")
    os.remove(wal)
    refused("acknowledged revision %d is missing" % top, "a WAL deleted after kill -9")
    p, text, verify = recovered("deleted WAL")
    stop(p)
    rec = last_audit_record()
    if rec[1] != "recover" or "acknowledged revision %d" % top not in rec[5]:
        fail("the audit log's last record is not the recovery: %r" % (rec,))
    ok("--recover-store after the lost WAL: %s, the recovery audited at revision %d" % (verify, rec[0]))
    print("PASS: store integrity")
finally:
    shutil.rmtree(work, ignore_errors=True)
    for prefix in prefixes:
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
