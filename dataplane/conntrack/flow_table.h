// FlowTable: one worker's connection-tracking table.
//
// What: maps a packet's 5-tuple to the flow it belongs to, in either
// direction, and keeps per flow the verdict that policy gave its first packet,
// the program generation that gave it, the rule instances that decided it (for
// flow logs), a simplified TCP state machine and per-direction counters. Once a
// flow is allowed its return traffic is allowed (Calico is stateful); the
// caller only evaluates policy on a miss, or when the entry's generation is
// older than the current program (re-evaluation after a policy change).
//
// Threading: none. Symmetric RSS sends both directions of a flow to the same
// worker, and each worker owns its table outright, so there are no locks, no
// atomics and no sharing. Other threads never read it; flow events leave the
// worker through its own queues.
//
// Fast path guarantees: every byte is allocated and touched (zeroed) in
// Create, so Lookup/Insert/UpdateOnPacket/Sweep never allocate, never fault in
// fresh pages and never call a clock: time is whatever monotonic tick count
// (TSC) the caller passes as `now`. Create the table on the worker's lcore so
// that first touch places the memory on the worker's NUMA node.
//
// Key normalisation: a flow's two endpoints (address, port) are ordered, the
// smaller is side 0 ("lo"), so both directions of a flow produce one FlowKey;
// the entry remembers which side initiated. A packet whose source is the
// initiator travels in the kOriginal direction, else kReply. A flow from an
// endpoint to itself (same address and port) has one side only: every packet
// is kOriginal.
//
// ICMP (proto 1 and 58): PacketKey carries the type in src_port and the code
// in dst_port; the echo identifier is not available. Query messages (echo,
// timestamp, information, address mask; ICMPv6 echo and node information)
// are keyed by (address, type) on the sender side and (address, partner type)
// on the receiver side, so a request and its reply share one entry, while A
// pinging B and B pinging A are two entries (a reply never passes as the
// answer to a request that went the other way). All concurrent pings between
// two hosts in the same orientation share one entry: policy cannot tell them
// apart either. Other ICMP types are keyed by (sender, type) and (receiver,
// 0x100 | code): each orientation is its own one-way pseudo-flow that only
// times out, and no message going the other way can match it. ICMP errors are not
// tracked on their own: the caller parses the embedded header and relates the
// error with LookupIcmpError, so an error follows the flow it reports on only
// when it is one that flow can cause (else policy judges it).
//
// State: TCP kNew (inserted, no SYN seen: mid-stream pickup, as Linux's
// nf_conntrack_tcp_loose) -> kSynSent -> kSynRecv -> kEstablished -> kFinWait
// (one FIN) -> kClosed (FIN from both sides, or RST at any time). kClosed
// plays TIME_WAIT: the entry lingers for `tcp_closed` ticks so that the last
// ACK and retransmissions still match it. A bare SYN from the initiator on a
// closed entry reopens it (port reuse, same orientation so the verdict still
// applies: kReopened); a bare SYN from the responder means a new connection
// in the other orientation, which policy must judge afresh (kStale: the caller
// removes the entry and handles the packet as a miss). A bare SYN in the reply
// direction is kStale in every state, not only kClosed: a SYN starts a
// connection, and riding an existing flow as its "reply" would let a flow that
// some frame opened the other way round (a spoofed reply) carry a connection
// that policy never judged; simultaneous open is judged the same way, one
// direction at a time. A kNew TCP flow becomes kEstablished on its first reply packet. UDP, ICMP
// and other protocols: kNew, then kEstablished once a packet in the reply direction is seen.
//
// Expiry: an entry expires `timeout(proto, state)` ticks after its last packet.
// Expired entries are reclaimed lazily (Lookup and Insert treat them as
// absent) and by Sweep(now, n), which examines at most n entries per call so
// that the worker can call it once per burst at a bounded cost. The optional
// expiry hook sees every expired entry before it is reclaimed (flow-close
// events with final counters).
//
// Storage: an entry pool of exactly `capacity` FlowEntry (192 bytes, three
// cache lines: lookup and expiry read line 0, packet updates write line 1,
// policy ids in line 2 are written once), plus an index of 8-byte slots
// (32-bit hash, 32-bit entry handle), open addressing with linear probing and
// backward-shift deletion (no tombstones, so probe lengths do not degrade
// under churn). The slot count is the power of two >= capacity / 0.75, so the
// load factor never exceeds 0.75 and an empty slot always ends a probe.
// Handles are pool indices: stable for an entry's lifetime, reused after.
// Memory per flow: 192 + 8 * slots / capacity bytes, between 202.7 and 213.3
// (slots/capacity is between 4/3 and 8/3); 208 bytes at the default
// `--flows 1048576` (2^21 slots), i.e. 208 MiB per worker. MemoryBytesFor()
// computes it. The memory comes from the C++ heap, not from EAL hugepages, so
// it does not count against `-m` (and works under --no-huge).
//
// Cost (bench/flow_table_bench.cc, 1M-flow table, far larger than the LLC):
// a lookup is two dependent cache misses (slot line, entry line), ~200 ns
// alone; LookupBurst overlaps them across a burst of 32, ~70 ns per packet.
//
// Full table: Insert fails (kTableFull, counted) even if some live entries
// have expired but not been reclaimed yet; the caller drops the packet (fail
// closed) and may call Sweep with a larger budget. Insert never evicts a live
// flow: that would let new traffic cut established connections.
//
// Hashing: a keyed multiply-fold hash (wyhash-style) over the 40-byte key,
// seeded per table: the daemon should pass a random seed so that remote hosts
// cannot precompute colliding tuples to lengthen probes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/classify/ip_addr.h"
#include "dataplane/classify/packet_key.h"

