#!/usr/bin/python3
"""ICMP errors that quote a tracked flow but are not errors that flow can
cause: sent to someone other than the quoted packet's sender, sent by a
workload outside the flow, or longer than a router may send. Each is judged
by policy (and denied); the genuine errors follow their flow."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import (CLIENT_IP, OTHER_IP, SERVER_IP, UNKNOWN_IP_A, c2s,  # noqa: E402
                      s2c, write)
from scapy.all import ICMP, IP, TCP, UDP, Raw  # noqa: E402

query = IP(src=CLIENT_IP, dst=SERVER_IP, id=0x100) / UDP(sport=40053, dport=53) / Raw(b"q" * 20)
syn = IP(src=CLIENT_IP, dst=SERVER_IP, id=0x101) / TCP(sport=40080, dport=80, flags="S", seq=1)


def error(src, dst, quoted, icmp_type=3, code=3, pad=b""):
    return c2s() / IP(src=src, dst=dst, id=0x300) / ICMP(type=icmp_type, code=code) / Raw(
        bytes(quoted) + pad)


write([
    c2s() / query,                                   # 0 allowed: flow A
    c2s() / syn,                                     # 1 allowed: flow B
    error(SERVER_IP, CLIENT_IP, query),              # 2 genuine: follows flow A
    # 3 an isolated workload reaches the server by quoting the client's flow
    error(OTHER_IP, SERVER_IP, query),
    # 4 the client (allowed only server:80/53) sends 1.4 KB anywhere
    error(CLIENT_IP, UNKNOWN_IP_A, syn, pad=b"D" * 1300),
    # 5 back to the right host, but longer than an ICMPv4 error may be (576)
    error(SERVER_IP, CLIENT_IP, query, pad=b"L" * 600),
    # 6 back to the right host, but from a workload outside the flow
    error(OTHER_IP, CLIENT_IP, query),
    # 7 a router on the path (no endpoint) reports time exceeded for flow B
    error(UNKNOWN_IP_A, CLIENT_IP, syn, icmp_type=11, code=0),
])
