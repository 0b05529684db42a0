// Server streams without a thread each: the pump that drives them, and the
// per-identity limit on how many a caller may hold open.
//
// Why: with gRPC's synchronous API every open stream (twctl flows --follow,
// counters --watch) holds one of the server's threads until the client goes
// away, so a few dozen idle streams from one token holder took every thread
// and every call, the local administrator's included, failed with
// RESOURCE_EXHAUSTED. Streaming RPCs are served with the callback API
// (grpc::ServerWriteReactor) instead: an open stream is a small object, and
// one pump thread looks at all of them every tick, starting a write when a
// stream has something to send and its previous write is done.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "control/auth/identity.h"

namespace tierwall::ctl::api {

struct StreamLimits {
  // Open streams one user may hold (the local admin is not limited); the
  // flag that sets it is named in the refusal.
  size_t per_user = 8;
  // Open streams in all, the local admin's excepted.
  size_t total = 256;
};

// Counts open streams per user. Thread-safe.
class StreamLimiter {
 public:
  explicit StreamLimiter(StreamLimits limits) : limits_(limits) {}

  // Releases its stream's place when destroyed.
  class Lease {
   public:
    Lease(StreamLimiter* owner, std::string user) : owner_(owner), user_(std::move(user)) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    StreamLimiter* owner_;
    std::string user_;
  };

  // A place for one more stream of `who`, or RESOURCE_EXHAUSTED naming the
  // user, the limit and the flag that sets it.
  absl::StatusOr<std::unique_ptr<Lease>> Acquire(const auth::Identity& who);
  size_t open(const std::string& user) const;

 private:
  void Release(const std::string& user);

  const StreamLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, size_t> open_;
  size_t total_ = 0;
};

// One stream the pump drives. Tick and Done are called on the pump's thread
// only; the stream must not be deleted by anyone else.
class PumpedStream {
 public:
  virtual ~PumpedStream() = default;
  // Starts a write if there is something to send and no write is in flight.
  virtual void Tick(std::chrono::steady_clock::time_point now) = 0;
  // True once gRPC has called OnDone: the pump then deletes the stream.
  virtual bool Done() const = 0;
};

class StreamPump {
 public:
  explicit StreamPump(std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  // Deletes every stream. The server must have been shut down (so every
  // stream is Done) before.
  ~StreamPump();
  StreamPump(const StreamPump&) = delete;
  StreamPump& operator=(const StreamPump&) = delete;

  // Takes ownership; the stream's first Tick comes within one tick.
  void Add(PumpedStream* stream);
  size_t size() const;

 private:
  void Run();

  const std::chrono::milliseconds tick_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<std::unique_ptr<PumpedStream>> streams_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace tierwall::ctl::api
