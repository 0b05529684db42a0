// Flow events leave workers through one single-producer single-consumer
// queue per worker (Boost.Lockfree): the worker never blocks on a full
// queue, it counts the lost event and moves on.
#pragma once

#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>

#include "dataplane/classify/packet_key.h"
#include "dataplane/conntrack/flow_table.h"

namespace tierwall::dp::engine {

// kUpdate: a live flow's totals, at most once per report interval.
enum class FlowEventType : uint8_t { kNew, kReverdict, kClose, kUpdate };

struct FlowEvent {
  FlowEventType type;
  bool allowed;
  uint16_t worker;
  uint64_t generation;
  uint64_t packets[2];  // original, reply (kClose)
  uint64_t bytes[2];
  classify::PacketKey key;  // the initiator's orientation
  // The counter slots of the rules that judged the flow (egress then ingress,
  // staged ones in `pending`): the control thread names them for flow logs.
  conntrack::PolicyIds policies;
};

using FlowEventQueue = boost::lockfree::spsc_queue<FlowEvent, boost::lockfree::capacity<8192>>;

}  // namespace tierwall::dp::engine
