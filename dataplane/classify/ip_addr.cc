#include "dataplane/classify/ip_addr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tierwall::dp::classify {

std::optional<IpAddr> IpAddr::Parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) != 1) return std::nullopt;
    return IpAddr::V4(ntohl(a4.s_addr));
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  U128 v = 0;
  for (uint8_t byte : a6.s6_addr) v = (v << 8) | byte;
  return IpAddr::V6(v);
}

std::string IpAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (family == Family::kV4) {
    in_addr a4{htonl(static_cast<uint32_t>(bits))};
    inet_ntop(AF_INET, &a4, buf, sizeof(buf));
  } else {
    in6_addr a6;
    U128 v = bits;
    for (int i = 15; i >= 0; --i, v >>= 8) a6.s6_addr[i] = static_cast<uint8_t>(v);
    inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
  }
  return buf;
}

static U128 HostMask(Family f, int prefix_len) {
  int host_bits = AddressBits(f) - prefix_len;
  if (host_bits <= 0) return 0;
  if (host_bits >= 128) return ~U128{0};
  return (U128{1} << host_bits) - 1;
}

std::optional<Cidr> Cidr::Parse(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Cidr> {
    if (error) *error = why;
    return std::nullopt;
  };
  size_t slash = text.find('/');
  auto ip = IpAddr::Parse(text.substr(0, slash));
  if (!ip) return fail("is not a valid IP address or CIDR");
  int len = AddressBits(ip->family);
  if (slash != std::string_view::npos) {
    std::string_view len_text = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty() ||
        len < 0 || len > AddressBits(ip->family)) {
      return fail("has an invalid prefix length");
    }
  }
  if (ip->bits & HostMask(ip->family, len))
    return fail("has host bits set below the prefix length");
  return Cidr{*ip, static_cast<uint8_t>(len)};
}

std::string Cidr::ToString() const { return addr.ToString() + "/" + std::to_string(prefix_len); }

U128 Cidr::Last() const { return addr.bits | HostMask(addr.family, prefix_len); }

bool Cidr::Contains(const IpAddr& ip) const {
  return ip.family == addr.family && ip.bits >= First() && ip.bits <= Last();
}

}  // namespace tierwall::dp::classify
