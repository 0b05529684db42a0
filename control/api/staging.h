// Converting a policy between its enforced and staged kinds, for the Stage and
// Enforce RPCs (Calico Enterprise's "stage" and "Enforce" buttons).
//
//   NetworkPolicy (projectcalico.org/v3)       <-> StagedNetworkPolicy
//   GlobalNetworkPolicy                        <-> StagedGlobalNetworkPolicy
//   NetworkPolicy (networking.k8s.io/v1)       <-> StagedKubernetesNetworkPolicy
//
// Staged documents carry spec.stagedAction (Set or Delete; Set when absent);
// the enforced document never does. Server-owned metadata (resourceVersion,
// uid, creationTimestamp) is dropped either way: the store sets its own.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace tierwall::ctl::api {

// One policy document as its staged kind (stagedAction: Set unless the
// document is already staged). INVALID_ARGUMENT naming the field for anything
// that is not a policy.
absl::StatusOr<std::string> ToStagedDocument(const std::string& yaml);

struct EnforcedForm {
  bool delete_enforced = false;  // stagedAction: Delete
  std::string yaml;              // the enforced document (stagedAction Set)
};

// A staged policy document as what enforcing it writes.
absl::StatusOr<EnforcedForm> ToEnforcedDocument(const std::string& staged_yaml);

// "StagedNetworkPolicy" for "NetworkPolicy" (a canonical store kind), the
// kind itself when already staged; empty when the kind has no staged form.
std::string StagedKindOf(const std::string& kind);

}  // namespace tierwall::ctl::api
