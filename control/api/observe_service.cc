#include "control/api/observe_service.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/api/resource_service.h"
#include "control/api/trace_proto.h"
#include "control/flowlog/flow_filter.h"
#include "control/flowlog/service_graph.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "control/why/introducing_revision.h"
#include "control/why/suggest_fix.h"

namespace tierwall::ctl::api {
namespace {

namespace v1 = ::tierwall::v1;
using dp::classify::IpAddr;

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// A counter's namespace and Calico policy name: "staged:" (which Calico puts
// before the name part: "tier.staged:name", "staged:knp.default.name") is
// what RuleCounter.staged says already.
std::pair<std::string, std::string> CounterName(const std::string& trace_name) {
  auto [ns, name] = SplitTraceName(trace_name);
  if (size_t at = name.find("staged:"); at != std::string::npos) name.erase(at, 7);
  return {ns, name};
}

// Policy strings are shown in full only for tiers the caller may get; for
// other tiers the policy's name and rule are hidden ("<hidden>"), so a flow
// still shows that the tier was evaluated and what it did, not how.
class Redactor {
 public:
  Redactor(const auth::Authorizer* authorizer, const auth::Identity& who)
      : authorizer_(authorizer), who_(who) {}

  bool Visible(const std::string& tier) {
    if (tier == "__PROFILE__" || tier.empty()) return true;
    auto [it, fresh] = visible_.try_emplace(tier, false);
    if (fresh) {
      it->second =
          authorizer_->Allowed(who_, {auth::Verb::kGet, auth::Resource::kTiers, tier, tier, ""});
    }
    return it->second;
  }

  // "<index>|<tier>|<name>|<action>|<rule>"
  std::string PolicyString(const std::string& s) {
    std::vector<std::string> f = absl::StrSplit(s, '|');
    if (f.size() != 5 || Visible(f[1])) return s;
    return absl::StrCat(f[0], "|", f[1], "|<hidden>|", f[3], "|-");
  }

  flowlog::FlowRecord Record(flowlog::FlowRecord r) {
    for (std::string& p : r.enforced_policies) p = PolicyString(p);
    for (std::string& p : r.pending_policies) p = PolicyString(p);
    return r;
  }

  void Trace(v1::TraceResponse* t) {
    for (v1::DirectionTrace* d : {t->mutable_egress(), t->mutable_ingress()}) {
      for (auto* hits : {d->mutable_enforced_hits(), d->mutable_pending_hits()}) {
        for (v1::PolicyHit& h : *hits) {
          if (Visible(h.tier())) continue;
          h.set_name("<hidden>");
          h.set_rule_index(0);
          h.set_flow_log_string(PolicyString(h.flow_log_string()));
        }
      }
    }
  }

