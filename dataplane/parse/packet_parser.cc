#include "dataplane/parse/packet_parser.h"

#include <cstring>

namespace tierwall::dp::parse {
namespace {

using classify::IpAddr;
using classify::PacketKey;
using classify::U128;

constexpr uint32_t kEthernetHeaderLength = 14;
constexpr uint32_t kVlanTagLength = 4;
constexpr uint32_t kIpv4MinHeaderLength = 20;
constexpr uint32_t kIpv6HeaderLength = 40;
constexpr uint32_t kIpv6FragmentHeaderLength = 8;
constexpr uint32_t kTcpMinHeaderLength = 20;
constexpr uint32_t kUdpHeaderLength = 8;
constexpr uint32_t kSctpCommonHeaderLength = 12;
constexpr uint32_t kIcmpHeaderLength = 8;
// Reassembled IP packets (IPv4 total length, IPv6 payload length) are 16-bit.
constexpr uint32_t kMaxReassembledLength = 65535;

// IPv6 Next Header values that are extension headers in the generic
// (next header, length) format. ESP (50) is not: its contents are encrypted,
// so it ends the chain like an upper-layer protocol.
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6DestOpts = 60;
constexpr uint8_t kIpv6Mobility = 135;
constexpr uint8_t kIpv6Hip = 139;
constexpr uint8_t kIpv6Shim6 = 140;

bool IsIpv6ExtensionHeader(uint8_t next_header) {
  switch (next_header) {
    case kIpv6HopByHop:
    case kIpv6Routing:
    case kIpv6Fragment:
    case kIpv6Ah:
    case kIpv6DestOpts:
    case kIpv6Mobility:
    case kIpv6Hip:
    case kIpv6Shim6: return true;
    default: return false;
  }
}

// Unaligned big-endian loads: headers after an odd number of VLAN tags or IPv4
// options sit at any alignment, and memcpy is the defined way to read them.
uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap16(v);
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap32(v);
}

U128 Load128(const uint8_t* p) {
  uint64_t hi, lo;
  std::memcpy(&hi, p, sizeof(hi));
  std::memcpy(&lo, p + 8, sizeof(lo));
  return (U128{__builtin_bswap64(hi)} << 64) | __builtin_bswap64(lo);
}

bool IsIcmpv4Error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}
bool IsIcmpv6Error(uint8_t type) { return type >= 1 && type <= 4; }

// Query messages whose bytes 4-5 are an identifier that the reply echoes.
bool IsIcmpv4Query(uint8_t type) { return type == 0 || type == 8 || (type >= 13 && type <= 18); }
bool IsIcmpv6Query(uint8_t type) { return type == 128 || type == 129; }

// What walking an IPv6 extension header chain found.
struct Ipv6Chain {
  uint8_t upper_proto = 0;    // Next Header that ended the chain.
  uint32_t upper_offset = 0;  // Where that header starts.
  bool is_fragment = false;
  bool is_first_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;
  uint32_t fragment_id = 0;
  uint32_t fragment_data_offset = 0;
};

// Walks the extension headers of the IPv6 packet whose fixed header starts at
// `ip` and whose data ends at `end` (both frame offsets). Stops at the first
// upper-layer header, or right after the fragment header of a non-first
// fragment (what follows is the middle of some header). For a non-first
// fragment upper_proto is the fragment header's Next Header: the first header
// of the fragmentable part, the same in every fragment (RFC 8200 4.5).
DropReason WalkIpv6Chain(const uint8_t* data, uint32_t ip, uint32_t end, Ipv6Chain* chain) {
  uint8_t next = data[ip + 6];
  uint32_t cur = ip + kIpv6HeaderLength;
  for (int count = 0; IsIpv6ExtensionHeader(next); ++count) {
    if (count == kMaxIpv6ExtensionHeaders) return DropReason::kTooManyIpv6ExtensionHeaders;
    // Every extension header is at least 8 bytes.
    if (end - cur < 8) return DropReason::kTruncatedIpv6ExtensionHeader;
    const uint8_t* h = data + cur;
    if (next == kIpv6Fragment) {
      const uint16_t offset_flags = Load16(h + 2);
      const uint32_t offset = offset_flags & 0xfff8u;
      const bool more = offset_flags & 1u;
      const uint32_t unfragmentable = cur - (ip + kIpv6HeaderLength);
      next = h[0];
      cur += kIpv6FragmentHeaderLength;
      // Offset 0 with M clear is an atomic fragment: the whole packet.
      if (offset != 0 || more) {
        const uint32_t fragment_length = end - cur;
        if (unfragmentable + kIpv6FragmentHeaderLength + offset + fragment_length >
                kMaxReassembledLength ||
            (more && fragment_length % 8 != 0)) {
          return DropReason::kBadFragment;
        }
        chain->is_fragment = true;
        chain->is_first_fragment = offset == 0;
        chain->more_fragments = more;
        chain->fragment_offset = static_cast<uint16_t>(offset);
        chain->fragment_id = Load32(h + 4);
        chain->fragment_data_offset = cur;
        if (offset != 0) break;
      }
      continue;
    }
    // AH counts its length in 4-byte units minus 2 (RFC 4302), the others in
    // 8-byte units minus 1 (RFC 8200).
    const uint32_t length = next == kIpv6Ah ? (h[1] + 2u) * 4 : (h[1] + 1u) * 8;
    if (end - cur < length) return DropReason::kTruncatedIpv6ExtensionHeader;
    next = h[0];
    cur += length;
  }
  chain->upper_proto = next;
  chain->upper_offset = cur;
  return DropReason::kNone;
}

