// twctl commands on resources and their history (tierwall.v1.ResourceService):
// apply, create, replace, delete, get, history, diff, rollback, stage, enforce,
// audit verify.
#include <iostream>

#include "control/twctl/commands.h"
#include "control/twctl/connection.h"
#include "control/twctl/output.h"
#include "tierwall/v1/resources.grpc.pb.h"

namespace tierwall::ctl::twctl {
namespace {

namespace v1 = ::tierwall::v1;

std::unique_ptr<v1::ResourceService::Stub> Stub(const Connection& c) {
  return v1::ResourceService::NewStub(c.Channel());
}

void FillRef(v1::ResourceRef* ref, const std::string& kind, const std::string& ns,
             const std::string& name) {
  ref->set_kind(CanonicalKind(kind));
  ref->set_namespace_(ns);
  ref->set_name(name);
}

std::string Qualified(const v1::Resource& r) {
  return r.kind() + " " + (r.namespace_().empty() ? "" : r.namespace_() + "/") + r.name();
}

std::string Generation(uint64_t g) { return g ? ", generation " + std::to_string(g) : ""; }

// What every resource command has: a connection and a name.
struct Target {
  Connection connection;
  std::string kind;
  std::string name;
  std::string ns;
};

void AddTargetArgs(CLI::App* cmd, Target* t, bool name_required = true) {
  cmd->add_option("kind", t->kind, "Kind or alias (np, gnp, snp, tier, wep, ...)")->required();
  auto* name = cmd->add_option("name", t->name, "Name");
  if (name_required) name->required();
  cmd->add_option("-n,--namespace", t->ns, "Namespace");
  AddConnectionFlags(cmd, &t->connection);
}

// apply/create/replace share their shape: -f FILE|DIR|- ..., one response
// listing what was written.
template <typename Request, typename Response, typename Call>
void RegisterWrite(CLI::App& app, const char* name, const char* help, Call call, int* exit_code) {
  auto c = std::make_shared<Connection>();
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("-f,--filename", *files, "YAML/JSON file, directory or - (repeatable)")
      ->required();
  AddConnectionFlags(cmd, c.get());
  const std::string verb = std::string(name) == "apply" ? "applied" : std::string(name) + "d";
  cmd->callback([c, files, exit_code, name = std::string(name), verb, call] {
    Request req;
    if (!ReadInput(name, *files, req.mutable_yaml())) {
      *exit_code = 2;
      return;
    }
    Response resp;
    grpc::ClientContext ctx;
    c->Prepare(&ctx);
    grpc::Status s = call(*Stub(*c), &ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail(name, s);
      return;
    }
    for (const auto& r : resp.resources()) {
      if (r.unchanged()) {
        std::cout << Qualified(r) << " unchanged (revision " << r.revision() << ")\n";
      } else {
        std::cout << Qualified(r) << " " << verb << " (revision " << resp.revision()
                  << Generation(resp.program_generation()) << ")\n";
      }
    }
  });
}

void PrintResources(const std::vector<v1::Resource>& resources, const std::string& format,
                    bool single) {
  if (format == "yaml" || (format.empty() && single)) {
    for (size_t i = 0; i < resources.size(); ++i) {
      if (!single || i > 0) std::cout << "---\n";
      std::cout << resources[i].yaml();
    }
    return;
  }
  if (format == "json") {
    if (single) {
      std::cout << YamlToJson(resources[0].yaml()).dump(2) << "\n";
      return;
    }
    nlohmann::ordered_json list = {{"apiVersion", "projectcalico.org/v3"},
                                   {"kind", "List"},
                                   {"items", nlohmann::ordered_json::array()}};
    for (const auto& r : resources) list["items"].push_back(YamlToJson(r.yaml()));
    std::cout << list.dump(2) << "\n";
    return;
  }
  const bool wide = format == "wide";
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"KIND", "NAMESPACE", "NAME", "TIER", "ORDER", "REVISION"});
  if (wide) rows[0].insert(rows[0].end(), {"SELECTOR", "TYPES"});
  for (const auto& r : resources) {
    std::string tier = YamlField(r.yaml(), "spec.tier");
    const bool policy = r.kind().find("Policy") != std::string::npos && r.kind() != "Kubernetes";
    if (policy && tier.empty() && r.kind().find("Kubernetes") == std::string::npos)
      tier = "default";
    std::vector<std::string> row = {r.kind(),
                                    r.namespace_().empty() ? "-" : r.namespace_(),
                                    r.name(),
                                    tier.empty() ? "-" : tier,
                                    YamlField(r.yaml(), "spec.order"),
                                    std::to_string(r.revision())};
    if (row[4].empty()) row[4] = "-";
    if (wide) {
      std::string selector = YamlField(r.yaml(), "spec.selector");
      nlohmann::ordered_json types = YamlToJson(r.yaml())["spec"]["types"];
      std::string t;
      if (types.is_array())
        for (const auto& x : types) t += (t.empty() ? "" : ",") + x.get<std::string>();
      row.push_back(selector.empty() ? "-" : selector);
      row.push_back(t.empty() ? "-" : t);
    }
    rows.push_back(std::move(row));
  }
  PrintTable(rows);
}

