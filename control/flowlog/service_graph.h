// The service graph: who talks to whom, on which ports, allowed or denied,
// under which policies, built from flow records.
//
// Nodes are (type, namespace, aggregated name), so one Deployment is one node
// whatever its pods; unknown addresses collapse into "pub" and "pvt". A flow
// reported by both its source and its destination appears in two records;
// flow and packet counts take the destination's record and the source's only
// when no destination record can exist (the source denied it, or the
// destination is not a local endpoint), so nothing is counted twice. Ports and
// policies are the union of both.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "control/flowlog/flow_record.h"
#include "nlohmann/json.hpp"

namespace tierwall::ctl::flowlog {

struct GraphNode {
  std::string type;  // "wep" | "hep" | "ns" | "net"
  std::string namespace_;
  std::string name;  // name_aggr; "pub" / "pvt" for net
  friend auto operator<=>(const GraphNode&, const GraphNode&) = default;
};

struct GraphEdge {
  GraphNode source;
  GraphNode dest;
  std::set<std::string> allowed_ports;  // "8080/tcp"
  std::set<std::string> denied_ports;
  uint64_t allowed_flows = 0;
  uint64_t denied_flows = 0;
  uint64_t packets = 0;  // both directions
  uint64_t bytes = 0;
  std::set<std::string> policies;  // policy names from the policy strings
};

class ServiceGraph {
 public:
  ServiceGraph() = default;
  static ServiceGraph FromRecords(const std::vector<FlowRecord>& records);

  void Add(const FlowRecord& record);
  // The edges with either end in `ns`, and their nodes.
  ServiceGraph FilterNamespace(const std::string& ns) const;

  const std::set<GraphNode>& nodes() const { return nodes_; }
  const std::map<std::pair<GraphNode, GraphNode>, GraphEdge>& edges() const { return edges_; }

  // {"nodes":[{"id","type","namespace","name"}],"edges":[{"source","dest",...}]}
  nlohmann::json ToJson() const;
  // Graphviz: namespaces as clusters; a red edge "8080/tcp ✗ 3 flows" for
  // denied traffic, a green one "8080/tcp ✓ 5 flows" for allowed.
  std::string ToDot() const;

 private:
  std::set<GraphNode> nodes_;
  std::map<std::pair<GraphNode, GraphNode>, GraphEdge> edges_;
};

// Runs Graphviz `dot -Tsvg` over `dot_text`. NotFound when `dot_binary` is
// missing (install graphviz); Internal with dot's stderr when it fails.
absl::StatusOr<std::string> RenderSvg(const std::string& dot_text,
                                      const std::string& dot_binary = "/usr/bin/dot");

}  // namespace tierwall::ctl::flowlog
