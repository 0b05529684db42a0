#!/usr/bin/python3
"""Regenerates the committed seed corpora under tests/fuzz/corpus/.

    /usr/bin/python3 tests/fuzz/make_seeds.py

Seeds are small valid (and a few nearly valid) inputs that get each fuzzer
past the first checks: YAML from examples/ and tests/model/data, selectors in
every operator, frames for every header the parser knows (scapy), and call
sequences for the API fuzzer (request protos encoded with protoc; the input
format is documented in api_fuzzer.cc). Deterministic: rerunning rewrites the
same files.
"""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/fuzz/corpus"
SHOP = ROOT / "examples/hipstershop"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def shop(variant="healthy"):
    files = sorted((SHOP / "base").glob("*.yaml")) + sorted((SHOP / variant).glob("*.yaml"))
    return "\n---\n".join(f.read_text() for f in files)


def yaml_seeds():
    for f in sorted(SHOP.glob("*/*.yaml")):
        write("yaml_loader", f"{f.parent.name}-{f.stem}.yaml", f.read_text())
    write("yaml_loader", "all_kinds.yaml", (ROOT / "tests/model/data/all_kinds.yaml").read_text())
    write("yaml_loader", "shop-healthy.yaml", shop("healthy"))
    write("yaml_loader", "k8s-networkpolicy.yaml", """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: ns}
spec:
  podSelector: {matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [a]}]}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{ipBlock: {cidr: 198.18.0.0/15, except: [198.18.0.0/24]}}, {namespaceSelector: {}}]
      ports: [{protocol: TCP, port: 80, endPort: 90}, {port: http}]
  egress: [{to: [{podSelector: {}}]}]
""")
    write("yaml_loader", "list-json.json", """\
{"apiVersion": "projectcalico.org/v3", "kind": "List", "items": [
 {"apiVersion": "projectcalico.org/v3", "kind": "WorkloadEndpoint",
  "metadata": {"name": "a", "namespace": "ns", "labels": {"app": "a"}},
  "spec": {"pod": "a", "ipNetworks": ["198.18.0.1/32", "2001:db8::1/128"],
           "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
 {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet",
  "metadata": {"name": "s", "labels": {"x": "y"}}, "spec": {"nets": ["198.18.0.0/24"]}},
 {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
  "metadata": {"name": "p"},
  "spec": {"order": 1.5, "selector": "has(app)", "types": ["Ingress", "Egress"],
   "ingress": [{"action": "Allow", "protocol": "ICMP", "icmp": {"type": 8, "code": 0}},
               {"action": "Log", "notProtocol": "UDP", "source": {"notNets": ["10.0.0.0/8"]}},
               {"action": "Pass", "protocol": "TCP", "destination": {"ports": ["http", "1000:2000"],
                "notPorts": [1500], "namespaceSelector": "global()"}}],
   "egress": [{"action": "Deny", "ipVersion": 6, "protocol": 58, "notICMP": {"type": 128}}]}}]}
""")


def selector_seeds():
    sels = [
        "", "all()", "global()", "has(app)", "!has(app)",
        "app == 'frontend'", 'app != "x"', "app in {'a', 'b',}", "app not in {}",
        "app notin {'a'}", "name contains 'sh'", "name starts with 'fr'", "name startswith 'fr'",
        "name ends with 'end'", "name endswith 'end'",
        "(a == 'b' || c != 'd') && !(has(e) && all()) || global()",
        "projectcalico.org/namespace == 'hipstershop' && k8s-app == 'kube-dns'",
        "!!!has(x)", "((((app == 'a'))))",
    ]
    for i, s in enumerate(sels):
        write("selector", f"sel-{i:02d}", s)
    # A selector, a NUL, then labels to evaluate it against.
    write("selector", "with-labels", "app in {'a', 'b'} && !has(x)\0app=a\ntier=db\n")


