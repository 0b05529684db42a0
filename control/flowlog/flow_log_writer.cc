#include "control/flowlog/flow_log_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::flowlog {
namespace {

constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;

absl::Status Errno(const std::string& what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

std::string Rotated(const std::string& path, int n) { return absl::StrCat(path, ".", n); }

}  // namespace

FlowLogWriter::FlowLogWriter(FlowLogWriterOptions options) : options_(std::move(options)) {
  path_ = (std::filesystem::path(options_.directory) / options_.file_name).string();
}

FlowLogWriter::~FlowLogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::unique_ptr<FlowLogWriter>> FlowLogWriter::Open(FlowLogWriterOptions options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("flow log: no directory given");
  if (options.file_name.empty() || options.file_name.find('/') != std::string::npos)
    return absl::InvalidArgumentError(
        absl::StrCat("flow log: bad file name \"", options.file_name, "\""));
  if (options.max_files < 0)
    return absl::InvalidArgumentError("flow log: max_files must be 0 or more");
  std::error_code ec;
  const bool existed = std::filesystem::is_directory(options.directory, ec);
  if (!existed) {
    std::filesystem::create_directories(options.directory, ec);
    if (ec)
      return absl::InternalError(
          absl::StrCat("create directory ", options.directory, ": ", ec.message()));
    // create_directories honours the umask; set the mode we promise.
    if (::chmod(options.directory.c_str(), kDirMode) != 0)
      return Errno("chmod", options.directory, errno);
  }
  std::unique_ptr<FlowLogWriter> writer(new FlowLogWriter(std::move(options)));
  if (absl::Status s = writer->OpenFile(); !s.ok()) return s;
  return writer;
}

absl::Status FlowLogWriter::OpenFile() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd_ < 0) return Errno("open", path_, errno);
  if (::fchmod(fd_, kFileMode) != 0) return Errno("chmod", path_, errno);
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno("stat", path_, errno);
  size_ = static_cast<uint64_t>(st.st_size);
  return absl::OkStatus();
}

absl::Status FlowLogWriter::Rotate() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (options_.max_files == 0) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return Errno("remove", path_, errno);
    return OpenFile();
  }
  // Oldest first: .N is dropped, .N-1 becomes .N, ..., the live file .1.
  const std::string oldest = Rotated(path_, options_.max_files);
  if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) return Errno("remove", oldest, errno);
  for (int n = options_.max_files - 1; n >= 1; --n) {
    const std::string from = Rotated(path_, n);
    if (::rename(from.c_str(), Rotated(path_, n + 1).c_str()) != 0 && errno != ENOENT)
      return Errno("rename", from, errno);
  }
  if (::rename(path_.c_str(), Rotated(path_, 1).c_str()) != 0 && errno != ENOENT)
    return Errno("rename", path_, errno);
  return OpenFile();
}

absl::Status FlowLogWriter::WriteLine(const std::string& json_line) {
  if (fd_ < 0) {
    if (absl::Status s = OpenFile(); !s.ok()) return s;
  }
  std::string line = json_line + "\n";
  if (size_ > 0 && size_ + line.size() > options_.max_file_bytes) {
    if (absl::Status s = Rotate(); !s.ok()) return s;
  }
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path_, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FlowLogWriter::Write(const std::vector<FlowRecord>& records) {
  for (const FlowRecord& r : records) {
    if (absl::Status s = WriteLine(ToJsonLine(r)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tierwall::ctl::flowlog
