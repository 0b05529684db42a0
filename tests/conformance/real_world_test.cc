// The real-world corpus: Calico documentation examples, written out again,
// one per file in real-world/, each loaded on top of real_world_world.yaml.
// A file's header comments say what it must do:
//   # source: <docs page title> (<docs URL path>)        required
//   # expect: accept | reject                              required
//   # probe: <from> -> <to> <tcp|udp|sctp|icmp|N> <port or ICMP type> => allow|deny
//                                                         two or more when accepted
//   # reject-mentions: <text the error must contain>       with reject
//   # needs: fail-closed                                   the rejection comes with the
//                                                         change that refuses fields
//                                                         Tierwall does not enforce; until
//                                                         it is merged such a file is
//                                                         reported as skipped if accepted
// <from> and <to> are `<namespace>/<pod>`, a host endpoint's name, or an address.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/conformance/pipeline.h"

namespace tierwall::test::conformance {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(TIERWALL_SOURCE_ROOT) / "tests/conformance";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ProbeLine {
  std::string from, to, proto;
  uint16_t port = 0;
  std::string want;
  std::string text;
};

struct CorpusFile {
  std::string source;
  std::string expect;
  std::string reject_mentions;
  bool needs_fail_closed = false;
  std::vector<ProbeLine> probes;
  std::vector<std::string> header_errors;
};

CorpusFile ParseHeader(const std::string& text) {
  CorpusFile f;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "# ")) continue;
    auto value = [&](absl::string_view key) -> std::optional<std::string> {
      absl::string_view l = line;
      if (!absl::ConsumePrefix(&l, key)) return std::nullopt;
      return std::string(absl::StripAsciiWhitespace(l));
    };
    if (auto v = value("source:")) f.source = *v;
    if (auto v = value("expect:")) f.expect = *v;
    if (auto v = value("reject-mentions:")) f.reject_mentions = *v;
    if (auto v = value("needs:")) f.needs_fail_closed = *v == "fail-closed";
    if (auto v = value("probe:")) {
      // <from> -> <to> <proto> <port> => <verdict>
      std::vector<std::string> w = absl::StrSplit(*v, ' ', absl::SkipEmpty());
      ProbeLine p;
      p.text = *v;
      uint32_t port = 0;
      if (w.size() != 7 || w[1] != "->" || w[5] != "=>" || !absl::SimpleAtoi(w[4], &port) ||
          port > 65535 || (w[6] != "allow" && w[6] != "deny")) {
        f.header_errors.push_back(absl::StrCat("bad probe line: ", *v));
        continue;
      }
      p.from = w[0], p.to = w[2], p.proto = w[3], p.port = static_cast<uint16_t>(port);
      p.want = w[6];
      f.probes.push_back(std::move(p));
    }
  }
  return f;
}

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kDir / "real-world")) {
    if (e.path().extension() == ".yaml") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// <ns>/<pod> and host endpoint names -> their first address.
std::map<std::string, std::string> Names(const ctl::model::ResourceSet& world) {
  std::map<std::string, std::string> out;
  for (const auto& e : world.endpoints) {
    if (e.ips.empty()) continue;
    std::string name = e.kind == ctl::model::EndpointKind::kWorkload
                           ? absl::StrCat(e.namespace_, "/", e.name)
                           : e.name;
    out[name] = e.ips[0].ToString();
  }
  return out;
}

TEST(RealWorldCorpus, HasEnoughDocumentedFiles) {
  const std::vector<std::string> files = CorpusFiles();
  EXPECT_GE(files.size(), 25u);
  for (const std::string& name : files) {
    CorpusFile f = ParseHeader(ReadText(kDir / "real-world" / name));
    EXPECT_FALSE(f.source.empty()) << name << ": no `# source:` line";
    EXPECT_TRUE(f.expect == "accept" || f.expect == "reject") << name << ": bad `# expect:`";
    if (f.expect == "accept") EXPECT_GE(f.probes.size(), 2u) << name << ": too few probes";
    if (f.expect == "reject") EXPECT_FALSE(f.reject_mentions.empty()) << name;
    EXPECT_TRUE(f.header_errors.empty()) << name << ": " << f.header_errors[0];
  }
}

class RealWorld : public ::testing::TestWithParam<std::string> {};

TEST_P(RealWorld, AsDocumented) {
  const std::string name = GetParam();
  const std::string text = ReadText(kDir / "real-world" / name);
  const CorpusFile f = ParseHeader(text);
  SCOPED_TRACE(absl::StrCat(name, ": ", f.source));
  const std::string world_text = ReadText(kDir / "real_world_world.yaml");
  absl::StatusOr<ctl::model::ResourceSet> world = Load(world_text, "real_world_world.yaml");
  ASSERT_TRUE(world.ok()) << world.status();
  const std::map<std::string, std::string> names = Names(*world);

  absl::StatusOr<ctl::model::ResourceSet> set =
      Load(absl::StrCat(world_text, "\n---\n", text), name);
  if (f.expect == "reject") {
    if (set.ok() && f.needs_fail_closed) {
      GTEST_SKIP() << name << " is accepted: it is refused only once " << f.reject_mentions
                   << " fails closed (the validation change)";
    }
    ASSERT_FALSE(set.ok()) << name << " was accepted";
    EXPECT_NE(set.status().message().find(f.reject_mentions), std::string::npos) << set.status();
    return;
  }
  ASSERT_TRUE(set.ok()) << set.status();
  for (const ProbeLine& p : f.probes) {
    auto address = [&](const std::string& n) {
      auto it = names.find(n);
      return it == names.end() ? n : it->second;
    };
    absl::StatusOr<std::string> verdict =
        Judge(*set, Probe{address(p.from), address(p.to), p.proto, p.port});
    ASSERT_TRUE(verdict.ok()) << p.text << ": " << verdict.status();
    EXPECT_EQ(*verdict, p.want) << "probe: " << p.text;
  }
}

INSTANTIATE_TEST_SUITE_P(Docs, RealWorld, ::testing::ValuesIn(CorpusFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           std::replace_if(
                               n.begin(), n.end(), [](char c) { return !std::isalnum(c); }, '_');
                           return n;
                         });

}  // namespace
}  // namespace tierwall::test::conformance
