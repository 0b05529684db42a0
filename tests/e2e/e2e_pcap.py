"""Shared helpers for the golden pcap cases' make_input.py scripts.

Every case builds its input.pcap with scapy from Debian's interpreter
(/usr/bin/python3). Output must be byte-for-byte reproducible, so timestamps
are fixed (1 ms apart from a fixed epoch) and nothing random is left to
scapy (IP ids, sequence numbers and ports are set explicitly where they
matter; scapy's defaults for the rest are constants).

Addresses: 198.18.0.0/15 (RFC 2544) for IPv4 and 2001:2::/48 (RFC 5180, the
IPv6 benchmarking block) for IPv6: nothing here can collide with real hosts.
"""

import os
import struct
import sys

from scapy.all import Ether

# The endpoints every case's policy/00-endpoints.yaml declares.
CLIENT_MAC = "02:00:00:00:00:0a"
SERVER_MAC = "02:00:00:00:00:14"
OTHER_MAC = "02:00:00:00:00:1e"
CLIENT_IP = "198.18.0.10"
SERVER_IP = "198.18.0.20"
OTHER_IP = "198.18.0.30"
CLIENT_IP6 = "2001:2::a"
SERVER_IP6 = "2001:2::14"
# Addresses no endpoint or network set owns.
UNKNOWN_IP_A = "198.18.5.1"
UNKNOWN_IP_B = "198.18.5.2"

EPOCH = 1_700_000_000


def c2s(mac_src=CLIENT_MAC, mac_dst=SERVER_MAC):
    """Ethernet header for a client -> server frame."""
    return Ether(src=mac_src, dst=mac_dst)


def s2c():
    return Ether(src=SERVER_MAC, dst=CLIENT_MAC)


def write_pcap(path, frames):
    """Writes raw frames as a classic little-endian pcap (Ethernet link type)
    with fixed timestamps, 1 ms apart. Written by hand rather than with
    wrpcap so that the bytes on disk are exactly the frames given."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, raw in enumerate(frames):
            f.write(struct.pack("<IIII", EPOCH, i * 1000, len(raw), len(raw)))
            f.write(raw)


def write(packets, default_name="input.pcap"):
    """Writes packets (scapy packets or raw bytes frames) to argv[1] or
    ./input.pcap and prints one line per frame so that a failing case's log
    shows what each index is."""
    path = sys.argv[1] if len(sys.argv) > 1 else default_name
    frames = [bytes(p) for p in packets]
    write_pcap(path, frames)
    if os.environ.get("E2E_QUIET") != "1":
        for i, raw in enumerate(frames):
            try:
                desc = Ether(raw).summary()
            except Exception:  # malformed on purpose: scapy may choke
                desc = raw.hex()
            print(f"{i:3d} {len(raw):5d}B {desc}")
    return path
