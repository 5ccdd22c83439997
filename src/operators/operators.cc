// Operators and their sessions (operators.h).
#include "operators/operators.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

#include "auth/auth.h"
#include "auth/totp.h"
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace cs {

namespace {

constexpr int kRecoveryCodes = 10;

// Roles as sets of permissions (docs/operators.md#roles). Agents and
// supervisors are refused numbers and bodies by the reveal rule, not here.
const std::map<std::string, std::vector<std::string>>& RoleTable() {
  static const std::map<std::string, std::vector<std::string>> kRoles = {
      {"agent", {"consent:read", "content:scan", "messages:read", "messages:send"}},
      {"supervisor", {"consent:read", "content:scan", "messages:read", "messages:send", "templates:manage"}},
      {"dpo", {"audit:read", "consent:read", "consent:write", "dsar:manage", "grants:manage"}},
      {"auditor", {"audit:read"}},
      {"admin", {"admin", "operators:manage", "subscribers:manage", "templates:manage"}},
  };
  return kRoles;
}

std::string HashToken(std::string_view token) { return HexEncode(Sha256({"consentry-token-v1", token})); }

// Recovery codes: 10 characters of Crockford base32 in two groups (50 bits).
std::string RecoveryCodeHash(std::string_view code) {
  std::string normal;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    normal.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  }
  return HexEncode(Sha256({"consentry-recovery-v1", normal}));
}

Status CheckLogin(const std::string& login) {
  if (login.size() < 3 || login.size() > 254) return InvalidArgument("invalid_login", "a login is 3 to 254 characters");
  for (char c : login) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@' ||
                    c == '+';
    if (!ok) {
      return InvalidArgument("invalid_login",
                             "a login is an e-mail address or a name of lower-case letters, digits and . _ - + @");
    }
  }
  return Status::Ok();
}

// Throttle keys name logins and source addresses: stored as keyed hashes only.
std::string ThrottleKey(std::string_view key) { return HexEncode(Sha256({"consentry-throttle-v1", key})); }

Status LoginFailed() { return Status(StatusCode::kUnauthenticated, "login_failed", "the login or the password is wrong"); }

}  // namespace

const std::vector<std::string>& KnownRoles() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& [name, _] : RoleTable()) names.push_back(name);
    return names;
  }();
  return kNames;
}

Result<std::vector<std::string>> NormalizeRoles(const std::vector<std::string>& roles) {
  if (roles.empty()) return InvalidArgument("invalid_role", "an operator needs at least one role");
  std::vector<std::string> out;
  for (const std::string& r : roles) {
    if (RoleTable().count(r) == 0) {
      return InvalidArgument("invalid_role", "unknown role (known: admin, agent, auditor, dpo, supervisor)");
    }
    out.push_back(r);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> PermissionsOfRoles(const std::vector<std::string>& roles) {
  std::vector<std::string> out;
  for (const std::string& r : roles) {
    auto it = RoleTable().find(r);
    if (it != RoleTable().end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

SecretString CsrfTokenFor(const SecretString& session_token) {
  const std::string_view key = InsecureSecretAccess::Get(session_token);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static constexpr char kLabel[] = "consentry-csrf-v1";
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(kLabel),
       sizeof kLabel - 1, mac, &len);
  return SecretString(Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), len)));
}

Status OperatorService::Audit(const AuditActor& actor, const std::string& tenant_id, const std::string& action,
                              const std::string& operator_id, const std::string& outcome, const std::string& details) {
  return store_.InTransaction([&](StoreTransaction& tx) {
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id,
                                         .actor = actor,
                                         .action = action,
                                         .resource = operator_id.empty() ? "operator:unknown" : "operator:" + operator_id,
                                         .outcome = outcome,
                                         .details = details});
  });
}

std::vector<std::string> OperatorService::ContextWords(const OperatorRecord& op) {
  std::vector<std::string> words = {"consentry", op.login, op.login.substr(0, op.login.find('@')), op.display_name};
  if (Result<Tenant> t = store_.tenants().Get(op.tenant_id); t.ok()) words.push_back(t->name);
  return words;
}

