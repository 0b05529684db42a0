// Packet parser: one Ethernet frame in a byte buffer -> the fields that policy,
// conntrack and the bridge need, or the reason the frame is malformed.
//
// Design
// ------
// * Pure C++ over (pointer, length): no rte_mbuf and no EAL, so the parser is
//   unit-tested, fuzzed and run under ASan like any library. The daemon calls
//   it with rte_pktmbuf_mtod(m, const uint8_t*) and rte_pktmbuf_data_len(m);
//   headers that spill into a second segment read as truncated, which is the
//   safe answer (the ports we support receive single-segment frames).
// * Parse() never reads past `len`, never allocates, never throws and keeps no
//   state, so any number of workers may call it concurrently.
// * The frame carries no FCS (DPDK strips the CRC by default). Checksums are
//   not verified: NICs validate them in hardware, a transparent bridge must
//   forward what the end host would judge, and policy never depends on them.
// * Drop reasons follow one rule so that the counters mean something:
//   kTruncatedX  - the fixed part of header X is not in the buffer;
//   kBadX        - header X is there but a field contradicts itself or the
//                  buffer (a length larger than what was received, a header
//                  length below the minimum, ...).
//   A frame that is not IP (LLDP, 802.3/LLC, MPLS, ...) is not malformed: it
//   parses with L3::kOther and the bridge decides what to do (by default it
//   drops it). ARP parses with L3::kArp, must be Ethernet/IPv4 ARP and is
//   size-bounded (kBadArp), since the bridge forwards it without policy.
// * The L3 packet ends at the length its header announces (IPv4 total length,
//   40 + IPv6 payload length); bytes after it are Ethernet padding and ignored.
//   A length that runs past the buffer drops the frame.
// * Fragments are not reassembled. First fragments are parsed like whole
//   packets and must hold the complete L4 header (RFC 1858, RFC 7112: a first
//   fragment that cuts the header chain or the L4 header is dropped). Non-first
//   fragments carry no L4 header: their key has ports 0 and conntrack makes
//   them follow the first fragment's verdict by (src, dst, fragment id).
// * ICMP errors quote the packet that caused them. The quoted headers are
//   parsed leniently (the quote is truncated by design, RFC 792 promises only 8
//   bytes after the IP header) into `inner_key`, so conntrack can relate the
//   error to the flow it is about. A quote too short to parse leaves the outer
//   packet valid, with has_inner == false; it then only matches policy.
#pragma once

#include <cstdint>

#include "dataplane/classify/packet_key.h"

