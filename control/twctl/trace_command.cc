#include <charconv>
#include <iostream>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "control/api/trace_proto.h"
#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "control/twctl/commands.h"
#include "control/twctl/connection.h"
#include "tierwall/v1/trace.grpc.pb.h"

namespace tierwall::ctl::twctl {

namespace {

namespace v1 = ::tierwall::v1;
using dp::classify::IpAddr;
using dp::classify::PacketKey;

struct HostPort {
  IpAddr ip;
  std::optional<uint16_t> port;
};

// "198.18.0.1", "198.18.0.1:80", "2001:db8::1", "[2001:db8::1]:80".
std::optional<HostPort> ParseHostPort(const std::string& text, std::string* error) {
  std::string host = text, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) {
      *error = "missing ']'";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        *error = "expected ':' after ']'";
        return std::nullopt;
      }
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  auto ip = IpAddr::Parse(host);
  if (!ip) {
    *error = "\"" + host + "\" is not an IP address";
    return std::nullopt;
  }
  HostPort hp{*ip, std::nullopt};
  if (!port.empty() || (text.size() && text.back() == ':')) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535 || port.empty()) {
      *error = "\"" + port + "\" is not a port number (0-65535)";
      return std::nullopt;
    }
    hp.port = static_cast<uint16_t>(value);
  }
  return hp;
}

std::optional<uint8_t> ParseProtocol(std::string text) {
  text = absl::AsciiStrToLower(text);
  if (text == "tcp") return 6;
  if (text == "udp") return 17;
  if (text == "icmp") return 1;
  if (text == "icmpv6") return 58;
  if (text == "sctp") return 132;
  if (text == "udplite") return 136;
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > 255 || text.empty())
    return std::nullopt;
  return static_cast<uint8_t>(value);
}

struct TraceArgs {
  Connection connection;
  std::vector<std::string> files;
  std::string src, dst, proto = "tcp", output = "text";
  std::optional<int> icmp_type, icmp_code;
};

int RunTrace(const TraceArgs& a) {
  auto usage = [](const std::string& msg) {
    std::cerr << "twctl trace: " << msg << "\n";
    return 2;
  };
  std::string error;
  auto src = ParseHostPort(a.src, &error);
  if (!src) return usage("--src " + a.src + ": " + error);
  auto dst = ParseHostPort(a.dst, &error);
  if (!dst) return usage("--dst " + a.dst + ": " + error);
  if (src->ip.family != dst->ip.family)
    return usage("--src and --dst must both be IPv4 or both IPv6");
  auto proto = ParseProtocol(a.proto);
  if (!proto)
    return usage("--proto " + a.proto + ": expected tcp, udp, icmp, icmpv6, sctp or 0-255");
  bool icmp = *proto == 1 || *proto == 58;
  bool ports = *proto == 6 || *proto == 17 || *proto == 132;
  if ((a.icmp_type || a.icmp_code) && !icmp)
    return usage("--icmp-type/--icmp-code need --proto icmp or icmpv6");
  if (a.icmp_code && !a.icmp_type) return usage("--icmp-code needs --icmp-type");
  if ((src->port || dst->port) && !ports) return usage("ports need --proto tcp, udp or sctp");

  PacketKey key;
  key.src = src->ip;
  key.dst = dst->ip;
  key.proto = *proto;
  if (icmp) {
    key.src_port =
        static_cast<uint16_t>(a.icmp_type.value_or(*proto == 1 ? 8 : 128));  // echo request
    key.dst_port = static_cast<uint16_t>(a.icmp_code.value_or(0));
  } else {
    key.src_port = src->port.value_or(0);
    key.dst_port = dst->port.value_or(0);
  }
  auto print = [&](const trace::TraceReport& report) {
    if (a.output == "json") {
      std::cout << trace::ToJson(report) << "\n";
    } else {
      std::cout << trace::ToText(report, key);
    }
  };
  if (a.files.empty()) {
    // Live: the daemon's running program and endpoints.
    v1::TraceRequest req;
    v1::Packet* p = req.mutable_packet();
    p->set_source_ip(key.src.ToString());
    p->set_destination_ip(key.dst.ToString());
    p->set_protocol(key.proto);
    if (icmp) {
      p->set_icmp_type(key.src_port);
      p->set_icmp_code(key.dst_port);
    } else {
      p->set_source_port(key.src_port);
      p->set_destination_port(key.dst_port);
    }
    v1::TraceResponse resp;
    grpc::ClientContext ctx;
    a.connection.Prepare(&ctx);
    grpc::Status s = v1::TraceService::NewStub(a.connection.Channel())->Trace(&ctx, req, &resp);
    if (!s.ok()) return Fail("trace", s);
    print(api::FromProto(resp));
    if (a.output != "json") std::cout << "(live: program generation " << resp.generation() << ")\n";
    return 0;
  }

  model::ResourceSet resources;
  for (const std::string& f : a.files) {
    if (auto s = model::LoadResources(f, &resources); !s.ok()) {
      std::cerr << "twctl trace: " << s.message() << "\n";
      return 2;
    }
  }
  auto program = compiler::Compile(resources);
  if (!program.ok()) {
    std::cerr << "twctl trace: " << program.status().message() << "\n";
    return 2;
  }

  print(trace::TracePacket(**program, key));
  return 0;
}

}  // namespace

void RegisterTrace(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TraceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "trace",
      "What would happen to this packet, and why: offline with -f (compiled locally), else live "
      "against tierwalld's running program");
  cmd->add_option("-f,--filename", args->files,
                  "Resource YAML file, directory or - for stdin (repeatable): offline");
  AddConnectionFlags(cmd, &args->connection);
  cmd->add_option("--src", args->src, "Source IP[:PORT] ([v6]:PORT for IPv6)")->required();
  cmd->add_option("--dst", args->dst, "Destination IP[:PORT]")->required();
  cmd->add_option("--proto", args->proto, "tcp|udp|icmp|icmpv6|sctp|NUMBER")->capture_default_str();
  cmd->add_option("--icmp-type", args->icmp_type, "ICMP type (default: echo request)")
      ->check(CLI::Range(0, 255));
  cmd->add_option("--icmp-code", args->icmp_code, "ICMP code")->check(CLI::Range(0, 255));
  cmd->add_option("-o,--output", args->output, "text|json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunTrace(*args); });
}

}  // namespace tierwall::ctl::twctl