 private:
  const auth::Authorizer* authorizer_;
  const auth::Identity& who_;
  std::map<std::string, bool> visible_;
};

void FillFlow(const flowlog::FlowRecord& r, v1::FlowLog* out) {
  out->set_start_time(r.start_time);
  out->set_end_time(r.end_time);
  out->set_source_ip(r.source_ip);
  out->set_source_name(r.source_name);
  out->set_source_name_aggr(r.source_name_aggr);
  out->set_source_namespace(r.source_namespace);
  for (const auto& [k, v] : r.source_labels) out->add_source_labels(k + "=" + v);
  out->set_source_type(r.source_type);
  out->set_dest_ip(r.dest_ip);
  out->set_dest_name(r.dest_name);
  out->set_dest_name_aggr(r.dest_name_aggr);
  out->set_dest_namespace(r.dest_namespace);
  for (const auto& [k, v] : r.dest_labels) out->add_dest_labels(k + "=" + v);
  out->set_dest_type(r.dest_type);
  out->set_dest_port(static_cast<uint32_t>(r.dest_port));
  out->set_proto(r.proto);
  out->set_action(r.action);
  out->set_reporter(r.reporter);
  for (const auto& p : r.enforced_policies) out->add_enforced_policies(p);
  for (const auto& p : r.pending_policies) out->add_pending_policies(p);
  out->set_num_flows(r.num_flows);
  out->set_num_flows_started(r.num_flows_started);
  out->set_num_flows_completed(r.num_flows_completed);
  out->set_packets_in(r.packets_in);
  out->set_packets_out(r.packets_out);
  out->set_bytes_in(r.bytes_in);
  out->set_bytes_out(r.bytes_out);
}

template <typename T, typename Parse>
absl::Status SetCriterion(const std::string& field, const std::string& value,
                          const std::set<std::string>& negated, Parse parse,
                          flowlog::Criterion<T>* c) {
  if (value.empty()) return absl::OkStatus();
  absl::StatusOr<T> parsed = parse(value);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.", field, ": ", parsed.status().message()));
  }
  c->any_of.push_back(std::move(*parsed));
  c->negate = negated.count(field) > 0;
  return absl::OkStatus();
}

absl::StatusOr<flowlog::FlowFilter> FilterOf(const v1::FlowFilter& f) {
  static const std::set<std::string> kFields = {"action", "policy", "tier",     "from",
                                                "to",     "port",   "namespace"};
  std::set<std::string> negated;
  for (const std::string& n : f.negated()) {
    if (!kFields.count(n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter.negated: \"", n,
                       "\" is not a filter (action, policy, tier, from, to, port, "
                       "namespace)"));
    }
    negated.insert(n);
  }
  auto same = [](const std::string& s) -> absl::StatusOr<std::string> { return s; };
  auto endpoint = [](const std::string& s) { return flowlog::ParseEndpointFilter(s); };
  flowlog::FlowFilter out;
  absl::Status s = SetCriterion("action", f.action(), negated, same, &out.actions);
  if (s.ok()) s = SetCriterion("policy", f.policy(), negated, same, &out.policies);
  if (s.ok()) s = SetCriterion("tier", f.tier(), negated, same, &out.tiers);
  if (s.ok()) s = SetCriterion("from", f.from(), negated, endpoint, &out.from);
  if (s.ok()) s = SetCriterion("to", f.to(), negated, endpoint, &out.to);
  if (s.ok()) s = SetCriterion("namespace", f.namespace_(), negated, same, &out.namespaces);
  if (s.ok() && f.port() != 0) {
    out.ports.any_of.push_back(static_cast<int>(f.port()));
    out.ports.negate = negated.count("port") > 0;
  }
  if (!s.ok()) return s;
  if (absl::Status v = out.Validate(); !v.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("filter: ", v.message()));
  }
  return out;
}

// "frontend.hipstershop", "hipstershop/frontend", a host endpoint's name, or
// an IP -> the endpoint's first address.
absl::StatusOr<IpAddr> Resolve(const model::ResourceSet& resources, const std::string& text,
                               const std::string& field) {
  if (auto ip = IpAddr::Parse(text)) return *ip;
  std::string ns, name = text;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    ns = text.substr(0, slash);
    name = text.substr(slash + 1);
  } else if (size_t dot = text.rfind('.'); dot != std::string::npos) {
    name = text.substr(0, dot);
    ns = text.substr(dot + 1);
  }
  for (const model::Endpoint& e : resources.endpoints) {
    if (e.ips.empty()) continue;
    const bool named = e.name == name || e.name == text;
    if (named && (e.namespace_ == ns || (ns.empty() && e.namespace_.empty()) ||
                  (e.namespace_.empty() && e.name == text))) {
      return e.ips.front();
    }
  }
  return absl::NotFoundError(
      absl::StrCat(field, ": no endpoint \"", text,
                   "\" (give name.namespace, namespace/name, a host endpoint's name or an IP)"));
}

