#include "control/api/trace_proto.h"

#include <charconv>
#include <string_view>
#include <vector>

namespace tierwall::ctl::api {

v1::Action ActionOf(std::string_view word) {
  if (word == "allow") return v1::ACTION_ALLOW;
  if (word == "deny") return v1::ACTION_DENY;
  if (word == "pass") return v1::ACTION_PASS;
  if (word == "log") return v1::ACTION_LOG;
  return v1::ACTION_UNSPECIFIED;
}

std::string WordOf(v1::Action action) {
  switch (action) {
    case v1::ACTION_ALLOW: return "allow";
    case v1::ACTION_DENY: return "deny";
    case v1::ACTION_PASS: return "pass";
    case v1::ACTION_LOG: return "log";
    default: return "";
  }
}

namespace {

// "<index>|<tier>|<name>|<action>|<rule>" -> PolicyHit. The name never holds
// '|' (Kubernetes names cannot), so splitting is exact.
void FillHit(const std::string& entry, v1::PolicyHit* hit) {
  std::vector<std::string_view> f;
  std::string_view rest = entry;
  for (size_t bar; (bar = rest.find('|')) != std::string_view::npos; rest.remove_prefix(bar + 1))
    f.push_back(rest.substr(0, bar));
  f.push_back(rest);
  hit->set_flow_log_string(entry);
  if (f.size() != 5) return;
  uint32_t index = 0;
  int32_t rule = 0;
  std::from_chars(f[0].data(), f[0].data() + f[0].size(), index);
  std::from_chars(f[4].data(), f[4].data() + f[4].size(), rule);
  hit->set_index(index);
  hit->set_tier(std::string(f[1]));
  hit->set_name(std::string(f[2]));
  hit->set_action(ActionOf(f[3]));
  hit->set_rule_index(rule);
}

void FillDirection(const trace::DirectionReport& d, v1::DirectionTrace* out) {
  out->set_verdict(ActionOf(d.verdict));
  out->set_pending_verdict(ActionOf(d.pending_verdict));
  for (const auto& e : d.enforced) FillHit(e, out->add_enforced_hits());
  for (const auto& e : d.pending) FillHit(e, out->add_pending_hits());
}

}  // namespace

v1::TraceResponse ToProto(const trace::TraceReport& report, uint64_t generation) {
  v1::TraceResponse r;
  r.set_verdict(ActionOf(report.verdict));
  r.set_source_endpoint(report.source_endpoint.value_or(""));
  r.set_destination_endpoint(report.destination_endpoint.value_or(""));
  if (report.egress) FillDirection(*report.egress, r.mutable_egress());
  if (report.ingress) FillDirection(*report.ingress, r.mutable_ingress());
  r.set_generation(generation);
  return r;
}

namespace {

trace::DirectionReport DirectionFrom(const v1::DirectionTrace& d) {
  trace::DirectionReport out;
  out.verdict = WordOf(d.verdict());
  out.pending_verdict = WordOf(d.pending_verdict());
  for (const auto& h : d.enforced_hits()) out.enforced.push_back(h.flow_log_string());
  for (const auto& h : d.pending_hits()) out.pending.push_back(h.flow_log_string());
  return out;
}

}  // namespace

trace::TraceReport FromProto(const v1::TraceResponse& response) {
  trace::TraceReport r;
  r.verdict = WordOf(response.verdict());
  if (!response.source_endpoint().empty()) r.source_endpoint = response.source_endpoint();
  if (!response.destination_endpoint().empty())
    r.destination_endpoint = response.destination_endpoint();
  if (response.has_egress()) r.egress = DirectionFrom(response.egress());
  if (response.has_ingress()) r.ingress = DirectionFrom(response.ingress());
  return r;
}

}  // namespace tierwall::ctl::api
