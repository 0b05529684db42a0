#include "tests/differential/random_resources.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tierwall::test {
namespace {

using namespace ctl::model;  // NOLINT: the generator touches every model type
using dp::classify::Family;
using dp::classify::PacketKey;
using dp::classify::U128;

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpV6 = 58, kSctp = 132;

// Small vocabularies: selectors are drawn from the same words as labels, so
// they match a fair share of endpoints.
const std::vector<std::string> kLabelKeys = {"app", "env", "role"};
const std::vector<std::vector<std::string>> kLabelValues = {
    {"web", "api", "db"}, {"prod", "dev"}, {"front", "back"}};
const std::vector<std::string> kNamespaces = {"ns-a", "ns-b", "ns-c", "ns-d"};
const std::vector<std::string> kServiceAccounts = {"sa1", "sa2", "sa3"};
const std::vector<std::string> kPortNames = {"http", "grpc", "dns", "metrics"};
constexpr char kK8sPods[] = "projectcalico.org/orchestrator == 'k8s'";
// Network-set-only and profile-only keys, so some selectors see them.
const std::vector<std::string> kExtraKeys = {"zone", "kind"};
const std::vector<std::vector<std::string>> kExtraValues = {{"dmz", "core"}, {"ext", "int"}};

const std::vector<std::string> kV4Nets = {"198.18.0.0/24",   "198.18.0.0/28", "198.18.0.16/28",
                                          "198.18.1.0/24",   "198.18.0.0/23", "198.19.0.0/16",
                                          "198.19.128.0/17", "198.18.0.5/32", "198.18.0.0/15",
                                          "0.0.0.0/0",       "10.0.0.0/8",    "198.18.0.64/26"};
const std::vector<std::string> kV6Nets = {"2001:db8::/32",    "2001:db8::/112", "2001:db8:1::/48",
                                          "2001:db8::10/124", "::/0",           "2001:db8::1/128",
                                          "2001:db8::/120"};

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed * 0x9E3779B97F4A7C15ull + 12345) {}
  // Inclusive.
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return static_cast<double>(gen_() % 1000000) < p * 1000000.0; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int64_t>(v.size()) - 1))];
  }
  uint64_t Raw() { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

Selector MustParse(const std::string& text) {
  auto s = Selector::Parse(text);
  if (!s.ok()) {
    // A generator bug; fail loudly rather than test something else.
    fprintf(stderr, "random_resources: bad selector %s: %s\n", text.c_str(),
            std::string(s.status().message()).c_str());
    std::abort();
  }
  return *s;
}

Cidr MustCidr(const std::string& text) {
  auto c = Cidr::Parse(text);
  if (!c) {
    fprintf(stderr, "random_resources: bad cidr %s\n", text.c_str());
    std::abort();
  }
  return *c;
}

std::string Quote(const std::string& v) { return "'" + v + "'"; }

// One comparison over the endpoint-label vocabulary (or the extra keys).
std::string RandomLabelAtom(Rng& rng) {
  const bool extra = rng.Chance(0.15);
  const auto& keys = extra ? kExtraKeys : kLabelKeys;
  const auto& all_values = extra ? kExtraValues : kLabelValues;
  const size_t k = static_cast<size_t>(rng.Int(0, static_cast<int64_t>(keys.size()) - 1));
  const std::string& key = keys[k];
  const std::vector<std::string>& values = all_values[k];
  const std::string value = rng.Pick(values);
  switch (rng.Int(0, 11)) {
    case 0: return "has(" + key + ")";
    case 1: return key + " != " + Quote(value);
    case 2: return key + " in {" + Quote(value) + ", " + Quote(rng.Pick(values)) + "}";
    case 3: return key + " not in {" + Quote(value) + "}";
    case 4: return key + " contains " + Quote(value.substr(1, 2));
    case 5: return key + " starts with " + Quote(value.substr(0, 1));
    case 6: return key + " ends with " + Quote(value.substr(value.size() - 1));
    case 7: return "projectcalico.org/namespace == " + Quote(rng.Pick(kNamespaces));
    case 8: return "has(projectcalico.org/serviceaccount)";
    // Labels Calico gives every workload endpoint or inherits from profiles.
    case 9: return "projectcalico.org/orchestrator == 'k8s'";
    case 10: return rng.Chance(0.5) ? "pcns.team == 'red'" : "has(pcsa.tier)";
    default: return key + " == " + Quote(value);
  }
}

std::string RandomSelectorText(Rng& rng, int depth = 0) {
  const int r = static_cast<int>(rng.Int(0, 99));
  if (depth < 2 && r < 15) {
    return "(" + RandomSelectorText(rng, depth + 1) + " && " + RandomSelectorText(rng, depth + 1) +
           ")";
  }
  if (depth < 2 && r < 25) {
    return "(" + RandomSelectorText(rng, depth + 1) + " || " + RandomSelectorText(rng, depth + 1) +
           ")";
  }
  if (r < 30) return "!" + RandomLabelAtom(rng);
  if (r < 36) return "all()";
  if (r < 39) return "global()";
  return RandomLabelAtom(rng);
}

Selector RandomSelector(Rng& rng) {
  if (rng.Chance(0.05)) return MustParse("");
  return MustParse(RandomSelectorText(rng));
}

std::string RandomNamespaceSelectorText(Rng& rng) {
  switch (rng.Int(0, 9)) {
    case 0: return "global()";
    case 1: return "all()";
    case 2: return "has(team)";
    case 3: return "team == 'red'";
    case 4: return "team != 'blue'";
    case 5: return "env == 'prod'";
    case 6:
      return "projectcalico.org/name in {" + Quote(rng.Pick(kNamespaces)) + ", " +
             Quote(rng.Pick(kNamespaces)) + "}";
    case 7: return "team == 'red' || env == 'dev'";
    default: return "projectcalico.org/name == " + Quote(rng.Pick(kNamespaces));
  }
}

std::string RandomServiceAccountSelectorText(Rng& rng) {
  switch (rng.Int(0, 6)) {
    // By the ServiceAccount's own labels (see the service accounts below).
    case 4: return "tier == 'gold'";
    case 5: return "!has(tier)";
    case 6: return "has(tier) || projectcalico.org/name == 'sa2'";
    case 0: return "all()";
    case 1: return "projectcalico.org/name in {'sa1', 'sa3'}";
    case 2: return "projectcalico.org/name != " + Quote(rng.Pick(kServiceAccounts));
    default: return "projectcalico.org/name == " + Quote(rng.Pick(kServiceAccounts));
  }
}

Labels RandomLabels(Rng& rng, bool extra) {
  Labels labels;
  for (size_t k = 0; k < kLabelKeys.size(); ++k) {
    if (rng.Chance(0.6)) labels[kLabelKeys[k]] = rng.Pick(kLabelValues[k]);
  }
  if (extra) {
    for (size_t k = 0; k < kExtraKeys.size(); ++k) {
      if (rng.Chance(0.4)) labels[kExtraKeys[k]] = rng.Pick(kExtraValues[k]);
    }
  }
  return labels;
}

// What a rule may refer to: decided once per ResourceSet.
struct World {
  std::vector<std::string> namespaces;
};

uint16_t RandomPortNumber(Rng& rng) {
  switch (rng.Int(0, 9)) {
    case 0: return 0;
    case 1: return 65535;
    case 2: return 1;
    case 3: return 53;
    case 4: return 80;
    case 5: return 443;
    case 6: return 8080;
    case 7: return 9090;
    default: return static_cast<uint16_t>(rng.Int(1, 65535));
  }
}

PortList RandomPortList(Rng& rng) {
  PortList list;
  const int n = static_cast<int>(rng.Int(1, 3));
  for (int i = 0; i < n; ++i) {
    switch (rng.Int(0, 2)) {
      case 0: {
        uint16_t p = RandomPortNumber(rng);
        list.ranges.push_back({p, p});
        break;
      }
      case 1: {
        uint16_t a = RandomPortNumber(rng);
        uint16_t b = static_cast<uint16_t>(std::min<int64_t>(65535, a + rng.Int(0, 2000)));
        list.ranges.push_back({a, b});
        break;
      }
      default: list.names.push_back(rng.Pick(kPortNames));
    }
  }
  return list;
}

std::vector<Cidr> RandomNets(Rng& rng, Family family) {
  std::vector<Cidr> nets;
  const int n = static_cast<int>(rng.Int(1, 2));
  for (int i = 0; i < n; ++i) {
    nets.push_back(MustCidr(rng.Pick(family == Family::kV4 ? kV4Nets : kV6Nets)));
  }
  return nets;
}

EntityRule RandomEntity(Rng& rng, const World& world, bool ports_allowed, Family net_family) {
  (void)world;
  EntityRule er;
  if (rng.Chance(0.2)) er.nets = RandomNets(rng, net_family);
  if (rng.Chance(0.1)) er.not_nets = RandomNets(rng, net_family);
  if (rng.Chance(0.35)) er.selector = RandomSelector(rng);
  if (rng.Chance(0.12)) er.not_selector = RandomSelector(rng);
  if (rng.Chance(0.15)) er.namespace_selector = MustParse(RandomNamespaceSelectorText(rng));
  if (rng.Chance(0.08)) {
    ServiceAccountMatch sa;
    if (rng.Chance(0.6)) {
      sa.names.push_back(rng.Pick(kServiceAccounts));
      if (rng.Chance(0.4)) sa.names.push_back(rng.Pick(kServiceAccounts));
    }
    if (sa.names.empty() || rng.Chance(0.3)) {
      sa.selector = MustParse(RandomServiceAccountSelectorText(rng));
    }
    er.service_accounts = sa;
  }
  if (ports_allowed && rng.Chance(0.35)) er.ports = RandomPortList(rng);
  if (ports_allowed && rng.Chance(0.1)) er.not_ports = RandomPortList(rng);
  return er;
}

IcmpMatch RandomIcmp(Rng& rng, bool v6) {
  IcmpMatch m;
  const std::vector<int> types =
      v6 ? std::vector<int>{128, 129, 135, 1} : std::vector<int>{0, 3, 8, 11};
  m.type = static_cast<uint8_t>(rng.Pick(types));
  if (rng.Chance(0.5)) m.code = static_cast<uint8_t>(rng.Int(0, 1));
  return m;
}

Rule RandomRule(Rng& rng, const World& world, bool k8s) {
  Rule r;
  if (k8s) {
    r.action = Action::kAllow;  // Kubernetes NetworkPolicy converts to Allow rules only
  } else {
    const int a = static_cast<int>(rng.Int(0, 99));
    r.action = a < 35   ? Action::kAllow
               : a < 60 ? Action::kDeny
               : a < 80 ? Action::kPass
                        : Action::kLog;
  }
  const int p = static_cast<int>(rng.Int(0, 99));
  if (p < 25) {
    // no protocol
  } else if (p < 50) {
    r.protocol = kTcp;
  } else if (p < 65) {
    r.protocol = kUdp;
  } else if (p < 70) {
    r.protocol = kSctp;
  } else if (p < 80) {
    r.protocol = kIcmp;
  } else if (p < 90) {
    r.protocol = kIcmpV6;
  } else {
    r.protocol = static_cast<uint8_t>(rng.Pick(std::vector<int>{47, 50, 136}));
  }
  if (rng.Chance(0.1))
    r.not_protocol = static_cast<uint8_t>(rng.Pick(std::vector<int>{6, 17, 1, 58, 47}));
  const bool icmp_proto = r.protocol == kIcmp || r.protocol == kIcmpV6;
  if (icmp_proto && rng.Chance(0.5)) r.icmp = RandomIcmp(rng, r.protocol == kIcmpV6);
  if (icmp_proto && rng.Chance(0.2)) r.not_icmp = RandomIcmp(rng, r.protocol == kIcmpV6);

  // One address family per rule for its nets; ipVersion and ICMP agree with it.
  Family family = rng.Chance(0.7) ? Family::kV4 : Family::kV6;
  if (r.protocol == kIcmp) family = Family::kV4;
  if (r.protocol == kIcmpV6) family = Family::kV6;
  if (rng.Chance(0.15)) r.ip_version = family == Family::kV4 ? 4 : 6;

  const bool ports_allowed = r.protocol == kTcp || r.protocol == kUdp || r.protocol == kSctp;
  r.source = RandomEntity(rng, world, ports_allowed && rng.Chance(0.5), family);
  r.destination = RandomEntity(rng, world, ports_allowed, family);
  if (!r.protocol.has_value() && rng.Chance(0.3)) {
    // A rule whose ports are all named needs no protocol: each named port
    // matches with its own.
    auto named_only = [&] {
      PortList list;
      list.names.push_back(rng.Pick(kPortNames));
      if (rng.Chance(0.3)) list.names.push_back(rng.Pick(kPortNames));
      return list;
    };
    if (rng.Chance(0.8)) r.destination.ports = named_only();
    if (rng.Chance(0.25)) r.destination.not_ports = named_only();
    if (rng.Chance(0.15)) r.source.ports = named_only();
  }
  if (k8s) {
    // The converter renders every peer with a pod selector that starts with
    // projectcalico.org/orchestrator == 'k8s' (k8sSelectorToCalico).
    for (EntityRule* peer : {&r.source, &r.destination}) {
      if (!peer->selector && !peer->namespace_selector) continue;
      std::string text = peer->selector ? peer->selector->text() : "";
      peer->selector = MustParse(text.empty() ? std::string(kK8sPods)
                                              : std::string(kK8sPods) + " && (" + text + ")");
    }
  }
  if (r.action == Action::kAllow && r.protocol == kTcp && rng.Chance(0.05)) {
    HttpMatch http;
    http.methods = {"GET"};
    http.paths.push_back({"", "/api"});
    r.http = http;
  }
  return r;
}

std::vector<Rule> RandomRules(Rng& rng, const World& world, bool k8s, int max_rules) {
  std::vector<Rule> rules;
  const int n = static_cast<int>(rng.Int(0, max_rules));
  for (int i = 0; i < n; ++i) rules.push_back(RandomRule(rng, world, k8s));
  return rules;
}

std::optional<double> RandomOrder(Rng& rng) {
  switch (rng.Int(0, 7)) {
    case 0:
    case 1: return std::nullopt;
    case 2: return 100.0;
    case 3: return 1.5;
    case 4: return 1000.0;
    default: return static_cast<double>(rng.Int(0, 3) * 10);
  }
}

// `types` as written; omitted = derived from which rule lists are present.
void SetTypes(Rng& rng, Policy* p) {
  switch (rng.Int(0, 3)) {
    case 0:  // omitted
      p->applies_egress = !p->egress.empty();
      p->applies_ingress = !p->ingress.empty() || p->egress.empty();
      break;
    case 1: p->applies_ingress = true, p->applies_egress = false; break;
    case 2: p->applies_ingress = false, p->applies_egress = true; break;
    default: p->applies_ingress = p->applies_egress = true; break;
  }
}

Policy RandomPolicyBody(Rng& rng, const World& world, PolicyKind kind,
                        const std::vector<Tier>& tiers) {
  Policy p;
  p.kind = kind;
  const bool k8s = kind == PolicyKind::kKubernetesNetworkPolicy;
  if (kind != PolicyKind::kGlobalNetworkPolicy) p.namespace_ = rng.Pick(world.namespaces);
  if (k8s) {
    p.tier = "default";
    p.order = 1000.0;
  } else {
    p.tier = rng.Chance(0.3) ? std::string("default") : rng.Pick(tiers).name;
    p.order = RandomOrder(rng);
  }
  p.selector = rng.Chance(0.3) ? MustParse("all()") : RandomSelector(rng);
  if (k8s && rng.Chance(0.8)) {
    p.selector = MustParse(p.selector.text().empty()
                               ? std::string(kK8sPods)
                               : std::string(kK8sPods) + " && (" + p.selector.text() + ")");
  }
  if (kind == PolicyKind::kGlobalNetworkPolicy && rng.Chance(0.2)) {
    p.namespace_selector = MustParse(RandomNamespaceSelectorText(rng));
  }
  if (!k8s && rng.Chance(0.1)) {
    p.service_account_selector = MustParse(RandomServiceAccountSelectorText(rng));
  }
  p.ingress = RandomRules(rng, world, k8s, 4);
  p.egress = RandomRules(rng, world, k8s, 4);
  SetTypes(rng, &p);
  return p;
}

std::string AddrString(const IpAddr& a) { return a.ToString(); }

}  // namespace

