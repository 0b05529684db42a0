// Source-address validation (Program::CheckSource, compiled by the compiler
// from port names): a known endpoint's address only from the port (and, in
// bridge mode, the MAC) where it lives; an endpoint that lives on no port
// only from ports where no workload lives; everything else is policy's.
#include <gtest/gtest.h>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "dataplane/classify/program.h"

namespace tierwall::dp::classify {
namespace {

constexpr char kResources[] = R"(
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: client, namespace: ns}
spec: {pod: client, interfaceName: veth-client, ipNetworks: [198.18.0.1/32, "2001:2::1/128"],
       mac: "02:00:00:00:00:01"}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: server, namespace: ns}
spec: {pod: server, interfaceName: veth-server, ipNetworks: [198.18.0.2/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: elsewhere, namespace: ns}
spec: {pod: elsewhere, interfaceName: cali-not-here, ipNetworks: [198.18.0.3/32]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0}
spec: {node: node1, interfaceName: uplink, expectedIPs: [198.18.0.254]}
)";

// Ports: 0 veth-client, 1 veth-server, 2 uplink (a host endpoint), 3 trunk.
std::unique_ptr<Program> Compile(std::vector<std::string> port_names) {
  ctl::model::ResourceSet rs;
  auto s = ctl::model::ParseResources(kResources, "test", &rs);
  EXPECT_TRUE(s.ok()) << s;
  ctl::compiler::CompileOptions o;
  o.port_names = std::move(port_names);
  auto p = ctl::compiler::Compile(rs, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

IpAddr Ip(const char* text) { return *IpAddr::Parse(text); }

constexpr uint64_t kClientMac = 0x020000000001;
constexpr uint64_t kOtherMac = 0x0200000000ff;

TEST(SourceCheck, KnownEndpointOnlyFromItsPort) {
  auto p = Compile({"veth-client", "veth-server", "uplink", "trunk"});
  ASSERT_TRUE(p);
  // The client's addresses from the client's port; the server's from its own.
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.1"), 0, kClientMac, true), SourceCheck::kOk);
  EXPECT_EQ(p->CheckSource(Ip("2001:2::1"), 0, kClientMac, true), SourceCheck::kOk);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.2"), 1, kOtherMac, true), SourceCheck::kOk);
  // The attack: the server's address from the client's port, or anywhere else.
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.2"), 0, kClientMac, true), SourceCheck::kWrongPort);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.2"), 2, kOtherMac, true), SourceCheck::kWrongPort);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.1"), 3, kClientMac, true), SourceCheck::kWrongPort);
  // The host endpoint lives on the uplink.
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.254"), 2, kOtherMac, true), SourceCheck::kOk);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.254"), 0, kOtherMac, true), SourceCheck::kWrongPort);
}

TEST(SourceCheck, DeclaredMacInBridgeMode) {
  auto p = Compile({"veth-client", "veth-server"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.1"), 0, kOtherMac, true), SourceCheck::kWrongMac);
  EXPECT_EQ(p->CheckSource(Ip("2001:2::1"), 0, kOtherMac, true), SourceCheck::kWrongMac);
  // Wire mode does not check MACs (the next hop's MAC is on the frame).
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.1"), 0, kOtherMac, false), SourceCheck::kOk);
  // The server declares no MAC.
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.2"), 1, kOtherMac, true), SourceCheck::kOk);
}

TEST(SourceCheck, EndpointOnNoPortOnlyFromPortsWithoutWorkloads) {
  auto p = Compile({"veth-client", "veth-server", "uplink", "trunk"});
  ASSERT_TRUE(p);
  // "elsewhere" names no port: not from a workload's port (that workload is
  // not it), but from the uplink and the trunk, which may carry it.
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.3"), 0, kClientMac, true), SourceCheck::kWrongPort);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.3"), 1, kOtherMac, true), SourceCheck::kWrongPort);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.3"), 2, kOtherMac, true), SourceCheck::kOk);
  EXPECT_EQ(p->CheckSource(Ip("198.18.0.3"), 3, kOtherMac, true), SourceCheck::kOk);
  // Addresses of no endpoint are policy's business (judged as unknown).
  EXPECT_EQ(p->CheckSource(Ip("203.0.113.9"), 0, kClientMac, true), SourceCheck::kOk);
}

TEST(SourceCheck, NoPortNamesMeansNothingIsLocated) {
  // twctl trace, validation and the pcap tests: no port matches, so no port
  // is a workload's and no address is refused.
  auto p = Compile({});
  ASSERT_TRUE(p);
  for (const char* ip : {"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.254"})
    for (uint16_t port : {0, 1, 7})
      EXPECT_EQ(p->CheckSource(Ip(ip), port, kOtherMac, true), SourceCheck::kOk) << ip;
}

TEST(SourceCheck, BadMacIsRefusedByTheCompiler) {
  ctl::model::ResourceSet rs;
  ASSERT_TRUE(ctl::model::ParseResources(R"(
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: client, namespace: ns}
spec: {pod: client, ipNetworks: [198.18.0.1/32], mac: "02:00:00:00:00"}
)",
                                         "test", &rs)
                  .ok());
  auto p = ctl::compiler::Compile(rs);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("spec.mac \"02:00:00:00:00\" is not a MAC address"),
            std::string::npos)
      << p.status();
}

}  // namespace
}  // namespace tierwall::dp::classify
