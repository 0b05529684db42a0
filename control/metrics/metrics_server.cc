#include "control/metrics/metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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
  if (addr.find_first_not_of("0123456789") == std::string::npos ||
      (addr.size() > 1 && addr[0] == ':' && addr.find(':', 1) == std::string::npos)) {
    // A bare port: loopback, the safe default (metrics reveal policy names).
    host = "127.0.0.1";
    port = std::string_view(addr).substr(addr[0] == ':' ? 1 : 0);
  } else if (!addr.empty() && addr[0] == '[') {
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

// Equal iff same bytes; time depends on the lengths only.
bool SameToken(absl::string_view a, absl::string_view b) {
  unsigned diff = a.size() != b.size() ? 1u : 0u;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return absl::InvalidArgumentError(absl::StrCat("metrics token file '", path, "': cannot read"));
  }
  const absl::string_view token = absl::StripAsciiWhitespace(line);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("metrics token file '", path, "': empty"));
  }
  for (char c : token) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics token file '", path, "': the token must be printable with no whitespace"));
    }
  }
  return std::string(token);
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& addr, MetricsOptions options, std::function<std::string()> render) {
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
  server->Get("/metrics", [render = std::move(render), token = std::move(options.bearer_token)](
                              const httplib::Request& req, httplib::Response& res) {
    if (!token.empty()) {
      const std::string header = req.get_header_value("Authorization");
      constexpr absl::string_view kScheme = "Bearer ";
      if (header.size() <= kScheme.size() ||
          !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme) ||
          !SameToken(token, absl::StripAsciiWhitespace(header.substr(kScheme.size())))) {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer realm=\"tierwall metrics\"");
        res.set_content("metrics need \"Authorization: Bearer <token>\"\n", "text/plain");
        return;
      }
    }
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

  std::unique_ptr<MetricsServer> self(new MetricsServer(std::move(server), hp->host, port));
  MetricsServer* s = self.get();
  self->thread_ = std::thread([s] {
    s->server_->listen_after_bind();
    s->listen_returned_ = true;
  });
  return self;
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> server, std::string host, int port)
    : server_(std::move(server)), host_(std::move(host)), port_(port) {}

std::string MetricsServer::address() const {
  return host_.find(':') == std::string::npos ? absl::StrCat(host_, ":", port_)
                                              : absl::StrCat("[", host_, "]:", port_);
}

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
