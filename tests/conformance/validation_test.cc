// Calico validation conformance: documents Calico accepts or rejects, and
// what Tierwall does with them. Every row names the Calico source it
// reproduces (projectcalico/calico: libcalico-go/lib/validator/v3/validator.go
// and its validator_test.go, the kubebuilder/CEL rules in
// api/pkg/apis/projectcalico/v3, k8s.io/apimachinery's validators).
// Where Tierwall deliberately refuses what Calico accepts (a field it cannot
// enforce yet), the row says "Tierwall:" and control/README.md lists it under
// "Differences from Calico".
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "control/model/yaml_loader.h"

namespace tierwall::ctl::model {
namespace {

struct Row {
  const char* name;    // test name suffix
  const char* calico;  // the Calico source this row reproduces
  std::string yaml;
  bool accept;
  std::string message;  // a substring of the error (rejects only)
};

std::string Np(const std::string& spec, const std::string& name = "frontend") {
  return "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: " + name +
         ", namespace: shop}\nspec:\n" + spec;
}
std::string Gnp(const std::string& spec, const std::string& name = "frontend") {
  return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " + name +
         "}\nspec:\n" + spec;
}
std::string Ingress(const std::string& rule) { return Np("  ingress:\n    - " + rule + "\n"); }
std::string Egress(const std::string& rule) { return Np("  egress:\n    - " + rule + "\n"); }
std::string Meta(const std::string& kind, const std::string& meta, const std::string& spec = "") {
  std::string api = kind == "Namespace" ? "v1" : "projectcalico.org/v3";
  return "apiVersion: " + api + "\nkind: " + kind + "\nmetadata: " + meta + "\n" +
         (spec.empty() ? "" : "spec:\n" + spec);
}
std::string Gns(const std::string& nets) {
  return Meta("GlobalNetworkSet", "{name: feed}", "  nets: " + nets + "\n");
}

constexpr const char* kValidator = "libcalico-go/lib/validator/v3/validator.go";
constexpr const char* kValidatorTest = "libcalico-go/lib/validator/v3/validator_test.go";
constexpr const char* kPolicyCommon = "api/pkg/apis/projectcalico/v3/policy_common.go";
constexpr const char* kGnpTypes = "api/pkg/apis/projectcalico/v3/globalnetworkpolicy.go";
constexpr const char* kTierTypes = "api/pkg/apis/projectcalico/v3/tier.go";
constexpr const char* kK8sValidation = "k8s.io/apimachinery/pkg/util/validation/validation.go";

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      // --- actions: kubebuilder Enum=Allow;Deny;Log;Pass, exact case.
      {"ActionAllow", kValidatorTest, Ingress("action: Allow"), true, ""},
      {"ActionLog", kValidatorTest, Ingress("action: Log"), true, ""},
      {"ActionPass", kPolicyCommon, Ingress("action: Pass"), true, ""},
      {"ActionLowercaseRejected", kPolicyCommon, Ingress("action: allow"), false,
       "spec.ingress[0].action: \"allow\" is not a valid action"},
      {"ActionUnknownRejected", kValidatorTest, Ingress("action: unknown"), false,
       "is not a valid action"},

