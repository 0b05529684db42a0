// tierwalld: the Tierwall dataplane daemon.
//
//   tierwalld [EAL args] -- [-f PATH]... [--forward bridge|wire] [--flows N]
//             [--reevaluate on|off] [--stop-after-idle MS] [--stats-json FILE]
//             [--flow-events FILE] [--policy-update PATH --policy-update-after-packets N]
//
// Start-up order is the safety argument: resources are loaded and compiled,
// and the program published, before any port starts, so no packet is ever
// forwarded unjudged; if nothing can be loaded, ports never start. SIGHUP
// reloads the -f resources (a bad reload keeps the running program);
// SIGINT/SIGTERM stop cleanly (workers drain, ports close and flush).
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "control/compiler/compiler.h"
#include "control/metrics/metrics_server.h"
#include "control/metrics/prometheus_text.h"
#include "control/model/yaml_loader.h"
#include "control/store/store.h"
#include "control/tierwalld/api_server.h"
#include "control/tierwalld/counter_slots.h"
#include "control/tierwalld/observability.h"
#include "control/tierwalld/publisher.h"
#include "control/tierwalld/stats.h"
#include "dataplane/engine/ports.h"
#include "dataplane/engine/program_slot.h"
#include "dataplane/engine/worker.h"

namespace tierwall::ctl::daemon {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void OnSignal(int sig) {
  if (sig == SIGHUP) {
    g_reload = true;
  } else {
    g_stop = true;
  }
}

struct Options {
  std::vector<std::string> resources;
  std::string forward = "bridge";
  size_t flows = 1 << 20;
  std::string reevaluate = "on";
  uint64_t stop_after_idle_ms = 0;
  std::string stats_json;
  std::string flow_events;
  std::string policy_update;
  uint64_t policy_update_after = 0;
  dp::engine::WorkerConfig::Timeouts timeouts;
  std::string state_dir;
  bool recover_store = false;
  std::string api_socket;
  std::string tokens;
  std::string rbac;
  std::string api_listen, tls_cert, tls_key, tls_client_ca;
  ApiLimits api_limits;
  std::string metrics_addr, metrics_token_file;
  ObservabilityConfig observe;
  std::vector<std::string> port_names;    // PORT=NAME
  std::vector<std::string> source_check;  // PORT=on|off
  std::vector<std::string> pass_ether_types;
};

// The -f resources as store mutations: every document of every file, in the
// order LoadResources reads them.
absl::StatusOr<std::vector<store::Mutation>> ReadMutations(const std::vector<std::string>& paths) {
  std::vector<store::Mutation> out;
  for (const std::string& path : paths) {
    auto files = model::ResourceFiles(path);
    if (!files.ok()) return files.status();
    for (const std::string& file : *files) {
      auto text = model::ReadResourceFile(file);
      if (!text.ok()) return text.status();
      auto docs = store::SplitDocuments(*text);
      if (!docs.ok())
        return absl::InvalidArgumentError(file + ": " + std::string(docs.status().message()));
      for (auto& d : *docs)
        out.push_back({store::Verb::kApply, std::move(d), std::nullopt, std::nullopt});
    }
  }
  return out;
}

// What the telemetry callbacks read; set once the daemon runs.
StatsSources* g_telemetry = nullptr;

int TelemetryStats(const char*, const char*, rte_tel_data* d) {
  if (!g_telemetry) return -1;
  nlohmann::ordered_json j = StatsJson(*g_telemetry);
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "generation", j["generation"].get<uint64_t>());
  for (auto& [k, v] : j["packets"].items())
    rte_tel_data_add_dict_u64(d, k.c_str(), v.get<uint64_t>());
  for (auto& [k, v] : j["drops"].items())
    rte_tel_data_add_dict_u64(d, ("drop_" + k).c_str(), v.get<uint64_t>());
  return 0;
}

