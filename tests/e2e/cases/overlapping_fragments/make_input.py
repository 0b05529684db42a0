#!/usr/bin/python3
"""Fragmented UDP client -> server:53 (allowed), with a fragment that
overlaps bytes already seen (IPv4) and a second first fragment (IPv6): the
overlap is dropped, and so is the rest of its datagram."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, CLIENT_IP6, SERVER_IP, SERVER_IP6, c2s, write  # noqa: E402
from scapy.all import IP, UDP, IPv6, IPv6ExtHdrFragment, Raw  # noqa: E402

udp4 = bytes(UDP(sport=40053, dport=53, len=8 + 40, chksum=0))
udp6 = bytes(UDP(sport=40054, dport=53, len=8 + 24, chksum=0))


def frag4(offset_units, data, more=True):
    return c2s() / IP(src=CLIENT_IP, dst=SERVER_IP, id=0x10, proto=17, frag=offset_units,
                      flags="MF" if more else 0) / Raw(data)


def frag6(offset_units, data, more=True):
    return c2s() / IPv6(src=CLIENT_IP6, dst=SERVER_IP6) / IPv6ExtHdrFragment(
        nh=17, offset=offset_units, m=1 if more else 0, id=0x20) / Raw(data)


write([
    frag4(0, udp4 + b"a" * 8),          # 0 first: bytes 0-15, allowed
    frag4(2, b"b" * 16),                # 1 bytes 16-31: follows
    frag4(1, b"X" * 16),                # 2 bytes 8-23: overlaps 0 and 1 -> dropped
    frag4(4, b"c" * 16, more=False),    # 3 bytes 32-47: datagram forgotten -> dropped
    frag6(0, udp6 + b"a" * 8),          # 4 first: bytes 0-15, allowed
    frag6(0, udp6 + b"Z" * 8),          # 5 a second first fragment -> dropped
    frag6(2, b"b" * 16, more=False),    # 6 datagram forgotten -> dropped
])