Result<Invitation> OperatorService::Invite(const AuditActor& actor, OperatorRecord op, bool created) {
  CS_ASSIGN_OR_RETURN(std::string raw, random_.Bytes(32));
  Invitation inv;
  inv.token = SecretString(Base64UrlEncode(raw));
  inv.expires_at_ms = clock_.NowUnixMillis() + policy_.invitation_ms;
  const InvitationRecord record{HashToken(InsecureSecretAccess::Get(inv.token)), op.tenant_id, op.id,
                                inv.expires_at_ms};
  JsonWriter w;
  w.BeginObject().Key("roles").BeginArray();
  for (const std::string& r : op.roles) w.String(r);
  w.EndArray().Key("expires_at").String(FormatRfc3339Millis(inv.expires_at_ms)).EndObject();
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    if (created) {
      CS_RETURN_IF_ERROR(tx.operators().InsertOperator(op));
    } else {
      CS_RETURN_IF_ERROR(tx.operators().DeleteInvitationsOf(op.tenant_id, op.id));
    }
    CS_RETURN_IF_ERROR(tx.operators().InsertInvitation(record));
    return ledger_.Record(tx, AuditEvent{.tenant_id = op.tenant_id,
                                         .actor = actor,
                                         .action = created ? "operator.create" : "operator.invite",
                                         .resource = "operator:" + op.id,
                                         .details = w.Take()});
  }));
  inv.op = std::move(op);
  return inv;
}

Result<Invitation> OperatorService::Create(const AuditActor& actor, const OperatorSpec& spec) {
  OperatorRecord op;
  op.login = AsciiLower(TrimAscii(spec.login));
  CS_RETURN_IF_ERROR(CheckLogin(op.login));
  CS_RETURN_IF_ERROR(ValidateName(spec.display_name, "display name"));
  CS_ASSIGN_OR_RETURN(op.roles, NormalizeRoles(spec.roles));
  CS_ASSIGN_OR_RETURN(op.id, NewId(random_, "opr", 12));
  op.tenant_id = spec.tenant_id;
  op.display_name = spec.display_name;
  op.created_at_ms = op.updated_at_ms = clock_.NowUnixMillis();
  Result<Invitation> inv = Invite(actor, std::move(op), /*created=*/true);
  if (inv.status().machine_code() == "conflict") return AlreadyExists("conflict", "an operator with that login exists");
  return inv;
}

Result<std::vector<OperatorRecord>> OperatorService::List(const std::string& tenant_id) {
  return store_.operators().ListOperators(tenant_id);
}

Result<OperatorRecord> OperatorService::Get(const std::string& tenant_id, const std::string& id) {
  return store_.operators().GetOperator(tenant_id, id);
}

Result<OperatorRecord> OperatorService::SetRoles(const AuditActor& actor, const std::string& tenant_id,
                                                 const std::string& id, const std::vector<std::string>& roles) {
  CS_ASSIGN_OR_RETURN(std::vector<std::string> normal, NormalizeRoles(roles));
  OperatorRecord op;
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(op, tx.operators().GetOperator(tenant_id, id));
    JsonWriter w;
    w.BeginObject().Key("from").BeginArray();
    for (const std::string& r : op.roles) w.String(r);
    w.EndArray().Key("to").BeginArray();
    for (const std::string& r : normal) w.String(r);
    w.EndArray().EndObject();
    op.roles = normal;
    op.updated_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(op));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "operator.roles",
                                         .resource = "operator:" + id, .details = w.Take()});
  }));
  return op;
}

Result<OperatorRecord> OperatorService::SetEnabled(const AuditActor& actor, const std::string& tenant_id,
                                                   const std::string& id, bool enabled) {
  OperatorRecord op;
  int64_t ended = 0;
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(op, tx.operators().GetOperator(tenant_id, id));
    if (enabled) {
      if (op.state == "disabled") op.state = op.password_hash.empty() ? "invited" : "active";
    } else {
      op.state = "disabled";
      CS_ASSIGN_OR_RETURN(ended, tx.operators().DeleteSessionsOf(tenant_id, id));
    }
    op.updated_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(op));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor,
                                         .action = enabled ? "operator.enable" : "operator.disable",
                                         .resource = "operator:" + id,
                                         .details = "{\"sessions_ended\":" + std::to_string(ended) + "}"});
  }));
  return op;
}

Result<OperatorRecord> OperatorService::ResetMfa(const AuditActor& actor, const std::string& tenant_id,
                                                 const std::string& id) {
  OperatorRecord op;
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(op, tx.operators().GetOperator(tenant_id, id));
    op.totp_sealed.clear();
    op.mfa_enrolled = false;
    op.recovery_hashes.clear();
    op.updated_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(op));
    CS_ASSIGN_OR_RETURN(int64_t ended, tx.operators().DeleteSessionsOf(tenant_id, id));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "operator.mfa_reset",
                                         .resource = "operator:" + id,
                                         .details = "{\"sessions_ended\":" + std::to_string(ended) + "}"});
  }));
  return op;
}