      // --- protocols: validateProtocol, protocolRegex, "should reject protocol tcp".
      {"ProtocolTCP", kValidatorTest, Ingress("{action: Allow, protocol: TCP}"), true, ""},
      {"ProtocolUDPLite", kValidatorTest, Ingress("{action: Allow, protocol: UDPLite}"), true, ""},
      {"ProtocolICMPv6", kValidatorTest, Ingress("{action: Allow, protocol: ICMPv6}"), true, ""},
      {"Protocol1AsInt", kValidatorTest, Ingress("{action: Allow, protocol: 1}"), true, ""},
      {"Protocol255AsString", kValidatorTest, Ingress("{action: Allow, protocol: \"255\"}"), true,
       ""},
      {"Protocol0Rejected", kValidatorTest, Ingress("{action: Allow, protocol: 0}"), false,
       "is not a valid protocol"},
      {"Protocol256Rejected", kValidatorTest, Ingress("{action: Allow, protocol: \"256\"}"), false,
       "is not a valid protocol"},
      {"ProtocolLowercaseTcpRejected", kValidatorTest, Ingress("{action: Allow, protocol: tcp}"),
       false, "\"tcp\" is not a valid protocol"},
      {"ProtocolTcpfooRejected", kValidatorTest, Ingress("{action: Allow, protocol: tcpfoo}"),
       false, "is not a valid protocol"},
      {"EndpointPortLowercaseProtocolRejected", kValidator,
       Meta("HostEndpoint", "{name: h}",
            "  expectedIPs: [192.0.2.1]\n  ports: [{name: ssh, protocol: tcp, port: 22}]\n"),
       false, "spec.ports[0].protocol: \"tcp\" is not a valid protocol"},

      // --- endpoint ports and profiles: validatePortName (k8s IsValidPortName), validateName.
      {"EndpointPortName", kValidatorTest,
       Meta(
           "HostEndpoint", "{name: h}",
           "  expectedIPs: [192.0.2.1]\n  ports: [{name: https-alt, protocol: TCP, port: 8443}]\n"),
       true, ""},
      {"EndpointPortNameTooLongRejected", kK8sValidation,
       Meta("HostEndpoint", "{name: h}",
            "  expectedIPs: [192.0.2.1]\n  ports: [{name: a-very-long-port-name, protocol: TCP, "
            "port: 1}]\n"),
       false, "spec.ports[0].name: \"a-very-long-port-name\" is not a valid port name"},
      {"EndpointPortNameDoubleHyphenRejected", kK8sValidation,
       Meta("HostEndpoint", "{name: h}",
            "  expectedIPs: [192.0.2.1]\n  ports: [{name: a--b, protocol: TCP, port: 1}]\n"),
       false, "is not a valid port name"},
      {"EndpointPortNameNoLetterRejected", kK8sValidation,
       Meta("HostEndpoint", "{name: h}",
            "  expectedIPs: [192.0.2.1]\n  ports: [{name: \"80\", protocol: TCP, port: 80}]\n"),
       false, "is not a valid port name"},
      {"HostEndpointProfileLeadingDotRejected", kValidatorTest,
       Meta("HostEndpoint", "{name: h}", "  expectedIPs: [192.0.2.1]\n  profiles: [.prof]\n"),
       false, "spec.profiles[0]: \".prof\": name must consist"},
      {"HostEndpointProfilePrefixed", kValidatorTest,
       Meta("HostEndpoint", "{name: h}", "  expectedIPs: [192.0.2.1]\n  profiles: [kns.prof]\n"),
       true, ""},

      // --- ports: validatePort.
      {"PortRange", kValidator,
       Ingress("{action: Allow, protocol: TCP, destination: {ports: [\"1:65535\"]}}"), true, ""},
      {"Port0Rejected", kValidator,
       Ingress("{action: Allow, protocol: TCP, destination: {ports: [0]}}"), false,
       "port number must be between 1 and 65535"},
      {"PortRangeFrom0Rejected", kValidator,
       Ingress("{action: Allow, protocol: UDP, destination: {ports: [\"0:10\"]}}"), false,
       "port number must be between 1 and 65535"},
      {"PortRangeReversedRejected", kValidator,
       Ingress("{action: Allow, protocol: TCP, destination: {ports: [\"20:10\"]}}"), false,
       "is not a valid port range"},
      {"Port65536Rejected", kValidator,
       Ingress("{action: Allow, protocol: TCP, destination: {ports: [65536]}}"), false,
       "is not a valid port"},
      {"NumericPortWithoutProtocolRejected", kValidator,
       Ingress("{action: Allow, destination: {ports: [80]}}"), false,
       "ports require protocol TCP, UDP or SCTP"},
      {"PortsWithICMPRejected", kValidator,
       Ingress("{action: Allow, protocol: ICMP, destination: {ports: [80]}}"), false,
       "ports require protocol"},