ResourceSet RandomResources(uint64_t seed) {
  Rng rng(seed);
  ResourceSet rs;
  World world;

  // Namespaces: 2-4; most have a Namespace resource with labels.
  const int num_ns = static_cast<int>(rng.Int(2, 4));
  for (int i = 0; i < num_ns; ++i) world.namespaces.push_back(kNamespaces[static_cast<size_t>(i)]);
  for (const auto& ns : world.namespaces) {
    if (!rng.Chance(0.75)) continue;
    Namespace n;
    n.name = ns;
    if (rng.Chance(0.6)) n.labels["team"] = rng.Chance(0.5) ? "red" : "blue";
    if (rng.Chance(0.6)) n.labels["env"] = rng.Chance(0.5) ? "prod" : "dev";
    rs.namespaces.push_back(n);
  }
  // ServiceAccounts with labels for some (namespace, name) pairs; the others
  // stand for accounts with no labels.
  for (const auto& ns : world.namespaces) {
    for (const auto& name : kServiceAccounts) {
      if (!rng.Chance(0.4)) continue;
      ServiceAccount sa;
      sa.name = name;
      sa.namespace_ = ns;
      if (rng.Chance(0.7)) sa.labels["tier"] = rng.Chance(0.5) ? "gold" : "silver";
      rs.service_accounts.push_back(sa);
    }
  }

  // Tiers: 1-5 plus default (implicit, or sometimes explicit).
  const int num_tiers = static_cast<int>(rng.Int(1, 5));
  for (int i = 0; i < num_tiers; ++i) {
    Tier t;
    t.name = absl::StrCat("tier", i);
    switch (rng.Int(0, 5)) {
      case 0: t.order = std::nullopt; break;
      case 1: t.order = 1e6; break;  // ties with default
      case 2: t.order = 2e6; break;  // after default
      default: t.order = static_cast<double>(rng.Int(0, 3) * 10); break;
    }
    t.default_action = rng.Chance(0.5) ? Action::kPass : Action::kDeny;
    rs.tiers.push_back(t);
  }
  if (rng.Chance(0.15)) {
    Tier def;
    def.name = "default";
    def.order = rng.Chance(0.5) ? std::optional<double>(1e6) : std::optional<double>(5.0);
    def.default_action = rng.Chance(0.5) ? Action::kPass : Action::kDeny;
    rs.tiers.push_back(def);
  }
  std::vector<Tier> tiers_for_policies = rs.tiers;

  // Profiles: 0-3 plain ones, sometimes a kns.<ns> override.
  const int num_profiles = static_cast<int>(rng.Int(0, 3));
  std::vector<std::string> profile_names;
  for (int i = 0; i < num_profiles + 1; ++i) {
    Profile prof;
    if (i == num_profiles) {
      if (!rng.Chance(0.25)) break;
      prof.name = "kns." + rng.Pick(world.namespaces);
    } else {
      prof.name = absl::StrCat("prof", i);
      profile_names.push_back(prof.name);
    }
    if (rng.Chance(0.5)) {
      prof.labels_to_apply[rng.Chance(0.5) ? "zone" : "app"] = rng.Chance(0.5) ? "dmz" : "web";
    }
    // No Pass in profiles: there is no later stage to pass to.
    for (auto* rules : {&prof.ingress, &prof.egress}) {
      *rules = RandomRules(rng, world, false, 3);
      for (auto& r : *rules) {
        if (r.action == Action::kPass) r.action = Action::kDeny;
      }
    }
    rs.profiles.push_back(prof);
  }

  // Endpoints: unique addresses drawn near the nets in kV4Nets / kV6Nets.
  std::set<IpAddr> used;
  auto fresh_v4 = [&]() {
    while (true) {
      uint32_t base = 0xC6120000u;  // 198.18.0.0
      uint32_t host =
          static_cast<uint32_t>(rng.Chance(0.8) ? rng.Int(1, 300) : rng.Int(1, 0x1ffff));
      IpAddr a = IpAddr::V4(base + host);
      if (used.insert(a).second) return a;
    }
  };
  auto fresh_v6 = [&]() {
    while (true) {
      U128 base = (U128{0x20010db8} << 96);
      U128 host = static_cast<U128>(rng.Int(1, 300));
      if (rng.Chance(0.2)) host |= U128{1} << 80;  // 2001:db8:1::/48
      IpAddr a = IpAddr::V6(base | host);
      if (used.insert(a).second) return a;
    }
  };
  const int num_eps = static_cast<int>(rng.Int(5, 40));
  for (int i = 0; i < num_eps; ++i) {
    Endpoint e;
    const bool host = rng.Chance(0.2);
    e.kind = host ? EndpointKind::kHost : EndpointKind::kWorkload;
    e.labels = RandomLabels(rng, false);
    if (host) {
      e.name = absl::StrCat("host", i);
      e.node = e.name;
      e.interface_name = "eth0";
    } else {
      e.name = absl::StrCat("pod", i);
      e.namespace_ = rng.Pick(world.namespaces);
      e.node = "node1";
      e.interface_name = absl::StrCat("cali", i);
      if (rng.Chance(0.5)) e.service_account = rng.Pick(kServiceAccounts);
      // spec.orchestrator: the loader's default k8s for most, some other.
      e.orchestrator = rng.Chance(0.85) ? "k8s" : "openstack";
    }
    const int fam = static_cast<int>(rng.Int(0, 9));
    if (fam < 6) {
      e.ips.push_back(fresh_v4());
    } else if (fam < 8) {
      e.ips.push_back(fresh_v6());
    } else {
      e.ips.push_back(fresh_v4());
      e.ips.push_back(fresh_v6());
    }
    std::vector<std::string> names = kPortNames;
    const int num_ports = static_cast<int>(rng.Int(0, 3));
    for (int p = 0; p < num_ports; ++p) {
      const size_t idx = static_cast<size_t>(rng.Int(0, static_cast<int64_t>(names.size()) - 1));
      NamedPort np;
      np.name = names[idx];
      names.erase(names.begin() + static_cast<std::ptrdiff_t>(idx));
      np.protocol = static_cast<uint8_t>(rng.Pick(std::vector<int>{kTcp, kTcp, kUdp, kSctp}));
      np.port = rng.Chance(0.6)
                    ? static_cast<uint16_t>(rng.Pick(std::vector<int>{80, 8080, 53, 9090, 443}))
                    : static_cast<uint16_t>(rng.Int(1, 65535));
      e.ports.push_back(np);
    }
    // Profiles: the Kubernetes default for most workloads, explicit lists otherwise.
    if (!host && rng.Chance(0.7)) {
      e.profiles.push_back("kns." + e.namespace_);
      if (!e.service_account.empty()) {
        e.profiles.push_back("ksa." + e.namespace_ + "." + e.service_account);
      }
    } else if (host ? rng.Chance(0.5) : true) {
      for (const auto& name : profile_names) {
        if (rng.Chance(0.5)) e.profiles.push_back(name);
      }
      if (!host && rng.Chance(0.5)) e.profiles.push_back("kns." + e.namespace_);
      if (rng.Chance(0.3)) std::reverse(e.profiles.begin(), e.profiles.end());
    }
    rs.endpoints.push_back(e);
  }

  // Network sets: 0-4, global or namespaced.
  const int num_sets = static_cast<int>(rng.Int(0, 4));
  for (int i = 0; i < num_sets; ++i) {
    NetworkSet ns;
    ns.global = rng.Chance(0.5);
    ns.name = absl::StrCat("netset", i);
    if (!ns.global) ns.namespace_ = rng.Pick(world.namespaces);
    ns.labels = RandomLabels(rng, true);
    const int n = static_cast<int>(rng.Int(1, 3));
    for (int k = 0; k < n; ++k) {
      ns.nets.push_back(MustCidr(rng.Chance(0.75) ? rng.Pick(kV4Nets) : rng.Pick(kV6Nets)));
    }
    rs.network_sets.push_back(ns);
  }

  // Policies: 1-30, names unique; some staged (fresh, or shadowing an
  // enforced policy's identity to replace or delete it).
  const int num_policies = static_cast<int>(rng.Int(1, 30));
  std::vector<size_t> enforced_idx;
  std::set<std::tuple<int, std::string, std::string, std::string>> staged_ids;
  for (int i = 0; i < num_policies; ++i) {
    const int k = static_cast<int>(rng.Int(0, 9));
    const PolicyKind kind = k < 4   ? PolicyKind::kGlobalNetworkPolicy
                            : k < 8 ? PolicyKind::kNetworkPolicy
                                    : PolicyKind::kKubernetesNetworkPolicy;
    Policy p = RandomPolicyBody(rng, world, kind, tiers_for_policies);
    p.name = absl::StrCat("pol", i);
    if (rng.Chance(0.2)) {
      p.staged = true;
      const int a = static_cast<int>(rng.Int(0, 9));
      p.staged_action = a < 6   ? StagedAction::kSet
                        : a < 8 ? StagedAction::kDelete
                        : a < 9 ? StagedAction::kLearn
                                : StagedAction::kIgnore;
      if (!enforced_idx.empty() && rng.Chance(0.6)) {
        // Take over an enforced policy's identity.
        const Policy& target = rs.policies[rng.Pick(enforced_idx)];
        Policy shadow = RandomPolicyBody(rng, world, target.kind, tiers_for_policies);
        shadow.name = target.name;
        shadow.namespace_ = target.namespace_;
        shadow.tier = target.tier;
        shadow.staged = true;
        shadow.staged_action = p.staged_action;
        p = shadow;
      }
      if (p.staged_action == StagedAction::kDelete) {
        // Calico's staged deletes carry no spec beyond identity.
        p.ingress.clear();
        p.egress.clear();
      }
      auto id = std::make_tuple(static_cast<int>(p.kind), p.namespace_, p.tier, p.name);
      if (!staged_ids.insert(id).second) continue;  // one staged change per identity
    } else {
      enforced_idx.push_back(rs.policies.size());
    }
    rs.policies.push_back(p);
  }
  return rs;
}

