#!/usr/bin/python3
"""Two pings client -> server with their replies, then a ping other -> server."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, OTHER_IP, OTHER_MAC, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import ICMP, IP, Raw  # noqa: E402

data = Raw(bytes(range(32)))


def req(src, seq, ether):
    return ether / IP(src=src, dst=SERVER_IP, id=seq) / ICMP(type=8, id=0x1234, seq=seq) / data


def rep(dst, seq):
    return s2c() / IP(src=SERVER_IP, dst=dst, id=0x100 + seq) / ICMP(
        type=0, id=0x1234, seq=seq) / data


write([
    req(CLIENT_IP, 1, c2s()),                    # 0 allowed
    rep(CLIENT_IP, 1),                           # 1 reply follows it
    req(CLIENT_IP, 2, c2s()),                    # 2 same flow
    rep(CLIENT_IP, 2),                           # 3
    req(OTHER_IP, 1, c2s(mac_src=OTHER_MAC)),    # 4 other may not ping: denied
])