Result<Invitation> OperatorService::Reinvite(const AuditActor& actor, const std::string& tenant_id,
                                             const std::string& id) {
  CS_ASSIGN_OR_RETURN(OperatorRecord op, store_.operators().GetOperator(tenant_id, id));
  if (op.state != "invited") {
    return FailedPrecondition("operator_active", "this operator has set a password; reset their MFA or disable them");
  }
  return Invite(actor, std::move(op), /*created=*/false);
}

Result<OperatorRecord> OperatorService::AcceptInvitation(const SecretString& token, const SecretString& password) {
  const Status invalid = Status(StatusCode::kNotFound, "invitation_invalid",
                                "this invitation link is unknown, used or expired; ask an administrator for a new one");
  const std::string hash = HashToken(InsecureSecretAccess::Get(token));
  Result<InvitationRecord> inv = store_.operators().FindInvitation(hash);
  if (!inv.ok()) return inv.status().code() == StatusCode::kNotFound ? invalid : inv.status();
  if (inv->expires_at_ms <= clock_.NowUnixMillis()) return invalid;
  CS_ASSIGN_OR_RETURN(OperatorRecord op, store_.operators().GetOperator(inv->tenant_id, inv->operator_id));
  if (op.state != "invited") return invalid;
  // Checked before the link is used up: a weak password can be corrected.
  CS_RETURN_IF_ERROR(CheckNewPassword(password, ContextWords(op), policy_.password_rules));
  CS_ASSIGN_OR_RETURN(op.password_hash, HashPassword(password, random_, policy_.password_cost));
  op.state = "active";
  op.updated_at_ms = clock_.NowUnixMillis();
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    // One use, also when two requests race.
    Result<InvitationRecord> taken = tx.operators().TakeInvitation(hash);
    if (!taken.ok()) return taken.status().code() == StatusCode::kNotFound ? invalid : taken.status();
    CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(op));
    return ledger_.Record(tx, AuditEvent{.tenant_id = op.tenant_id,
                                         .actor = AuditActor{"operator", op.id, "invitation", ""},
                                         .action = "operator.password_set",
                                         .resource = "operator:" + op.id});
  }));
  return op;
}

Status OperatorService::CheckThrottle(const std::vector<std::string>& keys, int64_t now, int64_t* retry_after_ms) {
  int64_t wait = 0;
  for (const std::string& key : keys) {
    CS_ASSIGN_OR_RETURN(LoginThrottleRecord t, store_.operators().GetThrottle(ThrottleKey(key)));
    if (t.blocked_until_ms > now) wait = std::max(wait, t.blocked_until_ms - now);
  }
  if (wait == 0) return Status::Ok();
  if (retry_after_ms != nullptr) *retry_after_ms = wait;
  return Status(StatusCode::kResourceExhausted, "login_throttled",
                "too many failed attempts; wait before trying again (Retry-After)");
}

void OperatorService::NoteFailure(const std::vector<std::string>& keys, int64_t now) {
  for (const std::string& key : keys) {
    const std::string stored = ThrottleKey(key);
    Result<LoginThrottleRecord> got = store_.operators().GetThrottle(stored);
    if (!got.ok()) continue;
    LoginThrottleRecord t = *got;
    // The count lives while failures keep coming: it starts over only after
    // a quiet window (window_start_ms holds the last failure).
    if (now - t.window_start_ms > policy_.window_ms) t = LoginThrottleRecord{stored, 0, now, 0};
    t.window_start_ms = now;
    ++t.failures;
    // Spread over many sources, guesses at one login are slowed much later:
    // the owner's own logins must not be what the guesser blocks.
    const int64_t free = key.rfind("account:", 0) == 0 ? policy_.account_free_failures : policy_.free_failures;
    if (t.failures > free) {
      const int64_t over = std::min<int64_t>(t.failures - free - 1, 20);
      t.blocked_until_ms = now + std::min<int64_t>(1000LL << over, policy_.max_delay_ms);
    }
    store_.operators().PutThrottle(t).IgnoreError();  // a lost count only loosens the throttle
  }
}

void OperatorService::ClearThrottle(const std::string& key) {
  store_.operators().DeleteThrottle(ThrottleKey(key)).IgnoreError();
}