std::vector<PacketKey> RandomPackets(const ResourceSet& rs, uint64_t seed, int count) {
  Rng rng(seed ^ 0x5bd1e995ull);
  // Interesting addresses and ports, gathered once.
  std::vector<IpAddr> ep_v4, ep_v6;
  std::vector<uint16_t> named_ports;
  for (const auto& e : rs.endpoints) {
    for (const auto& ip : e.ips) (ip.family == Family::kV4 ? ep_v4 : ep_v6).push_back(ip);
    for (const auto& np : e.ports) named_ports.push_back(np.port);
  }
  std::vector<Cidr> nets;
  std::vector<uint16_t> port_edges = {0, 1, 65535};
  std::vector<IcmpMatch> icmps;
  auto scan_entity = [&](const EntityRule& er) {
    for (const auto& c : er.nets) nets.push_back(c);
    for (const auto& c : er.not_nets) nets.push_back(c);
    for (const auto* list : {&er.ports, &er.not_ports}) {
      for (const auto& r : list->ranges) {
        for (int d : {-1, 0}) port_edges.push_back(static_cast<uint16_t>(r.first + d));
        for (int d : {0, 1}) port_edges.push_back(static_cast<uint16_t>(r.last + d));
      }
    }
  };
  auto scan_rules = [&](const std::vector<Rule>& rules) {
    for (const auto& r : rules) {
      scan_entity(r.source);
      scan_entity(r.destination);
      if (r.icmp) icmps.push_back(*r.icmp);
      if (r.not_icmp) icmps.push_back(*r.not_icmp);
    }
  };
  for (const auto& p : rs.policies) scan_rules(p.ingress), scan_rules(p.egress);
  for (const auto& p : rs.profiles) scan_rules(p.ingress), scan_rules(p.egress);
  for (const auto& ns : rs.network_sets) {
    for (const auto& c : ns.nets) nets.push_back(c);
  }

  auto pick_addr = [&](Family f) -> IpAddr {
    const auto& eps = f == Family::kV4 ? ep_v4 : ep_v6;
    const int r = static_cast<int>(rng.Int(0, 99));
    if (r < 65 && !eps.empty()) return rng.Pick(eps);
    if (r < 84) {
      std::vector<Cidr> fam_nets;
      for (const auto& c : nets) {
        if (c.addr.family == f) fam_nets.push_back(c);
      }
      if (!fam_nets.empty()) {
        const Cidr& c = rng.Pick(fam_nets);
        const U128 max = dp::classify::MaxAddress(f);
        switch (rng.Int(0, 4)) {
          case 0: return {f, c.First()};
          case 1: return {f, c.Last()};
          case 2: return {f, c.First() == 0 ? c.First() : c.First() - 1};
          case 3: return {f, c.Last() == max ? c.Last() : c.Last() + 1};
          default: {
            const U128 span = c.Last() - c.First();
            // A random 128-bit offset, reduced into the net (span + 1 only
            // overflows for ::/0, whose span is every address anyway).
            const U128 raw = (static_cast<U128>(rng.Raw()) << 64) | rng.Raw();
            const U128 off = span == ~U128{0} ? raw : raw % (span + 1);
            return {f, c.First() + off};
          }
        }
      }
    }
    if (r < 95) {
      // Unknown, but inside the test ranges.
      if (f == Family::kV4)
        return IpAddr::V4(0xC6120000u + static_cast<uint32_t>(rng.Int(0, 0x1ffff)));
      return IpAddr::V6((U128{0x20010db8} << 96) | static_cast<U128>(rng.Int(0, 400)) |
                        (rng.Chance(0.3) ? U128{1} << 80 : U128{0}));
    }
    if (f == Family::kV4)
      return IpAddr::V4(0x0A000000u + static_cast<uint32_t>(rng.Int(0, 0xffff)));
    return IpAddr::V6((U128{0xfd00} << 112) | static_cast<U128>(rng.Int(0, 0xffff)));
  };
  auto pick_port = [&](bool dst) -> uint16_t {
    const int r = static_cast<int>(rng.Int(0, 99));
    if (r < (dst ? 30 : 15) && !named_ports.empty()) return rng.Pick(named_ports);
    if (r < 65) return rng.Pick(port_edges);
    return static_cast<uint16_t>(rng.Int(0, 65535));
  };

  std::vector<PacketKey> packets;
  packets.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    PacketKey k;
    const Family f = (ep_v6.empty() || rng.Chance(0.7)) ? Family::kV4 : Family::kV6;
    k.src = pick_addr(f);
    k.dst = pick_addr(f);
    const int r = static_cast<int>(rng.Int(0, 99));
    if (r < 35) {
      k.proto = kTcp;
    } else if (r < 55) {
      k.proto = kUdp;
    } else if (r < 60) {
      k.proto = kSctp;
    } else if (r < 85) {
      k.proto = f == Family::kV4 ? kIcmp : kIcmpV6;
      if (rng.Chance(0.05)) k.proto = f == Family::kV4 ? kIcmpV6 : kIcmp;
    } else {
      k.proto = static_cast<uint8_t>(rng.Pick(std::vector<int>{47, 50, 136, 0, 255}));
    }
    if (k.proto == kIcmp || k.proto == kIcmpV6) {
      if (!icmps.empty() && rng.Chance(0.6)) {
        const IcmpMatch& m = rng.Pick(icmps);
        k.src_port = m.type.value_or(0);
        k.dst_port = m.code.has_value() ? *m.code : static_cast<uint16_t>(rng.Int(0, 2));
        if (rng.Chance(0.2)) k.dst_port = static_cast<uint16_t>(k.dst_port + 1);
      } else {
        k.src_port = static_cast<uint16_t>(rng.Int(0, 255));
        k.dst_port = static_cast<uint16_t>(rng.Int(0, 3));
      }
    } else if (k.proto == kTcp || k.proto == kUdp || k.proto == kSctp) {
      k.src_port = pick_port(false);
      k.dst_port = pick_port(true);
    } else if (rng.Chance(0.3)) {
      // Port-less protocols: ports stay 0 normally; sometimes junk, which no
      // rule may look at.
      k.src_port = pick_port(false);
      k.dst_port = pick_port(true);
    }
    packets.push_back(k);
  }
  return packets;
}

