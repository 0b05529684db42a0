// Differential test: compiler + Program + trace against the reference evaluator.
//
// For each seed: a random ResourceSet, compiled with ctl::compiler::Compile,
// then random packets traced with ctl::trace::TracePacket and judged by
// ReferenceEvaluate; the verdict, both endpoint names and all four trace
// lists must agree exactly. On a mismatch the seed, packet, both reports and
// a dump of the resources are printed; the run stops after 5 mismatches.
//
// Environment:
//   TW_DIFF_SCALE=0.05   fewer resource sets (e.g. under ASan); default 1
//   TW_DIFF_SEED=1234    run only this seed (reproduce a failure)
//   TW_DIFF_FIRST_SEED=N start the seed range at N instead of 1
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/compiler/compiler.h"
#include "control/trace/trace.h"
#include "tests/differential/random_resources.h"
#include "tests/reference/reference_evaluator.h"

namespace tierwall::test {
namespace {

using ctl::model::Action;
using ctl::model::ResourceSet;
using dp::classify::PacketKey;

constexpr int kResourceSets = 500;
constexpr int kPacketsPerSet = 200;
constexpr int kMaxMismatches = 5;

double Scale() {
  const char* s = std::getenv("TW_DIFF_SCALE");
  if (s == nullptr || *s == '\0') return 1.0;
  const double v = std::atof(s);
  return v > 0 ? v : 1.0;
}

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  return std::strtoull(s, nullptr, 10);
}

RefTraceReport FromTrace(const ctl::trace::TraceReport& t) {
  RefTraceReport r;
  r.verdict = t.verdict;
  r.source_endpoint = t.source_endpoint;
  r.destination_endpoint = t.destination_endpoint;
  auto dir =
      [](const std::optional<ctl::trace::DirectionReport>& d) -> std::optional<RefDirectionReport> {
    if (!d.has_value()) return std::nullopt;
    return RefDirectionReport{d->verdict, d->pending_verdict, d->enforced, d->pending};
  };
  r.egress = dir(t.egress);
  r.ingress = dir(t.ingress);
  return r;
}

// Empty when equal; otherwise one line per differing field.
std::string Diff(const RefTraceReport& want, const RefTraceReport& got) {
  std::string out;
  auto opt = [](const std::optional<std::string>& s) { return s.value_or("<none>"); };
  if (want.verdict != got.verdict) {
    absl::StrAppend(&out, "  verdict: reference ", want.verdict, ", compiled ", got.verdict, "\n");
  }
  if (want.source_endpoint != got.source_endpoint) {
    absl::StrAppend(&out, "  source endpoint: reference ", opt(want.source_endpoint), ", compiled ",
                    opt(got.source_endpoint), "\n");
  }
  if (want.destination_endpoint != got.destination_endpoint) {
    absl::StrAppend(&out, "  destination endpoint: reference ", opt(want.destination_endpoint),
                    ", compiled ", opt(got.destination_endpoint), "\n");
  }
  auto dir = [&](const char* name, const std::optional<RefDirectionReport>& w,
                 const std::optional<RefDirectionReport>& g) {
    if (w.has_value() != g.has_value()) {
      absl::StrAppend(&out, "  ", name, ": reference ", w ? "evaluated" : "not evaluated",
                      ", compiled ", g ? "evaluated" : "not evaluated", "\n");
      return;
    }
    if (!w.has_value()) return;
    if (w->verdict != g->verdict) absl::StrAppend(&out, "  ", name, ".verdict differs\n");
    if (w->pending_verdict != g->pending_verdict) {
      absl::StrAppend(&out, "  ", name, ".pending_verdict differs\n");
    }
    if (w->enforced != g->enforced) absl::StrAppend(&out, "  ", name, ".enforced differs\n");
    if (w->pending != g->pending) absl::StrAppend(&out, "  ", name, ".pending differs\n");
  };
  dir("egress", want.egress, got.egress);
  dir("ingress", want.ingress, got.ingress);
  return out;
}

struct RunStats {
  int64_t packets = 0;
  int64_t allowed = 0;
  int64_t pending_differs = 0;  // enforced and pending verdicts differ somewhere
  int64_t passes = 0;           // traces with a pass entry
  int64_t end_of_tier = 0;      // traces ending a tier (rule -1) outside profiles
  int64_t unknown_side = 0;
  int sets = 0;
  int mismatches = 0;
  std::string first_report;
};

// Runs `num_sets` seeds from `first_seed`. `mutate`, when given, changes the
// resources seen by the reference only (to prove the comparison can fail).
RunStats RunSeeds(uint64_t first_seed, int num_sets, int packets_per_set, bool print,
                  const std::function<void(ResourceSet*)>& mutate = nullptr) {
  RunStats stats;
  for (int s = 0; s < num_sets && stats.mismatches < kMaxMismatches; ++s) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(s);
    const ResourceSet resources = RandomResources(seed);
    ResourceSet reference_resources = resources;
    if (mutate) mutate(&reference_resources);
    ++stats.sets;

    absl::StatusOr<std::unique_ptr<dp::classify::Program>> program;
    try {
      program = ctl::compiler::Compile(resources);
    } catch (const std::exception& e) {
      // e.g. std::bad_alloc from a blown-up classifier: report the seed.
      program = absl::InternalError(absl::StrCat("exception from Compile: ", e.what()));
    }
    if (!program.ok()) {
      ++stats.mismatches;
      std::string msg =
          absl::StrCat("seed ", seed,
                       ": Compile rejected a generated ResourceSet: ", program.status().ToString(),
                       "\nresources:\n", DumpResources(resources));
      if (stats.first_report.empty()) stats.first_report = msg;
      if (print) ADD_FAILURE() << msg;
      continue;
    }
    bool dumped = false;
    for (const PacketKey& packet : RandomPackets(resources, seed, packets_per_set)) {
      const RefTraceReport want = ReferenceEvaluate(reference_resources, packet);
      const RefTraceReport got = FromTrace(ctl::trace::TracePacket(**program, packet));
      ++stats.packets;
      stats.allowed += want.verdict == "allow";
      stats.unknown_side += !want.source_endpoint || !want.destination_endpoint;
      for (const auto* d : {&want.egress, &want.ingress}) {
        if (!d->has_value()) continue;
        stats.pending_differs += (*d)->verdict != (*d)->pending_verdict;
        for (const auto& e : (*d)->enforced) {
          stats.passes += e.find("|pass|") != std::string::npos;
          stats.end_of_tier += e.ends_with("|-1") && e.find("|__PROFILE__|") == std::string::npos;
        }
      }
      const std::string diff = Diff(want, got);
      if (diff.empty()) continue;
      ++stats.mismatches;
      std::string msg =
          absl::StrCat("MISMATCH seed ", seed, " (reproduce: TW_DIFF_SEED=", seed,
                       ")\npacket: ", PacketToString(packet), "\n", diff, "reference:\n",
                       RefReportToString(want), "compiled:\n", RefReportToString(got));
      if (!dumped) {
        absl::StrAppend(&msg, "resources (seed ", seed, "):\n", DumpResources(resources));
        dumped = true;
      }
      if (stats.first_report.empty()) stats.first_report = msg;
      if (print) ADD_FAILURE() << msg;
      if (stats.mismatches >= kMaxMismatches) break;
    }
  }
  return stats;
}