Result<SessionRecord> OperatorService::NewSession(const OperatorRecord& op, const std::string& stage,
                                                  const std::string& user_agent, SecretString& token) {
  CS_ASSIGN_OR_RETURN(std::string raw, random_.Bytes(32));
  token = SecretString(Base64UrlEncode(raw));
  const int64_t now = clock_.NowUnixMillis();
  SessionRecord s;
  CS_ASSIGN_OR_RETURN(s.id, NewId(random_, "ses", 12));
  s.token_hash = HashToken(InsecureSecretAccess::Get(token));
  s.tenant_id = op.tenant_id;
  s.operator_id = op.id;
  s.stage = stage;
  s.created_at_ms = s.last_seen_ms = s.verified_at_ms = now;
  s.expires_at_ms = now + (stage == "mfa" ? policy_.mfa_step_ms : policy_.absolute_ms);
  s.user_agent = user_agent.substr(0, 200);
  return s;
}

namespace {

// The audit actor of a login step: who (once known), from where the request said.
AuditActor LoginActor(const AuditActor& via, const std::string& operator_id) {
  return AuditActor{operator_id.empty() ? "anonymous" : "operator", operator_id,
                    via.source.empty() ? "login" : via.source, via.request_id};
}

}  // namespace

Result<PasswordStep> OperatorService::Login(const std::string& login, const SecretString& password,
                                            const std::string& source, const std::string& user_agent,
                                            int64_t* retry_after_ms, const AuditActor& via) {
  const int64_t now = clock_.NowUnixMillis();
  const std::string normal = AsciiLower(TrimAscii(login));
  // S-05: one throttle per (login, source) slows the guesser down; one
  // per login (looser) catches guesses spread over many sources; one per
  // source catches one source trying many logins. An attacker elsewhere
  // cannot lock the owner out: the owner's own source keeps its own count,
  // and the per-login one only delays. Unknown logins are throttled alike.
  const std::vector<std::string> keys = {"pair:" + normal + "|" + source, "source:" + source};
  const std::string account_key = "account:" + normal;
  CS_RETURN_IF_ERROR(CheckThrottle(keys, now, retry_after_ms));
  Result<OperatorRecord> found = store_.operators().FindOperatorByLogin(normal);
  if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
  bool ok = false;
  if (found.ok() && !found->password_hash.empty()) {
    CS_ASSIGN_OR_RETURN(ok, VerifyPassword(password, found->password_hash));
  } else {
    // The same work whether the login exists or not: timing tells nothing.
    static const std::string kDummy = [this] {
      Result<std::string> h = HashPassword(SecretString("consentry-dummy-password"), random_, policy_.password_cost);
      return h.ok() ? *h : std::string();
    }();
    if (!kDummy.empty()) VerifyPassword(password, kDummy).status().IgnoreError();
  }
  const bool usable = ok && found->state == "active";
  if (!usable) {
    NoteFailure({keys[0], keys[1], account_key}, now);
    JsonWriter w;
    w.BeginObject().Key("reason").String(!found.ok() ? "unknown_login" : !ok ? "wrong_password" : found->state);
    w.EndObject();
    Audit(LoginActor(via, ""), found.ok() ? found->tenant_id : "", "auth.login",
          found.ok() ? found->id : "", "login_failed", w.Take())
        .IgnoreError();
    return LoginFailed();
  }
  const OperatorRecord& op = *found;
  // The per-login count is consulted only once the password is right, so it
  // slows a distributed guesser without locking out the owner's correct login
  // from a clean source after the delay.
  CS_RETURN_IF_ERROR(CheckThrottle({account_key}, now, retry_after_ms));
  if (PasswordNeedsRehash(op.password_hash, policy_.password_cost)) {
    OperatorRecord updated = op;
    if (Result<std::string> h = HashPassword(password, random_, policy_.password_cost); h.ok()) {
      updated.password_hash = *h;
      store_.operators().UpdateOperator(updated).IgnoreError();  // tried again at the next login
    }
  }
  PasswordStep step;
  CS_ASSIGN_OR_RETURN(SessionRecord session, NewSession(op, "mfa", user_agent, step.token));
  if (!op.mfa_enrolled) {
    // First login (or after a reset): a new secret, sealed, confirmed by the first code.
    CS_ASSIGN_OR_RETURN(SecretString secret, NewTotpSecret(random_));
    OperatorRecord updated = op;
    CS_ASSIGN_OR_RETURN(updated.totp_sealed, keyring_.Seal(op.tenant_id, InsecureSecretAccess::Get(secret),
                                                           FieldBinding{op.tenant_id, "", op.id, "totp_secret"}));
    updated.updated_at_ms = now;
    MfaEnrolment e;
    e.otpauth_uri = TotpUri(secret, "Consentry", op.login);
    CS_ASSIGN_OR_RETURN(e.qr_svg, QrSvg(e.otpauth_uri));
    step.enrolment = std::move(e);
    CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
      CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(updated));
      return tx.operators().InsertSession(session);
    }));
  } else {
    CS_RETURN_IF_ERROR(store_.operators().InsertSession(session));
  }
  ClearThrottle(keys[0]);
  return step;
}

