// Tests of the packet parser: every field, every drop reason, every truncation
// of valid frames, and a mutation fuzz loop. Frames are parsed from buffers of
// exactly their length (heap copies for ASan, and a buffer that ends at a
// PROT_NONE page so that an over-read crashes even without ASan).
#include "dataplane/parse/packet_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/parse/packet_builder.h"

namespace tierwall::test {
namespace {

using dp::classify::IpAddr;
using dp::classify::PacketKey;
using dp::parse::DropReason;
using dp::parse::DropReasonName;
using dp::parse::L3;
using dp::parse::Parse;
using dp::parse::ParsedPacket;
using Frame = std::vector<uint8_t>;

constexpr char kA[] = "198.18.0.1";
constexpr char kB[] = "198.18.0.2";
constexpr char kRouter[] = "198.18.0.254";
constexpr char kA6[] = "2001:db8::1";
constexpr char kB6[] = "2001:db8::2";
constexpr char kRouter6[] = "2001:db8::fe";

IpAddr Ip(const char* text) { return *IpAddr::Parse(text); }

PacketBuilder E() { return std::move(PacketBuilder().Eth()); }

Frame Truncate(Frame f, size_t n) {
  f.resize(n);
  return f;
}

// A buffer whose last byte sits just before an inaccessible page.
class GuardedBuffer {
 public:
  static constexpr size_t kCapacity = 128 * 1024;
  GuardedBuffer() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    base_ = static_cast<uint8_t*>(mmap(nullptr, kCapacity + page_, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) std::abort();
    if (mprotect(base_ + kCapacity, page_, PROT_NONE) != 0) std::abort();
  }
  ~GuardedBuffer() { munmap(base_, kCapacity + page_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  // Copies `n` bytes so that they end at the guard page; returns their start.
  const uint8_t* Place(const uint8_t* data, size_t n) {
    uint8_t* start = base_ + kCapacity - n;
    if (n != 0) std::memcpy(start, data, n);
    return start;
  }

 private:
  size_t page_ = 0;
  uint8_t* base_ = nullptr;
};

struct Result {
  DropReason reason;
  ParsedPacket p;
};

// Parses a heap copy of exactly the frame's length, so ASan sees over-reads.
Result ParseExact(const Frame& frame) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[frame.size()]);
  if (!frame.empty()) std::memcpy(copy.get(), frame.data(), frame.size());
  Result r;
  r.reason = Parse(copy.get(), static_cast<uint32_t>(frame.size()), &r.p);
  return r;
}

PacketKey Key(const char* src, const char* dst, uint8_t proto, uint16_t sport, uint16_t dport) {
  return {Ip(src), Ip(dst), proto, sport, dport};
}

std::string KeyString(const PacketKey& k) {
  return k.src.ToString() + " -> " + k.dst.ToString() + " proto " + std::to_string(k.proto) + " " +
         std::to_string(k.src_port) + " -> " + std::to_string(k.dst_port);
}

MATCHER_P(KeyIs, expected, KeyString(expected)) {
  *result_listener << "key is " << KeyString(arg);
  return arg.src == expected.src && arg.dst == expected.dst && arg.proto == expected.proto &&
         arg.src_port == expected.src_port && arg.dst_port == expected.dst_port;
}

// ---------------------------------------------------------------------------
// Drop reason names
// ---------------------------------------------------------------------------

TEST(DropReasonNameTest, NamesAreUniqueSnakeCase) {
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(DropReason::kCount); ++i) {
    const std::string name = DropReasonName(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown") << i;
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    })) << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
  }
  EXPECT_STREQ(DropReasonName(DropReason::kCount), "unknown");
  EXPECT_STREQ(DropReasonName(static_cast<DropReason>(200)), "unknown");
  EXPECT_STREQ(DropReasonName(DropReason::kTruncatedIpv4), "truncated_ipv4");
  EXPECT_STREQ(DropReasonName(DropReason::kNone), "none");
}

// ---------------------------------------------------------------------------
// Fields of valid frames, table-driven
// ---------------------------------------------------------------------------

struct FieldCase {
  std::string name;
  Frame frame;
  L3 l3;
  PacketKey key;  // Ignored for non-IP frames.
  uint16_t l3_offset;
  uint16_t l4_offset;  // Ignored for non-IP frames.
  uint16_t ether_type;
};
void PrintTo(const FieldCase& c, std::ostream* os) { *os << c.name; }

