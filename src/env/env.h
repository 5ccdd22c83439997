// File: env.h
// The OS seam: time and randomness come into modules through these
// interfaces (leveldb's Env), so time-dependent rules (key expiry, rotation
// overlap, later the 24-hour window and retention) are tested with FakeClock.
//
// Thread-safety: every implementation here is safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace cs {

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns wall-clock time as unix milliseconds (UTC).
  virtual int64_t NowUnixMillis() const = 0;
  // Returns a monotonic reading in nanoseconds, for durations only.
  virtual int64_t MonotonicNanos() const = 0;
};

// Reads the system clocks.
class SystemClock final : public Clock {
 public:
  int64_t NowUnixMillis() const override;
  int64_t MonotonicNanos() const override;
};

// The system clock, shared by the process: for what has no clock injected
// because its time is only reported, never decided on (log timestamps, a
// child process's deadline). Everything that decides by time takes a Clock.
const Clock& RealClock();

// The wall clock as it read when this clock was made, carried forward by
// the monotonic clock: what the gateway decides by (F-19). A step of the
// system clock (an operator, NTP after a bad boot) neither stretches nor
// cuts a 24-hour window, a lease, a back-off, a retention period or a
// consent's lifetime, and timestamps keep their order. The step is
// reported by OffsetMillis() (the gateway alerts on it); a restart adopts
// the system clock's new reading. NTP's gradual corrections slew the
// monotonic clock too, so the two do not drift apart between steps.
class SteadyWallClock final : public Clock {
 public:
  explicit SteadyWallClock(const Clock& base)
      : base_(base), wall0_ms_(base.NowUnixMillis()), mono0_ns_(base.MonotonicNanos()) {}
  int64_t NowUnixMillis() const override { return wall0_ms_ + (base_.MonotonicNanos() - mono0_ns_) / 1'000'000; }
  int64_t MonotonicNanos() const override { return base_.MonotonicNanos(); }
  // How far the system's wall clock stands from this clock (+ ahead, − behind),
  // or 0 within `tolerance_ms` (the two are read a moment apart).
  int64_t OffsetMillis(int64_t tolerance_ms = 1000) const {
    const int64_t offset = base_.NowUnixMillis() - NowUnixMillis();
    return offset > tolerance_ms || offset < -tolerance_ms ? offset : 0;
  }

 private:
  const Clock& base_;
  const int64_t wall0_ms_;
  const int64_t mono0_ns_;
};

// A clock that moves only when told to. For tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_millis) : now_millis_(unix_millis) {}
  int64_t NowUnixMillis() const override { return now_millis_.load(); }
  int64_t MonotonicNanos() const override { return (now_millis_.load() - wall_jumps_millis_.load()) * 1'000'000; }
  // Time passes: both clocks move.
  void AdvanceMillis(int64_t millis) { now_millis_ += millis; }
  // The wall clock is set (NTP, an operator), forwards or backwards; the
  // monotonic clock does not move (F-19).
  void JumpWallMillis(int64_t millis) {
    wall_jumps_millis_ += millis;
    now_millis_ += millis;
  }

 private:
  std::atomic<int64_t> now_millis_;
  std::atomic<int64_t> wall_jumps_millis_{0};
};

class Random {
 public:
  virtual ~Random() = default;
  // Returns `n` bytes from a CSPRNG, or kInternal if the generator failed.
  virtual Result<std::string> Bytes(size_t n) = 0;
};

// OpenSSL's RAND_bytes (seeded from the OS). The only randomness used for
// secrets, ids and nonces; rand() and std::mt19937 are not used anywhere.
class CryptoRandom final : public Random {
 public:
  Result<std::string> Bytes(size_t n) override;
};

// Returns a fresh identifier "<prefix>_<hex of `random_bytes` random bytes>".
Result<std::string> NewId(Random& random, std::string_view prefix, size_t random_bytes);

// Returns "<prefix>_" + 24 hex characters, the same shape as NewId(…, 12):
// the first 12 are `now_ms` (big-endian), the rest 6 random bytes. For
// records written at a high rate: a primary key that grows with time is
// appended at the right edge of its index instead of dirtying a random page
// per insert. The id reveals its creation time, which the record holds anyway.
Result<std::string> NewTimeOrderedId(Random& random, std::string_view prefix, int64_t now_ms);

}  // namespace cs
