// File: operator_repository.h
// People who work in a tenant (docs/operators.md): operators with their
// roles, password hash and sealed second factor; invitations; sessions;
// login throttles. Nothing here is a usable secret: passwords are argon2id
// hashes, session and invitation tokens and recovery codes SHA-256 hashes,
// the TOTP secret sealed under the tenant's key.
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

struct OperatorRecord {
  std::string id;                      // "opr_" + 24 hex
  std::string tenant_id;
  std::string login;                   // unique across the gateway (an e-mail address), lower case
  std::string display_name;
  std::vector<std::string> roles;      // sorted: agent, supervisor, dpo, auditor, admin
  std::string state = "invited";       // invited | active | disabled
  std::string password_hash;           // argon2id PHC string, "" until the invitation is accepted
  std::string totp_sealed;             // the TOTP secret sealed under the tenant key, "" until enrolled
  bool mfa_enrolled = false;           // the secret was confirmed by a code
  int64_t totp_last_step = 0;          // the last time step a code was accepted for (no replay)
  std::vector<std::string> recovery_hashes;  // SHA-256 (hex) of the unused recovery codes
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A one-time link to set a first password (S-07): only its hash is kept.
struct InvitationRecord {
  std::string token_hash;
  std::string tenant_id;
  std::string operator_id;
  int64_t expires_at_ms = 0;
};

// A login. The token's hash is the key; `stage` is "mfa" between the
// password and the second factor (good for nothing but that step), then
// "active".
struct SessionRecord {
  std::string id;              // "ses_" + 24 hex, shown to the operator to revoke it
  std::string token_hash;      // SHA-256 of the cookie's token
  std::string tenant_id;
  std::string operator_id;
  std::string stage = "mfa";
  int64_t created_at_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t expires_at_ms = 0;   // the absolute end
  int64_t verified_at_ms = 0;  // the last time the password or a code was given (re-authentication)
  std::string user_agent;      // as the browser named itself, cut to 200 characters
};

// Failed logins under one key ("account:<login>", "source:<address>", …).
struct LoginThrottleRecord {
  std::string key;
  int64_t failures = 0;
  int64_t window_start_ms = 0;  // the last failure: the count starts over after a quiet window
  int64_t blocked_until_ms = 0;
};

// Extra permissions for a time (SEC-10): given by a DPO with a reason, or
// taken by the operator themself in an emergency (break-glass, flagged for review).
struct GrantRecord {
  std::string id;                      // "grt_" + 24 hex
  std::string tenant_id;
  std::string operator_id;
  std::vector<std::string> permissions;  // sorted
  std::string reason_category;         // e.g. "customer_request", "incident", "legal"
  std::string reason_text;             // the operator's words, for the review (never in the audit)
  std::string granted_by;              // the granting operator's id, or the operator's own for break-glass
  bool break_glass = false;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::optional<int64_t> revoked_at_ms;
  std::optional<int64_t> last_used_ms;
  std::optional<int64_t> reviewed_at_ms;
  std::string reviewed_by;
};

class OperatorRepository {
 public:
  virtual ~OperatorRepository() = default;
  // kAlreadyExists "conflict" when the login is taken (in any tenant).
  virtual Status InsertOperator(const OperatorRecord& op) = 0;
  virtual Result<OperatorRecord> GetOperator(const std::string& tenant_id, const std::string& id) = 0;
  // Any tenant: only for logging in.
  virtual Result<OperatorRecord> FindOperatorByLogin(const std::string& login) = 0;
  virtual Result<std::vector<OperatorRecord>> ListOperators(const std::string& tenant_id) = 0;
  // Writes everything but id, tenant and login.
  virtual Status UpdateOperator(const OperatorRecord& op) = 0;
  // Sets the last accepted time step if `step` is later than the stored
  // one; false when it is not (a replayed code, also across processes).
  virtual Result<bool> AdvanceTotpStep(const std::string& tenant_id, const std::string& id, int64_t step) = 0;
  virtual Result<int64_t> CountOperators() = 0;

  virtual Status InsertInvitation(const InvitationRecord& invitation) = 0;
  virtual Result<InvitationRecord> FindInvitation(const std::string& token_hash) = 0;
  // Deletes and returns the invitation (one use), or kNotFound.
  virtual Result<InvitationRecord> TakeInvitation(const std::string& token_hash) = 0;
  virtual Status DeleteInvitationsOf(const std::string& tenant_id, const std::string& operator_id) = 0;

  virtual Status InsertSession(const SessionRecord& session) = 0;
  virtual Result<SessionRecord> FindSession(const std::string& token_hash) = 0;
  virtual Status TouchSession(const std::string& token_hash, int64_t last_seen_ms) = 0;
  virtual Status UpdateSession(const SessionRecord& session) = 0;
  virtual Result<std::vector<SessionRecord>> ListSessions(const std::string& tenant_id, const std::string& operator_id) = 0;
  // Deletes one session of the operator (by its public id); false when none.
  virtual Result<bool> DeleteSession(const std::string& tenant_id, const std::string& operator_id,
                                     const std::string& id) = 0;
  virtual Status DeleteSessionByToken(const std::string& token_hash) = 0;
  // Ends every session of the operator; returns how many.
  virtual Result<int64_t> DeleteSessionsOf(const std::string& tenant_id, const std::string& operator_id) = 0;
  // Forgets sessions ended before `now_ms` (idle or absolute).
  virtual Result<int64_t> PurgeSessions(int64_t now_ms, int64_t idle_ms) = 0;

  virtual Status InsertGrant(const GrantRecord& grant) = 0;
  virtual Result<GrantRecord> GetGrant(const std::string& tenant_id, const std::string& id) = 0;
  // The tenant's grants, newest first, at most `limit`.
  virtual Result<std::vector<GrantRecord>> ListGrants(const std::string& tenant_id, int limit) = 0;
  // One operator's grants not revoked that ended after `since_ms` (live, or recently expired).
  virtual Result<std::vector<GrantRecord>> GrantsOf(const std::string& tenant_id, const std::string& operator_id,
                                                    int64_t since_ms) = 0;
  // Writes revoked_at, last_used, reviewed_at and reviewed_by.
  virtual Status UpdateGrant(const GrantRecord& grant) = 0;

  virtual Result<LoginThrottleRecord> GetThrottle(const std::string& key) = 0;
  virtual Status PutThrottle(const LoginThrottleRecord& throttle) = 0;
  virtual Status DeleteThrottle(const std::string& key) = 0;
};

}  // namespace cs
