#include "control/trace/trace.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace tierwall::ctl::trace {

namespace {

using dp::classify::DirectionTrace;
using dp::classify::Program;
using dp::classify::RuleAction;

std::vector<std::string> TraceStrings(const Program& program, const uint32_t* ids, uint8_t count) {
  std::vector<std::string> out;
  for (uint8_t i = 0; i < count; ++i) {
    const auto& rule = program.rules[ids[i]];
    const auto& policy = program.policies[rule.policy];
    out.push_back(std::to_string(i) + "|" + program.tiers[rule.tier].name + "|" +
                  policy.trace_name + "|" + dp::classify::RuleActionName(rule.action) + "|" +
                  std::to_string(rule.rule_index));
  }
  return out;
}

std::optional<DirectionReport> Report(const Program& program, const DirectionTrace& t) {
  if (!t.evaluated) return std::nullopt;
  DirectionReport r;
  r.verdict = dp::classify::RuleActionName(t.verdict);
  r.pending_verdict = dp::classify::RuleActionName(t.pending_verdict);
  r.enforced = TraceStrings(program, t.enforced.data(), t.enforced_count);
  r.pending = TraceStrings(program, t.pending.data(), t.pending_count);
  return r;
}

nlohmann::ordered_json DirectionJson(const std::optional<DirectionReport>& d) {
  if (!d) return nullptr;
  return {{"verdict", d->verdict},
          {"pending_verdict", d->pending_verdict},
          {"enforced", d->enforced},
          {"pending", d->pending}};
}

nlohmann::ordered_json EndpointJson(const std::optional<std::string>& name) {
  return {{"endpoint", name ? nlohmann::ordered_json(*name) : nlohmann::ordered_json(nullptr)}};
}

std::string ProtoName(uint8_t p) {
  switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    case 132: return "sctp";
  }
  return std::to_string(p);
}

std::string Endpoint(const dp::classify::IpAddr& ip, uint16_t port, bool has_port) {
  std::string addr =
      ip.family == dp::classify::Family::kV6 ? "[" + ip.ToString() + "]" : ip.ToString();
  return has_port ? addr + ":" + std::to_string(port) : addr;
}

}  // namespace

TraceReport TracePacket(const Program& program, const dp::classify::PacketKey& packet) {
  dp::classify::PacketVerdict v;
  program.Evaluate(packet, &v);
  TraceReport r;
  r.verdict = dp::classify::RuleActionName(v.verdict);
  if (v.src_endpoint != dp::classify::kNoEndpoint)
    r.source_endpoint = program.endpoints[v.src_endpoint].name;
  if (v.dst_endpoint != dp::classify::kNoEndpoint)
    r.destination_endpoint = program.endpoints[v.dst_endpoint].name;
  r.egress = Report(program, v.egress);
  r.ingress = Report(program, v.ingress);
  return r;
}

std::string ToJson(const TraceReport& r) {
  nlohmann::ordered_json j = {{"verdict", r.verdict},
                              {"source", EndpointJson(r.source_endpoint)},
                              {"destination", EndpointJson(r.destination_endpoint)},
                              {"egress", DirectionJson(r.egress)},
                              {"ingress", DirectionJson(r.ingress)}};
  return j.dump();
}

std::string ToText(const TraceReport& r, const dp::classify::PacketKey& p) {
  bool ports = p.proto == 6 || p.proto == 17 || p.proto == 132;
  bool icmp = p.proto == 1 || p.proto == 58;
  std::ostringstream out;
  out << "packet:      " << Endpoint(p.src, p.src_port, ports) << " -> "
      << Endpoint(p.dst, p.dst_port, ports) << " " << ProtoName(p.proto);
  if (icmp) out << " type " << p.src_port << " code " << p.dst_port;
  out << "\n";
  out << "source:      " << r.source_endpoint.value_or("(unknown address)") << "\n";
  out << "destination: " << r.destination_endpoint.value_or("(unknown address)") << "\n";
  out << "verdict:     " << (r.verdict == "allow" ? "ALLOW" : "DENY") << "\n";
  auto section = [&](const char* title, const char* where,
                     const std::optional<DirectionReport>& d) {
    out << "\n" << title;
    if (!d) {
      out << ": not evaluated (" << where << " is not a known endpoint)\n";
      return;
    }
    out << " at " << where << ": " << d->verdict;
    if (d->pending_verdict != d->verdict) out << " (pending: " << d->pending_verdict << ")";
    out << "\n";
    auto table = [&](const char* label, const std::vector<std::string>& entries) {
      out << "  " << label << ":\n";
      out << "    #  TIER                 POLICY                                        ACTION  "
             "RULE\n";
      for (const std::string& e : entries) {
        std::vector<std::string> f;
        std::stringstream ss(e);
        for (std::string part; std::getline(ss, part, '|');) f.push_back(part);
        if (f.size() != 5) continue;
        char line[256];
        std::snprintf(line, sizeof(line), "    %-2s %-20s %-45s %-7s %s\n", f[0].c_str(),
                      f[1].c_str(), f[2].c_str(), f[3].c_str(),
                      f[4] == "-1" ? "end of tier" : f[4].c_str());
        out << line;
      }
    };
    table("enforced", d->enforced);
    if (d->pending != d->enforced) table("pending (staged policies enforced)", d->pending);
  };
  section("egress", "source", r.egress);
  section("ingress", "destination", r.ingress);
  return out.str();
}

}  // namespace tierwall::ctl::trace
