// `twctl validate -f FILE|DIR|- [--remote]`: every problem in the files, each
// naming file, document and field, without changing anything. Offline it
// checks each document as the loader reads it (syntax, fields, Calico's
// validation rules); with --remote it then asks tierwalld's Validate RPC,
// which also checks the whole state the change would produce (a policy in a
// missing tier, a stale resourceVersion) and the caller's rights.
// Silent on success, as a linter is; exit 1 when there are problems, 2 when a
// file cannot be read.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "control/model/yaml_loader.h"
#include "control/twctl/commands.h"
#include "control/twctl/connection.h"
#include "tierwall/v1/resources.grpc.pb.h"

namespace tierwall::ctl::twctl {
namespace {

struct ValidateArgs {
  std::vector<std::string> files;
  bool remote = false;
  Connection connection;
};

int RunValidate(const ValidateArgs& a) {
  size_t problems = 0;
  for (const std::string& path : a.files) {
    auto files = model::ResourceFiles(path);
    if (!files.ok()) {
      std::cerr << "twctl validate: " << files.status().message() << "\n";
      return 2;
    }
    for (const std::string& file : *files) {
      auto text = model::ReadResourceFile(file);
      if (!text.ok()) {
        std::cerr << "twctl validate: " << text.status().message() << "\n";
        return 2;
      }
      for (const absl::Status& s : model::CheckResources(*text, file)) {
        std::cout << s.message() << "\n";
        ++problems;
      }
    }
  }
  // The daemon sees the same documents; asking it about ones that already
  // fail here would only repeat the first problem.
  if (problems == 0 && a.remote) {
    tierwall::v1::ValidateRequest req;
    // "-" was read above; ReadInput would find stdin empty.
    std::vector<std::string> inputs;
    for (const std::string& f : a.files) {
      if (f == "-") {
        std::cerr << "twctl validate: --remote cannot read - (stdin); give files\n";
        return 2;
      }
      inputs.push_back(f);
    }
    if (!ReadInput("validate", inputs, req.mutable_yaml())) return 2;
    tierwall::v1::ValidateResponse resp;
    grpc::ClientContext ctx;
    a.connection.Prepare(&ctx);
    grpc::Status s =
        tierwall::v1::ResourceService::NewStub(a.connection.Channel())->Validate(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
        s.error_code() == grpc::StatusCode::ALREADY_EXISTS ||
        s.error_code() == grpc::StatusCode::NOT_FOUND ||
        s.error_code() == grpc::StatusCode::ABORTED ||
        s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      // A problem with the documents (or the caller's rights to apply them).
      std::cout << "server: " << s.error_message() << "\n";
      ++problems;
    } else if (!s.ok()) {
      return Fail("validate", s);
    }
  }
  return problems == 0 ? 0 : 1;
}

}  // namespace

void RegisterValidate(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check resource files without applying them: every problem with file, document and field; "
      "nothing printed when valid");
  cmd->add_option("-f,--filename", args->files, "YAML/JSON file, directory or - (repeatable)")
      ->required();
  cmd->add_flag("--remote", args->remote,
                "Also ask tierwalld (Validate RPC): cross-resource checks and your rights");
  AddConnectionFlags(cmd, &args->connection);
  cmd->callback([args, exit_code] { *exit_code = RunValidate(*args); });
}

}  // namespace tierwall::ctl::twctl
