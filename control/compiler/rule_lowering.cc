#include "control/compiler/rule_lowering.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "control/compiler/entity_selector.h"

namespace tierwall::ctl::compiler {

namespace {

using dp::classify::Family;
using dp::classify::RawBox;
using dp::classify::U128;

constexpr uint8_t kTcp = 6, kUdp = 17, kSctp = 132;

// Matches on one side of a rule: the addresses, and which ports with them.
struct SideTerm {
  AddressSet addresses;
  PortSet ports;
};

PortSet PortsOf(const std::vector<model::PortRange>& ranges) {
  PortSet s(65535);
  for (const auto& r : ranges) s.Add(r.first, r.last);
  return s;
}

PortSet One(uint32_t v, uint32_t max) {
  PortSet s(max);
  s.Add(v, v);
  return s;
}

// (addresses, port) pairs for the named ports `names` on `endpoints`, for
// protocol `protocol`.
std::vector<std::pair<AddressSet, uint32_t>> ResolveNamedPorts(
    const std::vector<std::string>& names, const std::vector<uint32_t>& endpoints, uint8_t protocol,
    const ResourceIndex& index) {
  std::vector<std::pair<AddressSet, uint32_t>> out;
  if (names.empty()) return out;
  for (uint32_t i : endpoints) {
    const model::Endpoint& e = index.resources().endpoints[i];
    for (const model::NamedPort& np : e.ports) {
      if (np.protocol != protocol) continue;
      bool wanted = false;
      for (const auto& n : names) wanted |= (n == np.name);
      if (!wanted) continue;
      AddressSet addrs;
      for (const auto& ip : e.ips) addrs.Add(ip);
      out.emplace_back(std::move(addrs), np.port);
    }
  }
  return out;
}

// `protocol` is the rule's protocol, or, for a rule whose ports are all named
// and that has none, the one protocol this lowering pass is for: named ports
// carry their own protocol (Felix's named-port IP sets hold ip,proto,port).
std::vector<SideTerm> LowerSide(const model::EntityRule& side, std::optional<uint8_t> protocol,
                                const Scope& scope, const ResourceIndex& index) {
  AddressSet addrs = AddressSet::All();
  if (!side.nets.empty()) {
    AddressSet nets;
    for (const auto& n : side.nets) nets.Add(n);
    addrs = addrs.Intersect(nets);
  }
  if (!side.not_nets.empty()) {
    AddressSet nets;
    for (const auto& n : side.not_nets) nets.Add(n);
    addrs = addrs.Subtract(nets);
  }
  const EntitySelector sel = EntitySelector::ForRuleSide(side, scope);
  if (sel.has_positive()) {
    addrs = addrs.Intersect(index.AddressesSelected(sel));
  } else if (sel.negated()) {
    addrs = addrs.Subtract(index.AddressesMatching(*sel.negated()));
  }
  if (addrs.empty()) return {};

  std::vector<SideTerm> terms;
  PortSet numeric = side.ports.empty() ? AllPorts() : PortsOf(side.ports.ranges);
  PortSet not_numeric = PortsOf(side.not_ports.ranges);
  // Named ports, grouped by port number: one term per distinct port, holding
  // every address that names it (not one term per endpoint). They resolve on
  // the endpoints of the positive selector (every endpoint when there is
  // none), for notPorts too (rule_scanner.go, namedPortsToIPSets).
  std::map<uint32_t, AddressSet> named, not_named;
  if (!side.ports.names.empty() || !side.not_ports.names.empty()) {
    const std::vector<uint32_t> endpoints = index.EndpointsSelected(sel);
    for (auto& [a, port] : ResolveNamedPorts(side.ports.names, endpoints, *protocol, index))
      named[port] = named[port].Union(a);
    for (auto& [a, port] : ResolveNamedPorts(side.not_ports.names, endpoints, *protocol, index))
      not_named[port] = not_named[port].Union(a);
  }

  terms.push_back({addrs, numeric.Subtract(not_numeric)});
  for (const auto& [port, named_addrs] : named)
    terms.push_back({addrs.Intersect(named_addrs), One(port, 65535).Subtract(not_numeric)});
  // Named notPorts exclude (address, port) pairs. A term (A, P) becomes
  // (A, P without the excluded ports) plus, for each excluded port q in P,
  // (A without q's addresses, {q}): linear in the number of excluded ports.
  if (!not_named.empty()) {
    PortSet excluded(65535);
    for (const auto& [port, _] : not_named) excluded.Add(port, port);
    std::vector<SideTerm> split;
    for (const SideTerm& t : terms) {
      split.push_back({t.addresses, t.ports.Subtract(excluded)});
      for (const auto& [port, not_addrs] : not_named)
        if (t.ports.Contains(port))
          split.push_back({t.addresses.Subtract(not_addrs), One(port, 65535)});
    }
    terms.swap(split);
  }
  std::erase_if(terms, [](const SideTerm& t) { return t.addresses.empty() || t.ports.empty(); });
  return terms;
}

// ICMP type/code criteria as (type set, code set) pairs; one all/all pair
// when the rule has none.
std::vector<std::pair<PortSet, PortSet>> IcmpPairs(const model::Rule& rule) {
  std::vector<std::pair<PortSet, PortSet>> pairs{{PortSet::Full(255), PortSet::Full(255)}};
  auto criteria = [](const model::IcmpMatch& m) {
    PortSet types = m.type ? One(*m.type, 255) : PortSet::Full(255);
    PortSet codes = m.code ? One(*m.code, 255) : PortSet::Full(255);
    return std::make_pair(types, codes);
  };
  if (rule.icmp) {
    auto [t, c] = criteria(*rule.icmp);
    for (auto& p : pairs) p = {p.first.Intersect(t), p.second.Intersect(c)};
  }
  if (rule.not_icmp) {
    auto [t, c] = criteria(*rule.not_icmp);
    std::vector<std::pair<PortSet, PortSet>> out;
    for (const auto& p : pairs) {
      out.push_back({p.first.Subtract(t), p.second});
      out.push_back({p.first.Intersect(t), p.second.Subtract(c)});
    }
    pairs.swap(out);
  }
  std::erase_if(pairs, [](const auto& p) { return p.first.empty() || p.second.empty(); });
  return pairs;
}

// One lowering pass over `protocols`; `named_protocol` is the protocol named
// ports resolve with (the rule's own, or the pass's). Appends to `boxes` and
// returns false when that would exceed max_boxes.
bool LowerPass(const model::Rule& rule, const PortSet& protocols,
               std::optional<uint8_t> named_protocol, const Scope& scope,
               const ResourceIndex& index, const LocalSide& local, size_t max_boxes,
               std::vector<RawBox>& boxes) {
  if (protocols.empty()) return true;
  std::vector<Family> families;
  if (!rule.ip_version || *rule.ip_version == 4) families.push_back(Family::kV4);
  if (!rule.ip_version || *rule.ip_version == 6) families.push_back(Family::kV6);

  std::vector<SideTerm> src = LowerSide(rule.source, named_protocol, scope, index);
  std::vector<SideTerm> dst = LowerSide(rule.destination, named_protocol, scope, index);
  for (SideTerm& t : local.is_destination ? dst : src)
    t.addresses = t.addresses.Intersect(local.addresses);
  const bool icmp = rule.icmp || rule.not_icmp;
  std::vector<std::pair<PortSet, PortSet>> icmp_pairs = IcmpPairs(rule);

  auto emit = [&](Family f, const Interval<U128>& s, const Interval<U128>& d,
                  const PortSet& src_ports, const PortSet& dst_ports) -> bool {
    for (const auto& p : protocols.items())
      for (const auto& sp : src_ports.items())
        for (const auto& dp : dst_ports.items()) {
          if (boxes.size() >= max_boxes) return false;
          RawBox b;
          b.family = f;
          b.src_lo = s.lo, b.src_hi = s.hi;
          b.dst_lo = d.lo, b.dst_hi = d.hi;
          b.proto_lo = static_cast<uint8_t>(p.lo), b.proto_hi = static_cast<uint8_t>(p.hi);
          b.src_port_lo = static_cast<uint16_t>(sp.lo),
          b.src_port_hi = static_cast<uint16_t>(sp.hi);
          b.dst_port_lo = static_cast<uint16_t>(dp.lo),
          b.dst_port_hi = static_cast<uint16_t>(dp.hi);
          boxes.push_back(b);
        }
    return true;
  };
  for (Family f : families)
    for (const SideTerm& st : src)
      for (const SideTerm& dt : dst)
        for (const auto& s : st.addresses.of(f).items())
          for (const auto& d : dt.addresses.of(f).items()) {
            bool ok = true;
            if (icmp) {
              for (const auto& [types, codes] : icmp_pairs) ok &= emit(f, s, d, types, codes);
            } else {
              ok = emit(f, s, d, st.ports, dt.ports);
            }
            if (!ok) return false;
          }
  return true;
}

bool HasNamedPorts(const model::Rule& rule) {
  for (const model::EntityRule* side : {&rule.source, &rule.destination})
    if (!side->ports.names.empty() || !side->not_ports.names.empty()) return true;
  return false;
}

}  // namespace

absl::StatusOr<std::vector<RawBox>> LowerRule(const model::Rule& rule, const Scope& scope,
                                              const ResourceIndex& index, const LocalSide& local,
                                              size_t max_boxes) {
  PortSet protocols = PortSet::Full(255);
  if (rule.protocol) protocols = protocols.Intersect(One(*rule.protocol, 255));
  if (rule.not_protocol) protocols = protocols.Subtract(One(*rule.not_protocol, 255));

  std::vector<RawBox> boxes;
  bool ok = true;
  if (rule.protocol || !HasNamedPorts(rule)) {
    ok = LowerPass(rule, protocols, rule.protocol, scope, index, local, max_boxes, boxes);
  } else {
    // No protocol and (the loader allows nothing else then) only named ports:
    // a named port matches with its own protocol, so each protocol a named
    // port can have is its own pass. With named notPorts only, the rule also
    // matches every other protocol, where those exclude nothing.
    PortSet port_protocols(255);
    for (uint8_t p : {kTcp, kUdp, kSctp}) {
      port_protocols.Add(p, p);
      ok = ok && LowerPass(rule, protocols.Intersect(One(p, 255)), p, scope, index, local,
                           max_boxes, boxes);
    }
    if (rule.source.ports.names.empty() && rule.destination.ports.names.empty()) {
      model::Rule rest = rule;
      rest.source.not_ports = {};
      rest.destination.not_ports = {};
      ok = ok && LowerPass(rest, protocols.Subtract(port_protocols), std::nullopt, scope, index,
                           local, max_boxes, boxes);
    }
  }
  if (!ok) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rule expands to more than ", max_boxes,
                     " classifier boxes; split it or use network sets"));
  }
  return boxes;
}

}  // namespace tierwall::ctl::compiler
