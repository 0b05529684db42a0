#!/usr/bin/python3
"""Six allowed SYNs client:40000..40005 -> server:80 (six new flows) into a
4-entry flow table, then a SYN-ACK of the first flow."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import IP, TCP  # noqa: E402

syns = [c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=40000 + i, dport=80, flags="S",
                                                       seq=1) for i in range(6)]
synack = s2c() / IP(src=SERVER_IP, dst=CLIENT_IP) / TCP(sport=80, dport=40000, flags="SA",
                                                        seq=9, ack=2)
write(syns + [synack])
