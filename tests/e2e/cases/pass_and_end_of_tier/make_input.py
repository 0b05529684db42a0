#!/usr/bin/python3
"""client -> server:80 SYN (denied at the end of tier t2), client -> server:443
SYN (allowed in t2) and its SYN-ACK."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import IP, TCP  # noqa: E402

write([
    c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=40000, dport=80, flags="S", seq=1),
    c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=40001, dport=443, flags="S", seq=1),
    s2c() / IP(src=SERVER_IP, dst=CLIENT_IP) / TCP(sport=443, dport=40001, flags="SA",
                                                   seq=9, ack=2),
])
