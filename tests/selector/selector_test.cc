// Table-driven tests for the Calico selector language (control/selector).
#include "control/selector/selector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

// Counts heap allocations so a test can assert Matches() makes none.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC pairs the inlined free() below with the `new` expressions it can see
// and warns; the pairing is correct because both sides are replaced here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace tierwall::test {
namespace {

using ctl::selector::Labels;
using ctl::selector::Selector;

// ---------------------------------------------------------------------------
// Matching: each selector with label maps it must and must not match.
// ---------------------------------------------------------------------------
struct MatchCase {
  std::string sel;
  std::vector<Labels> matches;
  std::vector<Labels> non_matches;
};

std::string Show(const Labels& l) {
  std::string s = "{";
  for (const auto& [k, v] : l) s += k + "=" + v + ",";
  return s + "}";
}

const std::vector<MatchCase>& MatchCases() {
  static const auto* const kCases = new std::vector<MatchCase>{
      // == and != with present / absent labels.
      {"a == 'b'", {{{"a", "b"}}, {{"a", "b"}, {"c", "d"}}}, {{}, {{"a", "c"}}, {{"c", "d"}}}},
      {"a == \"b\"", {{{"a", "b"}}}, {{}, {{"a", "bb"}}}},
      {"a != 'b'", {{}, {{"a", "c"}}, {{"c", "b"}}}, {{{"a", "b"}}}},
      {"a == ''", {{{"a", ""}}}, {{}, {{"a", "x"}}}},
      {"a != ''", {{}, {{"a", "x"}}}, {{{"a", ""}}}},
      // contains / starts with / ends with: false when absent.
      {"a contains 'x'", {{{"a", "x"}}, {{"a", "axb"}}}, {{}, {{"a", "b"}}, {{"b", "x"}}}},
      {"a contains ''", {{{"a", ""}}, {{"a", "q"}}}, {{}}},
      {"a starts with 'ab'", {{{"a", "ab"}}, {{"a", "abc"}}}, {{}, {{"a", "cab"}}, {{"a", "a"}}}},
      {"a ends with 'ab'", {{{"a", "ab"}}, {{"a", "cab"}}}, {{}, {{"a", "abc"}}, {{"b", "ab"}}}},
      {"a startswith 'x'", {{{"a", "xy"}}}, {{}, {{"a", "yx"}}}},
      {"a endswith 'x'", {{{"a", "yx"}}}, {{}, {{"a", "xy"}}}},
      {"a starts\twith 'x'", {{{"a", "xy"}}}, {{{"a", "yx"}}}},
      // in / not in, both spellings, empty sets, trailing comma, both quotes.
      {"a in {'x', \"y\"}", {{{"a", "x"}}, {{"a", "y"}}}, {{}, {{"a", "z"}}, {{"b", "x"}}}},
      {"a in {'x',}", {{{"a", "x"}}}, {{}, {{"a", "y"}}}},
      {"a in {}", {}, {{}, {{"a", ""}}, {{"a", "x"}}}},
      {"a not in {'x', 'y'}", {{}, {{"a", "z"}}, {{"b", "x"}}}, {{{"a", "x"}}, {{"a", "y"}}}},
      {"a notin {'x'}", {{}, {{"a", "z"}}}, {{{"a", "x"}}}},
      {"a not in {}", {{}, {{"a", "x"}}}, {}},
      {"a in{'x','y',}", {{{"a", "y"}}}, {{{"a", "z"}}}},
      {"a in {\"'\", '\"'}", {{{"a", "'"}}, {{"a", "\""}}}, {{{"a", "x"}}}},
      // has / all / global / empty.
      {"has(a)", {{{"a", ""}}, {{"a", "x"}}}, {{}, {{"b", "a"}}}},
      {"has( a )", {{{"a", "x"}}}, {{}}},
      {"!has(a)", {{}, {{"b", "x"}}}, {{{"a", "x"}}}},
      {"all()", {{}, {{"a", "b"}}}, {}},
      {"all( )", {{}}, {}},
      {"", {{}, {{"a", "b"}}}, {}},
      {"  \t ", {{}, {{"a", "b"}}}, {}},
      {"!all()", {}, {{}, {{"a", "b"}}}},
      {"global()", {{}, {{"a", "b"}}}, {{{"projectcalico.org/namespace", "default"}}}},
      {"!global()", {{{"projectcalico.org/namespace", "x"}}}, {{}}},
      // Prefixed keys.
      {"k8s-app == 'kube-dns'", {{{"k8s-app", "kube-dns"}}}, {{{"k8s_app", "kube-dns"}}}},
      {"projectcalico.org/name == 'kube-system'",
       {{{"projectcalico.org/name", "kube-system"}}},
       {{{"name", "kube-system"}}}},
      {"has(projectcalico.org/namespace) && app.kubernetes.io/name in {'web'}",
       {{{"projectcalico.org/namespace", "n"}, {"app.kubernetes.io/name", "web"}}},
       {{{"app.kubernetes.io/name", "web"}}}},
      {"9to5 == '1' && _x-y.z == '2'", {{{"9to5", "1"}, {"_x-y.z", "2"}}}, {{{"9to5", "1"}}}},
      // Label names that look like keywords are plain labels at operand position.
      {"contains == 'x'", {{{"contains", "x"}}}, {{}}},
      {"all == 'x' || has == 'y'", {{{"all", "x"}}, {{"has", "y"}}}, {{}}},
      {"in in {'in'}", {{{"in", "in"}}}, {{{"in", "x"}}}},
      // Operators need no surrounding spaces.
      {"a=='b'&&c!='d'", {{{"a", "b"}}}, {{{"a", "b"}, {"c", "d"}}}},
      {"a contains'b'", {{{"a", "abc"}}}, {{{"a", "c"}}}},
      // Precedence: && binds tighter than ||.
      {"a == '1' || b == '1' && c == '1'",
       {{{"a", "1"}}, {{"b", "1"}, {"c", "1"}}},
       {{{"b", "1"}}, {{"c", "1"}}, {}}},
      {"a == '1' && b == '1' || c == '1'",
       {{{"c", "1"}}, {{"a", "1"}, {"b", "1"}}},
       {{{"a", "1"}}, {{"b", "1"}}}},
      {"(a == '1' || b == '1') && c == '1'",
       {{{"a", "1"}, {"c", "1"}}, {{"b", "1"}, {"c", "1"}}},
       {{{"a", "1"}}, {{"c", "1"}}}},
      {"a == '1' && (b == '1' || c == '1')",
       {{{"a", "1"}, {"c", "1"}}},
       {{{"b", "1"}, {"c", "1"}}}},
      // ! binds to one operation, and leading !s count by parity.
      {"!a == 'x'", {{}, {{"a", "y"}}}, {{{"a", "x"}}}},
      {"!a == '1' && b == '1'", {{{"b", "1"}}}, {{{"a", "1"}, {"b", "1"}}, {}}},
      {"!!has(a)", {{{"a", "x"}}}, {{}}},
      {"! ! ! has(a)", {{}}, {{{"a", "x"}}}},
      {"!!!!has(a)", {{{"a", "x"}}}, {{}}},
      {"!(has(a) || has(b))", {{}, {{"c", "1"}}}, {{{"a", "1"}}, {{"b", "1"}}}},
      {"!(!has(a))", {{{"a", "1"}}}, {{}}},
      {"!(a == '1' && !b == '1')", {{}, {{"a", "1"}, {"b", "1"}}}, {{{"a", "1"}}}},
      {"((((has(a)))))", {{{"a", "1"}}}, {{}}},
      {" ( has(a) ) && ( has(b) ) ", {{{"a", "1"}, {"b", "1"}}}, {{{"a", "1"}}}},
      // Values are taken literally: no escapes, spaces and symbols kept.
      {"a == 'x y && z'", {{{"a", "x y && z"}}}, {{{"a", "x y"}}}},
      {"a == \"it's\"", {{{"a", "it's"}}}, {{{"a", "it"}}}},
      {"a == '\\n'", {{{"a", "\\n"}}}, {{{"a", "\n"}}}},
  };
  return *kCases;
}

TEST(SelectorMatch, Table) {
  for (const auto& tc : MatchCases()) {
    SCOPED_TRACE("selector: " + tc.sel);
    auto sel = Selector::Parse(tc.sel);
    ASSERT_TRUE(sel.ok()) << sel.status();
    EXPECT_EQ(sel->text(), tc.sel);
    auto canon = Selector::Parse(sel->Canonical());
    ASSERT_TRUE(canon.ok()) << sel->Canonical() << ": " << canon.status();
    for (const auto& l : tc.matches) {
      EXPECT_TRUE(sel->Matches(l)) << Show(l);
      EXPECT_TRUE(canon->Matches(l)) << "canonical " << sel->Canonical() << " " << Show(l);
    }
    for (const auto& l : tc.non_matches) {
      EXPECT_FALSE(sel->Matches(l)) << Show(l);
      EXPECT_FALSE(canon->Matches(l)) << "canonical " << sel->Canonical() << " " << Show(l);
    }
  }
}

TEST(SelectorMatch, DefaultIsAll) {
  Selector s;
  EXPECT_TRUE(s.IsAll());
  EXPECT_FALSE(s.IsGlobalOnly());
  EXPECT_TRUE(s.Matches({}));
  EXPECT_TRUE(s.Matches({{"projectcalico.org/namespace", "x"}}));
  EXPECT_EQ(s.Canonical(), "all()");
  EXPECT_EQ(s.text(), "");
}

TEST(SelectorMatch, MatchesDoesNotAllocate) {
  auto sel = Selector::Parse(
      "(app in {'web', 'api'} && env != 'dev' || k8s-app starts with 'kube') && !global() && "
      "has(projectcalico.org/namespace) && role not in {'x'} && tier contains 'ack' && "
      "tier ends with 'end'");
  ASSERT_TRUE(sel.ok()) << sel.status();
  const Labels l = {{"app", "web"},
                    {"env", "prod"},
                    {"projectcalico.org/namespace", "shop"},
                    {"role", "db"},
                    {"tier", "backend"}};
  const long before = g_allocations.load();
  bool all_true = true;
  for (int i = 0; i < 100; ++i) all_true = all_true && sel->Matches(l);
  const long after = g_allocations.load();
  EXPECT_TRUE(all_true);
  EXPECT_EQ(after - before, 0);
  // The counter itself works.
  auto copy = std::make_unique<Labels>(l);
  EXPECT_GT(g_allocations.load(), after);
}

// ---------------------------------------------------------------------------
// Classification: IsAll / IsGlobalOnly.
// ---------------------------------------------------------------------------
TEST(SelectorClassify, IsAllAndGlobalOnly) {
  struct Case {
    std::string sel;
    bool all;
    bool global;
  };
  const std::vector<Case> cases = {
      {"", true, false},
      {"   ", true, false},
      {"all()", true, false},
      {" all( ) ", true, false},
      {"(all())", true, false},
      {"!!all()", true, false},
      {"global()", false, true},
      {"\tglobal(  )  ", false, true},
      {"(global())", false, true},
      {"!global()", false, false},
      {"global() && has(a)", false, false},
      {"global() || all()", false, false},
      {"all() && has(a)", false, false},
      {"has(a)", false, false},
      {"!all()", false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.sel);
    auto sel = Selector::Parse(c.sel);
    ASSERT_TRUE(sel.ok()) << sel.status();
    EXPECT_EQ(sel->IsAll(), c.all);
    EXPECT_EQ(sel->IsGlobalOnly(), c.global);
  }
}

// ---------------------------------------------------------------------------
// Canonical form: fixed expectations, then round-trip.
// ---------------------------------------------------------------------------
TEST(SelectorCanonical, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "all()"},
      {" (all() )", "all()"},
      {"a=='b'", "a == \"b\""},
      {"a == '\"'", "a == '\"'"},
      {"a!=\"'\"", "a != \"'\""},
      {"a startswith 'x'", "a starts with \"x\""},
      {"a endswith 'x'", "a ends with \"x\""},
      {"a notin {'x'}", "a not in {\"x\"}"},
      {"a contains 'x'", "a contains \"x\""},
      {"a in {'z', 'x', 'z', 'a',}", "a in {\"a\", \"x\", \"z\"}"},
      {"a in {}", "a in {}"},
      {"has( b )", "has(b)"},
      {"!!has(a)", "has(a)"},
      {"!!!has(a)", "!has(a)"},
      {"!(!has(a))", "has(a)"},
      {"! (has( b)||! has(a ))", "!(has(b) || !has(a))"},
      {"(has(a) && has(b)) && has(c)", "has(a) && has(b) && has(c)"},
      {"has(a) || (has(b) || has(c))", "has(a) || has(b) || has(c)"},
      {"(has(a) || has(b)) && has(c)", "(has(a) || has(b)) && has(c)"},
      {"has(a) && has(b) || has(c)", "has(a) && has(b) || has(c)"},
      {"!(has(a) && has(b))", "!(has(a) && has(b))"},
      {"global( )", "global()"},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    auto sel = Selector::Parse(in);
    ASSERT_TRUE(sel.ok()) << sel.status();
    EXPECT_EQ(sel->Canonical(), want);
    auto again = Selector::Parse(sel->Canonical());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->Canonical(), want);
  }
}