// ---------------------------------------------------------------------------
// Dump.
// ---------------------------------------------------------------------------
namespace {

// Local, so the generator does not link the model library (and its YAML loader).
const char* ActionStr(Action a) {
  switch (a) {
    case Action::kAllow: return "Allow";
    case Action::kDeny: return "Deny";
    case Action::kPass: return "Pass";
    case Action::kLog: return "Log";
  }
  return "?";
}

std::string LabelsStr(const Labels& l) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : l) parts.push_back(k + ": " + v);
  return "{" + absl::StrJoin(parts, ", ") + "}";
}

std::string OrderStr(const std::optional<double>& o) {
  return o.has_value() ? absl::StrCat(*o) : "unset";
}

std::string PortsStr(const PortList& p) {
  std::vector<std::string> parts;
  for (const auto& r : p.ranges) {
    parts.push_back(r.first == r.last ? absl::StrCat(r.first) : absl::StrCat(r.first, ":", r.last));
  }
  for (const auto& n : p.names) parts.push_back(n);
  return "[" + absl::StrJoin(parts, ", ") + "]";
}

std::string NetsStr(const std::vector<Cidr>& nets) {
  std::vector<std::string> parts;
  for (const auto& c : nets) parts.push_back(c.ToString());
  return "[" + absl::StrJoin(parts, ", ") + "]";
}

