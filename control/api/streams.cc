#include "control/api/streams.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::api {

StreamLimiter::Lease::~Lease() { owner_->Release(user_); }

absl::StatusOr<std::unique_ptr<StreamLimiter::Lease>> StreamLimiter::Acquire(
    const auth::Identity& who) {
  // The local administrator repairs things; its streams are not counted.
  if (who.IsLocalAdmin()) return std::make_unique<Lease>(this, "");
  std::lock_guard<std::mutex> lock(mu_);
  size_t& mine = open_[who.user];
  if (mine >= limits_.per_user) {
    return absl::ResourceExhaustedError(
        absl::StrCat("user \"", who.user, "\" already has ", mine,
                     " open streams, the limit per user (--api-max-streams-per-user ",
                     limits_.per_user, "); close one first"));
  }
  if (total_ >= limits_.total) {
    return absl::ResourceExhaustedError(absl::StrCat("the server has ", total_,
                                                     " open streams, its limit (--api-max-streams ",
                                                     limits_.total, "); try again later"));
  }
  ++mine;
  ++total_;
  return std::make_unique<Lease>(this, who.user);
}

void StreamLimiter::Release(const std::string& user) {
  if (user.empty()) return;  // the local admin's
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(user);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
  --total_;
}

size_t StreamLimiter::open(const std::string& user) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(user);
  return it == open_.end() ? 0 : it->second;
}

StreamPump::StreamPump(std::chrono::milliseconds tick) : tick_(tick) {
  thread_ = std::thread([this] { Run(); });
}

StreamPump::~StreamPump() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void StreamPump::Add(PumpedStream* stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.emplace_back(stream);
  }
  wake_.notify_all();  // a new stream's first message goes out at once
}

size_t StreamPump::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

void StreamPump::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    // Streams are deleted here only, so none goes away while it is ticked.
    // Tick only starts writes; their completions run on gRPC's threads and
    // never take mu_.
    for (size_t i = 0; i < streams_.size();) {
      if (streams_[i]->Done()) {
        streams_[i] = std::move(streams_.back());
        streams_.pop_back();
        continue;
      }
      streams_[i]->Tick(now);
      ++i;
    }
    wake_.wait_for(lock, tick_);
  }
}

}  // namespace tierwall::ctl::api
