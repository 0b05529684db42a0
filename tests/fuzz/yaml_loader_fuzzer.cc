// libFuzzer target for the YAML loader (control/model) and, for what it
// accepts, the compiler behind it (control/compiler).
//
// Input: one multi-document YAML text, as `twctl apply -f` or the API would
// send it. The loader must refuse bad input with a status, never crash, hang
// or read out of bounds; whatever it accepts must compile or be refused by
// the compiler with a status, and a compiled program must judge a packet
// (so a set the loader accepts cannot leave the dataplane a broken program).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "dataplane/classify/program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tierwall;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ctl::model::ResourceSet set;
  if (!ctl::model::ParseResources(text, "fuzz.yaml", &set).ok()) return 0;
  auto program = ctl::compiler::Compile(set);
  if (!program.ok()) return 0;
  // The seed corpus uses 198.18.0.0/15 (the demo's addresses): judge a packet
  // between two of them so lookups run over what was compiled.
  dp::classify::PacketKey key;
  key.src = dp::classify::IpAddr::V4(0xc6120001u);
  key.dst = dp::classify::IpAddr::V4(0xc6120002u);
  key.proto = 6;
  key.src_port = 40000;
  key.dst_port = 80;
  dp::classify::PacketVerdict verdict;
  (*program)->Evaluate(key, &verdict);
  return 0;
}