std::vector<FieldCase> FieldCases() {
  const auto v4 = [](uint8_t p, uint16_t s, uint16_t d) { return Key(kA, kB, p, s, d); };
  const auto v6 = [](uint8_t p, uint16_t s, uint16_t d) { return Key(kA6, kB6, p, s, d); };
  return {
      {"ipv4_tcp", E().Ipv4(kA, kB).Tcp(40000, 80).Build(), L3::kIpv4, v4(6, 40000, 80), 14, 34,
       0x0800},
      {"ipv4_tcp_options", E().Ipv4(kA, kB).Tcp(1, 2, {.data_offset = 15}).Payload(3).Build(),
       L3::kIpv4, v4(6, 1, 2), 14, 34, 0x0800},
      {"ipv4_udp", E().Ipv4(kA, kB).Udp(5353, 53).Payload(10).Build(), L3::kIpv4, v4(17, 5353, 53),
       14, 34, 0x0800},
      {"ipv4_sctp", E().Ipv4(kA, kB).Sctp(3868, 3869).Build(), L3::kIpv4, v4(132, 3868, 3869), 14,
       34, 0x0800},
      {"ipv4_icmp_echo", E().Ipv4(kA, kB).Icmp(8, 0, 7).Build(), L3::kIpv4, v4(1, 8, 0), 14, 34,
       0x0800},
      {"ipv4_gre_unknown_l4", E().Ipv4(kA, kB, {.protocol = 47}).Payload(4).Build(), L3::kIpv4,
       v4(47, 0, 0), 14, 34, 0x0800},
      {"ipv4_unknown_l4_empty", E().Ipv4(kA, kB, {.protocol = 253}).Build(), L3::kIpv4,
       v4(253, 0, 0), 14, 34, 0x0800},
      {"ipv4_icmpv6_is_unknown", E().Ipv4(kA, kB, {.protocol = 58}).Payload(2).Build(), L3::kIpv4,
       v4(58, 0, 0), 14, 34, 0x0800},
      {"ipv4_options_ihl6", E().Ipv4(kA, kB, {.ihl = 6}).Udp(1, 2).Build(), L3::kIpv4, v4(17, 1, 2),
       14, 38, 0x0800},
      {"ipv4_options_ihl15", E().Ipv4(kA, kB, {.ihl = 15}).Tcp(3, 4).Build(), L3::kIpv4,
       v4(6, 3, 4), 14, 74, 0x0800},
      {"vlan_ipv4_udp", E().Vlan(10).Ipv4(kA, kB).Udp(1, 2).Build(), L3::kIpv4, v4(17, 1, 2), 18,
       38, 0x0800},
      {"qinq_88a8_ipv4_tcp", E().Vlan(100, 0x88a8).Vlan(10).Ipv4(kA, kB).Tcp(5, 6).Build(),
       L3::kIpv4, v4(6, 5, 6), 22, 42, 0x0800},
      {"qinq_8100_8100_ipv6_udp", E().Vlan(1).Vlan(2).Ipv6(kA6, kB6).Udp(7, 8).Build(), L3::kIpv6,
       v6(17, 7, 8), 22, 62, 0x86dd},
      {"ipv6_tcp", E().Ipv6(kA6, kB6).Tcp(443, 50000).Build(), L3::kIpv6, v6(6, 443, 50000), 14, 54,
       0x86dd},
      {"ipv6_udp", E().Ipv6(kA6, kB6).Udp(546, 547).Payload(1).Build(), L3::kIpv6, v6(17, 546, 547),
       14, 54, 0x86dd},
      {"ipv6_sctp", E().Ipv6(kA6, kB6).Sctp(9, 10).Build(), L3::kIpv6, v6(132, 9, 10), 14, 54,
       0x86dd},
      {"ipv6_icmp6_echo", E().Ipv6(kA6, kB6).Icmp6(128, 0, 9).Build(), L3::kIpv6, v6(58, 128, 0),
       14, 54, 0x86dd},
      {"ipv6_icmpv4_is_unknown", E().Ipv6(kA6, kB6, {.next_header = 1}).Payload(3).Build(),
       L3::kIpv6, v6(1, 0, 0), 14, 54, 0x86dd},
      {"ipv6_hbh_routing_destopts_tcp",
       E().Ipv6(kA6, kB6).Ipv6Ext(0).Ipv6Ext(43, 24).Ipv6Ext(60, 16).Tcp(1, 2).Build(), L3::kIpv6,
       v6(6, 1, 2), 14, 54 + 8 + 24 + 16, 0x86dd},
      {"ipv6_ah_udp", E().Ipv6(kA6, kB6).Ipv6Ah(24).Udp(500, 4500).Build(), L3::kIpv6,
       v6(17, 500, 4500), 14, 54 + 24, 0x86dd},
      {"ipv6_mobility_hip_shim6",
       E().Ipv6(kA6, kB6).Ipv6Ext(135).Ipv6Ext(139).Ipv6Ext(140).Udp(1, 2).Build(), L3::kIpv6,
       v6(17, 1, 2), 14, 54 + 24, 0x86dd},
      {"ipv6_eight_extension_headers",
       E().Ipv6(kA6, kB6)
           .Ipv6Ext(0)
           .Ipv6Ext(60)
           .Ipv6Ext(43)
           .Ipv6Ext(60)
           .Ipv6Ext(43)
           .Ipv6Ext(60)
           .Ipv6Ah()
           .Ipv6Ext(60)
           .Udp(1, 2)
           .Build(),
       L3::kIpv6, v6(17, 1, 2), 14, 54 + 7 * 8 + 12, 0x86dd},
      {"ipv6_esp_ends_chain", E().Ipv6(kA6, kB6).Ipv6Ext(0).Ipv6Ext(50).Payload(16).Build(),
       L3::kIpv6, v6(50, 0, 0), 14, 62, 0x86dd},
      {"ipv6_no_next_header", E().Ipv6(kA6, kB6).Build(), L3::kIpv6, v6(59, 0, 0), 14, 54, 0x86dd},
      {"ipv6_atomic_fragment", E().Ipv6(kA6, kB6).Ipv6Frag(0, false, 5).Udp(1, 2).Build(),
       L3::kIpv6, v6(17, 1, 2), 14, 62, 0x86dd},
      {"arp", E().Arp().Build(), L3::kArp, {}, 14, 0, 0x0806},
      {"vlan_arp", E().Vlan(5).Arp().Build(), L3::kArp, {}, 18, 0, 0x0806},
      {"lldp", E().EtherType(0x88cc).Payload(30).Build(), L3::kOther, {}, 14, 0, 0x88cc},
      {"ieee_802_3_length", E().EtherType(46).Payload(46).Build(), L3::kOther, {}, 14, 0, 46},
      // A lone Ethernet header of a non-IP type is not malformed.
      {"bare_ethernet", E().EtherType(0x9000).Build(), L3::kOther, {}, 14, 0, 0x9000},
      // 0x9100 (pre-standard QinQ) is not a tag we strip.
      {"tpid_9100_is_other",
       E().EtherType(0x9100).Payload(4).Build(),
       L3::kOther,
       {},
       14,
       0,
       0x9100},
  };
}

class FieldTest : public testing::TestWithParam<FieldCase> {};

TEST_P(FieldTest, ParsesFields) {
  const FieldCase& c = GetParam();
  const Result r = ParseExact(c.frame);
  ASSERT_EQ(r.reason, DropReason::kNone) << DropReasonName(r.reason);
  EXPECT_EQ(r.p.l3, c.l3);
  EXPECT_EQ(r.p.l3_offset, c.l3_offset);
  EXPECT_EQ(r.p.ether_type, c.ether_type);
  EXPECT_FALSE(r.p.is_fragment);
  EXPECT_FALSE(r.p.is_icmp_error);
  if (c.l3 == L3::kIpv4 || c.l3 == L3::kIpv6) {
    EXPECT_THAT(r.p.key, KeyIs(c.key));
    EXPECT_EQ(r.p.l4_offset, c.l4_offset);
    EXPECT_EQ(r.p.l3_length, c.frame.size() - c.l3_offset);
  }
}

INSTANTIATE_TEST_SUITE_P(Parse, FieldTest, testing::ValuesIn(FieldCases()),
                         [](const testing::TestParamInfo<FieldCase>& param_info) {
                           return param_info.param.name;
                         });

// ---------------------------------------------------------------------------
// Individual fields
// ---------------------------------------------------------------------------

TEST(ParseTest, ResetsOutputOnEveryCall) {
  ParsedPacket p;
  const Frame tcp = E().Vlan(7).Ipv4(kA, kB).Tcp(1, 2).Build();
  ASSERT_EQ(Parse(tcp.data(), static_cast<uint32_t>(tcp.size()), &p), DropReason::kNone);
  ASSERT_EQ(p.vlan_count, 1);
  const Frame arp = E().Arp().Build();
  ASSERT_EQ(Parse(arp.data(), static_cast<uint32_t>(arp.size()), &p), DropReason::kNone);
  EXPECT_EQ(p.vlan_count, 0);
  EXPECT_EQ(p.vlan_ids[0], 0);
  EXPECT_EQ(p.key.src_port, 0);
  EXPECT_EQ(p.tcp_flags, 0);
  EXPECT_EQ(p.l4_offset, 0);
}

TEST(ParseTest, VlanIds) {
  Result r = ParseExact(E().Vlan(0xfff).Ipv4(kA, kB).Udp(1, 2).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.vlan_count, 1);
  EXPECT_EQ(r.p.vlan_ids[0], 0xfff);
  EXPECT_EQ(r.p.vlan_ids[1], 0);

  // The PCP and DEI bits are not part of the VID.
  Frame f = E().Vlan(100, 0x88a8).Vlan(200).Ipv6(kA6, kB6).Udp(1, 2).Build();
  f[14] |= 0xf0;
  f[18] |= 0xe0;
  r = ParseExact(f);
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.vlan_count, 2);
  EXPECT_EQ(r.p.vlan_ids[0], 100);
  EXPECT_EQ(r.p.vlan_ids[1], 200);

  r = ParseExact(E().Ipv4(kA, kB).Udp(1, 2).Build());
  EXPECT_EQ(r.p.vlan_count, 0);
}

