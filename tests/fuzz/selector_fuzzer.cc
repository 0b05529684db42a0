// libFuzzer target for the Calico selector parser (control/selector).
//
// Input: the selector text, then optionally a NUL and label lines `key=value`
// (one per line) that form a label map to evaluate against. Beyond "never
// crashes, never reads out of bounds, never recurses without bound", it
// checks the promise selector.h makes about Canonical(): it parses back to a
// selector with the same canonical text that matches exactly the same label
// maps. A broken promise aborts (libFuzzer saves the input).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "control/selector/selector.h"

namespace {

using tierwall::ctl::selector::Labels;
using tierwall::ctl::selector::Selector;

constexpr size_t kMaxSelectorLength = 1024;  // selector.h: longer texts are refused

[[noreturn]] void Fail(const char* what, const std::string& text, const std::string& canonical) {
  std::fprintf(stderr, "selector_fuzzer: %s\n  text:      %s\n  canonical: %s\n", what,
               text.c_str(), canonical.c_str());
  std::abort();
}

Labels LabelsFrom(std::string_view lines) {
  Labels labels;
  while (!lines.empty()) {
    size_t end = lines.find('\n');
    std::string_view line = lines.substr(0, end);
    if (size_t eq = line.find('='); eq != std::string_view::npos) {
      labels[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 1);
  }
  return labels;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string text(input.substr(0, nul));
  auto parsed = Selector::Parse(text);
  if (!parsed.ok()) return 0;

  const std::string canonical = parsed->Canonical();
  // Canonical() may spell a long selector longer than the limit (spaces
  // around operators); only texts within the limit must parse back.
  if (canonical.size() > kMaxSelectorLength) return 0;
  auto again = Selector::Parse(canonical);
  if (!again.ok()) Fail("Canonical() does not parse back", text, canonical);
  if (again->Canonical() != canonical) Fail("Canonical() is not a fixed point", text, canonical);
  if (again->IsAll() != parsed->IsAll() || again->IsGlobalOnly() != parsed->IsGlobalOnly()) {
    Fail("IsAll/IsGlobalOnly differ after Canonical()", text, canonical);
  }

  std::vector<Labels> maps = {
      {},
      {{"app", "frontend"}, {"projectcalico.org/namespace", "hipstershop"}},
      {{"app", ""}, {"tier", "db"}, {"role", "a,b"}},
  };
  if (nul != std::string_view::npos) maps.push_back(LabelsFrom(input.substr(nul + 1)));
  for (const Labels& labels : maps) {
    if (parsed->Matches(labels) != again->Matches(labels)) {
      Fail("Matches() differs after Canonical()", text, canonical);
    }
  }
  return 0;
}
