// Program: the compiled, immutable policy that crosses from control to data.
//
// What: everything a worker needs to judge a new flow: which endpoint owns an
// address, which rule chain applies to that endpoint per direction, and one
// RuleClassifier holding every rule of every chain. The control side builds
// it (control/compiler) without an EAL; workers only read it.
//
// Design: tiers, policies and rules are flattened into "rule instances"
// numbered in evaluation order (tier order, then policy order, then rule
// order; then each tier's end-of-tier instance; then profiles). An instance
// id is its classifier priority, so "first matching rule" is one lookup, and
// evaluating a tier chain is a short loop:
//   r = FirstMatch(chain, pkt, from)
//   Log  -> from = r + 1            (record, continue)
//   Pass -> from = rules[r].next_tier  (leave the tier)
//   Allow/Deny -> done
// Every chain ends in a catch-all profile instance, so the loop always ends.
// The chain dimension carries (direction, mode, endpoint group), mode being
// enforced or pending (staged policies as if enforced); a group whose pending
// view equals its enforced view shares the enforced chain.
//
// Versioning: `generation` increases with every compiled program; flows
// remember the generation that judged them.
//
// Thread safety: immutable after Compile; any number of readers. Evaluate
// does not allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/classify/ip_addr.h"
#include "dataplane/classify/packet_key.h"
#include "dataplane/classify/rule_classifier.h"

namespace tierwall::dp::classify {

enum class RuleAction : uint8_t { kAllow, kDeny, kPass, kLog };
// "allow", "deny", "pass", "log": the words of flow-log strings and counters.
const char* RuleActionName(RuleAction a);
enum class PolicyDirection : uint8_t { kIngress = 0, kEgress = 1 };
enum class EvalMode : uint8_t { kEnforced = 0, kPending = 1 };

inline constexpr int32_t kEndOfTierRule = -1;
inline constexpr uint32_t kNoEndpoint = 0xffffffffu;
inline constexpr uint32_t kNoChain = 0xffffffffu;
inline constexpr int kMaxTraceEntries = 32;
inline constexpr int kMaxLogHits = 8;

// One rule instance, indexed by its priority.
struct RuleMeta {
  RuleAction action;
  uint16_t tier;       // index into Program::tiers
  uint32_t policy;     // index into Program::policies
  int32_t rule_index;  // within the policy's rule list for this direction; -1 = end of tier
  uint32_t next_tier;  // first instance of the next tier (where Pass continues)
  // Stable counter slots by PolicyDirection, assigned by whoever publishes the
  // program (the daemon's slot registry); 0 until then.
  uint32_t counter_slot[2] = {0, 0};
};

struct TierMeta {
  std::string name;  // "__PROFILE__" for the profile stage
};

struct PolicyMeta {
  std::string trace_name;  // "hipstershop/app-hipstershop.frontend", "security.staged:block"
  uint16_t tier;
  bool staged;
  bool profile;
};

inline constexpr uint16_t kNoPort = 0xffff;

struct EndpointMeta {
  std::string name;      // "<ns>/<name>" for workloads, "<name>" for host endpoints
  uint32_t group;        // endpoints policy cannot tell apart share a group
  bool workload = true;  // a WorkloadEndpoint (false: a HostEndpoint)
  // Where the endpoint lives: the port whose name is its interfaceName
  // (CompileOptions::port_names), or kNoPort when no port has that name.
  uint16_t port = kNoPort;
  // The MAC it declares (spec.mac), 48 bits big-endian; has_mac false if none.
  bool has_mac = false;
  uint64_t mac = 0;
};

// What Program::CheckSource says about a packet's source.
enum class SourceCheck : uint8_t { kOk, kWrongPort, kWrongMac };

// Open-addressing hash of endpoint addresses; flat arrays, linear probing.
class EndpointIndex {
 public:
  void Build(const std::vector<std::pair<IpAddr, uint32_t>>& entries);
  uint32_t Find(const IpAddr& ip) const;  // kNoEndpoint when unknown
  size_t MemoryBytes() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    U128 bits;
    uint32_t endpoint;  // kNoEndpoint = empty
    uint8_t family;
  };
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
};

// The evaluation of one direction at one endpoint.
struct DirectionTrace {
  bool evaluated = false;
  RuleAction verdict = RuleAction::kDeny;          // kAllow or kDeny
  RuleAction pending_verdict = RuleAction::kDeny;  // with staged policies enforced
  uint8_t enforced_count = 0;
  uint8_t pending_count = 0;
  std::array<uint32_t, kMaxTraceEntries> enforced{};  // rule instance ids, in order
  std::array<uint32_t, kMaxTraceEntries> pending{};
  // Log rules that matched on the enforced path (they never appear in
  // traces, but are counted as "logged").
  uint8_t logged_count = 0;
  std::array<uint32_t, kMaxLogHits> logged{};
};

struct PacketVerdict {
  RuleAction verdict = RuleAction::kDeny;  // kAllow or kDeny
  uint32_t src_endpoint = kNoEndpoint;
  uint32_t dst_endpoint = kNoEndpoint;
  DirectionTrace egress;   // at the source endpoint
  DirectionTrace ingress;  // at the destination endpoint
};

struct Program {
  uint64_t generation = 0;
  RuleClassifier classifier;
  std::vector<RuleMeta> rules;  // by priority
  std::vector<TierMeta> tiers;
  std::vector<PolicyMeta> policies;
  std::vector<EndpointMeta> endpoints;
  EndpointIndex endpoint_index;
  uint32_t num_groups = 0;
  // chains[((group * 2) + direction) * 2 + mode]
  std::vector<uint32_t> chains;
  // By port id: 1 where a WorkloadEndpoint lives (see CheckSource).
  std::vector<uint8_t> workload_port;

  uint32_t Chain(uint32_t group, PolicyDirection d, EvalMode m) const {
    return chains[(group * 2 + static_cast<uint32_t>(d)) * 2 + static_cast<uint32_t>(m)];
  }

  // Judges one packet of a new flow. Traffic between two known endpoints must
  // pass the source's egress and the destination's ingress; with one side
  // unknown only the known side is evaluated; with both unknown no endpoint
  // claims the traffic and it is denied (fail closed).
  void Evaluate(const PacketKey& packet, PacketVerdict* out) const;

  // Runs one chain from the start; fills ids (up to kMaxTraceEntries) and,
  // when `logged` is given, the Log rules that matched (up to kMaxLogHits);
  // returns kAllow or kDeny.
  RuleAction EvaluateChain(uint32_t chain, const PacketKey& packet, uint32_t* ids, uint8_t* count,
                           uint32_t* logged = nullptr, uint8_t* logged_count = nullptr) const;

  // Source-address validation (anti-spoofing, as Calico does for
  // workloads): may a packet from `src` (Ethernet source `mac`) arrive on
  // port `port`? An address of an endpoint that lives on a port only from
  // that port (and, when check_mac and the endpoint declares a MAC, only
  // from that MAC). An address of an endpoint whose interfaceName names no
  // port only from ports where no workload lives: a workload's port carries
  // that workload, so it cannot be the source, and an uplink (or a test
  // port) may carry it. Addresses of no endpoint are not checked here
  // (policy judges them as unknown). One hash probe; no allocation.
  SourceCheck CheckSource(const IpAddr& src, uint16_t port, uint64_t mac, bool check_mac) const;

  size_t MemoryBytes() const;
};

}  // namespace tierwall::dp::classify