namespace tierwall::dp::conntrack {

using classify::Family;
using classify::IpAddr;
using classify::PacketKey;
using classify::U128;

// TCP flag bits as in the TCP header's flags byte.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpAck = 0x10;

// Index of an entry in the pool; stable while the entry lives.
using FlowHandle = uint32_t;
inline constexpr FlowHandle kNoFlow = 0xffffffffu;

enum class Direction : uint8_t { kOriginal = 0, kReply = 1 };
enum class Verdict : uint8_t { kDeny = 0, kAllow = 1 };

enum class FlowState : uint8_t {
  kNew = 0,          // inserted; for TCP: no SYN seen (mid-stream pickup)
  kSynSent = 1,      // TCP: initiator's SYN seen
  kSynRecv = 2,      // TCP: responder's SYN(-ACK) seen
  kEstablished = 3,  // TCP: handshake done or traffic both ways; others: reply seen
  kFinWait = 4,      // TCP: FIN from one side
  kClosed = 5,       // TCP: FIN from both sides or RST (time-wait)
};
inline constexpr int kNumFlowStates = 6;
const char* FlowStateName(FlowState s);

// Timeouts in caller ticks, measured from an entry's last packet.
struct TimeoutConfig {
  uint64_t tcp_syn = 0;          // TCP kNew, kSynSent, kSynRecv
  uint64_t tcp_established = 0;  // TCP kEstablished
  uint64_t tcp_fin = 0;          // TCP kFinWait
  uint64_t tcp_closed = 0;       // TCP kClosed
  uint64_t udp = 0;
  uint64_t icmp = 0;   // ICMP and ICMPv6
  uint64_t other = 0;  // every other protocol, SCTP included

