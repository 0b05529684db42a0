#include "dataplane/engine/ports.h"

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>

namespace tierwall::dp::engine {

namespace {

constexpr uint16_t kRxDescriptors = 512;
constexpr uint16_t kTxDescriptors = 512;

// A 40-byte key made of one repeated 16-bit pattern makes Toeplitz RSS
// symmetric: hash(src, dst) == hash(dst, src).
uint8_t kSymmetricRssKey[40] = {0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

std::string PortName(uint16_t port) {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port, name);
  return name;
}

// The iface= argument of a net_af_packet port, or "".
std::string AfPacketIface(uint16_t port) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port, &info) != 0 || info.device == nullptr) return "";
  const std::string name = PortName(port);
  if (name.rfind("net_af_packet", 0) != 0) return "";
  const rte_devargs* da = rte_dev_devargs(info.device);
  if (da == nullptr || da->args == nullptr) return "";
  const std::string args = da->args;
  for (size_t at = 0; at < args.size();) {
    size_t end = args.find(',', at);
    if (end == std::string::npos) end = args.size();
    if (args.compare(at, 6, "iface=") == 0) return args.substr(at + 6, end - at - 6);
    at = end + 1;
  }
  return "";
}

// A PORT of an option: the port id, its DPDK name or (when names is given)
// its port name. -1 when none matches.
int FindPort(const std::string& spec, const std::vector<std::string>* names) {
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    if (spec == std::to_string(port) || spec == PortName(port)) return port;
    if (names && port < names->size() && (*names)[port] == spec) return port;
  }
  return -1;
}

bool SplitSpec(const std::string& spec, const char* option, std::string* left, std::string* right,
               std::string* error) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    *error = std::string(option) + " \"" + spec + "\": want PORT=VALUE";
    return false;
  }
  *left = spec.substr(0, eq);
  *right = spec.substr(eq + 1);
  return true;
}

}  // namespace

bool PortNames(const std::vector<std::string>& overrides, std::vector<std::string>* names,
               std::string* error) {
  names->clear();
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    if (names->size() <= port) names->resize(port + 1);
    std::string iface = AfPacketIface(port);
    (*names)[port] = iface.empty() ? PortName(port) : iface;
  }
  for (const std::string& spec : overrides) {
    std::string which, name;
    if (!SplitSpec(spec, "--port-name", &which, &name, error)) return false;
    const int p = FindPort(which, nullptr);
    if (p < 0) {
      *error = "--port-name " + spec + ": no port " + which;
      return false;
    }
    (*names)[p] = name;
  }
  for (size_t a = 0; a < names->size(); ++a)
    for (size_t b = a + 1; b < names->size(); ++b)
      if (!(*names)[a].empty() && (*names)[a] == (*names)[b]) {
        *error = "ports " + std::to_string(a) + " and " + std::to_string(b) + " are both named \"" +
                 (*names)[a] + "\" (give --port-name)";
        return false;
      }
  return true;
}

bool SourceCheckFlags(const std::vector<std::string>& specs, const std::vector<std::string>& names,
                      std::vector<uint8_t>* flags, std::string* error) {
  flags->assign(names.size(), 1);
  for (const std::string& spec : specs) {
    std::string which, value;
    if (!SplitSpec(spec, "--source-check", &which, &value, error)) return false;
    const int p = FindPort(which, &names);
    if (p < 0) {
      *error = "--source-check " + spec + ": no port " + which;
      return false;
    }
    if (value != "on" && value != "off") {
      *error = "--source-check " + spec + ": want on or off";
      return false;
    }
    (*flags)[p] = value == "on";
  }
  return true;
}

uint16_t MaxWorkersForPorts(uint16_t wanted, bool wire, std::string* error) {
  if (rte_eth_dev_count_avail() == 0) {
    *error =
        "no DPDK ports: give one with --vdev (net_pcap, net_af_packet, net_null) or a PCI device";
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
        *error = "cannot set up RX queue " + std::to_string(q) + " of port " + p.name + ": " +
                 rte_strerror(-rc);
        return false;
      }
    }
    for (uint16_t q = 0; q < p.tx_queues; ++q) {
      rc = rte_eth_tx_queue_setup(port, q, txd, socket < 0 ? 0 : socket, nullptr);
      if (rc != 0) {
        *error = "cannot set up TX queue " + std::to_string(q) + " of port " + p.name + ": " +
                 rte_strerror(-rc);
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
