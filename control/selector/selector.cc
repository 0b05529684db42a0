// Calico selector parser and evaluator.
//
// The parser is a hand-written recursive descent over the raw characters
// (no separate token list), so keywords are recognised in the same places
// libcalico-go's context-sensitive tokenizer recognises them: `has(`, `all(`
// and `global(` only where an operand starts, and the word operators
// (`contains`, `starts with`, `in`, ...) only right after a label key.
//
// The tree is normalised while it is built (double negations cancel, nested
// && / || flatten, set literals are sorted and de-duplicated) so that
// Canonical() has one rendering per meaning-preserving shape and the
// evaluator walks as few nodes as possible.
#include "control/selector/selector.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tierwall::ctl::selector {

namespace {

constexpr size_t kMaxSelectorLength = 1024;
constexpr size_t kMaxKeyLength = 512;
// Parenthesis nesting limit: keeps parser and evaluator recursion bounded no
// matter what a (hostile) policy author writes.
constexpr int kMaxDepth = 128;

}  // namespace

struct Node {
  enum class Kind {
    kAll,
    kGlobal,
    kHas,
    kEq,
    kNe,
    kContains,
    kStartsWith,
    kEndsWith,
    kIn,
    kNotIn,
    kNot,
    kAnd,
    kOr,
  };
  Kind kind = Kind::kAll;
  std::string key;                              // label ops and has()
  std::string value;                            // ==, !=, contains, starts/ends with
  std::vector<std::string> set;                 // in / not in: sorted, unique
  std::vector<std::unique_ptr<Node>> children;  // not (1), and/or (>= 2)
};

namespace {

using Kind = Node::Kind;

// Debian's Abseil is built with its own absl::string_view rather than an alias
// of std::string_view, so StrCat cannot take a std::string_view directly.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }
using NodePtr = std::unique_ptr<Node>;

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '/' || c == '-';
}

bool IsLeaf(const Node& n) {
  return n.kind != Kind::kNot && n.kind != Kind::kAnd && n.kind != Kind::kOr;
}

// ---------------------------------------------------------------------------
// Evaluation. Recursion depth is bounded by kMaxDepth (times a small factor),
// and nothing here allocates: lookups use string_view against the
// transparent comparator of Labels.
// ---------------------------------------------------------------------------
bool Eval(const Node& n, const Labels& labels) {
  switch (n.kind) {
    case Kind::kAll: return true;
    case Kind::kGlobal: return labels.find(kNamespaceLabel) == labels.end();
    case Kind::kHas: return labels.find(std::string_view(n.key)) != labels.end();
    case Kind::kNot: return !Eval(*n.children[0], labels);
    case Kind::kAnd:
      for (const auto& c : n.children) {
        if (!Eval(*c, labels)) return false;
      }
      return true;
    case Kind::kOr:
      for (const auto& c : n.children) {
        if (Eval(*c, labels)) return true;
      }
      return false;
    default: break;
  }
  auto it = labels.find(std::string_view(n.key));
  const bool present = it != labels.end();
  switch (n.kind) {
    case Kind::kEq: return present && it->second == n.value;
    case Kind::kNe: return !present || it->second != n.value;
    case Kind::kContains:
      return present && std::string_view(it->second).find(n.value) != std::string_view::npos;
    case Kind::kStartsWith: return present && std::string_view(it->second).starts_with(n.value);
    case Kind::kEndsWith: return present && std::string_view(it->second).ends_with(n.value);
    case Kind::kIn: return present && std::binary_search(n.set.begin(), n.set.end(), it->second);
    case Kind::kNotIn:
      return !present || !std::binary_search(n.set.begin(), n.set.end(), it->second);
    default: return false;  // unreachable: handled above
  }
}

// ---------------------------------------------------------------------------
// Rendering. `compact` drops every optional space; it exists so that a
// selector near the length limit still has a canonical form that Parse()
// accepts (the compact form is never longer than the text it came from).
// ---------------------------------------------------------------------------
void AppendQuoted(std::string& out, const std::string& v) {
  // A literal cannot contain its own delimiter (there are no escapes), and a
  // parsed value never contains both quote kinds.
  const char q = v.find('"') == std::string::npos ? '"' : '\'';
  out += q;
  out += v;
  out += q;
}

