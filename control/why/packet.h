// The packet `twctl why` asks about, and the outcome the user wants for it.
#pragma once

#include <cstdint>

#include "dataplane/classify/ip_addr.h"
#include "dataplane/classify/packet_key.h"

namespace tierwall::ctl::why {

struct Packet {
  dp::classify::IpAddr src;
  dp::classify::IpAddr dst;
  uint16_t dst_port = 0;
  uint8_t proto = dp::classify::kProtoTcp;
  uint16_t src_port = 0;  // rarely matters; ICMP: the type travels here (see packet_key.h)

  dp::classify::PacketKey Key() const { return {src, dst, proto, src_port, dst_port}; }
};

enum class Outcome { kAllow, kDeny };
inline const char* OutcomeName(Outcome o) { return o == Outcome::kAllow ? "allow" : "deny"; }

}  // namespace tierwall::ctl::why