TEST(Differential, CompiledProgramMatchesReference) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t only_seed = EnvU64("TW_DIFF_SEED", 0);
  const uint64_t first_seed = only_seed != 0 ? only_seed : EnvU64("TW_DIFF_FIRST_SEED", 1);
  const int num_sets =
      only_seed != 0 ? 1 : std::max(1, static_cast<int>(kResourceSets * Scale() + 0.5));
  const RunStats stats = RunSeeds(first_seed, num_sets, kPacketsPerSet, /*print=*/true);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "differential: " << stats.sets << " resource sets, " << stats.packets
            << " packets in " << secs << " s; allowed " << stats.allowed << ", one side unknown "
            << stats.unknown_side << ", pending verdict differs " << stats.pending_differs
            << ", pass entries " << stats.passes << ", end-of-tier entries " << stats.end_of_tier
            << ", mismatches " << stats.mismatches << "\n";
  EXPECT_EQ(stats.mismatches, 0);
  if (only_seed == 0 && Scale() >= 1.0) {
    EXPECT_GE(stats.packets, 100000);
  }
  // The generator must exercise the interesting paths, or a pass is hollow.
  if (stats.packets >= 10000) {
    EXPECT_GT(stats.allowed, stats.packets / 20);
    EXPECT_LT(stats.allowed, stats.packets - stats.packets / 20);
    EXPECT_GT(stats.pending_differs, 0);
    EXPECT_GT(stats.passes, 0);
    EXPECT_GT(stats.end_of_tier, 0);
  }
}

// The comparison must be able to fail: give the reference a mutated copy of
// the resources and require mismatches to be found.
struct Mutation {
  const char* name;
  std::function<void(ResourceSet*)> apply;
};

TEST(Differential, ComparisonDetectsMutations) {
  const std::vector<Mutation> mutations = {
      {"flip Allow<->Deny in every policy rule",
       [](ResourceSet* rs) {
         for (auto& p : rs->policies) {
           for (auto* rules : {&p.ingress, &p.egress}) {
             for (auto& r : *rules) {
               if (r.action == Action::kAllow) {
                 r.action = Action::kDeny;
               } else if (r.action == Action::kDeny) {
                 r.action = Action::kAllow;
               }
             }
           }
         }
       }},
      {"flip every tier's defaultAction and add an explicit default tier",
       [](ResourceSet* rs) {
         bool has_default = false;
         for (auto& t : rs->tiers) {
           has_default = has_default || t.name == "default";
           t.default_action = t.default_action == Action::kDeny ? Action::kPass : Action::kDeny;
         }
         if (!has_default) {
           ctl::model::Tier def;
           def.name = "default";
           def.order = 1e6;
           def.default_action = Action::kPass;
           rs->tiers.push_back(def);
         }
       }},
      {"drop the first IP of every endpoint",
       [](ResourceSet* rs) {
         for (auto& e : rs->endpoints) e.ips.erase(e.ips.begin());
       }},
      {"make every staged policy enforced",
       [](ResourceSet* rs) {
         for (auto& p : rs->policies) p.staged = false;
       }},
  };
  for (const auto& m : mutations) {
    const RunStats stats = RunSeeds(/*first_seed=*/1000, /*num_sets=*/30, /*packets_per_set=*/100,
                                    /*print=*/false, m.apply);
    EXPECT_GT(stats.mismatches, 0) << "mutation not detected: " << m.name;
  }
}

TEST(Differential, GeneratorIsDeterministicAndDumps) {
  const ResourceSet a = RandomResources(42);
  const ResourceSet b = RandomResources(42);
  EXPECT_EQ(DumpResources(a), DumpResources(b));
  EXPECT_NE(DumpResources(a), DumpResources(RandomResources(43)));
  const auto pa = RandomPackets(a, 42, 50);
  const auto pb = RandomPackets(b, 42, 50);
  ASSERT_EQ(pa.size(), 50u);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(PacketToString(pa[i]), PacketToString(pb[i]));
}

}  // namespace
}  // namespace tierwall::test