      // --- ICMP: ICMPFields bounds and CEL rules on Rule.
      {"IcmpTypeMin", kValidatorTest, Ingress("{action: Allow, protocol: ICMP, icmp: {type: 0}}"),
       true, ""},
      {"IcmpTypeMax254", kValidatorTest,
       Ingress("{action: Allow, protocol: ICMP, icmp: {type: 254}}"), true, ""},
      {"IcmpCode255", kValidatorTest,
       Ingress("{action: Allow, protocol: ICMPv6, icmp: {type: 128, code: 255}}"), true, ""},
      {"IcmpType255Rejected", kValidatorTest,
       Ingress("{action: Allow, protocol: ICMP, icmp: {type: 255}}"), false,
       "is not a valid ICMP type (0-254)"},
      {"IcmpCode256Rejected", kValidatorTest,
       Ingress("{action: Allow, protocol: ICMP, icmp: {type: 128, code: 256}}"), false,
       "is not a valid ICMP code (0-255)"},
      {"IcmpCodeWithoutTypeRejected", kPolicyCommon,
       Ingress("{action: Allow, protocol: ICMP, icmp: {code: 1}}"), false,
       "ICMP code specified without an ICMP type"},
      {"IcmpWithoutIcmpProtocolRejected", kPolicyCommon,
       Ingress("{action: Allow, protocol: TCP, icmp: {type: 8}}"), false,
       "requires protocol ICMP or ICMPv6"},

      // --- IP versions: CEL rules on Rule, validateRule's scanNets.
      {"IpVersion4", kValidatorTest, Ingress("{action: Allow, ipVersion: 4}"), true, ""},
      {"IpVersion0Rejected", kValidatorTest, Ingress("{action: Allow, ipVersion: 0}"), false,
       "is not 4 or 6"},
      {"IcmpWithIpVersion6Rejected", kPolicyCommon,
       Ingress("{action: Allow, ipVersion: 6, protocol: ICMP}"), false,
       "ICMP requires ipVersion 4"},
      {"NotProtocolIcmpv6WithIpVersion4Rejected", kPolicyCommon,
       Ingress("{action: Allow, ipVersion: 4, notProtocol: ICMPv6}"), false,
       "ICMPv6 requires ipVersion 6"},
      {"NetsVersionMismatchRejected", kValidator,
       Ingress("{action: Allow, ipVersion: 6, source: {nets: [10.0.0.0/8]}}"), false,
       "is not an IPv6 CIDR"},
      {"NetsMixedFamiliesRejected", kValidator,
       Ingress("{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {nets: [\"::/0\"]}}"),
       false, "rule contains both IPv4 and IPv6 CIDRs"},
      {"NotNetsCatchAllRejected", kValidator,
       Ingress("{action: Allow, source: {notNets: [0.0.0.0/0]}}"), false,
       "catch-all CIDR in notNets matches no traffic"},

      // --- CIDR strictness: rule nets use "net" (strictly masked), set nets "cidr".
      {"RuleNetsHostBitsRejected", kValidator,
       Ingress("{action: Allow, source: {nets: [10.0.0.1/8]}}"), false,
       "has host bits set below the prefix length"},
      {"NetworkSetNetsHostBitsAccepted", kValidator, Gns("[10.0.0.1/8, 10.0.0.1, \"dead:beef::\"]"),
       true, ""},
      {"NetworkSetBadCidrRejected", kValidatorTest, Gns("[garbage]"), false,
       "\"garbage\" is not a valid IP address or CIDR"},

      // --- types: validateNetworkPolicySpec repeats, kubebuilder Enum=Ingress;Egress.
      {"TypesBoth", kPolicyCommon, Np("  types: [Ingress, Egress]\n"), true, ""},
      {"TypesRepeatedRejected", kValidator, Np("  types: [Ingress, Ingress]\n"), false,
       "'Ingress' type specified more than once"},
      {"TypesLowercaseRejected", kPolicyCommon, Np("  types: [ingress]\n"), false,
       "is not Ingress or Egress"},

