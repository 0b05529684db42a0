// Microbenchmarks for the selector language: parse cost (paid once per
// policy/rule update) and Matches() cost (paid per endpoint x selector when
// the compiler builds address sets, so it dominates recompiles).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "control/selector/selector.h"

namespace {

using tierwall::ctl::selector::Labels;
using tierwall::ctl::selector::Selector;

// Selectors shaped like the ones in real Calico/Kubernetes clusters.
const std::vector<std::string>& Selectors() {
  static const auto* const kSelectors = new std::vector<std::string>{
      "",
      "all()",
      "global()",
      "app == 'frontend'",
      "k8s-app == 'kube-dns'",
      "has(projectcalico.org/namespace) && projectcalico.org/namespace == 'kube-system'",
      "app in {'web', 'api', 'cache', 'db'} && tier != 'test'",
      "role == 'db' && (env == 'prod' || env == 'staging') && !has(quarantine)",
      "projectcalico.org/name not in {'kube-system', 'calico-system', 'tigera-operator'}",
      "app.kubernetes.io/name starts with 'prometheus' || app.kubernetes.io/name ends with "
      "'-exporter' || app.kubernetes.io/component contains 'monitor'",
  };
  return *kSelectors;
}

// A typical pod's effective labels: user labels plus the namespace and
// service-account labels the compiler adds.
Labels PodLabels() {
  return {
      {"app", "web"},
      {"app.kubernetes.io/component", "server"},
      {"app.kubernetes.io/name", "web"},
      {"env", "prod"},
      {"pod-template-hash", "6d4cf56db6"},
      {"projectcalico.org/namespace", "shop"},
      {"projectcalico.org/orchestrator", "k8s"},
      {"projectcalico.org/serviceaccount", "web"},
      {"role", "db"},
      {"tier", "backend"},
  };
}

void BM_Parse(benchmark::State& state) {
  const std::string& text = Selectors()[state.range(0)];
  for (auto _ : state) {
    auto sel = Selector::Parse(text);
    benchmark::DoNotOptimize(sel);
  }
  state.SetLabel(text.substr(0, 48));
}
BENCHMARK(BM_Parse)->DenseRange(0, 9);

void BM_Matches(benchmark::State& state) {
  auto sel = Selector::Parse(Selectors()[state.range(0)]);
  if (!sel.ok()) {
    state.SkipWithError(std::string(sel.status().message()).c_str());
    return;
  }
  const Labels labels = PodLabels();
  for (auto _ : state) {
    benchmark::DoNotOptimize(sel->Matches(labels));
  }
  state.SetLabel(sel->Canonical().substr(0, 48));
}
BENCHMARK(BM_Matches)->DenseRange(0, 9);

// All selectors against a population of endpoints, as an address-set build does.
void BM_MatchesPopulation(benchmark::State& state) {
  std::vector<Selector> sels;
  for (const auto& text : Selectors()) {
    auto sel = Selector::Parse(text);
    if (!sel.ok()) {
      state.SkipWithError(std::string(sel.status().message()).c_str());
      return;
    }
    sels.push_back(*std::move(sel));
  }
  std::vector<Labels> endpoints;
  const char* const kApps[] = {"web", "api", "cache", "db", "prometheus-node-exporter"};
  for (int i = 0; i < state.range(0); ++i) {
    Labels l = PodLabels();
    l["app"] = kApps[i % 5];
    l["app.kubernetes.io/name"] = kApps[(i / 5) % 5];
    l["env"] = i % 3 == 0 ? "prod" : "dev";
    if (i % 7 == 0) l.erase("projectcalico.org/namespace");
    endpoints.push_back(std::move(l));
  }
  for (auto _ : state) {
    int matched = 0;
    for (const auto& sel : sels) {
      for (const auto& ep : endpoints) matched += sel.Matches(ep) ? 1 : 0;
    }
    benchmark::DoNotOptimize(matched);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(sels.size()) * state.range(0));
}
BENCHMARK(BM_MatchesPopulation)->Arg(100)->Arg(1000);

}  // namespace
