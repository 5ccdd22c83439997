// OAuth 2.0 client credentials (oauth.h).
#include "auth/oauth.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace cs {

namespace {

std::string HashSecret(std::string_view secret) { return HexEncode(Sha256({"consentry-oauth-v1", secret})); }

bool SameHash(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status InvalidClient() {
  return Status(StatusCode::kUnauthenticated, "invalid_client", "client authentication failed");
}

Result<SecretString> NewSecret(Random& random, std::string_view prefix) {
  CS_ASSIGN_OR_RETURN(std::string raw, random.Bytes(32));
  return SecretString(std::string(prefix) + Base64UrlEncode(raw));
}

std::string ScopesJson(const std::vector<std::string>& scopes) {
  JsonWriter w;
  w.BeginObject().Key("scopes").BeginArray();
  for (const std::string& s : scopes) w.String(s);
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace

Result<CreatedClient> OAuthService::Create(const AuditActor& actor, const std::string& tenant_id,
                                           const std::string& name, const std::vector<std::string>& scopes) {
  CS_RETURN_IF_ERROR(ValidateName(name, "name"));
  CreatedClient out;
  OAuthClientRecord& c = out.client;
  CS_ASSIGN_OR_RETURN(c.scopes, NormalizeScopes(scopes));
  CS_ASSIGN_OR_RETURN(c.id, NewId(random_, "ocl", 12));
  c.tenant_id = tenant_id;
  c.name = name;
  c.created_at_ms = clock_.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(out.secret, NewSecret(random_, "ocs_"));
  c.secret_hash = HashSecret(InsecureSecretAccess::Get(out.secret));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.oauth().InsertClient(c));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "oauth.client_create",
                                         .resource = "oauth_client:" + c.id, .details = ScopesJson(c.scopes)});
  }));
  return out;
}

Result<std::vector<OAuthClientRecord>> OAuthService::List(const std::string& tenant_id) {
  return store_.oauth().ListClients(tenant_id);
}

Result<CreatedClient> OAuthService::RotateSecret(const AuditActor& actor, const std::string& tenant_id,
                                                 const std::string& id, int64_t overlap_ms) {
  if (overlap_ms < 0) overlap_ms = policy_.default_overlap_ms;
  if (overlap_ms > policy_.max_overlap_ms) {
    return InvalidArgument("invalid_overlap", "the overlap may be at most " +
                                                  std::to_string(policy_.max_overlap_ms / 1000) + " seconds");
  }
  CreatedClient out;
  CS_ASSIGN_OR_RETURN(out.secret, NewSecret(random_, "ocs_"));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(out.client, tx.oauth().GetClient(tenant_id, id));
    if (out.client.revoked_at_ms) return NotFound("no such client");
    // Never more than two live secrets: a second rotation ends the oldest at once.
    out.client.previous_secret_hash = overlap_ms > 0 ? out.client.secret_hash : "";
    out.client.previous_until_ms = overlap_ms > 0 ? clock_.NowUnixMillis() + overlap_ms : 0;
    out.client.secret_hash = HashSecret(InsecureSecretAccess::Get(out.secret));
    CS_RETURN_IF_ERROR(tx.oauth().UpdateClient(out.client));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "oauth.client_rotate",
                                         .resource = "oauth_client:" + id,
                                         .details = "{\"overlap_seconds\":" + std::to_string(overlap_ms / 1000) + "}"});
  }));
  return out;
}

Status OAuthService::Revoke(const AuditActor& actor, const std::string& tenant_id, const std::string& id) {
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(OAuthClientRecord c, tx.oauth().GetClient(tenant_id, id));
    if (c.revoked_at_ms) return NotFound("no such client");
    c.revoked_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.oauth().UpdateClient(c));
    CS_ASSIGN_OR_RETURN(int64_t ended, tx.oauth().DeleteTokensOf(id));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "oauth.client_revoke",
                                         .resource = "oauth_client:" + id,
                                         .details = "{\"tokens_ended\":" + std::to_string(ended) + "}"});
  });
}