void Render(const Node& n, bool compact, std::string& out) {
  const char* sp = compact ? "" : " ";
  switch (n.kind) {
    case Kind::kAll: out += "all()"; return;
    case Kind::kGlobal: out += "global()"; return;
    case Kind::kHas: absl::StrAppend(&out, "has(", n.key, ")"); return;
    case Kind::kEq: absl::StrAppend(&out, n.key, sp, "==", sp); break;
    case Kind::kNe: absl::StrAppend(&out, n.key, sp, "!=", sp); break;
    case Kind::kContains: absl::StrAppend(&out, n.key, " contains", sp); break;
    case Kind::kStartsWith:
      absl::StrAppend(&out, n.key, compact ? " startswith" : " starts with ");
      break;
    case Kind::kEndsWith:
      absl::StrAppend(&out, n.key, compact ? " endswith" : " ends with ");
      break;
    case Kind::kIn:
    case Kind::kNotIn: {
      absl::StrAppend(&out, n.key, n.kind == Kind::kIn ? " in" : (compact ? " notin" : " not in"),
                      sp, "{");
      for (size_t i = 0; i < n.set.size(); ++i) {
        if (i > 0) absl::StrAppend(&out, ",", sp);
        AppendQuoted(out, n.set[i]);
      }
      out += "}";
      return;
    }
    case Kind::kNot: {
      const Node& c = *n.children[0];
      out += "!";
      if (IsLeaf(c)) {
        Render(c, compact, out);
      } else {
        out += "(";
        Render(c, compact, out);
        out += ")";
      }
      return;
    }
    case Kind::kAnd:
    case Kind::kOr: {
      const char* op = n.kind == Kind::kAnd ? (compact ? "&&" : " && ") : (compact ? "||" : " || ");
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) out += op;
        const Node& c = *n.children[i];
        // Children of the same kind were flattened away, so only an || under
        // an && needs parentheses to keep its grouping.
        const bool paren = n.kind == Kind::kAnd && c.kind == Kind::kOr;
        if (paren) out += "(";
        Render(c, compact, out);
        if (paren) out += ")";
      }
      return;
    }
  }
  AppendQuoted(out, n.value);
}

