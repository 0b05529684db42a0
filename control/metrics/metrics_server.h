// A minimal HTTP endpoint for Prometheus scrapes: GET /metrics answers with
// whatever the render callback returns (text exposition 0.0.4); every other
// path is 404.
//
// It binds exactly the address it is given, never a wildcard of its own
// choosing: metrics reveal policy names and traffic volumes, so exposing them
// beyond loopback must be the operator's explicit decision. A bare port
// ("9091" or ":9091") means 127.0.0.1. With a bearer token, a scrape without
// "Authorization: Bearer <token>" is 401 (Prometheus: `authorization:
// {credentials_file: ...}`).
//
// The server runs on its own thread; render is called on that thread (one
// scrape at a time per connection, possibly concurrently across connections),
// so it must be thread-safe. httplib is kept out of this header so users of the
// library do not compile it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace tierwall::ctl::metrics {

// The Content-Type of the text exposition format.
inline constexpr char kTextContentType[] = "text/plain; version=0.0.4";

struct MetricsOptions {
  std::string bearer_token;  // empty: no token asked for
};

// The token in a --metrics-token-file: its first line, whitespace trimmed.
// INVALID_ARGUMENT naming the path when it is unreadable, empty, or holds
// whitespace or control characters inside.
absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path);

class MetricsServer {
 public:
  // addr is "host:port", "[ipv6]:port" or a bare port (loopback); port 0 picks a free port (see
  // port()). INVALID_ARGUMENT when addr does not parse, UNAVAILABLE when it
  // cannot be bound (in use, not a local address, host not resolvable); both
  // name the address.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& addr,
                                                              MetricsOptions options,
                                                              std::function<std::string()> render);
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& addr,
                                                              std::function<std::string()> render) {
    return Start(addr, MetricsOptions{}, std::move(render));
  }

  // Stops accepting, waits for the serving thread and its requests to finish.
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (the chosen one when started with port 0).
  int port() const { return port_; }
  // HOST:PORT as bound ("127.0.0.1:9091", "[::1]:9091").
  std::string address() const;

 private:
  MetricsServer(std::unique_ptr<httplib::Server> server, std::string host, int port);

  std::unique_ptr<httplib::Server> server_;
  std::string host_;
  int port_;
  // Set by the serving thread when listen_after_bind returns; see the
  // destructor for why it is needed.
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace tierwall::ctl::metrics
