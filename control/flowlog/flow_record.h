// One flow-log row, field for field as Calico Enterprise writes them.
//
// A record summarises the flows that share an aggregation key over one
// interval [start_time, end_time] as seen by one reporter: "src" (egress
// policy at the source endpoint) or "dst" (ingress policy at the destination
// endpoint). Policies are Calico flow-log policy strings
// `<index>|<tier>|<name>|<action>|<rule index>`.
//
// JSON (ToJson / FromJson), one object per line in the flow-log file:
//   - every scalar field under its own name below;
//   - labels as Calico writes them: "source_labels": {"labels": ["k=v", ...]}
//     (sorted by key), "dest_labels" likewise;
//   - policies as {"policies": {"enforced_policies": [...],
//     "pending_policies": [...], "all_policies": [same as enforced]}}.
// Aggregated-away values are "-" (source_ip at level 2, for example).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tierwall::ctl::flowlog {

struct FlowRecord {
  int64_t start_time = 0;  // unix seconds
  int64_t end_time = 0;

  std::string source_ip = "-";
  std::string source_name = "-";
  std::string source_name_aggr = "-";
  std::string source_namespace = "-";
  std::map<std::string, std::string> source_labels;
  std::string source_type = "net";  // "wep" | "hep" | "ns" | "net"

  std::string dest_ip = "-";
  std::string dest_name = "-";
  std::string dest_name_aggr = "-";
  std::string dest_namespace = "-";
  std::map<std::string, std::string> dest_labels;
  std::string dest_type = "net";
  int dest_port = 0;

  std::string proto;             // "tcp" | "udp" | "icmp" | the number
  std::string action = "allow";  // "allow" | "deny"
  std::string reporter = "src";  // "src" | "dst"
  std::vector<std::string> enforced_policies;
  std::vector<std::string> pending_policies;

  uint64_t num_flows = 0;
  uint64_t num_flows_started = 0;
  uint64_t num_flows_completed = 0;
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;

  friend bool operator==(const FlowRecord&, const FlowRecord&) = default;
};

// "tcp" (6), "udp" (17), "icmp" (1), otherwise the decimal number.
std::string ProtoName(uint8_t proto);

nlohmann::json ToJson(const FlowRecord& record);
// The record as one line of JSON, no trailing newline.
std::string ToJsonLine(const FlowRecord& record);
// Accepts what ToJson writes; labels may also be a plain {"k": "v"} object.
// Errors name the field.
absl::StatusOr<FlowRecord> FromJson(const nlohmann::json& json);
absl::StatusOr<FlowRecord> FromJsonLine(const std::string& line);

}  // namespace tierwall::ctl::flowlog
