#include "control/flowlog/flow_filter.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::flowlog {
namespace {

using dp::classify::Cidr;
using dp::classify::IpAddr;

// Kubernetes names are DNS labels/subdomains; `*` is our glob.
bool ValidNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*' ||
         c == '_';
}

bool LooksLikeAddress(std::string_view s) {
  if (s.find(':') != std::string_view::npos) return true;  // IPv6 (names have no ':')
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.';
  }) && s.find('.') != std::string_view::npos;
}

absl::Status BadFilter(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad endpoint filter \"", std::string(text), "\": ", std::string(why),
                   " (want an IP, a CIDR, ns/, ns/name or a name; `*` globs names)"));
}

template <typename T, typename Pred>
bool Check(const Criterion<T>& c, Pred pred) {
  if (!c.active()) return true;
  const bool any = std::any_of(c.any_of.begin(), c.any_of.end(), pred);
  return any != c.negate;
}

// Fields of `<index>|<tier>|<name>|<action>|<rule index>`.
struct PolicyFields {
  std::string_view tier;
  std::string_view name;
};

bool SplitPolicy(std::string_view policy, PolicyFields* out) {
  std::string_view parts[5];
  size_t n = 0;
  for (size_t pos = 0;; ++n) {
    const size_t bar = policy.find('|', pos);
    if (n == 5) return false;
    parts[n] = policy.substr(pos, bar == std::string_view::npos ? bar : bar - pos);
    if (bar == std::string_view::npos) break;
    pos = bar + 1;
  }
  if (n != 4) return false;
  out->tier = parts[1];
  out->name = parts[2];
  return true;
}

std::string WithoutStaged(std::string_view s) {
  std::string out(s);
  if (size_t at = out.find("staged:"); at != std::string::npos) out.erase(at, 7);
  return out;
}

// `ns/tier.name`, `tier.name`, `name`, each with or without `staged:`.
bool PolicyNameMatches(const PolicyFields& p, std::string_view wanted) {
  if (p.name == wanted) return true;
  const std::string full = WithoutStaged(p.name);
  if (full == wanted) return true;
  std::string_view after_ns = full;
  if (size_t slash = after_ns.find('/'); slash != std::string_view::npos)
    after_ns = after_ns.substr(slash + 1);
  if (after_ns == wanted) return true;
  std::string_view short_name = after_ns;
  for (std::string prefix : {std::string(p.tier) + ".", std::string("knp.default.")}) {
    if (short_name.starts_with(prefix)) {
      short_name.remove_prefix(prefix.size());
      break;
    }
  }
  return short_name == wanted;
}

