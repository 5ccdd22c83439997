// File: oauth_repository.h
// OAuth 2.0 clients of integrations (client credentials, SEC-05) and the
// access tokens issued to them (docs/api.md#oauth-20-client-credentials).
// Secrets and tokens are kept as SHA-256 hashes only.
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

struct OAuthClientRecord {
  std::string id;                      // "ocl_" + 24 hex: the client_id
  std::string tenant_id;
  std::string name;
  std::vector<std::string> scopes;     // sorted: what its tokens may be given
  std::string secret_hash;
  std::string previous_secret_hash;    // "" when none: a rotated secret's overlap
  int64_t previous_until_ms = 0;
  std::optional<int64_t> revoked_at_ms;
  int64_t created_at_ms = 0;
};

struct OAuthTokenRecord {
  std::string token_hash;
  std::string tenant_id;
  std::string client_id;
  std::vector<std::string> scopes;     // sorted
  int64_t expires_at_ms = 0;
};

class OAuthRepository {
 public:
  virtual ~OAuthRepository() = default;
  virtual Status InsertClient(const OAuthClientRecord& client) = 0;
  virtual Result<OAuthClientRecord> GetClient(const std::string& tenant_id, const std::string& id) = 0;
  // Any tenant: only for the token endpoint.
  virtual Result<OAuthClientRecord> FindClient(const std::string& id) = 0;
  virtual Result<std::vector<OAuthClientRecord>> ListClients(const std::string& tenant_id) = 0;
  // Writes the secrets and the revocation.
  virtual Status UpdateClient(const OAuthClientRecord& client) = 0;
  virtual Status InsertToken(const OAuthTokenRecord& token) = 0;
  virtual Result<OAuthTokenRecord> FindToken(const std::string& token_hash) = 0;
  virtual Status DeleteToken(const std::string& token_hash) = 0;
  virtual Result<int64_t> DeleteTokensOf(const std::string& client_id) = 0;
  virtual Result<int64_t> PurgeTokens(int64_t now_ms) = 0;
};

}  // namespace cs
