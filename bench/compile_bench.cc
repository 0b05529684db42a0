// Policy compile time and per-packet evaluation versus the size of the policy
// set, on a synthetic cluster shaped like a real one: N services, each a
// namespaced NetworkPolicy in an app tier allowing ingress from two other
// services on a named port, plus a security tier of GlobalNetworkPolicies
// that Pass most traffic and Deny a blocked range.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "control/compiler/compiler.h"
#include "control/trace/trace.h"

namespace tierwall {
namespace {

using ctl::model::Action;
using ctl::model::ResourceSet;

ctl::model::Rule AllowFrom(const std::string& app, const std::string& port) {
  ctl::model::Rule r;
  r.action = Action::kAllow;
  r.protocol = 6;
  r.source.selector = *ctl::selector::Selector::Parse("app == '" + app + "'");
  r.destination.ports.names.push_back(port);
  return r;
}

// `services` services in ceil(services / 20) namespaces, 3 pods each.
ResourceSet Cluster(int services) {
  ResourceSet rs;
  rs.tiers.push_back({"security", 100.0, Action::kPass, {}});
  rs.tiers.push_back({"app", 300.0, Action::kDeny, {}});
  for (int g = 0; g < 10; ++g) {
    ctl::model::Policy p;
    p.kind = ctl::model::PolicyKind::kGlobalNetworkPolicy;
    p.tier = "security";
    p.name = "guard-" + std::to_string(g);
    p.order = g;
    p.applies_ingress = p.applies_egress = true;
    ctl::model::Rule deny;
    deny.action = Action::kDeny;
    deny.source.nets.push_back(
        *dp::classify::Cidr::Parse("198.19." + std::to_string(200 + g) + ".0/24"));
    p.ingress.push_back(deny);
    ctl::model::Rule pass;
    pass.action = Action::kPass;
    p.ingress.push_back(pass);
    p.egress.push_back(pass);
    rs.policies.push_back(p);
  }
  uint32_t ip = 0xc6120000u;  // 198.18.0.0
  for (int s = 0; s < services; ++s) {
    std::string ns = "ns-" + std::to_string(s / 20);
    std::string app = "svc-" + std::to_string(s);
    for (int pod = 0; pod < 3; ++pod) {
      ctl::model::Endpoint e;
      e.name = app + "-" + std::to_string(pod);
      e.namespace_ = ns;
      e.labels = {{"app", app}};
      e.ips.push_back(dp::classify::IpAddr::V4(++ip));
      e.ports.push_back({"http", 6, static_cast<uint16_t>(8000 + s % 100)});
      e.profiles = {"kns." + ns};
      rs.endpoints.push_back(e);
    }
    ctl::model::Policy p;
    p.kind = ctl::model::PolicyKind::kNetworkPolicy;
    p.tier = "app";
    p.name = app;
    p.namespace_ = ns;
    p.selector = *ctl::selector::Selector::Parse("app == '" + app + "'");
    p.applies_ingress = true;
    int base = (s / 20) * 20;
    p.ingress.push_back(AllowFrom("svc-" + std::to_string(base + (s + 1) % 20), "http"));
    p.ingress.push_back(AllowFrom("svc-" + std::to_string(base + (s + 7) % 20), "http"));
    rs.policies.push_back(p);
  }
  return rs;
}

void BM_Compile(benchmark::State& state) {
  ResourceSet rs = Cluster(static_cast<int>(state.range(0)));
  size_t memory = 0;
  for (auto _ : state) {
    auto program = ctl::compiler::Compile(rs);
    if (!program.ok()) state.SkipWithError(std::string(program.status().message()).c_str());
    memory = (*program)->MemoryBytes();
    benchmark::DoNotOptimize(program);
  }
  state.counters["policies"] = static_cast<double>(rs.policies.size());
  state.counters["endpoints"] = static_cast<double>(rs.endpoints.size());
  state.counters["program_bytes"] = static_cast<double>(memory);
}
BENCHMARK(BM_Compile)->Arg(20)->Arg(100)->Arg(500)->Arg(1000)->Unit(benchmark::kMillisecond);

// One new flow judged at both ends (egress at the source, ingress at the
// destination), enforced and pending: what a worker does per new connection.
void BM_Evaluate(benchmark::State& state) {
  ResourceSet rs = Cluster(static_cast<int>(state.range(0)));
  auto program = ctl::compiler::Compile(rs);
  if (!program.ok()) {
    state.SkipWithError(std::string(program.status().message()).c_str());
    return;
  }
  std::mt19937 rng(7);
  std::vector<dp::classify::PacketKey> packets(4096);
  for (auto& k : packets) {
    const auto& src = rs.endpoints[rng() % rs.endpoints.size()];
    const auto& dst = rs.endpoints[rng() % rs.endpoints.size()];
    k.src = src.ips[0];
    k.dst = dst.ips[0];
    k.proto = 6;
    k.src_port = static_cast<uint16_t>(32768 + rng() % 20000);
    k.dst_port = dst.ports[0].port;
  }
  dp::classify::PacketVerdict v;
  size_t i = 0;
  for (auto _ : state) {
    (*program)->Evaluate(packets[i++ & 4095], &v);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Evaluate)->Arg(20)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace tierwall

BENCHMARK_MAIN();