// One entry per policy (at most 256, telemetry's dictionary limit):
// "<name>": "<in allow>/<in deny>/<out allow>/<out deny>" packets.
int TelemetryPolicyStats(const char*, const char*, rte_tel_data* d) {
  if (!g_telemetry) return -1;
  nlohmann::ordered_json j = StatsJson(*g_telemetry);
  rte_tel_data_start_dict(d);
  for (const auto& p : j["policies"]) {
    std::string v = std::to_string(p["ingress"]["allow"]["packets"].get<uint64_t>()) + "/" +
                    std::to_string(p["ingress"]["deny"]["packets"].get<uint64_t>()) + "/" +
                    std::to_string(p["egress"]["allow"]["packets"].get<uint64_t>()) + "/" +
                    std::to_string(p["egress"]["deny"]["packets"].get<uint64_t>());
    // Telemetry accepts only [A-Za-z0-9_/] in names: "security.allow-dns"
    // is listed as "security_allow_dns".
    std::string name = p["name"].get<std::string>();
    for (char& c : name)
      if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
    rte_tel_data_add_dict_string(d, name.c_str(), v.c_str());
  }
  return 0;
}

int WorkerMain(void* arg) {
  auto* w = static_cast<std::pair<dp::engine::Worker*, std::atomic<bool>*>*>(arg);
  w->first->Run(w->second);
  return 0;
}

void WriteEvent(std::ofstream& out, const dp::engine::FlowEvent& e) {
  static const char* kTypes[] = {"new", "reverdict", "close", "update"};
  nlohmann::ordered_json j = {{"event", kTypes[static_cast<int>(e.type)]},
                              {"worker", e.worker},
                              {"generation", e.generation},
                              {"action", e.allowed ? "allow" : "deny"},
                              {"source_ip", e.key.src.ToString()},
                              {"dest_ip", e.key.dst.ToString()},
                              {"proto", e.key.proto},
                              {"source_port", e.key.src_port},
                              {"dest_port", e.key.dst_port},
                              {"packets_out", e.packets[0]},
                              {"packets_in", e.packets[1]},
                              {"bytes_out", e.bytes[0]},
                              {"bytes_in", e.bytes[1]}};
  out << j.dump() << "\n";
}

