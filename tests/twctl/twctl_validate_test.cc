// `twctl validate` as users run it (the real binary, real files), and the
// terminal-escape guard every twctl command prints through.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Result {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

Result RunTwctl(const std::string& args, const std::string& stdin_file = "") {
  const std::string err_file =
      std::filesystem::temp_directory_path() / ("twctl_validate_err." + std::to_string(getpid()));
  std::string cmd = std::string(TWCTL_PATH) + " " + args + " 2>" + err_file;
  if (!stdin_file.empty()) cmd += " <" + stdin_file;
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, "", ""};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_file);
  return r;
}

class TwctlValidate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("twctl_validate." + std::to_string(getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

const std::string kExamples = std::string(TIERWALL_SOURCE_ROOT) + "/examples/hipstershop";

const char kGood[] = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: app}\n";
const char kBadAction[] =
    "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: n}\n"
    "spec:\n  ingress: [{action: allow}]\n";
const char kBadHttp[] =
    "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\n"
    "spec:\n  ingress: [{action: Allow, protocol: TCP, http: {methods: [GET]}}]\n";

TEST_F(TwctlValidate, ValidFilesPrintNothingAndExitZero) {
  Result r = RunTwctl("validate -f " + kExamples + "/base -f " + kExamples + "/healthy -f " +
                      kExamples + "/broken -f " + kExamples + "/fix");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST_F(TwctlValidate, EveryProblemWithFileDocumentAndField) {
  std::string a = Write("a.yaml", std::string(kBadAction) + "---\n" + kGood + "---\n" + kBadHttp);
  std::string b = Write("b.yaml", std::string(kGood) + "---\n" + kBadAction);
  Result r = RunTwctl("validate -f " + a + " -f " + b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, a +
                       " doc 1: spec.ingress[0].action: \"allow\" is not a valid action (Allow, "
                       "Deny, Pass or Log, spelt exactly so)\n" +
                       a +
                       " doc 3: spec.ingress[0].http: not supported: HTTP match needs "
                       "Tierwall's L7 path, which does not exist yet; refused rather than "
                       "applied as a plain Allow for all traffic\n" +
                       b +
                       " doc 2: spec.ingress[0].action: \"allow\" is not a valid action "
                       "(Allow, Deny, Pass or Log, spelt exactly so)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(TwctlValidate, DirectoryAndStdin) {
  Write("x.yaml", kBadAction);
  Write("y.yml", kGood);
  Result dir = RunTwctl("validate -f " + dir_.string());
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_EQ(dir.out, (dir_ / "x.yaml").string() +
                         " doc 1: spec.ingress[0].action: \"allow\" is not a valid action "
                         "(Allow, Deny, Pass or Log, spelt exactly so)\n");
  std::string in = Write("in.txt", kBadHttp);
  Result stdin_result = RunTwctl("validate -f -", in);
  EXPECT_EQ(stdin_result.exit_code, 1);
  EXPECT_EQ(stdin_result.out.rfind("- doc 1: spec.ingress[0].http: not supported", 0), 0u)
      << stdin_result.out;
}

TEST_F(TwctlValidate, MissingFileIsUsageError) {
  Result r = RunTwctl("validate -f " + (dir_ / "nope.yaml").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no such file or directory"), std::string::npos) << r.err;
}

TEST_F(TwctlValidate, SyntaxErrorIsOneProblem) {
  std::string a = Write("s.yaml", "a: [\n");
  Result r = RunTwctl("validate -f " + a);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.rfind(a + ": line ", 0), 0u) << r.out;
}

// The attack: a file name and a resource name that carry terminal escape
// sequences (ESC [ 2 J clears the screen; U+009B is the one-byte CSI). twctl
// prints them escaped, never raw, on stdout and stderr alike.
TEST_F(TwctlValidate, ControlCharactersAreNeverPrintedRaw) {
  std::string bad_name =
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: "
      "\"evil\\u009b2Jset\"}\n";
  std::string path = Write("x\x1b[2J.yaml", bad_name);
  Result r = RunTwctl("validate -f '" + path + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x\\u001b[2J.yaml doc 1: metadata.name: \"evil\\u009b2Jset\": name must"),
            std::string::npos)
      << r.out;

  Result missing = RunTwctl("validate -f '" + (dir_ / "gone\x1b]0;pwned\x07").string() + "'");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err.find('\x1b'), std::string::npos) << missing.err;
  EXPECT_EQ(missing.err.find('\x07'), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("gone\\u001b]0;pwned\\u0007"), std::string::npos) << missing.err;
}

}  // namespace