// Fills the ports of `key` (and the ICMP identifier) from the upper-layer header
// of a quoted packet in data[off, end). Lenient: a quote holds only the first
// 8 bytes of the L4 header, so only the bytes we read must be there.
bool ParseInnerL4(const uint8_t* data, uint32_t off, uint32_t end, bool v6, PacketKey* key,
                  uint16_t* icmp_id) {
  const uint32_t avail = end - off;
  const uint8_t* p = data + off;
  switch (key->proto) {
    case classify::kProtoTcp:
    case classify::kProtoUdp:
    case classify::kProtoSctp:
      if (avail < 4) return false;
      key->src_port = Load16(p);
      key->dst_port = Load16(p + 2);
      return true;
    case classify::kProtoIcmp:
    case classify::kProtoIcmpV6:
      // ICMP in the wrong family is an unknown protocol, as for outer packets.
      if (v6 != (key->proto == classify::kProtoIcmpV6)) return true;
      if (avail < kIcmpHeaderLength) return false;
      key->src_port = p[0];
      key->dst_port = p[1];
      if (v6 ? IsIcmpv6Query(p[0]) : IsIcmpv4Query(p[0])) *icmp_id = Load16(p + 4);
      return true;
    default: return true;
  }
}

// Parses the packet quoted by an ICMP error in data[off, end) into
// out->inner_key. Returns false when the quote is too short or malformed.
bool ParseInner(const uint8_t* data, uint32_t off, uint32_t end, bool v6, ParsedPacket* out) {
  PacketKey& key = out->inner_key;
  const uint32_t avail = end - off;
  const uint8_t* ip = data + off;
  if (!v6) {
    if (avail < kIpv4MinHeaderLength || (ip[0] >> 4) != 4) return false;
    const uint32_t ihl = (ip[0] & 0xfu) * 4;
    if (ihl < kIpv4MinHeaderLength || ihl > avail) return false;
    key.src = IpAddr::V4(Load32(ip + 12));
    key.dst = IpAddr::V4(Load32(ip + 16));
    key.proto = ip[9];
    // A non-first fragment quotes no L4 header: ports 0.
    if ((Load16(ip + 6) & 0x1fffu) != 0) return true;
    return ParseInnerL4(data, off + ihl, end, false, &key, &out->inner_icmp_id);
  }
  if (avail < kIpv6HeaderLength || (ip[0] >> 4) != 6) return false;
  key.src = IpAddr::V6(Load128(ip + 8));
  key.dst = IpAddr::V6(Load128(ip + 24));
  Ipv6Chain chain;
  // The quoted packet was valid when it was sent, so any complaint here
  // (including kBadFragment, computed against the quote's length) means the
  // quote cannot be related to a flow.
  if (WalkIpv6Chain(data, off, end, &chain) != DropReason::kNone) return false;
  key.proto = chain.upper_proto;
  if (chain.is_fragment && !chain.is_first_fragment) return true;
  return ParseInnerL4(data, chain.upper_offset, end, true, &key, &out->inner_icmp_id);
}