// "frontend.hipstershop:8080/tcp" -> ("frontend.hipstershop", 8080, 6).
absl::Status SplitService(std::string text, std::string* host, uint16_t* port, uint8_t* proto) {
  *proto = dp::classify::kProtoTcp;
  if (size_t slash = text.rfind('/');
      slash != std::string::npos && text.find(':') != std::string::npos) {
    std::string p = text.substr(slash + 1);
    text = text.substr(0, slash);
    if (p == "tcp") {
      *proto = 6;
    } else if (p == "udp") {
      *proto = 17;
    } else if (p == "sctp") {
      *proto = 132;
    } else {
      return absl::InvalidArgumentError("to: protocol \"" + p + "\" is not tcp, udp or sctp");
    }
  }
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || text.find(':') != colon) {
    return absl::InvalidArgumentError(
        "to: give NAME:PORT[/PROTO], e.g. frontend.hipstershop:8080/tcp");
  }
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &value) || value == 0 || value > 65535) {
    return absl::InvalidArgumentError("to: \"" + text.substr(colon + 1) +
                                      "\" is not a port (1-65535)");
  }
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

}  // namespace

std::pair<std::string, std::string> SplitTraceName(const std::string& trace_name) {
  const size_t slash = trace_name.find('/');
  if (slash == std::string::npos) return {"", trace_name};
  return {trace_name.substr(0, slash), trace_name.substr(slash + 1)};
}

ObserveService::ObserveService(ObserveSources sources, const auth::Authorizer* authorizer,
                               CallAuthenticatorOptions authentication, StreamLimits limits)
    : sources_(std::move(sources)),
      authorizer_(authorizer),
      authenticator_(authentication),
      limiter_(limits) {}

ObserveService::~ObserveService() = default;

absl::Status ObserveService::MayReadCounters(const auth::Identity& who,
                                             const std::string& namespace_name,
                                             const CountersData& data) {
  const auth::Request request{auth::Verb::kList, auth::Resource::kCounters, "", "", namespace_name};
  absl::Status cluster = authorizer_->Check(who, request);
  if (cluster.ok() || !namespace_name.empty()) return cluster;
  std::set<std::string> tried;
  for (const RuleCounterData& r : data.rules) {
    const std::string ns = CounterName(r.policy).first;
    if (ns.empty() || !tried.insert(ns).second) continue;
    if (authorizer_->Allowed(who, {auth::Verb::kList, auth::Resource::kCounters, "", "", ns})) {
      return absl::OkStatus();
    }
  }
  return cluster;
}

absl::Status ObserveService::MayReadFlows(const auth::Identity& who) {
  return authorizer_->CheckOperation(who, auth::Operation::kList,
                                     auth::Target{auth::Resource::kFlows, "", "", ""}, true);
}

absl::Status ObserveService::Counters(const auth::Identity& who, const v1::CountersRequest& request,
                                      v1::CountersResponse* response) {
  CountersData data = sources_.counters();
  if (absl::Status s = MayReadCounters(who, request.namespace_(), data); !s.ok()) return s;
  const int64_t now = Now();
  response->set_time(now);
  response->set_program_generation(data.generation);
  // The node's totals and drop reasons belong to no namespace: only for
  // callers who may list counters everywhere.
  if (authorizer_->Allowed(who, {auth::Verb::kList, auth::Resource::kCounters, "", "", ""})) {
    response->set_packets_received(data.received);
    response->set_packets_forwarded(data.forwarded);
    response->set_packets_dropped(data.dropped);
    response->set_active_flows(data.active_flows);
    for (const auto& [reason, packets] : data.drops) {
      v1::DropCounter* d = response->add_drops();
      d->set_reason(reason);
      d->set_packets(packets);
    }
  }
  std::map<std::pair<std::string, std::string>, bool> visible;  // (tier, ns) -> may read
  auto may = [&](const std::string& tier, const std::string& ns) {
    auto [it, inserted] = visible.try_emplace({tier, ns}, false);
    if (inserted) {
      it->second =
          authorizer_->Allowed(who, {auth::Verb::kList, auth::Resource::kCounters, "", "", ns}) &&
          (tier == "__PROFILE__" ||
           authorizer_->Allowed(who, {auth::Verb::kGet, auth::Resource::kTiers, tier, tier, ""}));
    }
    return it->second;
  };
  for (const RuleCounterData& r : data.rules) {
    auto [ns, name] = CounterName(r.policy);
    if (!request.tier().empty() && r.tier != request.tier()) continue;
    if (!request.namespace_().empty() && !ns.empty() && ns != request.namespace_()) continue;
    if (!may(r.tier, ns)) continue;
    v1::RuleCounter* c = response->add_rules();
    c->set_tier(r.tier);
    c->set_policy(name);
    c->set_namespace_(ns);
    c->set_staged(r.staged);
    c->set_direction(r.ingress ? v1::DIRECTION_INGRESS : v1::DIRECTION_EGRESS);
    c->set_rule_index(r.rule_index);
    c->set_action(ActionOf(r.action));
    c->set_packets(r.packets);
    c->set_bytes(r.bytes);
    if (request.since_seconds() > 0 && sources_.series) {
      c->set_sample_seconds(sources_.series->bucket_seconds());
      for (const flowlog::Bucket& b :
           sources_.series->Query(r.slot, now - request.since_seconds(), now)) {
        v1::CounterSample* s = c->add_samples();
        s->set_start(b.start);
        s->set_packets(b.packets);
        s->set_bytes(b.bytes);
      }
    }
  }
  return absl::OkStatus();
}

