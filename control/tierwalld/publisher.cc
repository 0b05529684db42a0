#include "control/tierwalld/publisher.h"

#include <utility>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"

namespace tierwall::ctl::daemon {

Publisher::Publisher(CounterSlots* slots, Sink sink,
                     std::function<void(const model::ResourceSet&)> on_resources,
                     std::vector<std::string> port_names)
    : slots_(slots),
      sink_(std::move(sink)),
      on_resources_(std::move(on_resources)),
      port_names_(std::move(port_names)) {}

absl::Status Publisher::Validate(const std::string& yaml) const {
  model::ResourceSet resources;
  if (auto s = model::ParseResources(yaml, "resources", &resources); !s.ok()) return s;
  compiler::CompileOptions options;
  options.port_names = port_names_;
  auto program = compiler::Compile(resources, options);
  if (!program.ok()) return program.status();
  std::lock_guard<std::mutex> lock(mu_);
  return slots_->CheckFits(**program);
}

absl::StatusOr<uint64_t> Publisher::Publish(const Load& load) {
  std::lock_guard<std::mutex> lock(mu_);
  model::ResourceSet resources;
  if (absl::Status s = load(&resources); !s.ok()) return s;
  compiler::CompileOptions options;
  options.generation = generation_.load() + 1;
  options.port_names = port_names_;
  auto program = compiler::Compile(resources, options);
  if (!program.ok()) return program.status();
  if (absl::Status s = slots_->Assign(program->get()); !s.ok()) return s;
  if (on_resources_) on_resources_(resources);
  // Retired slots are reused only by a later Assign, which runs after the
  // sink's grace period: no worker counts on them by then.
  slots_->Published(**program);
  sink_(std::move(*program));
  generation_.store(options.generation);
  return options.generation;
}

Publisher::Load LoadYaml(std::string yaml, std::string source) {
  return [yaml = std::move(yaml), source = std::move(source)](model::ResourceSet* out) {
    return model::ParseResources(yaml, source, out);
  };
}

Publisher::Load LoadFiles(std::vector<std::string> paths) {
  return [paths = std::move(paths)](model::ResourceSet* out) {
    for (const std::string& path : paths) {
      if (absl::Status s = model::LoadResources(path, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
}

}  // namespace tierwall::ctl::daemon