// Parses the upper-layer header in data[off, end) whose protocol is
// out->key.proto. Strict, unlike ParseInnerL4: the whole header must be there.
DropReason ParseL4(const uint8_t* data, uint32_t off, uint32_t end, bool v6, ParsedPacket* out) {
  out->l4_offset = static_cast<uint16_t>(off);
  const uint32_t avail = end - off;
  const uint8_t* p = data + off;
  PacketKey& key = out->key;
  switch (key.proto) {
    case classify::kProtoTcp: {
      if (avail < kTcpMinHeaderLength) return DropReason::kTruncatedL4;
      const uint32_t data_offset = (p[12] >> 4) * 4u;
      if (data_offset < kTcpMinHeaderLength || data_offset > avail) {
        return DropReason::kBadTcpDataOffset;
      }
      key.src_port = Load16(p);
      key.dst_port = Load16(p + 2);
      out->tcp_flags = p[13];
      return DropReason::kNone;
    }
    case classify::kProtoUdp: {
      if (avail < kUdpHeaderLength) return DropReason::kTruncatedL4;
      // A first fragment's UDP length covers the whole datagram, not this
      // fragment. A length shorter than the IP payload is allowed: the rest
      // is trailing data the receiver ignores.
      const uint32_t udp_length = Load16(p + 4);
      if (!out->is_fragment && (udp_length < kUdpHeaderLength || udp_length > avail)) {
        return DropReason::kBadUdpLength;
      }
      key.src_port = Load16(p);
      key.dst_port = Load16(p + 2);
      return DropReason::kNone;
    }
    case classify::kProtoSctp:
      if (avail < kSctpCommonHeaderLength) return DropReason::kTruncatedL4;
      key.src_port = Load16(p);
      key.dst_port = Load16(p + 2);
      return DropReason::kNone;
    case classify::kProtoIcmp:
    case classify::kProtoIcmpV6: {
      // ICMP inside IPv6 (or ICMPv6 inside IPv4) is just an unknown protocol:
      // policy's ICMP criteria are per family.
      if (v6 != (key.proto == classify::kProtoIcmpV6)) return DropReason::kNone;
      if (avail < kIcmpHeaderLength) return DropReason::kTruncatedL4;
      const uint8_t type = p[0];
      key.src_port = type;
      key.dst_port = p[1];
      if (v6 ? IsIcmpv6Query(type) : IsIcmpv4Query(type)) out->icmp_id = Load16(p + 4);
      out->is_ipv6_nd = v6 && type >= 133 && type <= 137;
      if (out->is_ipv6_nd) {
        // Forwarded without policy: only what a neighbor can really send.
        const uint32_t max = (type == 134 || type == 137) ? kMaxNdLengthLong : kMaxNdLength;
        if (data[out->l3_offset + 7] != 255 || out->is_fragment || avail > max)
          return DropReason::kBadNd;
      }
      if (v6 ? IsIcmpv6Error(type) : IsIcmpv4Error(type)) {
        out->is_icmp_error = true;
        out->has_inner = ParseInner(data, off + kIcmpHeaderLength, end, v6, out);
        if (!out->has_inner) {
          out->inner_key = PacketKey{};
          out->inner_icmp_id = 0;
        }
      }
      return DropReason::kNone;
    }
    default: return DropReason::kNone;
  }
}

DropReason ParseIpv4(const uint8_t* data, uint32_t off, uint32_t len, ParsedPacket* out) {
  out->l3 = L3::kIpv4;
  if (len - off < kIpv4MinHeaderLength) return DropReason::kTruncatedIpv4;
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 4) return DropReason::kBadIpv4Version;
  const uint32_t ihl = (ip[0] & 0xfu) * 4;
  if (ihl < kIpv4MinHeaderLength) return DropReason::kBadIpv4HeaderLength;
  if (len - off < ihl) return DropReason::kTruncatedIpv4;
  const uint32_t total_length = Load16(ip + 2);
  if (total_length < ihl || total_length > len - off) return DropReason::kBadIpv4TotalLength;
  out->l3_length = static_cast<uint16_t>(total_length);
  PacketKey& key = out->key;
  key.src = IpAddr::V4(Load32(ip + 12));
  key.dst = IpAddr::V4(Load32(ip + 16));
  key.proto = ip[9];

  const uint16_t flags_offset = Load16(ip + 6);
  const uint32_t fragment_offset = (flags_offset & 0x1fffu) * 8;
  const bool more = flags_offset & 0x2000u;
  if (fragment_offset != 0 || more) {
    const uint32_t payload = total_length - ihl;
    if (ihl + fragment_offset + payload > kMaxReassembledLength || (more && payload % 8 != 0)) {
      return DropReason::kBadFragment;
    }
    out->is_fragment = true;
    out->is_first_fragment = fragment_offset == 0;
    out->more_fragments = more;
    out->fragment_offset = static_cast<uint16_t>(fragment_offset);
    out->fragment_id = Load16(ip + 4);
    out->fragment_data_offset = static_cast<uint16_t>(off + ihl);
    if (fragment_offset != 0) {
      out->l4_offset = static_cast<uint16_t>(off + ihl);
      return DropReason::kNone;
    }
  }
  return ParseL4(data, off + ihl, off + total_length, /*v6=*/false, out);
}

