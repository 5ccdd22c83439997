// File: channels.h
// WhatsApp channels (docs/messaging.md#channels): one business number each,
// its endpoint and throughput, its secrets sealed under the tenant's key.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "audit/audit.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

struct ChannelSpec {
  std::string tenant_id;
  std::string phone_number_id;
  std::string waba_id;
  std::string display_phone_number;
  std::string graph_base_url = "https://graph.facebook.com";
  std::string graph_version = "v23.0";
  SecretString access_token;
  SecretString app_secret;
  SecretString verify_token;
  int64_t throughput_per_second = 80;
  // Update only: how long webhooks signed with the app secret being
  // replaced are still accepted (SEC-03; Meta may retry deliveries signed
  // before the change). 0 ends the old secret at once.
  int64_t app_secret_overlap_seconds = 86400;
};

struct ChannelSecrets {
  SecretString access_token;
  SecretString app_secret;
  SecretString verify_token;
  std::optional<SecretString> previous_app_secret;  // while its overlap lasts
  int64_t previous_app_secret_until_ms = 0;
  // The sealed forms these were opened from: a change by another process
  // shows as a different blob, and the cache entry is dropped.
  std::string sealed_fingerprint;
};

class ChannelService {
 public:
  ChannelService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock, Random& random)
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random) {}

  // Creates a channel with its secrets sealed, and its audit entry.
  // invalid_argument for a bad field; conflict when the number is taken.
  Result<Channel> Create(const AuditActor& actor, const ChannelSpec& spec);
  // Replaces the endpoint, throughput and secrets of an existing channel
  // (the number and account stay), with an audit entry.
  Result<Channel> Update(const AuditActor& actor, const std::string& channel_id, const ChannelSpec& spec);
  // Opens a channel's secrets (cached per channel, until the stored sealed
  // forms change).
  Result<std::shared_ptr<const ChannelSecrets>> Secrets(const Channel& channel);
  // The tenant's channels; one of them (kNotFound for another tenant's).
  Result<std::vector<Channel>> List(const std::string& tenant_id) { return store_.channels().ListChannels(tenant_id); }
  Result<Channel> Get(const std::string& tenant_id, const std::string& channel_id) {
    return store_.channels().GetChannel(tenant_id, channel_id);
  }
  // Pauses (reason non-empty) or resumes a channel, with an audit entry.
  Status SetPaused(const AuditActor& actor, const Channel& channel, const std::string& reason);
  // Bumped by every change made through this service: a cache of channels
  // drops what it read before (a replaced app secret ends at once).
  uint64_t changes() const { return changes_.load(); }

 private:
  Status SealSecrets(Channel& channel, const ChannelSpec& spec);
  std::atomic<uint64_t> changes_{0};

  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ChannelSecrets>> secrets_;  // guarded by mu_
};

// Returns a channel as the JSON object of docs/api.md (never its secrets).
std::string ChannelJson(const Channel& channel);

// Pauses (reason non-empty) or resumes a channel with its audit entry, in
// one transaction. Needs no keys: an operator can stop a channel without
// the master key at hand.
Status SetChannelPaused(Store& store, const AuditLedger& ledger, const AuditActor& actor, const Channel& channel,
                        const std::string& reason);

}  // namespace cs