TEST(ParseTest, TcpFlags) {
  for (uint8_t flags :
       {uint8_t{0x02}, uint8_t{0x12}, uint8_t{0x11}, uint8_t{0x04}, uint8_t{0xff}}) {
    Result r = ParseExact(E().Ipv4(kA, kB).Tcp(1, 2, {.flags = flags}).Build());
    ASSERT_EQ(r.reason, DropReason::kNone);
    EXPECT_EQ(r.p.tcp_flags, flags);
    r = ParseExact(E().Ipv6(kA6, kB6).Ipv6Ext(0).Tcp(1, 2, {.flags = flags}).Build());
    ASSERT_EQ(r.reason, DropReason::kNone);
    EXPECT_EQ(r.p.tcp_flags, flags);
  }
  EXPECT_EQ(ParseExact(E().Ipv4(kA, kB).Udp(1, 2).Build()).p.tcp_flags, 0);
}

TEST(ParseTest, IcmpIdentifierOnlyForQueries) {
  struct Case {
    bool v6;
    uint8_t type;
    uint16_t expected_id;
  };
  for (const Case& c : std::vector<Case>{{false, 8, 0x1234},
                                         {false, 0, 0x1234},
                                         {false, 13, 0x1234},
                                         {false, 17, 0x1234},
                                         {false, 9, 0},
                                         {false, 3, 0},
                                         {true, 128, 0x1234},
                                         {true, 129, 0x1234},
                                         {true, 135, 0},
                                         {true, 1, 0}}) {
    // Hop limit 255: Neighbor Discovery (135) needs it to parse at all.
    const Frame f = c.v6 ? E().Ipv6(kA6, kB6, {.hop_limit = 255}).Icmp6(c.type, 0, 0x1234).Build()
                         : E().Ipv4(kA, kB).Icmp(c.type, 0, 0x1234).Build();
    const Result r = ParseExact(f);
    ASSERT_EQ(r.reason, DropReason::kNone);
    EXPECT_EQ(r.p.icmp_id, c.expected_id) << "v6 " << c.v6 << " type " << int{c.type};
    EXPECT_EQ(r.p.key.src_port, c.type);
  }
}

TEST(ParseTest, Ipv6NeighborDiscovery) {
  for (int type = 120; type < 145; ++type) {
    const Result r = ParseExact(
        E().Ipv6(kA6, kB6, {.hop_limit = 255}).Icmp6(static_cast<uint8_t>(type), 0).Build());
    ASSERT_EQ(r.reason, DropReason::kNone);
    EXPECT_EQ(r.p.is_ipv6_nd, type >= 133 && type <= 137) << type;
  }
  // ND types mean nothing in ICMPv4.
  EXPECT_FALSE(ParseExact(E().Ipv4(kA, kB).Icmp(135, 0).Build()).p.is_ipv6_nd);
}

// ND is forwarded without policy, so only what a neighbor can send passes:
// hop limit 255 (RFC 4861: it was not routed), unfragmented (RFC 6980),
// bounded length (else up to 1.4 KB of anything reaches any host).
TEST(ParseTest, Ipv6NeighborDiscoveryIsBounded) {
  auto nd = [](uint8_t type, size_t body, uint8_t hop_limit = 255) {
    return E().Ipv6(kA6, kB6, {.hop_limit = hop_limit}).Icmp6(type, 0).Payload(body).Build();
  };
  EXPECT_EQ(ParseExact(nd(135, 24)).reason, DropReason::kNone);
  EXPECT_EQ(ParseExact(nd(135, 24, 254)).reason, DropReason::kBadNd);
  EXPECT_EQ(ParseExact(nd(136, 24, 64)).reason, DropReason::kBadNd);
  // 8 bytes of ICMPv6 header + body.
  EXPECT_EQ(ParseExact(nd(135, dp::parse::kMaxNdLength - 8)).reason, DropReason::kNone);
  EXPECT_EQ(ParseExact(nd(135, dp::parse::kMaxNdLength - 7)).reason, DropReason::kBadNd);
  EXPECT_EQ(ParseExact(nd(133, 1400)).reason, DropReason::kBadNd);
  EXPECT_EQ(ParseExact(nd(134, dp::parse::kMaxNdLengthLong - 8)).reason, DropReason::kNone);
  EXPECT_EQ(ParseExact(nd(134, dp::parse::kMaxNdLengthLong - 7)).reason, DropReason::kBadNd);
  EXPECT_EQ(ParseExact(nd(137, dp::parse::kMaxNdLengthLong - 7)).reason, DropReason::kBadNd);
  // A first fragment carrying an NS header.
  EXPECT_EQ(ParseExact(E().Ipv6(kA6, kB6, {.hop_limit = 255})
                           .Ipv6Frag(0, true, 9)
                           .Icmp6(135, 0)
                           .Payload(24)
                           .Build())
                .reason,
            DropReason::kBadNd);
  // Other ICMPv6 messages are not bounded here (policy judges them).
  EXPECT_EQ(ParseExact(nd(128, 1400, 64)).reason, DropReason::kNone);
}

// ARP is forwarded without policy too: Ethernet/IPv4 ARP only, no room for
// data, and its sender address is what source validation checks.
TEST(ParseTest, ArpIsEthernetIpv4AndBounded) {
  Frame request = E().Arp().Build();
  request[14 + 14 + 3] = 1;  // sender protocol address 0.0.0.1
  request[14 + 24 + 3] = 2;  // target protocol address 0.0.0.2
  Result r = ParseExact(request);
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.l3, L3::kArp);
  EXPECT_EQ(r.p.key.src, IpAddr::V4(1));
  EXPECT_EQ(r.p.key.dst, IpAddr::V4(2));
  // Padded to the Ethernet minimum, and behind two tags: fine.
  EXPECT_EQ(ParseExact(E().Arp().Payload(18).Build()).reason, DropReason::kNone);
  EXPECT_EQ(ParseExact(E().Vlan(1, 0x88a8).Vlan(2).Arp().Payload(36).Build()).reason,
            DropReason::kNone);
  // Data riding on an ARP frame.
  EXPECT_EQ(ParseExact(E().Arp().Payload(dp::parse::kMaxArpLength - 27).Build()).reason,
            DropReason::kBadArp);
  EXPECT_EQ(ParseExact(E().Arp().Payload(1400).Build()).reason, DropReason::kBadArp);
  // Not Ethernet/IPv4: hardware type 6, protocol 0x86dd, sizes 8/16.
  for (size_t at : {15u, 17u, 18u, 19u}) {
    Frame f = E().Arp().Build();
    f[at] ^= 0x04;
    EXPECT_EQ(ParseExact(f).reason, DropReason::kBadArp) << "byte " << at;
  }
  EXPECT_EQ(ParseExact(Truncate(E().Arp().Build(), 14 + 27)).reason, DropReason::kBadArp);
}

