// File: group_commit.h
// Group commit over a Store: many units of work, one fsync.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "common/status.h"
#include "store/store.h"

namespace cs {

// Group commit: runs units of work submitted by many threads in shared
// write transactions, one fsync for many units. Each unit runs in its own
// savepoint, so one unit's failure undoes only that unit; Run() returns
// once the transaction holding the unit is durable (or with the error that
// stopped it). Lets N concurrent requests cost one commit instead of N.
// Thread-safe; units must use only the StoreTransaction they are given.
class GroupCommitter {
 public:
  explicit GroupCommitter(Store& store, size_t max_batch = 512);
  ~GroupCommitter();  // Stop()
  // Finishes the units already queued (their callbacks included), then
  // refuses new ones (storage_unavailable). Call it before destroying what
  // queued units or callbacks use. Idempotent; not from a callback.
  void Stop();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;
  Status Run(const std::function<Status(StoreTransaction&)>& work);
  // Like Run, without waiting: `done` is called on the committer thread with
  // the unit's result once its batch committed (or failed). `done` must be
  // quick and must not wait on this committer (post the rest elsewhere).
  void Submit(std::function<Status(StoreTransaction&)> work, std::function<void(Status)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cs