      // --- names: validateObjectMeta, validateTier, networkPolicyNameRegex, ...
      {"NpNameLabel", kValidator, Np("", "allow-web"), true, ""},
      {"NpNameOneDot", kValidator, Np("", "app.allow-web"), true, ""},
      {"NpNameKnpDefault", kValidator, Np("", "knp.default.allow.web"), true, ""},
      {"NpNameTwoDotsRejected", kValidator, Np("", "a.b.c"), false,
       "name must consist of lower case alphanumeric characters"},
      {"NpNameUppercaseRejected", kValidator, Np("", "Frontend"), false,
       "name must consist of lower case alphanumeric characters"},
      {"NpNameSlashRejected", kValidator, Np("", "\"a/b\""), false, "\"a/b\": name must consist"},
      {"NpNamePipeRejected", kValidator, Np("", "\"a|b\""), false, "\"a|b\": name must consist"},
      {"NpNameDotDotRejected", kValidator, Np("", "\"a..b\""), false, "name must consist"},
      {"NpNameNulRejected", kValidator, Np("", "\"a\\0b\""), false,
       "\"a\\x00b\": name must consist"},
      {"NpNameAnsiEscapeRejected", kValidator, Np("", "\"a\\e[31mb\""), false,
       "\"a\\x1b[31mb\": name must consist"},
      {"NpNameZeroWidthLookAlikeRejected", kValidator, Np("", "\"front\\u200bend\""), false,
       "name must consist"},
      {"NpNameKnpDefault253", kValidator, Np("", "knp.default." + std::string(241, 'a')), true,
       ""},  // a subdomain's parts have no length limit of their own
      {"NpName254Rejected", kValidatorTest, Np("", "knp.default." + std::string(242, 'a')), false,
       "name is too long by 1 bytes"},
      {"MetadataOfTheStoreAccepted", kValidator,
       Meta("GlobalNetworkSet",
            "{name: s, resourceVersion: \"3\", uid: u, creationTimestamp: x, annotations: {a: b}}"),
       true, ""},
      {"GnpName254Rejected", kValidatorTest,
       Gnp("", std::string(63, 'a') + "." + std::string(190, 'b')), false,
       "name is too long by 1 bytes"},
      {"GnpNameOneDot", kValidator, Gnp("", "security.block"), true, ""},
      {"GnpNameTwoDotsRejected", kValidator, Gnp("", "a.b.c"), false, "name must consist"},
      {"TierNameWithDotRejected", kValidator, Meta("Tier", "{name: a.b}"), false,
       "name must consist of lower case alphanumeric characters or '-'"},
      {"TierName64Rejected", kValidator, Meta("Tier", "{name: " + std::string(64, 't') + "}"),
       false, "name is too long by 1 bytes"},
      {"GnsNameDollarRejected", kValidatorTest, Meta("GlobalNetworkSet", "{name: test$set}"), false,
       "name must consist"},
      {"NamespaceNameWithDotRejected", kK8sValidation, Meta("Namespace", "{name: a.b}"), false,
       "name must consist"},
      {"NamespaceFieldRejected", kK8sValidation,
       Np("").replace(Np("").find("namespace: shop"), 15, "namespace: \"x/y\""), false,
       "metadata.namespace: \"x/y\": name must consist"},
      {"PolicyTierFieldWithDotRejected", kValidator, Np("  tier: a.b\n"), false,
       "spec.tier: \"a.b\": name must consist"},

