#include "control/flowlog/service_graph.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace tierwall::ctl::flowlog {
namespace {

using nlohmann::json;

GraphNode SourceNode(const FlowRecord& r) {
  return {r.source_type, r.source_namespace, r.source_name_aggr};
}
GraphNode DestNode(const FlowRecord& r) {
  return {r.dest_type, r.dest_namespace, r.dest_name_aggr};
}

bool IsLocal(const std::string& type) { return type == "wep" || type == "hep"; }

// Whether this record carries the flow's counts (see the header): the
// destination's record when there is one, else the source's.
bool Counts(const FlowRecord& r) {
  if (r.reporter == "dst") return true;
  return r.action == "deny" || !IsLocal(r.dest_type);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

const char* Shape(const std::string& type) {
  if (type == "wep") return "box";
  if (type == "hep") return "box3d";
  if (type == "ns") return "folder";
  return "ellipse";
}

std::string EdgeLabel(const std::set<std::string>& ports, const char* mark, uint64_t flows) {
  return absl::StrCat(absl::StrJoin(ports, ","), " ", mark, " ", flows,
                      flows == 1 ? " flow" : " flows");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ServiceGraph ServiceGraph::FromRecords(const std::vector<FlowRecord>& records) {
  ServiceGraph g;
  for (const FlowRecord& r : records) g.Add(r);
  return g;
}

void ServiceGraph::Add(const FlowRecord& r) {
  const GraphNode src = SourceNode(r);
  const GraphNode dst = DestNode(r);
  nodes_.insert(src);
  nodes_.insert(dst);
  GraphEdge& e = edges_[{src, dst}];
  e.source = src;
  e.dest = dst;
  const std::string port = absl::StrCat(r.dest_port, "/", r.proto);
  const bool denied = r.action == "deny";
  (denied ? e.denied_ports : e.allowed_ports).insert(port);
  for (const auto* list : {&r.enforced_policies, &r.pending_policies}) {
    for (const std::string& p : *list) {
      std::vector<std::string> parts = absl::StrSplit(p, '|');
      if (parts.size() == 5) e.policies.insert(parts[2]);
    }
  }
  if (!Counts(r)) return;
  (denied ? e.denied_flows : e.allowed_flows) += r.num_flows;
  e.packets += r.packets_in + r.packets_out;
  e.bytes += r.bytes_in + r.bytes_out;
}

ServiceGraph ServiceGraph::FilterNamespace(const std::string& ns) const {
  ServiceGraph out;
  for (const auto& [key, edge] : edges_) {
    if (edge.source.namespace_ != ns && edge.dest.namespace_ != ns) continue;
    out.nodes_.insert(edge.source);
    out.nodes_.insert(edge.dest);
    out.edges_.emplace(key, edge);
  }
  return out;
}

json ServiceGraph::ToJson() const {
  std::map<GraphNode, std::string> ids;
  json nodes = json::array();
  for (const GraphNode& n : nodes_) {
    std::string id = absl::StrCat(n.type, ":", n.namespace_, "/", n.name);
    nodes.push_back({{"id", id}, {"type", n.type}, {"namespace", n.namespace_}, {"name", n.name}});
    ids.emplace(n, std::move(id));
  }
  json edges = json::array();
  for (const auto& [key, e] : edges_) {
    edges.push_back({{"source", ids.at(e.source)},
                     {"dest", ids.at(e.dest)},
                     {"allowed_ports", e.allowed_ports},
                     {"denied_ports", e.denied_ports},
                     {"allowed_flows", e.allowed_flows},
                     {"denied_flows", e.denied_flows},
                     {"packets", e.packets},
                     {"bytes", e.bytes},
                     {"policies", e.policies}});
  }
  return {{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
}

std::string ServiceGraph::ToDot() const {
  std::map<GraphNode, std::string> ids;
  std::map<std::string, std::vector<const GraphNode*>> by_namespace;
  for (const GraphNode& n : nodes_) {
    ids.emplace(n, absl::StrCat("n", ids.size()));
    by_namespace[n.namespace_].push_back(&n);
  }
  std::string out = "digraph services {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  int cluster = 0;
  for (const auto& [ns, members] : by_namespace) {
    const bool clustered = ns != "-";
    std::string indent = clustered ? "    " : "  ";
    if (clustered) {
      absl::StrAppend(&out, "  subgraph cluster_", cluster++, " {\n    label=", Quote(ns),
                      ";\n    style=rounded;\n");
    }
    for (const GraphNode* n : members) {
      absl::StrAppend(&out, indent, ids.at(*n), " [label=", Quote(n->name),
                      ", shape=", Shape(n->type), "];\n");
    }
    if (clustered) out += "  }\n";
  }
  for (const auto& [key, e] : edges_) {
    const std::string& from = ids.at(e.source);
    const std::string& to = ids.at(e.dest);
    if (!e.denied_ports.empty()) {
      absl::StrAppend(&out, "  ", from, " -> ", to, " [color=red, fontcolor=red, label=",
                      Quote(EdgeLabel(e.denied_ports, "\u2717", e.denied_flows)), "];\n");
    }
    if (!e.allowed_ports.empty()) {
      absl::StrAppend(&out, "  ", from, " -> ", to, " [color=green, fontcolor=darkgreen, label=",
                      Quote(EdgeLabel(e.allowed_ports, "\u2713", e.allowed_flows)), "];\n");
    }
  }
  out += "}\n";
  return out;
}

absl::StatusOr<std::string> RenderSvg(const std::string& dot_text, const std::string& dot_binary) {
  if (::access(dot_binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("Graphviz dot not found at ", dot_binary,
                                            " (install graphviz to render SVG)"));
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "tw_graph.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, ": ", std::strerror(errno)));
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  const std::string in = dir + "/graph.dot", out = dir + "/graph.svg", err = dir + "/stderr";
  {
    std::ofstream f(in, std::ios::binary);
    f << dot_text;
    if (!f) return absl::InternalError(absl::StrCat("write ", in));
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string arg0 = "dot", arg1 = "-Tsvg", arg2 = "-o";
  std::string arg3 = out, arg4 = in;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), arg3.data(), arg4.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, dot_binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return absl::InternalError(absl::StrCat("run ", dot_binary, ": ", std::strerror(rc)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return absl::InternalError(absl::StrCat("wait for ", dot_binary, ": ", std::strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(dot_binary, " -Tsvg failed (status ", status, "): ", ReadFile(err)));
  }
  return ReadFile(out);
}

}  // namespace tierwall::ctl::flowlog