// Generates random selectors (valid by construction, with random spacing,
// quoting and keyword spellings) and checks Canonical() is a fixed point and
// preserves meaning on random label maps.
class RandomSelectorGen {
 public:
  explicit RandomSelectorGen(uint32_t seed) : rng_(seed) {}

  std::string Generate(int depth) { return Or(depth); }

  Labels RandomLabels() {
    Labels l;
    for (const char* k : kKeys) {
      if (Pick(3) != 0) l[k] = Value();
    }
    return l;
  }

 private:
  static constexpr const char* kKeys[] = {"a", "k8s-app", "projectcalico.org/namespace", "x.y/z"};
  static constexpr const char* kValues[] = {"", "v", "vw", "wv", "it's", "say \"hi\"", "a b"};

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string Ws() {
    static const char* const kWs[] = {"", " ", "  ", "\t"};
    return kWs[Pick(4)];
  }
  std::string Value() { return kValues[Pick(7)]; }
  std::string Quoted() {
    std::string v = Value();
    char q = v.find('"') != std::string::npos    ? '\''
             : v.find('\'') != std::string::npos ? '"'
             : Pick(2)                           ? '\''
                                                 : '"';
    return q + v + q;
  }
  std::string Key() { return kKeys[Pick(4)]; }

  std::string Or(int depth) {
    std::string s = And(depth);
    for (int n = Pick(3); n > 0; --n) s += Ws() + "||" + Ws() + And(depth);
    return s;
  }
  std::string And(int depth) {
    std::string s = Op(depth);
    for (int n = Pick(3); n > 0; --n) s += Ws() + "&&" + Ws() + Op(depth);
    return s;
  }
  std::string Op(int depth) {
    std::string s;
    for (int n = Pick(4) == 0 ? Pick(4) : 0; n > 0; --n) {
      s += '!';
      s += Ws();
    }
    const int choice = Pick(depth > 0 ? 14 : 12);
    switch (choice) {
      case 0: return s + "has(" + Ws() + Key() + Ws() + ")";
      case 1: return s + "all()";
      case 2: return s + "global(" + Ws() + ")";
      case 3: return s + Key() + Ws() + "==" + Ws() + Quoted();
      case 4: return s + Key() + Ws() + "!=" + Ws() + Quoted();
      case 5: return s + Key() + " contains" + Ws() + Quoted();
      case 6: return s + Key() + (Pick(2) ? " startswith" : " starts with") + Ws() + Quoted();
      case 7: return s + Key() + (Pick(2) ? " endswith" : " ends  with") + Ws() + Quoted();
      case 8:
      case 9: {
        s += Key() + (choice == 8 ? " in" : (Pick(2) ? " notin" : " not in")) + Ws() + "{";
        const int n = Pick(4);
        for (int i = 0; i < n; ++i) {
          if (i > 0) s += ',';
          s += Ws();
          s += Quoted();
        }
        if (n > 0 && Pick(2)) s += ",";
        return s + Ws() + "}";
      }
      case 10:
      case 11: return s + Key() + " in {" + Quoted() + "}";
      default: return s + "(" + Ws() + Or(depth - 1) + Ws() + ")";
    }
  }

