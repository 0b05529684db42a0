#!/usr/bin/python3
"""Malformed frames client -> server:80, each broken in one way, then a good
SYN. Without the breakage every one of them would be allowed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, CLIENT_IP6, SERVER_IP, SERVER_IP6, c2s, write  # noqa: E402
from scapy.all import IP, IPv6, TCP, Dot1Q, Dot1AD  # noqa: E402


def ip_tcp(**ip):
    return IP(src=CLIENT_IP, dst=SERVER_IP, **ip) / TCP(sport=40000, dport=80, flags="S", seq=1)


eth = bytes(c2s() / IP())[:14]  # Ethernet header, EtherType IPv4
good = c2s() / ip_tcp()
good_ip = bytes(good)[14:]  # 40 bytes: IPv4 + TCP

frames = [
    # 0 truncated_ipv4: 10 bytes of an IPv4 header.
    eth + good_ip[:10],
    # 1 bad_ipv4_header_length: IHL 4 (16 bytes) in an otherwise whole packet.
    c2s() / ip_tcp(ihl=4),
    # 2 bad_ipv4_total_length: total length 1000, 40 bytes present.
    c2s() / ip_tcp(len=1000),
    # 3 truncated_l4: the IPv4 header says 30 bytes, 10 bytes of TCP follow.
    eth + bytes(IP(src=CLIENT_IP, dst=SERVER_IP, proto=6, len=30)) + bytes(
        TCP(sport=40000, dport=80, flags="S"))[:10],
    # 4 bad_tcp_data_offset: data offset 2 (8 bytes) < 5.
    c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=40000, dport=80, flags="S",
                                                   dataofs=2),
    # 5 too_many_vlan_tags: three tags (the cap is two, QinQ).
    c2s() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / ip_tcp(),
    # 6 truncated_ethernet: 10 bytes.
    bytes(good)[:10],
    # 7 truncated_ipv6: EtherType IPv6 and 20 bytes of a 40-byte header.
    bytes(c2s() / IPv6(src=CLIENT_IP6, dst=SERVER_IP6) / TCP(dport=80))[:14 + 20],
    # 8 a good SYN: allowed and forwarded.
    good,
]
write(frames)
