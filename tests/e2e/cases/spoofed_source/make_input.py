#!/usr/bin/python3
"""The pinhole attack against source validation: port 0 is the client's port
(--port-name 0=<client's interfaceName>), port 1 the server's. Frames from
port 0 claiming the server's (or another workload's) address are dropped
before any flow exists; the client's own packets are then judged as what
they are."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import (CLIENT_IP, CLIENT_MAC, OTHER_IP, SERVER_IP, SERVER_MAC, c2s,  # noqa: E402
                      write)
from scapy.all import ARP, IP, TCP, UDP, Ether, Raw  # noqa: E402


def from_server(l4):
    return c2s() / IP(src=SERVER_IP, dst=CLIENT_IP) / l4


def client(l4):
    return c2s() / IP(src=CLIENT_IP, dst=SERVER_IP) / l4


write([
    from_server(TCP(sport=22, dport=40001, flags="SA", seq=100, ack=1)),  # 0 spoofed
    client(TCP(sport=40001, dport=22, flags="S", seq=1)),                 # 1 denied
    from_server(UDP(sport=22, dport=40002) / Raw(b"x" * 8)),              # 2 spoofed
    client(UDP(sport=40002, dport=22) / Raw(b"data" * 8)),                # 3 denied
    from_server(TCP(sport=22, dport=40003, flags="A", seq=100, ack=1)),   # 4 spoofed
    client(TCP(sport=40003, dport=22, flags="S", seq=1)),                 # 5 denied
    # 6 another workload's address (it lives on no port) from the client's port
    c2s() / IP(src=OTHER_IP, dst=SERVER_IP) / UDP(sport=5000, dport=7),
    client(TCP(sport=40004, dport=80, flags="S", seq=1)),                 # 7 allowed
    client(UDP(sport=40005, dport=7) / Raw(b"echo")),                     # 8 allowed
    # 9 ARP claiming the server's address from the client's port
    Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=2, hwsrc=CLIENT_MAC, psrc=SERVER_IP, hwdst="ff:ff:ff:ff:ff:ff", pdst=SERVER_IP),
    # 10 the client's own ARP request
    Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, hwdst="00:00:00:00:00:00", pdst=SERVER_IP),
    # 11 the server's own address with the server's MAC, still from the wrong port
    Ether(src=SERVER_MAC, dst=CLIENT_MAC) / IP(src=SERVER_IP, dst=CLIENT_IP) / UDP(
        sport=7, dport=40005),
])