void RegisterGet(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<Target>();
  auto format = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "get", "Show resources: one by name as YAML, a kind as a table (-o yaml|json|wide)");
  auto tier = std::make_shared<std::string>();
  auto selector = std::make_shared<std::string>();
  AddTargetArgs(cmd, t.get(), false);
  cmd->add_option("--tier", *tier, "Only policies of this tier");
  cmd->add_option("-l,--selector", *selector,
                  "Calico selector over labels, e.g. \"team == 'shop'\"");
  cmd->add_option("-o,--output", *format, "yaml, json (both feed back into apply), wide, table")
      ->check(CLI::IsMember({"yaml", "json", "wide", "table"}));
  cmd->callback([t, format, tier, selector, exit_code] {
    grpc::ClientContext ctx;
    t->connection.Prepare(&ctx);
    if (!t->name.empty()) {
      v1::GetRequest req;
      FillRef(req.mutable_ref(), t->kind, t->ns, t->name);
      v1::GetResponse resp;
      grpc::Status s = Stub(t->connection)->Get(&ctx, req, &resp);
      if (!s.ok()) {
        *exit_code = Fail("get", s);
        return;
      }
      PrintResources({resp.resource()}, *format, true);
      return;
    }
    v1::ListRequest req;
    req.set_kind(CanonicalKind(t->kind));
    req.set_namespace_(t->ns);
    req.set_tier(*tier);
    req.set_label_selector(*selector);
    v1::ListResponse resp;
    grpc::Status s = Stub(t->connection)->List(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("get", s);
      return;
    }
    PrintResources({resp.resources().begin(), resp.resources().end()}, *format, false);
  });
}

void RegisterDelete(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<Target>();
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("delete", "Delete resources by -f FILE or KIND NAME");
  cmd->add_option("kind", t->kind, "Kind or alias");
  cmd->add_option("name", t->name, "Name");
  cmd->add_option("-n,--namespace", t->ns, "Namespace");
  cmd->add_option("-f,--filename", *files, "YAML/JSON file, directory or - (repeatable)");
  AddConnectionFlags(cmd, &t->connection);
  cmd->callback([t, files, exit_code] {
    v1::DeleteRequest req;
    if (!files->empty()) {
      if (!ReadInput("delete", *files, req.mutable_yaml())) {
        *exit_code = 2;
        return;
      }
    } else if (!t->kind.empty() && !t->name.empty()) {
      FillRef(req.mutable_ref(), t->kind, t->ns, t->name);
    } else {
      std::cerr << "twctl delete: give -f FILE or KIND NAME\n";
      *exit_code = 2;
      return;
    }
    v1::DeleteResponse resp;
    grpc::ClientContext ctx;
    t->connection.Prepare(&ctx);
    grpc::Status s = Stub(t->connection)->Delete(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("delete", s);
      return;
    }
    for (const auto& r : resp.resources())
      std::cout << Qualified(r) << " deleted (revision " << resp.revision()
                << Generation(resp.program_generation()) << ")\n";
  });
}

