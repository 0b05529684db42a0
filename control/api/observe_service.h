// tierwall.v1.ObserveService and the live tierwall.v1.TraceService: what the
// dataplane saw and why, for twctl counters/flows/graph/why/trace.
//
// The services read the daemon through ObserveSources (plain functions and
// thread-safe containers), so they run in-process in tests without DPDK.
// Every call is authenticated like ResourceService and checked with the
// tiered RBAC: counters need list on "counters" (in the policy's namespace)
// and get on the policy's tier; flows, the graph, traces and why need list on
// "flows"; why also needs get on the deciding policy to show its history and
// a fix. Counters (GetCounters and WatchCounters alike) need list on
// "counters" somewhere: a caller who may read no counter at all is
// PERMISSION_DENIED rather than served empty answers forever.
//
// WatchCounters and FollowFlows are callback-API streams driven by one
// StreamPump (streams.h): an open stream holds no thread, and each user may
// hold StreamLimits::per_user of them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "control/api/call_identity.h"
#include "control/api/streams.h"
#include "control/auth/rbac.h"
#include "control/flowlog/flow_history.h"
#include "control/flowlog/policy_series.h"
#include "control/store/store.h"
#include "dataplane/classify/program.h"
#include "tierwall/v1/observe.grpc.pb.h"
#include "tierwall/v1/trace.grpc.pb.h"

namespace tierwall::ctl::api {

// One rule instance's counters, summed over workers.
struct RuleCounterData {
  uint32_t slot = 0;
  std::string tier;
  std::string policy;  // trace name: "hipstershop/app-hipstershop.frontend"
  bool staged = false;
  bool ingress = true;
  int32_t rule_index = 0;  // -1: end of tier
  std::string action;      // "allow" | "deny" | "pass" | "log"
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// "hipstershop/app-hipstershop.frontend" -> {"hipstershop",
// "app-hipstershop.frontend"}; a global policy's trace name -> {"", name}.
std::pair<std::string, std::string> SplitTraceName(const std::string& trace_name);

struct CountersData {
  uint64_t generation = 0;
  std::vector<RuleCounterData> rules;
  std::vector<std::pair<std::string, uint64_t>> drops;  // reason -> packets
  uint64_t received = 0, forwarded = 0, dropped = 0, active_flows = 0;
};

struct ObserveSources {
  std::function<CountersData()> counters;
  const flowlog::PolicySeries* series = nullptr;
  const flowlog::FlowHistory* flows = nullptr;
  // Flow records and events lost so far (counted, never silent).
  std::function<std::pair<uint64_t, uint64_t>()> lost;
  std::function<std::shared_ptr<const dp::classify::Program>()> program;
  store::Store* store = nullptr;
};

class ObserveService final : public tierwall::v1::ObserveService::WithCallbackMethod_WatchCounters<
                                 tierwall::v1::ObserveService::WithCallbackMethod_FollowFlows<
                                     tierwall::v1::ObserveService::Service>> {
 public:
  ObserveService(ObserveSources sources, const auth::Authorizer* authorizer,
                 CallAuthenticatorOptions authentication, StreamLimits limits = {});
  ~ObserveService() override;

  grpc::Status GetCounters(grpc::ServerContext* context,
                           const tierwall::v1::CountersRequest* request,
                           tierwall::v1::CountersResponse* response) override;
  grpc::ServerWriteReactor<tierwall::v1::CountersResponse>* WatchCounters(
      grpc::CallbackServerContext* context, const tierwall::v1::CountersRequest* request) override;
  grpc::Status GetFlows(grpc::ServerContext* context, const tierwall::v1::FlowsRequest* request,
                        tierwall::v1::FlowsResponse* response) override;
  grpc::ServerWriteReactor<tierwall::v1::FlowLog>* FollowFlows(
      grpc::CallbackServerContext* context, const tierwall::v1::FlowsRequest* request) override;
  grpc::Status Graph(grpc::ServerContext* context, const tierwall::v1::GraphRequest* request,
                     tierwall::v1::GraphResponse* response) override;
  grpc::Status Why(grpc::ServerContext* context, const tierwall::v1::WhyRequest* request,
                   tierwall::v1::WhyResponse* response) override;

 private:
  absl::Status Counters(const auth::Identity& who, const tierwall::v1::CountersRequest& request,
                        tierwall::v1::CountersResponse* response);
  absl::Status MayReadFlows(const auth::Identity& who);
  // PERMISSION_DENIED unless `who` may list counters in the namespace asked
  // for, or (none asked) cluster-wide or in a namespace that has counters.
  absl::Status MayReadCounters(const auth::Identity& who, const std::string& namespace_name,
                               const CountersData& data);

  class CountersStream;
  class FlowsStream;

  ObserveSources sources_;
  const auth::Authorizer* authorizer_;
  CallAuthenticator authenticator_;
  StreamLimiter limiter_;
  StreamPump pump_;
};

// TraceService.Trace against the running program.
class LiveTraceService final : public tierwall::v1::TraceService::Service {
 public:
  LiveTraceService(std::function<std::shared_ptr<const dp::classify::Program>()> program,
                   const auth::Authorizer* authorizer, CallAuthenticatorOptions authentication);
  grpc::Status Trace(grpc::ServerContext* context, const tierwall::v1::TraceRequest* request,
                     tierwall::v1::TraceResponse* response) override;

 private:
  std::function<std::shared_ptr<const dp::classify::Program>()> program_;
  const auth::Authorizer* authorizer_;
  CallAuthenticator authenticator_;
};

}  // namespace tierwall::ctl::api
