// The rotating flow-log file: JSON lines, rotation order, file and directory
// modes, errors naming the path.
#include "control/flowlog/flow_log_writer.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/flowlog/temp_dir.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::FlowLogWriter;
using ctl::flowlog::FlowLogWriterOptions;
using ctl::flowlog::FlowRecord;
using ctl::flowlog::FromJsonLine;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

mode_t Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

FlowRecord Numbered(int i) {
  FlowRecord r;
  r.start_time = i;
  r.dest_port = 8080;
  r.proto = "tcp";
  return r;
}

TEST(FlowLogWriter, WritesJsonLinesWithPrivateModes) {
  TempDir tmp;
  const mode_t old_umask = ::umask(077);  // modes must not depend on the umask
  const std::string dir = tmp.path() + "/logs/flows";
  auto writer = FlowLogWriter::Open({.directory = dir});
  ::umask(old_umask);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write({Numbered(1), Numbered(2)}).ok());
  EXPECT_EQ((*writer)->path(), dir + "/flows.log");
  std::vector<std::string> lines = Lines(dir + "/flows.log");
  ASSERT_EQ(lines.size(), 2u);
  auto back = FromJsonLine(lines[1]);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->start_time, 2);
  EXPECT_EQ(Mode(dir), 0750u);
  EXPECT_EQ(Mode(dir + "/flows.log"), 0640u);
}

TEST(FlowLogWriter, RotatesAndKeepsMaxFiles) {
  TempDir tmp;
  const size_t line_bytes = ctl::flowlog::ToJsonLine(Numbered(10)).size() + 1;
  // Room for two lines per file, two rotated files kept.
  auto writer = FlowLogWriter::Open(
      {.directory = tmp.path(), .max_file_bytes = 2 * line_bytes, .max_files = 2});
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int i = 10; i < 17; ++i) ASSERT_TRUE((*writer)->Write({Numbered(i)}).ok());
  // 7 lines: [10 11] [12 13] [14 15] [16]; the oldest file was dropped.
  const std::string base = tmp.path() + "/flows.log";
  auto first_start = [](const std::string& path) {
    return FromJsonLine(Lines(path).at(0))->start_time;
  };
  EXPECT_EQ(Lines(base).size(), 1u);
  EXPECT_EQ(first_start(base), 16);
  EXPECT_EQ(first_start(base + ".1"), 14);
  EXPECT_EQ(first_start(base + ".2"), 12);
  EXPECT_FALSE(fs::exists(base + ".3"));
  EXPECT_EQ(Mode(base), 0640u);
  EXPECT_EQ(Mode(base + ".1"), 0640u);
}

TEST(FlowLogWriter, ReopensAppendingToExistingFile) {
  TempDir tmp;
  {
    auto w = FlowLogWriter::Open({.directory = tmp.path()});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write({Numbered(1)}).ok());
  }
  auto w = FlowLogWriter::Open({.directory = tmp.path()});
  ASSERT_TRUE(w.ok());
  EXPECT_GT((*w)->size(), 0u);
  ASSERT_TRUE((*w)->Write({Numbered(2)}).ok());
  EXPECT_EQ(Lines(tmp.path() + "/flows.log").size(), 2u);
}

TEST(FlowLogWriter, ErrorsNameThePath) {
  TempDir tmp;
  const std::string file = tmp.path() + "/not-a-dir";
  std::ofstream(file) << "x";
  auto w = FlowLogWriter::Open({.directory = file + "/sub"});
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr(file));
  EXPECT_FALSE(FlowLogWriter::Open({.directory = ""}).ok());
  EXPECT_FALSE(FlowLogWriter::Open({.directory = tmp.path(), .file_name = "a/b"}).ok());
}

}  // namespace
}  // namespace tierwall::test::flowlog
