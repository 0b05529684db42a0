#!/usr/bin/python3
"""TCP SYNs: unknown -> unknown, unknown -> server, client -> unknown."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import (CLIENT_IP, SERVER_IP, UNKNOWN_IP_A, UNKNOWN_IP_B, c2s,  # noqa: E402
                      write)
from scapy.all import IP, TCP  # noqa: E402


def syn(src, dst):
    return c2s() / IP(src=src, dst=dst) / TCP(sport=40000, dport=80, flags="S", seq=1)


write([
    syn(UNKNOWN_IP_A, UNKNOWN_IP_B),   # 0 neither side known: denied
    syn(UNKNOWN_IP_A, SERVER_IP),      # 1 only the server's ingress judged
    syn(CLIENT_IP, UNKNOWN_IP_B),      # 2 only the client's egress judged
])
