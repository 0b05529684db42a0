#include "control/api/staging.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::api {
namespace {

constexpr char kCalico[] = "projectcalico.org/v3";
constexpr char kK8sNetworking[] = "networking.k8s.io/v1";

absl::StatusOr<YAML::Node> LoadOne(const std::string& yaml) {
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML: ", e.what()));
  }
  if (!doc.IsMap()) return absl::InvalidArgumentError("document: expected a mapping");
  if (!doc["kind"] || !doc["kind"].IsScalar())
    return absl::InvalidArgumentError("kind: required field missing");
  if (!doc["metadata"] || !doc["metadata"].IsMap() || !doc["metadata"]["name"])
    return absl::InvalidArgumentError("metadata.name: required field missing");
  if (!doc["spec"]) doc["spec"] = YAML::Node(YAML::NodeType::Map);
  if (!doc["spec"].IsMap()) return absl::InvalidArgumentError("spec: expected a mapping");
  return doc;
}

void DropServerMetadata(YAML::Node& doc) {
  YAML::Node meta = doc["metadata"];
  for (const char* field : {"resourceVersion", "uid", "creationTimestamp", "generation"})
    if (meta[field]) meta.remove(field);
}

std::string Emit(const YAML::Node& doc) {
  YAML::Emitter out;
  out << doc;
  return std::string(out.c_str()) + "\n";
}

}  // namespace

std::string StagedKindOf(const std::string& kind) {
  static const std::map<std::string, std::string> kStaged = {
      {"NetworkPolicy", "StagedNetworkPolicy"},
      {"GlobalNetworkPolicy", "StagedGlobalNetworkPolicy"},
      {"KubernetesNetworkPolicy", "StagedKubernetesNetworkPolicy"},
      {"StagedNetworkPolicy", "StagedNetworkPolicy"},
      {"StagedGlobalNetworkPolicy", "StagedGlobalNetworkPolicy"},
      {"StagedKubernetesNetworkPolicy", "StagedKubernetesNetworkPolicy"},
  };
  auto it = kStaged.find(kind);
  return it == kStaged.end() ? "" : it->second;
}

absl::StatusOr<std::string> ToStagedDocument(const std::string& yaml) {
  absl::StatusOr<YAML::Node> loaded = LoadOne(yaml);
  if (!loaded.ok()) return loaded.status();
  YAML::Node doc = *loaded;
  const std::string kind = doc["kind"].as<std::string>();
  const std::string api = doc["apiVersion"] ? doc["apiVersion"].as<std::string>() : kCalico;
  if (kind == "NetworkPolicy" && api == kK8sNetworking) {
    doc["apiVersion"] = kCalico;
    doc["kind"] = "StagedKubernetesNetworkPolicy";
  } else if ((kind == "NetworkPolicy" || kind == "GlobalNetworkPolicy") && api == kCalico) {
    doc["kind"] = "Staged" + kind;
  } else if (kind.rfind("Staged", 0) != 0 || StagedKindOf(kind).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: stage takes a policy (NetworkPolicy, GlobalNetworkPolicy, Kubernetes "
                     "NetworkPolicy or their Staged kinds), not \"",
                     kind, "\""));
  }
  if (!doc["spec"]["stagedAction"]) doc["spec"]["stagedAction"] = "Set";
  DropServerMetadata(doc);
  return Emit(doc);
}

absl::StatusOr<EnforcedForm> ToEnforcedDocument(const std::string& staged_yaml) {
  absl::StatusOr<YAML::Node> loaded = LoadOne(staged_yaml);
  if (!loaded.ok()) return loaded.status();
  YAML::Node doc = *loaded;
  const std::string kind = doc["kind"].as<std::string>();
  if (kind == "StagedKubernetesNetworkPolicy") {
    doc["apiVersion"] = kK8sNetworking;
    doc["kind"] = "NetworkPolicy";
  } else if (kind == "StagedNetworkPolicy" || kind == "StagedGlobalNetworkPolicy") {
    doc["kind"] = kind.substr(6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: enforce takes a staged policy, not \"", kind, "\""));
  }
  EnforcedForm out;
  std::string action = "Set";
  if (doc["spec"]["stagedAction"]) {
    action = doc["spec"]["stagedAction"].as<std::string>();
    doc["spec"].remove("stagedAction");
  }
  if (action == "Delete") {
    out.delete_enforced = true;
  } else if (action != "Set") {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.stagedAction: \"", action, "\" is not Set or Delete"));
  }
  DropServerMetadata(doc);
  out.yaml = Emit(doc);
  return out;
}

}  // namespace tierwall::ctl::api
