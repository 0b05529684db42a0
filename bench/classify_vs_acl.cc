// RuleClassifier vs DPDK rte_acl on the ClassBench sets, in one process.
//
// For each set: build both (timed), check both against <set>_expected, then
// alternate timed rounds (ours, acl avx2, acl avx512x32) over the whole trace
// in bursts of 32 so that both see the same cache and frequency conditions;
// the figures are medians of the per-round numbers. One JSON line per set on
// stdout; progress and diagnostics on stderr.
//
// rte_acl is set up as DPDK's app/test-acl does for IPv4: 5 fields (proto as
// a bitmask, addresses as prefixes, ports as ranges), packets in network byte
// order, priority falling with the rule index, userdata = index + 1 (0 = miss).
//
//   classify_vs_acl [--quick] [--sets a,b] [--rounds N] [--mem MB]
#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_cpuflags.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/classify/rule_classifier.h"
#include "tests/support/classbench.h"

namespace tierwall::bench {
namespace {

namespace cb = test::classbench;
using dp::classify::PacketKey;
using dp::classify::RuleClassifier;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kBurst = 32;

// ---------------------------------------------------------------------------
// rte_acl, IPv4 5-tuple as in app/test-acl.
// ---------------------------------------------------------------------------
struct Ipv4Tuple {
  uint8_t proto;
  uint32_t ip_src;  // network byte order
  uint32_t ip_dst;
  uint16_t port_src;
  uint16_t port_dst;
};

enum { kProtoField, kSrcField, kDstField, kSrcPortField, kDstPortField, kNumFields };

RTE_ACL_RULE_DEF(AclIpv4Rule, kNumFields);

rte_acl_config AclConfig() {
  rte_acl_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.num_categories = 1;
  cfg.num_fields = kNumFields;
  // Input groups are 4 bytes wide; the 1-byte protocol must come first and the
  // two ports share one group, exactly as test-acl lays them out.
  cfg.defs[0] = {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint8_t), kProtoField, kProtoField,
                 offsetof(Ipv4Tuple, proto)};
  cfg.defs[1] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kSrcField, kSrcField,
                 offsetof(Ipv4Tuple, ip_src)};
  cfg.defs[2] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kDstField, kDstField,
                 offsetof(Ipv4Tuple, ip_dst)};
  cfg.defs[3] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kSrcPortField, kSrcPortField,
                 offsetof(Ipv4Tuple, port_src)};
  cfg.defs[4] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kDstPortField, kSrcPortField,
                 offsetof(Ipv4Tuple, port_dst)};
  cfg.max_size = 0;  // no limit: let rte_acl pick its tries
  return cfg;
}

size_t HeapAllocated() {
  size_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats st;
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
      total += st.heap_allocsz_bytes;
  }
  return total;
}

struct Acl {
  rte_acl_ctx* ctx = nullptr;
  double build_ms = 0;
  size_t mem_bytes = 0;
  ~Acl() {
    if (ctx) rte_acl_free(ctx);
  }
};

// Returns an error text, empty on success.
std::string BuildAcl(const std::string& name, const std::vector<cb::Rule>& rules, Acl* acl) {
  std::vector<AclIpv4Rule> acl_rules(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const cb::Rule& r = rules[i];
    AclIpv4Rule& a = acl_rules[i];
    std::memset(&a, 0, sizeof(a));
    a.data.category_mask = 1;
    a.data.priority = RTE_ACL_MAX_PRIORITY - static_cast<int32_t>(i);
    a.data.userdata = static_cast<uint32_t>(i + 1);
    a.field[kProtoField].value.u8 = r.proto;
    a.field[kProtoField].mask_range.u8 = r.proto_mask;
    a.field[kSrcField].value.u32 = r.src_ip;  // rules are host order, packets network order
    a.field[kSrcField].mask_range.u32 = r.src_len;
    a.field[kDstField].value.u32 = r.dst_ip;
    a.field[kDstField].mask_range.u32 = r.dst_len;
    a.field[kSrcPortField].value.u16 = r.src_port_lo;
    a.field[kSrcPortField].mask_range.u16 = r.src_port_hi;
    a.field[kDstPortField].value.u16 = r.dst_port_lo;
    a.field[kDstPortField].mask_range.u16 = r.dst_port_hi;
  }
  const std::string ctx_name = "tw_" + name;
  rte_acl_param param;
  std::memset(&param, 0, sizeof(param));
  param.name = ctx_name.c_str();
  param.socket_id = static_cast<int>(rte_socket_id());
  param.rule_size = RTE_ACL_RULE_SZ(kNumFields);
  param.max_rule_num = static_cast<uint32_t>(rules.size());
  rte_acl_config cfg = AclConfig();

  const auto t0 = Clock::now();
  acl->ctx = rte_acl_create(&param);
  if (acl->ctx == nullptr) return std::string("rte_acl_create: ") + rte_strerror(rte_errno);
  int rc = rte_acl_add_rules(acl->ctx, reinterpret_cast<const rte_acl_rule*>(acl_rules.data()),
                             static_cast<uint32_t>(acl_rules.size()));
  if (rc != 0) return std::string("rte_acl_add_rules: ") + std::strerror(-rc);
  // Only the build's allocation is the lookup structure; the rule copy that
  // rte_acl_create reserves is kept for rebuilds (we keep none), so it is not
  // counted, just as RuleClassifier::MemoryBytes counts no build-time input.
  const size_t heap_before = HeapAllocated();
  rc = rte_acl_build(acl->ctx, &cfg);
  const auto t1 = Clock::now();
  if (rc != 0) return std::string("rte_acl_build: ") + std::strerror(-rc);
  acl->mem_bytes = HeapAllocated() - heap_before;
  acl->build_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  return "";
}

