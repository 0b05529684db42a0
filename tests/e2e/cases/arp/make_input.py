#!/usr/bin/python3
"""ARP request and reply between client and server, then a TCP SYN that
policy denies."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC, c2s, write  # noqa: E402
from scapy.all import ARP, IP, TCP, Ether  # noqa: E402

write([
    Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, hwdst="00:00:00:00:00:00", pdst=SERVER_IP),
    Ether(src=SERVER_MAC, dst=CLIENT_MAC) / ARP(
        op=2, hwsrc=SERVER_MAC, psrc=SERVER_IP, hwdst=CLIENT_MAC, pdst=CLIENT_IP),
    c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=40000, dport=80, flags="S", seq=1),
])
