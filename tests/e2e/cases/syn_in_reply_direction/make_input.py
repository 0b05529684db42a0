#!/usr/bin/python3
"""The pinhole attack without source validation (no --port-name: the ports
are not where the endpoints live, as in every pcap case): a frame claiming
server:22 -> client opens an allowed flow, then the client's own SYN to
server:22 must be judged as a new connection, not ride that flow as its
reply."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, write  # noqa: E402
from scapy.all import IP, TCP  # noqa: E402


def spoofed(dport, flags):
    # Sent from the client's side with the server's addresses.
    return c2s() / IP(src=SERVER_IP, dst=CLIENT_IP) / TCP(sport=22, dport=dport, flags=flags,
                                                          seq=100, ack=1)


def syn(sport, dport):
    return c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / TCP(sport=sport, dport=dport, flags="S",
                                                          seq=1)


write([
    spoofed(40001, "SA"),  # 0 allowed on its own: flow server:22 -> client:40001
    syn(40001, 22),        # 1 reply direction, but a SYN: judged new, denied
    spoofed(40002, "A"),   # 2 a spoofed bare ACK: flow server:22 -> client:40002
    syn(40002, 22),        # 3 judged new, denied
    syn(40003, 80),        # 4 allowed: the client may reach server:80
])
