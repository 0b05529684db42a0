// Private to control/why: reading trace strings back into steps.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/why/suggest_fix.h"

namespace tierwall::ctl::why::internal {

// "<index>|<tier>|<policy>|<action>|<rule>" -> step; nullopt when malformed.
std::optional<TraceStep> ParseTraceStep(const std::string& entry);
std::vector<TraceStep> ParseTraceSteps(const std::vector<std::string>& entries);

// "app-hipstershop|hipstershop/app-hipstershop.frontend|end of tier"
std::string DescribeStep(const TraceStep& step);

}  // namespace tierwall::ctl::why::internal
