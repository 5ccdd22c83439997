// File: oauth.h
// OAuth 2.0 client credentials for integrations (RFC 6749 §4.4; SEC-05),
// beside API keys: a client (id and secret, rotated with an overlap,
// revocable) asks POST /oauth/token for a short-lived access token bound to
// scopes it registered. Tokens are opaque (random, kept as hashes), so a
// revocation takes effect on the next request, on every node.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "auth/auth.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"

namespace cs {

struct OAuthPolicy {
  int64_t token_ttl_ms = 15 * 60'000;            // an access token lives 15 minutes
  int64_t default_overlap_ms = 24 * 3'600'000;   // a rotated secret keeps working a day
  int64_t max_overlap_ms = 7 * 24 * 3'600'000;
};

struct CreatedClient {
  OAuthClientRecord client;
  SecretString secret;  // shown once
};

struct IssuedToken {
  SecretString access_token;  // "cst_…"
  int64_t expires_in_s = 0;
  std::vector<std::string> scopes;
};

class OAuthService {
 public:
  OAuthService(Store& store, const Clock& clock, Random& random, const AuditLedger& ledger, OAuthPolicy policy = {})
      : store_(store), clock_(clock), random_(random), ledger_(ledger), policy_(policy) {}

  // invalid_scope, invalid_name as for API keys.
  Result<CreatedClient> Create(const AuditActor& actor, const std::string& tenant_id, const std::string& name,
                               const std::vector<std::string>& scopes);
  Result<std::vector<OAuthClientRecord>> List(const std::string& tenant_id);
  // A new secret; the old one keeps working for `overlap_ms` (policy default when negative).
  Result<CreatedClient> RotateSecret(const AuditActor& actor, const std::string& tenant_id, const std::string& id,
                                     int64_t overlap_ms);
  // Ends the client and every token it holds, at once.
  Status Revoke(const AuditActor& actor, const std::string& tenant_id, const std::string& id);

  // The token endpoint. `requested` empty: every scope the client holds.
  // unauthenticated "invalid_client" (one answer for an unknown client, a
  // wrong secret, a revoked client); invalid_argument "invalid_scope".
  Result<IssuedToken> IssueToken(std::string_view client_id, const SecretString& secret,
                                 const std::vector<std::string>& requested);
  // RFC 7009: ends a token of this client; an unknown one is not an error.
  Status RevokeToken(std::string_view client_id, const SecretString& secret, const SecretString& token);
  // A bearer "cst_…" token to its principal (key_id is the client id), or
  // the uniform unauthenticated.
  Result<Principal> Authenticate(std::string_view token);

  static bool IsAccessToken(std::string_view token) { return token.rfind("cst_", 0) == 0; }

 private:
  Result<OAuthClientRecord> CheckClient(std::string_view client_id, const SecretString& secret);

  Store& store_;
  const Clock& clock_;
  Random& random_;
  const AuditLedger& ledger_;
  const OAuthPolicy policy_;
};

}  // namespace cs
