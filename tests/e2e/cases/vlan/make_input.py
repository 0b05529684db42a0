#!/usr/bin/python3
"""The same TCP SYNs untagged, 802.1Q-tagged and QinQ-tagged: to :80
(allowed) and to :81 (denied); one SYN-ACK comes back tagged."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC, write  # noqa: E402
from scapy.all import IP, TCP, Dot1AD, Dot1Q, Ether  # noqa: E402


def tags(kind, src, dst):
    eth = Ether(src=src, dst=dst)
    if kind == "untagged":
        return eth
    if kind == "dot1q":
        return eth / Dot1Q(vlan=100)
    return eth / Dot1AD(vlan=200) / Dot1Q(vlan=100)  # QinQ: 0x88a8 then 0x8100


def syn(kind, sport, dport):
    return tags(kind, CLIENT_MAC, SERVER_MAC) / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(
        sport=sport, dport=dport, flags="S", seq=1)


write([
    syn("untagged", 40000, 80),   # 0 allowed
    syn("dot1q", 40001, 80),      # 1 allowed
    syn("qinq", 40002, 80),       # 2 allowed
    syn("untagged", 40010, 81),   # 3 denied
    syn("dot1q", 40011, 81),      # 4 denied
    syn("qinq", 40012, 81),       # 5 denied
    tags("dot1q", SERVER_MAC, CLIENT_MAC) / IP(src=SERVER_IP, dst=CLIENT_IP) / TCP(
        sport=80, dport=40001, flags="SA", seq=9, ack=2),     # 6 reply of 1
    tags("qinq", SERVER_MAC, CLIENT_MAC) / IP(src=SERVER_IP, dst=CLIENT_IP) / TCP(
        sport=80, dport=40002, flags="SA", seq=9, ack=2),     # 7 reply of 2
])
