#include "dataplane/engine/ports.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>

namespace tierwall::dp::engine {

namespace {

constexpr uint16_t kRxDescriptors = 512;
constexpr uint16_t kTxDescriptors = 512;

// A 40-byte key made of one repeated 16-bit pattern makes Toeplitz RSS
// symmetric: hash(src, dst) == hash(dst, src).
uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

std::string PortName(uint16_t port) {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port, name);
  return name;
}

}  // namespace

uint16_t MaxWorkersForPorts(uint16_t wanted, bool wire, std::string* error) {
  if (rte_eth_dev_count_avail() == 0) {
    *error = "no DPDK ports: give one with --vdev (net_pcap, net_af_packet, net_null) or a PCI device";
    return 0;
  }
  uint16_t workers = wanted;
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0) {
      *error = "cannot read device info of port " + PortName(port);
      return 0;
    }
    if (!wire) workers = std::min<uint16_t>(workers, std::max<uint16_t>(1, info.max_tx_queues));
  }
  return workers;
}

bool ConfigurePorts(uint16_t workers, rte_mempool* pool, std::vector<PortInfo>* ports,
                    std::string* error) {
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    rte_eth_dev_info info;
    rte_eth_dev_info_get(port, &info);
    PortInfo p;
    p.id = port;
    p.name = PortName(port);
    p.tx_queues = std::min<uint16_t>(workers, std::max<uint16_t>(1, info.max_tx_queues));
    // Several queues when the port has them: with RSS they share flows out by
    // a symmetric hash; without (net_pcap with one rx file per queue,
    // net_null) each queue is its own stream, as the vdev defines it.
    const bool multi = workers > 1 && info.max_rx_queues >= workers;
    const bool rss = multi && info.flow_type_rss_offloads != 0;
    p.rx_queues = multi ? workers : 1;

    rte_eth_conf conf{};
    if (rss) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = kSymmetricRssKey;
      conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(kSymmetricRssKey);
      conf.rx_adv_conf.rss_conf.rss_hf =
          (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    int rc = rte_eth_dev_configure(port, p.rx_queues, p.tx_queues, &conf);
    if (rc != 0) {
      *error = "cannot configure port " + p.name + ": " + rte_strerror(-rc);
      return false;
    }
    uint16_t rxd = kRxDescriptors, txd = kTxDescriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
    int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < p.rx_queues; ++q) {
      rc = rte_eth_rx_queue_setup(port, q, rxd, socket < 0 ? 0 : socket, nullptr, pool);
      if (rc != 0) {
        *error = "cannot set up RX queue " + std::to_string(q) + " of port " + p.name + ": " + rte_strerror(-rc);
        return false;
      }
    }
    for (uint16_t q = 0; q < p.tx_queues; ++q) {
      rc = rte_eth_tx_queue_setup(port, q, txd, socket < 0 ? 0 : socket, nullptr);
      if (rc != 0) {
        *error = "cannot set up TX queue " + std::to_string(q) + " of port " + p.name + ": " + rte_strerror(-rc);
        return false;
      }
    }
    ports->push_back(p);
  }
  return true;
}

bool StartPorts(const std::vector<PortInfo>& ports, std::string* error) {
  for (const PortInfo& p : ports) {
    int rc = rte_eth_dev_start(p.id);
    if (rc != 0) {
      *error = "cannot start port " + p.name + ": " + rte_strerror(-rc);
      return false;
    }
    rte_eth_promiscuous_enable(p.id);  // a bridge must see every station's frames
  }
  return true;
}

void StopPorts(const std::vector<PortInfo>& ports) {
  for (const PortInfo& p : ports) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
}

}  // namespace tierwall::dp::engine
