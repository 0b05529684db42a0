#include "control/flowlog/aggregator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::flowlog {

// An aggregation key, shared by the interval's record map and every active
// flow that last fed it. `identity` holds the record's non-counter fields;
// its labels shrink to the intersection of every endpoint merged into it.
struct Aggregator::Key {
  std::string text;
  FlowRecord identity;
};

namespace {

constexpr int kSrc = 0;  // reporter index: egress at the source
constexpr int kDst = 1;  // reporter index: ingress at the destination

bool IsLocal(const EndpointInfo& info) { return info.type == "wep" || info.type == "hep"; }

void IntersectLabels(std::map<std::string, std::string>* into,
                     const std::map<std::string, std::string>& other) {
  if (*into == other) return;
  for (auto it = into->begin(); it != into->end();) {
    auto found = other.find(it->first);
    if (found == other.end() || found->second != it->second) {
      it = into->erase(it);
    } else {
      ++it;
    }
  }
}

// A reporter lists the hits on its side; "log" hits are left out.
bool Listed(const PolicyHit& hit, bool ingress) {
  return hit.ingress == ingress && hit.action != "log";
}

void AppendPolicyString(std::string* out, size_t index, const PolicyHit& hit) {
  absl::StrAppend(out, index, "|", hit.tier, "|", hit.name, "|", hit.action, "|", hit.rule_index);
}

// Policy strings for one reporter, indexed from 0 in evaluation order.
std::vector<std::string> PolicyStrings(const std::vector<PolicyHit>& hits, bool ingress) {
  std::vector<std::string> out;
  for (const PolicyHit& hit : hits) {
    if (Listed(hit, ingress)) out.push_back(PolicyString(out.size(), hit));
  }
  return out;
}

bool HasHits(const FlowObservation& obs, bool ingress) {
  auto on_side = [&](const PolicyHit& h) { return h.ingress == ingress; };
  return std::any_of(obs.enforced.begin(), obs.enforced.end(), on_side) ||
         std::any_of(obs.pending.begin(), obs.pending.end(), on_side);
}

std::string ReporterAction(const std::vector<PolicyHit>& enforced, bool ingress) {
  std::string action = "allow";
  for (const PolicyHit& hit : enforced) {
    if (hit.ingress == ingress && (hit.action == "allow" || hit.action == "deny"))
      action = hit.action;
  }
  return action;
}

void AppendField(std::string* key, std::string_view field) {
  key->append(field);
  key->push_back('\x1f');  // cannot appear in names, IPs or policy strings
}

// What a reporter's record keeps of an observation: its action, and by the
// aggregation level that action selects, whether source and destination are
// merged to their aggregated names. KeyText and Identity both follow it, so a
// key always names exactly the fields its record holds.
struct Shape {
  bool ingress;
  std::string action;
  bool source_merged;  // level >= 2: source_ip and source_name are "-"
  bool dest_merged;    // level >= 3: dest_ip and dest_name are "-"
};

Shape ShapeOf(const FlowObservation& obs, int reporter, const AggregatorConfig& config) {
  Shape shape;
  shape.ingress = reporter == kDst;
  shape.action = ReporterAction(obs.enforced, shape.ingress);
  const int level = shape.action == "allow" ? config.level_allowed : config.level_denied;
  shape.source_merged = level >= 2;
  shape.dest_merged = level >= 3;
  return shape;
}

// The key text that identifies a reporter's record: built straight from the
// observation (no FlowRecord, no label map copies), because most observations
// land on a record that already exists.
std::string KeyText(const FlowObservation& obs, const EndpointInfo& src, const EndpointInfo& dst,
                    const Shape& shape) {
  std::string key;
  key.reserve(256);
  AppendField(&key, shape.ingress ? "dst" : "src");
  AppendField(&key, shape.action);
  AppendField(&key, ProtoName(obs.proto));
  AppendField(&key, src.type);
  AppendField(&key, src.namespace_);
  AppendField(&key, src.name_aggr);
  AppendField(&key, shape.source_merged ? "-" : obs.src.ToString());
  AppendField(&key, shape.source_merged ? "-" : src.name);
  AppendField(&key, dst.type);
  AppendField(&key, dst.namespace_);
  AppendField(&key, dst.name_aggr);
  AppendField(&key, shape.dest_merged ? "-" : obs.dst.ToString());
  AppendField(&key, shape.dest_merged ? "-" : dst.name);
  absl::StrAppend(&key, obs.dst_port, "\x1f");
  auto policies = [&](const std::vector<PolicyHit>& hits) {
    size_t index = 0;
    for (const PolicyHit& hit : hits) {
      if (!Listed(hit, shape.ingress)) continue;
      AppendPolicyString(&key, index++, hit);
      key.push_back('\x1f');
    }
  };
  policies(obs.enforced);
  AppendField(&key, "pending");
  policies(obs.pending);
  return key;
}

// The record's identity (what KeyText keys), built only for a new key.
FlowRecord Identity(const FlowObservation& obs, const EndpointInfo& src, const EndpointInfo& dst,
                    const Shape& shape) {
  FlowRecord r;
  r.reporter = shape.ingress ? "dst" : "src";
  r.action = shape.action;
  r.enforced_policies = PolicyStrings(obs.enforced, shape.ingress);
  r.pending_policies = PolicyStrings(obs.pending, shape.ingress);
  r.proto = ProtoName(obs.proto);
  r.dest_port = obs.dst_port;

  r.source_type = src.type;
  r.source_namespace = src.namespace_;
  r.source_name_aggr = src.name_aggr;
  r.source_labels = src.labels;
  if (!shape.source_merged) {
    r.source_ip = obs.src.ToString();
    r.source_name = src.name;
  }
  r.dest_type = dst.type;
  r.dest_namespace = dst.namespace_;
  r.dest_name_aggr = dst.name_aggr;
  r.dest_labels = dst.labels;
  if (!shape.dest_merged) {
    r.dest_ip = obs.dst.ToString();
    r.dest_name = dst.name;
  }
  return r;
}

}  // namespace