// ---------------------------------------------------------------------------
// Measurement.
// ---------------------------------------------------------------------------
double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Num(double v, int decimals = 3) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

struct Options {
  bool quick = false;
  std::vector<std::string> sets;
  int rounds = 7;
  int mem_mb = 2048;
  std::string data_dir;
};

void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--quick] [--sets a,b,...] [--rounds N] [--mem MB] [--data DIR]\n"
               "  default (full): acl1_1K acl1_10K ipc1_10K fw1_10K acl1_100K, 7 rounds\n"
               "  --quick: acl1_1K acl1_10K ipc1_10K, 5 rounds, shorter rounds\n",
               argv0);
}

std::optional<Options> ParseArgs(int argc, char** argv) {
  Options o;
  bool rounds_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--full") {
      o.quick = false;
    } else if (a == "--sets" && value(&v)) {
      o.sets.clear();
      for (size_t p = 0; p <= v.size();) {
        size_t c = v.find(',', p);
        if (c == std::string::npos) c = v.size();
        if (c > p) o.sets.push_back(v.substr(p, c - p));
        p = c + 1;
      }
    } else if (a == "--rounds" && value(&v)) {
      o.rounds = std::atoi(v.c_str());
      rounds_set = true;
      if (o.rounds < 1) return std::nullopt;
    } else if (a == "--mem" && value(&v)) {
      o.mem_mb = std::atoi(v.c_str());
      if (o.mem_mb < 64) return std::nullopt;
    } else if (a == "--data" && value(&v)) {
      o.data_dir = v;
    } else {
      return std::nullopt;
    }
  }
  if (o.sets.empty()) {
    o.sets = o.quick ? std::vector<std::string>{"acl1_1K", "acl1_10K", "ipc1_10K"}
                     : std::vector<std::string>{"acl1_1K", "acl1_10K", "ipc1_10K", "fw1_10K",
                                                "acl1_100K"};
  }
  if (o.quick && !rounds_set) o.rounds = 5;
  return o;
}

// Runs `fn` over the trace `reps` times and returns million packets per second.
template <typename Fn>
double TimeMpps(size_t trace_len, int reps, Fn fn) {
  const auto t0 = Clock::now();
  for (int r = 0; r < reps; ++r) fn();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return double(trace_len) * reps / s / 1e6;
}

