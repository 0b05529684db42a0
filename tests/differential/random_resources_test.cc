// The generator and the oracle on their own: generated sets obey the rules
// the loader and compiler enforce, generation is deterministic, and the
// reference evaluator over them reaches the interesting outcomes (so the
// differential test is not comparing two "deny"s all day).
#include "tests/differential/random_resources.h"

#include <gtest/gtest.h>

#include <iostream>
#include <set>
#include <string>
#include <tuple>

#include "tests/reference/reference_evaluator.h"

namespace tierwall::test {
namespace {

using namespace ctl::model;  // NOLINT: test-local brevity

bool PortProtocol(const Rule& r) {
  return r.protocol == 6 || r.protocol == 17 || r.protocol == 132;
}

void CheckRule(const Rule& r, const std::string& where) {
  SCOPED_TRACE(where);
  for (const EntityRule* er : {&r.source, &r.destination}) {
    // Without a protocol only named ports are valid (libcalico-go validateRule).
    if (!er->ports.ranges.empty() || !er->not_ports.ranges.empty()) {
      EXPECT_TRUE(PortProtocol(r)) << "numeric ports without TCP/UDP/SCTP";
    }
    if (!er->ports.empty() || !er->not_ports.empty()) {
      EXPECT_TRUE(PortProtocol(r) || !r.protocol) << "ports with a protocol that has none";
    }
    for (const auto* range : {&er->ports.ranges, &er->not_ports.ranges}) {
      for (const auto& pr : *range) EXPECT_LE(pr.first, pr.last);
    }
    if (er->namespace_selector.has_value()) {
      // global() must be the whole namespaceSelector.
      const std::string& t = er->namespace_selector->text();
      EXPECT_TRUE(t == "global()" || t.find("global()") == std::string::npos) << t;
    }
    if (r.ip_version.has_value()) {
      for (const auto* nets : {&er->nets, &er->not_nets}) {
        for (const auto& c : *nets) {
          EXPECT_EQ(c.addr.family == dp::classify::Family::kV4 ? 4 : 6, *r.ip_version);
        }
      }
    }
    if (er->service_accounts.has_value()) {
      EXPECT_TRUE(!er->service_accounts->names.empty() ||
                  er->service_accounts->selector.has_value());
    }
  }
  for (const auto& m : {r.icmp, r.not_icmp}) {
    if (!m.has_value()) continue;
    EXPECT_TRUE(r.protocol == 1 || r.protocol == 58) << "icmp without ICMP/ICMPv6";
    EXPECT_TRUE(!m->code.has_value() || m->type.has_value()) << "code without type";
  }
  if (r.protocol == 1 && r.ip_version.has_value()) {
    EXPECT_EQ(*r.ip_version, 4);
  }
  if (r.protocol == 58 && r.ip_version.has_value()) {
    EXPECT_EQ(*r.ip_version, 6);
  }
  if (r.http.has_value()) {
    EXPECT_TRUE(r.action == Action::kAllow && r.protocol == 6);
  }
}

TEST(RandomResources, GeneratedSetsAreValid) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const ResourceSet rs = RandomResources(seed);
    std::set<std::string> tiers = {"default"};
    for (const auto& t : rs.tiers) {
      EXPECT_TRUE(tiers.insert(t.name).second || t.name == "default") << "duplicate tier";
      EXPECT_TRUE(t.default_action == Action::kDeny || t.default_action == Action::kPass);
    }
    EXPECT_GE(rs.tiers.size(), 1u);
    EXPECT_GE(rs.policies.size(), 1u);
    EXPECT_LE(rs.policies.size(), 30u);
    EXPECT_GE(rs.endpoints.size(), 5u);
    EXPECT_LE(rs.endpoints.size(), 40u);
    std::set<std::tuple<int, bool, std::string, std::string>> ids;
    for (const auto& p : rs.policies) {
      EXPECT_TRUE(tiers.count(p.tier)) << p.name << " names missing tier " << p.tier;
      EXPECT_TRUE(ids.insert({static_cast<int>(p.kind), p.staged, p.namespace_, p.name}).second)
          << "duplicate policy " << p.name;
      EXPECT_EQ(p.namespace_.empty(), p.kind == PolicyKind::kGlobalNetworkPolicy);
      if (p.kind == PolicyKind::kKubernetesNetworkPolicy) {
        EXPECT_EQ(p.tier, "default");
        EXPECT_EQ(p.order, 1000.0);
      }
      if (p.namespace_selector.has_value()) {
        EXPECT_EQ(p.kind, PolicyKind::kGlobalNetworkPolicy);
      }
      for (const auto& r : p.ingress) CheckRule(r, p.name + " ingress");
      for (const auto& r : p.egress) CheckRule(r, p.name + " egress");
    }
    std::set<std::string> profiles;
    for (const auto& p : rs.profiles) {
      EXPECT_TRUE(profiles.insert(p.name).second);
      for (const auto* rules : {&p.ingress, &p.egress}) {
        for (const auto& r : *rules) {
          CheckRule(r, p.name);
          EXPECT_NE(r.action, Action::kPass);
        }
      }
    }
    std::set<dp::classify::IpAddr> ips;
    std::set<std::string> names;
    for (const auto& e : rs.endpoints) {
      EXPECT_TRUE(names.insert(e.namespace_ + "/" + e.name).second);
      EXPECT_FALSE(e.ips.empty());
      for (const auto& ip : e.ips) EXPECT_TRUE(ips.insert(ip).second) << "duplicate address";
      EXPECT_EQ(e.namespace_.empty(), e.kind == EndpointKind::kHost);
      for (const auto& prof : e.profiles) {
        EXPECT_TRUE(profiles.count(prof) || prof.rfind("kns.", 0) == 0 ||
                    prof.rfind("ksa.", 0) == 0)
            << "endpoint " << e.name << " names missing profile " << prof;
      }
    }
  }
}

