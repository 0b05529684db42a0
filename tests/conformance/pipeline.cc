#include "tests/conformance/pipeline.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "dataplane/classify/ip_addr.h"
#include "dataplane/classify/packet_key.h"

namespace tierwall::test::conformance {

absl::StatusOr<ctl::model::ResourceSet> Load(const std::string& yaml, const std::string& source) {
  ctl::model::ResourceSet set;
  absl::Status st = ctl::model::ParseResources(yaml, source, &set);
  if (!st.ok()) return st;
  return set;
}

absl::StatusOr<std::string> Judge(const ctl::model::ResourceSet& resources, const Probe& probe) {
  std::optional<dp::classify::IpAddr> src = dp::classify::IpAddr::Parse(probe.src);
  std::optional<dp::classify::IpAddr> dst = dp::classify::IpAddr::Parse(probe.dst);
  if (!src || !dst) {
    return absl::InvalidArgumentError(
        absl::StrCat("probe addresses ", probe.src, " -> ", probe.dst, " do not parse"));
  }
  dp::classify::PacketKey key;
  key.src = *src;
  key.dst = *dst;
  key.src_port = 40000;
  key.dst_port = probe.port;
  if (probe.proto == "tcp") {
    key.proto = dp::classify::kProtoTcp;
  } else if (probe.proto == "udp") {
    key.proto = dp::classify::kProtoUdp;
  } else if (probe.proto == "sctp") {
    key.proto = 132;
  } else if (probe.proto == "icmp" || probe.proto == "icmpv6") {
    key.proto = probe.proto == "icmp" ? dp::classify::kProtoIcmp : dp::classify::kProtoIcmpV6;
    key.src_port = probe.port;  // ICMP type travels in the source port, code 0
    key.dst_port = 0;
  } else {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(probe.proto, &n) || n > 255) {
      return absl::InvalidArgumentError(absl::StrCat("unknown probe protocol ", probe.proto));
    }
    key.proto = static_cast<uint8_t>(n);
  }
  auto program = ctl::compiler::Compile(resources);
  if (!program.ok()) return program.status();
  return ctl::trace::TracePacket(**program, key).verdict;
}

absl::StatusOr<std::string> Judge(const std::string& yaml, const Probe& probe) {
  auto set = Load(yaml);
  if (!set.ok()) return set.status();
  return Judge(*set, probe);
}

}  // namespace tierwall::test::conformance