std::string PolicyString(size_t index, const PolicyHit& hit) {
  std::string out;
  AppendPolicyString(&out, index, hit);
  return out;
}

size_t Aggregator::FlowIdHash::operator()(const FlowId& id) const {
  auto mix = [](uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  };
  uint64_t h = 0;
  h = mix(h, static_cast<uint64_t>(id.src.bits));
  h = mix(h, static_cast<uint64_t>(id.src.bits >> 64));
  h = mix(h, static_cast<uint64_t>(id.dst.bits));
  h = mix(h, static_cast<uint64_t>(id.dst.bits >> 64));
  h = mix(h, (uint64_t{id.src_port} << 24) | (uint64_t{id.dst_port} << 8) | id.proto);
  return static_cast<size_t>(h);
}

Aggregator::Aggregator(AggregatorConfig config) : config_(config) {}
Aggregator::~Aggregator() = default;

std::shared_ptr<Aggregator::Key> Aggregator::Intern(FlowRecord identity, std::string key_text) {
  auto it = interned_.find(key_text);
  if (it != interned_.end()) {
    IntersectLabels(&it->second->identity.source_labels, identity.source_labels);
    IntersectLabels(&it->second->identity.dest_labels, identity.dest_labels);
    return it->second;
  }
  auto key = std::make_shared<Key>(Key{key_text, std::move(identity)});
  interned_.emplace(std::move(key_text), key);
  return key;
}

FlowRecord* Aggregator::RecordFor(const std::shared_ptr<Key>& key) {
  auto it = interval_.find(key.get());
  if (it != interval_.end()) {
    IntersectLabels(&it->second.second.source_labels, key->identity.source_labels);
    IntersectLabels(&it->second.second.dest_labels, key->identity.dest_labels);
    return &it->second.second;
  }
  if (interval_.size() >= config_.max_records_per_interval) return nullptr;
  return &interval_.emplace(key.get(), std::make_pair(key, key->identity)).first->second.second;
}