  // Calico's BPF dataplane defaults (SYN 20 s, established 1 h, FINs 30 s,
  // UDP 60 s, ICMP 5 s, generic 10 min), closed 10 s as Linux's CLOSE state.
  static TimeoutConfig Defaults(uint64_t ticks_per_second);
};

// The longest ICMP error (whole IP packet) that may be related to a flow:
// RFC 1812 4.3.2.3 keeps ICMPv4 errors within 576 bytes, RFC 4443 2.4(c)
// keeps ICMPv6 errors within the minimum IPv6 MTU.
inline constexpr uint32_t kMaxIcmpErrorLengthV4 = 576;
inline constexpr uint32_t kMaxIcmpErrorLengthV6 = 1280;

// The rule instances (Program::rules indices) that decided a flow, for flow
// logs. Which ones the caller stores (e.g. the final rule of egress and of
// ingress) is its business; the table only keeps up to 8 of each.
inline constexpr int kMaxPolicyIds = 8;
// Set on a pending id whose rule is already counted through the enforced
// trace (an enforced policy in the pending trace): flow logs list it, counters
// skip it. Counter slots stay below 2^31.
inline constexpr uint32_t kNotCountedBit = 1u << 31;
struct PolicyIds {
  uint8_t enforced_count = 0;
  uint8_t pending_count = 0;
  std::array<uint32_t, kMaxPolicyIds> enforced{};
  std::array<uint32_t, kMaxPolicyIds> pending{};
};

// The normalised flow key: side 0 is the smaller (address, port) endpoint.
// Addresses are stored as two 64-bit words (not U128) so that the key is 40
// bytes with 8-byte alignment and no padding: equality is five word compares
// and the entry's first cache line still has room for the hot fields.
struct FlowKey {
  uint64_t addr[2][2] = {};  // addr[side][0] = low 64 bits, [1] = high 64 bits
  uint16_t port[2] = {};
  uint8_t proto = 0;
  uint8_t family = 0;     // 4 or 6 (classify::Family)
  uint16_t reserved = 0;  // always 0: every byte of the key is significant

  IpAddr Addr(int side) const {
    return {static_cast<Family>(family), (U128{addr[side][1]} << 64) | addr[side][0]};
  }
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};
static_assert(sizeof(FlowKey) == 40);

// Normalises a packet's key. Returns the side (0 or 1) of the packet's source.
int NormalizeKey(const PacketKey& packet, FlowKey* out);

// The partner of an ICMP query type (echo request <-> reply ...), or -1 when
// `type` is not a query message. proto is kProtoIcmp or kProtoIcmpV6.
int IcmpQueryPartner(uint8_t proto, uint16_t type);

struct alignas(64) FlowEntry {
  // Line 0: everything Lookup and the expiry check read.
  FlowKey key;
  FlowState state = FlowState::kNew;
  Verdict verdict = Verdict::kDeny;
  uint8_t initiator_side = 0;  // the key side that sent the first packet
  uint8_t flags = 0;           // kFlag*
  uint32_t hash = 0;           // the index hash, so removal needs no rehash
  uint64_t last_seen = 0;
  uint64_t generation = 0;  // Program::generation that judged the flow
  // Line 1: written by every packet.
  std::array<uint64_t, 2> packets{};  // by Direction
  std::array<uint64_t, 2> bytes{};    // by Direction
  uint64_t created = 0;
  uint64_t reported = 0;  // when Sweep last reported the flow (ReportHook)
  uint8_t enforced_count = 0;
  uint8_t pending_count = 0;
  uint32_t next_free = 0;  // free-list link while not live
  // Line 2: written at insert and on re-evaluation only.
  alignas(64) std::array<uint32_t, kMaxPolicyIds> enforced{};
  std::array<uint32_t, kMaxPolicyIds> pending{};

  static constexpr uint8_t kFlagLive = 0x01;
  static constexpr uint8_t kFlagFinOriginal = 0x02;
  static constexpr uint8_t kFlagFinReply = 0x04;