std::string IcmpStr(const IcmpMatch& m) {
  std::string s = "{";
  if (m.type) absl::StrAppend(&s, "type: ", *m.type);
  if (m.code) absl::StrAppend(&s, ", code: ", *m.code);
  return s + "}";
}

void DumpEntity(std::string* out, const char* name, const EntityRule& er, const std::string& ind) {
  std::string body;
  if (!er.nets.empty()) absl::StrAppend(&body, ind, "  nets: ", NetsStr(er.nets), "\n");
  if (!er.not_nets.empty()) absl::StrAppend(&body, ind, "  notNets: ", NetsStr(er.not_nets), "\n");
  if (er.selector) absl::StrAppend(&body, ind, "  selector: \"", er.selector->text(), "\"\n");
  if (er.not_selector) {
    absl::StrAppend(&body, ind, "  notSelector: \"", er.not_selector->text(), "\"\n");
  }
  if (er.namespace_selector) {
    absl::StrAppend(&body, ind, "  namespaceSelector: \"", er.namespace_selector->text(), "\"\n");
  }
  if (!er.ports.empty()) absl::StrAppend(&body, ind, "  ports: ", PortsStr(er.ports), "\n");
  if (!er.not_ports.empty()) {
    absl::StrAppend(&body, ind, "  notPorts: ", PortsStr(er.not_ports), "\n");
  }
  if (er.service_accounts) {
    absl::StrAppend(&body, ind, "  serviceAccounts: {names: [",
                    absl::StrJoin(er.service_accounts->names, ", "), "]");
    if (er.service_accounts->selector) {
      absl::StrAppend(&body, ", selector: \"", er.service_accounts->selector->text(), "\"");
    }
    absl::StrAppend(&body, "}\n");
  }
  if (!body.empty()) absl::StrAppend(out, ind, name, ":\n", body);
}

