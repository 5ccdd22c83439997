// File: demo.h
// `serve --demo`: the demo tenant and its key, its purposes, templates and
// notice, and the Cloud API sandbox on its own listener wired to it through
// a channel (README, docs/sandbox.md). Nothing here runs without --demo.
//
// Thread-safety: DemoSandbox is started and stopped by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>

#include "auth/auth.h"
#include "common/status.h"
#include "env/env.h"
#include "http/http.h"
#include "sandbox/sandbox.h"
#include "server/server.h"

namespace cs {

// The tenant "demo" (made once) and a fresh 7-day key with every scope; the
// previous demo keys are revoked, so only the printed one works.
Result<IssuedKey> PrepareDemoTenant(AdminRuntime& rt);

// The demo tenant's purposes and the sandbox's templates, registered once,
// so the whole consent flow can be tried (docs/consent.md).
Status PrepareDemoConsent(MessagingRuntime& messaging, const std::string& tenant_id);

// The sandbox on `listen`, with a channel of the demo tenant pointing at it.
class DemoSandbox {
 public:
  ~DemoSandbox() { Stop(); }
  // Starts the sandbox, creates or updates its channel (secrets fresh each
  // start), prepares the demo's consent setup, and prints where it listens.
  Status Start(AdminRuntime& rt, MessagingRuntime& messaging, const std::string& tenant_id,
               const std::string& gateway_url, const std::string& listen, std::ostream& out,
               std::function<int64_t(std::string_view, std::string_view, bool)> large_body_limit,
               int64_t large_body_limit_max);
  void Stop();

 private:
  SystemClock clock_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace cs
