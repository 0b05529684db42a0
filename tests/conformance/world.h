// The endpoints, namespaces, service accounts and network sets the
// conformance tables probe. Addresses:
//   ns1 {team: a}                          ns2 {team: b}
//   ns1/client 198.18.1.1 {app: client}    sa api-sa {app: api-clients}
//   ns1/server 198.18.1.2 {app: server}    ports http 8080/TCP, dns 53/UDP
//   ns1/web    198.18.1.3 {app: web}       sa web-sa (no labels)
//   ns1/vm     198.18.1.9 {app: client}    orchestrator openstack (not a pod)
//   ns2/client 198.18.2.1 {app: client}
//   ns2/server 198.18.2.2 {app: server}    ports http 9090/TCP
//   host1 (HostEndpoint) 198.18.0.1 {app: client}, profile host-open (allows all,
//     so that only the policy under test judges its traffic)
//   GlobalNetworkSet ext: 203.0.113.0/24 {app: client}
//   NetworkSet ns1/partners: 192.0.2.0/24 {app: client}
//   unknown: 198.51.100.7
#pragma once

namespace tierwall::test::conformance {

inline constexpr char kWorld[] = R"(
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns2, labels: {team: b}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api-sa, namespace: ns1, labels: {app: api-clients}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web-sa, namespace: ns1}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-client-eth0, namespace: ns1, labels: {app: client}}
spec: {node: node1, orchestrator: k8s, pod: client, endpoint: eth0, interfaceName: cali11,
       serviceAccountName: api-sa, ipNetworks: [198.18.1.1/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-server-eth0, namespace: ns1, labels: {app: server}}
spec:
  node: node1
  orchestrator: k8s
  pod: server
  endpoint: eth0
  interfaceName: cali12
  ipNetworks: [198.18.1.2/32]
  ports:
    - {name: http, port: 8080, protocol: TCP}
    - {name: dns, port: 53, protocol: UDP}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-web-eth0, namespace: ns1, labels: {app: web}}
spec: {node: node1, orchestrator: k8s, pod: web, endpoint: eth0, interfaceName: cali13,
       serviceAccountName: web-sa, ipNetworks: [198.18.1.3/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-openstack-vm-eth0, namespace: ns1, labels: {app: client}}
spec: {node: node1, orchestrator: openstack, workload: vm, endpoint: eth0, interfaceName: tap19,
       ipNetworks: [198.18.1.9/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node2-k8s-client-eth0, namespace: ns2, labels: {app: client}}
spec: {node: node2, orchestrator: k8s, pod: client, endpoint: eth0, interfaceName: cali21,
       ipNetworks: [198.18.2.1/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node2-k8s-server-eth0, namespace: ns2, labels: {app: server}}
spec:
  node: node2
  orchestrator: k8s
  pod: server
  endpoint: eth0
  interfaceName: cali22
  ipNetworks: [198.18.2.2/32]
  ports: [{name: http, port: 9090, protocol: TCP}]
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: host1, labels: {app: client}}
spec: {node: host1, interfaceName: eth0, expectedIPs: [198.18.0.1], profiles: [host-open]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: host-open}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: ext, labels: {app: client}}
spec: {nets: [203.0.113.0/24]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: ns1, labels: {app: client}}
spec: {nets: [192.0.2.0/24]}
)";

inline constexpr char kClient1[] = "198.18.1.1";
inline constexpr char kServer1[] = "198.18.1.2";
inline constexpr char kWeb1[] = "198.18.1.3";
inline constexpr char kVm1[] = "198.18.1.9";
inline constexpr char kClient2[] = "198.18.2.1";
inline constexpr char kServer2[] = "198.18.2.2";
inline constexpr char kHost1[] = "198.18.0.1";
inline constexpr char kExt[] = "203.0.113.5";          // in GlobalNetworkSet ext
inline constexpr char kPartner[] = "192.0.2.5";        // in NetworkSet ns1/partners
inline constexpr char kPartnerHigh[] = "192.0.2.200";  // in it too, upper half
inline constexpr char kUnknown[] = "198.51.100.7";

}  // namespace tierwall::test::conformance
