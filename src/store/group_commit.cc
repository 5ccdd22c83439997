// GroupCommitter (store.h): one committer thread, units queued by callers.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "store/group_commit.h"

namespace cs {

namespace {

struct Unit {
  const std::function<Status(StoreTransaction&)>* work = nullptr;
  Status result;
  bool done = false;
  // One per caller: waking only the callers of a finished batch, not every
  // waiting thread, matters when dozens of requests wait on one core.
  std::condition_variable cv;
  // Submit(): the unit owns its work, and nobody waits on cv.
  std::function<Status(StoreTransaction&)> owned_work;
  std::function<void(Status)> callback;
};

}  // namespace

struct GroupCommitter::Impl {
  Store& store;
  size_t max_batch;
  std::mutex mu;
  std::condition_variable wake_committer;
  std::deque<Unit*> queue;  // guarded by mu; submitted units are owned by the queue, then by Loop
  bool stopping = false;    // guarded by mu
  std::thread thread;

  Impl(Store& s, size_t max) : store(s), max_batch(max) { thread = std::thread([this] { Loop(); }); }

  void Loop() {
    std::vector<Unit*> batch;
    std::vector<std::unique_ptr<Unit>> submitted;  // owned here until answered
    std::vector<bool> is_submitted;                 // per batch entry
    std::unique_lock lock(mu);
    while (true) {
      wake_committer.wait(lock, [this] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) return;
      batch.clear();
      is_submitted.clear();
      while (!queue.empty() && batch.size() < max_batch) {
        batch.push_back(queue.front());
        is_submitted.push_back(batch.back()->callback != nullptr);
        if (is_submitted.back()) submitted.emplace_back(batch.back());
        queue.pop_front();
      }
      lock.unlock();
      Status committed = store.InTransaction([&](StoreTransaction& tx) -> Status {
        for (Unit* u : batch) {
          u->result = tx.Savepoint(*u->work);
          // A unit whose error made the backend drop the whole transaction
          // (disk full, I/O error) fails the batch: nothing of it committed.
          if (!tx.StillOpen()) return u->result.ok() ? Unavailable("storage_unavailable", "transaction lost") : u->result;
        }
        return Status::Ok();
      });
      // Submitted units are answered outside the lock (their callbacks may
      // take it to submit more), then freed; waiting callers are woken under it.
      for (const std::unique_ptr<Unit>& u : submitted) {
        try {
          u->callback(committed.ok() ? u->result : committed);
        } catch (...) {
          // Callbacks only hand the result on; one that throws must not stop every later commit.
        }
      }
      submitted.clear();
      lock.lock();
      for (size_t i = 0; i < batch.size(); ++i) {
        Unit* u = batch[i];
        if (is_submitted[i]) continue;  // answered above, and freed
        // A failed commit undoes every unit of the batch: each caller gets that error.
        if (!committed.ok()) u->result = committed;
        u->done = true;
        u->cv.notify_one();
      }
    }
  }
};

GroupCommitter::GroupCommitter(Store& store, size_t max_batch)
    : impl_(std::make_unique<Impl>(store, std::max<size_t>(1, max_batch))) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake_committer.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Status GroupCommitter::Run(const std::function<Status(StoreTransaction&)>& work) {
  Unit unit;
  unit.work = &work;
  std::unique_lock lock(impl_->mu);
  if (impl_->stopping) return Unavailable("storage_unavailable", "the store is shutting down");
  impl_->queue.push_back(&unit);
  impl_->wake_committer.notify_one();
  unit.cv.wait(lock, [&] { return unit.done; });
  return unit.result;
}

void GroupCommitter::Submit(std::function<Status(StoreTransaction&)> work, std::function<void(Status)> done) {
  auto unit = std::make_unique<Unit>();
  unit->owned_work = std::move(work);
  unit->work = &unit->owned_work;
  unit->callback = done ? std::move(done) : [](Status) {};
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping) {
      impl_->queue.push_back(unit.release());  // Loop takes ownership
      impl_->wake_committer.notify_one();
      return;
    }
  }
  unit->callback(Unavailable("storage_unavailable", "the store is shutting down"));
}

}  // namespace cs