Result<SecretString> OperatorService::OpenTotp(const OperatorRecord& op) {
  if (op.totp_sealed.empty()) return FailedPrecondition("mfa_not_enrolled", "no second factor is enrolled");
  return keyring_.Open(op.tenant_id, op.totp_sealed, FieldBinding{op.tenant_id, "", op.id, "totp_secret"});
}

Result<LoggedIn> OperatorService::CompleteMfa(const SecretString& token, const SecretString& code,
                                              int64_t* retry_after_ms, const AuditActor& via) {
  const int64_t now = clock_.NowUnixMillis();
  const Status failed = Status(StatusCode::kUnauthenticated, "mfa_failed", "the code is wrong, used or expired");
  const std::string hash = HashToken(InsecureSecretAccess::Get(token));
  Result<SessionRecord> pending = store_.operators().FindSession(hash);
  if (!pending.ok() || pending->stage != "mfa" || pending->expires_at_ms <= now) {
    return Status(StatusCode::kUnauthenticated, "session_expired", "log in again");
  }
  const std::vector<std::string> keys = {"mfa:" + pending->operator_id};
  CS_RETURN_IF_ERROR(CheckThrottle(keys, now, retry_after_ms));
  CS_ASSIGN_OR_RETURN(OperatorRecord op, store_.operators().GetOperator(pending->tenant_id, pending->operator_id));
  if (op.state != "active") return Status(StatusCode::kUnauthenticated, "session_expired", "log in again");
  CS_ASSIGN_OR_RETURN(SecretString secret, OpenTotp(op));
  const std::string_view typed = InsecureSecretAccess::Get(code);
  std::string used = "totp";
  bool accepted = false;
  if (std::optional<int64_t> step = MatchTotp(secret, typed, now, op.totp_last_step)) {
    // The store decides, so two processes cannot both accept one code.
    CS_ASSIGN_OR_RETURN(accepted, store_.operators().AdvanceTotpStep(op.tenant_id, op.id, *step));
    op.totp_last_step = *step;
  } else if (op.mfa_enrolled && typed.size() >= 10) {
    const std::string h = RecoveryCodeHash(typed);
    auto it = std::find(op.recovery_hashes.begin(), op.recovery_hashes.end(), h);
    if (it != op.recovery_hashes.end()) {
      op.recovery_hashes.erase(it);
      accepted = true;
      used = "recovery_code";
    }
  }
  if (!accepted) {
    NoteFailure(keys, now);
    Audit(LoginActor(via, op.id), op.tenant_id, "auth.mfa", op.id, "mfa_failed", "{}").IgnoreError();
    return failed;
  }
  LoggedIn out;
  const bool enrolling = !op.mfa_enrolled;
  if (enrolling) {
    op.mfa_enrolled = true;
    op.recovery_hashes.clear();
    for (int i = 0; i < kRecoveryCodes; ++i) {
      CS_ASSIGN_OR_RETURN(std::string raw, random_.Bytes(7));
      std::string code32 = Base32(raw).substr(0, 10);
      out.recovery_codes.emplace_back(code32.substr(0, 5) + "-" + code32.substr(5));
      op.recovery_hashes.push_back(RecoveryCodeHash(code32));
    }
  }
  op.updated_at_ms = now;
  CS_ASSIGN_OR_RETURN(SessionRecord session, NewSession(op, "active", pending->user_agent, out.token));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(op));
    // S-10: the token of the password step dies; the session gets a new one.
    CS_RETURN_IF_ERROR(tx.operators().DeleteSessionByToken(hash));
    CS_RETURN_IF_ERROR(tx.operators().InsertSession(session));
    const AuditActor self = LoginActor(via, op.id);
    if (enrolling) {
      CS_RETURN_IF_ERROR(ledger_.Record(tx, AuditEvent{.tenant_id = op.tenant_id, .actor = self,
                                                       .action = "operator.mfa_enrol",
                                                       .resource = "operator:" + op.id}));
    }
    return ledger_.Record(tx, AuditEvent{.tenant_id = op.tenant_id, .actor = self, .action = "auth.login",
                                         .resource = "session:" + session.id,
                                         .details = "{\"factor\":\"" + used + "\"}"});
  }));
  ClearThrottle(keys[0]);
  out.csrf = CsrfTokenFor(out.token);
  out.session = std::move(session);
  out.op = std::move(op);
  return out;
}

