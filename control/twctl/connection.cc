#include "control/twctl/connection.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tierwall::ctl::twctl {
namespace {

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

std::string ReadPem(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  if (!in) {
    std::cerr << "twctl: " << path << ": cannot read\n";
    std::exit(2);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::shared_ptr<grpc::Channel> Connection::Channel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (server.rfind("unix:", 0) == 0) {
    return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
  }
  // Anything but the local socket is TLS: tokens never travel in clear text.
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadPem(ca_file);
  tls.pem_cert_chain = ReadPem(cert_file);
  tls.pem_private_key = ReadPem(key_file);
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(server, grpc::SslCredentials(tls), args);
}

void Connection::Prepare(grpc::ClientContext* context) const {
  PrepareStream(context);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_seconds));
}

void Connection::PrepareStream(grpc::ClientContext* context) const {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

void AddConnectionFlags(CLI::App* cmd, Connection* c) {
  c->server = Env("TIERWALL_ADDR", "unix:/var/lib/tierwall/tierwall.sock");
  c->token = Env("TIERWALL_TOKEN");
  c->ca_file = Env("TIERWALL_CA");
  c->cert_file = Env("TIERWALL_CERT");
  c->key_file = Env("TIERWALL_KEY");
  cmd->add_option("--server", c->server,
                  "tierwalld API: unix:PATH or HOST:PORT (TLS) (env TIERWALL_ADDR)")
      ->capture_default_str();
  cmd->add_option("--token", c->token, "Bearer token (env TIERWALL_TOKEN)");
  cmd->add_option("--ca", c->ca_file, "CA certificate(s) for a TLS server (env TIERWALL_CA)");
  cmd->add_option("--cert", c->cert_file, "Client certificate (env TIERWALL_CERT)");
  cmd->add_option("--key", c->key_file, "Client key (env TIERWALL_KEY)");
  cmd->add_option("--server-name", c->server_name, "TLS server name to verify");
  cmd->add_option("--timeout", c->timeout_seconds, "Seconds before a call gives up")
      ->capture_default_str();
}

int Fail(const std::string& what, const grpc::Status& s) {
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

std::string CanonicalKind(const std::string& k) {
  static const std::pair<const char*, const char*> kAliases[] = {
      {"gnp", "GlobalNetworkPolicy"},
      {"globalnetworkpolicy", "GlobalNetworkPolicy"},
      {"globalnetworkpolicies", "GlobalNetworkPolicy"},
      {"np", "NetworkPolicy"},
      {"networkpolicy", "NetworkPolicy"},
      {"networkpolicies", "NetworkPolicy"},
      {"policy", "NetworkPolicy"},
      {"knp", "KubernetesNetworkPolicy"},
      {"sgnp", "StagedGlobalNetworkPolicy"},
      {"stagedglobalnetworkpolicy", "StagedGlobalNetworkPolicy"},
      {"snp", "StagedNetworkPolicy"},
      {"stagednetworkpolicy", "StagedNetworkPolicy"},
      {"sknp", "StagedKubernetesNetworkPolicy"},
      {"tier", "Tier"},
      {"tiers", "Tier"},
      {"wep", "WorkloadEndpoint"},
      {"workloadendpoint", "WorkloadEndpoint"},
      {"workloadendpoints", "WorkloadEndpoint"},
      {"hep", "HostEndpoint"},
      {"hostendpoint", "HostEndpoint"},
      {"hostendpoints", "HostEndpoint"},
      {"gns", "GlobalNetworkSet"},
      {"globalnetworkset", "GlobalNetworkSet"},
      {"netset", "NetworkSet"},
      {"networkset", "NetworkSet"},
      {"profile", "Profile"},
      {"profiles", "Profile"},
      {"ns", "Namespace"},
      {"namespace", "Namespace"},
      {"namespaces", "Namespace"},
      {"sa", "ServiceAccount"},
      {"serviceaccount", "ServiceAccount"},
      {"serviceaccounts", "ServiceAccount"}};
  std::string lower;
  for (char ch : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& [alias, kind] : kAliases)
    if (lower == alias) return kind;
  return k;
}

bool ReadInput(const std::string& command, const std::vector<std::string>& files,
               std::string* out) {
  for (const std::string& f : files) {
    std::stringstream text;
    if (f == "-") {
      text << std::cin.rdbuf();
    } else if (std::filesystem::is_directory(f)) {
      std::vector<std::filesystem::path> entries;
      for (const auto& e : std::filesystem::directory_iterator(f)) {
        const std::string ext = e.path().extension();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") entries.push_back(e.path());
      }
      std::sort(entries.begin(), entries.end());
      std::vector<std::string> names;
      for (const auto& p : entries) names.push_back(p.string());
      if (!ReadInput(command, names, out)) return false;
      continue;
    } else {
      std::ifstream in(f);
      if (!in) {
        std::cerr << "twctl " << command << ": " << f << ": cannot read\n";
        return false;
      }
      text << in.rdbuf();
    }
    *out += "---\n" + text.str() + "\n";
  }
  return true;
}

}  // namespace tierwall::ctl::twctl
