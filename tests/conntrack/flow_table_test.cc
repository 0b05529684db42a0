// FlowTable: key normalisation, the TCP/UDP/ICMP state machines, per-state
// timeouts on a fake clock, fail-closed capacity, bounded sweeping, and a
// randomized comparison against a std::map model of the same contract.
#include "dataplane/conntrack/flow_table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace tierwall::dp::conntrack {
namespace {

using classify::kProtoIcmp;
using classify::kProtoIcmpV6;
using classify::kProtoTcp;
using classify::kProtoUdp;

constexpr uint8_t kPsh = 0x08;

// Distinct values so that a state mapped to the wrong timeout shows.
TimeoutConfig TestTimeouts() {
  return {.tcp_syn = 10,
          .tcp_established = 1000,
          .tcp_fin = 30,
          .tcp_closed = 5,
          .udp = 60,
          .icmp = 7,
          .other = 90};
}

IpAddr Ip(const char* text) {
  auto ip = IpAddr::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip.value_or(IpAddr{});
}

PacketKey Pkt(const char* src, uint16_t sport, const char* dst, uint16_t dport,
              uint8_t proto = kProtoTcp) {
  return {.src = Ip(src), .dst = Ip(dst), .proto = proto, .src_port = sport, .dst_port = dport};
}

// The packet the other side sends back: ports swapped, or for an ICMP query
// the partner type (code 0).
PacketKey Reverse(const PacketKey& k) {
  PacketKey r = {
      .src = k.dst, .dst = k.src, .proto = k.proto, .src_port = k.dst_port, .dst_port = k.src_port};
  if (k.proto == kProtoIcmp || k.proto == kProtoIcmpV6) {
    const int partner = IcmpQueryPartner(k.proto, k.src_port);
    if (partner >= 0) {
      r.src_port = static_cast<uint16_t>(partner);
      r.dst_port = 0;
    }
  }
  return r;
}

std::unique_ptr<FlowTable> MakeTable(size_t capacity, TimeoutConfig t = TestTimeouts()) {
  std::string error;
  auto table = FlowTable::Create(capacity, t, 42, &error);
  EXPECT_NE(table, nullptr) << error;
  return table;
}

void ExpectValid(const FlowTable& t) {
  std::string error;
  EXPECT_TRUE(t.Validate(&error)) << error;
}

PolicyIds Ids(std::initializer_list<uint32_t> enforced, std::initializer_list<uint32_t> pending) {
  PolicyIds ids;
  for (uint32_t id : enforced) ids.enforced[ids.enforced_count++] = id;
  for (uint32_t id : pending) ids.pending[ids.pending_count++] = id;
  return ids;
}

// Looks the packet up, inserting it (allowed, generation 1) on a miss, and
// accounts it: what a worker does per packet.
struct Seen {
  FlowHandle handle;
  Direction direction;
  UpdateResult result;
};
Seen Packet(FlowTable& t, const PacketKey& k, uint8_t flags, uint64_t now, uint32_t bytes = 100) {
  LookupResult r = t.Lookup(k, now);
  if (!r.hit()) {
    InsertResult ins = t.Insert(k, now, Verdict::kAllow, 1, {});
    EXPECT_TRUE(ins.ok());
    r = {ins.handle, Direction::kOriginal};
  }
  return {r.handle, r.direction, t.UpdateOnPacket(r.handle, r.direction, flags, bytes, now)};
}

TEST(NormalizeKey, BothDirectionsGiveOneKey) {
  const PacketKey a = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  FlowKey ka, kb;
  const int sa = NormalizeKey(a, &ka);
  const int sb = NormalizeKey(Reverse(a), &kb);
  EXPECT_EQ(ka, kb);
  EXPECT_NE(sa, sb);
  EXPECT_EQ(ka.Addr(0), Ip("198.18.0.1"));  // the smaller endpoint is side 0
  EXPECT_EQ(ka.port[0], 80);
  EXPECT_EQ(ka.Addr(1), Ip("198.18.0.9"));

  // Same address, ports decide the order.
  FlowKey kc;
  EXPECT_EQ(NormalizeKey(Pkt("198.18.0.1", 9, "198.18.0.1", 8), &kc), 1);
  EXPECT_EQ(kc.port[0], 8);
}

TEST(NormalizeKey, IcmpQueriesPairRequestAndReply) {
  // Echo request A->B (type 8 code 0) and its reply B->A (type 0 code 0).
  FlowKey req, rep, other_way;
  NormalizeKey(Pkt("198.18.0.1", 8, "198.18.0.2", 0, kProtoIcmp), &req);
  NormalizeKey(Pkt("198.18.0.2", 0, "198.18.0.1", 0, kProtoIcmp), &rep);
  NormalizeKey(Pkt("198.18.0.2", 8, "198.18.0.1", 0, kProtoIcmp), &other_way);
  EXPECT_EQ(req, rep);
  EXPECT_NE(req, other_way);  // B pinging A is another flow
  EXPECT_EQ(IcmpQueryPartner(kProtoIcmp, 13), 14);
  EXPECT_EQ(IcmpQueryPartner(kProtoIcmp, 3), -1);
  EXPECT_EQ(IcmpQueryPartner(kProtoIcmpV6, 128), 129);
  EXPECT_EQ(IcmpQueryPartner(kProtoIcmpV6, 8), -1);  // 8 is not an ICMPv6 query
}

TEST(FlowTable, BothDirectionsHitTheSameEntry) {
  auto t = MakeTable(16);
  const PacketKey k = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  EXPECT_FALSE(t->Lookup(k, 0).hit());
  InsertResult ins = t->Insert(k, 0, Verdict::kAllow, 7, Ids({3, 9}, {4}));
  ASSERT_TRUE(ins.ok());

  LookupResult fwd = t->Lookup(k, 1);
  LookupResult rev = t->Lookup(Reverse(k), 1);
  ASSERT_TRUE(fwd.hit());
  ASSERT_TRUE(rev.hit());
  EXPECT_EQ(fwd.handle, ins.handle);
  EXPECT_EQ(rev.handle, ins.handle);
  EXPECT_EQ(fwd.direction, Direction::kOriginal);
  EXPECT_EQ(rev.direction, Direction::kReply);

  // Any other field changed is another flow.
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.9", 40001, "198.18.0.1", 80), 1).hit());
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.9", 40000, "198.18.0.1", 81), 1).hit());
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.9", 40000, "198.18.0.1", 80, kProtoUdp), 1).hit());

  const FlowEntry& e = t->entry(ins.handle);
  EXPECT_EQ(e.verdict, Verdict::kAllow);
  EXPECT_EQ(e.generation, 7u);
  EXPECT_EQ(e.created, 0u);
  EXPECT_EQ(e.state, FlowState::kNew);
  PolicyIds ids = e.policy_ids();
  ASSERT_EQ(ids.enforced_count, 2);
  EXPECT_EQ(ids.enforced[1], 9u);
  ASSERT_EQ(ids.pending_count, 1);
  EXPECT_EQ(ids.pending[0], 4u);
  const PacketKey orig = e.OriginalKey();
  EXPECT_EQ(orig.src, k.src);
  EXPECT_EQ(orig.dst, k.dst);
  EXPECT_EQ(orig.src_port, 40000);
  EXPECT_EQ(orig.dst_port, 80);

  // The responder side initiating: the same key, the other direction.
  InsertResult dup = t->Insert(Reverse(k), 2, Verdict::kDeny, 8, {});
  EXPECT_EQ(dup.status, InsertStatus::kExists);
  EXPECT_EQ(dup.handle, ins.handle);
  EXPECT_EQ(t->entry(ins.handle).verdict, Verdict::kAllow);  // untouched
  EXPECT_EQ(t->stats().inserted, 1u);
  ExpectValid(*t);
}

TEST(FlowTable, InitiatorCanBeTheLargerEndpoint) {
  auto t = MakeTable(16);
  const PacketKey k = Pkt("198.18.0.1", 80, "198.18.0.9", 40000);   // initiator is side 0 here
  const PacketKey k2 = Pkt("198.18.0.9", 40000, "198.18.0.2", 80);  // and side 1 here
  FlowHandle h = t->Insert(k, 0, Verdict::kAllow, 1, {}).handle;
  FlowHandle h2 = t->Insert(k2, 0, Verdict::kAllow, 1, {}).handle;
  EXPECT_EQ(t->Lookup(k, 0).direction, Direction::kOriginal);
  EXPECT_EQ(t->Lookup(Reverse(k), 0).direction, Direction::kReply);
  EXPECT_EQ(t->Lookup(k2, 0).direction, Direction::kOriginal);
  EXPECT_EQ(t->Lookup(Reverse(k2), 0).direction, Direction::kReply);
  EXPECT_EQ(t->entry(h).OriginalKey().src_port, 80);
  EXPECT_EQ(t->entry(h2).OriginalKey().src_port, 40000);
}

TEST(FlowTable, TcpLifecycleSynToTimeWait) {
  auto t = MakeTable(16);
  const TimeoutConfig to = TestTimeouts();
  const PacketKey c2s = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  const PacketKey s2c = Reverse(c2s);
  uint64_t now = 100;

  Seen syn = Packet(*t, c2s, kTcpSyn, now, 60);
  const FlowHandle h = syn.handle;
  EXPECT_EQ(t->entry(h).state, FlowState::kSynSent);
  EXPECT_EQ(t->Timeout(t->entry(h)), to.tcp_syn);

  Seen synack = Packet(*t, s2c, kTcpSyn | kTcpAck, ++now, 60);
  EXPECT_EQ(synack.handle, h);
  EXPECT_EQ(synack.direction, Direction::kReply);
  EXPECT_EQ(t->entry(h).state, FlowState::kSynRecv);
  EXPECT_EQ(t->Timeout(t->entry(h)), to.tcp_syn);

  Packet(*t, c2s, kTcpAck, ++now, 52);
  EXPECT_EQ(t->entry(h).state, FlowState::kEstablished);
  EXPECT_EQ(t->Timeout(t->entry(h)), to.tcp_established);

  Packet(*t, c2s, kTcpAck | kPsh, ++now, 500);
  Packet(*t, s2c, kTcpAck | kPsh, ++now, 1500);
  EXPECT_EQ(t->entry(h).state, FlowState::kEstablished);

  Packet(*t, c2s, kTcpFin | kTcpAck, ++now, 52);
  EXPECT_EQ(t->entry(h).state, FlowState::kFinWait);
  EXPECT_EQ(t->Timeout(t->entry(h)), to.tcp_fin);
  Packet(*t, s2c, kTcpAck | kPsh, ++now, 100);  // half-closed: the server may still send
  EXPECT_EQ(t->entry(h).state, FlowState::kFinWait);
  Packet(*t, c2s, kTcpFin | kTcpAck, ++now, 52);  // retransmitted FIN: still one side
  EXPECT_EQ(t->entry(h).state, FlowState::kFinWait);

  Packet(*t, s2c, kTcpFin | kTcpAck, ++now, 52);
  EXPECT_EQ(t->entry(h).state, FlowState::kClosed);
  EXPECT_EQ(t->Timeout(t->entry(h)), to.tcp_closed);
  Seen last_ack = Packet(*t, c2s, kTcpAck, ++now, 52);  // the last ACK still matches
  EXPECT_EQ(last_ack.handle, h);
  EXPECT_EQ(t->entry(h).state, FlowState::kClosed);

  const FlowEntry& e = t->entry(h);
  EXPECT_EQ(e.packets[0], 6u);
  EXPECT_EQ(e.packets[1], 4u);
  EXPECT_EQ(e.bytes[0], 60u + 52 + 500 + 52 + 52 + 52);
  EXPECT_EQ(e.bytes[1], 60u + 1500 + 100 + 52);
  EXPECT_EQ(e.created, 100u);
  EXPECT_EQ(e.last_seen, now);

  // Time-wait: alive until tcp_closed ticks after the last packet.
  EXPECT_TRUE(t->Lookup(c2s, now + to.tcp_closed - 1).hit());
  EXPECT_FALSE(t->Lookup(s2c, now + to.tcp_closed).hit());
  EXPECT_EQ(t->stats().expired, 1u);
  EXPECT_EQ(t->stats().active, 0u);
  ExpectValid(*t);
}

TEST(FlowTable, RstClosesFromAnyState) {
  const PacketKey c2s = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  for (int setup = 0; setup < 4; ++setup) {
    auto t = MakeTable(4);
    FlowHandle h = Packet(*t, c2s, kTcpSyn, 1).handle;               // kSynSent
    if (setup >= 1) Packet(*t, Reverse(c2s), kTcpSyn | kTcpAck, 2);  // kSynRecv
    if (setup >= 2) Packet(*t, c2s, kTcpAck, 3);                     // kEstablished
    if (setup >= 3) Packet(*t, c2s, kTcpFin | kTcpAck, 4);           // kFinWait
    const FlowState before = t->entry(h).state;
    // A refused connection: the server answers the SYN with RST.
    Seen rst = Packet(*t, Reverse(c2s), kTcpRst | kTcpAck, 5);
    EXPECT_EQ(rst.handle, h);
    EXPECT_EQ(t->entry(h).state, FlowState::kClosed) << "from " << FlowStateName(before);
    EXPECT_TRUE(t->Lookup(c2s, 5 + TestTimeouts().tcp_closed - 1).hit());
    EXPECT_FALSE(t->Lookup(c2s, 5 + TestTimeouts().tcp_closed).hit());
  }
}

TEST(FlowTable, ClosedEntryReopensOnInitiatorSynOnly) {
  auto t = MakeTable(4);
  const PacketKey c2s = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  FlowHandle h = Packet(*t, c2s, kTcpSyn, 1).handle;
  Packet(*t, Reverse(c2s), kTcpRst | kTcpAck, 2);
  ASSERT_EQ(t->entry(h).state, FlowState::kClosed);

  // A bare SYN from the responder: a new connection the other way round.
  Seen stale = Packet(*t, Reverse(c2s), kTcpSyn, 3);
  EXPECT_EQ(stale.result, UpdateResult::kStale);
  EXPECT_EQ(t->entry(h).state, FlowState::kClosed);
  EXPECT_EQ(t->entry(h).packets[1], 1u);  // the stale SYN was not counted
  EXPECT_EQ(t->entry(h).last_seen, 2u);

  // Port reuse by the initiator.
  Seen reopen = Packet(*t, c2s, kTcpSyn, 4, 60);
  EXPECT_EQ(reopen.handle, h);
  EXPECT_EQ(reopen.result, UpdateResult::kReopened);
  EXPECT_EQ(t->entry(h).state, FlowState::kSynSent);
  EXPECT_EQ(t->entry(h).created, 4u);
  EXPECT_EQ(t->entry(h).packets[0], 1u);
  EXPECT_EQ(t->entry(h).packets[1], 0u);
  EXPECT_EQ(t->entry(h).bytes[0], 60u);
  // FIN flags were reset: one FIN now only half-closes.
  Packet(*t, Reverse(c2s), kTcpSyn | kTcpAck, 5);
  Packet(*t, c2s, kTcpAck, 6);
  Packet(*t, c2s, kTcpFin | kTcpAck, 7);
  EXPECT_EQ(t->entry(h).state, FlowState::kFinWait);
}

TEST(FlowTable, TcpMidStreamPickup) {
  auto t = MakeTable(4);
  const PacketKey c2s = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  FlowHandle h = Packet(*t, c2s, kTcpAck | kPsh, 1).handle;
  EXPECT_EQ(t->entry(h).state, FlowState::kNew);
  EXPECT_EQ(t->Timeout(t->entry(h)), TestTimeouts().tcp_syn);  // one-way: short timeout
  Packet(*t, c2s, kTcpAck, 2);
  EXPECT_EQ(t->entry(h).state, FlowState::kNew);
  Packet(*t, Reverse(c2s), kTcpAck, 3);
  EXPECT_EQ(t->entry(h).state, FlowState::kEstablished);
}

// The pinhole attack: a frame spoofed as server:22 -> client:40001 (a SYN, a
// bare ACK or a SYN-ACK) creates a flow whose reply direction is
// client:40001 -> server:22. The client's own SYN on that tuple must not ride
// the flow as a "reply": a bare SYN starts a connection, so it is stale in
// every state and the caller judges it as a new flow.
TEST(FlowTable, BareSynInReplyDirectionIsANewConnection) {
  const PacketKey spoofed = Pkt("198.18.0.2", 22, "198.18.0.1", 40001);
  for (uint8_t first : {kTcpSyn, kTcpAck, static_cast<uint8_t>(kTcpSyn | kTcpAck),
                        static_cast<uint8_t>(kTcpAck | kPsh)}) {
    auto t = MakeTable(4);
    FlowHandle h = Packet(*t, spoofed, first, 1).handle;
    const FlowState before = t->entry(h).state;
    Seen syn = Packet(*t, Reverse(spoofed), kTcpSyn, 2);
    EXPECT_EQ(syn.direction, Direction::kReply);
    EXPECT_EQ(syn.result, UpdateResult::kStale)
        << "first flags " << int{first} << ", state " << FlowStateName(before);
    EXPECT_EQ(t->entry(h).packets[1], 0u);  // the SYN was not counted on the flow
    EXPECT_EQ(t->entry(h).state, before);
  }
  // Also on an established connection: the responder's bare SYN is not part of it.
  auto t = MakeTable(4);
  const PacketKey c2s = Pkt("198.18.0.1", 40001, "198.18.0.2", 80);
  FlowHandle h = Packet(*t, c2s, kTcpSyn, 1).handle;
  Packet(*t, Reverse(c2s), kTcpSyn | kTcpAck, 2);
  Packet(*t, c2s, kTcpAck, 3);
  ASSERT_EQ(t->entry(h).state, FlowState::kEstablished);
  EXPECT_EQ(Packet(*t, Reverse(c2s), kTcpSyn, 4).result, UpdateResult::kStale);
  // SYN-ACK and other replies still ride it.
  EXPECT_EQ(Packet(*t, Reverse(c2s), kTcpAck, 5).result, UpdateResult::kTracked);
}

// Simultaneous open (both sides send a bare SYN) is not tracked as one
// connection: the second SYN is judged by policy as a connection of its own
// (see BareSynInReplyDirectionIsANewConnection), as the pinhole fix requires.
TEST(FlowTable, SimultaneousOpenSecondSynIsStale) {
  auto t = MakeTable(4);
  const PacketKey a2b = Pkt("198.18.0.9", 40000, "198.18.0.1", 5000);
  FlowHandle h = Packet(*t, a2b, kTcpSyn, 1).handle;
  EXPECT_EQ(Packet(*t, Reverse(a2b), kTcpSyn, 2).result, UpdateResult::kStale);
  EXPECT_EQ(t->entry(h).state, FlowState::kSynSent);
}

TEST(FlowTable, UdpReplyMakesEstablished) {
  auto t = MakeTable(8);
  const PacketKey q = Pkt("198.18.0.9", 53000, "198.18.0.53", 53, kProtoUdp);
  Seen first = Packet(*t, q, 0, 1);
  EXPECT_EQ(t->entry(first.handle).state, FlowState::kNew);
  Packet(*t, q, 0, 2);
  EXPECT_EQ(t->entry(first.handle).state, FlowState::kNew);
  Seen reply = Packet(*t, Reverse(q), 0, 3);
  EXPECT_EQ(reply.handle, first.handle);
  EXPECT_EQ(reply.direction, Direction::kReply);
  EXPECT_EQ(t->entry(first.handle).state, FlowState::kEstablished);
  EXPECT_EQ(t->Timeout(t->entry(first.handle)), TestTimeouts().udp);
  // TCP flag bits mean nothing to UDP.
  Packet(*t, q, kTcpRst | kTcpFin, 4);
  EXPECT_EQ(t->entry(first.handle).state, FlowState::kEstablished);
}

// ICMP errors relate to a flow only as Linux conntrack relates them: back to
// the sender of the quoted packet, about a direction the flow has carried,
// within a router's length limit. Client 198.18.0.1:40001 talks to server
// 198.18.0.2:80; 198.18.0.66 is anyone else.
TEST(FlowTable, IcmpErrorRelatesOnlyBackToTheQuotedSender) {
  auto t = MakeTable(8);
  const PacketKey c2s = Pkt("198.18.0.1", 40001, "198.18.0.2", 80);
  FlowHandle h = Packet(*t, c2s, kTcpSyn, 1).handle;
  // Port unreachable from the server (or a router) back to the client.
  const PacketKey to_client = Pkt("198.18.0.2", 3, "198.18.0.1", 3, kProtoIcmp);
  LookupResult r = t->LookupIcmpError(to_client, 56, c2s, 2);
  EXPECT_EQ(r.handle, h);
  EXPECT_EQ(r.direction, Direction::kOriginal);
  const PacketKey from_router = Pkt("203.0.113.1", 11, "198.18.0.1", 0, kProtoIcmp);
  EXPECT_EQ(t->LookupIcmpError(from_router, 576, c2s, 2).handle, h);

  // The attack: the same quote sent anywhere else (to the server, to a third
  // host) is not related, whoever the outer source claims to be.
  const PacketKey to_server = Pkt("198.18.0.66", 3, "198.18.0.2", 3, kProtoIcmp);
  EXPECT_FALSE(t->LookupIcmpError(to_server, 56, c2s, 2).hit());
  const PacketKey to_other = Pkt("198.18.0.1", 3, "198.18.0.66", 3, kProtoIcmp);
  EXPECT_FALSE(t->LookupIcmpError(to_other, 56, c2s, 2).hit());
  // Too long to be a router's error: up to 1.4 KB of data would pass.
  EXPECT_FALSE(t->LookupIcmpError(to_client, 577, c2s, 2).hit());
  EXPECT_FALSE(t->LookupIcmpError(to_client, 1400, c2s, 2).hit());

  // A quote of a reply packet the flow never carried is not consistent with it.
  const PacketKey s2c = Reverse(c2s);
  const PacketKey to_server_about_reply = Pkt("198.18.0.1", 3, "198.18.0.2", 3, kProtoIcmp);
  EXPECT_FALSE(t->LookupIcmpError(to_server_about_reply, 56, s2c, 2).hit());
  Packet(*t, s2c, kTcpSyn | kTcpAck, 3);
  r = t->LookupIcmpError(to_server_about_reply, 56, s2c, 4);
  EXPECT_EQ(r.handle, h);
  EXPECT_EQ(r.direction, Direction::kReply);

  // No flow, or an expired one: not related.
  EXPECT_FALSE(
      t->LookupIcmpError(to_client, 56, Pkt("198.18.0.1", 40002, "198.18.0.2", 80), 4).hit());
  EXPECT_FALSE(t->LookupIcmpError(to_client, 56, c2s, 4 + TestTimeouts().tcp_established).hit());
}

TEST(FlowTable, IcmpV6ErrorLengthCapAndFamily) {
  auto t = MakeTable(8);
  const PacketKey c2s = Pkt("2001:db8::1", 40001, "2001:db8::2", 53, kProtoUdp);
  FlowHandle h = Packet(*t, c2s, 0, 1).handle;
  const PacketKey too_big = Pkt("2001:db8::fe", 2, "2001:db8::1", 0, kProtoIcmpV6);
  EXPECT_EQ(t->LookupIcmpError(too_big, 1280, c2s, 2).handle, h);
  EXPECT_FALSE(t->LookupIcmpError(too_big, 1281, c2s, 2).hit());
  // An IPv4 error cannot quote an IPv6 flow.
  const PacketKey v4 = Pkt("203.0.113.1", 3, "198.18.0.1", 3, kProtoIcmp);
  EXPECT_FALSE(t->LookupIcmpError(v4, 56, c2s, 2).hit());
}

TEST(FlowTable, IcmpEchoReplyFollowsRequest) {
  auto t = MakeTable(8);
  const PacketKey req = Pkt("198.18.0.1", 8, "198.18.0.2", 0, kProtoIcmp);
  const PacketKey rep = Pkt("198.18.0.2", 0, "198.18.0.1", 0, kProtoIcmp);
  Seen first = Packet(*t, req, 0, 1);
  LookupResult r = t->Lookup(rep, 2);
  ASSERT_TRUE(r.hit());
  EXPECT_EQ(r.handle, first.handle);
  EXPECT_EQ(r.direction, Direction::kReply);
  t->UpdateOnPacket(r.handle, r.direction, 0, 84, 2);
  EXPECT_EQ(t->entry(first.handle).state, FlowState::kEstablished);
  EXPECT_EQ(t->Timeout(t->entry(first.handle)), TestTimeouts().icmp);
  // B pinging A, and an echo reply A->B, are not answers to A's ping.
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.2", 8, "198.18.0.1", 0, kProtoIcmp), 2).hit());
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.1", 0, "198.18.0.2", 0, kProtoIcmp), 2).hit());
  // Codes of query messages are ignored (always 0 in practice).
  EXPECT_TRUE(t->Lookup(Pkt("198.18.0.2", 0, "198.18.0.1", 1, kProtoIcmp), 2).hit());

  // ICMPv6 echo.
  const PacketKey req6 = Pkt("2001:db8::1", 128, "2001:db8::2", 0, kProtoIcmpV6);
  Seen v6 = Packet(*t, req6, 0, 3);
  LookupResult r6 = t->Lookup(Pkt("2001:db8::2", 129, "2001:db8::1", 0, kProtoIcmpV6), 3);
  ASSERT_TRUE(r6.hit());
  EXPECT_EQ(r6.handle, v6.handle);
  EXPECT_EQ(r6.direction, Direction::kReply);

  // Non-query types are one-way pseudo-flows: the same type back is not a reply.
  const PacketKey unreach = Pkt("198.18.0.1", 3, "198.18.0.2", 1, kProtoIcmp);
  Seen u = Packet(*t, unreach, 0, 4);
  EXPECT_TRUE(t->Lookup(unreach, 4).hit());
  EXPECT_EQ(t->entry(u.handle).OriginalKey().src_port, 3);
  EXPECT_EQ(t->entry(u.handle).OriginalKey().dst_port, 1);
  // Type 1 code 3 back must not pass for type 3 code 1 forth.
  EXPECT_FALSE(t->Lookup(Reverse(unreach), 4).hit());
  ExpectValid(*t);
}

// For each (protocol, state): alive at last_seen + timeout - 1, gone at
// last_seen + timeout, and the reclaimed entry is counted as expired.
TEST(FlowTable, TimeoutsPerState) {
  const TimeoutConfig to = TestTimeouts();
  struct Case {
    const char* name;
    PacketKey key;
    std::vector<std::pair<bool, uint8_t>> packets;  // (reply?, tcp flags)
    FlowState state;
    uint64_t timeout;
  };
  const PacketKey tcp = Pkt("198.18.0.9", 40000, "198.18.0.1", 80);
  const std::vector<Case> cases = {
      {"tcp new", tcp, {{false, kTcpAck}}, FlowState::kNew, to.tcp_syn},
      {"tcp syn", tcp, {{false, kTcpSyn}}, FlowState::kSynSent, to.tcp_syn},
      {"tcp synrecv",
       tcp,
       {{false, kTcpSyn}, {true, kTcpSyn | kTcpAck}},
       FlowState::kSynRecv,
       to.tcp_syn},
      {"tcp est",
       tcp,
       {{false, kTcpSyn}, {true, kTcpSyn | kTcpAck}, {false, kTcpAck}},
       FlowState::kEstablished,
       to.tcp_established},
      {"tcp fin",
       tcp,
       {{false, kTcpSyn}, {true, kTcpSyn | kTcpAck}, {false, kTcpAck}, {true, kTcpFin}},
       FlowState::kFinWait,
       to.tcp_fin},
      {"tcp closed", tcp, {{false, kTcpSyn}, {true, kTcpRst}}, FlowState::kClosed, to.tcp_closed},
      {"udp new",
       Pkt("198.18.0.9", 5, "198.18.0.1", 53, kProtoUdp),
       {{false, 0}},
       FlowState::kNew,
       to.udp},
      {"udp est",
       Pkt("198.18.0.9", 5, "198.18.0.1", 53, kProtoUdp),
       {{false, 0}, {true, 0}},
       FlowState::kEstablished,
       to.udp},
      {"icmp",
       Pkt("198.18.0.9", 8, "198.18.0.1", 0, kProtoIcmp),
       {{false, 0}},
       FlowState::kNew,
       to.icmp},
      {"icmpv6",
       Pkt("2001:db8::9", 128, "2001:db8::1", 0, kProtoIcmpV6),
       {{false, 0}, {true, 0}},
       FlowState::kEstablished,
       to.icmp},
      {"gre", Pkt("198.18.0.9", 0, "198.18.0.1", 0, 47), {{false, 0}}, FlowState::kNew, to.other},
      {"sctp",
       Pkt("198.18.0.9", 7, "198.18.0.1", 9, 132),
       {{false, 0}, {true, 0}},
       FlowState::kEstablished,
       to.other},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto t = MakeTable(4);
    uint64_t now = 1000;
    FlowHandle h = kNoFlow;
    for (auto [reply, flags] : c.packets)
      h = Packet(*t, reply ? Reverse(c.key) : c.key, flags, now += 3).handle;
    ASSERT_EQ(t->entry(h).state, c.state);
    EXPECT_EQ(t->Timeout(t->entry(h)), c.timeout);
    EXPECT_TRUE(t->Lookup(c.key, now + c.timeout - 1).hit());
    EXPECT_EQ(t->stats().expired, 0u);
    EXPECT_FALSE(t->Lookup(Reverse(c.key), now + c.timeout).hit());
    EXPECT_EQ(t->stats().expired, 1u);
    EXPECT_EQ(t->stats().active, 0u);
    EXPECT_FALSE(t->IsLive(h));
  }
}

TEST(FlowTable, ActivityExtendsLifeAndClockMayStandStill) {
  auto t = MakeTable(4);
  const PacketKey q = Pkt("198.18.0.9", 5, "198.18.0.1", 53, kProtoUdp);
  FlowHandle h = Packet(*t, q, 0, 0).handle;
  for (uint64_t now = 50; now <= 500; now += 50) ASSERT_EQ(Packet(*t, q, 0, now).handle, h);
  // A caller clock that lags (another core's TSC read earlier) never
  // expires or rewinds an entry.
  EXPECT_TRUE(t->Lookup(q, 10).hit());
  t->UpdateOnPacket(h, Direction::kOriginal, 0, 1, 10);
  EXPECT_EQ(t->entry(h).last_seen, 500u);
  EXPECT_TRUE(t->Lookup(q, 559).hit());
  EXPECT_FALSE(t->Lookup(q, 560).hit());
}

TEST(FlowTable, TableFullFailsClosedAndCounts) {
  auto t = MakeTable(4);
  std::vector<FlowHandle> handles;
  for (uint16_t p = 1; p <= 4; ++p) {
    InsertResult r = t->Insert(Pkt("198.18.0.9", p, "198.18.0.1", 80), 0, Verdict::kAllow, 1, {});
    ASSERT_TRUE(r.ok());
    handles.push_back(r.handle);
  }
  EXPECT_EQ(std::set<FlowHandle>(handles.begin(), handles.end()).size(), 4u);
  InsertResult full = t->Insert(Pkt("198.18.0.9", 5, "198.18.0.1", 80), 0, Verdict::kAllow, 1, {});
  EXPECT_EQ(full.status, InsertStatus::kTableFull);
  EXPECT_EQ(full.handle, kNoFlow);
  EXPECT_FALSE(full.ok());
  t->Insert(Pkt("198.18.0.9", 6, "198.18.0.1", 80), 0, Verdict::kAllow, 1, {});
  EXPECT_EQ(t->stats().table_full, 2u);
  EXPECT_EQ(t->stats().active, 4u);
  EXPECT_EQ(t->stats().inserted, 4u);
  // A key already present is still found while full.
  EXPECT_EQ(t->Insert(Pkt("198.18.0.1", 80, "198.18.0.9", 3), 0, Verdict::kAllow, 1, {}).status,
            InsertStatus::kExists);

  EXPECT_TRUE(t->Remove(handles[2]));
  EXPECT_FALSE(t->Remove(handles[2]));
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.9", 3, "198.18.0.1", 80), 0).hit());
  EXPECT_EQ(t->stats().removed, 1u);
  InsertResult again = t->Insert(Pkt("198.18.0.9", 5, "198.18.0.1", 80), 0, Verdict::kAllow, 1, {});
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.handle, handles[2]);  // the freed entry is reused
  ExpectValid(*t);
}