Result<SessionPrincipal> OperatorService::Authenticate(const SecretString& token) {
  const Status expired = Status(StatusCode::kUnauthenticated, "session_expired", "the session has ended; log in again");
  const int64_t now = clock_.NowUnixMillis();
  const std::string hash = HashToken(InsecureSecretAccess::Get(token));
  Result<SessionRecord> s = store_.operators().FindSession(hash);
  if (!s.ok()) return s.status().code() == StatusCode::kNotFound ? expired : s.status();
  if (s->stage != "active") {
    return Status(StatusCode::kUnauthenticated, "mfa_required", "give the second factor first (POST /v1/auth/mfa)");
  }
  if (s->expires_at_ms <= now || now - s->last_seen_ms >= policy_.idle_ms) {
    store_.operators().DeleteSessionByToken(hash).IgnoreError();  // purged later otherwise
    return expired;
  }
  CS_ASSIGN_OR_RETURN(OperatorRecord op, store_.operators().GetOperator(s->tenant_id, s->operator_id));
  if (op.state != "active") return expired;
  // Written at most every few seconds: a burst of requests is one write.
  if (now - s->last_seen_ms >= 5000) store_.operators().TouchSession(hash, now).IgnoreError();
  SessionPrincipal p;
  p.permissions = PermissionsOfRoles(op.roles);
  // Live grants add to the roles; those ended within the last day are
  // named, so their use is answered grant_expired rather than a bare refusal.
  CS_ASSIGN_OR_RETURN(std::vector<GrantRecord> grants,
                      store_.operators().GrantsOf(op.tenant_id, op.id, now - 24 * 3'600'000));
  for (const GrantRecord& g : grants) {
    std::vector<std::string>& into = g.expires_at_ms > now ? p.granted : p.expired;
    into.insert(into.end(), g.permissions.begin(), g.permissions.end());
  }
  for (std::vector<std::string>* v : {&p.granted, &p.expired}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
    // What the roles give anyway is neither granted nor expired.
    v->erase(std::remove_if(v->begin(), v->end(), [&](const std::string& perm) {
               return std::binary_search(p.permissions.begin(), p.permissions.end(), perm);
             }),
             v->end());
  }
  p.expired.erase(std::remove_if(p.expired.begin(), p.expired.end(), [&](const std::string& perm) {
                    return std::binary_search(p.granted.begin(), p.granted.end(), perm);
                  }),
                  p.expired.end());
  p.permissions.insert(p.permissions.end(), p.granted.begin(), p.granted.end());
  std::sort(p.permissions.begin(), p.permissions.end());
  p.recently_verified = now - s->verified_at_ms < policy_.reauth_ms;
  p.csrf = CsrfTokenFor(token);
  p.session = std::move(s).value();
  p.op = std::move(op);
  return p;
}

Status OperatorService::Logout(const SecretString& token) {
  const std::string hash = HashToken(InsecureSecretAccess::Get(token));
  Result<SessionRecord> s = store_.operators().FindSession(hash);
  if (!s.ok()) return Status::Ok();  // already gone
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.operators().DeleteSessionByToken(hash));
    return ledger_.Record(tx, AuditEvent{.tenant_id = s->tenant_id,
                                         .actor = AuditActor{"operator", s->operator_id, "session", ""},
                                         .action = "auth.logout", .resource = "session:" + s->id});
  });
}

Result<std::vector<SessionRecord>> OperatorService::Sessions(const std::string& tenant_id,
                                                             const std::string& operator_id) {
  return store_.operators().ListSessions(tenant_id, operator_id);
}

Status OperatorService::EndSession(const AuditActor& actor, const std::string& tenant_id,
                                   const std::string& operator_id, const std::string& session_id) {
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(bool ended, tx.operators().DeleteSession(tenant_id, operator_id, session_id));
    if (!ended) return NotFound("no such session");
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "session.revoke",
                                         .resource = "session:" + session_id});
  });
}

