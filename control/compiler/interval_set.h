// Sets of addresses, ports and protocols as sorted, disjoint, inclusive
// intervals: the algebra the compiler uses to turn `nets`, `notNets`,
// selectors and `notPorts` into classifier ranges.
#pragma once

#include <algorithm>
#include <array>
#include <vector>

#include "dataplane/classify/ip_addr.h"

namespace tierwall::ctl::compiler {

template <typename T>
struct Interval {
  T lo;
  T hi;  // inclusive
};

// Intervals within [0, max], kept sorted, disjoint and non-adjacent.
template <typename T>
class IntervalSet {
 public:
  explicit IntervalSet(T max = T{}) : max_(max) {}
  static IntervalSet Full(T max) {
    IntervalSet s(max);
    s.items_.push_back({T{0}, max});
    return s;
  }

  void Add(T lo, T hi) {
    items_.push_back({lo, hi});
    normalized_ = false;
  }
  const std::vector<Interval<T>>& items() const {
    Normalize();
    return items_;
  }
  bool empty() const { return items().empty(); }
  T max() const { return max_; }

  IntervalSet Union(const IntervalSet& o) const {
    IntervalSet r = *this;
    for (const auto& i : o.items()) r.Add(i.lo, i.hi);
    return r;
  }
  IntervalSet Complement() const {
    IntervalSet r(max_);
    T next = 0;
    bool open = true;  // is [next, ...] still uncovered?
    for (const auto& i : items()) {
      if (i.lo > next) r.Add(next, i.lo - 1);
      if (i.hi == max_) {
        open = false;
        break;
      }
      next = i.hi + 1;
    }
    if (open) r.Add(next, max_);
    return r;
  }
  IntervalSet Intersect(const IntervalSet& o) const {
    IntervalSet r(max_);
    const auto& a = items();
    const auto& b = o.items();
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
      T lo = std::max(a[i].lo, b[j].lo);
      T hi = std::min(a[i].hi, b[j].hi);
      if (lo <= hi) r.Add(lo, hi);
      if (a[i].hi < b[j].hi) {
        ++i;
      } else {
        ++j;
      }
    }
    return r;
  }
  IntervalSet Subtract(const IntervalSet& o) const { return Intersect(o.Complement()); }
  bool Contains(T v) const {
    for (const auto& i : items())
      if (v >= i.lo && v <= i.hi) return true;
    return false;
  }

 private:
  void Normalize() const {
    if (normalized_) return;
    std::sort(items_.begin(), items_.end(),
              [](const Interval<T>& a, const Interval<T>& b) { return a.lo < b.lo; });
    std::vector<Interval<T>> merged;
    for (const auto& i : items_) {
      if (!merged.empty() && (merged.back().hi == max_ || i.lo <= merged.back().hi + 1)) {
        merged.back().hi = std::max(merged.back().hi, i.hi);
      } else {
        merged.push_back(i);
      }
    }
    items_.swap(merged);
    normalized_ = true;
  }

  T max_;
  mutable std::vector<Interval<T>> items_;
  mutable bool normalized_ = true;
};

using PortSet = IntervalSet<uint32_t>;  // [0, 65535]; also ICMP types and codes, protocols
inline PortSet AllPorts() { return PortSet::Full(65535); }

// An address set: one interval set per family.
class AddressSet {
 public:
  using Family = dp::classify::Family;
  using U128 = dp::classify::U128;

  AddressSet()
      : sets_{IntervalSet<U128>(dp::classify::MaxAddress(Family::kV4)),
              IntervalSet<U128>(dp::classify::MaxAddress(Family::kV6))} {}
  static AddressSet All() {
    AddressSet s;
    s.sets_[0] = IntervalSet<U128>::Full(dp::classify::MaxAddress(Family::kV4));
    s.sets_[1] = IntervalSet<U128>::Full(dp::classify::MaxAddress(Family::kV6));
    return s;
  }
  void Add(const dp::classify::Cidr& c) { of(c.addr.family).Add(c.First(), c.Last()); }
  void Add(const dp::classify::IpAddr& ip) { of(ip.family).Add(ip.bits, ip.bits); }

  const IntervalSet<U128>& of(Family f) const { return sets_[f == Family::kV4 ? 0 : 1]; }
  IntervalSet<U128>& of(Family f) { return sets_[f == Family::kV4 ? 0 : 1]; }
  bool empty() const { return sets_[0].empty() && sets_[1].empty(); }

  AddressSet Intersect(const AddressSet& o) const {
    return Combine(o, &IntervalSet<U128>::Intersect);
  }
  AddressSet Subtract(const AddressSet& o) const {
    return Combine(o, &IntervalSet<U128>::Subtract);
  }
  AddressSet Union(const AddressSet& o) const { return Combine(o, &IntervalSet<U128>::Union); }

 private:
  AddressSet Combine(const AddressSet& o,
                     IntervalSet<U128> (IntervalSet<U128>::*op)(const IntervalSet<U128>&)
                         const) const {
    AddressSet r;
    r.sets_[0] = (sets_[0].*op)(o.sets_[0]);
    r.sets_[1] = (sets_[1].*op)(o.sets_[1]);
    return r;
  }
  std::array<IntervalSet<U128>, 2> sets_;
};

}  // namespace tierwall::ctl::compiler
