// File: sandbox.h
// `consentry sandbox`: a local WhatsApp Cloud API (docs/sandbox.md). A real
// HTTP server that speaks the Graph API wire format of
// ../shared/spec/whatsapp-cloud-api.md §8, so companies develop against
// Consentry without a Meta account, and the gateway's tests run against
// real sockets.
//
// What it reproduces: the bearer token check (190), validation of every
// message type with Meta's codes, wamid ids, a template registry
// (132001/132000/132015/132016), the 24-hour window (async 131047),
// marketing opt-out (async 131050), per-number throughput (130429) and the
// pair rate (131056), status webhooks sent → delivered → read with delays,
// drops, duplicates and reordering, signed with X-Hub-Signature-256 over the
// exact bytes and retried with decreasing frequency, simulated users sending
// any inbound message, and fault presets. Control endpoints live under
// /_sandbox/ (docs/sandbox.md).
//
// State is in memory: the sandbox is a simulator, and a restart is a useful
// fault to inject (sent messages are forgotten, as if Meta lost them).
//
// Thread-safety: Handle() is called from HTTP worker threads; the webhook
// emitter runs on its own thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "http/http.h"

namespace cs {

struct SandboxTemplate {
  std::string name;
  std::string language;          // "en_US"
  std::string category;          // MARKETING | UTILITY | AUTHENTICATION
  int body_parameters = 0;
  std::string status = "APPROVED";  // APPROVED | PAUSED | DISABLED
};

struct SandboxOptions {
  std::string access_token;            // the bearer token clients must send
  std::string app_secret;              // signs webhooks
  std::string webhook_url;             // where webhooks go; "" sends none
  std::string waba_id = "100000000000001";
  std::string phone_number_id = "100000000000002";
  std::string display_phone_number = "15550000000";
  int throughput_per_second = 80;      // 130429 above this, per number
  int pair_burst = 45;                 // 131056: burst per (number, user) …
  double pair_interval_seconds = 6;    // … refilled one per interval
  int status_delay_ms = 100;           // between sent, delivered and read
  double drop_rate = 0;                // share of status webhooks never sent
  double duplicate_rate = 0;           // share sent twice
  double reorder_rate = 0;             // share of messages whose statuses come in reverse
  bool read_receipts = true;
  bool include_conversation = false;   // false: v24+ behaviour (no `conversation`)
  int webhook_max_attempts = 12;       // per delivery, with growing delays
  int64_t webhook_retry_base_ms = 500;
  std::vector<SandboxTemplate> templates;  // empty: the built-in demo set
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  virtual HttpResponse Handle(const HttpRequest& request) = 0;
  // Starts and stops the webhook emitter thread.
  virtual void Start() = 0;
  virtual void Stop() = 0;
};

std::unique_ptr<Sandbox> CreateSandbox(SandboxOptions options, const Clock& clock);

// The built-in templates (docs/sandbox.md).
std::vector<SandboxTemplate> DemoTemplates();

}  // namespace cs
