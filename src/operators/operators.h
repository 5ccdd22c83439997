// File: operators.h
// The people who work in a tenant (docs/operators.md): operators with
// roles, invited by a one-time link, with an argon2id password and a
// mandatory TOTP second factor (SEC-07), and their sessions (SEC-08):
// random tokens kept only as hashes, ended after idle time or a total
// lifetime, on logout, on a password change, an MFA reset or when the
// operator is disabled. Every change and every login, failed or not, is
// audited.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "auth/passwords.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

// The built-in roles (SEC-06), each a set of permissions (the scopes API
// keys hold), written out in docs/operators.md#roles.
const std::vector<std::string>& KnownRoles();
// Sorted, de-duplicated; invalid_argument "invalid_role" naming an unknown one.
Result<std::vector<std::string>> NormalizeRoles(const std::vector<std::string>& roles);
// The sorted permissions the roles grant together.
std::vector<std::string> PermissionsOfRoles(const std::vector<std::string>& roles);

struct SessionPolicy {
  int64_t idle_ms = 15 * 60'000;           // SEC-08: ended after 15 minutes without a request
  int64_t absolute_ms = 8 * 3'600'000;     // and after 8 hours in all
  int64_t reauth_ms = 5 * 60'000;          // a sensitive action needs the password or a code this recent
  int64_t invitation_ms = 24 * 3'600'000;  // S-07: an invitation link works once, for at most a day
  int64_t mfa_step_ms = 5 * 60'000;        // between the password and the code
  // Failed logins (S-05): after `free_failures` under one key (a login
  // from one source, one source) without a quiet `window_ms` between them,
  // each further attempt waits twice as long as the last, from one second
  // up to `max_delay_ms`.
  int64_t free_failures = 5;
  int64_t account_free_failures = 50;  // for one login over all sources
  int64_t window_ms = 15 * 60'000;
  int64_t max_delay_ms = 15 * 60'000;
  PasswordRules password_rules;
  PasswordCost password_cost;
  int64_t grant_max_ms = 24 * 3'600'000;     // SEC-10: the longest a DPO's grant may last
  int64_t break_glass_ms = 3'600'000;        // an emergency access lasts an hour
};

// Extra permissions for a time, with a reason (SEC-10).
struct GrantSpec {
  std::string operator_id;
  std::vector<std::string> permissions;
  int64_t duration_ms = 0;
  std::string reason_category;  // customer_request | incident | legal_obligation | audit | support
  std::string reason_text;      // 10 to 500 characters, kept with the grant for its review
};

struct OperatorSpec {
  std::string tenant_id;
  std::string login;  // an e-mail address or a name; unique across the gateway
  std::string display_name;
  std::vector<std::string> roles;
};

// A new operator, or a reset one, and the link to set a password.
struct Invitation {
  OperatorRecord op;
  SecretString token;  // shown once; the gateway keeps its hash
  int64_t expires_at_ms = 0;
};

// Scanning the QR code (or typing the secret) enrols the authenticator app.
struct MfaEnrolment {
  SecretString otpauth_uri;
  std::string qr_svg;
};

// The answer to a correct password: a session good only for the second factor.
struct PasswordStep {
  SecretString token;  // the cookie's value, stage "mfa"
  std::optional<MfaEnrolment> enrolment;  // first login: the secret to enrol
};

// A session after both factors.
struct LoggedIn {
  SecretString token;  // a new token: the one of the password step is dead (S-10)
  SecretString csrf;   // sent back in X-CSRF-Token with every state-changing request
  SessionRecord session;
  OperatorRecord op;
  std::vector<SecretString> recovery_codes;  // only at enrolment: ten single-use codes, shown once
};

// Who a session token belongs to.
struct SessionPrincipal {
  SessionRecord session;
  OperatorRecord op;
  std::vector<std::string> permissions;  // sorted: the roles' and the live grants'
  std::vector<std::string> granted;      // sorted: those only a live grant gives
  std::vector<std::string> expired;      // sorted: those a grant gave until the last day
  SecretString csrf;
  bool recently_verified = false;        // within SessionPolicy::reauth_ms
};

