// The endpoint directory: who is behind an address, as flow logs name it.
#include "control/flowlog/endpoint_directory.h"

#include "gtest/gtest.h"
#include "tests/flowlog/fixtures.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::AggregatedName;
using ctl::flowlog::EndpointDirectory;
using ctl::flowlog::EndpointInfo;
using ctl::flowlog::IsPrivate;

TEST(AggregatedName, ReplicaSetPodsLoseTheirSuffix) {
  EXPECT_EQ(AggregatedName("frontend-7b8f6c9d5-4lq8z"), "frontend-7b8f6c9d5-*");
  EXPECT_EQ(AggregatedName("cart-service-6c8d7f9b4-abc12"), "cart-service-6c8d7f9b4-*");
  EXPECT_EQ(AggregatedName("redis"), "redis");
  EXPECT_EQ(AggregatedName("redis-abcde"), "redis-abcde");                    // no segment before
  EXPECT_EQ(AggregatedName("web-7b8f6c9d5-4LQ8Z"), "web-7b8f6c9d5-4LQ8Z");    // upper case
  EXPECT_EQ(AggregatedName("web-7b8f6c9d5-4lq8"), "web-7b8f6c9d5-4lq8");      // 4 chars
  EXPECT_EQ(AggregatedName("web-7b8f6c9d5-4lq8zz"), "web-7b8f6c9d5-4lq8zz");  // 6 chars
  EXPECT_EQ(AggregatedName("web--4lq8z"), "web--4lq8z");  // empty segment before
}

TEST(EndpointDirectory, WorkloadByAddress) {
  EndpointDirectory dir(Hipstershop());
  const EndpointInfo& fe = dir.Lookup(Ip("198.18.1.11"));
  EXPECT_EQ(fe.type, "wep");
  EXPECT_EQ(fe.name, "frontend-7b8f6c9d5-4lq8z");
  EXPECT_EQ(fe.name_aggr, "frontend-7b8f6c9d5-*");
  EXPECT_EQ(fe.namespace_, "hipstershop");
  EXPECT_EQ(fe.labels.at("app"), "frontend");
  const EndpointInfo& redis = dir.Lookup(Ip("198.18.1.14"));
  EXPECT_EQ(redis.name_aggr, "redis");
}

TEST(EndpointDirectory, HostEndpointBothFamilies) {
  EndpointDirectory dir(Hipstershop());
  for (const char* ip : {"10.0.0.1", "2001:db8::1"}) {
    const EndpointInfo& h = dir.Lookup(Ip(ip));
    EXPECT_EQ(h.type, "hep") << ip;
    EXPECT_EQ(h.name, "node1-eth0");
    EXPECT_EQ(h.name_aggr, "node1-eth0");
    EXPECT_EQ(h.namespace_, "-");
    EXPECT_EQ(h.labels.at("role"), "node");
  }
}

TEST(EndpointDirectory, NetworkSetsLongestPrefixWins) {
  EndpointDirectory dir(Hipstershop());
  const EndpointInfo& wide = dir.Lookup(Ip("203.1.2.3"));
  EXPECT_EQ(wide.type, "ns");
  EXPECT_EQ(wide.name, "cloud");
  EXPECT_EQ(wide.namespace_, "-");
  const EndpointInfo& narrow = dir.Lookup(Ip("203.0.113.5"));
  EXPECT_EQ(narrow.name, "payments-api");
  EXPECT_EQ(narrow.name_aggr, "payments-api");
  EXPECT_EQ(narrow.labels.at("kind"), "partner");
  const EndpointInfo& office = dir.Lookup(Ip("203.0.113.200"));
  EXPECT_EQ(office.name, "office");
  EXPECT_EQ(office.namespace_, "hipstershop");
  EXPECT_EQ(dir.Lookup(Ip("2001:db8:1::42")).name, "payments-api");
  // Families never mix: 2001:db8:1:: is not inside 203.0.0.0/8's integers' set.
  EXPECT_EQ(dir.Lookup(Ip("::cb00:0001")).type, "net");
}

TEST(EndpointDirectory, UnknownAddressesArePubOrPvt) {
  EndpointDirectory dir(Hipstershop());
  for (const char* ip : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
                         "127.0.0.1", "fd00::1", "fe80::1"}) {
    const EndpointInfo& info = dir.Lookup(Ip(ip));
    EXPECT_EQ(info.type, "net") << ip;
    EXPECT_EQ(info.name, "pvt") << ip;
    EXPECT_EQ(info.name_aggr, "pvt") << ip;
    EXPECT_EQ(info.namespace_, "-") << ip;
  }
  for (const char* ip : {"8.8.8.8", "172.32.0.1", "198.18.9.9", "100.128.0.1", "2001:4860::8888"}) {
    EXPECT_EQ(dir.Lookup(Ip(ip)).name, "pub") << ip;
    EXPECT_TRUE(!IsPrivate(Ip(ip))) << ip;
  }
  EndpointDirectory empty;
  EXPECT_EQ(empty.Lookup(Ip("198.18.1.11")).name, "pub");
}

}  // namespace
}  // namespace tierwall::test::flowlog