def packet_seeds():
    from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether, ICMPv6EchoRequest,
                           ICMPv6ND_NS, IPOption_RR, IPv6, IPv6ExtHdrFragment,
                           IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, Raw,
                           SCTP, fragment)
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    a, b = "198.18.1.10", "198.18.1.11"
    a6, b6 = "2001:db8::a", "2001:db8::b"
    frames = {
        "tcp-syn": e / IP(src=a, dst=b) / TCP(sport=40000, dport=8080, flags="S"),
        "udp-dns": e / IP(src=a, dst=b) / UDP(sport=5353, dport=53) / Raw(b"\x00" * 12),
        "icmp-echo": e / IP(src=a, dst=b) / ICMP(type=8) / Raw(b"ping"),
        "icmp-error": e / IP(src=b, dst=a) / ICMP(type=3, code=3) /
        IP(src=a, dst=b) / UDP(sport=1234, dport=53),
        "ipv4-options": e / IP(src=a, dst=b, options=[IPOption_RR()]) / TCP(dport=80),
        "ipv4-frag-first": fragment(e / IP(src=a, dst=b, id=7) / UDP(dport=9) / Raw(b"x" * 64),
                                    fragsize=32)[0],
        "ipv4-frag-later": fragment(e / IP(src=a, dst=b, id=7) / UDP(dport=9) / Raw(b"x" * 64),
                                    fragsize=32)[1],
        "sctp": e / IP(src=a, dst=b) / SCTP(sport=1, dport=2),
        "vlan": e / Dot1Q(vlan=10) / IP(src=a, dst=b) / TCP(dport=443),
        "qinq": e / Dot1AD(vlan=20) / Dot1Q(vlan=10) / IP(src=a, dst=b) / UDP(dport=53),
        "arp": e / ARP(psrc=a, pdst=b),
        "ipv6-tcp": e / IPv6(src=a6, dst=b6) / TCP(dport=80),
        "ipv6-ext": e / IPv6(src=a6, dst=b6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() /
        IPv6ExtHdrDestOpt() / UDP(dport=53),
        "ipv6-frag": e / IPv6(src=a6, dst=b6) / IPv6ExtHdrFragment(m=1, id=3) / UDP(dport=53),
        "icmpv6-echo": e / IPv6(src=a6, dst=b6) / ICMPv6EchoRequest(),
        "icmpv6-ns": e / IPv6(src=a6, dst="ff02::1:ff00:b") / ICMPv6ND_NS(tgt=b6),
    }
    for name, f in frames.items():
        write("packet_parser", name, bytes(f))


# api_fuzzer: <method byte> <caller byte> <request>, calls joined by SEP.
SEP = b"|TWCALL|"
METHODS = ["Apply", "Create", "Replace", "Delete", "Get", "List", "Validate", "History", "Diff",
           "Rollback", "Stage", "Enforce", "VerifyAudit"]
LOCAL, ADMIN, ALICE, CAROL, UNKNOWN = range(5)


def encode(method, text):
    out = subprocess.run(
        ["protoc", f"--encode=tierwall.v1.{method}Request", "-I", str(ROOT / "proto"),
         "tierwall/v1/resources.proto"], input=text.encode(), capture_output=True, check=True)
    return out.stdout


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def call(method, caller, text=""):
    return bytes([METHODS.index(method), caller]) + encode(method, text)


FRONTEND = 'ref {kind: "NetworkPolicy" namespace: "hipstershop" name: "app-hipstershop.frontend"}'
SECURITY = 'ref {kind: "GlobalNetworkPolicy" name: "security.block-threat-feed"}'


def api_seeds():
    broken = (SHOP / "broken/51-app-frontend.yaml").read_text()
    fix = (SHOP / "fix/52-frontend-staged-fix.yaml").read_text()
    security = (SHOP / "base/30-security.yaml").read_text()
    base = call("Apply", ADMIN, "yaml: " + q(shop("healthy")))
    seqs = {
        "story": [base, call("Apply", ALICE, "yaml: " + q(broken)),
                  call("Get", ALICE, FRONTEND), call("History", LOCAL, FRONTEND),
                  call("Diff", ALICE, FRONTEND + " from_revision: 1"),
                  call("Rollback", ALICE, FRONTEND + " revision: 1"),
                  call("VerifyAudit", ADMIN)],
        "stage-enforce": [base, call("Stage", ALICE, "yaml: " + q(fix)),
                          call("Enforce", ALICE, FRONTEND),
                          call("List", ALICE, 'namespace: "hipstershop" tier: "app-hipstershop"')],
        "refused": [base, call("Apply", ALICE, "yaml: " + q(security)),
                    call("Delete", CAROL, SECURITY), call("Delete", ALICE, SECURITY),
                    call("Apply", UNKNOWN, "yaml: " + q(broken)),
                    call("Rollback", ALICE, SECURITY + " revision: 1")],
        "crud": [call("Create", LOCAL, "yaml: " + q("apiVersion: projectcalico.org/v3\nkind: Tier\n"
                                                   "metadata: {name: t}\nspec: {order: 5}\n")),
                 call("Replace", ADMIN, "yaml: " + q("apiVersion: projectcalico.org/v3\nkind: Tier\n"
                                                    "metadata: {name: t}\nspec: {order: 6}\n")
                      + " resource_version: 1"),
                 call("Validate", ADMIN, "operation: OPERATION_DELETE yaml: " +
                      q("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\n")),
                 call("Delete", ADMIN, 'ref {kind: "Tier" name: "t"}'),
                 call("List", LOCAL, 'label_selector: "app == \'x\'"')],
    }
    for name, calls in seqs.items():
        write("api", name, SEP.join(calls))


def main():
    os.chdir(ROOT)
    yaml_seeds()
    selector_seeds()
    packet_seeds()
    api_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
