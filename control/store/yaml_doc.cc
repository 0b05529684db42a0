#include "control/store/yaml_doc.h"

#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/yaml/canonical_yaml.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::store::internal {
namespace {

#define TWS_RETURN_IF_ERROR(expr)                      \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

constexpr std::string_view kCalicoApi = "projectcalico.org/v3";

struct KindInfo {
  std::string_view api;
  std::string_view kind;       // as written in documents
  std::string_view canonical;  // as stored
  bool namespaced;
};
constexpr KindInfo kKinds[] = {
    {kCalicoApi, "Tier", "Tier", false},
    {kCalicoApi, "NetworkPolicy", "NetworkPolicy", true},
    {kCalicoApi, "GlobalNetworkPolicy", "GlobalNetworkPolicy", false},
    {kCalicoApi, "StagedNetworkPolicy", "StagedNetworkPolicy", true},
    {kCalicoApi, "StagedGlobalNetworkPolicy", "StagedGlobalNetworkPolicy", false},
    {kCalicoApi, "StagedKubernetesNetworkPolicy", "StagedKubernetesNetworkPolicy", true},
    {kCalicoApi, "WorkloadEndpoint", "WorkloadEndpoint", true},
    {kCalicoApi, "HostEndpoint", "HostEndpoint", false},
    {kCalicoApi, "GlobalNetworkSet", "GlobalNetworkSet", false},
    {kCalicoApi, "NetworkSet", "NetworkSet", true},
    {kCalicoApi, "Profile", "Profile", false},
    {"networking.k8s.io/v1", "NetworkPolicy", "KubernetesNetworkPolicy", true},
    {"v1", "Namespace", "Namespace", false},
    {"v1", "ServiceAccount", "ServiceAccount", true},
};

// yaml-cpp 0.7 has inputs on which its parser never stops (a stray ',' at the
// start of a block document) while LoadAll grows a tree without bound; the
// store parses documents straight from RPCs, so a dry run that counts parser
// events (each consumes input) bounds the real load. Same guard as the model
// loader's.
class EventBudget : public YAML::EventHandler {
 public:
  struct Exceeded {};
  explicit EventBudget(size_t input_size) : left_(4 * input_size + 1024) {}
  void OnDocumentStart(const YAML::Mark&) override { Spend(); }
  void OnDocumentEnd() override { Spend(); }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { Spend(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { Spend(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Spend();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Spend();
  }
  void OnSequenceEnd() override { Spend(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Spend();
  }
  void OnMapEnd() override { Spend(); }

 private:
  void Spend() {
    if (left_-- == 0) throw Exceeded{};
  }
  size_t left_;
};

absl::StatusOr<std::vector<YAML::Node>> LoadAll(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("document of ", text.size(), " bytes exceeds the limit of ", max_bytes));
  }
  std::string copy(text);
  try {
    {
      std::istringstream stream(copy);
      YAML::Parser parser(stream);
      EventBudget budget(copy.size());
      while (parser.HandleNextDocument(budget)) {
      }
    }
    return YAML::LoadAll(copy);
  } catch (const EventBudget::Exceeded&) {
    return absl::InvalidArgumentError("YAML syntax error: malformed input");
  } catch (const YAML::Exception& e) {
    std::string where;
    if (!e.mark.is_null()) {
      where = absl::StrCat("line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ");
    }
    return absl::InvalidArgumentError(absl::StrCat(where, "YAML syntax error: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML error: ", e.what()));
  }
}

using yaml::EmitBlock;
using yaml::SameTree;

absl::StatusOr<std::string> Canonical(const YAML::Node& n, size_t input_size) {
  YAML::Emitter e;
  e.SetIndent(2);
  size_t budget = 4 * input_size + 1024;
  TWS_RETURN_IF_ERROR(EmitBlock(n, e, &budget));
  std::string out = absl::StrCat(e.c_str(), "\n");
  // The text is what every later read sees, so it must mean exactly what was
  // given; a corner of the emitter that loses something is an error here
  // rather than a silent change of policy.
  try {
    if (!SameTree(YAML::Load(out), n)) {
      return absl::InvalidArgumentError("document cannot be stored faithfully (unusual scalars)");
    }
  } catch (const std::exception& ex) {
    return absl::InvalidArgumentError(
        absl::StrCat("document cannot be stored faithfully: ", ex.what()));
  }
  return out;
}

absl::StatusOr<std::string> ScalarField(const YAML::Node& n, absl::string_view path,
                                        bool required) {
  if (!n.IsDefined() || n.IsNull()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(path, ": required field missing"));
    return std::string();
  }
  if (!n.IsScalar()) return absl::InvalidArgumentError(absl::StrCat(path, ": must be a string"));
  return n.Scalar();
}

struct Extracted {
  Identity identity;
  std::optional<int64_t> resource_version;
};

absl::StatusOr<Extracted> Extract(const YAML::Node& top) {
  if (!top.IsMap()) return absl::InvalidArgumentError("document is not a mapping");
  absl::StatusOr<std::string> kind = ScalarField(top["kind"], "kind", true);
  if (!kind.ok()) return kind.status();
  if (kind->empty()) return absl::InvalidArgumentError("kind: must not be empty");
  absl::StatusOr<std::string> api = ScalarField(top["apiVersion"], "apiVersion", true);
  if (!api.ok()) return api.status();
  const YAML::Node meta = top["metadata"];
  if (!meta.IsDefined() || meta.IsNull()) {
    return absl::InvalidArgumentError("metadata.name: required field missing");
  }
  if (!meta.IsMap()) return absl::InvalidArgumentError("metadata: must be a mapping");
  absl::StatusOr<std::string> name = ScalarField(meta["name"], "metadata.name", true);
  if (!name.ok()) return name.status();
  if (name->empty()) return absl::InvalidArgumentError("metadata.name: must not be empty");
  absl::StatusOr<std::string> ns = ScalarField(meta["namespace"], "metadata.namespace", false);
  if (!ns.ok()) return ns.status();

  const KindInfo* info = nullptr;
  bool kind_known = false;
  for (const KindInfo& k : kKinds) {
    if (k.kind != *kind) continue;
    kind_known = true;
    if (k.api == *api) info = &k;
  }
  if (!kind_known)
    return absl::InvalidArgumentError(absl::StrCat("kind: unknown kind \"", *kind, "\""));
  if (!info) {
    return absl::InvalidArgumentError(
        absl::StrCat("apiVersion: \"", *api, "\" is not valid for kind ", *kind));
  }
  Extracted out;
  out.identity.kind = std::string(info->canonical);
  out.identity.name = *name;
  if (info->namespaced) {
    out.identity.namespace_ = ns->empty() ? "default" : *ns;
  } else if (!ns->empty()) {
    return absl::InvalidArgumentError("metadata.namespace: must not be set on a global resource");
  }
  absl::StatusOr<std::string> rv =
      ScalarField(meta["resourceVersion"], "metadata.resourceVersion", false);
  if (!rv.ok()) return rv.status();
  if (!rv->empty()) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(*rv, &v) || v <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("metadata.resourceVersion: \"", *rv, "\" is not a revision"));
    }
    out.resource_version = v;
  }
  return out;
}

