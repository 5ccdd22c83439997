// The periodic jobs' scheduler (scheduler.h).
#include "server/scheduler.h"

#include <chrono>

namespace cs {

Scheduler::Scheduler(const Clock& clock, int64_t poll_ms) : clock_(clock), poll_ms_(poll_ms) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Every(std::string name, int64_t period_ms, std::function<void()> job, bool at_start) {
  std::lock_guard lock(run_mu_);
  Job j;
  j.name = std::move(name);
  j.period_ns = period_ms * 1'000'000;
  j.run = std::move(job);
  j.at_start = at_start;
  jobs_.push_back(std::move(j));
}

int Scheduler::RunDue() {
  std::lock_guard lock(run_mu_);
  const int64_t now = clock_.MonotonicNanos();
  if (!scheduled_) {
    for (Job& j : jobs_) j.next_ns = j.at_start ? now : now + j.period_ns;
    scheduled_ = true;
  }
  int ran = 0;
  for (Job& j : jobs_) {
    if (now < j.next_ns) continue;
    j.run();
    ++ran;
    // The next run one period after this one was due, never a burst to
    // catch up: a job late by several periods runs once.
    j.next_ns += j.period_ns;
    if (j.next_ns <= now) j.next_ns = now + j.period_ns;
  }
  return ran;
}

void Scheduler::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      RunDue();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stop_; });
    }
  });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cs
