#include "dataplane/classify/program.h"

namespace tierwall::dp::classify {

namespace {

uint64_t HashAddr(const IpAddr& ip) {
  uint64_t lo = static_cast<uint64_t>(ip.bits);
  uint64_t hi = static_cast<uint64_t>(ip.bits >> 64);
  uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull) ^ static_cast<uint64_t>(ip.family)) *
               0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

}  // namespace

const char* RuleActionName(RuleAction a) {
  switch (a) {
    case RuleAction::kAllow: return "allow";
    case RuleAction::kDeny: return "deny";
    case RuleAction::kPass: return "pass";
    case RuleAction::kLog: return "log";
  }
  return "?";
}

SourceCheck Program::CheckSource(const IpAddr& src, uint16_t port, uint64_t mac,
                                 bool check_mac) const {
  const uint32_t id = endpoint_index.Find(src);
  if (id == kNoEndpoint) return SourceCheck::kOk;
  const EndpointMeta& e = endpoints[id];
  if (e.port == kNoPort)
    return port < workload_port.size() && workload_port[port] ? SourceCheck::kWrongPort
                                                              : SourceCheck::kOk;
  if (e.port != port) return SourceCheck::kWrongPort;
  if (check_mac && e.has_mac && e.mac != mac) return SourceCheck::kWrongMac;
  return SourceCheck::kOk;
}

void EndpointIndex::Build(const std::vector<std::pair<IpAddr, uint32_t>>& entries) {
  uint64_t capacity = 16;
  while (capacity < entries.size() * 2) capacity <<= 1;  // load factor <= 0.5
  slots_.assign(capacity, Slot{0, kNoEndpoint, 0});
  mask_ = capacity - 1;
  for (const auto& [ip, endpoint] : entries) {
    uint64_t i = HashAddr(ip) & mask_;
    while (slots_[i].endpoint != kNoEndpoint) i = (i + 1) & mask_;
    slots_[i] = Slot{ip.bits, endpoint, static_cast<uint8_t>(ip.family)};
  }
}

uint32_t EndpointIndex::Find(const IpAddr& ip) const {
  if (slots_.empty()) return kNoEndpoint;
  for (uint64_t i = HashAddr(ip) & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.endpoint == kNoEndpoint) return kNoEndpoint;
    if (s.bits == ip.bits && s.family == static_cast<uint8_t>(ip.family)) return s.endpoint;
  }
}

RuleAction Program::EvaluateChain(uint32_t chain, const PacketKey& packet, uint32_t* ids,
                                  uint8_t* count, uint32_t* logged, uint8_t* logged_count) const {
  *count = 0;
  if (logged_count) *logged_count = 0;
  uint32_t from = 0;
  for (;;) {
    // Priorities only grow, and every chain ends in a catch-all profile
    // instance, so this loop runs at most once per tier plus once per Log hit.
    uint32_t r = classifier.FirstMatch(chain, packet, from);
    if (r == RuleClassifier::kNoMatch) return RuleAction::kDeny;
    const RuleMeta& meta = rules[r];
    if (meta.action == RuleAction::kLog) {
      if (logged && *logged_count < kMaxLogHits) logged[(*logged_count)++] = r;
      from = r + 1;
      continue;
    }
    if (*count < kMaxTraceEntries) ids[(*count)++] = r;
    if (meta.action == RuleAction::kPass) {
      from = meta.next_tier;
      continue;
    }
    return meta.action;
  }
}

void Program::Evaluate(const PacketKey& packet, PacketVerdict* out) const {
  out->src_endpoint = endpoint_index.Find(packet.src);
  out->dst_endpoint = endpoint_index.Find(packet.dst);
  out->egress.evaluated = false;
  out->ingress.evaluated = false;

  auto judge = [&](uint32_t endpoint, PolicyDirection dir, DirectionTrace* t) {
    uint32_t group = endpoints[endpoint].group;
    uint32_t enforced_chain = Chain(group, dir, EvalMode::kEnforced);
    uint32_t pending_chain = Chain(group, dir, EvalMode::kPending);
    t->evaluated = true;
    t->verdict = EvaluateChain(enforced_chain, packet, t->enforced.data(), &t->enforced_count,
                               t->logged.data(), &t->logged_count);
    if (pending_chain == enforced_chain) {  // no staged policy applies here
      t->pending_verdict = t->verdict;
      t->pending = t->enforced;
      t->pending_count = t->enforced_count;
    } else {
      t->pending_verdict =
          EvaluateChain(pending_chain, packet, t->pending.data(), &t->pending_count);
    }
  };

  if (out->src_endpoint == kNoEndpoint && out->dst_endpoint == kNoEndpoint) {
    out->verdict = RuleAction::kDeny;  // nobody claims this traffic: fail closed
    return;
  }
  bool allowed = true;
  if (out->src_endpoint != kNoEndpoint) {
    judge(out->src_endpoint, PolicyDirection::kEgress, &out->egress);
    allowed &= out->egress.verdict == RuleAction::kAllow;
  }
  if (out->dst_endpoint != kNoEndpoint) {
    judge(out->dst_endpoint, PolicyDirection::kIngress, &out->ingress);
    allowed &= out->ingress.verdict == RuleAction::kAllow;
  }
  out->verdict = allowed ? RuleAction::kAllow : RuleAction::kDeny;
}

size_t Program::MemoryBytes() const {
  return classifier.MemoryBytes() + rules.size() * sizeof(RuleMeta) + endpoint_index.MemoryBytes() +
         chains.size() * sizeof(uint32_t);
}

}  // namespace tierwall::dp::classify
