// Kubernetes NetworkPolicy -> Calico policy, as libcalico-go converts it
// (lib/backend/k8s/conversion: K8sNetworkPolicyToCalico). Private to
// control/model.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/model/resources.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::model::internal {

// Reads a networking.k8s.io/v1 NetworkPolicySpec (plus `stagedAction` when
// `staged`) at `path` into `out`, whose name, namespace and kind the caller
// has set. Sets tier "default" and order 1000.
absl::Status ParseK8sNetworkPolicySpec(const YAML::Node& spec, absl::string_view path, bool staged,
                                       Policy* out);

// What the converter puts first in every pod selector, so that a Kubernetes
// policy applies to, and its peers match, only Kubernetes pods (workload
// endpoints with this label), never host endpoints or network sets.
inline constexpr char kK8sPodsSelector[] = "projectcalico.org/orchestrator == 'k8s'";

enum class K8sSelectorType { kPod, kNamespace };

// A metav1.LabelSelector as Calico selector text, as k8sSelectorToCalico
// renders it: for pods kK8sPodsSelector first, then matchLabels sorted by
// key, then matchExpressions in order, joined by " && "; a namespace selector
// {} is "all()".
absl::StatusOr<std::string> K8sLabelSelectorText(const YAML::Node& node, absl::string_view path,
                                                 K8sSelectorType type);

}  // namespace tierwall::ctl::model::internal