  bool live() const { return flags & kFlagLive; }
  // The flow as its first packet went: source = initiator. For ICMP queries
  // src_port is the type and dst_port its partner type (the code is not
  // kept; it is 0 for queries anyway).
  PacketKey OriginalKey() const;
  PolicyIds policy_ids() const;
};
static_assert(sizeof(FlowEntry) == 192, "three cache lines; see the memory figure above");

struct LookupResult {
  FlowHandle handle = kNoFlow;
  Direction direction = Direction::kOriginal;
  bool hit() const { return handle != kNoFlow; }
};

enum class InsertStatus : uint8_t {
  kInserted,   // handle is the new entry (state kNew, counters 0)
  kExists,     // a live entry has this key: handle is it, left unchanged
  kTableFull,  // no free entry: fail closed, drop the packet (counted)
};
struct InsertResult {
  FlowHandle handle = kNoFlow;
  InsertStatus status = InsertStatus::kTableFull;
  bool ok() const { return status == InsertStatus::kInserted; }
};

enum class UpdateResult : uint8_t {
  kTracked,   // counted, state advanced
  kReopened,  // closed TCP entry restarted by the initiator's SYN: counters
              // and created reset, state kSynSent, verdict kept
  kStale,     // responder's bare SYN (any state): not counted;
              // Remove the entry and handle the packet as a new flow
};

struct FlowTableStats {
  uint64_t active = 0;      // live entries (expired ones not yet reclaimed included)
  uint64_t inserted = 0;    // successful inserts
  uint64_t expired = 0;     // reclaimed by Lookup, Insert or Sweep
  uint64_t removed = 0;     // explicit Remove
  uint64_t table_full = 0;  // inserts refused for lack of room
};

// Called for every entry that expires, before it is reclaimed. Must not call
// back into the table.
using ExpiryHook = void (*)(void* ctx, FlowHandle handle, const FlowEntry& entry);
// Called by Sweep for a live entry that saw packets since it was last reported
// (or created) and was last reported at least the report interval ago: flow
// logs then count a long flow's packets in the interval they pass, not only
// when it ends. Must not call back into the table.
using ReportHook = void (*)(void* ctx, FlowHandle handle, const FlowEntry& entry);

class FlowTable {
 public:
  static constexpr size_t kMaxCapacity = size_t{1} << 30;

  // capacity: the maximum number of live flows, 1 .. kMaxCapacity. Returns
  // null (and says why in *error) on a bad capacity or when the memory cannot
  // be allocated: the daemon must not start without its table.
  static std::unique_ptr<FlowTable> Create(size_t capacity, const TimeoutConfig& timeouts,
                                           uint64_t seed = 0x6a09e667f3bcc908ull,
                                           std::string* error = nullptr);
  // Bytes Create(capacity) allocates.
  static size_t MemoryBytesFor(size_t capacity);

  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;
  ~FlowTable();

  void SetExpiryHook(ExpiryHook hook, void* ctx) {
    hook_ = hook;
    hook_ctx_ = ctx;
  }
  // interval: in the same ticks as `now`; 0 turns reports off.
  void SetReportHook(ReportHook hook, void* ctx, uint64_t interval) {
    report_hook_ = hook;
    report_ctx_ = ctx;
    report_interval_ = interval;
  }

  // The live entry of the packet's flow and the packet's direction, or a
  // miss. An expired entry is reclaimed and reported as a miss.
  LookupResult Lookup(const PacketKey& packet, uint64_t now);

  // Lookup of n packets, in order, with the same results and side effects as
  // n Lookup calls. It hashes the whole burst and prefetches first the home
  // slots and then the entries they point at, so that the two dependent
  // cache misses of each lookup overlap across the burst instead of adding up
  // (bench/flow_table_bench.cc has the figures).
  void LookupBurst(const PacketKey* packets, size_t n, uint64_t now, LookupResult* out);

  // The flow an ICMP error is about, related as Linux conntrack relates
  // errors (nf_conntrack_inet_error), or a miss: `quoted` (the packet the
  // error quotes, as it was sent) must be a packet of a live flow in a
  // direction that flow has carried, and the error must travel back to that
  // packet's sender (outer.dst == quoted.src, same family). An error longer
  // than a router may send (kMaxIcmpErrorLength) is never related: a real one
  // fits, and a longer one would carry data past policy. The result's
  // direction is the quoted packet's. Everything else is judged by policy.
  LookupResult LookupIcmpError(const PacketKey& outer, uint32_t outer_length,
                               const PacketKey& quoted, uint64_t now);

  // Creates the entry for a packet that missed, with the packet's source as
  // initiator. Does not count the packet: call UpdateOnPacket(kOriginal)
  // next. An expired entry with the same key is reclaimed first.
  InsertResult Insert(const PacketKey& packet, uint64_t now, Verdict verdict, uint64_t generation,
                      const PolicyIds& ids);

