// The reference evaluator: a slow, obviously-correct oracle for Tierwall's
// policy semantics, used to check the compiler + classifier + trace pipeline.
//
// It is written straight from shared/docs/calico-semantics.md and the shared
// decisions of the project, and deliberately shares no code with
// control/compiler or dataplane/classify/program.cc: a bug has to be made twice,
// the same way, to go unnoticed. Everything is recomputed for every packet with
// linear scans and direct Selector::Matches / Cidr::Contains calls; it is only
// meant for tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/model/resources.h"
#include "dataplane/classify/packet_key.h"

namespace tierwall::test {

// Mirrors ctl::trace::DirectionReport, kept separate so this library does not
// depend on the code it checks.
struct RefDirectionReport {
  std::string verdict;          // "allow" | "deny"
  std::string pending_verdict;  // staged policies as if enforced
  std::vector<std::string> enforced;
  std::vector<std::string> pending;
};

// Mirrors ctl::trace::TraceReport.
struct RefTraceReport {
  std::string verdict;                         // "allow" | "deny"
  std::optional<std::string> source_endpoint;  // "<ns>/<name>" or the host endpoint's name
  std::optional<std::string> destination_endpoint;
  std::optional<RefDirectionReport> egress;   // at the source endpoint
  std::optional<RefDirectionReport> ingress;  // at the destination endpoint
};

// Judges one packet of a new flow against `resources`. The resources must be
// valid (as the loader and compiler would accept them); the evaluator does not
// validate.
RefTraceReport ReferenceEvaluate(const ctl::model::ResourceSet& resources,
                                 const dp::classify::PacketKey& packet);

// A readable multi-line rendering, for failure messages.
std::string RefReportToString(const RefTraceReport& report);

// "tcp 198.18.0.1:1234 -> 198.18.0.2:80", "icmp 198.18.0.1 -> 198.18.0.2 type 8 code 0".
std::string PacketToString(const dp::classify::PacketKey& packet);

}  // namespace tierwall::test
