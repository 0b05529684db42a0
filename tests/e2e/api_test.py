#!/usr/bin/python3
"""tierwalld's API end to end over its Unix socket, with the real twctl:
the seed story's change log. kubernetes-admin removes frontend's ingress rule
(twctl apply); history names the author; diff shows the removed rule; the
daemon publishes the new revision; alice (no RBAC rights) is refused with
PERMISSION_DENIED naming the tier; a wrong token is UNAUTHENTICATED; after a
restart the store still holds revision 2 and the daemon runs it.

usage: api_test.py TIERWALLD TWCTL EXAMPLES_DIR   (root; exit 77 = skip)
"""
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

tierwalld, twctl, examples = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="tw-api-")
prefix = "tw-api-%d" % os.getpid()
state = os.path.join(work, "state")
sock = os.path.join(state, "tierwall.sock")
with open(os.path.join(work, "tokens.yaml"), "w") as f:
    f.write('- token: "kadmin-token-0001"\n  user: kubernetes-admin\n'
            '- token: "alice-token-0002"\n  user: alice\n')
with open(os.path.join(work, "rbac.yaml"), "w") as f:
    f.write('roles:\n  - name: admin\n    rules:\n      - verbs: ["*"]\n        resources: ["*"]\n'
            'bindings:\n  - role: admin\n    users: [kubernetes-admin]\n')


def fail(msg, out=""):
    print("FAIL: " + msg)
    if out:
        print(out)
    sys.exit(1)


def start(extra):
    log = open(os.path.join(work, "tierwalld.log"), "a+")
    p = subprocess.Popen([tierwalld, "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix, "-l", "0,1",
                          "--log-level=error", "--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1", "--",
                          "--forward", "wire", "--state-dir", state,
                          "--tokens", os.path.join(work, "tokens.yaml"), "--rbac", os.path.join(work, "rbac.yaml")]
                         + extra, stderr=log)
    for _ in range(100):
        if os.path.exists(sock):
            return p, log
        if p.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    fail("tierwalld API did not come up", log.read())


def tw(*args, token=None):
    env = dict(os.environ, TIERWALL_ADDR="unix:" + sock)
    env.pop("TIERWALL_TOKEN", None)
    if token:
        env["TIERWALL_TOKEN"] = token
    return subprocess.run([twctl] + list(args), capture_output=True, text=True, env=env, timeout=60)


def stop(p):
    p.send_signal(signal.SIGTERM)
    if p.wait(timeout=30) != 0:
        fail("tierwalld did not stop cleanly")


