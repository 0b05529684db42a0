#include "control/api/request_limits.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/support/status.h"

namespace tierwall::ctl::api {

absl::Status CheckRequestSize(size_t bytes) {
  if (bytes <= kMaxRequestBytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat("request of ", bytes,
                                                   " bytes is over the API's request limit of ",
                                                   kMaxRequestBytes, " bytes (1 MiB): split it"));
}

namespace {

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL && status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "request does not parse: every string field must be valid UTF-8 (proto3 strings)"));
      }
    }
    methods->Proceed();
  }
};

class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new ParseErrorInterceptor();
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeParseErrorInterceptorFactory() {
  return std::make_unique<ParseErrorInterceptorFactory>();
}

RateLimiter::RateLimiter(RateLimit limit, std::string what, std::string flag, Clock clock)
    : limit_(limit), what_(std::move(what)), flag_(std::move(flag)), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

absl::Status RateLimiter::Take(const auth::Identity& who) {
  if (limit_.per_minute <= 0 || who.IsLocalAdmin()) return absl::OkStatus();
  const double burst = limit_.burst > 0 ? limit_.burst : limit_.per_minute;
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(who.user, Bucket{burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double minutes = std::chrono::duration<double, std::ratio<60>>(now - b.updated).count();
    b.tokens = std::min(burst, b.tokens + minutes * limit_.per_minute);
    b.updated = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return absl::OkStatus();
  }
  const double wait_s = std::ceil((1 - b.tokens) * 60 / limit_.per_minute);
  return absl::ResourceExhaustedError(
      absl::StrFormat("user \"%s\" is over the rate limit of %g %s per minute (%s); next in %gs",
                      who.user, limit_.per_minute, what_, flag_, wait_s));
}

}  // namespace tierwall::ctl::api
