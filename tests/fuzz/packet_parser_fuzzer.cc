// libFuzzer entry point for the packet parser (clang builds only):
//   ./packet_parser_fuzzer -max_len=2048
// Parse() must never read past the input nor crash; a successful parse must
// describe a packet inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "dataplane/parse/packet_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tierwall::dp::parse::DropReason;
  using tierwall::dp::parse::L3;
  tierwall::dp::parse::ParsedPacket p;
  const uint32_t len = size > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(size);
  if (tierwall::dp::parse::Parse(data, len, &p) != DropReason::kNone) return 0;
  if ((p.l3 == L3::kIpv4 || p.l3 == L3::kIpv6) &&
      (uint32_t{p.l3_offset} + p.l3_length > len || p.l4_offset > p.l3_offset + p.l3_length)) {
    std::abort();
  }
  if (p.has_inner && !p.is_icmp_error) std::abort();
  return 0;
}
