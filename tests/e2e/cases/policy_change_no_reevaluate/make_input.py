#!/usr/bin/python3
"""One TCP connection client:40000 -> server:80; tierwalld swaps in the
update/ policy after the first 4 packets; then a new connection from
client:40001."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import IP, TCP, Raw  # noqa: E402


def c(flags, seq, ack, data=b""):
    return c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(
        sport=40000, dport=80, flags=flags, seq=seq, ack=ack) / Raw(data)


def s(flags, seq, ack, data=b""):
    return s2c() / IP(src=SERVER_IP, dst=CLIENT_IP) / TCP(
        sport=80, dport=40000, flags=flags, seq=seq, ack=ack) / Raw(data)


write([
    c("S", 100, 0),                       # 0 generation 1: allowed
    s("SA", 500, 101),                    # 1
    c("A", 101, 501),                     # 2
    c("PA", 101, 501, b"x" * 10),         # 3 4th packet: the update follows
    s("PA", 501, 111, b"y" * 20),         # 4 not re-judged: still allowed
    c("A", 111, 521),                     # 5
    c("FA", 111, 521),                    # 6
    c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(
        sport=40001, dport=80, flags="S", seq=1),   # 7 new flow: generation 2 denies
])