TEST(RandomResources, Deterministic) {
  for (uint64_t seed : {1u, 7u, 99u}) {
    EXPECT_EQ(DumpResources(RandomResources(seed)), DumpResources(RandomResources(seed)));
    const auto a = RandomPackets(RandomResources(seed), seed, 100);
    const auto b = RandomPackets(RandomResources(seed), seed, 100);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(PacketToString(a[i]), PacketToString(b[i]));
  }
  EXPECT_NE(DumpResources(RandomResources(1)), DumpResources(RandomResources(2)));
}

// Over many sets, the reference reaches every kind of outcome.
TEST(RandomResources, ReferenceOutcomesAreVaried) {
  int64_t packets = 0, allowed = 0, both_known = 0, one_known = 0, none_known = 0;
  int64_t pending_differs = 0, pass = 0, end_of_tier = 0, profile_allow = 0, no_match = 0;
  int64_t policy_allow = 0, policy_deny = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const ResourceSet rs = RandomResources(seed);
    for (const auto& pkt : RandomPackets(rs, seed, 100)) {
      // Addresses must be valid for their family (IPv4 in the low 32 bits).
      ASSERT_LE(pkt.src.bits, dp::classify::MaxAddress(pkt.src.family));
      ASSERT_LE(pkt.dst.bits, dp::classify::MaxAddress(pkt.dst.family));
      const RefTraceReport r = ReferenceEvaluate(rs, pkt);
      ++packets;
      allowed += r.verdict == "allow";
      const int known = r.source_endpoint.has_value() + r.destination_endpoint.has_value();
      (known == 2 ? both_known : known == 1 ? one_known : none_known)++;
      EXPECT_EQ(r.egress.has_value(), r.source_endpoint.has_value());
      EXPECT_EQ(r.ingress.has_value(), r.destination_endpoint.has_value());
      for (const auto* d : {&r.egress, &r.ingress}) {
        if (!d->has_value()) continue;
        pending_differs += (*d)->verdict != (*d)->pending_verdict;
        EXPECT_FALSE((*d)->enforced.empty());
        EXPECT_FALSE((*d)->pending.empty());
        for (const auto& e : (*d)->enforced) {
          pass += e.find("|pass|") != std::string::npos;
          const bool profile = e.find("|__PROFILE__|") != std::string::npos;
          end_of_tier += !profile && e.ends_with("|-1");
          profile_allow += profile && e.find("|allow|") != std::string::npos;
          no_match += e.find("__NO_MATCH__") != std::string::npos;
          policy_allow += !profile && e.find("|allow|") != std::string::npos;
          policy_deny += !profile && e.find("|deny|") != std::string::npos && !e.ends_with("|-1");
        }
      }
    }
  }
  std::cout << "packets " << packets << " allowed " << allowed << " both/one/none known "
            << both_known << "/" << one_known << "/" << none_known << " pending differs "
            << pending_differs << " pass " << pass << " end-of-tier " << end_of_tier
            << " profile allow " << profile_allow << " no-match " << no_match << " policy allow "
            << policy_allow << " policy deny " << policy_deny << "\n";
  EXPECT_GT(allowed, packets / 20);
  EXPECT_LT(allowed, packets - packets / 20);
  EXPECT_GT(both_known, packets / 10);
  EXPECT_GT(one_known, packets / 10);
  EXPECT_GT(none_known, 0);
  EXPECT_GT(pending_differs, 0);
  EXPECT_GT(pass, 0);
  EXPECT_GT(end_of_tier, 0);
  EXPECT_GT(profile_allow, 0);
  EXPECT_GT(no_match, 0);
  EXPECT_GT(policy_allow, 0);
  EXPECT_GT(policy_deny, 0);
}

}  // namespace
}  // namespace tierwall::test