  std::mt19937 rng_;
};

TEST(SelectorCanonical, RandomRoundTrip) {
  RandomSelectorGen gen(12345);
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = gen.Generate(3);
    if (text.size() > 1024) continue;
    SCOPED_TRACE(text);
    auto sel = Selector::Parse(text);
    ASSERT_TRUE(sel.ok()) << sel.status();
    ++parsed;
    const std::string canon = sel->Canonical();
    auto again = Selector::Parse(canon);
    ASSERT_TRUE(again.ok()) << canon << ": " << again.status();
    ASSERT_EQ(again->Canonical(), canon);
    for (int j = 0; j < 8; ++j) {
      Labels l = gen.RandomLabels();
      ASSERT_EQ(sel->Matches(l), again->Matches(l)) << canon << " on " << Show(l);
    }
  }
  EXPECT_GT(parsed, 2500);
}

// Random edits of valid selectors: each result must either parse and
// round-trip through Canonical(), or fail with a message that quotes it.
TEST(SelectorCanonical, MutatedInputsFailCleanlyOrRoundTrip) {
  RandomSelectorGen gen(777);
  std::mt19937 rng(99);
  const std::string alphabet = "ab!&|=(){},'\" \t-./_inotcsweh%\n";
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = gen.Generate(2);
    for (int e = std::uniform_int_distribution<int>(1, 3)(rng); e > 0 && !text.empty(); --e) {
      const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng);
      const char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
      switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
        case 0: text.erase(at, 1); break;
        case 1: text.insert(at, 1, c); break;
        default: text[at] = c; break;
      }
    }
    if (text.size() > 1024) continue;
    SCOPED_TRACE(text);
    auto sel = Selector::Parse(text);
    if (!sel.ok()) {
      ++rejected;
      const std::string msg(sel.status().message());
      ASSERT_NE(msg.find("`" + text + "`"), std::string::npos) << msg;
      ASSERT_NE(msg.find(" at offset "), std::string::npos) << msg;
      continue;
    }
    ++accepted;
    auto again = Selector::Parse(sel->Canonical());
    ASSERT_TRUE(again.ok()) << sel->Canonical() << ": " << again.status();
    ASSERT_EQ(again->Canonical(), sel->Canonical());
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 100);
}

