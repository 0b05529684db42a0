// Calico selector expressions: parse once, evaluate against label maps.
//
// Grammar (as libcalico-go implements it):
//   or  := and ("||" and)*        and := op ("&&" op)*
//   op  := "!"* ( has(k) | all() | global() | "(" or ")" | k == s | k != s
//                 | k contains s | k starts with s | k ends with s
//                 | k in {s,..} | k not in {s,..} )
//   s   := 'text' | "text" (no escapes)      k := [A-Za-z0-9_./-]{1,512}
// `!=` and `not in` are true when the label is absent; `==`, `in`, `contains`,
// `starts with`, `ends with` are false when it is absent. `notin`,
// `startswith`, `endswith` are accepted as one word; empty sets and a
// trailing comma are accepted; an empty selector means all(). global() is
// true for resources outside any namespace, i.e. labels without
// `projectcalico.org/namespace` (the compiler adds that label to namespaced
// endpoints and network sets). Max length 1024.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tierwall::ctl::selector {

using Labels = std::map<std::string, std::string, std::less<>>;

inline constexpr std::string_view kNamespaceLabel = "projectcalico.org/namespace";

struct Node;  // the parsed expression tree, private to selector.cc

class Selector {
 public:
  // all()
  Selector();
  // Errors name the problem and its position, e.g.
  //   `app == frontend`: expected a quoted string at offset 7
  static absl::StatusOr<Selector> Parse(std::string_view text);

  bool Matches(const Labels& labels) const;

  // The text as written (empty text is kept as empty).
  const std::string& text() const { return text_; }
  // A normalised rendering that parses back to an equal selector.
  std::string Canonical() const;
  bool IsAll() const;         // the whole expression is all() (or empty)
  bool IsGlobalOnly() const;  // the whole expression is global()

  // The selector with `prefix` put in front of every label key (has() and
  // every comparison), as libcalico-go's parser.PrefixVisitor does when it
  // turns a namespaceSelector into `pcns.` terms and a service account
  // selector into `pcsa.` terms. With `all_as` non-empty, every all() becomes
  // has(all_as): Calico's rewrite of all() in a namespaceSelector ("any
  // namespaced thing"). global() is kept (it already means "not namespaced").
  Selector WithKeyPrefix(std::string_view prefix, std::string_view all_as = {}) const;

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
};

}  // namespace tierwall::ctl::selector
