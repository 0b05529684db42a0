// What one API request may cost: its size, and how often one identity may
// write or validate; and how a request that does not parse is answered.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "control/auth/identity.h"
#include "grpcpp/support/server_interceptor.h"

namespace tierwall::ctl::api {

// The one request limit: the YAML of one call (all its documents together).
// It is the store's document limit (store::Options::max_document_bytes), so a
// request under it never meets a second, per-document limit further in.
inline constexpr size_t kMaxRequestBytes = size_t{1} << 20;
// gRPC's own receive limit: above kMaxRequestBytes, so that the services
// refuse a request over the limit with a message naming it; a message larger
// still is refused by gRPC itself ("Received message larger than max").
inline constexpr size_t kGrpcMaxReceiveBytes = 4 * kMaxRequestBytes;

// RESOURCE_EXHAUSTED naming the size and the limit when `bytes` is over it.
absl::Status CheckRequestSize(size_t bytes);

// A request whose message does not parse reaches no service: gRPC answers
// INTERNAL with an empty message (protobuf refuses a string field that is
// not valid UTF-8, and says nothing). This interceptor turns that answer into
// INVALID_ARGUMENT saying so. The services never answer INTERNAL without a
// message themselves.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeParseErrorInterceptorFactory();

// Token buckets per user: `burst` calls at once, refilled at `per_minute`.
// Thread-safe. The local administrator is never limited.
struct RateLimit {
  double per_minute = 0;  // 0: unlimited
  double burst = 0;       // 0: same as per_minute
};

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `what` names the calls ("writes"), `flag` the option that sets the rate;
  // both go into the refusal.
  RateLimiter(RateLimit limit, std::string what, std::string flag, Clock clock = nullptr);

  // OK and one token taken, or RESOURCE_EXHAUSTED naming user, rate and flag,
  // and when the next token comes.
  absl::Status Take(const auth::Identity& who);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
  };
  const RateLimit limit_;
  const std::string what_, flag_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace tierwall::ctl::api