int RunSet(const Options& opt, const std::string& dir, const std::string& name, bool avx512_cpu) {
  std::fprintf(stderr, "[%s] loading\n", name.c_str());
  absl::StatusOr<cb::Set> loaded = cb::LoadSet(dir, name);
  if (!loaded.ok()) {
    std::fprintf(stderr, "[%s] %s\n", name.c_str(), loaded.status().ToString().c_str());
    return 1;
  }
  const cb::Set& set = *loaded;
  const size_t n = set.trace.size();

  // Ours.
  std::vector<dp::classify::PrioritizedRawBox> boxes = cb::ToRawBoxes(set.rules);
  const auto t0 = Clock::now();
  RuleClassifier ours = RuleClassifier::Build(boxes, 1);
  const double ours_build_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const auto& st = ours.stats();
  std::fprintf(stderr,
               "[%s] ours: %zu rules, build %.1f ms, %zu bytes, trees %u nodes %u leaves %u "
               "stored %llu depth %u\n",
               name.c_str(), set.rules.size(), ours_build_ms, ours.MemoryBytes(), st.trees,
               st.nodes, st.leaves, static_cast<unsigned long long>(st.stored_boxes), st.max_depth);

  // rte_acl.
  Acl acl;
  std::string err = BuildAcl(name, set.rules, &acl);
  if (!err.empty()) {
    std::fprintf(stderr, "[%s] rte_acl: %s\n", name.c_str(), err.c_str());
    return 1;
  }
  std::fprintf(stderr, "[%s] acl: build %.1f ms, %zu bytes\n", name.c_str(), acl.build_ms,
               acl.mem_bytes);

  std::vector<Ipv4Tuple> tuples(n);
  std::vector<const uint8_t*> ptrs(n);
  for (size_t i = 0; i < n; ++i) {
    const PacketKey& k = set.trace[i];
    std::memset(&tuples[i], 0, sizeof(Ipv4Tuple));
    tuples[i].proto = k.proto;
    tuples[i].ip_src = rte_cpu_to_be_32(static_cast<uint32_t>(k.src.bits));
    tuples[i].ip_dst = rte_cpu_to_be_32(static_cast<uint32_t>(k.dst.bits));
    tuples[i].port_src = rte_cpu_to_be_16(k.src_port);
    tuples[i].port_dst = rte_cpu_to_be_16(k.dst_port);
    ptrs[i] = reinterpret_cast<const uint8_t*>(&tuples[i]);
  }
  std::vector<uint32_t> results(n);

  auto run_ours = [&] {
    for (size_t i = 0; i < n; i += kBurst)
      ours.FirstMatchBurst(&set.trace[i], uint32_t(std::min<size_t>(kBurst, n - i)), &results[i]);
  };
  int acl_rc = 0;
  auto run_acl = [&](enum rte_acl_classify_alg alg) {
    for (size_t i = 0; i < n; i += kBurst) {
      int rc = rte_acl_classify_alg(acl.ctx, &ptrs[i], &results[i],
                                    uint32_t(std::min<size_t>(kBurst, n - i)), 1, alg);
      if (rc != 0) acl_rc = rc;
    }
  };
  // rte_acl results are userdata (index + 1), ours are priorities (index).
  auto count_mismatches = [&](bool is_acl) {
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
      const int32_t got =
          is_acl ? static_cast<int32_t>(results[i]) - 1 : static_cast<int32_t>(results[i]);
      if (got != set.expected[i]) {
        if (++bad <= 5)
          std::fprintf(
              stderr, "[%s] %s mismatch at trace line %zu (%u %u %u %u %u): want %d got %d\n",
              name.c_str(), is_acl ? "acl" : "ours", i + 1, uint32_t(set.trace[i].src.bits),
              uint32_t(set.trace[i].dst.bits), set.trace[i].src_port, set.trace[i].dst_port,
              set.trace[i].proto, set.expected[i], got);
      }
    }
    return bad;
  };

  // rte_acl_classify_alg does not check the CPU, so ask rte_acl_set_ctx_classify
  // (which does, and honours --force-max-simd-bitwidth) before using an alg.
  const bool have_avx2 = rte_acl_set_ctx_classify(acl.ctx, RTE_ACL_CLASSIFY_AVX2) == 0;
  const bool have_avx512 =
      avx512_cpu && rte_acl_set_ctx_classify(acl.ctx, RTE_ACL_CLASSIFY_AVX512X32) == 0;
  rte_acl_set_ctx_classify(acl.ctx, RTE_ACL_CLASSIFY_DEFAULT);

  run_ours();
  const size_t ours_bad = count_mismatches(false);
  long acl_avx2_bad = -1, acl_avx512_bad = -1;
  if (have_avx2) {
    std::fill(results.begin(), results.end(), 0xdeadbeefu);
    acl_rc = 0;
    run_acl(RTE_ACL_CLASSIFY_AVX2);
    acl_avx2_bad = acl_rc != 0 ? long(n) : long(count_mismatches(true));
  }
  bool avx512 = have_avx512;
  if (avx512) {
    std::fill(results.begin(), results.end(), 0xdeadbeefu);
    acl_rc = 0;
    run_acl(RTE_ACL_CLASSIFY_AVX512X32);
    if (acl_rc != 0) {
      std::fprintf(stderr, "[%s] avx512x32 classify returned %d: skipped\n", name.c_str(), acl_rc);
      avx512 = false;
    } else {
      acl_avx512_bad = long(count_mismatches(true));
    }
  }

  // Enough repetitions of the trace that one timed run takes tens of ms.
  const size_t target = opt.quick ? 1000000 : 3000000;
  const int reps = int(std::max<size_t>(1, (target + n - 1) / n));
  std::vector<double> ours_mpps, avx2_mpps, avx512_mpps, ratio2, ratio512;
  for (int round = 0; round < opt.rounds; ++round) {
    const double o = TimeMpps(n, reps, run_ours);
    ours_mpps.push_back(o);
    if (have_avx2) {
      const double a = TimeMpps(n, reps, [&] { run_acl(RTE_ACL_CLASSIFY_AVX2); });
      avx2_mpps.push_back(a);
      ratio2.push_back(o / a);
    }
    if (avx512) {
      const double a = TimeMpps(n, reps, [&] { run_acl(RTE_ACL_CLASSIFY_AVX512X32); });
      avx512_mpps.push_back(a);
      ratio512.push_back(o / a);
    }
    std::fprintf(stderr, "[%s] round %d: ours %.2f avx2 %s avx512 %s Mpps\n", name.c_str(), round,
                 o, Num(avx2_mpps.empty() ? NAN : avx2_mpps.back(), 2).c_str(),
                 Num(avx512_mpps.empty() ? NAN : avx512_mpps.back(), 2).c_str());
  }

  auto bad_json = [](long v) { return v < 0 ? std::string("null") : std::to_string(v); };
  std::printf(
      "{\"set\":\"%s\",\"rules\":%zu,\"mismatches\":{\"ours\":%zu,\"acl_avx2\":%s,"
      "\"acl_avx512\":%s},\"ours_mpps\":%s,\"acl_avx2_mpps\":%s,\"acl_avx512_mpps\":%s,"
      "\"ratio_avx2\":%s,\"ratio_avx512\":%s,\"ours_build_ms\":%s,\"acl_build_ms\":%s,"
      "\"ours_mem_bytes\":%zu,\"acl_mem_bytes\":%zu}\n",
      name.c_str(), set.rules.size(), ours_bad, bad_json(acl_avx2_bad).c_str(),
      bad_json(acl_avx512_bad).c_str(), Num(Median(ours_mpps)).c_str(),
      Num(Median(avx2_mpps)).c_str(), Num(Median(avx512_mpps)).c_str(), Num(Median(ratio2)).c_str(),
      Num(Median(ratio512)).c_str(), Num(ours_build_ms).c_str(), Num(acl.build_ms).c_str(),
      ours.MemoryBytes(), acl.mem_bytes);
  std::fflush(stdout);
  return ours_bad == 0 && acl_avx2_bad <= 0 && acl_avx512_bad <= 0 ? 0 : 2;
}