TEST(FlowTable, ExpiryFreesRoom) {
  auto t = MakeTable(4);
  for (uint16_t p = 1; p <= 4; ++p)
    Packet(*t, Pkt("198.18.0.9", p, "198.18.0.1", 53, kProtoUdp), 0, 0);
  const uint64_t later = TestTimeouts().udp;
  // Expired but not yet reclaimed: still occupying room.
  EXPECT_EQ(
      t->Insert(Pkt("198.18.0.9", 9, "198.18.0.1", 53, kProtoUdp), later, Verdict::kAllow, 1, {})
          .status,
      InsertStatus::kTableFull);
  // Lazy: a lookup of an expired flow reclaims it.
  EXPECT_FALSE(t->Lookup(Pkt("198.18.0.9", 1, "198.18.0.1", 53, kProtoUdp), later).hit());
  EXPECT_TRUE(
      t->Insert(Pkt("198.18.0.9", 9, "198.18.0.1", 53, kProtoUdp), later, Verdict::kAllow, 1, {})
          .ok());
  // Insert of the same key as an expired entry replaces it.
  InsertResult same =
      t->Insert(Pkt("198.18.0.9", 2, "198.18.0.1", 53, kProtoUdp), later, Verdict::kDeny, 2, {});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(t->entry(same.handle).verdict, Verdict::kDeny);
  EXPECT_EQ(t->entry(same.handle).created, later);
  // Sweep reclaims the rest.
  EXPECT_EQ(t->Sweep(later, 4), 2u);
  EXPECT_EQ(t->stats().active, 2u);
  EXPECT_EQ(t->stats().expired, 4u);
  EXPECT_TRUE(
      t->Insert(Pkt("198.18.0.9", 10, "198.18.0.1", 53, kProtoUdp), later, Verdict::kAllow, 1, {})
          .ok());
  ExpectValid(*t);
}

