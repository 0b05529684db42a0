// ClassBench filter sets, header traces and expected answers
// (/work/shared/classbench, see its README.md), loaded into the classifier's
// own types so tests and benchmarks feed RuleClassifier directly.
//
// Files ending in .gz are read through zlib, so acl1_100K needs no unpacking.
// Every parser reports the file (or "<text>") and 1-based line of the first
// malformed line: a silently skipped rule would shift every later priority
// and turn into a flood of "mismatches" far from the cause.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/classify/packet_key.h"
#include "dataplane/classify/rule_classifier.h"

namespace tierwall::test::classbench {

// One filter line, fields as written (host byte order). Kept beside the
// RawBox form because rte_acl wants prefix lengths and a protocol mask.
struct Rule {
  uint32_t src_ip = 0;
  uint8_t src_len = 0;
  uint32_t dst_ip = 0;  // masked to dst_len, like src_ip
  uint8_t dst_len = 0;
  uint16_t src_port_lo = 0, src_port_hi = 65535;
  uint16_t dst_port_lo = 0, dst_port_hi = 65535;
  uint8_t proto = 0;
  uint8_t proto_mask = 0;  // 0xFF (exact) or 0x00 (any); nothing else occurs
};

// Chain 0, IPv4, priority = `priority`; flags are ignored (5-tuple only).
dp::classify::PrioritizedRawBox ToRawBox(const Rule& rule, uint32_t priority);
// Priority = index in `rules`, i.e. file order for a whole set.
std::vector<dp::classify::PrioritizedRawBox> ToRawBoxes(const std::vector<Rule>& rules);

// True when `key` lies inside `rule`: the reference for brute-force checks.
bool Matches(const Rule& rule, const dp::classify::PacketKey& key);
// First rule index (file order) matching `key`, or -1. O(rules).
int32_t LinearFirstMatch(const std::vector<Rule>& rules, const dp::classify::PacketKey& key);

// `source` names the input in error messages.
absl::StatusOr<std::vector<Rule>> ParseFilters(std::string_view text,
                                               std::string_view source = "<text>");
// `generator_rules`, when given, receives the 7th column (the rule each header
// was generated from), which lets a benchmark pick the headers of a rule subset.
absl::StatusOr<std::vector<dp::classify::PacketKey>> ParseTrace(
    std::string_view text, std::string_view source = "<text>",
    std::vector<uint32_t>* generator_rules = nullptr);
absl::StatusOr<std::vector<int32_t>> ParseExpected(std::string_view text,
                                                   std::string_view source = "<text>");

// Whole file, gunzipped when the name ends in ".gz".
absl::StatusOr<std::string> ReadFile(const std::string& path);

// The data folder: $TW_CLASSBENCH_DIR when set, else the path meson compiled
// in (<source root>/../shared/classbench). nullopt when it holds no README.md
// and no acl1_1K, so callers can skip with a clear message.
std::optional<std::string> DataDir();

// `dir`/`name`, or `dir`/`name`.gz when only the packed file exists; nullopt
// when neither does.
std::optional<std::string> FindFile(const std::string& dir, const std::string& name);

struct Set {
  std::string name;
  std::vector<Rule> rules;
  std::vector<dp::classify::PacketKey> trace;
  std::vector<uint32_t> generator_rules;  // per trace line
  std::vector<int32_t> expected;          // per trace line; -1 = no match
};

// Loads <name>, <name>_trace and <name>_expected (each plain or .gz) and
// checks that trace and expected have the same length.
absl::StatusOr<Set> LoadSet(const std::string& dir, const std::string& name);

// The seven generated sets, smallest first.
inline constexpr std::string_view kAllSets[] = {"acl1_1K", "fw1_1K",   "ipc1_1K",  "acl1_10K",
                                                "fw1_10K", "ipc1_10K", "acl1_100K"};

}  // namespace tierwall::test::classbench
