// `twctl trace` as a user runs it: the real binary, real files, exit codes,
// the JSON shape the issue specifies, and errors that name the problem.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Result {
  int exit_code;
  std::string out;  // stdout and stderr together
};

Result RunTwctl(const std::string& args, const std::string& stdin_text = "") {
  std::string cmd = std::string(TWCTL_PATH) + " " + args + " 2>&1";
  if (!stdin_text.empty()) cmd = "printf '%s' '" + stdin_text + "' | " + cmd;
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

const std::string kExamples = std::string(TIERWALL_SOURCE_ROOT) + "/examples/hipstershop";
const std::string kHealthy = "-f " + kExamples + "/base -f " + kExamples + "/healthy";
const std::string kBroken = "-f " + kExamples + "/base -f " + kExamples + "/broken";

TEST(TwctlTrace, JsonHasTheSpecifiedShapeAndOrder) {
  Result r = RunTwctl("trace " + kHealthy +
                      " --src 198.18.1.10 --dst 198.18.1.11:8080 --proto tcp -o json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::ordered_json::parse(r.out);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"verdict", "source", "destination", "egress", "ingress"}));
  EXPECT_EQ(j["verdict"], "allow");
  EXPECT_EQ(j["source"]["endpoint"], "hipstershop/loadgenerator");
  EXPECT_EQ(j["destination"]["endpoint"], "hipstershop/frontend");
  EXPECT_EQ(j["ingress"]["enforced"].back(),
            "2|app-hipstershop|hipstershop/app-hipstershop.frontend|allow|0");
}

TEST(TwctlTrace, BrokenPolicyDeniesAtEndOfTierAndUnknownSourceIsNull) {
  Result r = RunTwctl("trace " + kBroken +
                      " --src 203.0.113.9 --dst 198.18.1.11:8080 --proto tcp -o json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "deny");
  EXPECT_TRUE(j["source"]["endpoint"].is_null());
  EXPECT_TRUE(j["egress"].is_null());
  EXPECT_EQ(j["ingress"]["enforced"].back(),
            "2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1");
}

TEST(TwctlTrace, TextOutputNamesTheDecidingPolicy) {
  Result r = RunTwctl("trace " + kBroken + " --src 198.18.1.10 --dst 198.18.1.11:8080 --proto tcp");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("verdict:     DENY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hipstershop/app-hipstershop.frontend"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("end of tier"), std::string::npos) << r.out;
}

TEST(TwctlTrace, ReadsResourcesFromStdin) {
  const std::string yaml =
      "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: a, namespace: "
      "ns}\n"
      "spec: {pod: a, ipNetworks: [198.18.5.1/32]}\n---\n"
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: deny-udp}\n"
      "spec: {selector: all(), egress: [{action: Deny, protocol: UDP}]}\n";
  Result r =
      RunTwctl("trace -f - --src 198.18.5.1:5000 --dst 198.19.0.1:53 --proto udp -o json", yaml);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "deny");
  EXPECT_EQ(j["egress"]["enforced"][0], "0|default|default.deny-udp|deny|0");
}

struct BadUsage {
  std::string args;
  std::string stdin_text;
  std::string message;
};

class TwctlTraceErrors : public ::testing::TestWithParam<BadUsage> {};

TEST_P(TwctlTraceErrors, ExitTwoWithAMessageNamingTheProblem) {
  Result r = RunTwctl(GetParam().args, GetParam().stdin_text);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(GetParam().message), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TwctlTraceErrors,
    ::testing::Values(
        BadUsage{"trace " + kHealthy + " --src 198.18.1.300 --dst 198.18.1.11 --proto tcp", "",
                 "\"198.18.1.300\" is not an IP address"},
        BadUsage{"trace " + kHealthy + " --src 198.18.1.10 --dst 198.18.1.11:99999 --proto tcp", "",
                 "is not a port number"},
        BadUsage{"trace " + kHealthy + " --src 198.18.1.10 --dst 2001:db8::1 --proto tcp", "",
                 "both be IPv4 or both IPv6"},
        BadUsage{"trace " + kHealthy + " --src 198.18.1.10 --dst 198.18.1.11 --proto bogus", "",
                 "--proto bogus"},
        BadUsage{"trace " + kHealthy + " --src 198.18.1.10 --dst 198.18.1.11:80 --proto icmp", "",
                 "ports need --proto tcp, udp or sctp"},
        BadUsage{"trace -f /nonexistent/file.yaml --src 198.18.1.10 --dst 198.18.1.11 --proto tcp",
                 "", "/nonexistent/file.yaml"},
        BadUsage{"trace -f " + kExamples + " --src 198.18.1.10 --dst 198.18.1.11 --proto tcp", "",
                 "is defined twice"},
        BadUsage{
            "trace -f - --src 198.18.1.10 --dst 198.18.1.11 --proto tcp",
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\n"
            "spec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: "
            "[\"80:70\"]}}]}\n",
            "spec.ingress[0].destination.ports[0]"},
        BadUsage{"trace " + kHealthy + " --dst 198.18.1.11", "", "--src is required"},
        // The API commands check their arguments before dialling the daemon.
        BadUsage{"flows --action maybe", "", "--action maybe: expected allow or deny"},
        BadUsage{"flows --port 70000", "", "--port 70000: expected 1-65535"},
        BadUsage{"flows --action deny --not", "", "--not must come before a filter"},
        BadUsage{"flows --frm x", "", "unknown filter --frm"},
        BadUsage{"flows --since 5x", "", "--since 5x"},
        BadUsage{"counters --since soon", "", "--since soon"},
        BadUsage{"graph -o png", "", "png"},
        BadUsage{"why --from a.b", "", "--to is required"},
        BadUsage{"get np x -o yml", "", "yml"},
        BadUsage{"delete", "", "give -f FILE or KIND NAME"},
        BadUsage{"apply -f /nonexistent.yaml", "", "/nonexistent.yaml: cannot read"}));

// Without -f the trace is live: no daemon at the address is a runtime error
// (exit 1) that says so, not a silent offline answer.
TEST(TwctlTraceLive, NoDaemonIsUnavailable) {
  Result r = RunTwctl(
      "trace --server unix:/nonexistent/tierwall.sock --src 198.18.1.10 --dst 198.18.1.11:8080",
      "");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("UNAVAILABLE"), std::string::npos) << r.out;
}

}  // namespace
