#!/usr/bin/python3
"""A complete TCP conversation client:40000 -> server:80."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e_pcap import CLIENT_IP, SERVER_IP, c2s, s2c, write  # noqa: E402
from scapy.all import IP, TCP, Raw  # noqa: E402

C, S = 40000, 80


def c(flags, seq, ack, data=b""):
    return c2s() / IP(src=CLIENT_IP, dst=SERVER_IP, id=1) / TCP(
        sport=C, dport=S, flags=flags, seq=seq, ack=ack, window=65535) / Raw(data)


def s(flags, seq, ack, data=b""):
    return s2c() / IP(src=SERVER_IP, dst=CLIENT_IP, id=2) / TCP(
        sport=S, dport=C, flags=flags, seq=seq, ack=ack, window=65535) / Raw(data)


req = b"GET / HTTP/1.0\r\n\r\n"
resp = b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"
write([
    c("S", 1000, 0),                                   # 0 SYN
    s("SA", 5000, 1001),                               # 1 SYN-ACK
    c("A", 1001, 5001),                                # 2 ACK
    c("PA", 1001, 5001, req),                          # 3 request
    s("A", 5001, 1001 + len(req)),                     # 4 ACK
    s("PA", 5001, 1001 + len(req), resp),              # 5 response
    c("A", 1001 + len(req), 5001 + len(resp)),         # 6 ACK
    c("FA", 1001 + len(req), 5001 + len(resp)),        # 7 FIN from client
    s("FA", 5001 + len(resp), 1002 + len(req)),        # 8 FIN from server
    c("A", 1002 + len(req), 5002 + len(resp)),         # 9 last ACK
])
