#!/usr/bin/python3
"""client:40000 -> server:80 SYN twice (the flow's first packet and a retransmission)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, write  # noqa: E402
from scapy.all import IP, TCP  # noqa: E402

syn = c2s() / IP(src=CLIENT_IP, dst=SERVER_IP, id=1) / TCP(
    sport=40000, dport=80, flags="S", seq=1000, window=65535)
write([syn, syn])
