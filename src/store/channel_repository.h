// File: channel_repository.h
// The tenants' business numbers on the Cloud API (docs/messaging.md#channels).
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {

// A business phone number on the Cloud API, owned by one tenant.
struct Channel {
  std::string id;                    // "chn_" + 24 hex
  std::string tenant_id;
  std::string phone_number_id;       // Meta's numeric id; unique across tenants
  std::string waba_id;
  std::string display_phone_number;  // the business's number (not personal data)
  std::string graph_base_url;        // "https://graph.facebook.com" or the sandbox
  std::string graph_version;         // "v23.0"
  std::string access_token_sealed;   // Meta token, sealed
  std::string app_secret_sealed;     // verifies inbound webhooks, sealed
  std::string verify_token_sealed;   // the GET handshake token, sealed
  // The app secret replaced last, sealed ("" when none), and until when
  // webhooks signed with it are still accepted (SEC-03).
  std::string previous_app_secret_sealed;
  int64_t previous_app_secret_until_ms = 0;
  int64_t throughput_per_second = 80;
  std::string paused_reason;         // "" while active, e.g. "token_invalid"
  int64_t created_at_ms = 0;
};

class ChannelRepository {
 public:
  virtual ~ChannelRepository() = default;
  // kAlreadyExists "conflict" when the phone_number_id is taken.
  virtual Status InsertChannel(const Channel& channel) = 0;
  virtual Result<Channel> GetChannel(const std::string& tenant_id, const std::string& id) = 0;
  // Any tenant: only for routing inbound webhooks.
  virtual Result<Channel> FindChannel(const std::string& id) = 0;
  virtual Result<Channel> FindChannelByPhoneNumberId(const std::string& phone_number_id) = 0;
  virtual Result<std::vector<Channel>> ListChannels(const std::string& tenant_id) = 0;
  // Every channel of every tenant (the dispatcher's view).
  virtual Result<std::vector<Channel>> AllChannels() = 0;
  virtual Status SetChannelPaused(const std::string& id, const std::string& reason) = 0;
  // Writes the endpoint, throughput and sealed secrets of `channel` (by tenant and id).
  virtual Status UpdateChannel(const Channel& channel) = 0;
};

}  // namespace cs