// ---------------------------------------------------------------------------
// Parser.
// ---------------------------------------------------------------------------
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  absl::StatusOr<NodePtr> ParseAll() {
    SkipWs();
    if (AtEnd()) return MakeLeaf(Kind::kAll);
    auto root = ParseOr();
    if (!root.ok()) return root.status();
    SkipWs();
    if (!AtEnd()) {
      return Error(
          pos_, absl::StrCat("expected '&&', '||' or the end of the selector but found ", Found()));
    }
    return root;
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  bool LookingAt(std::string_view word) const { return s_.substr(pos_).starts_with(word); }
  void SkipWs() {
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  // Describes what sits at the cursor, for "expected X but found Y".
  std::string Found() const {
    if (AtEnd()) return "the end of the selector";
    const char c = s_[pos_];
    if (IsKeyChar(c)) {
      size_t end = pos_;
      while (end < s_.size() && IsKeyChar(s_[end])) ++end;
      std::string_view word = s_.substr(pos_, std::min<size_t>(end - pos_, 40));
      return absl::StrCat("label '", Sv(word), "'");
    }
    if (c == '"' || c == '\'') return "a quoted string";
    if (c >= 0x21 && c <= 0x7e) return absl::StrCat("'", Sv(s_.substr(pos_, 1)), "'");
    return absl::StrFormat("byte 0x%02x", static_cast<unsigned char>(c));
  }

  absl::Status Error(size_t offset, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("`", Sv(s_), "`: ", Sv(what), " at offset ", offset));
  }

  static NodePtr MakeLeaf(Kind kind) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    return n;
  }

  // Builds an && / || node, splicing in children of the same kind: the
  // operators are associative, and a flat list keeps Canonical() unique.
  static NodePtr MakeNary(Kind kind, std::vector<NodePtr> items) {
    if (items.size() == 1) return std::move(items[0]);
    auto n = MakeLeaf(kind);
    for (auto& item : items) {
      if (item->kind == kind) {
        for (auto& c : item->children) n->children.push_back(std::move(c));
      } else {
        n->children.push_back(std::move(item));
      }
    }
    return n;
  }

  absl::StatusOr<NodePtr> ParseOr() {
    std::vector<NodePtr> items;
    while (true) {
      auto item = ParseAnd();
      if (!item.ok()) return item.status();
      items.push_back(*std::move(item));
      SkipWs();
      if (Peek() != '|') break;
      if (Peek(1) != '|') return Error(pos_, "expected '||' but found a single '|'");
      pos_ += 2;
    }
    return MakeNary(Kind::kOr, std::move(items));
  }

  absl::StatusOr<NodePtr> ParseAnd() {
    std::vector<NodePtr> items;
    while (true) {
      auto item = ParseOperation();
      if (!item.ok()) return item.status();
      items.push_back(*std::move(item));
      SkipWs();
      if (Peek() != '&') break;
      if (Peek(1) != '&') return Error(pos_, "expected '&&' but found a single '&'");
      pos_ += 2;
    }
    return MakeNary(Kind::kAnd, std::move(items));
  }

  // op := "!"* operand. Any number of leading '!' counts by parity, exactly
  // as libcalico-go does (`!!has(a)` is `has(a)`).
  absl::StatusOr<NodePtr> ParseOperation() {
    bool negated = false;
    SkipWs();
    while (Peek() == '!') {
      if (Peek(1) == '=') {
        return Error(pos_,
                     "expected an expression (has(), all(), global(), '!', '(' or a label "
                     "key) but found '!='");
      }
      negated = !negated;
      ++pos_;
      SkipWs();
    }
    auto operand = ParseOperand();
    if (!operand.ok() || !negated) return operand;
    NodePtr inner = *std::move(operand);
    if (inner->kind == Kind::kNot) return std::move(inner->children[0]);  // !(!x) is x
    auto n = MakeLeaf(Kind::kNot);
    n->children.push_back(std::move(inner));
    return n;
  }

  absl::StatusOr<NodePtr> ParseOperand() {
    SkipWs();
    const size_t start = pos_;
    if (Peek() == '(') {
      if (++depth_ > kMaxDepth) {
        return Error(start, absl::StrCat("parentheses nested deeper than ", kMaxDepth, " levels"));
      }
      ++pos_;
      auto inner = ParseOr();
      if (!inner.ok()) return inner.status();
      SkipWs();
      if (Peek() != ')') {
        return Error(pos_, absl::StrCat("expected ')' to close the '(' at offset ", start,
                                        " but found ", Found()));
      }
      ++pos_;
      --depth_;
      return inner;
    }
    // These keywords are only recognised with the '(' attached, as in
    // libcalico-go: `has (a)` reads as the label `has`.
    if (LookingAt("has(")) {
      pos_ += 4;
      SkipWs();
      const size_t key_at = pos_;
      auto key = ParseKey();
      if (!key.ok()) return key.status();
      if (key->empty()) {
        return Error(key_at, absl::StrCat("expected a label key inside has() but found ", Found()));
      }
      SkipWs();
      if (Peek() != ')') {
        return Error(pos_, absl::StrCat("expected ')' to close has( but found ", Found()));
      }
      ++pos_;
      auto n = MakeLeaf(Kind::kHas);
      n->key = *std::move(key);
      return n;
    }
    for (auto [word, kind] : {std::pair{std::string_view("all("), Kind::kAll},
                              std::pair{std::string_view("global("), Kind::kGlobal}}) {
      if (!LookingAt(word)) continue;
      pos_ += word.size();
      SkipWs();
      if (Peek() != ')') {
        return Error(pos_, absl::StrCat("expected ')' after ", Sv(word), " but found ", Found()));
      }
      ++pos_;
      return MakeLeaf(kind);
    }
    if (IsKeyChar(Peek())) return ParseComparison();
    return Error(pos_, absl::StrCat("expected an expression (has(), all(), global(), '!', '(' or a "
                                    "label key) but found ",
                                    Found()));
  }

  // Reads a label key at the cursor; empty when none starts here.
  absl::StatusOr<std::string> ParseKey() {
    const size_t start = pos_;
    while (!AtEnd() && IsKeyChar(s_[pos_])) ++pos_;
    if (pos_ - start > kMaxKeyLength) {
      return Error(start, absl::StrCat("label key is ", pos_ - start, " characters long; at most ",
                                       kMaxKeyLength, " are allowed"));
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::string> ParseString(std::string_view after_what) {
    SkipWs();
    const char q = Peek();
    if (q != '"' && q != '\'') {
      std::string msg =
          absl::StrCat("expected a quoted string after ", Sv(after_what), " but found ", Found());
      if (IsKeyChar(Peek())) absl::StrAppend(&msg, " (labels cannot be compared with labels)");
      return Error(pos_, msg);
    }
    const size_t open = pos_;
    const size_t close = s_.find(q, open + 1);
    if (close == std::string_view::npos) {
      return Error(open, absl::StrCat("unterminated string: no closing ", std::string(1, q),
                                      " for the quote"));
    }
    pos_ = close + 1;
    return std::string(s_.substr(open + 1, close - open - 1));
  }

  absl::StatusOr<NodePtr> ParseComparison() {
    auto key = ParseKey();
    if (!key.ok()) return key.status();
    SkipWs();
    const size_t op_at = pos_;
    Kind kind;
    std::string_view op_name;
    if (LookingAt("==")) {
      kind = Kind::kEq, op_name = "'=='", pos_ += 2;
    } else if (LookingAt("!=")) {
      kind = Kind::kNe, op_name = "'!='", pos_ += 2;
    } else if (Peek() == '=') {
      return Error(pos_, "expected '==' but found a single '='");
    } else if (LookingAt("contains")) {
      kind = Kind::kContains, op_name = "'contains'", pos_ += 8;
    } else if (LookingAt("starts") || LookingAt("ends") || LookingAt("not")) {
      // Two-word operators; libcalico-go also accepts them without the space.
      const bool starts = LookingAt("starts"), ends = LookingAt("ends");
      const std::string_view first = starts ? "starts" : ends ? "ends" : "not";
      const std::string_view second = starts || ends ? "with" : "in";
      pos_ += first.size();
      SkipWs();
      if (!LookingAt(second)) {
        return Error(pos_, absl::StrCat("expected '", Sv(second), "' after '", Sv(first),
                                        "' but found ", Found()));
      }
      pos_ += second.size();
      kind = starts ? Kind::kStartsWith : ends ? Kind::kEndsWith : Kind::kNotIn;
      op_name = starts ? "'starts with'" : ends ? "'ends with'" : "'not in'";
    } else if (LookingAt("in")) {
      kind = Kind::kIn, op_name = "'in'", pos_ += 2;
    } else {
      return Error(op_at,
                   absl::StrCat("expected an operator (==, !=, in, not in, contains, "
                                "starts with, ends with) after label '",
                                Sv(std::string_view(*key).substr(0, 40)), "' but found ", Found()));
    }
    auto n = MakeLeaf(kind);
    n->key = *std::move(key);
    if (kind != Kind::kIn && kind != Kind::kNotIn) {
      auto v = ParseString(op_name);
      if (!v.ok()) return v.status();
      n->value = *std::move(v);
      return n;
    }
    SkipWs();
    if (Peek() != '{') {
      return Error(pos_, absl::StrCat("expected '{' to start a set after ", Sv(op_name),
                                      " but found ", Found()));
    }
    ++pos_;
    // { } | { s (, s)* ,? }: a comma must follow a string, a trailing one is fine.
    while (true) {
      SkipWs();
      if (Peek() != '"' && Peek() != '\'') break;
      auto v = ParseString(op_name);
      if (!v.ok()) return v.status();
      n->set.push_back(*std::move(v));
      SkipWs();
      if (Peek() != ',') break;
      ++pos_;
    }
    SkipWs();
    if (Peek() != '}') {
      return Error(pos_, absl::StrCat(n->set.empty() ? "expected a quoted string or '}'"
                                                     : "expected ',' or '}'",
                                      " in the set after ", Sv(op_name), " but found ", Found()));
    }
    ++pos_;
    std::sort(n->set.begin(), n->set.end());
    n->set.erase(std::unique(n->set.begin(), n->set.end()), n->set.end());
    return n;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

const std::shared_ptr<const Node>& AllNode() {
  static const auto* const kAll = new std::shared_ptr<const Node>(std::make_shared<Node>());
  return *kAll;
}

NodePtr Rewrite(const Node& n, std::string_view prefix, std::string_view all_as) {
  auto out = std::make_unique<Node>();
  out->kind = n.kind;
  out->value = n.value;
  out->set = n.set;
  if (n.kind == Kind::kAll && !all_as.empty()) {
    out->kind = Kind::kHas;
    out->key = std::string(all_as);
    return out;
  }
  if (!n.key.empty()) out->key = absl::StrCat(Sv(prefix), n.key);
  for (const auto& c : n.children) out->children.push_back(Rewrite(*c, prefix, all_as));
  return out;
}

}  // namespace

Selector::Selector() : root_(AllNode()) {}

Selector Selector::WithKeyPrefix(std::string_view prefix, std::string_view all_as) const {
  Selector sel;
  sel.root_ = std::shared_ptr<const Node>(Rewrite(*root_, prefix, all_as));
  sel.text_ = sel.Canonical();
  return sel;
}

absl::StatusOr<Selector> Selector::Parse(std::string_view text) {
  if (text.size() > kMaxSelectorLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("`", Sv(text.substr(0, 60)), "...`: selector is ", text.size(),
                     " characters long; at most ", kMaxSelectorLength, " are allowed"));
  }
  auto root = Parser(text).ParseAll();
  if (!root.ok()) return root.status();
  Selector sel;
  sel.root_ = std::shared_ptr<const Node>(*std::move(root));
  sel.text_ = std::string(text);
  return sel;
}

bool Selector::Matches(const Labels& labels) const { return Eval(*root_, labels); }

std::string Selector::Canonical() const {
  std::string out;
  Render(*root_, /*compact=*/false, out);
  if (out.size() > kMaxSelectorLength) {
    // Keep the promise that Parse(Canonical()) succeeds.
    out.clear();
    Render(*root_, /*compact=*/true, out);
  }
  return out;
}

bool Selector::IsAll() const { return root_->kind == Kind::kAll; }

bool Selector::IsGlobalOnly() const { return root_->kind == Kind::kGlobal; }

}  // namespace tierwall::ctl::selector