void DumpRules(std::string* out, const char* name, const std::vector<Rule>& rules,
               const std::string& ind) {
  if (rules.empty()) return;
  absl::StrAppend(out, ind, name, ":\n");
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    const std::string in = ind + "    ";
    absl::StrAppend(out, ind, "  - action: ", ActionStr(r.action), "   # rule ", i, "\n");
    if (r.protocol) absl::StrAppend(out, in, "protocol: ", *r.protocol, "\n");
    if (r.not_protocol) absl::StrAppend(out, in, "notProtocol: ", *r.not_protocol, "\n");
    if (r.icmp) absl::StrAppend(out, in, "icmp: ", IcmpStr(*r.icmp), "\n");
    if (r.not_icmp) absl::StrAppend(out, in, "notICMP: ", IcmpStr(*r.not_icmp), "\n");
    if (r.ip_version) absl::StrAppend(out, in, "ipVersion: ", *r.ip_version, "\n");
    if (r.http) absl::StrAppend(out, in, "http: {methods: [GET], paths: [{prefix: /api}]}\n");
    DumpEntity(out, "source", r.source, in);
    DumpEntity(out, "destination", r.destination, in);
  }
}

const char* KindStr(const Policy& p) {
  switch (p.kind) {
    case PolicyKind::kNetworkPolicy: return p.staged ? "StagedNetworkPolicy" : "NetworkPolicy";
    case PolicyKind::kGlobalNetworkPolicy:
      return p.staged ? "StagedGlobalNetworkPolicy" : "GlobalNetworkPolicy";
    case PolicyKind::kKubernetesNetworkPolicy:
      return p.staged ? "StagedKubernetesNetworkPolicy" : "KubernetesNetworkPolicy";
  }
  return "?";
}