grpc::Status ObserveService::GetCounters(grpc::ServerContext* context,
                                         const v1::CountersRequest* request,
                                         v1::CountersResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  return ToGrpcStatus(Counters(*who, *request, response));
}

namespace {

// A stream refused before it started: Finish at once, gone at OnDone.
template <typename Message>
class RefusedStream final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit RefusedStream(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// What the two streams share: every StartWrite and Finish happens in Tick, on
// the pump's thread, so a write and the finish never race; gRPC's callbacks
// (on its threads, possibly inline) only set flags.
template <typename Message>
class PolledWriter : public grpc::ServerWriteReactor<Message>, public PumpedStream {
 public:
  explicit PolledWriter(std::unique_ptr<StreamLimiter::Lease> lease) : lease_(std::move(lease)) {}

  void OnWriteDone(bool ok) override {
    if (!ok) failed_ = true;
    writing_ = false;
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    lease_.reset();  // the user's place is free again as soon as the call is
    done_ = true;
  }
  bool Done() const override { return done_; }

  void Tick(std::chrono::steady_clock::time_point now) override {
    if (finished_ || writing_) return;
    if (cancelled_ || failed_) {
      Finish(grpc::Status::OK);
      return;
    }
    absl::Status status = Next(now, &message_);
    if (status.code() == absl::StatusCode::kUnavailable) return;  // nothing to send yet
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    writing_ = true;
    this->StartWrite(&message_);
  }

 protected:
  // The next message into `out`; UNAVAILABLE: nothing yet; another error
  // ends the stream with it.
  virtual absl::Status Next(std::chrono::steady_clock::time_point now, Message* out) = 0;

 private:
  void Finish(const grpc::Status& status) {
    finished_ = true;
    grpc::ServerWriteReactor<Message>::Finish(status);
  }

  std::unique_ptr<StreamLimiter::Lease> lease_;
  Message message_;
  bool finished_ = false;  // pump thread only
  std::atomic<bool> writing_{false}, failed_{false}, cancelled_{false}, done_{false};
};

}  // namespace

class ObserveService::CountersStream final : public PolledWriter<v1::CountersResponse> {
 public:
  CountersStream(ObserveService* service, auth::Identity who, v1::CountersRequest request,
                 std::unique_ptr<StreamLimiter::Lease> lease)
      : PolledWriter(std::move(lease)),
        service_(service),
        who_(std::move(who)),
        request_(std::move(request)),
        interval_(request_.interval_seconds() > 0 ? request_.interval_seconds() : 2) {}

 private:
  absl::Status Next(std::chrono::steady_clock::time_point now, v1::CountersResponse* out) override {
    if (now < due_) return absl::UnavailableError("");
    due_ = now + interval_;
    out->Clear();
    return service_->Counters(who_, request_, out);
  }