class OperatorService {
 public:
  // None is owned. The TOTP secret is sealed under the tenant's key.
  OperatorService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock, Random& random,
                  SessionPolicy policy = {})
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random), policy_(policy) {}

  const SessionPolicy& policy() const { return policy_; }

  // --- administration (each audited, acted by `actor`) ---
  // conflict when the login is taken; invalid_role; invalid_argument for a bad login or name.
  Result<Invitation> Create(const AuditActor& actor, const OperatorSpec& spec);
  Result<std::vector<OperatorRecord>> List(const std::string& tenant_id);
  Result<OperatorRecord> Get(const std::string& tenant_id, const std::string& id);
  Result<OperatorRecord> SetRoles(const AuditActor& actor, const std::string& tenant_id, const std::string& id,
                                  const std::vector<std::string>& roles);
  // Disabling ends every session at once.
  Result<OperatorRecord> SetEnabled(const AuditActor& actor, const std::string& tenant_id, const std::string& id,
                                    bool enabled);
  // Forgets the second factor and the recovery codes, ends every session:
  // the next login enrols again.
  Result<OperatorRecord> ResetMfa(const AuditActor& actor, const std::string& tenant_id, const std::string& id);
  // A new invitation link for an operator who has not set a password (the old one stops working).
  Result<Invitation> Reinvite(const AuditActor& actor, const std::string& tenant_id, const std::string& id);

  // --- the operator's own steps ---
  // Sets the first password from an invitation link: invitation_invalid
  // (unknown, used or expired, all alike), weak_password.
  Result<OperatorRecord> AcceptInvitation(const SecretString& token, const SecretString& password);
  // The password step. Every failure is one unauthenticated
  // "login_failed", whether the login exists or not; login_throttled
  // (resource_exhausted, with `retry_after_ms`) after too many failures.
  // `via` names the request for the audit (its source and request id).
  Result<PasswordStep> Login(const std::string& login, const SecretString& password, const std::string& source,
                             const std::string& user_agent, int64_t* retry_after_ms, const AuditActor& via = {});
  // The second step: a TOTP code (once only, S-08) or a recovery code.
  // mfa_failed; the session of the password step ends either way on success.
  Result<LoggedIn> CompleteMfa(const SecretString& token, const SecretString& code, int64_t* retry_after_ms,
                               const AuditActor& via = {});
  // A session token to its principal; unauthenticated "session_expired" when idle, past its
  // lifetime, or ended; "mfa_required" for a session still at the password step.
  Result<SessionPrincipal> Authenticate(const SecretString& token);
  Status Logout(const SecretString& token);
  Result<std::vector<SessionRecord>> Sessions(const std::string& tenant_id, const std::string& operator_id);
  Status EndSession(const AuditActor& actor, const std::string& tenant_id, const std::string& operator_id,
                    const std::string& session_id);
  // Gives the password or a code again before a sensitive action (SEC-08).
  Status Reauthenticate(const SecretString& token, const SecretString& password_or_code);
  // --- grants (SEC-10) ---
  // A DPO gives `spec.permissions` to another operator for a time.
  // invalid_argument "invalid_grant" (an unknown or ungrantable
  // permission, no reason, too long), forbidden for oneself.
  Result<GrantRecord> Grant(const AuditActor& actor, const std::string& tenant_id, const std::string& granted_by,
                            const GrantSpec& spec);
  // An operator takes permissions in an emergency: an hour at most, flagged for review.
  Result<GrantRecord> BreakGlass(const AuditActor& actor, const std::string& tenant_id, const GrantSpec& spec);
  Status RevokeGrant(const AuditActor& actor, const std::string& tenant_id, const std::string& id);
  Result<GrantRecord> ReviewGrant(const AuditActor& actor, const std::string& tenant_id, const std::string& id,
                                  const std::string& reviewer);
  Result<std::vector<GrantRecord>> Grants(const std::string& tenant_id);
  // A request used `permission` thanks to a grant: its last use, for the periodic review.
  void NoteGrantUse(const std::string& tenant_id, const std::string& operator_id, const std::string& permission);

  // Needs the current password; ends every other session (S-13).
  Status ChangePassword(const SecretString& token, const SecretString& current, const SecretString& next);

 private:
  struct Throttle;
  Status CheckThrottle(const std::vector<std::string>& keys, int64_t now, int64_t* retry_after_ms);
  void NoteFailure(const std::vector<std::string>& keys, int64_t now);
  void ClearThrottle(const std::string& key);
  Result<Invitation> Invite(const AuditActor& actor, OperatorRecord op, bool created);
  Status Audit(const AuditActor& actor, const std::string& tenant_id, const std::string& action,
               const std::string& operator_id, const std::string& outcome, const std::string& details);
  Result<SessionRecord> NewSession(const OperatorRecord& op, const std::string& stage, const std::string& user_agent,
                                   SecretString& token);
  Result<SecretString> OpenTotp(const OperatorRecord& op);
  std::vector<std::string> ContextWords(const OperatorRecord& op);
  Result<GrantRecord> AddGrant(const AuditActor& actor, const std::string& tenant_id, const std::string& granted_by,
                               const GrantSpec& spec, bool break_glass);

  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  const SessionPolicy policy_;
};

// The CSRF token of a session token: HMAC-SHA-256 under the token itself,
// so nothing more is stored and it dies with the session.
SecretString CsrfTokenFor(const SecretString& session_token);

}  // namespace cs