int Main(int argc, char** argv) {
  std::optional<Options> opt = ParseArgs(argc, argv);
  if (!opt) {
    Usage(argv[0]);
    return 64;
  }
  std::string dir = opt->data_dir;
  if (dir.empty()) {
    std::optional<std::string> d = cb::DataDir();
    if (!d) {
      std::fprintf(stderr, "ClassBench data not found: set TW_CLASSBENCH_DIR or pass --data DIR\n");
      return 1;
    }
    dir = *d;
  }

  // No hugepages, no devices: rte_acl only needs the malloc heap.
  const std::string prefix = "--file-prefix=tw-bench-" + std::to_string(getpid());
  const std::string mem = std::to_string(opt->mem_mb);
  std::vector<std::string> eal_args = {argv[0],
                                       "--no-huge",
                                       "-m",
                                       mem,
                                       "--no-pci",
                                       "-l",
                                       "0",
                                       prefix,
                                       "--no-shconf",
                                       "--no-telemetry",
                                       "--force-max-simd-bitwidth=512",
                                       "--log-level=error"};
  std::vector<char*> eal_argv;
  for (std::string& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const bool avx512_cpu = rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512F) > 0 &&
                          rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512BW) > 0;
  std::fprintf(stderr, "data %s, %d rounds, avx512 cpu: %s\n", dir.c_str(), opt->rounds,
               avx512_cpu ? "yes" : "no");

  int status = 0;
  for (const std::string& name : opt->sets)
    status = std::max(status, RunSet(*opt, dir, name, avx512_cpu));
  // --no-shconf still creates an (empty) runtime folder per file prefix; the
  // prefix is unique per run, so remove it rather than pile them up.
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  rmdir(runtime_dir.c_str());
  return status;
}

}  // namespace
}  // namespace tierwall::bench

int main(int argc, char** argv) { return tierwall::bench::Main(argc, argv); }
