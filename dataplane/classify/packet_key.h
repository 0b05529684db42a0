// The fields of a packet that policy can look at, parsed once per packet.
#pragma once

#include <cstdint>

#include "dataplane/classify/ip_addr.h"

namespace tierwall::dp::classify {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

// For ICMP/ICMPv6 the type travels in src_port and the code in dst_port, as in
// rte_acl: a rule can never confuse them with ports because ports require
// TCP/UDP/SCTP and ICMP criteria require ICMP.
struct PacketKey {
  IpAddr src;
  IpAddr dst;
  uint8_t proto = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

}  // namespace tierwall::dp::classify