// LookupBurst must be n Lookups: same results, same expiries, same stats,
// even when a lazy expiry inside the burst shifts the slots of later keys.
TEST(FlowTable, LookupBurstEqualsLookups) {
  std::mt19937 rng(5);
  auto a = MakeTable(300);
  auto b = MakeTable(300);  // same seed, same operations
  std::vector<PacketKey> keys;
  for (int i = 0; i < 400; ++i) {
    keys.push_back(Pkt("198.18.0.1", static_cast<uint16_t>(rng() % 500), "198.18.0.2",
                       static_cast<uint16_t>(rng() % 3), rng() % 2 ? kProtoTcp : kProtoUdp));
  }
  uint64_t now = 0;
  size_t hits = 0;
  for (int round = 0; round < 50; ++round) {
    now += rng() % 20;
    for (int i = 0; i < 20; ++i) {
      const PacketKey& k = keys[rng() % keys.size()];
      const bool insert = rng() % 2;
      for (FlowTable* t : {a.get(), b.get()}) {
        if (insert) {
          t->Insert(k, now, Verdict::kAllow, 1, {});
        } else {
          LookupResult r = t->Lookup(k, now);
          if (r.hit()) t->UpdateOnPacket(r.handle, r.direction, kTcpAck, 1, now);
        }
      }
    }
    std::vector<PacketKey> burst;
    const size_t n = rng() % 70;  // more than one chunk of 32 at times
    for (size_t i = 0; i < n; ++i) {
      PacketKey k = keys[rng() % keys.size()];
      burst.push_back(rng() % 2 ? k : Reverse(k));
    }
    std::vector<LookupResult> got(n);
    a->LookupBurst(burst.data(), n, now, got.data());
    for (size_t i = 0; i < n; ++i) {
      LookupResult want = b->Lookup(burst[i], now);
      ASSERT_EQ(got[i].handle, want.handle) << "round " << round << " key " << i;
      ASSERT_EQ(got[i].direction, want.direction);
      hits += want.hit();
    }
    ASSERT_EQ(a->stats().expired, b->stats().expired);
    ASSERT_EQ(a->stats().active, b->stats().active);
  }
  EXPECT_GT(a->stats().expired, 0u);
  EXPECT_GT(hits, 100u);
  ExpectValid(*a);
}

