#!/usr/bin/python3
"""An allowed UDP datagram client -> server:53, the server's ICMP port
unreachable quoting it, and a port unreachable quoting a flow never seen."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import ICMP, IP, UDP, Raw  # noqa: E402

query = IP(src=CLIENT_IP, dst=SERVER_IP, id=0x100) / UDP(sport=40053, dport=53) / Raw(b"q" * 20)
unknown = IP(src=CLIENT_IP, dst=SERVER_IP, id=0x200) / UDP(sport=40054, dport=7000) / Raw(b"u" * 20)


def unreachable(quoted):
    # Like Linux: the quote is the offending IP header plus the first 8 bytes
    # of its payload and as much more as fits; here the whole datagram.
    return s2c() / IP(src=SERVER_IP, dst=CLIENT_IP, id=0x300) / ICMP(type=3, code=3) / Raw(
        bytes(quoted))


write([
    c2s() / query,          # 0 allowed: creates the flow
    unreachable(query),     # 1 related to flow 0: follows it
    unreachable(unknown),   # 2 related to nothing: judged on its own, denied
])
