// Publisher: the one path from resources to the program every worker runs,
// shared by start-up, SIGHUP reloads, the test hook and API commits.
//
// "Acknowledged means enforced": Validate is what the API checks before a
// change is committed (the state loads, compiles, and its rules get counter
// slots next to the running program), so a committed change always
// publishes; Publish returns a generation only once every worker runs it
// (the sink, ProgramSlot::Publish, returns after the grace period), and an
// error otherwise, which the API returns instead of OK.
//
// Publications are serialised (generations strictly increase) and each one
// runs, in order: load, compile as generation + 1, assign counter slots
// (zeroing reused ones), hand the resources to `on_resources` (flow-log
// endpoint names), retire the slots the new program no longer uses, sink.
// On any error before the sink the running program stays and nothing
// changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/model/resources.h"
#include "control/tierwalld/counter_slots.h"
#include "dataplane/classify/program.h"

namespace tierwall::ctl::daemon {

class Publisher {
 public:
  // Hands a program to the workers and returns once every worker runs it.
  using Sink = std::function<void(std::unique_ptr<dp::classify::Program>)>;
  using Load = std::function<absl::Status(model::ResourceSet*)>;

  // `port_names` (by port id) place endpoints on ports by interfaceName, for
  // source-address validation (compiler::CompileOptions::port_names).
  Publisher(CounterSlots* slots, Sink sink,
            std::function<void(const model::ResourceSet&)> on_resources = {},
            std::vector<std::string> port_names = {});

  // Whether the state `yaml` (every resource, multi-document) could be
  // published next: loader, compiler and counter-slot errors as they are.
  absl::Status Validate(const std::string& yaml) const;
  // Publishes the resources `load` fills as the next generation; returns it.
  absl::StatusOr<uint64_t> Publish(const Load& load);
  // The generation running now (0 before the first publication).
  uint64_t generation() const { return generation_.load(); }

 private:
  CounterSlots* slots_;
  Sink sink_;
  std::function<void(const model::ResourceSet&)> on_resources_;
  std::vector<std::string> port_names_;
  mutable std::mutex mu_;  // one publication (or validation against it) at a time
  std::atomic<uint64_t> generation_{0};
};

// Load functions for Publish.
Publisher::Load LoadYaml(std::string yaml, std::string source);
Publisher::Load LoadFiles(std::vector<std::string> paths);

}  // namespace tierwall::ctl::daemon