struct HookLog {
  std::vector<std::pair<FlowHandle, uint64_t>> expired;  // (handle, packets original)
};
void RecordExpiry(void* ctx, FlowHandle h, const FlowEntry& e) {
  EXPECT_TRUE(e.live());
  static_cast<HookLog*>(ctx)->expired.push_back({h, e.packets[0]});
}

TEST(FlowTable, SweepIsBoundedAndRoundRobin) {
  auto t = MakeTable(100);
  HookLog log;
  t->SetExpiryHook(&RecordExpiry, &log);
  for (uint16_t p = 0; p < 100; ++p)
    Packet(*t, Pkt("198.18.0.9", p, "198.18.0.1", 53, kProtoUdp), 0, p);  // last_seen = p
  // Nothing expired yet: a sweep examines, reclaims nothing.
  EXPECT_EQ(t->Sweep(59, 100), 0u);
  // At 70 flows 0..10 are expired (last_seen + 60 <= 70).
  EXPECT_EQ(t->Sweep(70, 5), 5u);  // bounded: five examined, five expired
  EXPECT_EQ(t->Sweep(70, 5), 5u);
  EXPECT_EQ(t->Sweep(70, 5), 1u);  // examines 10..14, only 10 is expired
  EXPECT_EQ(t->stats().active, 89u);
  ASSERT_EQ(log.expired.size(), 11u);
  for (size_t i = 0; i < log.expired.size(); ++i) {
    EXPECT_EQ(log.expired[i].first, i);  // a fresh pool fills in handle order
    EXPECT_EQ(log.expired[i].second, 1u);
  }
  // Much later every entry is expired; each call still does at most n.
  size_t total = 0;
  for (int call = 0; call < 20; ++call) {
    size_t n = t->Sweep(10000, 7);
    EXPECT_LE(n, 7u);
    total += n;
  }
  EXPECT_EQ(total, 89u);
  EXPECT_EQ(t->stats().active, 0u);
  EXPECT_EQ(t->stats().expired, 100u);
  EXPECT_EQ(log.expired.size(), 100u);
  ExpectValid(*t);
}

