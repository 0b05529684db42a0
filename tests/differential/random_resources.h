// Seeded random ResourceSets and packets for differential testing.
//
// The resources are drawn from the whole policy model (tiers with ties and
// unset orders, every policy kind, staged Set/Delete/Learn/Ignore, Pass and
// Log rules, every EntityRule criterion, named ports, service accounts,
// profiles, network sets), but always valid as the loader and compiler accept
// them. Labels come from a small vocabulary so that selectors actually match.
// The packets are biased to where the interesting boundaries are: endpoint
// addresses, the edges of network-set and rule nets, named-port numbers and
// the edges of rule port ranges.
//
// Same seed, same output (on the same standard library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/model/resources.h"
#include "dataplane/classify/packet_key.h"

namespace tierwall::test {

ctl::model::ResourceSet RandomResources(uint64_t seed);

std::vector<dp::classify::PacketKey> RandomPackets(const ctl::model::ResourceSet& resources,
                                                   uint64_t seed, int count);

// A YAML-like rendering of everything in the set, for reproducing a failure
// by hand. Not meant to be parsed back.
std::string DumpResources(const ctl::model::ResourceSet& resources);

}  // namespace tierwall::test
