#include "control/flowlog/endpoint_directory.h"

#include <algorithm>
#include <cctype>

namespace tierwall::ctl::flowlog {
namespace {

using dp::classify::AddressBits;
using dp::classify::Cidr;
using dp::classify::Family;
using dp::classify::MaxAddress;
using dp::classify::U128;

U128 Mask(Family family, uint8_t prefix_len) {
  const int bits = AddressBits(family);
  if (prefix_len == 0) return 0;
  // Shifting a 128-bit value by 128 is undefined: the full length is special.
  U128 host = prefix_len >= bits ? U128{0} : (U128{1} << (bits - prefix_len)) - 1;
  return MaxAddress(family) & ~host;
}

IpAddr Masked(const IpAddr& ip, uint8_t prefix_len) {
  return {ip.family, ip.bits & Mask(ip.family, prefix_len)};
}

std::map<std::string, std::string> CopyLabels(const model::Labels& labels) {
  return {labels.begin(), labels.end()};
}

const std::vector<Cidr>& PrivateRanges() {
  static const std::vector<Cidr> ranges = [] {
    std::vector<Cidr> out;
    for (const char* text : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                             "127.0.0.0/8", "fc00::/7", "fe80::/10"}) {
      out.push_back(*Cidr::Parse(text));
    }
    return out;
  }();
  return ranges;
}

EndpointInfo NetInfo(const char* name) {
  EndpointInfo info;
  info.type = "net";
  info.name = name;
  info.name_aggr = name;
  return info;
}

}  // namespace

std::string AggregatedName(std::string_view pod_name) {
  const size_t dash = pod_name.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return std::string(pod_name);
  std::string_view suffix = pod_name.substr(dash + 1);
  if (suffix.size() != 5) return std::string(pod_name);
  for (char c : suffix) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)))
      return std::string(pod_name);
  }
  // "Another `-` segment before it": `frontend-7b8f6c9d5-4lq8z` qualifies,
  // `redis-abcde` (a bare pod with an unlucky name) does not.
  std::string_view head = pod_name.substr(0, dash);
  const size_t prev = head.rfind('-');
  if (prev == std::string_view::npos || prev == 0 || prev + 1 == head.size())
    return std::string(pod_name);
  return std::string(head) + "-*";
}

bool IsPrivate(const IpAddr& ip) {
  for (const Cidr& c : PrivateRanges()) {
    if (c.Contains(ip)) return true;
  }
  return false;
}

size_t EndpointDirectory::IpHash::operator()(const IpAddr& ip) const {
  const uint64_t lo = static_cast<uint64_t>(ip.bits);
  const uint64_t hi = static_cast<uint64_t>(ip.bits >> 64);
  uint64_t h =
      lo * 0x9e3779b97f4a7c15ull ^ (hi + static_cast<uint64_t>(ip.family)) * 0xc2b2ae3d27d4eb4full;
  return static_cast<size_t>(h ^ (h >> 29));
}

EndpointDirectory::EndpointDirectory(const model::ResourceSet& resources) {
  for (const model::Endpoint& ep : resources.endpoints) {
    EndpointInfo info;
    const bool workload = ep.kind == model::EndpointKind::kWorkload;
    info.type = workload ? "wep" : "hep";
    info.name = ep.name;
    info.name_aggr = workload ? AggregatedName(ep.name) : ep.name;
    info.namespace_ = ep.namespace_.empty() ? "-" : ep.namespace_;
    info.labels = CopyLabels(ep.labels);
    // Duplicate addresses are a compile error; should one slip through, the
    // first endpoint keeps the address (emplace does not overwrite).
    for (const IpAddr& ip : ep.ips) by_address_.emplace(ip, info);
  }

  for (const model::NetworkSet& set : resources.network_sets) {
    EndpointInfo info;
    info.type = "ns";
    info.name = set.name;
    info.name_aggr = set.name;
    info.namespace_ = set.global || set.namespace_.empty() ? "-" : set.namespace_;
    info.labels = CopyLabels(set.labels);
    const size_t index = sets_.size();
    sets_.push_back(std::move(info));
    for (const Cidr& net : set.nets) {
      auto it = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const PrefixTable& t) {
        return t.family == net.addr.family && t.prefix_len == net.prefix_len;
      });
      if (it == prefixes_.end()) {
        prefixes_.push_back({net.addr.family, net.prefix_len, {}});
        it = prefixes_.end() - 1;
      }
      it->sets.emplace(Masked(net.addr, net.prefix_len), index);
    }
  }
  std::sort(prefixes_.begin(), prefixes_.end(),
            [](const PrefixTable& a, const PrefixTable& b) { return a.prefix_len > b.prefix_len; });
}

const EndpointInfo& EndpointDirectory::Lookup(const IpAddr& ip) const {
  static const EndpointInfo kPrivate = NetInfo("pvt");
  static const EndpointInfo kPublic = NetInfo("pub");

  if (auto it = by_address_.find(ip); it != by_address_.end()) return it->second;
  for (const PrefixTable& table : prefixes_) {
    if (table.family != ip.family) continue;
    if (auto it = table.sets.find(Masked(ip, table.prefix_len)); it != table.sets.end())
      return sets_[it->second];
  }
  return IsPrivate(ip) ? kPrivate : kPublic;
}

}  // namespace tierwall::ctl::flowlog
