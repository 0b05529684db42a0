#!/usr/bin/python3
"""A UDP datagram client -> server:53 in three IPv4 fragments, its (whole)
reply, then a non-first fragment whose first fragment never came."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import IP, UDP, Raw, fragment  # noqa: E402

big = IP(src=CLIENT_IP, dst=SERVER_IP, id=0x4242) / UDP(sport=40053, dport=53) / Raw(
    bytes(i % 251 for i in range(3000)))
frags = fragment(big, fragsize=1480)
assert len(frags) == 3
reply = s2c() / IP(src=SERVER_IP, dst=CLIENT_IP, id=0x77) / UDP(sport=53, dport=40053) / Raw(
    b"r" * 40)
# Offset 1480 (185 * 8), last fragment, of a datagram (id 0x5151) whose first
# fragment was never sent.
orphan = c2s() / IP(src=CLIENT_IP, dst=SERVER_IP, id=0x5151, proto=17, frag=185,
                    flags=0) / Raw(b"o" * 100)
write([c2s() / f for f in frags] + [reply, orphan])