  ObserveService* service_;
  const auth::Identity who_;
  const v1::CountersRequest request_;
  const std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point due_{};
};

grpc::ServerWriteReactor<v1::CountersResponse>* ObserveService::WatchCounters(
    grpc::CallbackServerContext* context, const v1::CountersRequest* request) {
  using Refused = RefusedStream<v1::CountersResponse>;
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return new Refused(who.status());
  // The rights GetCounters needs, checked before a stream is held open.
  if (absl::Status s = MayReadCounters(*who, request->namespace_(), sources_.counters()); !s.ok()) {
    return new Refused(s);
  }
  absl::StatusOr<std::unique_ptr<StreamLimiter::Lease>> lease = limiter_.Acquire(*who);
  if (!lease.ok()) return new Refused(lease.status());
  auto* stream = new CountersStream(this, *who, *request, *std::move(lease));
  pump_.Add(stream);
  return stream;
}
grpc::Status ObserveService::GetFlows(grpc::ServerContext* context, const v1::FlowsRequest* request,
                                      v1::FlowsResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = MayReadFlows(*who); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<flowlog::FlowFilter> filter = FilterOf(request->filter());
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  const int64_t since = request->since_seconds() > 0 ? Now() - request->since_seconds() : 0;
  // Filters see what the caller sees: a hidden policy's name cannot be probed.
  Redactor redact(authorizer_, *who);
  std::vector<flowlog::FlowRecord> matched;
  for (flowlog::FlowRecord& r : sources_.flows->Query(flowlog::FlowFilter{}, 0, since)) {
    flowlog::FlowRecord shown = redact.Record(std::move(r));
    if (filter->Matches(shown)) matched.push_back(std::move(shown));
  }
  const size_t first = request->last() > 0 && matched.size() > request->last()
                           ? matched.size() - request->last()
                           : 0;
  for (size_t i = first; i < matched.size(); ++i) FillFlow(matched[i], response->add_flows());
  if (sources_.lost) {
    auto [records, events] = sources_.lost();
    response->set_lost_records(records);
    response->set_lost_events(events);
  }
  return grpc::Status::OK;
}

class ObserveService::FlowsStream final : public PolledWriter<v1::FlowLog> {
 public:
  FlowsStream(const flowlog::FlowHistory* flows, const auth::Authorizer* authorizer,
              auth::Identity who, flowlog::FlowFilter filter, std::deque<v1::FlowLog> backlog,
              uint64_t seq, std::unique_ptr<StreamLimiter::Lease> lease)
      : PolledWriter(std::move(lease)),
        flows_(flows),
        who_(std::move(who)),
        redact_(authorizer, who_),
        filter_(std::move(filter)),
        pending_(std::move(backlog)),
        seq_(seq) {}

 private:
  absl::Status Next(std::chrono::steady_clock::time_point, v1::FlowLog* out) override {
    // New records are read only once the last ones are sent, as the blocking
    // writer did: a slow reader holds back its own cursor, not memory.
    if (pending_.empty()) {
      for (auto& [s, r] : flows_->WaitForNewer(seq_, std::chrono::milliseconds(0))) {
        seq_ = s;
        flowlog::FlowRecord shown = redact_.Record(std::move(r));
        if (!filter_.Matches(shown)) continue;
        FillFlow(shown, &pending_.emplace_back());
      }
    }
    if (pending_.empty()) return absl::UnavailableError("");
    *out = std::move(pending_.front());
    pending_.pop_front();
    return absl::OkStatus();
  }