absl::StatusOr<YAML::Node> LoadOne(std::string_view text, size_t max_bytes) {
  absl::StatusOr<std::vector<YAML::Node>> docs = LoadAll(text, max_bytes);
  if (!docs.ok()) return docs.status();
  std::vector<YAML::Node> real;
  for (YAML::Node& d : *docs) {
    if (!d.IsNull()) real.push_back(d);
  }
  if (real.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("want exactly one YAML document, got ", real.size()));
  }
  return real[0];
}

}  // namespace

absl::StatusOr<ParsedDocument> ParseDocument(std::string_view text, size_t max_bytes) {
  try {
    absl::StatusOr<YAML::Node> top = LoadOne(text, max_bytes);
    if (!top.ok()) return top.status();
    absl::StatusOr<Extracted> ex = Extract(*top);
    if (!ex.ok()) return ex.status();
    YAML::Node copy = YAML::Clone(*top);
    // A concurrency token, not content: versions and diffs leave it out.
    copy["metadata"].remove("resourceVersion");
    absl::StatusOr<std::string> canonical = Canonical(copy, text.size());
    if (!canonical.ok()) return canonical.status();
    return ParsedDocument{std::move(ex->identity), std::move(*canonical), ex->resource_version};
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML error: ", e.what()));
  }
}

absl::StatusOr<std::string> WithResourceVersion(const std::string& canonical_yaml,
                                                int64_t revision) {
  try {
    YAML::Node top = YAML::Load(canonical_yaml);
    YAML::Node rv(std::to_string(revision));
    rv.SetTag("!");  // a string, as in Kubernetes
    top["metadata"]["resourceVersion"] = rv;
    return yaml::ToBlockYaml(top, 4 * canonical_yaml.size() + 1024);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("stored YAML unreadable: ", e.what()));
  }
}

absl::StatusOr<std::vector<std::string>> SplitDocuments(std::string_view text, size_t max_bytes) {
  std::vector<std::string> out;
  try {
    absl::StatusOr<std::vector<YAML::Node>> docs = LoadAll(text, max_bytes);
    if (!docs.ok()) return docs.status();
    for (size_t i = 0; i < docs->size(); ++i) {
      const YAML::Node& doc = (*docs)[i];
      if (doc.IsNull()) continue;  // "---" with nothing after it
      std::string where = absl::StrCat("doc ", i + 1);
      std::vector<std::pair<std::string, YAML::Node>> items;  // (where, node)
      std::string kind;
      if (doc.IsMap() && doc["kind"].IsScalar()) kind = doc["kind"].Scalar();
      if (kind == "List" || (kind.size() > 4 && absl::EndsWith(kind, "List"))) {
        const YAML::Node list = doc["items"];
        if (list.IsDefined() && !list.IsNull() && !list.IsSequence()) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": items: must be a sequence"));
        }
        std::string item_kind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
        size_t j = 0;
        for (const YAML::Node& item : list) {
          std::string item_where = absl::StrCat(where, ": items[", j++, "]");
          if (!item_kind.empty() && item.IsMap() && !item["kind"].IsDefined()) {
            // calicoctl's <Kind>List items may leave out apiVersion and kind.
            YAML::Node full(YAML::NodeType::Map);
            full.force_insert("apiVersion", doc["apiVersion"]);
            full.force_insert("kind", item_kind);
            for (const auto& kv : item) {
              if (kv.first.IsScalar() && kv.first.Scalar() == "apiVersion") continue;
              full.force_insert(kv.first, kv.second);
            }
            items.emplace_back(item_where, full);
          } else {
            items.emplace_back(item_where, item);
          }
        }
      } else {
        items.emplace_back(where, doc);
      }
      for (auto& [item_where, node] : items) {
        absl::StatusOr<Extracted> ex = Extract(node);
        if (!ex.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(item_where, ": ", ex.status().message()));
        }
        absl::StatusOr<std::string> canonical = Canonical(node, text.size());
        if (!canonical.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(item_where, ": ", canonical.status().message()));
        }
        out.push_back(std::move(*canonical));
      }
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML error: ", e.what()));
  }
  return out;
}

}  // namespace tierwall::ctl::store::internal
