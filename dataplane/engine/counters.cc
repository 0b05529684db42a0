#include "dataplane/engine/counters.h"

namespace tierwall::dp::engine {

const char* DropName(int index) {
  if (index < kParseDropCount) return parse::DropReasonName(static_cast<parse::DropReason>(index));
  switch (static_cast<EngineDrop>(index - kParseDropCount)) {
    case EngineDrop::kPolicyDeny: return "policy_deny";
    case EngineDrop::kFlowTableFull: return "flow_table_full";
    case EngineDrop::kNonFirstFragment: return "non_first_fragment";
    case EngineDrop::kTxFull: return "tx_full";
    case EngineDrop::kNoPeerPort: return "no_peer_port";
    case EngineDrop::kSpoofedSource: return "spoofed_source";
    case EngineDrop::kEtherTypeNotAllowed: return "ether_type_not_allowed";
    case EngineDrop::kOverlappingFragment: return "overlapping_fragment";
    case EngineDrop::kCount: break;
  }
  return "unknown";
}

}  // namespace tierwall::dp::engine