  const flowlog::FlowHistory* flows_;
  const auth::Identity who_;
  Redactor redact_;
  const flowlog::FlowFilter filter_;
  std::deque<v1::FlowLog> pending_;
  uint64_t seq_;
};

grpc::ServerWriteReactor<v1::FlowLog>* ObserveService::FollowFlows(
    grpc::CallbackServerContext* context, const v1::FlowsRequest* request) {
  using Refused = RefusedStream<v1::FlowLog>;
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return new Refused(who.status());
  if (absl::Status s = MayReadFlows(*who); !s.ok()) return new Refused(s);
  absl::StatusOr<flowlog::FlowFilter> filter = FilterOf(request->filter());
  if (!filter.ok()) return new Refused(filter.status());
  absl::StatusOr<std::unique_ptr<StreamLimiter::Lease>> lease = limiter_.Acquire(*who);
  if (!lease.ok()) return new Refused(lease.status());
  Redactor redact(authorizer_, *who);
  const uint64_t seq = sources_.flows->last_seq();
  std::deque<v1::FlowLog> backlog;
  if (request->last() > 0) {
    std::vector<flowlog::FlowRecord> matched;
    for (flowlog::FlowRecord& r : sources_.flows->Query(flowlog::FlowFilter{}, 0)) {
      flowlog::FlowRecord shown = redact.Record(std::move(r));
      if (filter->Matches(shown)) matched.push_back(std::move(shown));
    }
    const size_t first = matched.size() > request->last() ? matched.size() - request->last() : 0;
    for (size_t i = first; i < matched.size(); ++i) FillFlow(matched[i], &backlog.emplace_back());
  }
  auto* stream = new FlowsStream(sources_.flows, authorizer_, *who, *std::move(filter),
                                 std::move(backlog), seq, *std::move(lease));
  pump_.Add(stream);
  return stream;
}
grpc::Status ObserveService::Graph(grpc::ServerContext* context, const v1::GraphRequest* request,
                                   v1::GraphResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = MayReadFlows(*who); !s.ok()) return ToGrpcStatus(s);
  const int64_t since = request->since_seconds() > 0 ? Now() - request->since_seconds() : 0;
  Redactor redact(authorizer_, *who);
  std::vector<flowlog::FlowRecord> records;
  for (flowlog::FlowRecord& r : sources_.flows->Query(flowlog::FlowFilter{}, 0, since))
    records.push_back(redact.Record(std::move(r)));
  flowlog::ServiceGraph graph = flowlog::ServiceGraph::FromRecords(records);
  if (!request->namespace_().empty()) graph = graph.FilterNamespace(request->namespace_());
  response->set_json(graph.ToJson().dump(2));
  response->set_dot(graph.ToDot());
  return grpc::Status::OK;
}

