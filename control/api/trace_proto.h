// Conversion between the trace report and its API message (tierwall.v1).
#pragma once

#include <string>
#include <string_view>

#include "control/trace/trace.h"
#include "tierwall/v1/trace.pb.h"

namespace tierwall::ctl::api {

// "allow" | "deny" | "pass" | "log" <-> tierwall.v1.Action (anything else:
// ACTION_UNSPECIFIED <-> "").
tierwall::v1::Action ActionOf(std::string_view word);
std::string WordOf(tierwall::v1::Action action);

tierwall::v1::TraceResponse ToProto(const trace::TraceReport& report, uint64_t generation);
// The inverse (a live trace's answer, printed like an offline one).
trace::TraceReport FromProto(const tierwall::v1::TraceResponse& response);

}  // namespace tierwall::ctl::api