// Where a fragment's data starts, so that overlaps can be measured.
TEST(FragmentTest, FragmentDataOffset) {
  Result r = ParseExact(E().Ipv4(kA, kB, {.ihl = 6, .id = 1, .more_fragments = true})
                            .Udp(1, 2, 100)
                            .Payload(8)
                            .Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.fragment_data_offset, 14 + 24);
  r = ParseExact(E().Ipv6(kA6, kB6).Ipv6Ext(0).Ipv6Frag(64, false, 77).Payload(3).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.fragment_data_offset, 14 + 40 + 8 + 8);
}

TEST(ParseTest, EthernetPaddingIsIgnored) {
  Result r = ParseExact(E().Ipv4(kA, kB).Udp(1, 2).Pad(18).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.l3_length, 28);
  EXPECT_EQ(r.p.key.dst_port, 2);

  r = ParseExact(E().Vlan(3).Ipv4(kA, kB).Icmp(8, 0, 1).Pad(10).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.l3_length, 28);

  r = ParseExact(E().Ipv6(kA6, kB6).Udp(1, 2).Pad(7).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.l3_length, 48);

  // Padding does not count as TCP header: the header must fit in the IP packet.
  Frame f = E().Ipv4(kA, kB, {.total_length = 20 + 19, .protocol = 6}).Payload(19).Pad(30).Build();
  EXPECT_EQ(ParseExact(f).reason, DropReason::kTruncatedL4);
}

TEST(ParseTest, UdpLengthShorterThanPayloadIsAccepted) {
  const Result r = ParseExact(E().Ipv4(kA, kB).Udp(1, 2, 8).Payload(10).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_EQ(r.p.key.src_port, 1);
}

// ---------------------------------------------------------------------------
// Fragments
// ---------------------------------------------------------------------------

TEST(FragmentTest, Ipv4FirstFragmentHasPorts) {
  // The UDP length covers the whole datagram, longer than this fragment.
  const Result r = ParseExact(E().Ipv4(kA, kB, {.id = 0xbeef, .more_fragments = true})
                                  .Udp(1000, 53, 3000)
                                  .Payload(1472)
                                  .Build());
  ASSERT_EQ(r.reason, DropReason::kNone) << DropReasonName(r.reason);
  EXPECT_TRUE(r.p.is_fragment);
  EXPECT_TRUE(r.p.is_first_fragment);
  EXPECT_TRUE(r.p.more_fragments);
  EXPECT_EQ(r.p.fragment_offset, 0);
  EXPECT_EQ(r.p.fragment_id, 0xbeefu);
  EXPECT_THAT(r.p.key, KeyIs(Key(kA, kB, 17, 1000, 53)));
  EXPECT_EQ(r.p.l4_offset, 34);
}

TEST(FragmentTest, Ipv4NonFirstFragmentsHaveNoPorts) {
  for (bool more : {true, false}) {
    // Bytes that look like a UDP header must not be taken for one.
    const Result r = ParseExact(
        E().Ipv4(kA, kB,
                 {.id = 7, .more_fragments = more, .fragment_offset_bytes = 1480, .protocol = 17})
            .Raw({0, 1, 0, 2, 0, 8, 0, 0})
            .Payload(more ? 8 : 3)
            .Build());
    ASSERT_EQ(r.reason, DropReason::kNone) << DropReasonName(r.reason);
    EXPECT_TRUE(r.p.is_fragment);
    EXPECT_FALSE(r.p.is_first_fragment);
    EXPECT_EQ(r.p.more_fragments, more);
    EXPECT_EQ(r.p.fragment_offset, 1480);
    EXPECT_EQ(r.p.fragment_id, 7u);
    EXPECT_THAT(r.p.key, KeyIs(Key(kA, kB, 17, 0, 0)));
    EXPECT_EQ(r.p.l4_offset, 34);
  }
}

TEST(FragmentTest, Ipv4NonFirstFragmentOfAnIcmpErrorIsNotParsed) {
  const Result r = ParseExact(E().Ipv4(kA, kB, {.fragment_offset_bytes = 8, .protocol = 1})
                                  .Raw({3, 1, 0, 0, 0, 0, 0, 0})
                                  .Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_FALSE(r.p.is_icmp_error);
  EXPECT_THAT(r.p.key, KeyIs(Key(kA, kB, 1, 0, 0)));
}

TEST(FragmentTest, Ipv6FirstFragmentHasPorts) {
  const Result r = ParseExact(E().Ipv6(kA6, kB6)
                                  .Ipv6Ext(0)
                                  .Ipv6Frag(0, true, 0xdeadbeef)
                                  .Tcp(22, 60000)
                                  .Payload(4)
                                  .Build());
  ASSERT_EQ(r.reason, DropReason::kNone) << DropReasonName(r.reason);
  EXPECT_TRUE(r.p.is_fragment);
  EXPECT_TRUE(r.p.is_first_fragment);
  EXPECT_TRUE(r.p.more_fragments);
  EXPECT_EQ(r.p.fragment_id, 0xdeadbeefu);
  EXPECT_THAT(r.p.key, KeyIs(Key(kA6, kB6, 6, 22, 60000)));
  EXPECT_EQ(r.p.l4_offset, 54 + 8 + 8);
}

TEST(FragmentTest, Ipv6NonFirstFragmentsHaveNoPorts) {
  for (bool more : {true, false}) {
    const Result r = ParseExact(E().Ipv6(kA6, kB6)
                                    .Ipv6Frag(2048, more, 0x01020304)
                                    .Raw({0, 1, 0, 2, 0, 8, 0, 0})
                                    .Payload(more ? 8 : 5)
                                    .Build());
    ASSERT_EQ(r.reason, DropReason::kNone) << DropReasonName(r.reason);
    EXPECT_TRUE(r.p.is_fragment);
    EXPECT_FALSE(r.p.is_first_fragment);
    EXPECT_EQ(r.p.more_fragments, more);
    EXPECT_EQ(r.p.fragment_offset, 2048);
    EXPECT_EQ(r.p.fragment_id, 0x01020304u);
    // The proto is the fragment header's Next Header (59 from the builder
    // default, as nothing parseable follows).
    EXPECT_EQ(r.p.key.src_port, 0);
    EXPECT_EQ(r.p.key.dst_port, 0);
    EXPECT_EQ(r.p.l4_offset, 62);
  }
  // The Next Header of a non-first fragment names the fragmentable part's
  // first header; it is the key's protocol.
  Frame f = E().Ipv6(kA6, kB6).Ipv6Frag(8, false, 1).Payload(8).Build();
  f[54] = 6;
  const Result r = ParseExact(f);
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_THAT(r.p.key, KeyIs(Key(kA6, kB6, 6, 0, 0)));

  // Even when it names an extension header: the fragment's data is the middle
  // of the packet, not a header to walk (here it would claim 2 KiB).
  f = E().Ipv6(kA6, kB6).Ipv6Frag(8, false, 1).Raw({6, 255, 0, 0, 0, 0, 0, 0}).Build();
  f[54] = 60;
  const Result r2 = ParseExact(f);
  ASSERT_EQ(r2.reason, DropReason::kNone) << DropReasonName(r2.reason);
  EXPECT_THAT(r2.p.key, KeyIs(Key(kA6, kB6, 60, 0, 0)));
  EXPECT_EQ(r2.p.l4_offset, 62);
}

TEST(FragmentTest, Ipv4FragmentEndingAt65535IsValid) {
  // 20 + 65512 + 3 = 65535: the largest datagram a reassembler accepts.
  const Result r = ParseExact(
      E().Ipv4(kA, kB, {.fragment_offset_bytes = 65512, .protocol = 17}).Payload(3).Build());
  EXPECT_EQ(r.reason, DropReason::kNone) << DropReasonName(r.reason);
}

// ---------------------------------------------------------------------------
// ICMP errors
// ---------------------------------------------------------------------------

TEST(IcmpErrorTest, Ipv4ErrorTypesQuoteTheOffendingPacket) {
  for (uint8_t type : {3, 4, 5, 11, 12}) {
    // A's UDP datagram to B bounced at a router: the error goes router -> A
    // and quotes A -> B.
    const Result r =
        ParseExact(E().Ipv4(kRouter, kA).Icmp(type, 1).Ipv4(kA, kB).Udp(5000, 53).Build());
    ASSERT_EQ(r.reason, DropReason::kNone) << int{type};
    EXPECT_TRUE(r.p.is_icmp_error) << int{type};
    EXPECT_THAT(r.p.key, KeyIs(Key(kRouter, kA, 1, type, 1)));
    ASSERT_TRUE(r.p.has_inner) << int{type};
    EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA, kB, 17, 5000, 53)));
  }
}

