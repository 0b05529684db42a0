// Loading resources from YAML (files, directories, stdin).
//
// Accepts the schemas users already write for calicoctl and kubectl, several
// `---` documents per file, and `kind: List` / `*List` wrappers with `items`.
// Every error names the source, document and field path, for example
//   policies.yaml doc 3: spec.ingress[0].destination.ports[1]: "80:70" is not a valid port range
// Loading is all-or-nothing: on error `out` is left exactly as it was.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/model/resources.h"

namespace tierwall::ctl::model {

// Parses every document in `text`; `source_name` is used in error messages.
absl::Status ParseResources(std::string_view text, std::string_view source_name, ResourceSet* out);

// Every problem in `text`, one per document at fault (a YAML syntax error
// stops at the first), each as ParseResources would report it. Empty when
// ParseResources would succeed. Checks each document alone: references
// between resources (a policy's tier) are the compiler's.
std::vector<absl::Status> CheckResources(std::string_view text, std::string_view source_name);

// A file, a directory (every *.yaml, *.yml and *.json below it, in sorted
// path order) or "-" for standard input.
absl::Status LoadResources(const std::string& path, ResourceSet* out);

// The files LoadResources(path) reads, in order ("-" stays "-"), and one
// file's text: for callers that need the documents themselves (the daemon
// importing -f into its store).
absl::StatusOr<std::vector<std::string>> ResourceFiles(const std::string& path);
absl::StatusOr<std::string> ReadResourceFile(const std::string& file);

}  // namespace tierwall::ctl::model
