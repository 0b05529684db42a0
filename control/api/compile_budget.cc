#include "control/api/compile_budget.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::api {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// a * b, saturating: a hostile document must not wrap the estimate to small.
uint64_t Times(uint64_t a, uint64_t b) {
  if (a != 0 && b > kMax / a) return kMax;
  return a * b;
}

uint64_t Plus(uint64_t a, uint64_t b) { return b > kMax - a ? kMax : a + b; }

uint64_t ListSize(const YAML::Node& map, const char* field) {
  const YAML::Node n = map[field];
  if (!n || !n.IsSequence()) return 0;
  return n.size();
}

// The pieces one side's list and its not* list make.
uint64_t Pieces(const YAML::Node& side, const char* list, const char* not_list) {
  if (!side || !side.IsMap()) return 1;
  const uint64_t n = ListSize(side, list);
  const uint64_t not_n = ListSize(side, not_list);
  return Times(std::max<uint64_t>(n, 1), not_n > 0 ? not_n + 1 : 1);
}

// The compiler clips the local side's addresses (the destination of an
// ingress rule, the source of an egress rule) to the endpoints the rule
// protects (compiler/rule_lowering.h), so only the remote side's nets count.
uint64_t RuleBoxes(const YAML::Node& rule, bool ingress) {
  if (!rule.IsMap()) return 0;
  const YAML::Node src = rule["source"];
  const YAML::Node dst = rule["destination"];
  uint64_t boxes = rule["notProtocol"] ? 2 : 1;
  boxes = Times(boxes, Pieces(ingress ? src : dst, "nets", "notNets"));
  boxes = Times(boxes, Pieces(src, "ports", "notPorts"));
  boxes = Times(boxes, Pieces(dst, "ports", "notPorts"));
  return boxes;
}

}  // namespace

uint64_t EstimatePolicyBoxes(const std::string& yaml_document) {
  try {
    const YAML::Node doc = YAML::Load(yaml_document);
    if (!doc.IsMap() || !doc["spec"] || !doc["spec"].IsMap()) return 0;
    uint64_t total = 0;
    for (const char* direction : {"ingress", "egress"}) {
      const YAML::Node rules = doc["spec"][direction];
      if (!rules || !rules.IsSequence()) continue;
      const bool ingress = std::string_view(direction) == "ingress";
      for (const YAML::Node& rule : rules) total = Plus(total, RuleBoxes(rule, ingress));
    }
    return total;
  } catch (const YAML::Exception&) {
    return 0;
  }
}

absl::Status CheckCompileBudget(const std::string& yaml_document, const std::string& name,
                                uint64_t budget, uint64_t* request_total) {
  if (budget == 0) return absl::OkStatus();
  const uint64_t boxes = EstimatePolicyBoxes(yaml_document);
  constexpr std::string_view kAdvice =
      " (--api-max-policy-boxes): split it, or use network sets and port ranges";
  if (boxes > budget) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name, " would compile to about ", boxes,
                     " rule boxes (rules x protocols x nets x ports), over the budget of ", budget,
                     std::string(kAdvice)));
  }
  if (request_total == nullptr) return absl::OkStatus();
  *request_total = Plus(*request_total, boxes);
  if (*request_total <= budget) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("with ", name, " the request would compile to about ", *request_total,
                   " rule boxes (rules x protocols x nets x ports), over the budget of ", budget,
                   std::string(kAdvice)));
}

}  // namespace tierwall::ctl::api
