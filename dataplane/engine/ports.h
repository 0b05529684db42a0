// Port set-up: every DPDK port the EAL found (PCI NIC, net_pcap,
// net_af_packet, net_null, net_ring), configured for N workers.
//
// A port with enough RX queues gets one per worker, with RSS on a symmetric
// key where it supports RSS (both directions of a flow hash to the same
// worker, so its flow table sees both); one with a single queue is polled by
// worker 0 only. Every worker gets its own TX queue on every
// port where it may transmit, so transmission needs no lock: in bridge mode
// any worker may send anywhere, so the worker count is capped by the port with
// the fewest TX queues; in wire mode a single-queue pair belongs to one worker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace tierwall::dp::engine {

struct PortInfo {
  uint16_t id = 0;
  std::string name;
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
};

// The name each port goes by for endpoints (an endpoint whose interfaceName
// equals it lives there), by port id: `--port-name PORT=NAME` overrides
// (PORT: the port id or its DPDK name), else the `iface=` of a net_af_packet
// port (the interface it bridges), else the DPDK device name (net_pcap0).
// Fails on an unknown PORT or two ports with one name.
bool PortNames(const std::vector<std::string>& overrides, std::vector<std::string>* names,
               std::string* error);
// `--source-check PORT=on|off` (PORT: id, DPDK name or port name) -> a flag
// per port id, on unless turned off.
bool SourceCheckFlags(const std::vector<std::string>& specs, const std::vector<std::string>& names,
                      std::vector<uint8_t>* flags, std::string* error);

// How many workers the ports can serve (<= wanted), or 0 with *error.
uint16_t MaxWorkersForPorts(uint16_t wanted, bool wire, std::string* error);

// Configures (does not start) every port for `workers` workers.
bool ConfigurePorts(uint16_t workers, rte_mempool* pool, std::vector<PortInfo>* ports,
                    std::string* error);
bool StartPorts(const std::vector<PortInfo>& ports, std::string* error);
// Stops and closes every port (net_pcap flushes its output file on close).
void StopPorts(const std::vector<PortInfo>& ports);

}  // namespace tierwall::dp::engine