const char* StagedActionStr(StagedAction a) {
  switch (a) {
    case StagedAction::kSet: return "Set";
    case StagedAction::kDelete: return "Delete";
    case StagedAction::kLearn: return "Learn";
    case StagedAction::kIgnore: return "Ignore";
  }
  return "?";
}

}  // namespace

std::string DumpResources(const ResourceSet& rs) {
  std::string out;
  for (const auto& n : rs.namespaces) {
    absl::StrAppend(&out, "- kind: Namespace\n  name: ", n.name,
                    "\n  labels: ", LabelsStr(n.labels), "\n");
  }
  for (const auto& sa : rs.service_accounts) {
    absl::StrAppend(&out, "- kind: ServiceAccount\n  name: ", sa.namespace_, "/", sa.name,
                    "\n  labels: ", LabelsStr(sa.labels), "\n");
  }
  for (const auto& t : rs.tiers) {
    absl::StrAppend(&out, "- kind: Tier\n  name: ", t.name, "\n  order: ", OrderStr(t.order),
                    "\n  defaultAction: ", ActionStr(t.default_action), "\n");
  }
  for (const auto& p : rs.profiles) {
    absl::StrAppend(&out, "- kind: Profile\n  name: ", p.name,
                    "\n  labelsToApply: ", LabelsStr(p.labels_to_apply), "\n");
    DumpRules(&out, "ingress", p.ingress, "  ");
    DumpRules(&out, "egress", p.egress, "  ");
  }
  for (const auto& e : rs.endpoints) {
    std::vector<std::string> ips, ports;
    for (const auto& ip : e.ips) ips.push_back(AddrString(ip));
    for (const auto& np : e.ports)
      ports.push_back(absl::StrCat(np.name, "/", np.protocol, "/", np.port));
    absl::StrAppend(
        &out, "- kind: ", e.kind == EndpointKind::kWorkload ? "WorkloadEndpoint" : "HostEndpoint",
        "\n  name: ", e.name, "\n");
    if (!e.namespace_.empty()) absl::StrAppend(&out, "  namespace: ", e.namespace_, "\n");
    absl::StrAppend(&out, "  labels: ", LabelsStr(e.labels), "\n  ips: [", absl::StrJoin(ips, ", "),
                    "]\n");
    if (!ports.empty()) absl::StrAppend(&out, "  ports: [", absl::StrJoin(ports, ", "), "]\n");
    if (!e.orchestrator.empty()) absl::StrAppend(&out, "  orchestrator: ", e.orchestrator, "\n");
    if (!e.service_account.empty()) {
      absl::StrAppend(&out, "  serviceAccount: ", e.service_account, "\n");
    }
    absl::StrAppend(&out, "  profiles: [", absl::StrJoin(e.profiles, ", "), "]\n");
  }
  for (const auto& ns : rs.network_sets) {
    absl::StrAppend(&out, "- kind: ", ns.global ? "GlobalNetworkSet" : "NetworkSet",
                    "\n  name: ", ns.name, "\n");
    if (!ns.namespace_.empty()) absl::StrAppend(&out, "  namespace: ", ns.namespace_, "\n");
    absl::StrAppend(&out, "  labels: ", LabelsStr(ns.labels), "\n  nets: ", NetsStr(ns.nets), "\n");
  }
  for (const auto& p : rs.policies) {
    absl::StrAppend(&out, "- kind: ", KindStr(p), "\n  name: ", p.name, "\n");
    if (!p.namespace_.empty()) absl::StrAppend(&out, "  namespace: ", p.namespace_, "\n");
    if (p.staged) absl::StrAppend(&out, "  stagedAction: ", StagedActionStr(p.staged_action), "\n");
    absl::StrAppend(&out, "  tier: ", p.tier, "\n  order: ", OrderStr(p.order), "\n  selector: \"",
                    p.selector.text(), "\"\n");
    if (p.namespace_selector) {
      absl::StrAppend(&out, "  namespaceSelector: \"", p.namespace_selector->text(), "\"\n");
    }
    if (p.service_account_selector) {
      absl::StrAppend(&out, "  serviceAccountSelector: \"", p.service_account_selector->text(),
                      "\"\n");
    }
    std::vector<std::string> types;
    if (p.applies_ingress) types.push_back("Ingress");
    if (p.applies_egress) types.push_back("Egress");
    absl::StrAppend(&out, "  types: [", absl::StrJoin(types, ", "), "]\n");
    DumpRules(&out, "ingress", p.ingress, "  ");
    DumpRules(&out, "egress", p.egress, "  ");
  }
  return out;
}

}  // namespace tierwall::test