bool AnyPolicy(const FlowRecord& r, const std::function<bool(const PolicyFields&)>& pred) {
  for (const auto* list : {&r.enforced_policies, &r.pending_policies}) {
    for (const std::string& s : *list) {
      PolicyFields p;
      if (SplitPolicy(s, &p) && pred(p)) return true;
    }
  }
  return false;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with one backtrack point: linear in practice.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<EndpointFilter> ParseEndpointFilter(std::string_view text) {
  EndpointFilter f;
  f.text = std::string(text);
  if (text.empty()) return BadFilter(text, "empty");
  if (text.find_first_of(" \t\n") != std::string_view::npos) return BadFilter(text, "whitespace");

  const size_t slash = text.find('/');
  const std::string_view before = text.substr(0, slash);
  if (LooksLikeAddress(before)) {
    std::string error;
    std::optional<Cidr> cidr = Cidr::Parse(text, &error);
    if (!cidr) return BadFilter(text, error.empty() ? "not an IP address or CIDR" : error);
    f.kind = EndpointFilter::Kind::kCidr;
    f.cidr = *cidr;
    return f;
  }
  std::string_view ns, name = text;
  if (slash != std::string_view::npos) {
    ns = before;
    name = text.substr(slash + 1);
    if (ns.empty()) return BadFilter(text, "empty namespace before '/'");
    if (name.find('/') != std::string_view::npos) return BadFilter(text, "more than one '/'");
    if (ns.find('*') != std::string_view::npos) return BadFilter(text, "no globs in namespaces");
  }
  for (std::string_view part : {ns, name}) {
    for (char c : part) {
      if (!ValidNameChar(c))
        return BadFilter(
            text, absl::StrCat("'", std::string(1, c), "' cannot appear in a Kubernetes name"));
    }
  }
  f.namespace_ = std::string(ns);
  f.name = std::string(name);
  f.kind = name.empty() ? EndpointFilter::Kind::kNamespace : EndpointFilter::Kind::kName;
  return f;
}

bool EndpointFilter::Matches(std::string_view ip, std::string_view ns, std::string_view rec_name,
                             std::string_view name_aggr) const {
  switch (kind) {
    case Kind::kCidr: {
      std::optional<IpAddr> addr = IpAddr::Parse(ip);
      return addr && cidr.Contains(*addr);
    }
    case Kind::kNamespace: return ns == namespace_;
    case Kind::kName:
      if (!namespace_.empty() && ns != namespace_) return false;
      if (GlobMatch(name, rec_name) || GlobMatch(name, name_aggr)) return true;
      // An aggregated record stands for every pod its name_aggr covers.
      return rec_name == "-" && name_aggr.find('*') != std::string_view::npos &&
             GlobMatch(name_aggr, name);
  }
  return false;
}

absl::Status FlowFilter::Validate() const {
  for (const std::string& a : actions.any_of) {
    if (a != "allow" && a != "deny")
      return absl::InvalidArgumentError(
          absl::StrCat("bad action filter \"", a, "\": want allow or deny"));
  }
  for (int p : ports.any_of) {
    if (p < 0 || p > 65535)
      return absl::InvalidArgumentError(absl::StrCat("bad port filter ", p, ": want 0..65535"));
  }
  return absl::OkStatus();
}

bool FlowFilter::Matches(const FlowRecord& r) const {
  return Check(actions, [&](const std::string& a) { return r.action == a; }) &&
         Check(ports, [&](int p) { return r.dest_port == p; }) &&
         Check(namespaces,
               [&](const std::string& ns) {
                 return r.source_namespace == ns || r.dest_namespace == ns;
               }) &&
         Check(from,
               [&](const EndpointFilter& f) {
                 return f.Matches(r.source_ip, r.source_namespace, r.source_name,
                                  r.source_name_aggr);
               }) &&
         Check(to,
               [&](const EndpointFilter& f) {
                 return f.Matches(r.dest_ip, r.dest_namespace, r.dest_name, r.dest_name_aggr);
               }) &&
         Check(tiers,
               [&](const std::string& t) {
                 return AnyPolicy(r, [&](const PolicyFields& p) { return p.tier == t; });
               }) &&
         Check(policies, [&](const std::string& name) {
           return AnyPolicy(r, [&](const PolicyFields& p) { return PolicyNameMatches(p, name); });
         });
}

namespace {

template <typename T>
absl::Status AddTo(Criterion<T>* c, T value, bool negate, std::string_view flag) {
  if (c->active() && c->negate != negate) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(flag), " is given both with and without --not"));
  }
  c->negate = negate;
  c->any_of.push_back(std::move(value));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FlowFilter> ParseFlowFilter(const std::vector<std::string>& args) {
  FlowFilter f;
  bool negate_next = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--not") {
      if (negate_next) return absl::InvalidArgumentError("--not --not");
      negate_next = true;
      continue;
    }
    if (!arg.starts_with("--"))
      return absl::InvalidArgumentError(absl::StrCat("unexpected \"", std::string(arg), "\""));
    std::string flag(arg.substr(2)), value;
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " needs a value"));
    }
    const bool negate = negate_next;
    negate_next = false;
    absl::Status s;
    if (flag == "action" || flag == "verdict") {
      if (value != "allow" && value != "deny")
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag, " \"", value, "\": want allow or deny"));
      s = AddTo(&f.actions, value, negate, "action");
    } else if (flag == "policy") {
      s = AddTo(&f.policies, value, negate, flag);
    } else if (flag == "tier") {
      s = AddTo(&f.tiers, value, negate, flag);
    } else if (flag == "namespace") {
      s = AddTo(&f.namespaces, value, negate, flag);
    } else if (flag == "port") {
      int port = -1;
      if (value.empty() || value.size() > 5 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          (port = std::stoi(value)) > 65535) {
        return absl::InvalidArgumentError(absl::StrCat("--port \"", value, "\": want 0..65535"));
      }
      s = AddTo(&f.ports, port, negate, flag);
    } else if (flag == "from" || flag == "to") {
      absl::StatusOr<EndpointFilter> ep = ParseEndpointFilter(value);
      if (!ep.ok()) return ep.status();
      s = AddTo(flag == "from" ? &f.from : &f.to, *std::move(ep), negate, flag);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown filter --", flag,
          " (want --action, --policy, --tier, --from, --to, --port, --namespace, --not)"));
    }
    if (!s.ok()) return s;
  }
  if (negate_next) return absl::InvalidArgumentError("--not at the end negates nothing");
  return f;
}

}  // namespace tierwall::ctl::flowlog