      // --- well-known tiers: CEL rules on the Tier type (tier.go).
      {"DefaultTierAsCalicoCreatesIt", kTierTypes,
       Meta("Tier", "{name: default}", "  order: 1000000\n  defaultAction: Deny\n"), true, ""},
      {"DefaultTierOtherOrderRejected", kTierTypes, Meta("Tier", "{name: default}", "  order: 5\n"),
       false, "spec.order: default tier order must be 1000000"},
      {"DefaultTierPassRejected", kTierTypes,
       Meta("Tier", "{name: default}", "  defaultAction: Pass\n"), false,
       "The 'default' tier must have default action 'Deny'"},
      {"KubeAdminTier", kTierTypes,
       Meta("Tier", "{name: kube-admin}", "  order: 1000\n  defaultAction: Pass\n"), true, ""},
      {"KubeAdminTierDenyRejected", kTierTypes,
       Meta("Tier", "{name: kube-admin}", "  order: 1000\n"), false,
       "The 'kube-admin' tier must have default action 'Pass'"},
      {"KubeBaselineTierOrderRejected", kTierTypes,
       Meta("Tier", "{name: kube-baseline}", "  order: 1000\n  defaultAction: Pass\n"), false,
       "kube-baseline tier order must be 10000000"},
      {"StagedK8sDeleteWithSpecRejected", kValidator,
       "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata: {name: "
       "x, namespace: shop}\nspec: {stagedAction: Delete, podSelector: {}}\n",
       false, "spec.podSelector: Spec fields should all be zero-value if stagedAction is Delete"},

      // --- labels and annotations: validateObjectMetaLabels / Annotations.
      {"LabelPrefixed", kValidatorTest,
       Meta("GlobalNetworkSet", "{name: s, labels: {project.calico.org/my-valid-label: v}}"), true,
       ""},
      {"LabelValue63", kValidatorTest,
       Meta("GlobalNetworkSet", "{name: s, labels: {a: " + std::string(63, 'v') + "}}"), true, ""},
      {"LabelValue64Rejected", kValidatorTest,
       Meta("GlobalNetworkSet", "{name: s, labels: {a: " + std::string(64, 'v') + "}}"), false,
       "label value must be no more than 63 characters"},
      {"LabelKeyLeadingDotRejected", kValidatorTest,
       Meta("GlobalNetworkSet", "{name: s, labels: {.mylabel: v}}"), false, "label name"},
      {"LabelKeyBangRejected", kValidatorTest,
       Meta("GlobalNetworkSet", "{name: s, labels: {my!nvalid-label: v}}"), false, "label name"},
      {"LabelKeyUppercasePrefixRejected", kValidatorTest,
       Meta("GlobalNetworkSet", "{name: s, labels: {Calico.org/x: v}}"), false,
       "prefix part must be a lowercase RFC 1123 subdomain"},
      {"LabelValueEscapeRejected", kValidator,
       Meta("GlobalNetworkSet", "{name: s, labels: {a: \"x\\e[2Jy\"}}"), false,
       "label value \"x\\x1b[2Jy\""},
      {"LabelsToApplyDollarRejected", kValidatorTest,
       Meta("Profile", "{name: p}", "  labelsToApply: {my-invalid-label$: v}\n"), false,
       "spec.labelsToApply.my-invalid-label$: label name"},
      {"AnnotationKeyBadRejected", kValidator,
       Meta("GlobalNetworkSet", "{name: s, annotations: {\"bad key\": v}}"), false,
       "annotation name"},
      {"UnknownMetadataFieldRejected", kValidator,
       Meta("GlobalNetworkSet", "{name: s, lables: {a: b}}"), false,
       "metadata.lables: unknown field"},