namespace tierwall::dp::parse {

// Why a frame was dropped. Values are dense from 0 so a worker can count them
// in a plain array of kCount counters.
enum class DropReason : uint8_t {
  kNone = 0,
  kTruncatedEthernet,             // Fewer than 14 bytes.
  kTruncatedVlan,                 // A VLAN TPID without its 4-byte tag.
  kTooManyVlanTags,               // More than kMaxVlanTags tags.
  kTruncatedIpv4,                 // Fewer than 20 bytes, or fewer than IHL * 4.
  kBadIpv4Version,                // EtherType 0x0800 but version != 4.
  kBadIpv4HeaderLength,           // IHL < 5.
  kBadIpv4TotalLength,            // Total length < IHL * 4 or past the buffer.
  kTruncatedIpv6,                 // Fewer than 40 bytes.
  kBadIpv6Version,                // EtherType 0x86DD but version != 6.
  kBadIpv6PayloadLength,          // 40 + payload length past the buffer.
  kTruncatedIpv6ExtensionHeader,  // An extension header runs past the packet.
  kTooManyIpv6ExtensionHeaders,   // More than kMaxIpv6ExtensionHeaders.
  kBadFragment,                   // Reassembly would exceed 65535 bytes, or a
                                  // non-last fragment is not a multiple of 8.
  kTruncatedL4,                   // TCP < 20, UDP < 8, SCTP < 12, ICMP < 8 bytes.
  kBadTcpDataOffset,              // Data offset < 5 or past the packet.
  kBadUdpLength,                  // UDP length < 8 or past the packet (not
                                  // checked on first fragments).
  kBadArp,                        // Not Ethernet/IPv4 ARP (28 bytes), or more
                                  // than kMaxArpLength bytes after the EtherType.
  kBadNd,                         // IPv6 Neighbor Discovery with a hop limit
                                  // other than 255, fragmented, or longer than
                                  // kMaxNdLength / kMaxNdLengthLong.
  kCount,
};

// snake_case name of a reason, for counters and telemetry ("truncated_ipv4").
// Returns "unknown" for values outside the enum.
const char* DropReasonName(DropReason reason);

enum class L3 : uint8_t {
  kIpv4,
  kIpv6,
  kArp,    // The bridge forwards ARP without policy.
  kOther,  // Any other EtherType: not subject to IP policy.
};

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

// ARP and Neighbor Discovery are forwarded without policy, so they must not
// be able to carry data: an Ethernet/IPv4 ARP packet is 28 bytes, and
// Ethernet pads frames to 60 (64 leaves room for any padding after tags).
inline constexpr uint32_t kMaxArpLength = 64;
// ICMPv6 message length (header + body + options) of router and neighbor
// solicitations and neighbor advertisements (24 bytes + link-layer and nonce
// options; SEND's certificate options do not fit and are refused) ...
inline constexpr uint32_t kMaxNdLength = 256;
// ... and of router advertisements and redirects, whose options (prefixes,
// routes, DNS; the redirected packet) may fill the minimum IPv6 MTU.
inline constexpr uint32_t kMaxNdLengthLong = 1280 - 40;

// QinQ is the deepest stacking seen on the networks we bridge; a cap keeps the
// loop bounded.
inline constexpr int kMaxVlanTags = 2;
// Real traffic carries at most 2-3 extension headers; the cap bounds the work a
// crafted packet can cause and is what most firewalls use.
inline constexpr int kMaxIpv6ExtensionHeaders = 8;

// TCP flag bits as they appear in byte 13 of the TCP header.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

// Everything the fast path needs from a frame. Fields not relevant to the
// frame (no VLAN, not TCP, ...) are zero. After a drop the contents are
// unspecified.
struct ParsedPacket {
  // The 5-tuple for policy. ICMP/ICMPv6: type in src_port, code in dst_port.
  // Non-first fragments and protocols without ports: ports 0. ARP: src and
  // dst are the sender and target protocol addresses (for source-address
  // validation), proto and ports 0.
  classify::PacketKey key;
  L3 l3 = L3::kOther;
  // EtherType after the VLAN tags (tells kOther frames apart for counters).
  uint16_t ether_type = 0;
  uint8_t vlan_count = 0;
  uint16_t vlan_ids[kMaxVlanTags] = {};  // Outermost first, 12-bit VIDs.
  // Offsets from the start of the frame. l4_offset is where the upper-layer
  // header starts after all IPv6 extension headers; for non-first fragments
  // and protocols we do not parse it is where their (unparsed) data starts.
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;
  // Length of the L3 packet as announced by its header (excludes padding).
  uint16_t l3_length = 0;
  uint8_t tcp_flags = 0;  // kTcp* bits.
  // ICMP/ICMPv6 query identifier (echo, timestamp, information, address mask
  // request/reply): conntrack needs it to tell concurrent pings apart.
  uint16_t icmp_id = 0;

  // Fragments. An IPv6 atomic fragment (offset 0, M clear) is not a fragment:
  // it is the whole packet (RFC 6946).
  bool is_fragment = false;
  bool is_first_fragment = false;  // Offset 0: it carries the L4 header.
  bool more_fragments = false;     // MF / M flag: not the last fragment.
  uint16_t fragment_offset = 0;    // In bytes (the header's value * 8).
  uint32_t fragment_id = 0;        // IPv4: 16 bits; IPv6: 32 bits.

  // ICMP errors: ICMPv4 3 (destination unreachable), 4 (source quench),
  // 5 (redirect), 11 (time exceeded), 12 (parameter problem) - the set Linux
  // conntrack treats as related; ICMPv6 1-4 (destination unreachable, packet
  // too big, time exceeded, parameter problem).
  bool is_icmp_error = false;
  // inner_key is the quoted packet's key as that packet was sent, i.e. in the
  // orientation of the flow that caused the error (its src is the host the
  // error goes back to). Conntrack looks it up like a packet of that flow; the
  // error itself travels the opposite way. Inner ports follow the same rules
  // as key (ICMP type/code, ports 0 for non-first fragments and unknown L4).
  bool has_inner = false;
  classify::PacketKey inner_key;
  uint16_t inner_icmp_id = 0;

  // ICMPv6 Neighbor Discovery (133 router solicitation .. 137 redirect): the
  // bridge permits it like ARP. Parse drops (kBadNd) what RFC 4861 receivers
  // discard (hop limit not 255) and RFC 6980 forbids (fragments), and bounds
  // its length (kMaxNdLength, kMaxNdLengthLong).
  bool is_ipv6_nd = false;

  // Where offset 0 of a fragment's data is (after the IPv4 header, after the
  // IPv6 fragment header): fragment_offset counts from there.
  uint16_t fragment_data_offset = 0;
};

// Parses the frame in data[0, len). Returns kNone and fills *out, or the
// reason to drop the frame. Reads no byte at or after data + len. Only the
// first 65535 bytes are looked at (offsets are 16-bit, like an mbuf segment's
// data_len).
DropReason Parse(const uint8_t* data, uint32_t len, ParsedPacket* out);

}  // namespace tierwall::dp::parse