TEST(IcmpErrorTest, Ipv4QueriesAndOtherTypesAreNotErrors) {
  for (int type = 0; type < 256; ++type) {
    if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) continue;
    const Result r = ParseExact(
        E().Ipv4(kRouter, kA).Icmp(static_cast<uint8_t>(type), 0).Ipv4(kA, kB).Udp(1, 2).Build());
    ASSERT_EQ(r.reason, DropReason::kNone);
    EXPECT_FALSE(r.p.is_icmp_error) << type;
    EXPECT_FALSE(r.p.has_inner) << type;
  }
}

TEST(IcmpErrorTest, Ipv4QuoteOfEightBytes) {
  // RFC 792 quotes the IP header and the first 8 bytes of the datagram: enough
  // for TCP ports though not a whole TCP header.
  Result r = ParseExact(E().Ipv4(kRouter, kB)
                            .Icmp(3, 3)
                            .Ipv4(kB, kA, {.protocol = 6})
                            .Raw({0x00, 0x50, 0x9c, 0x40, 0, 0, 0, 1})
                            .Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kB, kA, 6, 80, 40000)));

  // Inner IP options, inner SCTP.
  r = ParseExact(E().Ipv4(kRouter, kA)
                     .Icmp(11, 0)
                     .Ipv4(kA, kB, {.ihl = 7, .protocol = 132})
                     .Raw({0, 9, 0, 10, 1, 2, 3, 4})
                     .Build());
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA, kB, 132, 9, 10)));
}

TEST(IcmpErrorTest, Ipv4InnerIcmpEcho) {
  const Result r =
      ParseExact(E().Ipv4(kRouter, kA).Icmp(11, 0).Ipv4(kA, kB).Icmp(8, 0, 4242).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA, kB, 1, 8, 0)));
  EXPECT_EQ(r.p.inner_icmp_id, 4242);
  EXPECT_EQ(r.p.icmp_id, 0);  // The outer error has no identifier.
}

TEST(IcmpErrorTest, Ipv4InnerNonFirstFragmentAndUnknownProtocol) {
  Result r = ParseExact(E().Ipv4(kRouter, kA)
                            .Icmp(11, 1)
                            .Ipv4(kA, kB, {.fragment_offset_bytes = 16, .protocol = 17})
                            .Raw({0, 1, 0, 2, 0, 0, 0, 0})
                            .Build());
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA, kB, 17, 0, 0)));

  r = ParseExact(E().Ipv4(kRouter, kA).Icmp(3, 2).Ipv4(kA, kB, {.protocol = 47}).Build());
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA, kB, 47, 0, 0)));
}

TEST(IcmpErrorTest, TruncatedQuoteIsValidOuterPacketWithoutInner) {
  const Frame full = E().Ipv4(kRouter, kA).Icmp(3, 1).Ipv4(kA, kB).Udp(5000, 53).Build();
  // Cut the quote at every length short of the 4 port bytes the key needs,
  // fixing the outer total length so the outer packet stays valid.
  for (size_t quote = 0; quote < 24; ++quote) {
    Frame f = Truncate(full, 14 + 20 + 8 + quote);
    const uint16_t total = static_cast<uint16_t>(20 + 8 + quote);
    f[16] = static_cast<uint8_t>(total >> 8);
    f[17] = static_cast<uint8_t>(total);
    const Result r = ParseExact(f);
    ASSERT_EQ(r.reason, DropReason::kNone) << quote;
    EXPECT_TRUE(r.p.is_icmp_error);
    EXPECT_FALSE(r.p.has_inner) << quote;
    EXPECT_THAT(r.p.inner_key, KeyIs(PacketKey{}));
    EXPECT_THAT(r.p.key, KeyIs(Key(kRouter, kA, 1, 3, 1)));
  }
}

TEST(IcmpErrorTest, MalformedQuoteHasNoInner) {
  // Wrong family in the quote.
  Result r = ParseExact(E().Ipv4(kRouter, kA).Icmp(3, 1).Ipv6(kA6, kB6).Udp(1, 2).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_TRUE(r.p.is_icmp_error);
  EXPECT_FALSE(r.p.has_inner);
  // Bad inner IHL.
  Frame f = E().Ipv4(kRouter, kA).Icmp(3, 1).Ipv4(kA, kB).Udp(1, 2).Build();
  f[42] = 0x44;
  r = ParseExact(f);
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_FALSE(r.p.has_inner);
  // Inner IHL past the quote.
  f[42] = 0x4f;
  r = ParseExact(f);
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_FALSE(r.p.has_inner);
  // An inner ICMP shorter than 8 bytes.
  r = ParseExact(
      E().Ipv4(kRouter, kA).Icmp(3, 1).Ipv4(kA, kB, {.protocol = 1}).Raw({8, 0, 0, 0}).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_FALSE(r.p.has_inner);
}

TEST(IcmpErrorTest, Ipv6ErrorTypesQuoteTheOffendingPacket) {
  for (uint8_t type = 0; type < 6; ++type) {
    const Result r =
        ParseExact(E().Ipv6(kRouter6, kA6).Icmp6(type, 0).Ipv6(kA6, kB6).Udp(5000, 53).Build());
    ASSERT_EQ(r.reason, DropReason::kNone);
    const bool error = type >= 1 && type <= 4;
    EXPECT_EQ(r.p.is_icmp_error, error) << int{type};
    EXPECT_EQ(r.p.has_inner, error) << int{type};
    EXPECT_THAT(r.p.key, KeyIs(Key(kRouter6, kA6, 58, type, 0)));
    if (error) {
      EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA6, kB6, 17, 5000, 53)));
    }
  }
}