void RegisterHistory(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<Target>();
  CLI::App* cmd = app.add_subcommand("history", "Every revision of a resource: who, when, what");
  AddTargetArgs(cmd, t.get());
  cmd->callback([t, exit_code] {
    v1::HistoryRequest req;
    FillRef(req.mutable_ref(), t->kind, t->ns, t->name);
    v1::HistoryResponse resp;
    grpc::ClientContext ctx;
    t->connection.Prepare(&ctx);
    grpc::Status s = Stub(t->connection)->History(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("history", s);
      return;
    }
    std::vector<std::vector<std::string>> rows = {{"REVISION", "TIME", "USER", "VERB"}};
    for (const auto& e : resp.entries())
      rows.push_back({std::to_string(e.revision()), e.time(), e.user(), e.verb()});
    PrintTable(rows);
  });
}

void RegisterDiff(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<Target>();
  auto from = std::make_shared<int64_t>(-1);
  auto to = std::make_shared<int64_t>(-1);
  CLI::App* cmd = app.add_subcommand(
      "diff", "Unified diff of a resource between two revisions (default: its last change)");
  AddTargetArgs(cmd, t.get());
  cmd->add_option("--from", *from, "Older revision (default: the one before the last change)");
  cmd->add_option("--to", *to, "Newer revision (default: now)");
  cmd->callback([t, from, to, exit_code] {
    v1::DiffRequest req;
    FillRef(req.mutable_ref(), t->kind, t->ns, t->name);
    if (*from < 0) {
      // The last change: from the revision before it to it.
      v1::HistoryRequest hreq;
      *hreq.mutable_ref() = req.ref();
      v1::HistoryResponse h;
      grpc::ClientContext hctx;
      t->connection.Prepare(&hctx);
      grpc::Status s = Stub(t->connection)->History(&hctx, hreq, &h);
      if (!s.ok()) {
        *exit_code = Fail("diff", s);
        return;
      }
      const int n = h.entries_size();
      req.set_from_revision(n >= 2 ? h.entries(n - 2).revision() : 0);
      if (*to < 0 && n >= 1) req.set_to_revision(h.entries(n - 1).revision());
    } else {
      req.set_from_revision(*from);
    }
    if (*to >= 0) req.set_to_revision(*to);
    v1::DiffResponse resp;
    grpc::ClientContext ctx;
    t->connection.Prepare(&ctx);
    grpc::Status s = Stub(t->connection)->Diff(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("diff", s);
      return;
    }
    std::cout << resp.diff();
  });
}

void RegisterRollback(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<Target>();
  auto revision = std::make_shared<int64_t>(0);
  CLI::App* cmd = app.add_subcommand(
      "rollback", "Re-apply a resource as it was at a past revision (a new revision)");
  AddTargetArgs(cmd, t.get());
  cmd->add_option("--to-revision", *revision, "The revision to go back to")->required();
  cmd->callback([t, revision, exit_code] {
    v1::RollbackRequest req;
    FillRef(req.mutable_ref(), t->kind, t->ns, t->name);
    req.set_revision(*revision);
    v1::RollbackResponse resp;
    grpc::ClientContext ctx;
    t->connection.Prepare(&ctx);
    grpc::Status s = Stub(t->connection)->Rollback(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("rollback", s);
      return;
    }
    if (resp.resource().unchanged()) {
      std::cout << Qualified(resp.resource()) << " unchanged: it already reads as at revision "
                << *revision << "\n";
      return;
    }
    std::cout << Qualified(resp.resource()) << " rolled back to revision " << *revision
              << " (revision " << resp.revision() << Generation(resp.program_generation()) << ")\n";
  });
}

