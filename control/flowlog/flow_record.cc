#include "control/flowlog/flow_record.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tierwall::ctl::flowlog {
namespace {

using nlohmann::json;

json LabelsJson(const std::map<std::string, std::string>& labels) {
  json list = json::array();
  for (const auto& [k, v] : labels) list.push_back(k + "=" + v);
  return json{{"labels", std::move(list)}};
}

absl::Status ReadLabels(const json& j, const char* field, std::map<std::string, std::string>* out) {
  if (!j.contains(field)) return absl::OkStatus();
  const json& v = j.at(field);
  if (v.is_object() && v.contains("labels") && v.at("labels").is_array()) {
    for (const json& item : v.at("labels")) {
      if (!item.is_string())
        return absl::InvalidArgumentError(absl::StrCat(field, ": labels must be strings"));
      const std::string s = item.get<std::string>();
      const size_t eq = s.find('=');
      if (eq == std::string::npos)
        return absl::InvalidArgumentError(absl::StrCat(field, ": label \"", s, "\" is not k=v"));
      (*out)[s.substr(0, eq)] = s.substr(eq + 1);
    }
    return absl::OkStatus();
  }
  if (v.is_object()) {
    for (const auto& [k, val] : v.items()) {
      if (!val.is_string())
        return absl::InvalidArgumentError(absl::StrCat(field, ".", k, ": not a string"));
      (*out)[k] = val.get<std::string>();
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": expected an object"));
}

template <typename T>
absl::Status Read(const json& j, const char* field, T* out) {
  if (!j.contains(field)) return absl::OkStatus();  // absent: the default
  try {
    *out = j.at(field).get<T>();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    default: return std::to_string(proto);
  }
}

json ToJson(const FlowRecord& r) {
  return json{
      {"start_time", r.start_time},
      {"end_time", r.end_time},
      {"source_ip", r.source_ip},
      {"source_name", r.source_name},
      {"source_name_aggr", r.source_name_aggr},
      {"source_namespace", r.source_namespace},
      {"source_labels", LabelsJson(r.source_labels)},
      {"source_type", r.source_type},
      {"dest_ip", r.dest_ip},
      {"dest_name", r.dest_name},
      {"dest_name_aggr", r.dest_name_aggr},
      {"dest_namespace", r.dest_namespace},
      {"dest_labels", LabelsJson(r.dest_labels)},
      {"dest_type", r.dest_type},
      {"dest_port", r.dest_port},
      {"proto", r.proto},
      {"action", r.action},
      {"reporter", r.reporter},
      {"policies",
       {{"enforced_policies", r.enforced_policies},
        {"pending_policies", r.pending_policies},
        {"all_policies", r.enforced_policies}}},
      {"num_flows", r.num_flows},
      {"num_flows_started", r.num_flows_started},
      {"num_flows_completed", r.num_flows_completed},
      {"packets_in", r.packets_in},
      {"packets_out", r.packets_out},
      {"bytes_in", r.bytes_in},
      {"bytes_out", r.bytes_out},
  };
}

std::string ToJsonLine(const FlowRecord& record) { return ToJson(record).dump(); }

absl::StatusOr<FlowRecord> FromJson(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("flow record: expected a JSON object");
  FlowRecord r;
  for (absl::Status s : {
           Read(j, "start_time", &r.start_time),
           Read(j, "end_time", &r.end_time),
           Read(j, "source_ip", &r.source_ip),
           Read(j, "source_name", &r.source_name),
           Read(j, "source_name_aggr", &r.source_name_aggr),
           Read(j, "source_namespace", &r.source_namespace),
           ReadLabels(j, "source_labels", &r.source_labels),
           Read(j, "source_type", &r.source_type),
           Read(j, "dest_ip", &r.dest_ip),
           Read(j, "dest_name", &r.dest_name),
           Read(j, "dest_name_aggr", &r.dest_name_aggr),
           Read(j, "dest_namespace", &r.dest_namespace),
           ReadLabels(j, "dest_labels", &r.dest_labels),
           Read(j, "dest_type", &r.dest_type),
           Read(j, "dest_port", &r.dest_port),
           Read(j, "proto", &r.proto),
           Read(j, "action", &r.action),
           Read(j, "reporter", &r.reporter),
           Read(j, "num_flows", &r.num_flows),
           Read(j, "num_flows_started", &r.num_flows_started),
           Read(j, "num_flows_completed", &r.num_flows_completed),
           Read(j, "packets_in", &r.packets_in),
           Read(j, "packets_out", &r.packets_out),
           Read(j, "bytes_in", &r.bytes_in),
           Read(j, "bytes_out", &r.bytes_out),
       }) {
    if (!s.ok()) return s;
  }
  if (j.contains("policies")) {
    const json& p = j.at("policies");
    if (!p.is_object()) return absl::InvalidArgumentError("policies: expected an object");
    if (absl::Status s = Read(p, "enforced_policies", &r.enforced_policies); !s.ok()) return s;
    if (absl::Status s = Read(p, "pending_policies", &r.pending_policies); !s.ok()) return s;
    // Older Calico writes only all_policies: take it as the enforced list.
    if (!p.contains("enforced_policies")) {
      if (absl::Status s = Read(p, "all_policies", &r.enforced_policies); !s.ok()) return s;
    }
  }
  return r;
}

absl::StatusOr<FlowRecord> FromJsonLine(const std::string& line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("flow record: not valid JSON");
  return FromJson(j);
}

}  // namespace tierwall::ctl::flowlog
