// File: dispatcher.h
// From queued messages to the provider (docs/messaging.md#dispatching):
// pacing, retries, the circuit breaker, the last consent check. The
// provider's wire is behind provider/provider.h (CHAN-07).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "audit/audit.h"
#include "consent/consent.h"
#include "env/env.h"
#include "messaging/channels.h"
#include "provider/provider.h"
#include "store/group_commit.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

struct DispatcherOptions {
  int threads = 2;
  int batch = 64;                     // jobs leased per round
  int64_t lease_ms = 60000;           // a crashed worker's jobs come back after this
  int64_t valid_for_ms = 24LL * 3600 * 1000;  // retryable failures stop, as "expired", after this
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 300000;
  int pair_burst = 45;                // per recipient, as Meta's pair rate (spec §5)
  double pair_interval_seconds = 6;
  int breaker_threshold = 5;          // consecutive 5xx that open a channel's circuit
  int64_t breaker_open_ms = 30000;
  int64_t http_timeout_ms = 15000;
  // One provider per worker (provider/provider.h); empty: Meta's Cloud API
  // with http_timeout_ms.
  ProviderFactory provider;
  int64_t idle_poll_ms = 50;
};

// Counters for metrics and tests.
struct DispatcherStats {
  std::atomic<int64_t> submitted{0};
  std::atomic<int64_t> retried{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> unknown{0};
  std::atomic<int64_t> paced{0};
  std::atomic<int64_t> consent_refused{0};
};

// Leases due jobs, paces each channel to its throughput and each recipient
// to the pair rate, sends, and records the outcome (docs/messaging.md):
// retries only what the retry table allows, never resends after an
// unknown outcome, pauses a channel on a bad token, opens a circuit breaker
// on 5xx storms.
class Dispatcher {
 public:
  // Each message with a purpose is checked against `consent` again just
  // before it is sent, and every send holds the subject's pass (CONS-04):
  // required, so no dispatcher runs without the last check.
  Dispatcher(Store& store, GroupCommitter& commits, TenantKeyring& keyring, ChannelService& channels,
             const AuditLedger& ledger, const Clock& clock, Random& random, ConsentService& consent,
             DispatcherOptions options, std::function<void(const std::string&)> alert);
  ~Dispatcher();  // stops
  void Start();
  void Stop();
  const DispatcherStats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DispatcherStats stats_;
};

}  // namespace cs