Status OperatorService::Reauthenticate(const SecretString& token, const SecretString& password_or_code) {
  CS_ASSIGN_OR_RETURN(SessionPrincipal p, Authenticate(token));
  const int64_t now = clock_.NowUnixMillis();
  const std::vector<std::string> keys = {"reauth:" + p.op.id};
  CS_RETURN_IF_ERROR(CheckThrottle(keys, now, nullptr));
  bool ok = false;
  const std::string_view typed = InsecureSecretAccess::Get(password_or_code);
  if (typed.size() == 6 && typed.find_first_not_of("0123456789") == std::string_view::npos) {
    CS_ASSIGN_OR_RETURN(SecretString secret, OpenTotp(p.op));
    if (std::optional<int64_t> step = MatchTotp(secret, typed, now, p.op.totp_last_step)) {
      CS_ASSIGN_OR_RETURN(ok, store_.operators().AdvanceTotpStep(p.op.tenant_id, p.op.id, *step));
    }
  } else {
    CS_ASSIGN_OR_RETURN(ok, VerifyPassword(password_or_code, p.op.password_hash));
  }
  const AuditActor self{"operator", p.op.id, "session", ""};
  if (!ok) {
    NoteFailure(keys, now);
    Audit(self, p.op.tenant_id, "auth.reauthenticate", p.op.id, "reauth_failed", "{}").IgnoreError();
    return Status(StatusCode::kUnauthenticated, "reauth_failed", "the password or code is wrong");
  }
  p.session.verified_at_ms = now;
  p.session.last_seen_ms = now;
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.operators().UpdateSession(p.session));
    return ledger_.Record(tx, AuditEvent{.tenant_id = p.op.tenant_id, .actor = self, .action = "auth.reauthenticate",
                                         .resource = "session:" + p.session.id});
  });
}

Status OperatorService::ChangePassword(const SecretString& token, const SecretString& current,
                                       const SecretString& next) {
  CS_ASSIGN_OR_RETURN(SessionPrincipal p, Authenticate(token));
  const int64_t now = clock_.NowUnixMillis();
  const std::vector<std::string> keys = {"reauth:" + p.op.id};
  CS_RETURN_IF_ERROR(CheckThrottle(keys, now, nullptr));
  CS_ASSIGN_OR_RETURN(bool ok, VerifyPassword(current, p.op.password_hash));
  if (!ok) {
    NoteFailure(keys, now);
    return Status(StatusCode::kUnauthenticated, "reauth_failed", "the current password is wrong");
  }
  CS_RETURN_IF_ERROR(CheckNewPassword(next, ContextWords(p.op), policy_.password_rules));
  OperatorRecord op = p.op;
  CS_ASSIGN_OR_RETURN(op.password_hash, HashPassword(next, random_, policy_.password_cost));
  op.updated_at_ms = now;
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.operators().UpdateOperator(op));
    // Every other session ends (S-13); this one goes on.
    CS_ASSIGN_OR_RETURN(std::vector<SessionRecord> all, tx.operators().ListSessions(op.tenant_id, op.id));
    for (const SessionRecord& s : all) {
      if (s.id != p.session.id) CS_RETURN_IF_ERROR(tx.operators().DeleteSession(op.tenant_id, op.id, s.id).status());
    }
    return ledger_.Record(tx, AuditEvent{.tenant_id = op.tenant_id,
                                         .actor = AuditActor{"operator", op.id, "session", ""},
                                         .action = "operator.password_change", .resource = "operator:" + op.id,
                                         .details = "{\"other_sessions_ended\":" +
                                                    std::to_string(all.empty() ? 0 : all.size() - 1) + "}"});
  });
}

