#include "dataplane/conntrack/flow_table.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <tuple>
#include <vector>

namespace tierwall::dp::conntrack {
namespace {

using classify::kProtoIcmp;
using classify::kProtoIcmpV6;
using classify::kProtoTcp;
using classify::kProtoUdp;

// Slots for `capacity` flows: a power of two with load factor <= 0.75, so an
// empty slot always ends a probe.
size_t SlotCountFor(size_t capacity) { return std::bit_ceil((capacity * 4 + 2) / 3); }

// 64x64 -> 128 multiply folded to 64 bits: the wyhash/mum mixing step. One
// multiply mixes every input bit into the middle output bits.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  const U128 r = U128{a} * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

const char* FlowStateName(FlowState s) {
  switch (s) {
    case FlowState::kNew: return "NEW";
    case FlowState::kSynSent: return "SYN_SENT";
    case FlowState::kSynRecv: return "SYN_RECV";
    case FlowState::kEstablished: return "ESTABLISHED";
    case FlowState::kFinWait: return "FIN_WAIT";
    case FlowState::kClosed: return "CLOSED";
  }
  return "?";
}

TimeoutConfig TimeoutConfig::Defaults(uint64_t ticks_per_second) {
  const uint64_t s = ticks_per_second;
  return {.tcp_syn = 20 * s,
          .tcp_established = 3600 * s,
          .tcp_fin = 30 * s,
          .tcp_closed = 10 * s,
          .udp = 60 * s,
          .icmp = 5 * s,
          .other = 600 * s};
}

int IcmpQueryPartner(uint8_t proto, uint16_t type) {
  if (proto == kProtoIcmp) {
    switch (type) {
      case 8: return 0;  // echo request / reply
      case 0: return 8;
      case 13: return 14;  // timestamp
      case 14: return 13;
      case 15: return 16;  // information
      case 16: return 15;
      case 17: return 18;  // address mask
      case 18: return 17;
      default: return -1;
    }
  }
  if (proto == kProtoIcmpV6) {
    switch (type) {
      case 128: return 129;  // echo request / reply
      case 129: return 128;
      case 139: return 140;  // node information query / response
      case 140: return 139;
      default: return -1;
    }
  }
  return -1;
}

int NormalizeKey(const PacketKey& p, FlowKey* out) {
  uint16_t sport = p.src_port;
  uint16_t dport = p.dst_port;
  if (p.proto == kProtoIcmp || p.proto == kProtoIcmpV6) {
    // Query messages: (sender, type) and (receiver, partner type), so the
    // reply (types swapped, addresses swapped) gives the same endpoints.
    // Other messages: (sender, type) and (receiver, 0x100 | code); a type
    // is below 0x100, so no message the other way round (say type 1 code 3
    // against type 3 code 1) can produce the same pair of endpoints.
    const int partner = IcmpQueryPartner(p.proto, p.src_port);
    dport = partner >= 0 ? static_cast<uint16_t>(partner) : (0x100 | (p.dst_port & 0xff));
  }
  const bool swap = std::tie(p.dst.bits, dport) < std::tie(p.src.bits, sport);
  const U128 a0 = swap ? p.dst.bits : p.src.bits;
  const U128 a1 = swap ? p.src.bits : p.dst.bits;
  out->addr[0][0] = static_cast<uint64_t>(a0);
  out->addr[0][1] = static_cast<uint64_t>(a0 >> 64);
  out->addr[1][0] = static_cast<uint64_t>(a1);
  out->addr[1][1] = static_cast<uint64_t>(a1 >> 64);
  out->port[0] = swap ? dport : sport;
  out->port[1] = swap ? sport : dport;
  out->proto = p.proto;
  out->family = static_cast<uint8_t>(p.src.family);
  out->reserved = 0;
  return swap ? 1 : 0;
}

PacketKey FlowEntry::OriginalKey() const {
  const int i = initiator_side;
  PacketKey k;
  k.src = key.Addr(i);
  k.dst = key.Addr(1 - i);
  k.src_port = key.port[i];
  k.dst_port = key.port[1 - i];
  k.proto = key.proto;
  if ((k.proto == kProtoIcmp || k.proto == kProtoIcmpV6) &&
      IcmpQueryPartner(k.proto, k.src_port) < 0)
    k.dst_port &= 0xff;  // the code
  return k;
}

PolicyIds FlowEntry::policy_ids() const {
  PolicyIds ids;
  ids.enforced_count = enforced_count;
  ids.pending_count = pending_count;
  ids.enforced = enforced;
  ids.pending = pending;
  return ids;
}

int FlowTable::ClassOf(uint8_t proto) {
  switch (proto) {
    case kProtoTcp: return kClassTcp;
    case kProtoUdp: return kClassUdp;
    case kProtoIcmp:
    case kProtoIcmpV6: return kClassIcmp;
    default: return kClassOther;
  }
}

size_t FlowTable::MemoryBytesFor(size_t capacity) {
  return capacity * sizeof(FlowEntry) + SlotCountFor(capacity) * sizeof(Slot);
}

std::unique_ptr<FlowTable> FlowTable::Create(size_t capacity, const TimeoutConfig& timeouts,
                                             uint64_t seed, std::string* error) {
  if (capacity == 0 || capacity > kMaxCapacity) {
    if (error) *error = "flow table capacity must be between 1 and 2^30";
    return nullptr;
  }
  std::unique_ptr<FlowTable> t(new (std::nothrow)
                                   FlowTable(capacity, SlotCountFor(capacity), timeouts, seed));
  if (t == nullptr || t->entries_ == nullptr || t->slots_ == nullptr) {
    if (error) *error = "cannot allocate the flow table";
    return nullptr;
  }
  return t;
}

FlowTable::FlowTable(size_t capacity, size_t slots, const TimeoutConfig& timeouts, uint64_t seed)
    : capacity_(capacity), mask_(slots - 1) {
  // Value-initialised: every page is written here, not on the fast path.
  entries_ = new (std::nothrow) FlowEntry[capacity]();
  slots_ = static_cast<Slot*>(std::aligned_alloc(64, std::max<size_t>(slots * sizeof(Slot), 64)));
  if (entries_ == nullptr || slots_ == nullptr) return;
  for (size_t i = 0; i < slots; ++i) slots_[i] = {0, kNoFlow};
  // Free list in handle order, so that a fresh table fills the pool from the
  // front (and Sweep finds live entries early).
  for (size_t i = 0; i < capacity; ++i)
    entries_[i].next_free = i + 1 < capacity ? static_cast<uint32_t>(i + 1) : kNoFlow;
  free_head_ = 0;

  uint64_t state = seed;
  for (uint64_t& s : seed_) s = SplitMix64(&state) | 1;

  const uint64_t tcp[kNumFlowStates] = {timeouts.tcp_syn, timeouts.tcp_syn,
                                        timeouts.tcp_syn, timeouts.tcp_established,
                                        timeouts.tcp_fin, timeouts.tcp_closed};
  for (int s = 0; s < kNumFlowStates; ++s) {
    timeout_[kClassTcp][s] = tcp[s];
    timeout_[kClassUdp][s] = timeouts.udp;
    timeout_[kClassIcmp][s] = timeouts.icmp;
    timeout_[kClassOther][s] = timeouts.other;
  }
}

FlowTable::~FlowTable() {
  delete[] entries_;
  std::free(slots_);
}

uint32_t FlowTable::Hash(const FlowKey& k) const {
  const uint64_t w4 = uint64_t{k.port[0]} | uint64_t{k.port[1]} << 16 | uint64_t{k.proto} << 32 |
                      uint64_t{k.family} << 40;
  uint64_t h = Mix(k.addr[0][0] ^ seed_[0], k.addr[0][1] ^ seed_[1]) ^
               Mix(k.addr[1][0] ^ seed_[2], k.addr[1][1] ^ seed_[3]);
  h = Mix(h ^ w4 ^ seed_[4], seed_[5]);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

LookupResult FlowTable::Lookup(const PacketKey& packet, uint64_t now) {
  FlowKey key;
  const int src_side = NormalizeKey(packet, &key);
  return LookupHashed(key, src_side, Hash(key), now);
}

void FlowTable::LookupBurst(const PacketKey* packets, size_t n, uint64_t now, LookupResult* out) {
  constexpr size_t kChunk = 32;  // the worker's burst size; bounds the stack arrays
  FlowKey keys[kChunk];
  int sides[kChunk];
  uint32_t hashes[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    const size_t m = std::min(kChunk, n - base);
    for (size_t i = 0; i < m; ++i) {
      sides[i] = NormalizeKey(packets[base + i], &keys[i]);
      hashes[i] = Hash(keys[i]);
      __builtin_prefetch(&slots_[hashes[i] & mask_]);
    }
    // A hit is usually in its home slot: fetch its entry's first line early.
    for (size_t i = 0; i < m; ++i) {
      const Slot s = slots_[hashes[i] & mask_];
      if (s.handle != kNoFlow && s.hash == hashes[i]) __builtin_prefetch(&entries_[s.handle]);
    }
    for (size_t i = 0; i < m; ++i) out[base + i] = LookupHashed(keys[i], sides[i], hashes[i], now);
  }
}

LookupResult FlowTable::LookupHashed(const FlowKey& key, int src_side, uint32_t h, uint64_t now) {
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot s = slots_[i];
    if (s.handle == kNoFlow) return {};
    if (s.hash != h) continue;
    const FlowEntry& e = entries_[s.handle];
    if (!(e.key == key)) continue;
    if (IsExpired(e, now)) {
      Expire(i, s.handle);
      return {};
    }
    return {s.handle, src_side == e.initiator_side ? Direction::kOriginal : Direction::kReply};
  }
}

LookupResult FlowTable::LookupIcmpError(const PacketKey& outer, uint32_t outer_length,
                                        const PacketKey& quoted, uint64_t now) {
  const bool v6 = outer.src.family == Family::kV6;
  if (outer_length > (v6 ? kMaxIcmpErrorLengthV6 : kMaxIcmpErrorLengthV4)) return {};
  // Linux: the found tuple's destination must be the outer destination, i.e.
  // the error goes back to whoever sent the quoted packet (a bogus error
  // "B->X" quoting "B->T" would otherwise relate X to a flow it never had).
  if (quoted.src.family != outer.src.family || !(quoted.src == outer.dst)) return {};
  const LookupResult r = Lookup(quoted, now);
  if (!r.hit()) return r;
  // The quote must be a packet the flow carried in that direction.
  if (entries_[r.handle].packets[static_cast<int>(r.direction)] == 0) return {};
  return r;
}

InsertResult FlowTable::Insert(const PacketKey& packet, uint64_t now, Verdict verdict,
                               uint64_t generation, const PolicyIds& ids) {
  FlowKey key;
  const int src_side = NormalizeKey(packet, &key);
  const uint32_t h = Hash(key);
  size_t i = h & mask_;
  for (;;) {
    const Slot s = slots_[i];
    if (s.handle == kNoFlow) break;
    if (s.hash == h && entries_[s.handle].key == key) {
      if (!IsExpired(entries_[s.handle], now)) return {s.handle, InsertStatus::kExists};
      // Reclaiming shifts the cluster back: probe again from home. The key
      // occurs at most once, so this happens at most once.
      Expire(i, s.handle);
      i = h & mask_;
      continue;
    }
    i = (i + 1) & mask_;
  }
  if (free_head_ == kNoFlow) {
    ++stats_.table_full;
    return {kNoFlow, InsertStatus::kTableFull};
  }
  const FlowHandle handle = free_head_;
  FlowEntry& e = entries_[handle];
  free_head_ = e.next_free;

  e.key = key;
  e.state = FlowState::kNew;
  e.verdict = verdict;
  e.initiator_side = static_cast<uint8_t>(src_side);
  e.flags = FlowEntry::kFlagLive;
  e.hash = h;
  e.last_seen = now;
  e.generation = generation;
  e.packets = {};
  e.bytes = {};
  e.created = now;
  e.reported = now;
  e.next_free = kNoFlow;
  e.enforced_count = std::min<uint8_t>(ids.enforced_count, kMaxPolicyIds);
  e.pending_count = std::min<uint8_t>(ids.pending_count, kMaxPolicyIds);
  e.enforced = ids.enforced;
  e.pending = ids.pending;

  slots_[i] = {h, handle};
  ++stats_.inserted;
  ++stats_.active;
  return {handle, InsertStatus::kInserted};
}

UpdateResult FlowTable::UpdateOnPacket(FlowHandle handle, Direction dir, uint8_t tcp_flags,
                                       uint32_t bytes, uint64_t now) {
  FlowEntry& e = entries_[handle];
  UpdateResult result = UpdateResult::kTracked;
  const bool original = dir == Direction::kOriginal;
  if (e.key.proto == kProtoTcp) {
    const bool syn = tcp_flags & kTcpSyn;
    const bool ack = tcp_flags & kTcpAck;
    const bool fin = tcp_flags & kTcpFin;
    if (tcp_flags & kTcpRst) {
      e.state = FlowState::kClosed;
    } else if (syn && !ack && !original) {
      // A connection the other way round: never a reply (see the header).
      return UpdateResult::kStale;
    } else if (e.state == FlowState::kClosed) {
      // Only a bare SYN leaves kClosed; anything else is the tail of the old
      // connection (last ACK, retransmissions) and keeps it closed.
      if (syn && !ack) {
        e.state = FlowState::kSynSent;
        e.flags &= ~(FlowEntry::kFlagFinOriginal | FlowEntry::kFlagFinReply);
        e.packets = {};
        e.bytes = {};
        e.created = now;
        e.reported = now;
        result = UpdateResult::kReopened;
      }
    } else {
      if (syn && !ack) {
        if (e.state == FlowState::kNew) e.state = FlowState::kSynSent;
      } else if (syn) {
        if (!original && (e.state == FlowState::kNew || e.state == FlowState::kSynSent))
          e.state = FlowState::kSynRecv;
      } else if (original && ack && e.state == FlowState::kSynRecv) {
        e.state = FlowState::kEstablished;  // third packet of the handshake
      } else if (!original && e.state == FlowState::kNew) {
        e.state = FlowState::kEstablished;  // picked up mid-stream, both ways now
      }
      if (fin) {
        e.flags |= original ? FlowEntry::kFlagFinOriginal : FlowEntry::kFlagFinReply;
        constexpr uint8_t kBoth = FlowEntry::kFlagFinOriginal | FlowEntry::kFlagFinReply;
        e.state = (e.flags & kBoth) == kBoth ? FlowState::kClosed : FlowState::kFinWait;
      }
    }
  } else if (!original && e.state == FlowState::kNew) {
    e.state = FlowState::kEstablished;
  }
  const int d = static_cast<int>(dir);
  ++e.packets[d];
  e.bytes[d] += bytes;
  if (now > e.last_seen) e.last_seen = now;
  return result;
}

void FlowTable::SetVerdict(FlowHandle handle, Verdict verdict, uint64_t generation,
                           const PolicyIds& ids) {
  FlowEntry& e = entries_[handle];
  e.verdict = verdict;
  e.generation = generation;
  e.enforced_count = std::min<uint8_t>(ids.enforced_count, kMaxPolicyIds);
  e.pending_count = std::min<uint8_t>(ids.pending_count, kMaxPolicyIds);
  e.enforced = ids.enforced;
  e.pending = ids.pending;
}

bool FlowTable::Remove(FlowHandle handle) {
  if (!IsLive(handle)) return false;
  Release(FindSlot(handle), handle);
  ++stats_.removed;
  return true;
}

size_t FlowTable::Sweep(uint64_t now, size_t max_entries) {
  const size_t n = std::min(max_entries, capacity_);
  size_t reclaimed = 0;
  for (size_t k = 0; k < n; ++k) {
    const FlowHandle h = static_cast<FlowHandle>(sweep_cursor_);
    if (++sweep_cursor_ == capacity_) sweep_cursor_ = 0;
    FlowEntry& e = entries_[h];
    if (!e.live()) continue;
    if (IsExpired(e, now)) {
      Expire(FindSlot(h), h);
      ++reclaimed;
    } else if (report_interval_ != 0 && e.last_seen > e.reported &&
               now - e.reported >= report_interval_) {
      e.reported = now;
      report_hook_(report_ctx_, h, e);
    }
  }
  return reclaimed;
}

size_t FlowTable::FindSlot(FlowHandle handle) const {
  size_t i = entries_[handle].hash & mask_;
  while (slots_[i].handle != handle) i = (i + 1) & mask_;
  return i;
}

void FlowTable::EraseSlot(size_t i) {
  // Backward shift: move later members of the cluster into the hole when
  // that keeps them at or after their home slot, so lookups never need
  // tombstones and probe lengths stay those of a table without deletions.
  for (size_t j = (i + 1) & mask_; slots_[j].handle != kNoFlow; j = (j + 1) & mask_) {
    const size_t home = slots_[j].hash & mask_;
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = {0, kNoFlow};
}

void FlowTable::Release(size_t slot, FlowHandle handle) {
  EraseSlot(slot);
  FlowEntry& e = entries_[handle];
  e.flags = 0;
  e.next_free = free_head_;
  free_head_ = handle;
  --stats_.active;
}

void FlowTable::Expire(size_t slot, FlowHandle handle) {
  if (hook_ != nullptr) hook_(hook_ctx_, handle, entries_[handle]);
  Release(slot, handle);
  ++stats_.expired;
}

bool FlowTable::Validate(std::string* error) const {
  auto fail = [&](std::string what) {
    if (error) *error = std::move(what);
    return false;
  };
  std::vector<bool> indexed(capacity_, false);
  size_t used = 0;
  for (size_t i = 0; i <= mask_; ++i) {
    const Slot s = slots_[i];
    if (s.handle == kNoFlow) continue;
    ++used;
    if (s.handle >= capacity_) return fail("slot " + std::to_string(i) + ": bad handle");
    const FlowEntry& e = entries_[s.handle];
    if (!e.live()) return fail("slot " + std::to_string(i) + ": dead entry");
    if (indexed[s.handle]) return fail("entry " + std::to_string(s.handle) + " indexed twice");
    indexed[s.handle] = true;
    if (e.hash != s.hash || Hash(e.key) != s.hash)
      return fail("entry " + std::to_string(s.handle) + ": hash mismatch");
    for (size_t j = s.hash & mask_; j != i; j = (j + 1) & mask_)
      if (slots_[j].handle == kNoFlow)
        return fail("entry " + std::to_string(s.handle) + ": unreachable from its home slot");
  }
  size_t live = 0;
  for (size_t h = 0; h < capacity_; ++h) {
    if (!entries_[h].live()) continue;
    ++live;
    if (!indexed[h]) return fail("entry " + std::to_string(h) + " live but not indexed");
  }
  size_t free_count = 0;
  for (FlowHandle h = free_head_; h != kNoFlow; h = entries_[h].next_free) {
    if (h >= capacity_ || entries_[h].live() || ++free_count > capacity_)
      return fail("corrupt free list");
  }
  if (live != used || live != stats_.active || live + free_count != capacity_)
    return fail("counts disagree: live " + std::to_string(live) + ", slots " +
                std::to_string(used) + ", active " + std::to_string(stats_.active) + ", free " +
                std::to_string(free_count));
  return true;
}

}  // namespace tierwall::dp::conntrack
