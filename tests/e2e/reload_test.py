#!/usr/bin/python3
"""tierwalld reloads its -f resources on SIGHUP: a good reload publishes the
next generation, a bad one is refused with a message naming the problem and
the running program stays. Also: resources that cannot be loaded at start-up
stop the daemon (exit 2) before any port starts.

usage: reload_test.py TIERWALLD EXAMPLES_DIR   (root; exit 77 = skip)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if os.geteuid() != 0:
    print("SKIP: needs root (DPDK EAL)")
    sys.exit(77)

tierwalld, examples = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="tw-reload-")
prefix = "tw-reload-%d" % os.getpid()
policy = os.path.join(work, "policy")
shutil.copytree(os.path.join(examples, "base"), policy)
shutil.copy(os.path.join(examples, "broken", "51-app-frontend.yaml"), policy)
stats = os.path.join(work, "stats.json")
eal = ["--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix, "-l", "0,1", "--log-level=error",
       "--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1", "--"]


def fail(msg, log=""):
    print("FAIL: " + msg)
    if log:
        print(log)
    sys.exit(1)


try:
    # Start-up with a broken resource: exit 2, message names the file and field.
    bad = os.path.join(work, "bad.yaml")
    with open(bad, "w") as f:
        f.write("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\n"
                "spec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: ['80:70']}}]}\n")
    r = subprocess.run([tierwalld] + eal + ["-f", bad], capture_output=True, text=True, timeout=60)
    if r.returncode != 2 or "bad.yaml doc 1: spec.ingress[0].destination.ports[0]" not in r.stderr:
        fail("start-up with a bad resource: want exit 2 naming the field, got %d" % r.returncode, r.stderr)

    log = open(os.path.join(work, "tierwalld.log"), "w+")
    p = subprocess.Popen([tierwalld] + eal + ["-f", policy, "--stats-json", stats], stderr=log)
    time.sleep(1.5)
    if p.poll() is not None:
        log.seek(0)
        fail("tierwalld exited early", log.read())

    def wait_for(text):
        for _ in range(100):
            log.seek(0)
            if text in log.read():
                return True
            time.sleep(0.05)
        return False

    shutil.copy(os.path.join(examples, "healthy", "51-app-frontend.yaml"), policy)
    p.send_signal(signal.SIGHUP)
    if not wait_for("generation 2 published"):
        log.seek(0)
        fail("good reload not published", log.read())

    with open(os.path.join(policy, "99-broken.yaml"), "w") as f:
        f.write("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: y, namespace: hipstershop}\n"
                "spec: {tier: no-such-tier, selector: all()}\n")
    p.send_signal(signal.SIGHUP)
    if not wait_for("reload failed, keeping generation 2"):
        log.seek(0)
        fail("bad reload not refused", log.read())
    log.seek(0)
    if 'tier "no-such-tier" does not exist' not in log.read():
        fail("bad reload message does not name the missing tier")

    p.send_signal(signal.SIGTERM)
    if p.wait(timeout=30) != 0:
        fail("tierwalld did not stop cleanly")
    j = json.load(open(stats))
    if j["generation"] != 2:
        fail("final generation %d, want 2 (the bad reload must not replace it)" % j["generation"])
    names = {x["name"] for x in j["policies"]}
    if "hipstershop/app-hipstershop.frontend" not in names:
        fail("policies missing from stats")
    print("PASS: reload")
finally:
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