void RegisterStage(CLI::App& app, int* exit_code) {
  auto c = std::make_shared<Connection>();
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "stage", "Stage a policy change: evaluated and reported as pending, never enforced");
  cmd->add_option("-f,--filename", *files, "One policy (YAML/JSON file or -)")->required();
  AddConnectionFlags(cmd, c.get());
  cmd->callback([c, files, exit_code] {
    v1::StageRequest req;
    if (!ReadInput("stage", *files, req.mutable_yaml())) {
      *exit_code = 2;
      return;
    }
    v1::StageResponse resp;
    grpc::ClientContext ctx;
    c->Prepare(&ctx);
    grpc::Status s = Stub(*c)->Stage(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("stage", s);
      return;
    }
    std::cout << Qualified(resp.resource())
              << (resp.resource().unchanged() ? " unchanged" : " staged") << " (revision "
              << resp.revision() << Generation(resp.program_generation()) << ")\n";
  });
}

void RegisterEnforce(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<Target>();
  CLI::App* cmd = app.add_subcommand(
      "enforce", "Enforce a staged policy (KIND may be the staged or the enforced kind)");
  AddTargetArgs(cmd, t.get());
  cmd->callback([t, exit_code] {
    v1::EnforceRequest req;
    FillRef(req.mutable_ref(), t->kind, t->ns, t->name);
    v1::EnforceResponse resp;
    grpc::ClientContext ctx;
    t->connection.Prepare(&ctx);
    grpc::Status s = Stub(t->connection)->Enforce(&ctx, req, &resp);
    if (!s.ok()) {
      *exit_code = Fail("enforce", s);
      return;
    }
    std::cout << Qualified(resp.resource())
              << (resp.resource().yaml().empty() ? " deleted" : " enforced") << " (revision "
              << resp.revision() << Generation(resp.program_generation()) << ")\n";
  });
}

void RegisterAudit(CLI::App& app, int* exit_code) {
  auto c = std::make_shared<Connection>();
  CLI::App* audit = app.add_subcommand("audit", "The audit log");
  audit->require_subcommand(1);
  CLI::App* verify =
      audit->add_subcommand("verify", "Check the audit log's hash chain (tamper evidence)");
  AddConnectionFlags(verify, c.get());
  verify->callback([c, exit_code] {
    v1::VerifyAuditResponse resp;
    grpc::ClientContext ctx;
    c->Prepare(&ctx);
    grpc::Status s = Stub(*c)->VerifyAudit(&ctx, v1::VerifyAuditRequest(), &resp);
    if (!s.ok()) {
      *exit_code = Fail("audit verify", s);
      return;
    }
    std::cout << "audit log OK: " << resp.records() << " records, revision " << resp.revision()
              << ", latest hash " << resp.latest_hash() << "\n";
  });
}

}  // namespace

void RegisterResourceCommands(CLI::App& app, int* exit_code) {
  RegisterWrite<v1::ApplyRequest, v1::ApplyResponse>(
      app, "apply", "Create or replace resources (atomically: all or none)",
      [](v1::ResourceService::Stub& stub, grpc::ClientContext* ctx, const v1::ApplyRequest& req,
         v1::ApplyResponse* resp) { return stub.Apply(ctx, req, resp); },
      exit_code);
  RegisterWrite<v1::CreateRequest, v1::CreateResponse>(
      app, "create", "Create resources; fails if any exists",
      [](v1::ResourceService::Stub& stub, grpc::ClientContext* ctx, const v1::CreateRequest& req,
         v1::CreateResponse* resp) { return stub.Create(ctx, req, resp); },
      exit_code);
  RegisterWrite<v1::ReplaceRequest, v1::ReplaceResponse>(
      app, "replace", "Replace resources; fails if any is missing or changed since read",
      [](v1::ResourceService::Stub& stub, grpc::ClientContext* ctx, const v1::ReplaceRequest& req,
         v1::ReplaceResponse* resp) { return stub.Replace(ctx, req, resp); },
      exit_code);
  RegisterDelete(app, exit_code);
  RegisterGet(app, exit_code);
  RegisterHistory(app, exit_code);
  RegisterDiff(app, exit_code);
  RegisterRollback(app, exit_code);
  RegisterStage(app, exit_code);
  RegisterEnforce(app, exit_code);
  RegisterAudit(app, exit_code);
}

}  // namespace tierwall::ctl::twctl
