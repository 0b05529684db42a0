// A small fluent builder of Ethernet frames for parser tests, in the style of
// Katran's test packet builder: layers are appended outermost first and each
// one fills in the type/protocol field the previous layer left open, so
//   PacketBuilder().Eth().Vlan(10).Ipv4("198.18.0.1", "198.18.0.2").Udp(1, 2).Build()
// is a valid frame. Length fields (IPv4 total length, IPv6 payload length, UDP
// length) are computed in Build() unless a test overrides them to make a
// malformed frame. Checksums are left 0: the parser does not verify them.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/classify/ip_addr.h"

namespace tierwall::test {

struct Ipv4Options {
  uint8_t ihl = 5;  // Header words; > 5 appends NOP options.
  uint8_t version = 4;
  uint16_t id = 0;
  bool more_fragments = false;
  uint16_t fragment_offset_bytes = 0;    // Must be a multiple of 8 to be valid.
  std::optional<uint16_t> total_length;  // Computed when unset.
  std::optional<uint8_t> protocol;       // Taken from the next layer when unset.
};

struct Ipv6Options {
  uint8_t version = 6;
  uint8_t hop_limit = 64;  // Neighbor Discovery needs 255.
  std::optional<uint16_t> payload_length;
  std::optional<uint8_t> next_header;
};

struct TcpOptions {
  uint8_t flags = 0x02;     // SYN
  uint8_t data_offset = 5;  // Header words; > 5 appends NOP options.
};

class PacketBuilder {
 public:
  PacketBuilder& Eth() {
    Append({0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01});
    ether_type_pos_ = bytes_.size();
    Append({0, 0});
    return *this;
  }
  PacketBuilder& Vlan(uint16_t vid, uint16_t tpid = 0x8100) {
    SetEtherType(tpid);
    Append16(vid & 0x0fff);
    ether_type_pos_ = bytes_.size();
    Append({0, 0});
    return *this;
  }
  // For frames that are not IP (ARP, LLDP, ...): sets the open EtherType.
  PacketBuilder& EtherType(uint16_t type) {
    SetEtherType(type);
    return *this;
  }
  PacketBuilder& Arp() {
    SetEtherType(0x0806);
    Append({0, 1, 8, 0, 6, 4, 0, 1});  // Ethernet/IPv4 request
    Zeros(20);
    return *this;
  }

  PacketBuilder& Ipv4(const std::string& src, const std::string& dst, Ipv4Options o = {}) {
    SetEtherType(0x0800);
    SetProto(4);  // IP-in-IP when nested; an ICMP error quote sets nothing.
    const size_t start = bytes_.size();
    Append8(static_cast<uint8_t>(o.version << 4 | (o.ihl & 0xf)));
    Append8(0);
    const size_t length_pos = bytes_.size();
    Append16(o.total_length.value_or(0));
    Append16(o.id);
    Append16(
        static_cast<uint16_t>((o.more_fragments ? 0x2000 : 0) | (o.fragment_offset_bytes / 8)));
    Append8(64);
    proto_pos_ = bytes_.size();
    Append8(o.protocol.value_or(0));
    Append16(0);  // checksum
    Append32(static_cast<uint32_t>(Addr(src).bits));
    Append32(static_cast<uint32_t>(Addr(dst).bits));
    for (int i = 5; i < o.ihl; ++i) Append({1, 1, 1, 1});  // NOP options
    proto_fixed_ = o.protocol.has_value();
    if (!o.total_length) fixups_.push_back({Fixup::kIpv4Total, length_pos, start});
    return *this;
  }

  PacketBuilder& Ipv6(const std::string& src, const std::string& dst, Ipv6Options o = {}) {
    SetEtherType(0x86dd);
    SetProto(41);
    const size_t start = bytes_.size();
    Append({static_cast<uint8_t>(o.version << 4), 0, 0, 0});
    const size_t length_pos = bytes_.size();
    Append16(o.payload_length.value_or(0));
    proto_pos_ = bytes_.size();
    Append8(o.next_header.value_or(59));
    Append8(o.hop_limit);
    Append128(Addr(src).bits);
    Append128(Addr(dst).bits);
    proto_fixed_ = o.next_header.has_value();
    if (!o.payload_length) fixups_.push_back({Fixup::kIpv6Payload, length_pos, start});
    return *this;
  }
  // A generic extension header (hop-by-hop 0, routing 43, destination options
  // 60, ...) of `length` bytes (a multiple of 8, >= 8), padded with zeros.
  PacketBuilder& Ipv6Ext(uint8_t type, uint16_t length = 8) {
    SetProto(type);
    proto_pos_ = bytes_.size();
    Append8(59);
    Append8(static_cast<uint8_t>(length / 8 - 1));
    Zeros(length - 2);
    return *this;
  }
  // Authentication header: length in 4-byte units minus 2.
  PacketBuilder& Ipv6Ah(uint16_t length = 12) {
    SetProto(51);
    proto_pos_ = bytes_.size();
    Append8(59);
    Append8(static_cast<uint8_t>(length / 4 - 2));
    Zeros(length - 2);
    return *this;
  }
  PacketBuilder& Ipv6Frag(uint16_t offset_bytes, bool more, uint32_t id) {
    SetProto(44);
    proto_pos_ = bytes_.size();
    Append8(59);
    Append8(0);
    Append16(static_cast<uint16_t>((offset_bytes & 0xfff8) | (more ? 1 : 0)));
    Append32(id);
    return *this;
  }