DropReason ParseIpv6(const uint8_t* data, uint32_t off, uint32_t len, ParsedPacket* out) {
  out->l3 = L3::kIpv6;
  if (len - off < kIpv6HeaderLength) return DropReason::kTruncatedIpv6;
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 6) return DropReason::kBadIpv6Version;
  // Jumbograms (payload length 0 + a hop-by-hop option) cannot occur on
  // Ethernet and parse as an empty payload, which then fails the chain walk.
  const uint32_t payload_length = Load16(ip + 4);
  if (payload_length > len - off - kIpv6HeaderLength) return DropReason::kBadIpv6PayloadLength;
  const uint32_t end = off + kIpv6HeaderLength + payload_length;
  out->l3_length = static_cast<uint16_t>(kIpv6HeaderLength + payload_length);
  PacketKey& key = out->key;
  key.src = IpAddr::V6(Load128(ip + 8));
  key.dst = IpAddr::V6(Load128(ip + 24));

  Ipv6Chain chain;
  if (DropReason r = WalkIpv6Chain(data, off, end, &chain); r != DropReason::kNone) return r;
  key.proto = chain.upper_proto;
  out->is_fragment = chain.is_fragment;
  out->is_first_fragment = chain.is_first_fragment;
  out->more_fragments = chain.more_fragments;
  out->fragment_offset = chain.fragment_offset;
  out->fragment_id = chain.fragment_id;
  out->fragment_data_offset = static_cast<uint16_t>(chain.fragment_data_offset);
  if (chain.is_fragment && !chain.is_first_fragment) {
    out->l4_offset = static_cast<uint16_t>(chain.upper_offset);
    return DropReason::kNone;
  }
  return ParseL4(data, chain.upper_offset, end, /*v6=*/true, out);
}

// Ethernet/IPv4 ARP (RFC 826): htype 1, ptype IPv4, hlen 6, plen 4.
DropReason ParseArp(const uint8_t* data, uint32_t off, uint32_t len, ParsedPacket* out) {
  out->l3 = L3::kArp;
  constexpr uint32_t kArpLength = 28;
  const uint8_t* a = data + off;
  if (len - off < kArpLength || len - off > kMaxArpLength || Load16(a) != 1 ||
      Load16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4)
    return DropReason::kBadArp;
  out->l3_length = kArpLength;
  out->key.src = IpAddr::V4(Load32(a + 14));
  out->key.dst = IpAddr::V4(Load32(a + 24));
  return DropReason::kNone;
}

}  // namespace

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone: return "none";
    case DropReason::kTruncatedEthernet: return "truncated_ethernet";
    case DropReason::kTruncatedVlan: return "truncated_vlan";
    case DropReason::kTooManyVlanTags: return "too_many_vlan_tags";
    case DropReason::kTruncatedIpv4: return "truncated_ipv4";
    case DropReason::kBadIpv4Version: return "bad_ipv4_version";
    case DropReason::kBadIpv4HeaderLength: return "bad_ipv4_header_length";
    case DropReason::kBadIpv4TotalLength: return "bad_ipv4_total_length";
    case DropReason::kTruncatedIpv6: return "truncated_ipv6";
    case DropReason::kBadIpv6Version: return "bad_ipv6_version";
    case DropReason::kBadIpv6PayloadLength: return "bad_ipv6_payload_length";
    case DropReason::kTruncatedIpv6ExtensionHeader: return "truncated_ipv6_extension_header";
    case DropReason::kTooManyIpv6ExtensionHeaders: return "too_many_ipv6_extension_headers";
    case DropReason::kBadFragment: return "bad_fragment";
    case DropReason::kTruncatedL4: return "truncated_l4";
    case DropReason::kBadTcpDataOffset: return "bad_tcp_data_offset";
    case DropReason::kBadUdpLength: return "bad_udp_length";
    case DropReason::kBadArp: return "bad_arp";
    case DropReason::kBadNd: return "bad_nd";
    case DropReason::kCount: break;
  }
  return "unknown";
}

DropReason Parse(const uint8_t* data, uint32_t len, ParsedPacket* out) {
  *out = ParsedPacket{};
  if (len < kEthernetHeaderLength) return DropReason::kTruncatedEthernet;
  // Offsets are 16-bit and IP lengths are too; a larger buffer (impossible
  // for one mbuf segment) is parsed as its first 64 KiB.
  if (len > 0xffffu) len = 0xffffu;
  uint16_t ether_type = Load16(data + 12);
  uint32_t off = kEthernetHeaderLength;
  while (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ) {
    if (out->vlan_count == kMaxVlanTags) return DropReason::kTooManyVlanTags;
    if (len - off < kVlanTagLength) return DropReason::kTruncatedVlan;
    out->vlan_ids[out->vlan_count++] = Load16(data + off) & 0x0fffu;
    ether_type = Load16(data + off + 2);
    off += kVlanTagLength;
  }
  out->ether_type = ether_type;
  out->l3_offset = static_cast<uint16_t>(off);
  switch (ether_type) {
    case kEtherTypeIpv4: return ParseIpv4(data, off, len, out);
    case kEtherTypeIpv6: return ParseIpv6(data, off, len, out);
    case kEtherTypeArp: return ParseArp(data, off, len, out);
    default: out->l3 = L3::kOther; return DropReason::kNone;
  }
}

}  // namespace tierwall::dp::parse
