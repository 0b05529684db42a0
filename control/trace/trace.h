// Trace: "what would happen to this packet, and why", in words.
//
// Runs one packet through a compiled Program and renders the verdict with the
// enforced and pending traces as Calico flow-log policy strings:
//   <index>|<tier>|<name>|<action>|<rule index>
// Names: GlobalNetworkPolicy `tier.name`, NetworkPolicy `ns/tier.name`,
// Kubernetes NetworkPolicy `ns/knp.default.name`, staged ones with `staged:`
// before the name part, profiles `__PROFILE__.kns.ns`; rule index -1 when the
// tier's default action decided.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dataplane/classify/packet_key.h"
#include "dataplane/classify/program.h"

namespace tierwall::ctl::trace {

struct DirectionReport {
  std::string verdict;          // "allow" | "deny"
  std::string pending_verdict;  // with staged policies enforced
  std::vector<std::string> enforced;
  std::vector<std::string> pending;
};

struct TraceReport {
  std::string verdict;                         // "allow" | "deny"
  std::optional<std::string> source_endpoint;  // "<ns>/<name>" or host endpoint name
  std::optional<std::string> destination_endpoint;
  std::optional<DirectionReport> egress;   // evaluated at the source endpoint
  std::optional<DirectionReport> ingress;  // evaluated at the destination endpoint
};

TraceReport TracePacket(const dp::classify::Program& program,
                        const dp::classify::PacketKey& packet);

// {"verdict":..,"source":{"endpoint":..|null},"destination":{..},"egress":null|{..},"ingress":null|{..}}
std::string ToJson(const TraceReport& report);
// A readable table of the same.
std::string ToText(const TraceReport& report, const dp::classify::PacketKey& packet);

}  // namespace tierwall::ctl::trace