TEST(FlowTable, LazyExpiryCallsTheHook) {
  auto t = MakeTable(4);
  HookLog log;
  t->SetExpiryHook(&RecordExpiry, &log);
  const PacketKey q = Pkt("198.18.0.9", 5, "198.18.0.1", 53, kProtoUdp);
  FlowHandle h = Packet(*t, q, 0, 0).handle;
  Packet(*t, q, 0, 1);
  EXPECT_FALSE(t->Lookup(q, 61).hit());
  ASSERT_EQ(log.expired.size(), 1u);
  EXPECT_EQ(log.expired[0].first, h);
  EXPECT_EQ(log.expired[0].second, 2u);
  // Explicit removal is the caller's doing: no hook.
  FlowHandle h2 = Packet(*t, q, 0, 70).handle;
  t->Remove(h2);
  EXPECT_EQ(log.expired.size(), 1u);
}

// Long flows are reported by Sweep once per interval while they carry
// packets; idle ones are not (their close is reported by expiry).
TEST(FlowTable, SweepReportsBusyFlowsOncePerInterval) {
  auto t = MakeTable(8);
  HookLog reports;
  t->SetReportHook(&RecordExpiry, &reports, 10);
  const PacketKey busy = Pkt("198.18.0.9", 40000, "198.18.0.1", 443);
  const PacketKey idle = Pkt("198.18.0.9", 40001, "198.18.0.1", 443);
  FlowHandle b = Packet(*t, busy, kTcpSyn, 0).handle;
  Packet(*t, Reverse(busy), kTcpSyn | kTcpAck, 0);  // established: long timeout
  Packet(*t, idle, kTcpSyn, 0);
  t->Sweep(5, 8);
  EXPECT_TRUE(reports.expired.empty());  // younger than the interval
  Packet(*t, busy, kTcpAck, 6);
  t->Sweep(10, 8);
  ASSERT_EQ(reports.expired.size(), 1u);  // only the flow with packets since creation
  EXPECT_EQ(reports.expired[0].first, b);
  EXPECT_EQ(reports.expired[0].second, 2u);
  t->Sweep(15, 8);
  EXPECT_EQ(reports.expired.size(), 1u);  // once per interval
  t->Sweep(25, 8);
  EXPECT_EQ(reports.expired.size(), 1u);  // no packets since the last report
  Packet(*t, busy, kTcpAck, 26);
  t->Sweep(26, 8);
  ASSERT_EQ(reports.expired.size(), 2u);
  EXPECT_EQ(reports.expired[1].second, 3u);
  t->SetReportHook(nullptr, nullptr, 0);  // off
  Packet(*t, busy, kTcpAck, 40);
  t->Sweep(50, 8);
  EXPECT_EQ(reports.expired.size(), 2u);
}