void Aggregator::Add(const FlowObservation& obs, const EndpointDirectory& directory, int64_t now) {
  if (interval_start_ < 0) interval_start_ = now;
  const bool ending = obs.kind == FlowObservation::Kind::kEnd;
  const EndpointInfo& src = directory.Lookup(obs.src);
  const EndpointInfo& dst = directory.Lookup(obs.dst);
  const bool reports[2] = {IsLocal(src) && HasHits(obs, /*ingress=*/false),
                           IsLocal(dst) && HasHits(obs, /*ingress=*/true)};

  // Find every record this observation feeds before changing anything, so a
  // capped interval leaves the flow's totals untouched: the next observation
  // then carries the delta into a later interval.
  std::shared_ptr<Key> keys[2];
  FlowRecord* records[2] = {nullptr, nullptr};
  for (int r : {kSrc, kDst}) {
    if (!reports[r]) continue;
    const Shape shape = ShapeOf(obs, r, config_);
    std::string text = KeyText(obs, src, dst, shape);
    auto it = interned_.find(text);
    if (it != interned_.end()) {
      // Merged endpoints (levels 2 and 3) keep only the labels they share.
      IntersectLabels(&it->second->identity.source_labels, src.labels);
      IntersectLabels(&it->second->identity.dest_labels, dst.labels);
      keys[r] = it->second;
    } else {
      keys[r] = Intern(Identity(obs, src, dst, shape), std::move(text));
    }
  }

  const FlowId id{obs.src, obs.dst, obs.src_port, obs.dst_port, obs.proto};
  auto flow_it = active_.find(id);
  const bool tracked = flow_it != active_.end();
  if (!tracked && !ending && active_.size() >= config_.max_active_flows) {
    ++lost_;  // cannot track it; its end (full totals) will still be counted
    return;
  }
  size_t new_records = 0;
  for (int r : {kSrc, kDst}) {
    if (keys[r] && !interval_.contains(keys[r].get())) ++new_records;
  }
  if (interval_.size() + new_records > config_.max_records_per_interval) {
    ++lost_;
    if (ending && tracked) active_.erase(flow_it);  // never leak a finished flow
    return;
  }
  for (int r : {kSrc, kDst}) {
    if (keys[r]) records[r] = RecordFor(keys[r]);
  }

  ActiveFlow scratch;  // an end for a flow never seen: its totals are all new
  ActiveFlow& flow = tracked ? flow_it->second : ending ? scratch : active_[id];
  uint64_t dpackets[2], dbytes[2];
  for (int d : {0, 1}) {
    // Totals only grow; a smaller one means the dataplane's entry was reset.
    dpackets[d] =
        obs.packets[d] >= flow.packets[d] ? obs.packets[d] - flow.packets[d] : obs.packets[d];
    dbytes[d] = obs.bytes[d] >= flow.bytes[d] ? obs.bytes[d] - flow.bytes[d] : obs.bytes[d];
    flow.packets[d] = obs.packets[d];
    flow.bytes[d] = obs.bytes[d];
  }

  for (int r : {kSrc, kDst}) {
    if (!records[r]) {
      flow.key[r].reset();
      continue;
    }
    FlowRecord& rec = *records[r];
    if (flow.key[r] != keys[r] || flow.counted_in[r] != generation_) {
      ++rec.num_flows;
      flow.counted_in[r] = generation_;
    }
    if (obs.kind == FlowObservation::Kind::kStart) ++rec.num_flows_started;
    if (ending) ++rec.num_flows_completed;
    // The source sends the original direction; the destination receives it.
    const int out = r == kSrc ? 0 : 1;
    rec.packets_out += dpackets[out];
    rec.bytes_out += dbytes[out];
    rec.packets_in += dpackets[1 - out];
    rec.bytes_in += dbytes[1 - out];
    flow.key[r] = keys[r];
  }
  if (ending && tracked) active_.erase(flow_it);
}

std::vector<FlowRecord> Aggregator::Flush(int64_t now) {
  // A long flow shows in every interval it is active, even a quiet one.
  for (const auto& [id, flow] : active_) {
    for (int r : {kSrc, kDst}) {
      if (!flow.key[r] || flow.counted_in[r] == generation_) continue;
      FlowRecord* rec = RecordFor(flow.key[r]);
      if (rec == nullptr) {
        ++lost_;
        continue;
      }
      ++rec->num_flows;
    }
  }

  std::vector<std::pair<const Key*, FlowRecord*>> sorted;
  sorted.reserve(interval_.size());
  for (auto& [key, entry] : interval_) sorted.emplace_back(key, &entry.second);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first->text < b.first->text; });
  std::vector<FlowRecord> out;
  out.reserve(sorted.size());
  const int64_t start = interval_start_ < 0 ? now : interval_start_;
  for (auto& [key, rec] : sorted) {
    rec->start_time = start;
    rec->end_time = now;
    out.push_back(std::move(*rec));
  }

  interval_.clear();
  ++generation_;
  interval_start_ = now;
  // Keys no active flow refers to any more are dropped: memory follows the
  // live flows, not everything ever seen.
  for (auto it = interned_.begin(); it != interned_.end();) {
    it = it->second.use_count() == 1 ? interned_.erase(it) : std::next(it);
  }
  return out;
}

}  // namespace tierwall::ctl::flowlog
