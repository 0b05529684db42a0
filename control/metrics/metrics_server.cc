#include "control/metrics/metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tierwall::ctl::metrics {
namespace {

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> ParseAddress(const std::string& addr) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", addr, "': ", why, " (want host:port or [ipv6]:port)"));
  };
  std::string_view host;
  std::string_view port;
  if (!addr.empty() && addr[0] == '[') {
    size_t close = addr.find("]:");
    if (close == std::string::npos) return bad("no ']:' after an IPv6 address");
    host = std::string_view(addr).substr(1, close - 1);
    port = std::string_view(addr).substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos) return bad("no port");
    host = std::string_view(addr).substr(0, colon);
    port = std::string_view(addr).substr(colon + 1);
    // A bare IPv6 address would be ambiguous ("::1:9090").
    if (host.find(':') != std::string_view::npos) return bad("IPv6 addresses need brackets");
  }
  // No empty host meaning "all interfaces": binding everywhere must be asked
  // for by name (0.0.0.0 or [::]).
  if (host.empty()) return bad("empty host");
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  return HostPort{std::string(host), value};
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& addr, std::function<std::string()> render) {
  absl::StatusOr<HostPort> hp = ParseAddress(addr);
  if (!hp.ok()) return hp.status();

  auto server = std::make_unique<httplib::Server>();
  // httplib defaults to max(8, cores - 1) workers; scrapes are rare, and two
  // workers keep one keep-alive scraper from blocking a second.
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  // httplib's default sets SO_REUSEPORT, which lets a second process (a second
  // daemon, a stale one) bind the same port and silently take half of the
  // scrapes. SO_REUSEADDR alone still allows a restart while old connections
  // sit in TIME_WAIT, and makes a port in use an error.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->Get("/metrics",
              [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
                res.set_content(render(), kTextContentType);
              });

  int port = hp->port;
  bool bound = port == 0 ? (port = server->bind_to_any_port(hp->host)) > 0
                         : server->bind_to_port(hp->host, port);
  if (!bound) {
    return absl::UnavailableError(absl::StrCat(
        "metrics address '", addr,
        "': cannot listen (port in use, not a local address, or host not resolvable)"));
  }

  std::unique_ptr<MetricsServer> self(new MetricsServer(std::move(server), port));
  MetricsServer* s = self.get();
  self->thread_ = std::thread([s] {
    s->server_->listen_after_bind();
    s->listen_returned_ = true;
  });
  return self;
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

MetricsServer::~MetricsServer() {
  // httplib's stop() does nothing until listen_after_bind has marked the server
  // running; a server destroyed right after Start would otherwise stop too
  // early and the thread would listen forever. So wait until it runs (or has
  // already given up on an accept error).
  while (!server_->is_running() && !listen_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
  thread_.join();
}

}  // namespace tierwall::ctl::metrics
