// twctl commands on what the dataplane saw (tierwall.v1.ObserveService):
// counters, flows, graph, why.
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>

#include "control/api/trace_proto.h"
#include "control/flowlog/service_graph.h"
#include "control/twctl/commands.h"
#include "control/twctl/connection.h"
#include "control/twctl/output.h"
#include "tierwall/v1/observe.grpc.pb.h"

namespace tierwall::ctl::twctl {
namespace {

namespace v1 = ::tierwall::v1;

std::unique_ptr<v1::ObserveService::Stub> Stub(const Connection& c) {
  return v1::ObserveService::NewStub(c.Channel());
}

// "90", "90s", "5m", "1h" -> seconds; -1 when malformed.
int64_t ParseDuration(const std::string& text) {
  if (text.empty()) return 0;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (...) {
    return -1;
  }
  std::string unit = text.substr(used);
  if (unit.empty() || unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  return -1;
}

// Proto field names (source_ip, ...), as Calico's flow logs spell them;
// `pretty`: indented, else one line (JSON lines for flows).
std::string Json(const google::protobuf::Message& m, bool pretty = true) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

std::string Time(int64_t t) {
  char buf[32];
  std::tm tm{};
  time_t tt = static_cast<time_t>(t);
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// A text histogram: one character per sample, scaled to the largest.
std::string Spark(const std::vector<uint64_t>& values) {
  static const char* kBars[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  uint64_t max = 0;
  for (uint64_t v : values) max = std::max(max, v);
  std::string out;
  for (uint64_t v : values) {
    int level = max == 0 || v == 0 ? 0 : static_cast<int>(1 + (v * 7) / max);
    out += kBars[std::min(level, 8)];
  }
  return out;
}

struct CountersArgs {
  Connection connection;
  bool by_policy = false;
  bool watch = false;
  std::string ns, tier, since = "10m", output = "table";
};

void PrintCounters(const CountersArgs& a, const v1::CountersResponse& r) {
  if (a.output == "json") {
    std::cout << Json(r) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  if (!a.by_policy) {
    rows.push_back({"TIER", "POLICY", "DIRECTION", "RULE", "ACTION", "PACKETS", "BYTES"});
    for (const auto& c : r.rules()) {
      if (c.packets() == 0) continue;
      rows.push_back({c.tier(),
                      (c.namespace_().empty() ? "" : c.namespace_() + "/") + c.policy() +
                          (c.staged() ? " (staged)" : ""),
                      c.direction() == v1::DIRECTION_INGRESS ? "ingress" : "egress",
                      c.rule_index() < 0 ? "end of tier" : std::to_string(c.rule_index()),
                      api::WordOf(c.action()), std::to_string(c.packets()),
                      std::to_string(c.bytes())});
    }
    PrintTable(rows);
    return;
  }
  // Packets by policy, as the dashboard shows them: allowed, denied and passed
  // packets per policy, and allowed vs denied over time.
  struct PolicyRow {
    std::string tier;
    uint64_t allowed = 0, denied = 0, passed = 0;
    std::vector<uint64_t> allowed_series, denied_series;
  };
  std::vector<std::string> order;
  std::map<std::string, PolicyRow> policies;
  for (const auto& c : r.rules()) {
    std::string name = (c.namespace_().empty() ? "" : c.namespace_() + "/") + c.policy() +
                       (c.staged() ? " (staged)" : "");
    auto [it, fresh] = policies.try_emplace(name);
    if (fresh) order.push_back(name);
    PolicyRow& p = it->second;
    p.tier = c.tier();
    uint64_t* total = c.action() == v1::ACTION_ALLOW  ? &p.allowed
                      : c.action() == v1::ACTION_DENY ? &p.denied
                      : c.action() == v1::ACTION_PASS ? &p.passed
                                                      : nullptr;
    if (!total) continue;
    *total += c.packets();
    std::vector<uint64_t>* series = c.action() == v1::ACTION_ALLOW  ? &p.allowed_series
                                    : c.action() == v1::ACTION_DENY ? &p.denied_series
                                                                    : nullptr;
    if (!series) continue;
    series->resize(std::max<size_t>(series->size(), c.samples_size()), 0);
    for (int i = 0; i < c.samples_size(); ++i) (*series)[i] += c.samples(i).packets();
  }
  // The histogram starts at the first interval with traffic, across policies,
  // so that every row lines up and an idle hour does not fill the screen.
  size_t first = SIZE_MAX, width = 0, seconds = 0;
  for (const auto& c : r.rules()) {
    seconds = std::max<size_t>(seconds, c.sample_seconds());
    for (int i = 0; i < c.samples_size(); ++i)
      if (c.samples(i).packets() > 0) first = std::min<size_t>(first, i);
    width = std::max<size_t>(width, c.samples_size());
  }
  auto window = [&](const std::vector<uint64_t>& v) {
    std::vector<uint64_t> out;
    for (size_t i = first; i < width; ++i) out.push_back(i < v.size() ? v[i] : 0);
    return Spark(out);
  };
  const std::string histogram =
      first == SIZE_MAX ? "" : "ALLOWED | DENIED per " + std::to_string(seconds) + "s";
  rows.push_back({"TIER", "POLICY", "ALLOWED", "DENIED", "PASSED", histogram});
  for (const std::string& name : order) {
    const PolicyRow& p = policies[name];
    if (p.allowed + p.denied + p.passed == 0) continue;
    std::string spark;
    if (first != SIZE_MAX) spark = window(p.allowed_series) + " | " + window(p.denied_series);
    rows.push_back({p.tier, name, std::to_string(p.allowed), std::to_string(p.denied),
                    std::to_string(p.passed), spark});
  }
  PrintTable(rows);
  uint64_t denied_total = 0;
  for (const auto& d : r.drops()) denied_total += d.reason() == "policy_deny" ? d.packets() : 0;
  std::cout << "generation " << r.program_generation() << ": received " << r.packets_received()
            << ", forwarded " << r.packets_forwarded() << ", dropped " << r.packets_dropped()
            << " (policy " << denied_total << "), active flows " << r.active_flows() << "\n";
}

void RegisterCounters(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<CountersArgs>();
  CLI::App* cmd = app.add_subcommand("counters", "Packets per policy and rule, now and over time");
  cmd->add_flag("--by-policy", a->by_policy, "One row per policy with allowed/denied over time");
  cmd->add_option("-n,--namespace", a->ns, "Only policies of this namespace (and global ones)");
  cmd->add_option("--tier", a->tier, "Only this tier");
  cmd->add_option("--since", a->since, "Time window for the histogram: 90s, 5m, 1h")
      ->capture_default_str();
  cmd->add_flag("--watch", a->watch, "Print again every 2 s until interrupted");
  cmd->add_option("-o,--output", a->output, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  AddConnectionFlags(cmd, &a->connection);
  cmd->callback([a, exit_code] {
    v1::CountersRequest req;
    req.set_namespace_(a->ns);
    req.set_tier(a->tier);
    const int64_t since = ParseDuration(a->since);
    if (since < 0) {
      std::cerr << "twctl counters: --since " << a->since << ": expected e.g. 90s, 5m, 1h\n";
      *exit_code = 2;
      return;
    }
    req.set_since_seconds(since);
    if (a->watch) {
      grpc::ClientContext ctx;
      a->connection.PrepareStream(&ctx);
      auto stream = Stub(a->connection)->WatchCounters(&ctx, req);
      v1::CountersResponse r;
      while (stream->Read(&r)) {
        std::cout << "\n" << Time(r.time()) << "\n";
        PrintCounters(*a, r);
      }
      grpc::Status s = stream->Finish();
      if (!s.ok()) *exit_code = Fail("counters", s);
      return;
    }
    v1::CountersResponse r;
    grpc::ClientContext ctx;
    a->connection.Prepare(&ctx);
    grpc::Status s = Stub(a->connection)->GetCounters(&ctx, req, &r);
    if (!s.ok()) {
      *exit_code = Fail("counters", s);
      return;
    }
    PrintCounters(*a, r);
  });
}

std::string Side(const std::string& ns, const std::string& name, const std::string& aggr,
                 const std::string& ip) {
  std::string who = name != "-" ? name : aggr;
  std::string out = ns != "-" ? ns + "/" + who : who;
  if (ip != "-") out += " (" + ip + ")";
  return out;
}

void PrintFlow(const v1::FlowLog& f, const std::string& output) {
  if (output == "json") {
    std::cout << Json(f, /*pretty=*/false) << "\n";
    return;
  }
  std::cout << Time(f.end_time()) << "  "
            << Side(f.source_namespace(), f.source_name(), f.source_name_aggr(), f.source_ip())
            << " -> " << Side(f.dest_namespace(), f.dest_name(), f.dest_name_aggr(), f.dest_ip())
            << ":" << f.dest_port() << "/" << f.proto() << "  "
            << (f.action() == "deny" ? "DENIED" : "ALLOWED") << "  reporter=" << f.reporter()
            << "  flows=" << f.num_flows() << " started=" << f.num_flows_started()
            << " pkts=" << f.packets_in() + f.packets_out() << "\n    policies: ";
  for (int i = 0; i < f.enforced_policies_size(); ++i)
    std::cout << (i ? ", " : "") << f.enforced_policies(i);
  if (f.pending_policies_size()) {
    std::cout << "\n    pending:  ";
    for (int i = 0; i < f.pending_policies_size(); ++i)
      std::cout << (i ? ", " : "") << f.pending_policies(i);
  }
  std::cout << "\n";
}

struct FlowsArgs {
  Connection connection;
  bool follow = false;
  uint32_t last = 20;
  std::string since, output = "table";
  std::vector<std::string> filter_words;
};

// Hubble's filter words, in order, so that --not applies to the next filter.
bool ParseFilterWords(const std::vector<std::string>& words, v1::FlowFilter* f) {
  bool negate_next = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--not") {
      negate_next = true;
      continue;
    }
    static const std::map<std::string, std::string> kFields = {
        {"--action", "action"}, {"--verdict", "action"}, {"--policy", "policy"},
        {"--tier", "tier"},     {"--from", "from"},      {"--to", "to"},
        {"--port", "port"},     {"-n", "namespace"},     {"--namespace", "namespace"}};
    std::string word = w, value;
    if (size_t eq = w.find('='); eq != std::string::npos) {
      word = w.substr(0, eq);
      value = w.substr(eq + 1);
    }
    auto it = kFields.find(word);
    if (it == kFields.end()) {
      std::cerr << "twctl flows: unknown filter " << w
                << " (use --action, --policy, --tier, --from, --to, --port, -n, --not)\n";
      return false;
    }
    if (value.empty()) {
      if (i + 1 >= words.size()) {
        std::cerr << "twctl flows: " << w << " needs a value\n";
        return false;
      }
      value = words[++i];
    }
    const std::string& field = it->second;
    if (field == "action") {
      if (value != "allow" && value != "deny") {
        std::cerr << "twctl flows: --action " << value << ": expected allow or deny\n";
        return false;
      }
      f->set_action(value);
    } else if (field == "policy") {
      f->set_policy(value);
    } else if (field == "tier") {
      f->set_tier(value);
    } else if (field == "from") {
      f->set_from(value);
    } else if (field == "to") {
      f->set_to(value);
    } else if (field == "namespace") {
      f->set_namespace_(value);
    } else if (field == "port") {
      int port = 0;
      try {
        port = std::stoi(value);
      } catch (...) {
        port = -1;
      }
      if (port < 1 || port > 65535) {
        std::cerr << "twctl flows: --port " << value << ": expected 1-65535\n";
        return false;
      }
      f->set_port(static_cast<uint32_t>(port));
    }
    if (negate_next) f->add_negated(field);
    negate_next = false;
  }
  if (negate_next) {
    std::cerr << "twctl flows: --not must come before a filter\n";
    return false;
  }
  return true;
}

void RegisterFlows(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<FlowsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "flows",
      "Flow logs, like hubble observe. Filters: --action allow|deny, --policy P, --tier T, "
      "--from/--to IP|CIDR|ns/name|ns/, --port N, -n NS; --not negates the next filter");
  cmd->allow_extras();
  cmd->add_flag("-f,--follow", a->follow, "Keep printing records as they are flushed");
  cmd->add_option("--last", a->last, "The newest N records (0: all)")->capture_default_str();
  cmd->add_option("--since", a->since, "Only the last 90s, 5m, 1h");
  cmd->add_option("-o,--output", a->output, "table|json (JSON lines)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  AddConnectionFlags(cmd, &a->connection);
  cmd->callback([a, cmd, exit_code] {
    v1::FlowsRequest req;
    if (!ParseFilterWords(cmd->remaining(), req.mutable_filter())) {
      *exit_code = 2;
      return;
    }
    req.set_last(a->last);
    const int64_t since = ParseDuration(a->since);
    if (since < 0) {
      std::cerr << "twctl flows: --since " << a->since << ": expected e.g. 90s, 5m, 1h\n";
      *exit_code = 2;
      return;
    }
    req.set_since_seconds(since);
    if (a->follow) {
      grpc::ClientContext ctx;
      a->connection.PrepareStream(&ctx);
      auto stream = Stub(a->connection)->FollowFlows(&ctx, req);
      v1::FlowLog f;
      while (stream->Read(&f)) {
        PrintFlow(f, a->output);
        std::cout.flush();
      }
      grpc::Status s = stream->Finish();
      if (!s.ok()) *exit_code = Fail("flows", s);
      return;
    }
    v1::FlowsResponse r;
    grpc::ClientContext ctx;
    a->connection.Prepare(&ctx);
    grpc::Status s = Stub(a->connection)->GetFlows(&ctx, req, &r);
    if (!s.ok()) {
      *exit_code = Fail("flows", s);
      return;
    }
    for (const auto& f : r.flows()) PrintFlow(f, a->output);
    if (a->output != "json" && (r.lost_records() || r.lost_events()))
      std::cerr << "twctl flows: the daemon lost " << r.lost_records() << " records and "
                << r.lost_events()
                << " flow events (counted, see tierwall_flow_records_lost_total)\n";
  });
}

void RegisterGraph(CLI::App& app, int* exit_code) {
  auto c = std::make_shared<Connection>();
  auto ns = std::make_shared<std::string>();
  auto since = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>("svg");
  auto file = std::make_shared<std::string>("tierwall-graph.svg");
  CLI::App* cmd = app.add_subcommand(
      "graph", "Who talks to whom, from the flow logs: denied edges red, allowed green");
  cmd->add_option("-n,--namespace", *ns, "Only edges touching this namespace");
  cmd->add_option("--since", *since, "Only the last 90s, 5m, 1h");
  cmd->add_option("-o,--output", *output, "json|dot|svg")
      ->check(CLI::IsMember({"json", "dot", "svg"}))
      ->capture_default_str();
  cmd->add_option("--file", *file, "Where -o svg writes the picture")->capture_default_str();
  AddConnectionFlags(cmd, c.get());
  cmd->callback([c, ns, since, output, file, exit_code] {
    v1::GraphRequest req;
    req.set_namespace_(*ns);
    int64_t s_since = ParseDuration(*since);
    if (s_since < 0) {
      std::cerr << "twctl graph: --since " << *since << ": expected e.g. 90s, 5m, 1h\n";
      *exit_code = 2;
      return;
    }
    req.set_since_seconds(s_since);
    v1::GraphResponse r;
    grpc::ClientContext ctx;
    c->Prepare(&ctx);
    grpc::Status s = Stub(*c)->Graph(&ctx, req, &r);
    if (!s.ok()) {
      *exit_code = Fail("graph", s);
      return;
    }
    if (*output == "json") {
      std::cout << r.json() << "\n";
    } else if (*output == "dot") {
      std::cout << r.dot();
    } else {
      absl::StatusOr<std::string> svg = flowlog::RenderSvg(r.dot());
      if (!svg.ok()) {
        std::cerr << "twctl graph: " << svg.status().message() << "\n";
        *exit_code = 1;
        return;
      }
      std::ofstream out(*file);
      out << *svg;
      if (!out) {
        std::cerr << "twctl graph: cannot write " << *file << "\n";
        *exit_code = 1;
        return;
      }
      std::cout << "service graph written to " << *file << "\n";
    }
  });
}

void PrintWhy(const v1::WhyResponse& r) {
  const auto& p = r.packet();
  std::cout << "VERDICT  " << r.verdict() << "  " << r.trace().source_endpoint() << " ("
            << p.source_ip() << ") -> " << r.trace().destination_endpoint() << " ("
            << p.destination_ip() << "):" << p.destination_port() << " proto " << p.protocol()
            << "  [program generation " << r.trace().generation() << "]\n\n";
  auto direction = [](const char* name, const v1::DirectionTrace& d) {
    std::cout << "  " << name << ": " << api::WordOf(d.verdict()) << " (pending "
              << api::WordOf(d.pending_verdict()) << ")\n";
    for (const auto& h : d.enforced_hits())
      std::cout << "    enforced " << h.flow_log_string() << "\n";
    for (const auto& h : d.pending_hits())
      std::cout << "    pending  " << h.flow_log_string() << "\n";
  };
  std::cout << "TRACE\n";
  if (r.trace().has_egress()) direction("egress at source", r.trace().egress());
  if (r.trace().has_ingress()) direction("ingress at destination", r.trace().ingress());
  std::cout << "\nDECIDED BY  " << r.deciding_policy() << "\n  " << r.explanation() << "\n";
  std::cout << "\nLIVE EVIDENCE\n";
  if (r.counters_size() == 0 && r.recent_flows_size() == 0)
    std::cout << "  no matching traffic seen yet\n";
  for (const auto& c : r.counters())
    std::cout << "  counter " << c.tier() << "/" << c.policy() << " "
              << (c.rule_index() < 0 ? "end of tier" : "rule " + std::to_string(c.rule_index()))
              << " " << api::WordOf(c.action()) << ": " << c.packets() << " packets\n";
  for (const auto& f : r.recent_flows()) {
    std::cout << "  flow ";
    PrintFlow(f, "table");
  }
  if (r.has_introduced_by()) {
    const auto& rev = r.introduced_by();
    std::cout << "\nINTRODUCED BY  revision " << rev.revision() << " of " << rev.kind() << " "
              << (rev.namespace_().empty() ? "" : rev.namespace_() + "/") << rev.name() << ": "
              << rev.verb() << " by " << rev.user() << " at " << rev.time() << "\n"
              << rev.diff();
  }
  if (!r.suggestion_summary().empty()) {
    std::cout << "\nSMALLEST FIX  " << r.suggestion_summary()
              << (r.suggestion_verified() ? "  (verified: the staged policy would give "
                                            "the opposite verdict)"
                                          : "")
              << "\n";
  }
  if (!r.suggestion_yaml().empty())
    std::cout << "  stage it with: twctl stage -f - <<'EOF'\n" << r.suggestion_yaml() << "EOF\n";
}

void RegisterWhy(CLI::App& app, int* exit_code) {
  auto c = std::make_shared<Connection>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand(
      "why",
      "Why is this traffic allowed or denied: traces, deciding rule, live flows and counters, "
      "the change that caused it, and the smallest fix");
  cmd->add_option("--from", *from, "Client: name.namespace, namespace/name or IP")->required();
  cmd->add_option("--to", *to, "Server: name.namespace:PORT[/PROTO] or IP:PORT")->required();
  cmd->add_option("-o,--output", *output, "text|json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  AddConnectionFlags(cmd, c.get());
  cmd->callback([c, from, to, output, exit_code] {
    v1::WhyRequest req;
    req.set_from(*from);
    req.set_to(*to);
    v1::WhyResponse r;
    grpc::ClientContext ctx;
    c->Prepare(&ctx);
    grpc::Status s = Stub(*c)->Why(&ctx, req, &r);
    if (!s.ok()) {
      *exit_code = Fail("why", s);
      return;
    }
    if (*output == "json") {
      std::cout << Json(r) << "\n";
    } else {
      PrintWhy(r);
    }
  });
}

}  // namespace

void RegisterObserveCommands(CLI::App& app, int* exit_code) {
  RegisterCounters(app, exit_code);
  RegisterFlows(app, exit_code);
  RegisterGraph(app, exit_code);
  RegisterWhy(app, exit_code);
}

}  // namespace tierwall::ctl::twctl
