// AuditWriter: one thread commits queued events in batches and seals tree
// heads. Events stay queued until their batch commits; a failed commit is
// retried, never dropped.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "audit/audit.h"

namespace cs {

struct AuditWriter::State {
  State(Store& st, const AuditLedger& l, const AuditSigner& sg, const Clock& c, AuditWriterOptions o, std::string h)
      : store(st), ledger(l), signer(sg), clock(c), options(o), heads_file(std::move(h)),
        last_seal_ms(c.NowUnixMillis()) {}
  Store& store;
  const AuditLedger& ledger;
  const AuditSigner& signer;
  const Clock& clock;
  AuditWriterOptions options;
  std::string heads_file;

  std::mutex mu;
  std::condition_variable wake;      // the writer waits on it
  std::condition_variable progress;  // Flush() waits on it
  std::deque<AuditEvent> queue;      // guarded by mu
  uint64_t recorded = 0;             // guarded by mu: events accepted so far
  uint64_t settled = 0;              // guarded by mu: events committed so far
  Status last_error;                 // guarded by mu
  bool stopping = false;             // guarded by mu
  std::thread thread;
  int64_t last_seal_ms = 0;
  std::vector<TreeHead> unwritten_heads;  // writer thread only: heads not yet in the heads file
};

namespace {

// Appends pending heads to the heads file; whatever fails stays pending and
// is retried at the next seal, in order.
void WriteHeads(AuditWriter::State& s) {
  if (s.heads_file.empty()) {
    s.unwritten_heads.clear();
    return;
  }
  size_t written = 0;
  for (; written < s.unwritten_heads.size(); ++written) {
    Status st = AppendHeadToFile(s.heads_file, s.unwritten_heads[written]);
    if (!st.ok()) {
      if (s.options.on_error) s.options.on_error(st);
      break;
    }
  }
  s.unwritten_heads.erase(s.unwritten_heads.begin(), s.unwritten_heads.begin() + static_cast<long>(written));
}

}  // namespace

AuditWriter::AuditWriter(Store& store, const AuditLedger& ledger, const AuditSigner& signer, const Clock& clock,
                         AuditWriterOptions options, std::string heads_file)
    : state_(std::make_unique<State>(store, ledger, signer, clock, options, std::move(heads_file))) {
  state_->thread = std::thread([this] { Run(); });
}

AuditWriter::~AuditWriter() {
  Flush().IgnoreError();  // best effort; the thread retries until stopped
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
}

Status AuditWriter::Record(AuditEvent event) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->queue.size() >= state_->options.queue_capacity) {
      return Unavailable("audit_unavailable", "the audit ledger is not keeping up; retry later");
    }
    // AUD-07: while the ledger cannot commit (a full volume, a lost
    // database), what must be audited is refused, not done on the promise
    // of an entry that may never be written. The writer keeps retrying the
    // queued batch; its first success opens this again.
    if (!state_->last_error.ok()) {
      return Unavailable("audit_unavailable", "the audit ledger cannot be written; retry later");
    }
    state_->queue.push_back(std::move(event));
    ++state_->recorded;
  }
  state_->wake.notify_one();
  return Status::Ok();
}

Status AuditWriter::Flush() {
  std::unique_lock<std::mutex> lock(state_->mu);
  const uint64_t target = state_->recorded;
  state_->wake.notify_one();
  bool done = state_->progress.wait_for(lock, std::chrono::seconds(30), [&] { return state_->settled >= target; });
  if (!done) return Unavailable("audit_unavailable", "the audit ledger did not commit in time");
  return Status::Ok();
}

void AuditWriter::Run() {
  State& s = *state_;
  int64_t since_seal = 0;
  while (true) {
    std::vector<AuditEvent> batch;
    {
      std::unique_lock<std::mutex> lock(s.mu);
      // Wake at least once a second to seal on time even when idle.
      s.wake.wait_for(lock, std::chrono::seconds(1), [&] { return s.stopping || !s.queue.empty(); });
      if (s.stopping && s.queue.empty()) break;
      size_t n = std::min(s.queue.size(), s.options.max_batch);
      // Copied, not moved: the events stay queued (intact) until their batch commits.
      batch.assign(s.queue.begin(), s.queue.begin() + static_cast<long>(n));
    }
    if (!batch.empty()) {
      Status st = s.store.InTransaction([&](StoreTransaction& tx) { return s.ledger.Append(tx.audit(), batch); });
      std::lock_guard<std::mutex> lock(s.mu);
      if (st.ok()) {
        s.last_error = Status::Ok();
        s.queue.erase(s.queue.begin(), s.queue.begin() + static_cast<long>(batch.size()));
        s.settled += batch.size();
        since_seal += static_cast<int64_t>(batch.size());
      } else {
        s.last_error = st;
        if (s.options.on_error) s.options.on_error(st);
        if (s.stopping) break;  // cannot commit and asked to stop: give up, the queue is lost with the process
      }
      s.progress.notify_all();
      if (!st.ok()) {
        // Back off before retrying the same batch.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    const int64_t now = s.clock.NowUnixMillis();
    if (since_seal >= s.options.seal_every_entries || now - s.last_seal_ms >= s.options.seal_interval_ms) {
      auto head = SealLedger(s.store, s.signer, s.clock);
      if (head.ok()) {
        s.last_seal_ms = now;
        since_seal = 0;
        if (*head) s.unwritten_heads.push_back(std::move(**head));
      } else if (s.options.on_error) {
        s.options.on_error(head.status());
      }
      WriteHeads(s);
    }
  }
  // Seal whatever was committed, so a clean stop leaves a fully covered
  // (and indexed) ledger.
  auto head = SealLedger(s.store, s.signer, s.clock);
  if (head.ok() && *head) s.unwritten_heads.push_back(std::move(**head));
  WriteHeads(s);
  IndexLedger(s.store).status().IgnoreError();
}

}  // namespace cs