// A selector just under the length limit whose spaced-out canonical form
// would exceed it must still have a canonical form that parses.
TEST(SelectorCanonical, CompactFormNearLengthLimit) {
  std::string text;
  int i = 0;
  while (true) {
    std::string term = absl::StrCat("k", i++, "=='v'");
    if (text.size() + term.size() + 2 > 1024) break;
    if (!text.empty()) text += "&&";
    text += term;
  }
  auto sel = Selector::Parse(text);
  ASSERT_TRUE(sel.ok()) << sel.status();
  const std::string canon = sel->Canonical();
  EXPECT_LE(canon.size(), 1024u);
  auto again = Selector::Parse(canon);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Canonical(), canon);
  Labels l;
  for (int j = 0; j < i; ++j) l.emplace(absl::StrCat("k", j), "v");
  EXPECT_TRUE(again->Matches(l));
  l.erase("k0");
  EXPECT_FALSE(again->Matches(l));
}

// ---------------------------------------------------------------------------
// Errors: each must fail, quote the selector, give an offset, and mention
// the problem.
// ---------------------------------------------------------------------------
struct ErrorCase {
  std::string sel;
  std::vector<std::string> mentions;  // substrings the message must contain
};

TEST(SelectorErrors, Table) {
  const std::vector<ErrorCase> cases = {
      {"a = 'b'", {"'=='", "single '='", "offset 2"}},
      {"has(a) & has(b)", {"'&&'", "single '&'", "offset 7"}},
      {"has(a) | has(b)", {"'||'", "single '|'", "offset 7"}},
      {"a == 'b", {"unterminated string", "offset 5"}},
      {"a == \"b'", {"unterminated string", "offset 5"}},
      {"a in {'x', \"y}", {"unterminated string", "offset 11"}},
      {"'FOO", {"expected an expression", "a quoted string", "offset 0"}},
      {"a == b",
       {"expected a quoted string", "label 'b'", "labels cannot be compared", "offset 5"}},
      {"app == frontend", {"expected a quoted string", "offset 7"}},
      {"b contains b", {"expected a quoted string", "label 'b'"}},
      {"b starts with b", {"expected a quoted string"}},
      {"'b1' == b", {"expected an expression", "offset 0"}},
      {"app$ == 'x'", {"expected an operator", "label 'app'", "'$'", "offset 3"}},
      {"$app == 'x'", {"expected an expression", "'$'", "offset 0"}},
      {"has(a$)", {"expected ')'", "'$'", "offset 5"}},
      {"has()", {"expected a label key inside has()", "offset 4"}},
      {"has (a)", {"expected an operator", "label 'has'", "'('"}},
      {"a b", {"expected an operator", "label 'b'", "offset 2"}},
      {"a", {"expected an operator", "end of the selector", "offset 1"}},
      {"a ", {"expected an operator", "end of the selector"}},
      {"a ==", {"expected a quoted string", "end of the selector", "offset 4"}},
      {"a == 'x' &&", {"expected an expression", "end of the selector", "offset 11"}},
      {"a == 'x' ||  ", {"expected an expression", "end of the selector"}},
      {"&& has(a)", {"expected an expression", "'&'", "offset 0"}},
      {"!", {"expected an expression", "end of the selector", "offset 1"}},
      {"!= 'a'", {"expected an expression", "'!='"}},
      {"foo != ||", {"expected a quoted string", "'|'"}},
      {"foo in \"\"", {"expected '{'", "offset 7"}},
      {"foo in {\"\", ||", {"expected ',' or '}'", "'|'"}},
      {"foo in {,}", {"expected a quoted string or '}'", "','"}},
      {"foo in {'a',,}", {"expected ',' or '}'", "','"}},
      {"foo in {'a' 'b'}", {"expected ',' or '}'", "a quoted string"}},
      {"a starts 'x'", {"expected 'with' after 'starts'"}},
      {"a ends 'x'", {"expected 'with' after 'ends'"}},
      {"a not {'x'}", {"expected 'in' after 'not'"}},
      {"(", {"expected an expression", "end of the selector"}},
      {"(a == 'foo'", {"expected ')' to close the '(' at offset 0", "offset 11"}},
      {")", {"expected an expression", "')'"}},
      {"()", {"expected an expression", "')'", "offset 1"}},
      {"has(a))", {"expected '&&', '||' or the end of the selector", "')'", "offset 6"}},
      {"all(x)", {"expected ')' after all(", "label 'x'"}},
      {"global(1)", {"expected ')' after global(", "label '1'"}},
      {"%", {"expected an expression", "'%'"}},
      {"a == 'b' && %", {"'%'", "offset 12"}},
      {"a == 'x'\n", {"byte 0x0a", "offset 8"}},
      {"has(a) has(b)", {"expected '&&', '||' or the end of the selector", "label 'has'"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.sel);
    auto sel = Selector::Parse(c.sel);
    ASSERT_FALSE(sel.ok()) << "accepted; canonical " << sel->Canonical();
    EXPECT_EQ(sel.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(sel.status().message());
    EXPECT_NE(msg.find("`" + c.sel + "`"), std::string::npos) << "selector not quoted: " << msg;
    EXPECT_NE(msg.find("offset"), std::string::npos) << msg;
    for (const auto& m : c.mentions) EXPECT_NE(msg.find(m), std::string::npos) << m << " | " << msg;
  }
}

TEST(SelectorErrors, TooLong) {
  std::string ok = "a == '" + std::string(1024 - 8, 'x') + "'";
  ASSERT_EQ(ok.size(), 1023u);
  ok += " ";
  EXPECT_TRUE(Selector::Parse(ok).ok());
  const std::string too_long = ok + " ";
  auto sel = Selector::Parse(too_long);
  ASSERT_FALSE(sel.ok());
  const std::string msg(sel.status().message());
  EXPECT_NE(msg.find("1025 characters long"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 1024"), std::string::npos) << msg;
  EXPECT_NE(msg.find("`a == 'xxx"), std::string::npos) << msg;
}

TEST(SelectorErrors, KeyLength) {
  const std::string k512(512, 'k');
  EXPECT_TRUE(Selector::Parse("has(" + k512 + ")").ok());
  auto sel = Selector::Parse("has(" + k512 + "k)");
  ASSERT_FALSE(sel.ok());
  EXPECT_NE(sel.status().message().find("label key is 513 characters long"), std::string::npos)
      << sel.status();
  EXPECT_FALSE(Selector::Parse(k512 + "k == 'x'").ok());
}

TEST(SelectorErrors, NestingDepth) {
  auto nested = [](int n) { return std::string(n, '(') + "has(a)" + std::string(n, ')'); };
  auto ok = Selector::Parse(nested(128));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->Matches({{"a", ""}}));
  EXPECT_EQ(ok->Canonical(), "has(a)");
  auto deep = Selector::Parse(nested(129));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 128"), std::string::npos)
      << deep.status();
  EXPECT_NE(deep.status().message().find("offset 128"), std::string::npos) << deep.status();
  // Unbalanced deep nesting up to the length limit fails cleanly too.
  EXPECT_FALSE(Selector::Parse(std::string(1024, '(')).ok());
  std::string bangs;
  for (int i = 0; i < 300; ++i) bangs += "!(";
  EXPECT_FALSE(Selector::Parse(bangs + "has(a)" + std::string(300, ')')).ok());
  // A long chain of alternating ! and parens within the limit keeps its meaning.
  std::string alt;
  for (int i = 0; i < 101; ++i) alt += "!(";
  alt += "has(a)" + std::string(101, ')');
  auto a = Selector::Parse(alt);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Canonical(), "!has(a)");
  EXPECT_FALSE(a->Matches({{"a", "1"}}));
  EXPECT_TRUE(a->Matches({}));
}

}  // namespace
}  // namespace tierwall::test
