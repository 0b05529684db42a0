// Conversion between the trace report and its API message (tierwall.v1).
#pragma once

#include "control/trace/trace.h"
#include "tierwall/v1/trace.pb.h"

namespace tierwall::ctl::api {

tierwall::v1::TraceResponse ToProto(const trace::TraceReport& report, uint64_t generation);
// The inverse (a live trace's answer, printed like an offline one).
trace::TraceReport FromProto(const tierwall::v1::TraceResponse& response);

}  // namespace tierwall::ctl::api