  // Accounts one packet of `bytes` bytes and advances the state machine.
  // tcp_flags is the TCP flags byte (ignored for other protocols).
  UpdateResult UpdateOnPacket(FlowHandle handle, Direction direction, uint8_t tcp_flags,
                              uint32_t bytes, uint64_t now);

  // Re-evaluation under a newer program: replaces the decision, keeps state
  // and counters.
  void SetVerdict(FlowHandle handle, Verdict verdict, uint64_t generation, const PolicyIds& ids);

  // Removes a live entry (no hook call). False if the handle is not live.
  bool Remove(FlowHandle handle);

  // Examines the next `max_entries` pool entries (round robin) and reclaims
  // those expired at `now`. Returns how many it reclaimed. A full pass takes
  // capacity / max_entries calls.
  size_t Sweep(uint64_t now, size_t max_entries);

  bool IsExpired(const FlowEntry& e, uint64_t now) const {
    return now > e.last_seen && now - e.last_seen >= Timeout(e);
  }
  uint64_t Timeout(const FlowEntry& e) const {
    return timeout_[ClassOf(e.key.proto)][static_cast<int>(e.state)];
  }

  const FlowEntry& entry(FlowHandle handle) const { return entries_[handle]; }
  bool IsLive(FlowHandle handle) const { return handle < capacity_ && entries_[handle].live(); }

  // Calls fn(handle, const FlowEntry&) for every live entry (expired ones not
  // yet reclaimed included: check IsExpired), in handle order. fn may Remove
  // the entry it is given; entries inserted meanwhile may or may not be seen.
  // For incremental walks (re-evaluation spread over bursts) iterate handles
  // 0..capacity()-1 with IsLive instead.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (FlowHandle h = 0; h < capacity_; ++h)
      if (entries_[h].live()) fn(h, entries_[h]);
  }

  const FlowTableStats& stats() const { return stats_; }
  size_t capacity() const { return capacity_; }
  size_t slot_count() const { return mask_ + 1; }
  size_t MemoryBytes() const { return MemoryBytesFor(capacity_); }

  // Checks the index against the pool (every live entry reachable from its
  // home slot, no slot pointing at a dead entry, counts agree). O(capacity);
  // for tests.
  bool Validate(std::string* error) const;

 private:
  // Protocol classes for timeouts.
  enum : int { kClassTcp = 0, kClassUdp, kClassIcmp, kClassOther, kNumClasses };
  static int ClassOf(uint8_t proto);

  struct Slot {
    uint32_t hash;
    uint32_t handle;  // kNoFlow = empty
  };
  static_assert(sizeof(Slot) == 8);

  FlowTable(size_t capacity, size_t slots, const TimeoutConfig& timeouts, uint64_t seed);
  uint32_t Hash(const FlowKey& key) const;
  LookupResult LookupHashed(const FlowKey& key, int src_side, uint32_t hash, uint64_t now);
  // Index of the slot holding `handle` (which must be live).
  size_t FindSlot(FlowHandle handle) const;
  // Empties slot `i` and shifts the rest of its cluster back.
  void EraseSlot(size_t i);
  // Unlinks and frees a live entry whose slot is `slot`.
  void Release(size_t slot, FlowHandle handle);
  void Expire(size_t slot, FlowHandle handle);

  size_t capacity_;
  size_t mask_;
  FlowEntry* entries_ = nullptr;
  Slot* slots_ = nullptr;
  FlowHandle free_head_ = kNoFlow;
  size_t sweep_cursor_ = 0;
  uint64_t seed_[6];
  uint64_t timeout_[kNumClasses][kNumFlowStates];
  ExpiryHook hook_ = nullptr;
  void* hook_ctx_ = nullptr;
  ReportHook report_hook_ = nullptr;
  void* report_ctx_ = nullptr;
  uint64_t report_interval_ = 0;
  FlowTableStats stats_;
};

}  // namespace tierwall::dp::conntrack
