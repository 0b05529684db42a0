#include "control/why/trace_steps.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tierwall::ctl::why::internal {

std::optional<TraceStep> ParseTraceStep(const std::string& entry) {
  std::vector<std::string> f = absl::StrSplit(entry, '|');
  if (f.size() != 5) return std::nullopt;
  TraceStep s;
  s.tier = f[1];
  s.policy = f[2];
  s.action = f[3];
  if (!absl::SimpleAtoi(f[4], &s.rule_index)) return std::nullopt;
  return s;
}

std::vector<TraceStep> ParseTraceSteps(const std::vector<std::string>& entries) {
  std::vector<TraceStep> out;
  for (const std::string& e : entries) {
    if (auto s = ParseTraceStep(e)) out.push_back(std::move(*s));
  }
  return out;
}

std::string DescribeStep(const TraceStep& s) {
  return absl::StrCat(
      s.tier, "|", s.policy, "|",
      s.rule_index < 0 ? std::string("end of tier") : absl::StrCat("rule ", s.rule_index));
}

}  // namespace tierwall::ctl::why::internal