TEST(FlowTable, Ipv6KeysAndFamiliesDoNotMix) {
  auto t = MakeTable(16);
  const PacketKey k6 = Pkt("2001:db8::9", 40000, "2001:db8:1::1", 443);
  Seen a = Packet(*t, k6, kTcpSyn, 1);
  Seen b = Packet(*t, Reverse(k6), kTcpSyn | kTcpAck, 2);
  EXPECT_EQ(a.handle, b.handle);
  EXPECT_EQ(b.direction, Direction::kReply);
  EXPECT_EQ(t->entry(a.handle).state, FlowState::kSynRecv);
  EXPECT_EQ(t->entry(a.handle).key.family, 6);
  EXPECT_EQ(t->entry(a.handle).OriginalKey().src, Ip("2001:db8::9"));
  // Addresses that differ only in the high 64 bits are different flows.
  EXPECT_FALSE(t->Lookup(Pkt("2001:db9::9", 40000, "2001:db8:1::1", 443), 2).hit());

  // 1.2.3.4 and ::1.2.3.4 have the same integer; they are different flows.
  const PacketKey v4 = Pkt("1.2.3.4", 1000, "5.6.7.8", 80);
  PacketKey v6 = v4;
  v6.src = IpAddr::V6(v4.src.bits);
  v6.dst = IpAddr::V6(v4.dst.bits);
  Seen s4 = Packet(*t, v4, kTcpSyn, 3);
  EXPECT_FALSE(t->Lookup(v6, 3).hit());
  Seen s6 = Packet(*t, v6, kTcpSyn, 3);
  EXPECT_NE(s4.handle, s6.handle);
  EXPECT_EQ(t->Lookup(Reverse(v6), 3).handle, s6.handle);
  ExpectValid(*t);
}

TEST(FlowTable, ReevaluationByGeneration) {
  auto t = MakeTable(16);
  for (uint16_t p = 1; p <= 6; ++p)
    t->Insert(Pkt("198.18.0.9", p, "198.18.0.1", 80), 0, Verdict::kAllow, p % 2 ? 1 : 2,
              Ids({p}, {}));
  // After generation 3 is published, the worker walks the live entries.
  int stale = 0;
  t->ForEach([&](FlowHandle h, const FlowEntry& e) {
    if (e.generation < 3) {
      ++stale;
      t->SetVerdict(h, Verdict::kDeny, 3, Ids({100, 101, 102, 103, 104, 105, 106, 107}, {200}));
    }
  });
  EXPECT_EQ(stale, 6);
  t->ForEach([&](FlowHandle h, const FlowEntry& e) {
    EXPECT_EQ(e.generation, 3u);
    EXPECT_EQ(e.verdict, Verdict::kDeny);
    EXPECT_EQ(e.policy_ids().enforced_count, 8);
    EXPECT_EQ(e.policy_ids().enforced[7], 107u);
    if (e.OriginalKey().src_port % 2) t->Remove(h);  // removing the visited entry is allowed
  });
  EXPECT_EQ(t->stats().active, 3u);
  int live = 0;
  t->ForEach([&](FlowHandle, const FlowEntry&) { ++live; });
  EXPECT_EQ(live, 3);
  ExpectValid(*t);
}