TEST(IcmpErrorTest, Ipv6QuoteWithExtensionHeadersAndFragments) {
  Result r = ParseExact(E().Ipv6(kRouter6, kA6)
                            .Icmp6(2, 0)  // packet too big
                            .Ipv6(kA6, kB6)
                            .Ipv6Ext(0)
                            .Ipv6Ext(60, 16)
                            .Tcp(33000, 443)
                            .Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA6, kB6, 6, 33000, 443)));

  // Inner ICMPv6 echo.
  r = ParseExact(E().Ipv6(kRouter6, kA6).Icmp6(3, 0).Ipv6(kA6, kB6).Icmp6(128, 0, 99).Build());
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA6, kB6, 58, 128, 0)));
  EXPECT_EQ(r.p.inner_icmp_id, 99);

  // Inner non-first fragment.
  Frame f =
      E().Ipv6(kRouter6, kA6).Icmp6(3, 1).Ipv6(kA6, kB6).Ipv6Frag(1232, true, 3).Payload(8).Build();
  f[54 + 8 + 40] = 17;  // the fragment header's Next Header
  r = ParseExact(f);
  ASSERT_EQ(r.reason, DropReason::kNone);
  ASSERT_TRUE(r.p.has_inner);
  EXPECT_THAT(r.p.inner_key, KeyIs(Key(kA6, kB6, 17, 0, 0)));

  // A quote cut inside an extension header, or with the IPv4 family.
  r = ParseExact(E().Ipv6(kRouter6, kA6).Icmp6(1, 4).Ipv6(kA6, kB6).Ipv6Ext(0, 64).Build());
  f = Truncate(E().Ipv6(kRouter6, kA6).Icmp6(1, 4).Ipv6(kA6, kB6).Ipv6Ext(0, 64).Build(),
               54 + 8 + 40 + 32);
  f[18] = 0;
  f[19] = 8 + 40 + 32;
  r = ParseExact(f);
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_TRUE(r.p.is_icmp_error);
  EXPECT_FALSE(r.p.has_inner);
  r = ParseExact(E().Ipv6(kRouter6, kA6).Icmp6(1, 4).Ipv4(kA, kB).Udp(1, 2).Build());
  ASSERT_EQ(r.reason, DropReason::kNone);
  EXPECT_FALSE(r.p.has_inner);
}

// ---------------------------------------------------------------------------
// Drop reasons, table-driven; every reason must appear.
// ---------------------------------------------------------------------------

struct DropCase {
  std::string name;
  Frame frame;
  DropReason reason;
};
void PrintTo(const DropCase& c, std::ostream* os) { *os << c.name; }

Frame WithByte(Frame f, size_t at, uint8_t value) {
  f[at] = value;
  return f;
}

std::vector<DropCase> DropCases() {
  const Frame v4_udp = E().Ipv4(kA, kB).Udp(1, 2).Payload(4).Build();
  const Frame v6_udp = E().Ipv6(kA6, kB6).Udp(1, 2).Payload(4).Build();
  return {
      {"empty", {}, DropReason::kTruncatedEthernet},
      {"ethernet_13_bytes", Truncate(v4_udp, 13), DropReason::kTruncatedEthernet},
      {"vlan_no_tag", E().EtherType(0x8100).Build(), DropReason::kTruncatedVlan},
      {"vlan_half_tag", E().EtherType(0x8100).Payload(3).Build(), DropReason::kTruncatedVlan},
      {"qinq_inner_tag_missing", E().Vlan(1, 0x88a8).EtherType(0x8100).Payload(2).Build(),
       DropReason::kTruncatedVlan},
      {"three_vlan_tags", E().Vlan(1, 0x88a8).Vlan(2).Vlan(3).Ipv4(kA, kB).Udp(1, 2).Build(),
       DropReason::kTooManyVlanTags},
      {"ipv4_19_bytes", Truncate(v4_udp, 14 + 19), DropReason::kTruncatedIpv4},
      {"ipv4_no_header", E().EtherType(0x0800).Build(), DropReason::kTruncatedIpv4},
      {"ipv4_options_cut", Truncate(E().Ipv4(kA, kB, {.ihl = 8}).Build(), 14 + 31),
       DropReason::kTruncatedIpv4},
      {"ipv4_version_6", WithByte(v4_udp, 14, 0x65), DropReason::kBadIpv4Version},
      {"ipv4_version_0", WithByte(v4_udp, 14, 0x05), DropReason::kBadIpv4Version},
      {"ipv4_ihl_4", WithByte(v4_udp, 14, 0x44), DropReason::kBadIpv4HeaderLength},
      {"ipv4_ihl_0", WithByte(v4_udp, 14, 0x40), DropReason::kBadIpv4HeaderLength},
      {"ipv4_total_below_header", E().Ipv4(kA, kB, {.total_length = 19}).Payload(10).Build(),
       DropReason::kBadIpv4TotalLength},
      {"ipv4_total_below_options", E().Ipv4(kA, kB, {.ihl = 6, .total_length = 20}).Build(),
       DropReason::kBadIpv4TotalLength},
      {"ipv4_total_past_buffer",
       E().Ipv4(kA, kB, {.total_length = 37}).Udp(1, 2, 8).Payload(8).Build(),
       DropReason::kBadIpv4TotalLength},
      {"ipv4_total_65535", E().Ipv4(kA, kB, {.total_length = 65535}).Udp(1, 2).Build(),
       DropReason::kBadIpv4TotalLength},
      {"ipv6_39_bytes", Truncate(v6_udp, 14 + 39), DropReason::kTruncatedIpv6},
      {"ipv6_vlan_no_header", E().Vlan(4).EtherType(0x86dd).Payload(1).Build(),
       DropReason::kTruncatedIpv6},
      {"ipv6_version_4", WithByte(v6_udp, 14, 0x40), DropReason::kBadIpv6Version},
      {"ipv6_payload_past_buffer",
       E().Ipv6(kA6, kB6, {.payload_length = 13}).Udp(1, 2).Payload(4).Build(),
       DropReason::kBadIpv6PayloadLength},
      // Hop-by-hop claiming 24 bytes where 16 remain.
      {"ipv6_ext_past_payload", WithByte(E().Ipv6(kA6, kB6).Ipv6Ext(0).Udp(1, 2).Build(), 55, 2),
       DropReason::kTruncatedIpv6ExtensionHeader},
      {"ipv6_ext_under_8_bytes", E().Ipv6(kA6, kB6, {.next_header = 60}).Payload(7).Build(),
       DropReason::kTruncatedIpv6ExtensionHeader},
      {"ipv6_ah_past_payload", WithByte(E().Ipv6(kA6, kB6).Ipv6Ah(12).Build(), 54 + 1, 2),
       DropReason::kTruncatedIpv6ExtensionHeader},
      {"ipv6_fragment_header_cut", E().Ipv6(kA6, kB6, {.next_header = 44}).Payload(4).Build(),
       DropReason::kTruncatedIpv6ExtensionHeader},
      // Padding beyond the payload length must not hold the rest of a header.
      {"ipv6_ext_in_padding_only", E().Ipv6(kA6, kB6, {.next_header = 0}).Pad(8).Build(),
       DropReason::kTruncatedIpv6ExtensionHeader},
      {"ipv6_nine_extension_headers",
       E().Ipv6(kA6, kB6)
           .Ipv6Ext(0)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Ipv6Ext(60)
           .Udp(1, 2)
           .Build(),
       DropReason::kTooManyIpv6ExtensionHeaders},
      {"ipv4_fragment_past_65535",
       E().Ipv4(kA, kB, {.fragment_offset_bytes = 65512, .protocol = 17}).Payload(4).Build(),
       DropReason::kBadFragment},
      {"ipv4_fragment_not_multiple_of_8",
       E().Ipv4(kA, kB, {.more_fragments = true, .fragment_offset_bytes = 8, .protocol = 17})
           .Payload(12)
           .Build(),
       DropReason::kBadFragment},
      {"ipv4_first_fragment_not_multiple_of_8",
       E().Ipv4(kA, kB, {.more_fragments = true}).Udp(1, 2, 100).Payload(1).Build(),
       DropReason::kBadFragment},
      {"ipv6_fragment_past_65535", E().Ipv6(kA6, kB6).Ipv6Frag(65528, false, 1).Payload(8).Build(),
       DropReason::kBadFragment},
      {"ipv6_fragment_not_multiple_of_8",
       E().Ipv6(kA6, kB6).Ipv6Frag(8, true, 1).Payload(9).Build(), DropReason::kBadFragment},
      {"ipv4_tcp_19_bytes", E().Ipv4(kA, kB, {.protocol = 6}).Payload(19).Build(),
       DropReason::kTruncatedL4},
      {"ipv4_udp_7_bytes", E().Ipv4(kA, kB, {.protocol = 17}).Payload(7).Build(),
       DropReason::kTruncatedL4},
      {"ipv4_sctp_11_bytes", E().Ipv4(kA, kB, {.protocol = 132}).Payload(11).Build(),
       DropReason::kTruncatedL4},
      {"ipv4_icmp_7_bytes", E().Ipv4(kA, kB, {.protocol = 1}).Payload(7).Build(),
       DropReason::kTruncatedL4},
      {"ipv6_icmp6_4_bytes", E().Ipv6(kA6, kB6, {.next_header = 58}).Payload(4).Build(),
       DropReason::kTruncatedL4},
      // Destination options followed by 12 bytes announced as TCP.
      {"ipv6_tcp_after_ext_cut",
       WithByte(E().Ipv6(kA6, kB6).Ipv6Ext(60).Payload(12).Build(), 54, 6),
       DropReason::kTruncatedL4},
      // RFC 1858 tiny fragment: the first fragment must hold the TCP header.
      {"ipv4_tiny_first_fragment",
       E().Ipv4(kA, kB, {.more_fragments = true, .protocol = 6}).Payload(8).Build(),
       DropReason::kTruncatedL4},
      {"ipv6_first_fragment_cuts_tcp",
       WithByte(E().Ipv6(kA6, kB6).Ipv6Frag(0, true, 1).Payload(8).Build(), 54, 6),
       DropReason::kTruncatedL4},
      {"tcp_data_offset_4", E().Ipv4(kA, kB).Tcp(1, 2, {.data_offset = 4}).Build(),
       DropReason::kBadTcpDataOffset},
      {"tcp_data_offset_0", E().Ipv6(kA6, kB6).Tcp(1, 2, {.data_offset = 0}).Build(),
       DropReason::kBadTcpDataOffset},
      {"tcp_options_past_packet",
       Truncate(E().Ipv4(kA, kB, {.total_length = 20 + 20}).Tcp(1, 2, {.data_offset = 6}).Build(),
                14 + 40),
       DropReason::kBadTcpDataOffset},
      {"udp_length_7", E().Ipv4(kA, kB).Udp(1, 2, 7).Build(), DropReason::kBadUdpLength},
      {"udp_length_0", E().Ipv6(kA6, kB6).Udp(1, 2, 0).Payload(4).Build(),
       DropReason::kBadUdpLength},
      {"udp_length_past_packet", E().Ipv4(kA, kB).Udp(1, 2, 13).Payload(4).Build(),
       DropReason::kBadUdpLength},
      {"arp_with_data", E().Arp().Payload(100).Build(), DropReason::kBadArp},
      {"arp_not_ipv4",
       E().EtherType(0x0806).Raw({0, 1, 0x86, 0xdd, 6, 16, 0, 1}).Payload(40).Build(),
       DropReason::kBadArp},
      {"nd_hop_limit_64", E().Ipv6(kA6, kB6).Icmp6(135, 0).Payload(24).Build(), DropReason::kBadNd},
      // The IP header wins over a wrong UDP length hidden in the padding.
      {"udp_length_in_padding", E().Ipv4(kA, kB).Udp(1, 2, 12).Pad(4).Build(),
       DropReason::kBadUdpLength},
  };
}

