// Shared test fixtures: a small hipstershop world and observation builders.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "control/flowlog/aggregator.h"
#include "control/flowlog/endpoint_directory.h"
#include "control/model/resources.h"

namespace tierwall::test::flowlog {

namespace model = ctl::model;
using ctl::flowlog::FlowObservation;
using ctl::flowlog::IpAddr;
using ctl::flowlog::PolicyHit;

inline IpAddr Ip(const char* text) { return *IpAddr::Parse(text); }

inline model::Endpoint Wep(std::string ns, std::string pod, const char* ip, model::Labels labels) {
  model::Endpoint ep;
  ep.kind = model::EndpointKind::kWorkload;
  ep.namespace_ = std::move(ns);
  ep.name = std::move(pod);
  ep.ips = {Ip(ip)};
  ep.labels = std::move(labels);
  return ep;
}

// hipstershop pods on 198.18.1.0/24, a host endpoint, a namespaced and two
// nested global network sets.
inline model::ResourceSet Hipstershop() {
  model::ResourceSet rs;
  rs.namespaces.push_back({"hipstershop", {{"team", "shop"}}, {}});
  rs.endpoints.push_back(Wep("hipstershop", "loadgenerator-5d9f8c7b6-abcde", "198.18.1.10",
                             {{"app", "loadgenerator"}, {"pod-template-hash", "5d9f8c7b6"}}));
  rs.endpoints.push_back(Wep("hipstershop", "frontend-7b8f6c9d5-4lq8z", "198.18.1.11",
                             {{"app", "frontend"}, {"pod-template-hash", "7b8f6c9d5"}}));
  rs.endpoints.push_back(Wep("hipstershop", "frontend-7b8f6c9d5-x9k2m", "198.18.1.12",
                             {{"app", "frontend"}, {"pod-template-hash", "7b8f6c9d5"}}));
  rs.endpoints.push_back(
      Wep("hipstershop", "cartservice-6c8d7f9b4-qqqqq", "198.18.1.13", {{"app", "cartservice"}}));
  rs.endpoints.push_back(Wep("hipstershop", "redis", "198.18.1.14", {{"app", "redis"}}));
  model::Endpoint hep;
  hep.kind = model::EndpointKind::kHost;
  hep.name = "node1-eth0";
  hep.ips = {Ip("10.0.0.1"), Ip("2001:db8::1")};
  hep.labels = {{"role", "node"}};
  rs.endpoints.push_back(hep);

  model::NetworkSet wide;
  wide.global = true;
  wide.name = "cloud";
  wide.nets = {*model::Cidr::Parse("203.0.0.0/8")};
  rs.network_sets.push_back(wide);
  model::NetworkSet narrow;
  narrow.global = true;
  narrow.name = "payments-api";
  narrow.labels = {{"kind", "partner"}};
  narrow.nets = {*model::Cidr::Parse("203.0.113.0/24"), *model::Cidr::Parse("2001:db8:1::/48")};
  rs.network_sets.push_back(narrow);
  model::NetworkSet local;
  local.name = "office";
  local.namespace_ = "hipstershop";
  local.nets = {*model::Cidr::Parse("203.0.113.128/25")};
  rs.network_sets.push_back(local);
  return rs;
}

inline PolicyHit Hit(std::string tier, std::string name, std::string action, int32_t rule,
                     bool ingress) {
  return PolicyHit{std::move(tier), std::move(name), std::move(action), rule, ingress};
}

// A TCP flow between two addresses with the given hits.
inline FlowObservation Obs(FlowObservation::Kind kind, const char* src, uint16_t sport,
                           const char* dst, uint16_t dport, std::vector<PolicyHit> enforced,
                           uint64_t packets_orig = 0, uint64_t packets_reply = 0) {
  FlowObservation o;
  o.kind = kind;
  o.src = Ip(src);
  o.dst = Ip(dst);
  o.src_port = sport;
  o.dst_port = dport;
  o.proto = 6;
  o.enforced = std::move(enforced);
  o.packets[0] = packets_orig;
  o.packets[1] = packets_reply;
  o.bytes[0] = packets_orig * 100;
  o.bytes[1] = packets_reply * 1000;
  return o;
}

}  // namespace tierwall::test::flowlog