int Run(int argc, char** argv) {
  // Before any start-up work: a SIGHUP or SIGTERM that arrives while the EAL,
  // the store or the ports come up is remembered (the main loop acts on it),
  // never the default action that would kill the daemon.
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnSignal);
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::cerr << "tierwalld: EAL initialisation failed: " << rte_strerror(rte_errno) << "\n";
    return 2;
  }
  argc -= consumed;
  argv += consumed;

  Options o;
  CLI::App app{"tierwalld: Calico-compatible DPDK firewall"};
  app.add_option("-f,--resources", o.resources,
                 "Resource YAML file, directory or - (repeatable); with --state-dir: imported into "
                 "an empty store");
  app.add_option("--state-dir", o.state_dir,
                 "Keep resources in a durable, versioned store here and serve the tierwall.v1 API")
      ->group("API");
  app.add_flag("--recover-store", o.recover_store,
               "Start even if the store fails its integrity checks: rebuild it from the audit "
               "chain and record the recovery in the audit log")
      ->group("API");
  app.add_option("--api-socket", o.api_socket,
                 "API Unix socket (default <state-dir>/tierwall.sock)")
      ->group("API");
  app.add_option("--tokens", o.tokens, "Bearer tokens file (token, user, groups)")->group("API");
  app.add_option("--rbac", o.rbac, "Tiered RBAC roles and bindings (YAML)")->group("API");
  app.add_option("--api-listen", o.api_listen, "Also serve the API over TLS on HOST:PORT")
      ->group("API");
  app.add_option("--tls-cert", o.tls_cert, "Server certificate (PEM) for --api-listen")
      ->group("API");
  app.add_option("--tls-key", o.tls_key, "Server key (PEM) for --api-listen")->group("API");
  app.add_option("--tls-client-ca", o.tls_client_ca,
                 "Ask for client certificates signed by this CA (identity = CN, groups = O)")
      ->group("API");
  AddApiLimitFlags(app, &o.api_limits);
  app.add_option("--metrics-addr", o.metrics_addr,
                 "Serve Prometheus metrics on HOST:PORT/metrics (a bare PORT: 127.0.0.1)")
      ->group("Observability");
  app.add_option("--metrics-token-file", o.metrics_token_file,
                 "Ask scrapers for \"Authorization: Bearer <token>\" (the file's first line)")
      ->group("Observability");
  app.add_option("--flow-log-dir", o.observe.flow_log_dir,
                 "Write flow logs (JSON lines, rotated, mode 0640) here")
      ->group("Observability");
  app.add_option("--flow-log-flush", o.observe.flush_seconds, "Seconds per flow log interval")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str()
      ->group("Observability");
  app.add_option("--flow-log-max-bytes", o.observe.flow_log_max_bytes,
                 "Rotate the file at this size")
      ->capture_default_str()
      ->group("Observability");
  app.add_option("--flow-log-max-files", o.observe.flow_log_max_files, "Rotated files kept")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str()
      ->group("Observability");
  app.add_option("--flow-log-aggregation-allowed", o.observe.aggregation_allowed,
                 "0 none, 1 source ports, 2 + source workloads by ReplicaSet, 3 + destinations")
      ->check(CLI::Range(0, 3))
      ->capture_default_str()
      ->group("Observability");
  app.add_option("--flow-log-aggregation-denied", o.observe.aggregation_denied,
                 "As --flow-log-aggregation-allowed, for denied flows")
      ->check(CLI::Range(0, 3))
      ->capture_default_str()
      ->group("Observability");
  app.add_option("--forward", o.forward, "bridge | wire (ports 0<->1, 2<->3, ...)")
      ->check(CLI::IsMember({"bridge", "wire"}));
  app.add_option("--flows", o.flows, "Connection-tracking capacity per worker")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--reevaluate", o.reevaluate,
                 "Re-judge open flows after a policy change: on | off")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--port-name", o.port_names,
                 "PORT=NAME (repeatable): the name endpoints' interfaceName gives this port "
                 "(default: a net_af_packet port's iface, else the DPDK name)")
      ->group("Ports");
  app.add_option("--source-check", o.source_check,
                 "PORT=on|off (repeatable): drop known endpoints' addresses that arrive from "
                 "elsewhere than where they live (default on)")
      ->group("Ports");
  app.add_option("--pass-ether-type", o.pass_ether_types,
                 "Forward this non-IP EtherType (e.g. 0x88cc) without policy (repeatable); "
                 "others are dropped")
      ->group("Ports");
  auto* t = &o.timeouts;
  auto timeout = [&](const char* name, double* v, const char* what) {
    app.add_option(name, *v, std::string("Flow timeout in seconds: ") + what)
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group("Connection tracking");
  };
  timeout("--timeout-tcp-syn", &t->tcp_syn, "TCP before the handshake completes");
  timeout("--timeout-tcp-established", &t->tcp_established, "established TCP");
  timeout("--timeout-tcp-fin", &t->tcp_fin, "TCP after one FIN");
  timeout("--timeout-tcp-closed", &t->tcp_closed, "TCP after both FINs or a RST");
  timeout("--timeout-udp", &t->udp, "UDP");
  timeout("--timeout-icmp", &t->icmp, "ICMP and ICMPv6");
  timeout("--timeout-other", &t->other, "other protocols");
  app.add_option("--stop-after-idle", o.stop_after_idle_ms,
                 "Exit after MS ms without received packets");
  app.add_option("--stats-json", o.stats_json, "Write final counters to FILE on exit");
  app.add_option("--flow-events", o.flow_events, "Append flow events (JSON lines) to FILE");
  app.add_option("--policy-update", o.policy_update,
                 "Test hook: resources to switch to mid-stream");
  app.add_option("--policy-update-after-packets", o.policy_update_after,
                 "Test hook: switch after this many received packets");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    rte_eal_cleanup();
    return rc == 0 ? 0 : 2;
  }

  // Port names by port id: endpoints live on the port named like their
  // interfaceName (source-address validation, dataplane/README.md).
  std::vector<std::string> port_names;
  std::vector<uint8_t> source_check;
  std::vector<uint16_t> pass_ether_types;
  {
    std::string error;
    bool ok = dp::engine::PortNames(o.port_names, &port_names, &error) &&
              dp::engine::SourceCheckFlags(o.source_check, port_names, &source_check, &error);
    for (const std::string& t : o.pass_ether_types) {
      if (!ok) break;
      size_t used = 0;
      unsigned long v = 0;
      try {
        v = std::stoul(t, &used, 0);
      } catch (const std::exception&) {
        used = 0;  // not a number: refused below
      }
      if (used != t.size() || v < 0x600 || v > 0xffff) {
        error = "--pass-ether-type " + t + ": want an EtherType 0x0600..0xffff";
        ok = false;
      }
      pass_ether_types.push_back(static_cast<uint16_t>(v));
    }
    if (!ok) {
      std::cerr << "tierwalld: " << error << "\n";
      rte_eal_cleanup();
      return 2;
    }
    for (size_t p = 0; p < port_names.size(); ++p)
      std::cerr << "tierwalld: port " << p << " is \"" << port_names[p] << "\""
                << (source_check[p] ? "" : " (source check off)") << "\n";
  }
  if (o.resources.empty() && o.state_dir.empty()) {
    std::cerr << "tierwalld: give resources with -f, or a --state-dir that holds them\n";
    rte_eal_cleanup();
    return 2;
  }
  // Reused counter slots stay clean only if flows are re-judged before they
  // count (counter_slots.h).
  CounterSlots slots(dp::engine::kMaxCounterSlots, o.reevaluate == "on");
  auto observability = Observability::Create(o.observe, &slots);
  if (!observability.ok()) {
    std::cerr << "tierwalld: " << observability.status().message() << "\n";
    rte_eal_cleanup();
    return 2;
  }
  // At most one worker per lcore; workers not yet running hold up no grace
  // period, so the first program can be published before they exist.
  dp::engine::ProgramSlot slot(rte_lcore_count());
  Publisher publisher(
      &slots, [&](std::unique_ptr<dp::classify::Program> p) { slot.Publish(std::move(p)); },
      [&](const model::ResourceSet& resources) { (*observability)->SetEndpoints(resources); },
      port_names);
  auto validate_state = [&](const std::string& yaml) { return publisher.Validate(yaml); };
  std::unique_ptr<store::Store> store;
  absl::StatusOr<uint64_t> first = absl::UnknownError("not published");
  if (!o.state_dir.empty()) {
    std::filesystem::create_directories(o.state_dir);
    store::Options store_options;
    store_options.recover = o.recover_store;
    auto opened = store::Store::Open(o.state_dir, store_options);
    if (!opened.ok()) {
      std::cerr << "tierwalld: " << absl::StatusCodeToString(opened.status().code()) << ": "
                << opened.status().message()
                << (opened.status().code() == absl::StatusCode::kDataLoss
                        ? "; --recover-store starts from the audit chain and records that"
                        : "")
                << "\n";
      rte_eal_cleanup();
      return 2;
    }
    store = std::move(*opened);
    if (!store->recovered().empty()) {
      std::cerr << "tierwalld: store recovered (--recover-store), audited as revision "
                << store->CurrentRevision().value_or(0) << ": " << store->recovered() << "\n";
    }
    auto revision = store->CurrentRevision();
    if (revision.ok() && *revision == 0 && !o.resources.empty()) {
      auto mutations = ReadMutations(o.resources);
      absl::Status s = mutations.status();
      if (s.ok())
        s = validate_state([&] {
          std::string all;
          for (const auto& m : *mutations) all += "---\n" + m.yaml + "\n";
          return all;
        }());
      if (s.ok()) s = store->Commit({"system:admin", *mutations}).status();
      if (!s.ok()) {
        std::cerr << "tierwalld: importing -f into the store: " << s.message() << "\n";
        rte_eal_cleanup();
        return 2;
      }
    } else if (revision.ok() && *revision > 0 && !o.resources.empty()) {
      std::cerr << "tierwalld: " << o.state_dir << " holds revision " << *revision
                << "; -f ignored (change resources through the API)\n";
    }
    auto snapshot = store->CurrentSnapshot();
    if (!snapshot.ok()) {
      std::cerr << "tierwalld: " << snapshot.status().message() << "\n";
      rte_eal_cleanup();
      return 2;
    }
    // Published before any port starts: no packet is ever judged by nothing.
    first = publisher.Publish(LoadYaml(snapshot->yaml, "store"));
  } else {
    first = publisher.Publish(LoadFiles(o.resources));
  }
  if (!first.ok()) {
    std::cerr << "tierwalld: " << first.status().message() << "\n";
    rte_eal_cleanup();
    return 2;
  }
  uint64_t generation = *first;

  std::vector<unsigned> lcores;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) lcores.push_back(lcore);
  if (lcores.empty()) {
    std::cerr << "tierwalld: no worker lcore: give the EAL at least two (e.g. -l 0,1)\n";
    rte_eal_cleanup();
    return 2;
  }
  std::string error;
  uint16_t workers = dp::engine::MaxWorkersForPorts(static_cast<uint16_t>(lcores.size()),
                                                    o.forward == "wire", &error);
  if (workers == 0) {
    std::cerr << "tierwalld: " << error << "\n";
    rte_eal_cleanup();
    return 2;
  }
  if (workers < lcores.size()) {
    std::cerr << "tierwalld: ports offer " << workers << " TX queue(s): using " << workers << " of "
              << lcores.size() << " worker lcores\n";
    lcores.resize(workers);
  }
  // Sized for every descriptor of every queue plus bursts in flight; small
  // enough for --no-huge with -m 512.
  uint16_t nports = rte_eth_dev_count_avail();
  unsigned mbufs = std::max(8191u, nports * workers * 2048u + 4096u);
  rte_mempool* pool = rte_pktmbuf_pool_create("tw_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
  if (!pool) {
    std::cerr << "tierwalld: cannot create the mbuf pool (" << mbufs
              << " mbufs): " << rte_strerror(rte_errno) << "; give the EAL more memory (-m)\n";
    rte_eal_cleanup();
    return 1;
  }
  std::vector<dp::engine::PortInfo> ports;
  if (!dp::engine::ConfigurePorts(workers, pool, &ports, &error)) {
    std::cerr << "tierwalld: " << error << "\n";
    rte_eal_cleanup();
    return 1;
  }

  std::vector<std::unique_ptr<dp::engine::Worker>> worker_list;
  for (uint16_t w = 0; w < workers; ++w) {
    dp::engine::WorkerConfig c;
    c.id = w;
    for (const auto& p : ports) c.tx_queue.push_back(w < p.tx_queues ? w : 0);
    c.num_ports = static_cast<uint16_t>(ports.size());
    c.mode =
        o.forward == "wire" ? dp::engine::ForwardMode::kWire : dp::engine::ForwardMode::kBridge;
    c.reevaluate = o.reevaluate == "on";
    c.source_check = source_check;
    c.pass_ether_types = pass_ether_types;
    c.flows = o.flows;
    c.timeouts = o.timeouts;
    c.report_interval_seconds = o.observe.flush_seconds;
    for (size_t i = 0; i < ports.size(); ++i) {
      const auto& p = ports[i];
      if (p.rx_queues > 1) {
        c.rx.emplace_back(p.id, w);  // RSS keeps both directions of a flow on one worker
      } else if (c.mode == dp::engine::ForwardMode::kWire ? (i / 2) % workers == w : w == 0) {
        // Single-queue ports: a wire pair (2k, 2k+1) carries both directions of
        // its flows, so the pair belongs to one worker, pairs spread over
        // workers; in bridge mode any port may carry either direction, so
        // worker 0 polls them all.
        c.rx.emplace_back(p.id, 0);
      }
    }
    if (!o.policy_update.empty()) {
      c.pause_rx_after = o.policy_update_after;
      c.resume_generation = 2;
    }
    auto worker = dp::engine::Worker::Create(c, &slot, &error);
    if (!worker) {
      std::cerr << "tierwalld: worker " << w << ": " << error << "\n";
      rte_eal_cleanup();
      return 1;
    }
    worker_list.push_back(std::move(worker));
  }

  StatsSources sources{generation, &worker_list, &ports, &slots, 0};
  // A slot handed to a new rule starts at zero, in the counters and in the
  // per-policy series.
  slots.SetResetHook([&](uint32_t s) {
    for (auto& w : worker_list) w->ResetRuleCounter(s);
    (*observability)->ForgetSlot(s);
  });
  g_telemetry = &sources;
  rte_telemetry_register_cmd("/tierwall/stats", TelemetryStats,
                             "Packets and drops by reason, summed over workers");
  rte_telemetry_register_cmd("/tierwall/policy_stats", TelemetryPolicyStats,
                             "Per policy: ingress allow/deny/egress allow/deny packets");

  // Publications come from the main loop (reload, test hook) and from API
  // threads (commits); the publisher serialises them. On error the running
  // program stays.
  auto publish_next = [&](const Publisher::Load& load) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<uint64_t> published = publisher.Publish(load);
    if (published.ok()) sources.generation = *published;
    return published;
  };
  metrics::ApplyLatencyHistogram apply_latency;
  std::unique_ptr<ApiServer> api;
  if (store) {
    ApiConfig config{o.api_socket.empty() ? o.state_dir + "/tierwall.sock" : o.api_socket,
                     o.tokens,
                     o.rbac,
                     o.api_listen,
                     o.tls_cert,
                     o.tls_key,
                     o.tls_client_ca,
                     o.api_limits};
    api::ObserveSources observe;
    observe.counters = [&] { return ReadCounters(sources); };
    observe.series = &(*observability)->series();
    observe.flows = &(*observability)->history();
    observe.lost = [&]() -> std::pair<uint64_t, uint64_t> {
      uint64_t events = 0;
      for (const auto& w : worker_list) events += dp::engine::Read(w->counters().events_lost);
      return {(*observability)->lost_records(), events};
    };
    observe.program = [&] { return slot.Current(); };
    observe.store = store.get();
    auto started = ApiServer::Start(
        config, store.get(), validate_state,
        [&](int64_t revision,
            std::chrono::steady_clock::time_point call_started) -> absl::StatusOr<uint64_t> {
          auto published = publish_next([&](model::ResourceSet* out) -> absl::Status {
            auto snapshot = store->CurrentSnapshot();
            if (!snapshot.ok()) return snapshot.status();
            return model::ParseResources(snapshot->yaml, "store", out);
          });
          if (!published.ok()) {
            // The RPC returns the error: never OK for what the workers do not run.
            std::cerr << "tierwalld: revision " << revision
                      << " not published: " << published.status().message() << "\n";
            return published.status();
          }
          // Publish returns after the grace period: every worker runs the new
          // generation from here on.
          apply_latency.Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - call_started)
                  .count());
          std::cerr << "tierwalld: revision " << revision << " published as generation "
                    << *published << "\n";
          return *published;
        },
        std::move(observe));
    if (!started.ok()) {
      // Before any port starts: nothing was forwarded.
      std::cerr << "tierwalld: API: " << started.status().message() << "\n";
      rte_eal_cleanup();
      return 2;
    } else {
      api = std::move(*started);
      std::cerr << "tierwalld: API on unix:" << api->socket_path();
      if (api->tls_port()) std::cerr << " and TLS port " << api->tls_port();
      std::cerr << "\n";
    }
  }
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  metrics::MetricsOptions metrics_options;
  if (!o.metrics_token_file.empty() && !o.metrics_addr.empty()) {
    auto token = metrics::ReadBearerTokenFile(o.metrics_token_file);
    if (!token.ok()) {
      std::cerr << "tierwalld: metrics: " << token.status().message() << "\n";
      api.reset();
      rte_eal_cleanup();
      return 2;
    }
    metrics_options.bearer_token = *std::move(token);
  }
  if (!o.metrics_addr.empty()) {
    auto started = metrics::MetricsServer::Start(o.metrics_addr, metrics_options, [&] {
      api::CountersData c = ReadCounters(sources);
      metrics::MetricsSnapshot m;
      for (const auto& r : c.rules) {
        auto [ns, name] = api::SplitTraceName(r.policy);
        m.rules.push_back({r.tier, name, ns, r.rule_index, r.action,
                           r.ingress ? "ingress" : "egress", r.staged, r.packets, r.bytes});
      }
      m.drops_by_reason = c.drops;
      m.active_flows = c.active_flows;
      m.packets_received = c.received;
      m.packets_forwarded = c.forwarded;
      m.packets_dropped = c.dropped;
      m.program_generation = c.generation;
      m.apply_seconds = apply_latency.Snapshot();
      m.flow_records_lost = (*observability)->lost_records();
      return metrics::RenderPrometheus(m);
    });
    if (!started.ok()) {
      std::cerr << "tierwalld: metrics: " << started.status().message() << "\n";
      api.reset();
      rte_eal_cleanup();
      return 2;
    } else {
      metrics_server = std::move(*started);
      std::cerr << "tierwalld: metrics on " << metrics_server->address() << " (port "
                << metrics_server->port() << ")\n";
    }
  }

  // Everything that can fail is checked and bound: only now do ports start.
  if (!dp::engine::StartPorts(ports, &error)) {
    std::cerr << "tierwalld: " << error << "\n";
    api.reset();
    metrics_server.reset();
    rte_eal_cleanup();
    return 1;
  }

  std::atomic<bool> stop_workers{false};
  std::vector<std::pair<dp::engine::Worker*, std::atomic<bool>*>> launch;
  for (auto& w : worker_list) launch.emplace_back(w.get(), &stop_workers);
  for (uint16_t w = 0; w < workers; ++w) rte_eal_remote_launch(WorkerMain, &launch[w], lcores[w]);
  std::cerr << "tierwalld: generation 1 published; " << workers << " worker(s), " << ports.size()
            << " port(s), forwarding (" << o.forward << ")\n";
  if (api) api->SetServing(true);  // program published, ports up, workers running

  std::ofstream events;
  if (!o.flow_events.empty()) events.open(o.flow_events, std::ios::app);
  auto received = [&] {
    uint64_t n = 0;
    for (const auto& w : worker_list) n += dp::engine::Read(w->counters().rx);
    return n;
  };
  uint64_t last_rx = 0;
  int64_t last_tick = 0;
  auto last_activity = std::chrono::steady_clock::now();
  bool updated = false;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const int64_t wall = static_cast<int64_t>(std::time(nullptr));
    for (auto& w : worker_list) {
      dp::engine::FlowEvent e;
      while (w->events().pop(e)) {
        (*observability)->OnEvent(e, wall);
        if (events.is_open()) {
          WriteEvent(events, e);
          ++sources.events_written;
        }
      }
    }
    if (wall != last_tick) {
      last_tick = wall;
      std::vector<flowlog::RuleTotal> totals;
      for (const auto& r : ReadCounters(sources).rules)
        totals.push_back({r.slot, r.packets, r.bytes});
      (*observability)->Tick(wall, totals);
    }
    uint64_t rx = received();
    auto now = std::chrono::steady_clock::now();
    if (rx != last_rx) {
      last_rx = rx;
      last_activity = now;
    }
    if (!o.policy_update.empty() && !updated && rx >= o.policy_update_after) {
      auto published = publish_next(LoadFiles({o.policy_update}));
      if (!published.ok()) {
        std::cerr << "tierwalld: policy update: " << published.status().message() << "\n";
        g_stop = true;
        break;
      }
      updated = true;
      last_activity = now;
    }
    const bool reload_requested = g_reload.exchange(false);
    if (reload_requested && store) {
      // With a store, resources change through the API; SIGHUP re-reads who
      // may do what (--tokens, --rbac).
      absl::Status s = api ? api->ReloadAccess() : absl::OkStatus();
      std::cerr << "tierwalld: SIGHUP: "
                << (s.ok()
                        ? std::string("tokens and RBAC reloaded")
                        : "reload failed, keeping the files in force: " + std::string(s.message()))
                << "\n";
    } else if (reload_requested) {
      auto published = publish_next(LoadFiles(o.resources));
      if (published.ok()) {
        std::cerr << "tierwalld: reloaded; generation " << *published << " published\n";
      } else {
        std::cerr << "tierwalld: reload failed, keeping generation " << sources.generation.load()
                  << ": " << published.status().message() << "\n";
      }
    }
    if (o.stop_after_idle_ms > 0 &&
        now - last_activity > std::chrono::milliseconds(o.stop_after_idle_ms)) {
      break;
    }
  }

  if (api) api->SetServing(false);
  metrics_server.reset();
  api.reset();  // no more commits (and publications) from here on
  stop_workers = true;
  rte_eal_mp_wait_lcore();
  // The last events and the interval in progress still make flow records.
  {
    const int64_t wall = static_cast<int64_t>(std::time(nullptr));
    for (auto& w : worker_list) {
      dp::engine::FlowEvent e;
      while (w->events().pop(e)) (*observability)->OnEvent(e, wall);
    }
    (*observability)->Flush(wall);
  }
  nlohmann::ordered_json stats = StatsJson(sources);
  g_telemetry = nullptr;
  dp::engine::StopPorts(ports);
  if (!o.stats_json.empty()) {
    std::ofstream out(o.stats_json);
    out << stats.dump(2) << "\n";
  }
  std::cerr << "tierwalld: stopped: received " << stats["packets"]["received"] << ", forwarded "
            << stats["packets"]["forwarded"] << ", dropped " << stats["packets"]["dropped"] << "\n";
  worker_list.clear();
  rte_eal_cleanup();
  return 0;
}

}  // namespace
}  // namespace tierwall::ctl::daemon

int main(int argc, char** argv) { return tierwall::ctl::daemon::Run(argc, argv); }
