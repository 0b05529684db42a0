// Which flow records a query wants, in the spirit of `hubble observe`:
// values within one criterion are alternatives (OR), criteria combine with
// AND, and each criterion can be negated as a whole (hubble's `--not` before
// a filter).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/flowlog/flow_record.h"
#include "dataplane/classify/ip_addr.h"

namespace tierwall::ctl::flowlog {

// One side of a flow, as `--from` / `--to` name it:
//   198.18.1.11          an address (records aggregated to source_ip "-" never match)
//   198.18.0.0/15        a CIDR
//   hipstershop/         everything in a namespace
//   hipstershop/front*   a name or aggregated name in a namespace, `*` globs
//   frontend-7b8f6c9d5-* a name or aggregated name in any namespace
// A pod name also matches an aggregated record whose name_aggr covers it
// (`frontend-7b8f6c9d5-4lq8z` matches name "-", name_aggr `frontend-7b8f6c9d5-*`).
struct EndpointFilter {
  enum class Kind { kCidr, kNamespace, kName };
  Kind kind = Kind::kName;
  dp::classify::Cidr cidr;  // kCidr (an address is a full-length prefix)
  std::string namespace_;   // kNamespace, kName (empty: any namespace)
  std::string name;         // kName: a glob
  std::string text;         // as given, for messages

  bool Matches(std::string_view ip, std::string_view ns, std::string_view name,
               std::string_view name_aggr) const;
};

absl::StatusOr<EndpointFilter> ParseEndpointFilter(std::string_view text);

template <typename T>
struct Criterion {
  std::vector<T> any_of;  // empty: no constraint (negate is then ignored)
  bool negate = false;
  bool active() const { return !any_of.empty(); }
};

struct FlowFilter {
  Criterion<std::string> actions;  // "allow" | "deny"
  // A policy string's name field in any of its forms: `frontend`,
  // `app-hipstershop.frontend` or `hipstershop/app-hipstershop.frontend`
  // (staged policies also without `staged:`), enforced or pending.
  Criterion<std::string> policies;
  Criterion<std::string> tiers;  // a policy string's tier, enforced or pending
  Criterion<EndpointFilter> from;
  Criterion<EndpointFilter> to;
  Criterion<int> ports;               // dest_port
  Criterion<std::string> namespaces;  // source or destination namespace

  // Rejects actions other than allow/deny and ports outside 0..65535.
  absl::Status Validate() const;
  bool Matches(const FlowRecord& record) const;
};

// A filter from command-line words, as `hubble observe` takes them:
//   --action allow|deny (alias --verdict), --policy P, --tier T, --from E,
//   --to E, --port N, --namespace NS; `--flag=value` works too.
// Repeating a flag adds an alternative; `--not` negates the flag after it.
// One criterion cannot be both negated and not (`--from a --not --from b`).
absl::StatusOr<FlowFilter> ParseFlowFilter(const std::vector<std::string>& args);

// `*` matches any run of characters (including none); everything else is literal.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace tierwall::ctl::flowlog
