// Flow records as JSON lines in a rotating file, the way Calico Enterprise's
// fluentd input expects them: DIR/flows.log, rotated to flows.log.1 (newest)
// ... flows.log.N (oldest, then deleted).
//
// The directory is created 0750 and files 0640 whatever the umask: flow logs
// name every workload and address, so they are not world-readable. Errors are
// absl::Status values naming the path. Not thread-safe: one writer (the
// control thread, after each Flush).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/flowlog/flow_record.h"

namespace tierwall::ctl::flowlog {

struct FlowLogWriterOptions {
  std::string directory;
  std::string file_name = "flows.log";
  uint64_t max_file_bytes = 100ull << 20;  // rotate before a line would pass this
  int max_files = 5;                       // rotated files kept besides the live one
};

class FlowLogWriter {
 public:
  static absl::StatusOr<std::unique_ptr<FlowLogWriter>> Open(FlowLogWriterOptions options);
  ~FlowLogWriter();
  FlowLogWriter(const FlowLogWriter&) = delete;
  FlowLogWriter& operator=(const FlowLogWriter&) = delete;

  // Appends one line per record; rotates first when a line would not fit
  // (a single line longer than max_file_bytes gets a file of its own).
  absl::Status Write(const std::vector<FlowRecord>& records);
  absl::Status WriteLine(const std::string& json_line);

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

 private:
  explicit FlowLogWriter(FlowLogWriterOptions options);
  absl::Status OpenFile();
  absl::Status Rotate();

  FlowLogWriterOptions options_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace tierwall::ctl::flowlog
