// How twctl reaches tierwalld: address, credentials and call deadlines from
// flags or the environment (TIERWALL_ADDR, TIERWALL_TOKEN, TIERWALL_CA,
// TIERWALL_CERT, TIERWALL_KEY), as calicoctl reads its config.
//
//   unix:/var/lib/tierwall/tierwall.sock   the local administrator's socket
//   host:port                              TLS; the server certificate is checked
//                                          against --ca (or the system roots)
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

namespace tierwall::ctl::twctl {

struct Connection {
  std::string server;
  std::string token;
  std::string ca_file;    // PEM roots for a TLS server
  std::string cert_file;  // client certificate (identity = its CN and O)
  std::string key_file;
  std::string server_name;  // TLS name to check, when it differs from the host
  int timeout_seconds = 30;

  std::shared_ptr<grpc::Channel> Channel() const;
  // Adds the bearer token and the deadline.
  void Prepare(grpc::ClientContext* context) const;
  // For streams: the token only (they run until cancelled).
  void PrepareStream(grpc::ClientContext* context) const;
};

// Adds --server, --token, --ca, --cert, --key, --server-name, --timeout to
// `cmd`, defaulting from the environment.
void AddConnectionFlags(CLI::App* cmd, Connection* c);

// Prints "twctl <what>: <CODE>: <message>" to stderr; returns exit code 1.
int Fail(const std::string& what, const grpc::Status& s);

// Kind aliases, as calicoctl and kubectl accept them ("gnp", "np", "tier", ...).
std::string CanonicalKind(const std::string& kind);

// The contents of every file ("-" = stdin), "---"-joined; false (after
// printing why) when one cannot be read.
bool ReadInput(const std::string& command, const std::vector<std::string>& files, std::string* out);

}  // namespace tierwall::ctl::twctl