Result<GrantRecord> OperatorService::AddGrant(const AuditActor& actor, const std::string& tenant_id,
                                             const std::string& granted_by, const GrantSpec& spec, bool break_glass) {
  static const std::vector<std::string> kCategories = {"customer_request", "incident", "legal_obligation", "audit",
                                                       "support"};
  if (std::find(kCategories.begin(), kCategories.end(), spec.reason_category) == kCategories.end()) {
    return InvalidArgument("invalid_grant",
                           "reason.category is one of customer_request, incident, legal_obligation, audit, support");
  }
  if (spec.reason_text.size() < 10 || spec.reason_text.size() > 2000 || !IsValidUtf8(spec.reason_text)) {
    return InvalidArgument("invalid_grant", "reason.text says why, in 10 to 500 characters");
  }
  const int64_t max = break_glass ? policy_.break_glass_ms : policy_.grant_max_ms;
  if (spec.duration_ms <= 0 || spec.duration_ms > max) {
    return InvalidArgument("invalid_grant", "a grant lasts at most " + std::to_string(max / 60'000) + " minutes");
  }
  CS_ASSIGN_OR_RETURN(std::vector<std::string> perms, NormalizeScopes(spec.permissions));
  for (const std::string& perm : perms) {
    // No way to administrator rights, nor to granting, through a grant.
    if (perm == "admin" || perm == "operators:manage" || perm == "grants:manage") {
      return InvalidArgument("invalid_grant", perm + " cannot be granted for a time; change the operator's roles");
    }
  }
  GrantRecord g;
  CS_ASSIGN_OR_RETURN(g.id, NewId(random_, "grt", 12));
  g.tenant_id = tenant_id;
  g.operator_id = spec.operator_id;
  g.permissions = std::move(perms);
  g.reason_category = spec.reason_category;
  g.reason_text = spec.reason_text;
  g.granted_by = granted_by;
  g.break_glass = break_glass;
  g.created_at_ms = clock_.NowUnixMillis();
  g.expires_at_ms = g.created_at_ms + spec.duration_ms;
  JsonWriter w;
  w.BeginObject().Key("operator").String(g.operator_id).Key("permissions").BeginArray();
  for (const std::string& perm : g.permissions) w.String(perm);
  w.EndArray().Key("category").String(g.reason_category).Key("expires_at").String(FormatRfc3339Millis(g.expires_at_ms));
  w.EndObject();
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(OperatorRecord op, tx.operators().GetOperator(tenant_id, spec.operator_id));
    if (op.state != "active") return FailedPrecondition("operator_inactive", "the operator is not active");
    CS_RETURN_IF_ERROR(tx.operators().InsertGrant(g));
    // The reason's words stay with the grant (they may name a customer); the audit keeps its category.
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor,
                                         .action = break_glass ? "grant.break_glass" : "grant.create",
                                         .resource = "grant:" + g.id,
                                         .outcome = break_glass ? "review_required" : "success",
                                         .details = w.Take()});
  }));
  return g;
}

Result<GrantRecord> OperatorService::Grant(const AuditActor& actor, const std::string& tenant_id,
                                           const std::string& granted_by, const GrantSpec& spec) {
  if (granted_by == spec.operator_id) {
    return PermissionDenied("forbidden", "nobody grants themself permissions; use break-glass in an emergency");
  }
  return AddGrant(actor, tenant_id, granted_by, spec, /*break_glass=*/false);
}

Result<GrantRecord> OperatorService::BreakGlass(const AuditActor& actor, const std::string& tenant_id,
                                                const GrantSpec& spec) {
  return AddGrant(actor, tenant_id, spec.operator_id, spec, /*break_glass=*/true);
}

Status OperatorService::RevokeGrant(const AuditActor& actor, const std::string& tenant_id, const std::string& id) {
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(GrantRecord g, tx.operators().GetGrant(tenant_id, id));
    if (g.revoked_at_ms) return Status::Ok();
    g.revoked_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.operators().UpdateGrant(g));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "grant.revoke",
                                         .resource = "grant:" + id});
  });
}

Result<GrantRecord> OperatorService::ReviewGrant(const AuditActor& actor, const std::string& tenant_id,
                                                 const std::string& id, const std::string& reviewer) {
  GrantRecord g;
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(g, tx.operators().GetGrant(tenant_id, id));
    if (g.operator_id == reviewer) {
      return PermissionDenied("forbidden", "an access is reviewed by someone else than who used it");
    }
    g.reviewed_at_ms = clock_.NowUnixMillis();
    g.reviewed_by = reviewer;
    CS_RETURN_IF_ERROR(tx.operators().UpdateGrant(g));
    return ledger_.Record(tx, AuditEvent{.tenant_id = tenant_id, .actor = actor, .action = "grant.review",
                                         .resource = "grant:" + id});
  }));
  return g;
}

Result<std::vector<GrantRecord>> OperatorService::Grants(const std::string& tenant_id) {
  return store_.operators().ListGrants(tenant_id, 1000);
}

void OperatorService::NoteGrantUse(const std::string& tenant_id, const std::string& operator_id,
                                   const std::string& permission) {
  const int64_t now = clock_.NowUnixMillis();
  Result<std::vector<GrantRecord>> grants = store_.operators().GrantsOf(tenant_id, operator_id, now);
  if (!grants.ok()) return;
  for (GrantRecord& g : *grants) {
    if (!std::binary_search(g.permissions.begin(), g.permissions.end(), permission)) continue;
    g.last_used_ms = now;
    store_.operators().UpdateGrant(g).IgnoreError();  // the review sees an older use at worst
  }
}

}  // namespace cs
