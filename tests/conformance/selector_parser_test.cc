// The selector language against libcalico-go's own parser tests
// (libcalico-go/lib/selector/parser/parser_test.go: selectorTests and
// badSelectors), plus the prefixing that the update processors apply
// (parser.PrefixVisitor, ast.go).
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/selector/selector.h"
#include "gtest/gtest.h"

namespace tierwall::test::conformance {
namespace {

using ctl::selector::Labels;
using ctl::selector::Selector;

constexpr char kParserTest[] = "libcalico-go lib/selector/parser/parser_test.go selectorTests";
constexpr char kBadTest[] = "libcalico-go lib/selector/parser/parser_test.go badSelectors";

struct MatchRow {
  const char* calico;
  const char* selector;
  std::vector<Labels> match;
  std::vector<Labels> no_match;
};

const std::vector<MatchRow>& MatchRows() {
  static const auto* const kRows = new std::vector<MatchRow>{
      {kParserTest,
       R"(a == "b")",
       {{{"a", "b"}}, {{"a", "b"}, {"c", "d"}}},
       {{}, {{"a", "c"}}, {{"c", "d"}}}},
      {kParserTest,
       R"(a == "b" && c == "d")",
       {{{"a", "b"}, {"c", "d"}}},
       {{}, {{"a", "b"}, {"c", "e"}}, {{"a", "c"}, {"c", "d"}}, {{"c", "d"}}, {{"a", "b"}}}},
      {kParserTest,
       R"(a == "b" || c == "d")",
       {{{"a", "b"}, {"c", "d"}}, {{"a", "b"}}, {{"c", "d"}}},
       {{}, {{"a", "e"}, {"c", "e"}}, {{"c", "e"}}, {{"a", "e"}}}},
      {kParserTest,
       R"(a in {"'", '"', "c"})",
       {{{"a", "c"}}, {{"a", "\""}}, {{"a", "'"}}},
       {{}, {{"a", "e"}}}},
      {kParserTest,
       R"(a not in {"'", '"', "c"})",
       {{}, {{"a", "e"}}},
       {{{"a", "c"}}, {{"a", "\""}}, {{"a", "'"}}}},
      {kParserTest, "a == 'a'", {{{"a", "a"}}}, {{{"a", "b"}}, {}}},
      {kParserTest, R"(a != "b")", {{{"a", "a"}}}, {}},
      {kParserTest, R"(a != "a")", {{}}, {{{"a", "a"}}}},
      {kParserTest,
       R"(a contains "a")",
       {{{"a", "a"}}, {{"a", "bab"}}, {{"a", "aaa"}, {"b", "c"}}},
       {{}, {{"a", "b"}}, {{"b", "aaa"}}}},
      {kParserTest,
       R"(a starts with "a")",
       {{{"a", "a"}}, {{"a", "abb"}}},
       {{}, {{"a", "b"}}, {{"a", "baa"}}, {{"b", "aaa"}}}},
      {kParserTest,
       R"(a ends with "a")",
       {{{"a", "a"}}, {{"a", "bba"}}},
       {{}, {{"a", "b"}}, {{"a", "aab"}}, {{"b", "aaa"}}}},
      {kParserTest, R"(!a in {"a"})", {{{"a", "b"}}}, {{{"a", "a"}}}},
      {kParserTest, R"(a in {"a", "b"})", {{{"a", "a"}}, {{"a", "b"}}}, {{{"a", "c"}}}},
      {kParserTest, R"(a not in {"d", "e"})", {{{"a", "a"}}}, {}},
      {kParserTest, "has(a)", {{{"a", "b"}}}, {}},
      {kParserTest, "!has(a)", {{{"b", "b"}}}, {{{"a", "b"}}}},
      {kParserTest, "", {{}, {{"a", "b"}}}, {}},
      {kParserTest, " ", {{}}, {}},
      {kParserTest, " all()", {{}, {{"a", "b"}}}, {}},
      {kParserTest, " global()", {{}, {{"a", "b"}}}, {}},
      {kParserTest, "!!has(b)", {}, {{{"a", "b"}}}},
      {kParserTest, "!!! has(a)", {}, {{{"a", "b"}}}},
      {kParserTest, "!! ! has(a)", {}, {{{"a", "b"}}}},
      {kParserTest, "! !!has(a)", {}, {{{"a", "b"}}}},
      {kParserTest, "a == 'a1' && b != 'b1'", {}, {{{"a", "a1"}, {"b", "b1"}}}},
      {kParserTest, "a != 'a1' && !b == 'b1'", {}, {{{"a", "a1"}, {"b", "b1"}}}},
      {kParserTest, "has(a) && !has(b)", {{{"a", "a"}}}, {}},
      {kParserTest, "!(!has(a) || has(b))", {{{"a", "a"}}}, {}},
      {kParserTest, "!(has(b) || !has(a))", {{{"a", "a"}}}, {}},
      {kParserTest, "a == 'a1' || b != 'b1'", {{{"a", "a1"}, {"b", "b1"}}}, {}},
      {kParserTest, "a != 'a1' || b != 'b1'", {}, {{{"a", "a1"}, {"b", "b1"}}}},
      {kParserTest, "! a == 'a1' || ! b == 'b1'", {}, {{{"a", "a1"}, {"b", "b1"}}}},
  };
  return *kRows;
}

class SelectorParser : public ::testing::TestWithParam<size_t> {};

TEST_P(SelectorParser, MatchesAsLibcalicoGo) {
  const MatchRow& row = MatchRows()[GetParam()];
  SCOPED_TRACE(absl::StrCat(row.calico, ": `", row.selector, "`"));
  absl::StatusOr<Selector> sel = Selector::Parse(row.selector);
  ASSERT_TRUE(sel.ok()) << sel.status();
  for (const Labels& l : row.match) EXPECT_TRUE(sel->Matches(l)) << l.size() << " labels";
  for (const Labels& l : row.no_match) EXPECT_FALSE(sel->Matches(l)) << l.size() << " labels";
  // The canonical form means the same.
  absl::StatusOr<Selector> again = Selector::Parse(sel->Canonical());
  ASSERT_TRUE(again.ok()) << again.status();
  for (const Labels& l : row.match) EXPECT_TRUE(again->Matches(l));
  for (const Labels& l : row.no_match) EXPECT_FALSE(again->Matches(l));
}

INSTANTIATE_TEST_SUITE_P(Calico, SelectorParser, ::testing::Range<size_t>(0, MatchRows().size()));

class BadSelector : public ::testing::TestWithParam<const char*> {};

TEST_P(BadSelector, RejectedAsLibcalicoGo) {
  SCOPED_TRACE(kBadTest);
  EXPECT_FALSE(Selector::Parse(GetParam()).ok()) << "`" << GetParam() << "` parsed";
}

INSTANTIATE_TEST_SUITE_P(Calico, BadSelector,
                         ::testing::Values("b == b", "b contains b", "b starts with b",
                                           "b ends with b", "'b1' == b", "b", "a b", "!",
                                           R"(foo == "bar" &)", R"(foo == "bar" |)", "foo != ||",
                                           R"(foo in {"", ||)", R"(foo in "")", R"("FOO)",
                                           R"("FOO')", "'FOO", "(", R"((a == "foo")", ")", "()",
                                           "%", R"(a == "b" && %)", R"(a == "b" || %)", "a ",
                                           "has(foo) &&"));

// parser.PrefixVisitor prefixes the key of every label test; the namespace
// rewrite turns all() into has(projectcalico.org/namespace).
struct PrefixRow {
  const char* selector;
  const char* prefix;
  const char* all_as;
  const char* canonical;
};

class SelectorPrefix : public ::testing::TestWithParam<PrefixRow> {};

TEST_P(SelectorPrefix, AsPrefixVisitor) {
  SCOPED_TRACE("libcalico-go lib/selector/parser/ast.go PrefixVisitor; rules.go all() rewrite");
  const PrefixRow& row = GetParam();
  absl::StatusOr<Selector> sel = Selector::Parse(row.selector);
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(sel->WithKeyPrefix(row.prefix, row.all_as).Canonical(), row.canonical);
}

INSTANTIATE_TEST_SUITE_P(
    Calico, SelectorPrefix,
    ::testing::Values(PrefixRow{"a == 'b' && has(c) || d in {'e'}", "pcns.", "",
                                "pcns.a == \"b\" && has(pcns.c) || pcns.d in {\"e\"}"},
                      PrefixRow{"!(x starts with 'y') && z not in {}", "pcsa.", "",
                                "!pcsa.x starts with \"y\" && pcsa.z not in {}"},
                      PrefixRow{"all()", "pcns.", "projectcalico.org/namespace",
                                "has(projectcalico.org/namespace)"},
                      PrefixRow{"global()", "pcns.", "projectcalico.org/namespace", "global()"},
                      PrefixRow{"all()", "pcsa.", "", "all()"}));

}  // namespace
}  // namespace tierwall::test::conformance