grpc::Status ObserveService::Why(grpc::ServerContext* context, const v1::WhyRequest* request,
                                 v1::WhyResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = MayReadFlows(*who); !s.ok()) return ToGrpcStatus(s);
  if (request->from().empty()) return ToGrpcStatus(absl::InvalidArgumentError("from: required"));
  if (request->to().empty()) return ToGrpcStatus(absl::InvalidArgumentError("to: required"));

  // The state the running program was compiled from.
  absl::StatusOr<store::Snapshot> snapshot = sources_.store->CurrentSnapshot();
  if (!snapshot.ok()) return ToGrpcStatus(snapshot.status());
  model::ResourceSet resources;
  if (absl::Status s = model::ParseResources(snapshot->yaml, "store", &resources); !s.ok())
    return ToGrpcStatus(s);

  why::Packet packet;
  std::string to_host;
  if (absl::Status s = SplitService(request->to(), &to_host, &packet.dst_port, &packet.proto);
      !s.ok())
    return ToGrpcStatus(s);
  absl::StatusOr<IpAddr> src = Resolve(resources, request->from(), "from");
  if (!src.ok()) return ToGrpcStatus(src.status());
  absl::StatusOr<IpAddr> dst = Resolve(resources, to_host, "to");
  if (!dst.ok()) return ToGrpcStatus(dst.status());
  packet.src = *src;
  packet.dst = *dst;
  v1::Packet* p = response->mutable_packet();
  p->set_source_ip(src->ToString());
  p->set_destination_ip(dst->ToString());
  p->set_protocol(packet.proto);
  p->set_destination_port(packet.dst_port);

  std::shared_ptr<const dp::classify::Program> program = sources_.program();
  if (!program) return ToGrpcStatus(absl::FailedPreconditionError("no program published yet"));
  trace::TraceReport report = trace::TracePacket(*program, packet.Key());
  *response->mutable_trace() = ToProto(report, program->generation);
  Redactor redact(authorizer_, *who);
  redact.Trace(response->mutable_trace());
  response->set_verdict(report.verdict);
  const why::Outcome flip = report.verdict == "allow" ? why::Outcome::kDeny : why::Outcome::kAllow;

  absl::StatusOr<why::Decision> decision = why::FindDecision(resources, packet, flip);
  if (!decision.ok()) {
    response->set_explanation(std::string(decision.status().message()));
    return grpc::Status::OK;
  }
  const why::TraceStep& step = decision->deciding();
  const char* dir = decision->direction == model::Direction::kIngress ? "ingress" : "egress";
  if (!redact.Visible(step.tier)) {
    response->set_deciding_policy(absl::StrCat(step.tier, "|<hidden>|", step.action, "|-"));
    response->set_explanation(absl::StrCat("decided (", step.action, ") for ", dir, " in tier ",
                                           step.tier, ", which you may not read"));
    return grpc::Status::OK;
  }
  response->set_deciding_policy(
      absl::StrCat(step.tier, "|", step.policy, "|", step.action, "|", step.rule_index));
  if (step.rule_index < 0) {
    response->set_explanation(absl::StrCat(
        "end of tier ", step.tier, ": policy ", step.policy, " selects ", decision->endpoint,
        " for ", dir, " and none of the tier's rules match, so the tier's default action (",
        step.action, ") decides"));
  } else {
    response->set_explanation(absl::StrCat(dir, " rule ", step.rule_index, " of ", step.policy,
                                           " (tier ", step.tier, ") matches: ", step.action));
  }

  // Live evidence: flows between the two addresses to the port, and the
  // deciding rule's counters.
  const int64_t window = request->since_seconds() > 0 ? request->since_seconds() : 900;
  flowlog::FlowFilter filter;
  if (auto f = flowlog::ParseEndpointFilter(src->ToString()); f.ok())
    filter.from.any_of.push_back(*f);
  if (auto f = flowlog::ParseEndpointFilter(dst->ToString()); f.ok())
    filter.to.any_of.push_back(*f);
  filter.ports.any_of.push_back(packet.dst_port);
  for (auto& r : sources_.flows->Query(filter, 5, Now() - window))
    FillFlow(redact.Record(std::move(r)), response->add_recent_flows());
  v1::CountersRequest creq;
  creq.set_tier(step.tier);
  creq.set_since_seconds(window);
  v1::CountersResponse counters;
  if (Counters(*who, creq, &counters).ok()) {
    auto [ns, name] = CounterName(step.policy);
    for (const v1::RuleCounter& c : counters.rules()) {
      if (c.policy() == name && c.namespace_() == ns && c.rule_index() == step.rule_index &&
          c.direction() == (decision->direction == model::Direction::kIngress
                                ? v1::DIRECTION_INGRESS
                                : v1::DIRECTION_EGRESS)) {
        *response->add_counters() = c;
      }
    }
  }

  if (!decision->policy)
    return grpc::Status::OK;  // a profile decides: nothing in the store to blame
  const why::PolicyRef& policy = *decision->policy;
  store::Identity id{policy.kind, policy.namespace_, policy.StoreName()};
  auth::Target target{auth::Resource::kNetworkPolicies, policy.tier, id.name, id.namespace_};
  if (policy.kind == "GlobalNetworkPolicy")
    target.resource = auth::Resource::kGlobalNetworkPolicies;
  if (policy.kind == "KubernetesNetworkPolicy") {
    target.resource = auth::Resource::kKubernetesNetworkPolicies;
    target.tier.clear();
  }
  v1::ResourceRef* ref = response->mutable_deciding_resource();
  ref->set_kind(id.kind);
  ref->set_namespace_(id.namespace_);
  ref->set_name(id.name);
  if (!authorizer_->CheckOperation(*who, auth::Operation::kHistory, target, true).ok()) {
    response->set_suggestion_summary(
        "(no get rights on the deciding policy: history and fix not shown)");
    return grpc::Status::OK;
  }
  absl::StatusOr<store::Resource> current = sources_.store->Get(id);
  if (!current.ok()) return grpc::Status::OK;

  // The revision since which this connection gets today's verdict.
  absl::StatusOr<std::vector<store::HistoryEntry>> history = sources_.store->History(id);
  if (history.ok() && !history->empty()) {
    std::vector<std::optional<std::string>> versions;
    for (const store::HistoryEntry& e : *history) {
      if (e.verb == "delete") {
        versions.push_back(std::nullopt);
      } else if (auto y = sources_.store->VersionAt(id, e.revision); y.ok()) {
        versions.push_back(*y);
      } else {
        versions.push_back(std::nullopt);
      }
    }
    std::vector<std::string> others;
    absl::StatusOr<std::vector<store::Resource>> all = sources_.store->List();
    if (all.ok())
      for (const store::Resource& r : *all)
        if (!(r.identity == id)) others.push_back(r.yaml);
    absl::StatusOr<size_t> index =
        why::FindIntroducingRevision(versions, why::OutcomeForPacket(others, packet));
    if (index.ok()) {
      const store::HistoryEntry& e = (*history)[*index];
      v1::Revision* rev = response->mutable_introduced_by();
      rev->set_kind(id.kind);
      rev->set_namespace_(id.namespace_);
      rev->set_name(id.name);
      rev->set_revision(e.revision);
      rev->set_time(e.time);
      rev->set_user(e.user);
      rev->set_verb(e.verb);
      const int64_t before = *index > 0 ? (*history)[*index - 1].revision : 0;
      if (auto d = sources_.store->Diff(id, before, e.revision); d.ok()) rev->set_diff(*d);
    }
  }

  absl::StatusOr<why::Suggestion> fix = why::SuggestFix(resources, current->yaml, packet, flip);
  if (fix.ok()) {
    response->set_suggestion_yaml(fix->yaml);
    response->set_suggestion_summary(fix->rule_summary);
    response->set_suggestion_verified(fix->verified);
  } else {
    response->set_suggestion_summary(absl::StrCat("no single-rule fix: ", fix.status().message()));
  }
  return grpc::Status::OK;
}