Result<OAuthClientRecord> OAuthService::CheckClient(std::string_view client_id, const SecretString& secret) {
  if (client_id.rfind("ocl_", 0) != 0 || client_id.size() != 28) return InvalidClient();
  Result<OAuthClientRecord> c = store_.oauth().FindClient(std::string(client_id));
  // The hash is computed whatever happens: timing says nothing about which check failed.
  const std::string presented = HashSecret(InsecureSecretAccess::Get(secret));
  if (!c.ok()) return c.status().code() == StatusCode::kNotFound ? InvalidClient() : c.status();
  const bool current = SameHash(presented, c->secret_hash);
  const bool previous = SameHash(presented, c->previous_secret_hash) && clock_.NowUnixMillis() < c->previous_until_ms;
  if ((!current && !previous) || c->revoked_at_ms) return InvalidClient();
  return c;
}

Result<IssuedToken> OAuthService::IssueToken(std::string_view client_id, const SecretString& secret,
                                             const std::vector<std::string>& requested) {
  CS_ASSIGN_OR_RETURN(OAuthClientRecord c, CheckClient(client_id, secret));
  IssuedToken out;
  if (requested.empty()) {
    out.scopes = c.scopes;
  } else {
    for (const std::string& s : requested) {
      if (!std::binary_search(c.scopes.begin(), c.scopes.end(), s)) {
        return InvalidArgument("invalid_scope", "this client may not ask for the scope it asked for");
      }
      out.scopes.push_back(s);
    }
    std::sort(out.scopes.begin(), out.scopes.end());
    out.scopes.erase(std::unique(out.scopes.begin(), out.scopes.end()), out.scopes.end());
  }
  CS_ASSIGN_OR_RETURN(out.access_token, NewSecret(random_, "cst_"));
  out.expires_in_s = policy_.token_ttl_ms / 1000;
  const OAuthTokenRecord token{HashSecret(InsecureSecretAccess::Get(out.access_token)), c.tenant_id, c.id, out.scopes,
                               clock_.NowUnixMillis() + policy_.token_ttl_ms};
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.oauth().InsertToken(token));
    return ledger_.Record(tx, AuditEvent{.tenant_id = c.tenant_id,
                                         .actor = AuditActor{"integration", c.id, "oauth", ""},
                                         .action = "oauth.token", .resource = "oauth_client:" + c.id,
                                         .details = ScopesJson(out.scopes)});
  }));
  return out;
}

Status OAuthService::RevokeToken(std::string_view client_id, const SecretString& secret, const SecretString& token) {
  CS_ASSIGN_OR_RETURN(OAuthClientRecord c, CheckClient(client_id, secret));
  const std::string hash = HashSecret(InsecureSecretAccess::Get(token));
  Result<OAuthTokenRecord> t = store_.oauth().FindToken(hash);
  if (!t.ok() || t->client_id != c.id) return Status::Ok();  // RFC 7009 §2.2: nothing to say
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.oauth().DeleteToken(hash));
    return ledger_.Record(tx, AuditEvent{.tenant_id = c.tenant_id,
                                         .actor = AuditActor{"integration", c.id, "oauth", ""},
                                         .action = "oauth.token_revoke", .resource = "oauth_client:" + c.id});
  });
}

Result<Principal> OAuthService::Authenticate(std::string_view token) {
  const Status refused = Unauthenticated("missing, invalid, expired or revoked credentials");
  if (!IsAccessToken(token) || token.size() > 100) return refused;
  Result<OAuthTokenRecord> t = store_.oauth().FindToken(HashSecret(token));
  if (!t.ok()) return t.status().code() == StatusCode::kNotFound ? refused : t.status();
  if (t->expires_at_ms <= clock_.NowUnixMillis()) return refused;
  Principal p;
  p.tenant_id = t->tenant_id;
  p.key_id = t->client_id;
  p.scopes = t->scopes;
  p.expires_at_ms = t->expires_at_ms;
  return p;
}

}  // namespace cs
