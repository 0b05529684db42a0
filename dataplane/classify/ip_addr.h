// IP addresses as the classifier sees them: one 128-bit integer plus a family.
//
// IPv4 addresses live in the low 32 bits, so ordering and range arithmetic are
// the same code for both families. Families never mix: an IPv4 range and an
// IPv6 range are different sets even when their integers overlap.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tierwall::dp::classify {

__extension__ using U128 = unsigned __int128;

enum class Family : uint8_t { kV4 = 4, kV6 = 6 };

inline constexpr int AddressBits(Family f) { return f == Family::kV4 ? 32 : 128; }
inline constexpr U128 MaxAddress(Family f) {
  return f == Family::kV4 ? U128{0xffffffffu} : ~U128{0};
}

struct IpAddr {
  Family family = Family::kV4;
  U128 bits = 0;

  static constexpr IpAddr V4(uint32_t host_order) { return {Family::kV4, host_order}; }
  static constexpr IpAddr V6(U128 host_order) { return {Family::kV6, host_order}; }
  // Parses "198.18.0.1" or "2001:db8::1".
  static std::optional<IpAddr> Parse(std::string_view text);
  std::string ToString() const;

  friend constexpr auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// A prefix such as 198.18.0.0/15. The address is stored masked.
struct Cidr {
  IpAddr addr;
  uint8_t prefix_len = 0;

  // Parses "198.18.0.0/15", "2001:db8::/32" or a bare address (full length).
  // Host bits set below the prefix are rejected, as calicoctl does.
  static std::optional<Cidr> Parse(std::string_view text, std::string* error = nullptr);
  std::string ToString() const;
  U128 First() const { return addr.bits; }
  U128 Last() const;
  bool Contains(const IpAddr& ip) const;

  friend constexpr auto operator<=>(const Cidr&, const Cidr&) = default;
};

}  // namespace tierwall::dp::classify