LiveTraceService::LiveTraceService(
    std::function<std::shared_ptr<const dp::classify::Program>()> program,
    const auth::Authorizer* authorizer, CallAuthenticatorOptions authentication)
    : program_(std::move(program)), authorizer_(authorizer), authenticator_(authentication) {}

grpc::Status LiveTraceService::Trace(grpc::ServerContext* context, const v1::TraceRequest* request,
                                     v1::TraceResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = authorizer_->CheckOperation(
          *who, auth::Operation::kList, auth::Target{auth::Resource::kFlows, "", "", ""}, true);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  const v1::Packet& p = request->packet();
  auto src = IpAddr::Parse(p.source_ip());
  if (!src)
    return ToGrpcStatus(absl::InvalidArgumentError("packet.source_ip: \"" + p.source_ip() +
                                                   "\" is not an IP address"));
  auto dst = IpAddr::Parse(p.destination_ip());
  if (!dst)
    return ToGrpcStatus(absl::InvalidArgumentError("packet.destination_ip: \"" +
                                                   p.destination_ip() + "\" is not an IP address"));
  if (src->family != dst->family)
    return ToGrpcStatus(
        absl::InvalidArgumentError("packet: source and destination must be the same IP family"));
  if (p.protocol() > 255) return ToGrpcStatus(absl::InvalidArgumentError("packet.protocol: 0-255"));
  if (p.source_port() > 65535 || p.destination_port() > 65535)
    return ToGrpcStatus(absl::InvalidArgumentError("packet: ports are 0-65535"));
  dp::classify::PacketKey key;
  key.src = *src;
  key.dst = *dst;
  key.proto = static_cast<uint8_t>(p.protocol());
  const bool icmp = key.proto == 1 || key.proto == 58;
  key.src_port = static_cast<uint16_t>(icmp ? p.icmp_type() : p.source_port());
  key.dst_port = static_cast<uint16_t>(icmp ? p.icmp_code() : p.destination_port());
  std::shared_ptr<const dp::classify::Program> program = program_();
  if (!program) return ToGrpcStatus(absl::FailedPreconditionError("no program published yet"));
  *response = ToProto(trace::TracePacket(*program, key), program->generation);
  Redactor(authorizer_, *who).Trace(response);
  return grpc::Status::OK;
}

}  // namespace tierwall::ctl::api