class DropTest : public testing::TestWithParam<DropCase> {};

TEST_P(DropTest, DropsWithReason) {
  const DropCase& c = GetParam();
  const Result r = ParseExact(c.frame);
  EXPECT_EQ(r.reason, c.reason) << "got " << DropReasonName(r.reason) << ", want "
                                << DropReasonName(c.reason);
}

INSTANTIATE_TEST_SUITE_P(Parse, DropTest, testing::ValuesIn(DropCases()),
                         [](const testing::TestParamInfo<DropCase>& param_info) {
                           return param_info.param.name;
                         });

TEST(DropTest, EveryReasonIsCovered) {
  std::set<DropReason> seen;
  for (const DropCase& c : DropCases()) seen.insert(c.reason);
  for (int i = 1; i < static_cast<int>(DropReason::kCount); ++i) {
    EXPECT_TRUE(seen.count(static_cast<DropReason>(i)))
        << "no drop case for " << DropReasonName(static_cast<DropReason>(i));
  }
  EXPECT_FALSE(seen.count(DropReason::kNone)) << "a drop case expects no drop";
}

// ---------------------------------------------------------------------------
// Truncation sweep and mutation fuzzing
// ---------------------------------------------------------------------------

// Valid IP frames without padding: any proper prefix cuts the IP packet short
// of its announced length, so it must drop.
std::vector<Frame> Seeds() {
  return {
      E().Ipv4(kA, kB).Tcp(1, 2, {.data_offset = 8}).Payload(5).Build(),
      E().Vlan(1, 0x88a8).Vlan(2).Ipv4(kA, kB, {.ihl = 9}).Udp(3, 4).Payload(2).Build(),
      E().Vlan(3).Ipv4(kA, kB).Sctp(1, 2).Build(),
      E().Ipv4(kA, kB, {.id = 5, .more_fragments = true}).Udp(1, 2, 100).Payload(8).Build(),
      E().Ipv4(kA, kB, {.id = 5, .fragment_offset_bytes = 16, .protocol = 6}).Payload(9).Build(),
      E().Ipv4(kRouter, kA).Icmp(3, 4).Ipv4(kA, kB, {.ihl = 6}).Tcp(1, 2).Build(),
      E().Ipv4(kRouter, kA).Icmp(11, 0).Ipv4(kA, kB).Icmp(8, 0, 3).Build(),
      E().Ipv6(kA6, kB6).Ipv6Ext(0).Ipv6Ext(43, 24).Ipv6Ah(16).Ipv6Ext(60).Tcp(1, 2).Build(),
      E().Vlan(9).Ipv6(kA6, kB6).Ipv6Frag(0, true, 77).Udp(1, 2, 500).Payload(8).Build(),
      E().Ipv6(kA6, kB6).Ipv6Ext(0).Ipv6Frag(64, false, 77).Payload(3).Build(),
      E().Ipv6(kRouter6, kA6).Icmp6(1, 3).Ipv6(kA6, kB6).Ipv6Ext(60).Udp(1, 2).Build(),
      E().Ipv6(kA6, kB6, {.hop_limit = 255}).Icmp6(135, 0).Payload(24).Build(),
  };
}

