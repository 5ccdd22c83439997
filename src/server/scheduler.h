// File: scheduler.h
// The gateway's periodic jobs (purges, erasure resumption, metrics feeds,
// the audit flush) on one thread, timed by the injected clock's monotonic
// reading: a wall-clock jump neither skips nor repeats a job (F-19), and
// tests drive them with a FakeClock through RunDue().
//
// Thread-safety: Every() before Start(); the rest from any thread. A job
// runs on the scheduler's thread, one at a time; a slow job delays the others.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "env/env.h"

namespace cs {

class Scheduler {
 public:
  // `poll_ms` is how often the thread looks for due jobs (real time).
  explicit Scheduler(const Clock& clock, int64_t poll_ms = 200);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Adds a job run every `period_ms`: first at the first look after Start()
  // when `at_start`, otherwise one period after it.
  void Every(std::string name, int64_t period_ms, std::function<void()> job, bool at_start = false);
  void Start();
  // Waits for a running job to end; no job runs after it returns.
  void Stop();
  // Runs every job that is due at the clock's reading now, on the calling
  // thread; returns how many ran. What the thread does at each look.
  int RunDue();

 private:
  struct Job {
    std::string name;
    int64_t period_ns = 0;
    std::function<void()> run;
    int64_t next_ns = 0;
    bool at_start = false;
  };
  const Clock& clock_;
  const int64_t poll_ms_;
  std::mutex run_mu_;        // one RunDue at a time
  std::vector<Job> jobs_;    // guarded by run_mu_
  bool scheduled_ = false;   // guarded by run_mu_: next_ns set from the first reading
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;        // guarded by mu_
  std::thread thread_;
};

}  // namespace cs