      // --- doNotTrack / preDNAT / applyOnForward: CEL rules on GlobalNetworkPolicySpec.
      {"FlagsFalseAccepted", kGnpTypes,
       Gnp("  doNotTrack: false\n  preDNAT: false\n  applyOnForward: false\n"), true, ""},
      {"PreDnatAndDoNotTrackRejected", kGnpTypes,
       Gnp("  doNotTrack: true\n  preDNAT: true\n  applyOnForward: true\n"), false,
       "preDNAT and doNotTrack cannot both be true"},
      {"PreDnatWithEgressRejected", kGnpTypes,
       Gnp("  preDNAT: true\n  applyOnForward: true\n  egress: [{action: Allow}]\n"), false,
       "preDNAT policy cannot have any egress rules"},
      {"PreDnatWithEgressTypeRejected", kGnpTypes,
       Gnp("  preDNAT: true\n  applyOnForward: true\n  types: [Egress]\n"), false,
       "preDNAT policy cannot have 'Egress' type"},
      {"DoNotTrackWithoutApplyOnForwardRejected", kGnpTypes, Gnp("  doNotTrack: true\n"), false,
       "applyOnForward must be true if either preDNAT or doNotTrack is true"},
      {"TierwallDoNotTrackRefused", kGnpTypes, Gnp("  doNotTrack: true\n  applyOnForward: true\n"),
       false, "spec.doNotTrack: not supported"},
      {"TierwallPreDnatRefused", kGnpTypes, Gnp("  preDNAT: true\n  applyOnForward: true\n"), false,
       "spec.preDNAT: not supported"},
      {"TierwallApplyOnForwardRefused", kGnpTypes, Gnp("  applyOnForward: true\n"), false,
       "spec.applyOnForward: not supported"},
      {"DoNotTrackOnNamespacedPolicyRejected", kGnpTypes, Np("  doNotTrack: false\n"), false,
       "spec.doNotTrack: unknown field"},

      // --- performanceHints: oneof=AssumeNeededOnEveryNode, unique.
      {"PerformanceHint", kGnpTypes, Np("  performanceHints: [AssumeNeededOnEveryNode]\n"), true,
       ""},
      {"PerformanceHintUnknownRejected", kGnpTypes, Np("  performanceHints: [Fast]\n"), false,
       "is not a valid performance hint"},

      // --- staged policies: validateStagedNetworkPolicy / validateStagedGlobalNetworkPolicy.
      {"StagedDeleteWithTier", kValidator,
       "apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: x, "
       "namespace: shop}\nspec: {stagedAction: Delete, tier: app}\n",
       true, ""},
      {"StagedDeleteWithRulesRejected", kValidator,
       "apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: x}\n"
       "spec: {stagedAction: Delete, selector: all(), ingress: [{action: Deny}]}\n",
       false,
       "spec.selector: Spec fields, except Tier, should all be zero-value if stagedAction "
       "is Delete"},
      {"StagedActionLowercaseRejected", kPolicyCommon,
       "apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: x, "
       "namespace: shop}\nspec: {stagedAction: delete}\n",
       false, "is not a valid stagedAction"},

