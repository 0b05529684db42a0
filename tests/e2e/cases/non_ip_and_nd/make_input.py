#!/usr/bin/python3
"""Frames the bridge forwards without policy, and what it refuses: IPv4
inside MPLS and PPPoE (not IP, not ARP: dropped), LLDP (passed by
--pass-ether-type 0x88cc), ARP with and without data riding on it, IPv6
Neighbor Discovery with hop limit 255 and normal size, with hop limit 64,
and padded to 1.4 KB, and an 802.3/LLC frame."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import (CLIENT_IP, CLIENT_IP6, CLIENT_MAC, SERVER_IP, SERVER_IP6,  # noqa: E402
                      SERVER_MAC, write)
from scapy.all import (ARP, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IP, IPv6, TCP,  # noqa: E402
                       Ether, Raw)

inner = bytes(IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=40000, dport=22, flags="S", seq=1))
mpls_label = bytes([0x00, 0x01, 0x01, 0x40])  # label 16, bottom of stack, TTL 64
pppoe_session = bytes([0x11, 0x00, 0x00, 0x01]) + len(inner + b"xx").to_bytes(2, "big") + b"\x00\x21"


def eth(t):
    return Ether(src=CLIENT_MAC, dst=SERVER_MAC, type=t)


write([
    eth(0x8847) / Raw(mpls_label + inner),                      # 0 MPLS: dropped
    eth(0x8864) / Raw(pppoe_session + inner),                   # 1 PPPoE: dropped
    Ether(src=CLIENT_MAC, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(
        b"\x02\x07\x04" + bytes.fromhex("02000000000a") + b"\x04\x02\x07\x31\x06\x02\x00\x78\x00\x00"),  # 2 LLDP: passed
    Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, pdst=SERVER_IP),  # 3 ARP: forwarded
    Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, pdst=SERVER_IP) / Raw(b"D" * 1400),  # 4 bad_arp
    Ether(src=CLIENT_MAC, dst="33:33:ff:00:00:14") / IPv6(
        src=CLIENT_IP6, dst="ff02::1:ff00:14", hlim=255) / ICMPv6ND_NS(tgt=SERVER_IP6) /
    ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC),                    # 5 ND: forwarded
    Ether(src=CLIENT_MAC, dst=SERVER_MAC) / IPv6(
        src=CLIENT_IP6, dst=SERVER_IP6, hlim=64) / ICMPv6ND_NS(tgt=SERVER_IP6),  # 6 bad_nd: routed
    Ether(src=CLIENT_MAC, dst=SERVER_MAC) / IPv6(
        src=CLIENT_IP6, dst=SERVER_IP6, hlim=255) / ICMPv6ND_NA(tgt=CLIENT_IP6) / Raw(
        b"D" * 1400),                                           # 7 bad_nd: 1.4 KB of data
    Ether(src=CLIENT_MAC, dst="01:80:c2:00:00:00", type=38) / Raw(
        b"\x42\x42\x03" + b"\x00" * 35),                        # 8 802.3/LLC (STP): dropped
])
