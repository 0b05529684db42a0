// twctl commands that talk to tierwalld's API (tierwall.v1.ResourceService):
// apply, get, history, diff. Server and token come from flags or the
// environment (TIERWALL_ADDR, TIERWALL_TOKEN), as calicoctl reads its config.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "control/twctl/commands.h"
#include "tierwall/v1/resources.grpc.pb.h"

namespace tierwall::ctl::twctl {

namespace {

struct Connection {
  std::string server;
  std::string token;
};

void AddConnectionFlags(CLI::App* cmd, Connection* c) {
  const char* addr = std::getenv("TIERWALL_ADDR");
  const char* token = std::getenv("TIERWALL_TOKEN");
  c->server = addr ? addr : "unix:/var/lib/tierwall/tierwall.sock";
  c->token = token ? token : "";
  cmd->add_option("--server", c->server, "tierwalld API address (env TIERWALL_ADDR)")
      ->capture_default_str();
  cmd->add_option("--token", c->token, "Bearer token (env TIERWALL_TOKEN)");
}

std::unique_ptr<v1::ResourceService::Stub> Stub(const Connection& c) {
  return v1::ResourceService::NewStub(
      grpc::CreateChannel(c.server, grpc::InsecureChannelCredentials()));
}

void Prepare(grpc::ClientContext* ctx, const Connection& c) {
  if (!c.token.empty()) ctx->AddMetadata("authorization", "Bearer " + c.token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

int Fail(const char* what, const grpc::Status& s) {
  static const char* kCodes[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int code = static_cast<int>(s.error_code());
  std::cerr << "twctl " << what << ": " << (code >= 0 && code <= 16 ? kCodes[code] : "ERROR")
            << ": " << s.error_message() << "\n";
  return 1;
}

// Kind aliases, as calicoctl and kubectl accept them.
std::string CanonicalKind(const std::string& k) {
  static const std::pair<const char*, const char*> kAliases[] = {
      {"gnp", "GlobalNetworkPolicy"},
      {"globalnetworkpolicy", "GlobalNetworkPolicy"},
      {"np", "NetworkPolicy"},
      {"networkpolicy", "NetworkPolicy"},
      {"knp", "KubernetesNetworkPolicy"},
      {"sgnp", "StagedGlobalNetworkPolicy"},
      {"snp", "StagedNetworkPolicy"},
      {"sknp", "StagedKubernetesNetworkPolicy"},
      {"tier", "Tier"},
      {"tiers", "Tier"},
      {"wep", "WorkloadEndpoint"},
      {"workloadendpoint", "WorkloadEndpoint"},
      {"hep", "HostEndpoint"},
      {"hostendpoint", "HostEndpoint"},
      {"gns", "GlobalNetworkSet"},
      {"netset", "NetworkSet"},
      {"profile", "Profile"},
      {"ns", "Namespace"},
      {"namespace", "Namespace"}};
  std::string lower;
  for (char ch : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& [alias, kind] : kAliases)
    if (lower == alias) return kind;
  return k;
}

void FillRef(v1::ResourceRef* ref, const std::string& kind, const std::string& ns,
             const std::string& name) {
  ref->set_kind(CanonicalKind(kind));
  ref->set_namespace_(ns);
  ref->set_name(name);
}

bool ReadInput(const std::vector<std::string>& files, std::string* out) {
  for (const std::string& f : files) {
    std::stringstream text;
    if (f == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(f);
      if (!in) {
        std::cerr << "twctl apply: " << f << ": cannot read\n";
        return false;
      }
      text << in.rdbuf();
    }
    *out += "---\n" + text.str() + "\n";
  }
  return true;
}

}  // namespace

void RegisterApiCommands(CLI::App& app, int* exit_code) {
  {  // apply
    auto c = std::make_shared<Connection>();
    auto files = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd =
        app.add_subcommand("apply", "Create or replace resources (atomically: all or none)");
    cmd->add_option("-f,--filename", *files, "YAML/JSON file or - (repeatable)")->required();
    AddConnectionFlags(cmd, c.get());
    cmd->callback([c, files, exit_code] {
      v1::ApplyRequest req;
      if (!ReadInput(*files, req.mutable_yaml())) {
        *exit_code = 2;
        return;
      }
      v1::ApplyResponse resp;
      grpc::ClientContext ctx;
      Prepare(&ctx, *c);
      grpc::Status s = Stub(*c)->Apply(&ctx, req, &resp);
      if (!s.ok()) {
        *exit_code = Fail("apply", s);
        return;
      }
      for (const auto& r : resp.resources())
        std::cout << r.kind() << " " << (r.namespace_().empty() ? "" : r.namespace_() + "/")
                  << r.name() << " applied (revision " << resp.revision() << ")\n";
    });
  }
  {  // get
    auto c = std::make_shared<Connection>();
    auto kind = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto ns = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("get", "Show resources as YAML (feeds back into apply)");
    cmd->add_option("kind", *kind, "Kind or alias (gnp, np, tier, ...)")->required();
    cmd->add_option("name", *name, "Name (all of the kind when omitted)");
    cmd->add_option("-n,--namespace", *ns, "Namespace");
    AddConnectionFlags(cmd, c.get());
    cmd->callback([c, kind, name, ns, exit_code] {
      grpc::ClientContext ctx;
      Prepare(&ctx, *c);
      if (!name->empty()) {
        v1::GetRequest req;
        FillRef(req.mutable_ref(), *kind, *ns, *name);
        v1::GetResponse resp;
        grpc::Status s = Stub(*c)->Get(&ctx, req, &resp);
        if (!s.ok()) {
          *exit_code = Fail("get", s);
          return;
        }
        std::cout << resp.resource().yaml();
        return;
      }
      v1::ListRequest req;
      req.set_kind(CanonicalKind(*kind));
      req.set_namespace_(*ns);
      v1::ListResponse resp;
      grpc::Status s = Stub(*c)->List(&ctx, req, &resp);
      if (!s.ok()) {
        *exit_code = Fail("get", s);
        return;
      }
      for (const auto& r : resp.resources()) std::cout << "---\n" << r.yaml();
    });
  }
  {  // history
    auto c = std::make_shared<Connection>();
    auto kind = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto ns = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("history", "Every revision of a resource: who, when, what");
    cmd->add_option("kind", *kind, "Kind or alias")->required();
    cmd->add_option("name", *name, "Name")->required();
    cmd->add_option("-n,--namespace", *ns, "Namespace");
    AddConnectionFlags(cmd, c.get());
    cmd->callback([c, kind, name, ns, exit_code] {
      v1::HistoryRequest req;
      FillRef(req.mutable_ref(), *kind, *ns, *name);
      v1::HistoryResponse resp;
      grpc::ClientContext ctx;
      Prepare(&ctx, *c);
      grpc::Status s = Stub(*c)->History(&ctx, req, &resp);
      if (!s.ok()) {
        *exit_code = Fail("history", s);
        return;
      }
      std::printf("%-9s %-22s %-20s %s\n", "REVISION", "TIME", "USER", "VERB");
      for (const auto& e : resp.entries())
        std::printf("%-9lld %-22s %-20s %s\n", static_cast<long long>(e.revision()),
                    e.time().c_str(), e.user().c_str(), e.verb().c_str());
    });
  }
  {  // diff
    auto c = std::make_shared<Connection>();
    auto kind = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto ns = std::make_shared<std::string>();
    auto from = std::make_shared<int64_t>(0);
    auto to = std::make_shared<int64_t>(-1);
    CLI::App* cmd = app.add_subcommand("diff", "Unified diff of a resource between two revisions");
    cmd->add_option("kind", *kind, "Kind or alias")->required();
    cmd->add_option("name", *name, "Name")->required();
    cmd->add_option("-n,--namespace", *ns, "Namespace");
    cmd->add_option("--from", *from, "Older revision")->required();
    cmd->add_option("--to", *to, "Newer revision (default: now)");
    AddConnectionFlags(cmd, c.get());
    cmd->callback([c, kind, name, ns, from, to, exit_code] {
      v1::DiffRequest req;
      FillRef(req.mutable_ref(), *kind, *ns, *name);
      req.set_from_revision(*from);
      if (*to >= 0) req.set_to_revision(*to);
      v1::DiffResponse resp;
      grpc::ClientContext ctx;
      Prepare(&ctx, *c);
      grpc::Status s = Stub(*c)->Diff(&ctx, req, &resp);
      if (!s.ok()) {
        *exit_code = Fail("diff", s);
        return;
      }
      std::cout << resp.diff();
    });
  }
}

}  // namespace tierwall::ctl::twctl