      // --- fields Tierwall cannot enforce yet: refused, never dropped.
      {"TierwallHttpMatchRefused", kPolicyCommon,
       Ingress("{action: Allow, protocol: TCP, http: {methods: [GET]}}"), false,
       "spec.ingress[0].http: not supported"},
      {"HttpMatchOnDenyRejected", kPolicyCommon, Ingress("{action: Deny, http: {methods: [GET]}}"),
       false, "HTTP match is only valid on Allow rules"},
      {"HttpMatchInEgressRejected", kValidator, Egress("{action: Allow, http: {methods: [GET]}}"),
       false, "HTTP match is not allowed in egress rules"},
      {"TierwallDestinationDomainsRefused", kPolicyCommon,
       Egress("{action: Allow, destination: {domains: [example.com]}}"), false,
       "spec.egress[0].destination.domains: not supported"},
      {"TierwallAllowedEgressDomainsRefused", kValidator,
       Meta("GlobalNetworkSet", "{name: s}", "  allowedEgressDomains: [example.com]\n"), false,
       "spec.allowedEgressDomains: not supported"},
      {"TierwallIpNatsRefused", kValidator,
       Meta("WorkloadEndpoint", "{name: w, namespace: shop}",
            "  ipNetworks: [10.0.0.5/32]\n  ipNATs: [{internalIP: 10.0.0.5, externalIP: "
            "192.0.2.5}]\n"),
       false, "spec.ipNATs: not supported"},
      {"TierwallServicesRefused", kPolicyCommon,
       Egress("{action: Allow, destination: {services: {name: web, namespace: shop}}}"), false,
       "service matches are not supported"},
      {"NamedPortWithoutProtocolAccepted", kValidator,
       Ingress("{action: Allow, destination: {ports: [http]}}"), true, ""},
      {"HostEndpointNeedsInterfaceNameOrExpectedIps", "api/pkg/apis/projectcalico/v3/hostendpoint.go "
       "(CEL rule; crd_validation_test.go TestCRDValidation_HostEndpoint)",
       Meta("HostEndpoint", "{name: h}", "  node: node1\n"), false,
       "at least one of interfaceName or expectedIPs must be specified"},
      {"HostEndpointNodeMustBeAName", kValidator,
       Meta("HostEndpoint", "{name: h}", "  node: \"Node_1\"\n  expectedIPs: [192.0.2.1]\n"), false,
       "spec.node: \"Node_1\": name must consist"},
      {"StatusOnNetworkPolicyRejected", kPolicyCommon,
       Np("  selector: all()\n") + "status: {phase: x}\n", false, "status: unknown field"},
      {"StatusOnTierAccepted", kTierTypes, Meta("Tier", "{name: t}") + "status: {conditions: []}\n",
       true, ""},
      // --- API limits: kubebuilder MaxLength / MaxItems (policy_common.go).
      {"SelectorOver1024Rejected", kPolicyCommon, Np("  selector: \"" + std::string(1024, 'a') + " == 'x'\"\n"),
       false, "spec.selector: may not be longer than 1024 characters"},
      {"Nets257Rejected", kPolicyCommon, [] {
         std::string nets;
         for (int i = 0; i < 257; ++i) nets += (i ? ", 10.0." : "10.0.") + std::to_string(i / 256) + "." + std::to_string(i % 256) + "/32";
         return Ingress("{action: Allow, source: {nets: [" + nets + "]}}");
       }(),
       false, "spec.ingress[0].source.nets: must have at most 256 items (257)"},
      {"Ports51Rejected", kPolicyCommon, [] {
         std::string ports;
         for (int i = 1; i <= 51; ++i) ports += (i > 1 ? ", " : "") + std::to_string(i);
         return Ingress("{action: Allow, protocol: TCP, destination: {ports: [" + ports + "]}}");
       }(),
       false, "spec.ingress[0].destination.ports: must have at most 50 items (51)"},
      {"UnknownSpecFieldRejected", kValidator, Np("  selectr: all()\n"), false,
       "spec.selectr: unknown field"},
      {"UnknownRuleFieldRejected", kValidator, Ingress("{action: Allow, protocl: TCP}"), false,
       "spec.ingress[0].protocl: unknown field"},

      // --- Kubernetes NetworkPolicy: supportedPortProtocols, exact case.
      {"K8sPortProtocolLowercaseRejected", kK8sValidation,
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: "
       "shop}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{protocol: tcp, port: 80}]}]\n",
       false, "\"tcp\" is not a valid protocol (TCP, UDP or SCTP)"},
  };
  return rows;
}

void PrintTo(const Row& row, std::ostream* os) { *os << row.name << " (" << row.calico << ")"; }

class ValidationConformance : public ::testing::TestWithParam<Row> {};

TEST_P(ValidationConformance, MatchesCalico) {
  const Row& row = GetParam();
  ResourceSet set;
  absl::Status st = ParseResources(row.yaml, "conformance.yaml", &set);
  SCOPED_TRACE(std::string("Calico: ") + row.calico + "\n" + row.yaml);
  if (row.accept) {
    EXPECT_TRUE(st.ok()) << st;
  } else {
    ASSERT_FALSE(st.ok()) << "accepted what Calico (or Tierwall, see README) refuses";
    EXPECT_NE(std::string(st.message()).find(row.message), std::string::npos)
        << st.message() << "\nwant: " << row.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Calico, ValidationConformance, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& row_info) {
                           return std::string(row_info.param.name);
                         });

}  // namespace
}  // namespace tierwall::ctl::model
