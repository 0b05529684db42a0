#!/usr/bin/python3
"""TCP over IPv6 client -> server:80 with extension headers (allowed) and
:81 (denied), an ICMPv6 echo (denied) and a Neighbor Solicitation (ND:
forwarded without policy)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP6, CLIENT_MAC, SERVER_IP6, c2s, s2c, write  # noqa: E402
from scapy.all import (ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr,  # noqa: E402
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, Ether, TCP, Raw)


def c6():
    return c2s() / IPv6(src=CLIENT_IP6, dst=SERVER_IP6, hlim=64)


write([
    # 0 SYN behind Hop-by-Hop and Destination Options headers: allowed.
    c6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / TCP(sport=40000, dport=80, flags="S",
                                                             seq=1),
    # 1 SYN-ACK, no extension header: reply of 0.
    s2c() / IPv6(src=SERVER_IP6, dst=CLIENT_IP6, hlim=64) / TCP(sport=80, dport=40000,
                                                                 flags="SA", seq=9, ack=2),
    # 2 ACK with data behind a Destination Options header: same flow.
    c6() / IPv6ExtHdrDestOpt() / TCP(sport=40000, dport=80, flags="PA", seq=2, ack=10) / Raw(
        b"GET / HTTP/1.0\r\n\r\n"),
    # 3 SYN to :81 behind Hop-by-Hop: denied at the end of the tier.
    c6() / IPv6ExtHdrHopByHop() / TCP(sport=40001, dport=81, flags="S", seq=1),
    # 4 ICMPv6 echo request: denied at the end of the tier.
    c6() / ICMPv6EchoRequest(id=7, seq=1),
    # 5 Neighbor Solicitation for the server's address: ND, no policy.
    Ether(src=CLIENT_MAC, dst="33:33:ff:00:00:14") / IPv6(
        src=CLIENT_IP6, dst="ff02::1:ff00:14", hlim=255) / ICMPv6ND_NS(tgt=SERVER_IP6) /
    ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC),
])
