// Who is behind an address, as a flow log names it.
//
// Flow records carry, for each side of a flow, Calico's endpoint type
// ("wep" workload, "hep" host endpoint, "ns" network set, "net" anything
// else), its name, its aggregated name (the pod's ReplicaSet prefix, so one
// Deployment's pods collapse into one row) and its namespace. The directory
// is rebuilt on the control thread at every policy publish from the resource
// set the program was compiled from; the flow aggregator then looks up every
// observed address, so Lookup is a hash probe for endpoints and one hash probe
// per distinct network-set prefix length for network sets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control/model/resources.h"
#include "dataplane/classify/ip_addr.h"

namespace tierwall::ctl::flowlog {

using dp::classify::IpAddr;

struct EndpointInfo {
  std::string type = "net";  // "wep" | "hep" | "ns" | "net"
  std::string name;          // pod name, host endpoint name, set name, "pub" / "pvt"
  std::string name_aggr;     // `frontend-7b8f6c9d5-*` for pod `frontend-7b8f6c9d5-4lq8z`
  std::string namespace_ = "-";
  std::map<std::string, std::string> labels;

  friend bool operator==(const EndpointInfo&, const EndpointInfo&) = default;
};

// Calico's aggregated workload name: a name ending in `-<5 lowercase
// alphanumerics>` with another `-` segment before it (a ReplicaSet pod) has its
// last segment replaced by `*`; any other name is returned unchanged.
std::string AggregatedName(std::string_view pod_name);

// RFC 1918, 100.64.0.0/10 (CGNAT), 127.0.0.0/8, fc00::/7 (ULA) and fe80::/10:
// what Calico reports as "pvt" rather than "pub" for unknown addresses.
bool IsPrivate(const IpAddr& ip);

class EndpointDirectory {
 public:
  EndpointDirectory() = default;  // knows nobody: every address is pub or pvt
  explicit EndpointDirectory(const model::ResourceSet& resources);

  // Endpoints first (exact address), then the network set with the longest
  // matching prefix, then "pvt" or "pub". The reference stays valid for the
  // directory's lifetime.
  const EndpointInfo& Lookup(const IpAddr& ip) const;

  size_t endpoint_addresses() const { return by_address_.size(); }

 private:
  struct IpHash {
    size_t operator()(const IpAddr& ip) const;
  };
  // One exact-match table per (family, prefix length) that some network set
  // uses, longest first: longest-prefix match is a short loop of hash probes.
  struct PrefixTable {
    dp::classify::Family family;
    uint8_t prefix_len;
    std::unordered_map<IpAddr, size_t, IpHash> sets;  // masked address -> index in sets_
  };

  std::unordered_map<IpAddr, EndpointInfo, IpHash> by_address_;
  std::vector<EndpointInfo> sets_;
  std::vector<PrefixTable> prefixes_;
};

}  // namespace tierwall::ctl::flowlog