TEST(TruncationTest, EveryPrefixOfAValidFrameDropsWithinBounds) {
  GuardedBuffer guarded;
  for (const Frame& seed : Seeds()) {
    ASSERT_EQ(ParseExact(seed).reason, DropReason::kNone);
    for (size_t n = 0; n < seed.size(); ++n) {
      const Frame prefix = Truncate(seed, n);
      const Result heap = ParseExact(prefix);
      EXPECT_NE(heap.reason, DropReason::kNone) << "prefix " << n << " of " << seed.size();
      ParsedPacket p;
      const DropReason guarded_reason =
          Parse(guarded.Place(prefix.data(), n), static_cast<uint32_t>(n), &p);
      EXPECT_EQ(guarded_reason, heap.reason);
    }
  }
}

// What a successful parse promises, whatever the input.
void CheckInvariants(const ParsedPacket& p, uint32_t len) {
  ASSERT_LE(p.vlan_count, 2);
  ASSERT_EQ(p.l3_offset, 14u + 4u * p.vlan_count);
  if (p.l3 == L3::kArp) {
    ASSERT_GE(len - p.l3_offset, 28u);  // what passes without policy is bounded
    ASSERT_LE(len - p.l3_offset, dp::parse::kMaxArpLength);
  }
  if (p.l3 != L3::kIpv4 && p.l3 != L3::kIpv6) {
    ASSERT_EQ(p.l4_offset, 0);
    ASSERT_FALSE(p.is_fragment);
    ASSERT_FALSE(p.is_icmp_error);
    return;
  }
  const uint32_t min_header = p.l3 == L3::kIpv4 ? 20 : 40;
  ASSERT_EQ(p.key.src.family,
            p.l3 == L3::kIpv4 ? dp::classify::Family::kV4 : dp::classify::Family::kV6);
  ASSERT_LE(uint32_t{p.l3_offset} + p.l3_length, len);
  ASSERT_GE(p.l3_length, min_header);
  ASSERT_GE(p.l4_offset, p.l3_offset + min_header);
  ASSERT_LE(p.l4_offset, p.l3_offset + p.l3_length);
  if (p.is_fragment && !p.is_first_fragment) {
    ASSERT_EQ(p.key.src_port, 0);
    ASSERT_EQ(p.key.dst_port, 0);
    ASSERT_FALSE(p.is_icmp_error);
  }
  if (!p.is_fragment) {
    ASSERT_FALSE(p.is_first_fragment);
    ASSERT_FALSE(p.more_fragments);
    ASSERT_EQ(p.fragment_offset, 0);
  }
  if (p.has_inner) {
    ASSERT_TRUE(p.is_icmp_error);
    ASSERT_EQ(p.inner_key.src.family, p.key.src.family);
  }
  if (p.tcp_flags != 0) {
    ASSERT_EQ(p.key.proto, dp::classify::kProtoTcp);
  }
  if (p.is_ipv6_nd) {
    ASSERT_EQ(p.l3, L3::kIpv6);
    ASSERT_FALSE(p.is_fragment);
    ASSERT_LE(uint32_t{p.l3_offset} + p.l3_length - p.l4_offset, dp::parse::kMaxNdLengthLong);
  }
  if (p.is_fragment) {
    ASSERT_GE(p.fragment_data_offset, p.l3_offset + min_header);
    ASSERT_LE(p.fragment_data_offset, p.l3_offset + p.l3_length);
  }
}

TEST(FuzzTest, RandomMutationsNeverCrashAndKeepInvariants) {
  std::vector<Frame> seeds = Seeds();
  for (const FieldCase& c : FieldCases()) seeds.push_back(c.frame);
  for (const DropCase& c : DropCases()) seeds.push_back(c.frame);

  // Values that sit on the boundaries the parser checks.
  const uint8_t interesting[] = {0x00, 0x01, 0x05, 0x06, 0x08, 0x11, 0x2c, 0x3a, 0x3b, 0x40,
                                 0x45, 0x4f, 0x60, 0x7f, 0x80, 0x81, 0x86, 0x88, 0xa8, 0xdd,
                                 0xff, 0x33, 0x84, 0x87, 0x0b, 0x03, 0x20, 0x1f};
  std::mt19937 rng(20240601);  // Fixed: a failure must reproduce.
  GuardedBuffer guarded;
  int valid = 0, dropped = 0, icmp_inner = 0, fragments = 0;
  constexpr int kIterations = 100000;
  for (int i = 0; i < kIterations; ++i) {
    Frame f = seeds[rng() % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      const size_t pos = f.empty() ? 0 : rng() % f.size();
      switch (rng() % 7) {
        case 0:
          if (!f.empty()) f[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          if (!f.empty()) f[pos] = interesting[rng() % sizeof(interesting)];
          break;
        case 2:
          if (!f.empty()) f[pos] = static_cast<uint8_t>(rng());
          break;
        case 3: f.resize(f.empty() ? 0 : rng() % (f.size() + 1)); break;
        case 4:
          f.insert(f.begin() + static_cast<std::ptrdiff_t>(pos), 1 + rng() % 16,
                   static_cast<uint8_t>(rng()));
          break;
        case 5:
          if (!f.empty()) f.erase(f.begin() + static_cast<std::ptrdiff_t>(pos));
          break;
        case 6:  // A 16-bit length or type field set to a boundary value.
          if (f.size() >= 2) {
            const uint16_t values[] = {0,      1,      7,      8,
                                       19,     20,     40,     0x0800,
                                       0x86dd, 0x8100, 0x88a8, static_cast<uint16_t>(f.size()),
                                       0xffff};
            const uint16_t v = values[rng() % (sizeof(values) / sizeof(values[0]))];
            const size_t at = rng() % (f.size() - 1);
            f[at] = static_cast<uint8_t>(v >> 8);
            f[at + 1] = static_cast<uint8_t>(v);
          }
          break;
      }
    }
    ParsedPacket p;
    const uint32_t len = static_cast<uint32_t>(f.size());
    const DropReason reason = Parse(guarded.Place(f.data(), f.size()), len, &p);
    ASSERT_LT(static_cast<int>(reason), static_cast<int>(DropReason::kCount));
    if (reason == DropReason::kNone) {
      ++valid;
      icmp_inner += p.has_inner;
      fragments += p.is_fragment;
      CheckInvariants(p, len);
      if (HasFatalFailure()) {
        FAIL() << "iteration " << i;
      }
    } else {
      ++dropped;
    }
    // Exactly sized heap copy every so often, so ASan checks too.
    if (i % 16 == 0) {
      ASSERT_EQ(ParseExact(f).reason, reason) << "iteration " << i;
    }
  }
  // The loop must explore both outcomes and the deep paths, or it tests
  // little.
  EXPECT_GT(valid, kIterations / 10);
  EXPECT_GT(dropped, kIterations / 10);
  EXPECT_GT(icmp_inner, 100);
  EXPECT_GT(fragments, 100);
}

}  // namespace
}  // namespace tierwall::test