  PacketBuilder& Tcp(uint16_t sport, uint16_t dport, TcpOptions o = {}) {
    SetProto(6);
    Append16(sport);
    Append16(dport);
    Append32(1000);  // seq
    Append32(0);     // ack
    Append8(static_cast<uint8_t>(o.data_offset << 4));
    Append8(o.flags);
    Append16(65535);  // window
    Append32(0);      // checksum, urgent pointer
    for (int i = 5; i < o.data_offset; ++i) Append({1, 1, 1, 1});
    return *this;
  }
  PacketBuilder& Udp(uint16_t sport, uint16_t dport, std::optional<uint16_t> length = {}) {
    SetProto(17);
    const size_t start = bytes_.size();
    Append16(sport);
    Append16(dport);
    const size_t length_pos = bytes_.size();
    Append16(length.value_or(0));
    Append16(0);
    if (!length) fixups_.push_back({Fixup::kUdpLength, length_pos, start});
    return *this;
  }
  PacketBuilder& Sctp(uint16_t sport, uint16_t dport) {
    SetProto(132);
    Append16(sport);
    Append16(dport);
    Append32(0xdeadbeef);  // verification tag
    Append32(0);           // checksum
    return *this;
  }
  // ICMP (v4) or ICMPv6 header: type, code, checksum, then 4 bytes that are
  // the identifier and sequence number for queries.
  PacketBuilder& Icmp(uint8_t type, uint8_t code, uint16_t id = 0) {
    return IcmpCommon(1, type, code, id);
  }
  PacketBuilder& Icmp6(uint8_t type, uint8_t code, uint16_t id = 0) {
    return IcmpCommon(58, type, code, id);
  }
  // n opaque bytes (application data, or the rest of a quoted packet).
  PacketBuilder& Payload(size_t n, uint8_t fill = 0xab) {
    bytes_.insert(bytes_.end(), n, fill);
    return *this;
  }
  // Raw bytes, e.g. the first 8 bytes of a quoted L4 header.
  PacketBuilder& Raw(std::initializer_list<uint8_t> b) {
    Append(b);
    return *this;
  }
  // Ethernet padding: bytes after the IP packet that its lengths exclude.
  PacketBuilder& Pad(size_t n) {
    padding_ = n;
    return *this;
  }

  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out = bytes_;
    for (const Fixup& f : fixups_) {
      size_t value = out.size() - f.start;
      if (f.kind == Fixup::kIpv6Payload) value -= 40;
      out[f.pos] = static_cast<uint8_t>(value >> 8);
      out[f.pos + 1] = static_cast<uint8_t>(value);
    }
    out.insert(out.end(), padding_, 0);
    return out;
  }

 private:
  struct Fixup {
    enum Kind { kIpv4Total, kIpv6Payload, kUdpLength } kind;
    size_t pos;    // Where the 16-bit field is.
    size_t start;  // Where the header the length counts from starts.
  };

  static dp::classify::IpAddr Addr(const std::string& text) {
    std::optional<dp::classify::IpAddr> a = dp::classify::IpAddr::Parse(text);
    if (!a) std::abort();  // A typo in a test, not a test failure.
    return *a;
  }

  PacketBuilder& IcmpCommon(uint8_t proto, uint8_t type, uint8_t code, uint16_t id) {
    SetProto(proto);
    Append8(type);
    Append8(code);
    Append16(0);
    Append16(id);
    Append16(1);  // sequence
    // What follows (a quoted packet for errors) must not overwrite this
    // packet's protocol or EtherType. The quoted packet's own lengths are
    // computed up to the end of the frame, as if the quote were complete;
    // the parser ignores quoted lengths anyway.
    proto_pos_.reset();
    ether_type_pos_.reset();
    return *this;
  }

  void SetEtherType(uint16_t type) {
    if (!ether_type_pos_) return;
    bytes_[*ether_type_pos_] = static_cast<uint8_t>(type >> 8);
    bytes_[*ether_type_pos_ + 1] = static_cast<uint8_t>(type);
    ether_type_pos_.reset();
  }
  void SetProto(uint8_t proto) {
    if (proto_pos_ && !proto_fixed_) bytes_[*proto_pos_] = proto;
    proto_pos_.reset();
    proto_fixed_ = false;
  }

  void Append(std::initializer_list<uint8_t> b) { bytes_.insert(bytes_.end(), b); }
  void Append8(uint8_t v) { bytes_.push_back(v); }
  void Append16(uint16_t v) { Append({static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}); }
  void Append32(uint32_t v) {
    Append16(static_cast<uint16_t>(v >> 16));
    Append16(static_cast<uint16_t>(v));
  }
  void Append128(dp::classify::U128 v) {
    for (int shift = 120; shift >= 0; shift -= 8) Append8(static_cast<uint8_t>(v >> shift));
  }
  void Zeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }

  std::vector<uint8_t> bytes_;
  std::optional<size_t> ether_type_pos_;
  std::optional<size_t> proto_pos_;
  bool proto_fixed_ = false;
  std::vector<Fixup> fixups_;
  size_t padding_ = 0;
};

}  // namespace tierwall::test