try:
    p, log = start(["-f", os.path.join(examples, "base"), "-f", os.path.join(examples, "healthy")])
    r = tw("get", "np", "app-hipstershop.frontend", "-n", "hipstershop")
    if r.returncode != 0 or "loadgenerator" not in r.stdout or 'resourceVersion: "1"' not in r.stdout:
        fail("get after import", r.stdout + r.stderr)

    r = tw("apply", "-f", os.path.join(examples, "broken", "51-app-frontend.yaml"), token="kadmin-token-0001")
    if r.returncode != 0 or "revision 2" not in r.stdout:
        fail("apply as kubernetes-admin", r.stdout + r.stderr)
    for _ in range(100):
        log.seek(0)
        if "revision 2 published as generation 2" in log.read():
            break
        time.sleep(0.05)
    else:
        fail("revision 2 was not published")

    r = tw("history", "np", "app-hipstershop.frontend", "-n", "hipstershop")
    lines = [l.split() for l in r.stdout.splitlines()[1:]]
    if r.returncode != 0 or [(l[0], l[2], l[3]) for l in lines] != [("1", "system:admin", "apply"),
                                                                    ("2", "kubernetes-admin", "apply")]:
        fail("history", r.stdout + r.stderr)

    r = tw("diff", "np", "app-hipstershop.frontend", "-n", "hipstershop", "--from", "1", "--to", "2")
    removed = [l for l in r.stdout.splitlines() if l.startswith("-") and not l.startswith("---")]
    if r.returncode != 0 or "-  ingress:" not in removed or not any("loadgenerator" in l for l in removed):
        fail("diff does not show the removed ingress rule", r.stdout + r.stderr)

    r = tw("apply", "-f", os.path.join(examples, "healthy", "51-app-frontend.yaml"), token="alice-token-0002")
    if r.returncode == 0 or "PERMISSION_DENIED" not in r.stderr or 'in tier "app-hipstershop"' not in r.stderr:
        fail("alice must be refused", r.stdout + r.stderr)

    # SIGHUP re-reads the RBAC file: alice becomes an editor of app-hipstershop.
    with open(os.path.join(work, "rbac.yaml"), "w") as f:
        f.write('roles:\n  - name: admin\n    rules:\n      - verbs: ["*"]\n        resources: ["*"]\n'
                '  - name: shop-editor\n    rules:\n      - verbs: [get]\n        resources: [tiers]\n'
                '      - verbs: ["*"]\n        resources: [networkpolicies]\n'
                '        resourceNames: ["app-hipstershop.*"]\n'
                'bindings:\n  - role: admin\n    users: [kubernetes-admin]\n'
                '  - role: shop-editor\n    users: [alice]\n')
    p.send_signal(signal.SIGHUP)
    for _ in range(100):
        log.seek(0)
        if "tokens and RBAC reloaded" in log.read():
            break
        time.sleep(0.05)
    else:
        fail("SIGHUP did not reload RBAC")
    r = tw("apply", "-f", os.path.join(examples, "healthy", "51-app-frontend.yaml"), token="alice-token-0002")
    if r.returncode != 0 or "revision 3" not in r.stdout:
        fail("after the RBAC reload alice may edit app-hipstershop", r.stdout + r.stderr)
    # A broken RBAC file is refused and the one in force stays.
    with open(os.path.join(work, "rbac.yaml"), "w") as f:
        f.write("roles: [unclosed\n")
    p.send_signal(signal.SIGHUP)
    for _ in range(100):
        log.seek(0)
        if "reload failed, keeping the files in force" in log.read():
            break
        time.sleep(0.05)
    else:
        fail("a bad RBAC file must be refused on SIGHUP")
    r = tw("apply", "-f", os.path.join(examples, "broken", "51-app-frontend.yaml"), token="alice-token-0002")
    if r.returncode != 0 or "revision 4" not in r.stdout:
        fail("the RBAC in force must stay after a bad reload", r.stdout + r.stderr)
    with open(os.path.join(work, "rbac.yaml"), "w") as f:  # a daemon refuses to start with a bad one
        f.write('roles:\n  - name: admin\n    rules:\n      - verbs: ["*"]\n        resources: ["*"]\n'
                'bindings:\n  - role: admin\n    users: [kubernetes-admin]\n')

    r = tw("get", "tier", token="not-a-token")
    if r.returncode == 0 or "UNAUTHENTICATED" not in r.stderr:
        fail("a wrong token must be UNAUTHENTICATED", r.stdout + r.stderr)

    bad = os.path.join(work, "bad.yaml")
    with open(bad, "w") as f:
        f.write("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
                "metadata: {name: x, namespace: hipstershop}\nspec: {tier: no-such-tier}\n")
    r = tw("apply", "-f", bad, token="kadmin-token-0001")
    if r.returncode == 0 or "FAILED_PRECONDITION" not in r.stderr or "no-such-tier" not in r.stderr:
        fail("a policy in a missing tier must be refused", r.stdout + r.stderr)
    # twctl validate --remote: the daemon's cross-resource checks, every problem on stdout.
    r = tw("validate", "--remote", "-f", bad, token="kadmin-token-0001")
    if r.returncode != 1 or not r.stdout.startswith("server: ") or "no-such-tier" not in r.stdout:
        fail("validate --remote must report the missing tier", r.stdout + r.stderr)
    r = tw("validate", "--remote", "-f", os.path.join(examples, "healthy", "51-app-frontend.yaml"),
           token="kadmin-token-0001")
    if r.returncode != 0 or r.stdout or r.stderr:
        fail("validate --remote of a valid file must print nothing", r.stdout + r.stderr)
    # An HTTP match must never become a plain Allow: the API refuses it, naming the field.
    http = os.path.join(work, "http.yaml")
    with open(http, "w") as f:
        f.write("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
                "metadata: {name: app-hipstershop.frontend, namespace: hipstershop}\n"
                "spec:\n  tier: app-hipstershop\n  selector: app == 'frontend'\n"
                "  ingress: [{action: Allow, protocol: TCP, http: {methods: [GET], paths: [{exact: /}]}}]\n")
    r = tw("apply", "-f", http, token="kadmin-token-0001")
    if r.returncode == 0 or "INVALID_ARGUMENT" not in r.stderr or "http: not supported" not in r.stderr:
        fail("an http match must be refused at apply", r.stdout + r.stderr)
    stop(p)

    # Restart: the store, not -f, is the source of truth.
    p, log = start(["-f", os.path.join(examples, "base"), "-f", os.path.join(examples, "healthy")])
    r = tw("get", "np", "app-hipstershop.frontend", "-n", "hipstershop")
    if r.returncode != 0 or "loadgenerator" in r.stdout or 'resourceVersion: "4"' not in r.stdout:
        fail("after restart the store must still hold revision 4", r.stdout + r.stderr)
    stop(p)
    print("PASS: api")
finally:
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
