#include "tests/support/classbench.h"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#ifndef TW_CLASSBENCH_DIR
#define TW_CLASSBENCH_DIR ""
#endif

namespace tierwall::test::classbench {
namespace {

using dp::classify::IpAddr;
using dp::classify::PacketKey;
using dp::classify::PrioritizedRawBox;

// A cursor over one line. Every Expect*/Parse* returns false at the first
// character that does not fit, and `what` names what was expected there.
class LineParser {
 public:
  explicit LineParser(std::string_view line) : s_(line) {}

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == s_.size();
  }
  bool Expect(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // Unsigned integer in [0, max], base 10 or 16 (16 needs the "0x" prefix).
  bool ParseUint(uint64_t max, uint64_t* out, int base = 10) {
    if (base == 16) {
      if (!(Expect('0') && (Expect('x') || Expect('X')))) return false;
    }
    const char* first = s_.data() + pos_;
    const char* last = s_.data() + s_.size();
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(first, last, v, base);
    if (ec != std::errc() || ptr == first || v > max) return false;
    pos_ += static_cast<size_t>(ptr - first);
    *out = v;
    return true;
  }
  bool ParseIpv4(uint32_t* out) {
    uint32_t ip = 0;
    for (int i = 0; i < 4; ++i) {
      uint64_t octet;
      if (i > 0 && !Expect('.')) return false;
      if (!ParseUint(255, &octet)) return false;
      ip = (ip << 8) | static_cast<uint32_t>(octet);
    }
    *out = ip;
    return true;
  }
  size_t column() const { return pos_ + 1; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

absl::Status LineError(std::string_view source, size_t line_no, size_t column,
                       std::string_view what, std::string_view line) {
  // absl::string_view is not std::string_view in Debian's abseil build.
  return absl::InvalidArgumentError(absl::StrCat(std::string(source), ":", line_no, ":", column,
                                                 ": expected ", std::string(what), " in line \"",
                                                 std::string(line), "\""));
}

// Calls fn(line, line_no) for every line that is not blank; stops at the first
// error fn returns.
template <typename Fn>
absl::Status ForEachLine(std::string_view text, Fn fn) {
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (absl::Status s = fn(line, line_no); !s.ok()) return s;
  }
  return absl::OkStatus();
}

uint32_t PrefixMask(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

PrioritizedRawBox ToRawBox(const Rule& rule, uint32_t priority) {
  PrioritizedRawBox p;
  p.priority = priority;
  dp::classify::RawBox& b = p.box;
  b.chain_lo = b.chain_hi = 0;
  b.family = dp::classify::Family::kV4;
  const uint32_t smask = PrefixMask(rule.src_len), dmask = PrefixMask(rule.dst_len);
  b.src_lo = rule.src_ip & smask;
  b.src_hi = (rule.src_ip & smask) | ~smask;
  b.dst_lo = rule.dst_ip & dmask;
  b.dst_hi = (rule.dst_ip & dmask) | ~dmask;
  if (rule.proto_mask == 0xFF) {
    b.proto_lo = b.proto_hi = rule.proto;
  } else {
    b.proto_lo = 0;
    b.proto_hi = 255;
  }
  b.src_port_lo = rule.src_port_lo;
  b.src_port_hi = rule.src_port_hi;
  b.dst_port_lo = rule.dst_port_lo;
  b.dst_port_hi = rule.dst_port_hi;
  return p;
}

std::vector<PrioritizedRawBox> ToRawBoxes(const std::vector<Rule>& rules) {
  std::vector<PrioritizedRawBox> out;
  out.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) out.push_back(ToRawBox(rules[i], uint32_t(i)));
  return out;
}

bool Matches(const Rule& r, const PacketKey& k) {
  if (k.src.family != dp::classify::Family::kV4 || k.dst.family != dp::classify::Family::kV4)
    return false;
  const uint32_t src = static_cast<uint32_t>(k.src.bits), dst = static_cast<uint32_t>(k.dst.bits);
  const uint32_t smask = PrefixMask(r.src_len), dmask = PrefixMask(r.dst_len);
  return (src & smask) == (r.src_ip & smask) && (dst & dmask) == (r.dst_ip & dmask) &&
         (k.proto & r.proto_mask) == (r.proto & r.proto_mask) && k.src_port >= r.src_port_lo &&
         k.src_port <= r.src_port_hi && k.dst_port >= r.dst_port_lo && k.dst_port <= r.dst_port_hi;
}

int32_t LinearFirstMatch(const std::vector<Rule>& rules, const PacketKey& key) {
  for (size_t i = 0; i < rules.size(); ++i)
    if (Matches(rules[i], key)) return static_cast<int32_t>(i);
  return -1;
}

absl::StatusOr<std::vector<Rule>> ParseFilters(std::string_view text, std::string_view source) {
  std::vector<Rule> rules;
  absl::Status status = ForEachLine(text, [&](std::string_view line, size_t n) -> absl::Status {
    LineParser p(line);
    Rule r;
    uint64_t v, lo, hi;
    auto err = [&](std::string_view what) { return LineError(source, n, p.column(), what, line); };
    p.SkipSpace();
    if (!p.Expect('@')) return err("'@' starting a filter");
    if (!p.ParseIpv4(&r.src_ip)) return err("source IPv4 address");
    if (!p.Expect('/') || !p.ParseUint(32, &v)) return err("'/<source prefix length 0..32>'");
    r.src_len = static_cast<uint8_t>(v);
    p.SkipSpace();
    if (!p.ParseIpv4(&r.dst_ip)) return err("destination IPv4 address");
    if (!p.Expect('/') || !p.ParseUint(32, &v)) return err("'/<destination prefix length 0..32>'");
    r.dst_len = static_cast<uint8_t>(v);
    r.src_ip &= PrefixMask(r.src_len);
    r.dst_ip &= PrefixMask(r.dst_len);
    for (int side = 0; side < 2; ++side) {
      p.SkipSpace();
      if (!p.ParseUint(65535, &lo)) return err("port range low bound 0..65535");
      p.SkipSpace();
      if (!p.Expect(':')) return err("':' in port range");
      p.SkipSpace();
      if (!p.ParseUint(65535, &hi) || hi < lo) return err("port range high bound >= low, <= 65535");
      (side == 0 ? r.src_port_lo : r.dst_port_lo) = static_cast<uint16_t>(lo);
      (side == 0 ? r.src_port_hi : r.dst_port_hi) = static_cast<uint16_t>(hi);
    }
    p.SkipSpace();
    if (!p.ParseUint(255, &v, 16)) return err("protocol '0x<hex>'");
    r.proto = static_cast<uint8_t>(v);
    if (!p.Expect('/') || !p.ParseUint(255, &v, 16)) return err("protocol mask '/0x<hex>'");
    // A partial protocol mask is not a range, so RawBox cannot hold it; ClassBench
    // only ever writes 0xFF or 0x00.
    if (v != 0xFF && v != 0x00) return err("protocol mask 0xFF or 0x00");
    r.proto_mask = static_cast<uint8_t>(v);
    if (r.proto_mask == 0) r.proto = 0;
    // Flags (optional here): parsed for well-formedness, ignored by 5-tuple matching.
    if (!p.AtEnd()) {
      if (!p.ParseUint(0xFFFF, &v, 16) || !p.Expect('/') || !p.ParseUint(0xFFFF, &v, 16))
        return err("tcp flags '0x<hex>/0x<hex>'");
      if (!p.AtEnd()) return err("end of line after the flags");
    }
    rules.push_back(r);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return rules;
}

absl::StatusOr<std::vector<PacketKey>> ParseTrace(std::string_view text, std::string_view source,
                                                  std::vector<uint32_t>* generator_rules) {
  std::vector<PacketKey> keys;
  if (generator_rules) generator_rules->clear();
  absl::Status status = ForEachLine(text, [&](std::string_view line, size_t n) -> absl::Status {
    LineParser p(line);
    auto err = [&](std::string_view what) { return LineError(source, n, p.column(), what, line); };
    static constexpr uint64_t kMax[] = {0xFFFFFFFFu, 0xFFFFFFFFu, 65535, 65535, 255};
    static constexpr std::string_view kWhat[] = {
        "source address (u32)", "destination address (u32)", "source port 0..65535",
        "destination port 0..65535", "protocol 0..255"};
    uint64_t v[5];
    for (int i = 0; i < 5; ++i) {
      p.SkipSpace();
      if (!p.ParseUint(kMax[i], &v[i])) return err(kWhat[i]);
      if (i < 4 && !p.Expect(' ') && !p.Expect('\t')) return err("whitespace");
    }
    // Optional: flags, then the generating rule index (dpdk-test-acl reads 5 columns).
    uint64_t flags = 0, gen = 0xFFFFFFFFu;
    if (!p.AtEnd() && !p.ParseUint(0xFFFFFFFFu, &flags)) return err("flags (u32)");
    if (!p.AtEnd() && !p.ParseUint(0xFFFFFFFFu, &gen)) return err("generator rule index");
    if (!p.AtEnd()) return err("end of line after 7 columns");
    PacketKey k;
    k.src = IpAddr::V4(static_cast<uint32_t>(v[0]));
    k.dst = IpAddr::V4(static_cast<uint32_t>(v[1]));
    k.src_port = static_cast<uint16_t>(v[2]);
    k.dst_port = static_cast<uint16_t>(v[3]);
    k.proto = static_cast<uint8_t>(v[4]);
    keys.push_back(k);
    if (generator_rules) generator_rules->push_back(static_cast<uint32_t>(gen));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return keys;
}

absl::StatusOr<std::vector<int32_t>> ParseExpected(std::string_view text, std::string_view source) {
  std::vector<int32_t> out;
  absl::Status status = ForEachLine(text, [&](std::string_view line, size_t n) -> absl::Status {
    LineParser p(line);
    p.SkipSpace();
    uint64_t v = 0;
    bool ok;
    if (p.Expect('-')) {
      ok = p.ParseUint(1, &v) && v == 1;  // -1 is the only negative answer
      v = static_cast<uint64_t>(-1);
    } else {
      ok = p.ParseUint(0x7FFFFFFF, &v);
    }
    if (!ok || !p.AtEnd()) return LineError(source, n, p.column(), "rule index or -1", line);
    out.push_back(static_cast<int32_t>(v));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  if (EndsWith(path, ".gz")) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr)
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    gzbuffer(f, 1 << 20);
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    int errnum = Z_OK;
    std::string msg = n < 0 ? gzerror(f, &errnum) : "";
    gzclose(f);
    if (n < 0) return absl::DataLossError(absl::StrCat("gunzip ", path, ": ", msg));
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("read error on ", path));
  return std::move(ss).str();
}

std::optional<std::string> DataDir() {
  const char* env = std::getenv("TW_CLASSBENCH_DIR");
  std::string dir = env != nullptr && *env != '\0' ? env : TW_CLASSBENCH_DIR;
  if (dir.empty()) return std::nullopt;
  if (!Exists(dir + "/README.md") && !FindFile(dir, "acl1_1K")) return std::nullopt;
  return dir;
}

std::optional<std::string> FindFile(const std::string& dir, const std::string& name) {
  std::string plain = dir + "/" + name;
  if (Exists(plain)) return plain;
  if (Exists(plain + ".gz")) return plain + ".gz";
  return std::nullopt;
}

absl::StatusOr<Set> LoadSet(const std::string& dir, const std::string& name) {
  Set set;
  set.name = name;
  auto load = [&](const std::string& file) -> absl::StatusOr<std::pair<std::string, std::string>> {
    std::optional<std::string> path = FindFile(dir, file);
    if (!path) return absl::NotFoundError(absl::StrCat("no ", file, "[.gz] in ", dir));
    absl::StatusOr<std::string> text = ReadFile(*path);
    if (!text.ok()) return text.status();
    return std::make_pair(*path, *std::move(text));
  };
  auto rules = load(name);
  if (!rules.ok()) return rules.status();
  auto parsed_rules = ParseFilters(rules->second, rules->first);
  if (!parsed_rules.ok()) return parsed_rules.status();
  set.rules = *std::move(parsed_rules);

  auto trace = load(name + "_trace");
  if (!trace.ok()) return trace.status();
  auto parsed_trace = ParseTrace(trace->second, trace->first, &set.generator_rules);
  if (!parsed_trace.ok()) return parsed_trace.status();
  set.trace = *std::move(parsed_trace);

  auto expected = load(name + "_expected");
  if (!expected.ok()) return expected.status();
  auto parsed_expected = ParseExpected(expected->second, expected->first);
  if (!parsed_expected.ok()) return parsed_expected.status();
  set.expected = *std::move(parsed_expected);

  if (set.expected.size() != set.trace.size())
    return absl::FailedPreconditionError(absl::StrCat(name, ": trace has ", set.trace.size(),
                                                      " headers but expected has ",
                                                      set.expected.size(), " answers"));
  for (size_t i = 0; i < set.expected.size(); ++i) {
    if (set.expected[i] >= static_cast<int32_t>(set.rules.size()))
      return absl::FailedPreconditionError(absl::StrCat(name, "_expected line ", i + 1, ": rule ",
                                                        set.expected[i], " but the set has ",
                                                        set.rules.size(), " rules"));
  }
  return set;
}

}  // namespace tierwall::test::classbench