TEST(FlowTable, CreateAndMemory) {
  std::string error;
  EXPECT_EQ(FlowTable::Create(0, TestTimeouts(), 1, &error), nullptr);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(FlowTable::Create(FlowTable::kMaxCapacity + 1, TestTimeouts(), 1), nullptr);

  auto small = MakeTable(3);
  EXPECT_EQ(small->slot_count(), 4u);  // load factor exactly 0.75 at capacity
  auto t = MakeTable(1 << 20, TimeoutConfig::Defaults(1'000'000'000));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->slot_count(), size_t{1} << 21);
  const double per_flow = static_cast<double>(t->MemoryBytes()) / t->capacity();
  std::printf("[ memory ] 1M flows: %.1f MiB, %.1f bytes per flow (entry %zu, slots %zu)\n",
              t->MemoryBytes() / 1048576.0, per_flow, sizeof(FlowEntry), t->slot_count());
  EXPECT_LT(per_flow, 210.0);
  EXPECT_EQ(FlowTable::MemoryBytesFor(1 << 20), t->MemoryBytes());
  // Fill it: a million distinct flows fit and all are found again.
  for (uint32_t i = 0; i < (1u << 20); ++i) {
    PacketKey k = {.src = IpAddr::V4(0x0a000000u + (i >> 8)),
                   .dst = IpAddr::V4(0xc6120001u),
                   .proto = kProtoTcp,
                   .src_port = static_cast<uint16_t>(1024 + (i & 0xff)),
                   .dst_port = 80};
    ASSERT_TRUE(t->Insert(k, 0, Verdict::kAllow, 1, {}).ok()) << i;
  }
  EXPECT_EQ(t->Insert(Pkt("1.1.1.1", 1, "2.2.2.2", 2), 0, Verdict::kAllow, 1, {}).status,
            InsertStatus::kTableFull);
  for (uint32_t i = 0; i < (1u << 20); i += 4099) {
    PacketKey k = {.src = IpAddr::V4(0xc6120001u),
                   .dst = IpAddr::V4(0x0a000000u + (i >> 8)),
                   .proto = kProtoTcp,
                   .src_port = 80,
                   .dst_port = static_cast<uint16_t>(1024 + (i & 0xff))};
    LookupResult r = t->Lookup(k, 1);
    ASSERT_TRUE(r.hit()) << i;
    EXPECT_EQ(r.direction, Direction::kReply);
  }
  ExpectValid(*t);
}

// ---------------------------------------------------------------------------
// Randomized comparison with a model: a std::map from the normalised endpoint
// pair to the flow, with the contract's rules written out separately from the
// implementation (timeouts by state, TCP transitions, round-robin sweep over
// handles).
// ---------------------------------------------------------------------------

using Endpoint = std::tuple<int, U128, uint16_t>;  // (family, address, port)
using ModelKey = std::tuple<uint8_t, Endpoint, Endpoint>;

struct ModelFlow {
  FlowHandle handle;
  Endpoint initiator;
  FlowState state = FlowState::kNew;
  bool fin[2] = {false, false};
  Verdict verdict;
  uint64_t generation;
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  uint64_t created;
  uint64_t last_seen;
};

struct Model {
  size_t capacity;
  TimeoutConfig to;
  std::map<ModelKey, ModelFlow> flows;
  size_t sweep_cursor = 0;
  FlowTableStats stats;

  // Returns the key and the packet's source endpoint.
  static std::pair<ModelKey, Endpoint> KeyOf(const PacketKey& p) {
    int fam = p.src.family == Family::kV4 ? 4 : 6;
    uint16_t sport = p.src_port, dport = p.dst_port;
    if (p.proto == kProtoIcmp || p.proto == kProtoIcmpV6) {
      static const std::map<std::pair<uint8_t, uint16_t>, uint16_t> kPairs = {
          {{1, 8}, 0},      {{1, 0}, 8},      {{1, 13}, 14},    {{1, 14}, 13},
          {{1, 15}, 16},    {{1, 16}, 15},    {{1, 17}, 18},    {{1, 18}, 17},
          {{58, 128}, 129}, {{58, 129}, 128}, {{58, 139}, 140}, {{58, 140}, 139}};
      auto it = kPairs.find({p.proto, sport});
      dport = it != kPairs.end() ? it->second : 0x100 | dport;
    }
    Endpoint s{fam, p.src.bits, sport}, d{fam, p.dst.bits, dport};
    return {{p.proto, std::min(s, d), std::max(s, d)}, s};
  }

  uint64_t Timeout(uint8_t proto, FlowState s) const {
    if (proto == kProtoTcp) {
      switch (s) {
        case FlowState::kEstablished: return to.tcp_established;
        case FlowState::kFinWait: return to.tcp_fin;
        case FlowState::kClosed: return to.tcp_closed;
        default: return to.tcp_syn;
      }
    }
    if (proto == kProtoUdp) return to.udp;
    if (proto == kProtoIcmp || proto == kProtoIcmpV6) return to.icmp;
    return to.other;
  }
  bool Expired(const ModelKey& k, const ModelFlow& f, uint64_t now) const {
    return now > f.last_seen && now - f.last_seen >= Timeout(std::get<0>(k), f.state);
  }

  // The TCP transition table of flow_table.h, written as cases.
  static UpdateResult TcpStep(ModelFlow& f, bool orig, uint8_t flags) {
    const bool syn = flags & kTcpSyn, ack = flags & kTcpAck, fin = flags & kTcpFin;
    using S = FlowState;
    if (flags & kTcpRst) {
      f.state = S::kClosed;
      return UpdateResult::kTracked;
    }
    if (syn && !ack && !orig) return UpdateResult::kStale;  // a new connection the other way
    if (f.state == S::kClosed) {
      if (!(syn && !ack)) return UpdateResult::kTracked;
      f.state = S::kSynSent;
      f.fin[0] = f.fin[1] = false;
      return UpdateResult::kReopened;
    }
    const S s = f.state;
    if (syn && !ack && orig && s == S::kNew) f.state = S::kSynSent;
    if (syn && ack && !orig && (s == S::kNew || s == S::kSynSent)) f.state = S::kSynRecv;
    if (!syn && orig && ack && s == S::kSynRecv) f.state = S::kEstablished;
    if (!syn && !orig && s == S::kNew) f.state = S::kEstablished;
    if (fin) {
      f.fin[orig ? 0 : 1] = true;
      f.state = f.fin[0] && f.fin[1] ? S::kClosed : S::kFinWait;
    }
    return UpdateResult::kTracked;
  }
};

struct RandomCase {
  size_t capacity;
  uint32_t seed;
};

class FlowTableVsModel : public ::testing::TestWithParam<RandomCase> {};

void RecordHandle(void* ctx, FlowHandle h, const FlowEntry&) {
  static_cast<std::vector<FlowHandle>*>(ctx)->push_back(h);
}

TEST_P(FlowTableVsModel, AgreesOnRandomOperations) {
  const RandomCase rc = GetParam();
  const TimeoutConfig to = {.tcp_syn = 50,
                            .tcp_established = 400,
                            .tcp_fin = 80,
                            .tcp_closed = 30,
                            .udp = 60,
                            .icmp = 20,
                            .other = 100};
  std::string error;
  auto table = FlowTable::Create(rc.capacity, to, rc.seed, &error);
  ASSERT_NE(table, nullptr) << error;
  FlowTable& t = *table;
  std::vector<FlowHandle> hooked;
  t.SetExpiryHook(&RecordHandle, &hooked);
  Model m{.capacity = rc.capacity, .to = to};
  std::mt19937_64 rng(rc.seed);
  auto uni = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };

  // A universe small enough that flows repeat, collide and fill the table.
  const std::vector<IpAddr> v4 = {Ip("198.18.0.1"), Ip("198.18.0.2"), Ip("198.18.7.3"),
                                  Ip("10.0.0.1"), Ip("0.0.0.0")};
  const std::vector<IpAddr> v6 = {Ip("2001:db8::1"), Ip("2001:db8::2"), Ip("fe80::1"),
                                  IpAddr::V6(v4[0].bits)};
  const std::vector<uint16_t> ports = {53, 80, 40000};
  const std::vector<uint8_t> tcp_flags = {
      kTcpSyn, kTcpSyn | kTcpAck, kTcpAck, kTcpAck | kPsh,   kTcpFin | kTcpAck,
      kTcpRst, kTcpRst | kTcpAck, 0,       kTcpSyn | kTcpFin};
  auto random_packet = [&]() {
    PacketKey p;
    const bool six = uni(3) == 0;
    const auto& pool = six ? v6 : v4;
    p.src = pool[uni(pool.size())];
    p.dst = pool[uni(pool.size())];
    switch (uni(6)) {
      case 0:
      case 1: p.proto = kProtoTcp; break;
      case 2: p.proto = kProtoUdp; break;
      case 3: p.proto = six ? kProtoIcmpV6 : kProtoIcmp; break;
      case 4: p.proto = 47; break;
      default: p.proto = 132; break;
    }
    if (p.proto == kProtoIcmp) {
      static const uint16_t kTypes[] = {8, 0, 3, 13, 14};
      p.src_port = kTypes[uni(5)];
      p.dst_port = uni(2);
    } else if (p.proto == kProtoIcmpV6) {
      static const uint16_t kTypes[] = {128, 129, 1};
      p.src_port = kTypes[uni(3)];
      p.dst_port = uni(2);
    } else if (p.proto != 47) {
      p.src_port = ports[uni(ports.size())];
      p.dst_port = ports[uni(ports.size())];
    }
    return p;
  };
  auto expect_entry = [&](const ModelKey& k, const ModelFlow& f) {
    const FlowEntry& e = t.entry(f.handle);
    ASSERT_TRUE(e.live());
    EXPECT_EQ(e.state, f.state);
    EXPECT_EQ(e.verdict, f.verdict);
    EXPECT_EQ(e.generation, f.generation);
    EXPECT_EQ(e.packets[0], f.packets[0]);
    EXPECT_EQ(e.packets[1], f.packets[1]);
    EXPECT_EQ(e.bytes[0], f.bytes[0]);
    EXPECT_EQ(e.bytes[1], f.bytes[1]);
    EXPECT_EQ(e.created, f.created);
    EXPECT_EQ(e.last_seen, f.last_seen);
    EXPECT_EQ(Model::KeyOf(e.OriginalKey()).first, k);
  };
  // A random model flow (or end()).
  auto random_flow = [&]() {
    if (m.flows.empty()) return m.flows.end();
    auto it = m.flows.begin();
    std::advance(it, uni(m.flows.size()));
    return it;
  };
  // Erases model flows the table reported through the hook; each must have
  // been expired by the model's own rules.
  auto take_hooked = [&](uint64_t now) {
    for (FlowHandle h : hooked) {
      auto it = std::find_if(m.flows.begin(), m.flows.end(),
                             [&](const auto& kv) { return kv.second.handle == h; });
      ASSERT_NE(it, m.flows.end()) << "hook reported an unknown handle " << h;
      EXPECT_TRUE(m.Expired(it->first, it->second, now));
      m.flows.erase(it);
      ++m.stats.expired;
    }
    hooked.clear();
  };

  uint64_t now = 1;
  constexpr int kOps = 100000;
  for (int op = 0; op < kOps; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const uint64_t kind = uni(100);
    if (kind < 8) {
      now += uni(100) == 0 ? uni(600) : uni(8);
    } else if (kind < 40) {  // the worker's per-packet path
      const PacketKey p = random_packet();
      auto [mk, src] = Model::KeyOf(p);
      LookupResult r = t.Lookup(p, now);
      auto it = m.flows.find(mk);
      const bool model_expired = it != m.flows.end() && m.Expired(mk, it->second, now);
      ASSERT_EQ(r.hit(), it != m.flows.end() && !model_expired);
      take_hooked(now);
      if (!r.hit()) {
        EXPECT_EQ(m.flows.count(mk), 0u);
        continue;
      }
      ModelFlow& f = it->second;
      ASSERT_EQ(r.handle, f.handle);
      // A flow to itself has one side: every packet is kOriginal.
      const bool orig = src == f.initiator || std::get<1>(mk) == std::get<2>(mk);
      ASSERT_EQ(r.direction, orig ? Direction::kOriginal : Direction::kReply);
      const uint8_t flags = tcp_flags[uni(tcp_flags.size())];
      const uint32_t bytes = 40 + uni(1500);
      UpdateResult expect = UpdateResult::kTracked;
      if (p.proto == kProtoTcp) {
        expect = Model::TcpStep(f, orig, flags);
      } else if (!orig && f.state == FlowState::kNew) {
        f.state = FlowState::kEstablished;
      }
      ASSERT_EQ(t.UpdateOnPacket(r.handle, r.direction, flags, bytes, now), expect);
      if (expect == UpdateResult::kStale) {
        ASSERT_TRUE(t.Remove(f.handle));
        m.flows.erase(it);
        ++m.stats.removed;
        continue;
      }
      if (expect == UpdateResult::kReopened) {
        f.packets[0] = f.packets[1] = f.bytes[0] = f.bytes[1] = 0;
        f.created = now;
      }
      ++f.packets[orig ? 0 : 1];
      f.bytes[orig ? 0 : 1] += bytes;
      f.last_seen = std::max(f.last_seen, now);
      expect_entry(mk, f);
    } else if (kind < 70) {  // insert without a lookup first
      const PacketKey p = random_packet();
      auto [mk, src] = Model::KeyOf(p);
      const Verdict v = uni(2) ? Verdict::kAllow : Verdict::kDeny;
      const uint64_t gen = uni(5);
      InsertResult r = t.Insert(p, now, v, gen, Ids({static_cast<uint32_t>(op)}, {}));
      take_hooked(now);
      auto it = m.flows.find(mk);
      if (it != m.flows.end()) {
        ASSERT_EQ(r.status, InsertStatus::kExists);
        ASSERT_EQ(r.handle, it->second.handle);
        EXPECT_FALSE(m.Expired(mk, it->second, now));
        continue;
      }
      if (m.flows.size() == m.capacity) {
        ASSERT_EQ(r.status, InsertStatus::kTableFull);
        ++m.stats.table_full;
        continue;
      }
      ASSERT_EQ(r.status, InsertStatus::kInserted);
      ASSERT_LT(r.handle, m.capacity);
      for (const auto& [k, f] : m.flows) ASSERT_NE(f.handle, r.handle) << "handle in use";
      ModelFlow f{.handle = r.handle,
                  .initiator = src,
                  .verdict = v,
                  .generation = gen,
                  .created = now,
                  .last_seen = now};
      m.flows.emplace(mk, f);
      ++m.stats.inserted;
      expect_entry(mk, f);
      EXPECT_EQ(t.entry(r.handle).policy_ids().enforced[0], static_cast<uint32_t>(op));
    } else if (kind < 78) {
      auto it = random_flow();
      if (it == m.flows.end()) continue;
      ASSERT_TRUE(t.Remove(it->second.handle));
      EXPECT_FALSE(t.IsLive(it->second.handle));
      m.flows.erase(it);
      ++m.stats.removed;
    } else if (kind < 80) {  // removing something not live is refused
      const FlowHandle h = uni(m.capacity);
      bool live = false;
      for (const auto& [k, f] : m.flows) live |= f.handle == h;
      if (!live) {
        ASSERT_FALSE(t.Remove(h));
      }
    } else if (kind < 85) {
      auto it = random_flow();
      if (it == m.flows.end()) continue;
      it->second.verdict = uni(2) ? Verdict::kAllow : Verdict::kDeny;
      it->second.generation = uni(1000);
      t.SetVerdict(it->second.handle, it->second.verdict, it->second.generation, {});
      expect_entry(it->first, it->second);
    } else if (kind < 95) {  // sweep: exactly the expired flows among the next n handles
      const size_t n = uni(m.capacity / 4 + 2);
      std::set<FlowHandle> window;
      for (size_t i = 0; i < std::min(n, m.capacity); ++i)
        window.insert((m.sweep_cursor + i) % m.capacity);
      m.sweep_cursor = (m.sweep_cursor + std::min(n, m.capacity)) % m.capacity;
      size_t expect = 0;
      for (auto it = m.flows.begin(); it != m.flows.end();) {
        if (window.count(it->second.handle) && m.Expired(it->first, it->second, now)) {
          ++expect;
          it = m.flows.erase(it);
          ++m.stats.expired;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(t.Sweep(now, n), expect);
      ASSERT_EQ(hooked.size(), expect);
      hooked.clear();
    } else {  // lookups of the other direction and of everything live
      auto it = random_flow();
      if (it == m.flows.end()) continue;
      const ModelKey mk = it->first;
      const FlowHandle handle = it->second.handle;
      const PacketKey p = t.entry(handle).OriginalKey();
      // Other ICMP types are one-way: look those up as they went.
      const bool one_way = (p.proto == kProtoIcmp || p.proto == kProtoIcmpV6) &&
                           IcmpQueryPartner(p.proto, p.src_port) < 0;
      LookupResult r = t.Lookup(one_way ? p : Reverse(p), now);
      take_hooked(now);
      if (m.flows.count(mk) == 0) {  // expired lazily (it is gone)
        EXPECT_FALSE(r.hit());
        continue;
      }
      ASSERT_TRUE(r.hit());
      EXPECT_EQ(r.handle, handle);
      const bool self = std::get<1>(mk) == std::get<2>(mk);
      EXPECT_EQ(r.direction, self || one_way ? Direction::kOriginal : Direction::kReply);
    }
    m.stats.active = m.flows.size();
    const FlowTableStats& s = t.stats();
    ASSERT_EQ(s.active, m.stats.active);
    ASSERT_EQ(s.inserted, m.stats.inserted);
    ASSERT_EQ(s.expired, m.stats.expired);
    ASSERT_EQ(s.removed, m.stats.removed);
    ASSERT_EQ(s.table_full, m.stats.table_full);
    if (op % 128 == 0) {
      std::string why;
      ASSERT_TRUE(t.Validate(&why)) << why;
    }
  }
  // Every model flow is in the table with the same contents.
  for (const auto& [k, f] : m.flows) expect_entry(k, f);
  size_t live = 0;
  t.ForEach([&](FlowHandle, const FlowEntry&) { ++live; });
  EXPECT_EQ(live, m.flows.size());
  // The run must have exercised the interesting paths.
  if (rc.capacity <= 48) {
    EXPECT_GT(m.stats.table_full, 0u);
  }
  EXPECT_GT(m.stats.expired, 10u);
  EXPECT_GT(m.stats.removed, 100u);
  EXPECT_GT(m.stats.inserted, 1000u);
  ExpectValid(t);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FlowTableVsModel,
                         ::testing::Values(RandomCase{1, 1}, RandomCase{7, 2}, RandomCase{48, 3},
                                           RandomCase{200, 4}),
                         [](const ::testing::TestParamInfo<RandomCase>& tp) {
                           return "cap" + std::to_string(tp.param.capacity) + "_seed" +
                                  std::to_string(tp.param.seed);
                         });

}  // namespace
}  // namespace tierwall::dp::conntrack
