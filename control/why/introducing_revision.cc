#include "control/why/introducing_revision.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "control/why/trace_steps.h"

namespace tierwall::ctl::why {

absl::StatusOr<size_t> FindIntroducingRevision(
    const std::vector<std::optional<std::string>>& policy_yaml_by_revision,
    const OutcomeFn& outcome) {
  if (policy_yaml_by_revision.empty()) {
    return absl::InvalidArgumentError("the policy has no revisions");
  }
  size_t newest = policy_yaml_by_revision.size() - 1;
  absl::StatusOr<std::string> today = outcome(policy_yaml_by_revision[newest]);
  if (!today.ok()) return today.status();
  size_t first = newest;
  while (first > 0) {
    absl::StatusOr<std::string> before = outcome(policy_yaml_by_revision[first - 1]);
    if (!before.ok() || *before != *today) break;
    --first;
  }
  return first;
}

namespace {

std::string DescribeDirection(const char* name, const std::optional<trace::DirectionReport>& d) {
  if (!d) return absl::StrCat(name, " not evaluated");
  std::vector<TraceStep> steps = internal::ParseTraceSteps(d->enforced);
  return absl::StrCat(name, " ", d->verdict, steps.empty() ? "" : " by ",
                      steps.empty() ? "" : internal::DescribeStep(steps.back()));
}

}  // namespace

OutcomeFn OutcomeForPacket(const std::vector<std::string>& other_resource_docs,
                           const Packet& packet) {
  auto base = std::make_shared<model::ResourceSet>();
  auto base_status = std::make_shared<absl::Status>();
  for (size_t i = 0; i < other_resource_docs.size() && base_status->ok(); ++i) {
    *base_status =
        model::ParseResources(other_resource_docs[i], absl::StrCat("resource ", i + 1), base.get());
  }
  return [base, base_status,
          packet](const std::optional<std::string>& policy_yaml) -> absl::StatusOr<std::string> {
    if (!base_status->ok()) return *base_status;
    model::ResourceSet resources = *base;
    if (policy_yaml) {
      absl::Status s = model::ParseResources(*policy_yaml, "policy", &resources);
      if (!s.ok()) return s;
    }
    auto program = compiler::Compile(resources);
    if (!program.ok()) return program.status();
    trace::TraceReport r = trace::TracePacket(**program, packet.Key());
    return absl::StrCat(r.verdict, "; ", DescribeDirection("egress", r.egress), "; ",
                        DescribeDirection("ingress", r.ingress));
  };
}

}  // namespace tierwall::ctl::why
