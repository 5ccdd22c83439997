// ChannelService: channels with sealed secrets.
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "http/client.h"
#include "messaging/channels.h"

namespace cs {

namespace {

FieldBinding SecretBinding(const Channel& c, std::string_view field) {
  return FieldBinding{c.tenant_id, "", c.id, field};
}

}  // namespace

std::string ChannelJson(const Channel& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(c.id);
  w.Key("phone_number_id").String(c.phone_number_id);
  w.Key("waba_id").String(c.waba_id);
  w.Key("display_phone_number").String(c.display_phone_number);
  w.Key("graph_base_url").String(c.graph_base_url);
  w.Key("graph_version").String(c.graph_version);
  w.Key("throughput_per_second").Int(c.throughput_per_second);
  w.Key("state").String(c.paused_reason.empty() ? "active" : "paused");
  if (!c.paused_reason.empty()) w.Key("paused_reason").String(c.paused_reason);
  if (c.previous_app_secret_until_ms > 0) {
    w.Key("previous_app_secret_accepted_until").String(FormatRfc3339Millis(c.previous_app_secret_until_ms));
  }
  w.Key("webhook_path").String("/webhooks/whatsapp/" + c.id);
  w.Key("created_at").String(FormatRfc3339Millis(c.created_at_ms));
  w.EndObject();
  return w.Take();
}

namespace {

// The number and account of a new channel.
Status CheckIdentity(const ChannelSpec& spec) {
  if (!IsAsciiDigits(spec.phone_number_id) || spec.phone_number_id.size() > 32) {
    return InvalidArgument("invalid_field", "phone_number_id must be Meta's numeric id");
  }
  if (!IsAsciiDigits(spec.waba_id) || spec.waba_id.size() > 32) {
    return InvalidArgument("invalid_field", "waba_id must be Meta's numeric id");
  }
  if (!spec.display_phone_number.empty() &&
      (!IsAsciiDigits(spec.display_phone_number) || spec.display_phone_number.size() > 15)) {
    return InvalidArgument("invalid_field", "display_phone_number must be digits with the country code");
  }
  return Status::Ok();
}

// The endpoint, throughput and secrets; returns the normalised base URL.
Result<std::string> CheckEndpoint(const ChannelSpec& spec) {
  std::string base_url = spec.graph_base_url;
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  Result<ParsedUrl> url = ParseUrl(base_url);
  if (!url.ok()) return InvalidArgument("invalid_field", "graph_base_url: " + url.status().message());
  if (url->target != "/") return InvalidArgument("invalid_field", "graph_base_url must have no path");
  if (spec.graph_version.size() < 4 || spec.graph_version.size() > 8 || spec.graph_version[0] != 'v' ||
      spec.graph_version.find('.') == std::string::npos) {
    return InvalidArgument("invalid_field", "graph_version must look like v23.0");
  }
  if (spec.access_token.empty() || spec.app_secret.empty() || spec.verify_token.empty()) {
    return InvalidArgument("missing_field", "access_token, app_secret and verify_token are required");
  }
  if (spec.throughput_per_second < 1 || spec.throughput_per_second > 1000) {
    return InvalidArgument("invalid_field", "throughput_per_second must be 1-1000");
  }
  return base_url;
}

}  // namespace

Status ChannelService::SealSecrets(Channel& c, const ChannelSpec& spec) {
  CS_ASSIGN_OR_RETURN(c.access_token_sealed, keyring_.Seal(c.tenant_id, InsecureSecretAccess::Get(spec.access_token),
                                                           SecretBinding(c, "access_token")));
  CS_ASSIGN_OR_RETURN(c.app_secret_sealed, keyring_.Seal(c.tenant_id, InsecureSecretAccess::Get(spec.app_secret),
                                                         SecretBinding(c, "app_secret")));
  CS_ASSIGN_OR_RETURN(c.verify_token_sealed, keyring_.Seal(c.tenant_id, InsecureSecretAccess::Get(spec.verify_token),
                                                           SecretBinding(c, "verify_token")));
  return Status::Ok();
}

Result<Channel> ChannelService::Create(const AuditActor& actor, const ChannelSpec& spec) {
  CS_RETURN_IF_ERROR(CheckIdentity(spec));
  CS_ASSIGN_OR_RETURN(std::string base, CheckEndpoint(spec));
  Channel c;
  CS_ASSIGN_OR_RETURN(c.id, NewId(random_, "chn", 12));
  c.tenant_id = spec.tenant_id;
  c.phone_number_id = spec.phone_number_id;
  c.waba_id = spec.waba_id;
  c.display_phone_number = spec.display_phone_number;
  c.graph_base_url = base;
  c.graph_version = spec.graph_version;
  c.throughput_per_second = spec.throughput_per_second;
  c.created_at_ms = clock_.NowUnixMillis();
  CS_RETURN_IF_ERROR(SealSecrets(c, spec));
  Status s = store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.channels().InsertChannel(c));
    AuditEvent e{.tenant_id = c.tenant_id, .actor = actor, .action = "channel.create", .resource = "channel:" + c.id};
    JsonWriter w;
    w.BeginObject().Key("phone_number_id").String(c.phone_number_id).Key("graph_base_url").String(c.graph_base_url).EndObject();
    e.details = w.Take();
    return ledger_.Record(tx, e);
  });
  if (s.machine_code() == "conflict") return AlreadyExists("conflict", "a channel with that phone_number_id exists");
  CS_RETURN_IF_ERROR(s);
  return c;
}

Result<Channel> ChannelService::Update(const AuditActor& actor, const std::string& channel_id, const ChannelSpec& spec) {
  CS_ASSIGN_OR_RETURN(Channel c, store_.channels().GetChannel(spec.tenant_id, channel_id));
  CS_ASSIGN_OR_RETURN(std::string base, CheckEndpoint(spec));
  if (spec.app_secret_overlap_seconds < 0 || spec.app_secret_overlap_seconds > 7 * 86400) {
    return InvalidArgument("invalid_field", "app_secret_overlap_seconds must be 0-604800");
  }
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const ChannelSecrets> before, Secrets(c));
  const bool secret_changed = !before->app_secret.ConstantTimeEquals(InsecureSecretAccess::Get(spec.app_secret));
  c.graph_base_url = base;
  c.graph_version = spec.graph_version;
  c.throughput_per_second = spec.throughput_per_second;
  const int64_t now = clock_.NowUnixMillis();
  if (secret_changed) {
    // SEC-03: deliveries Meta signed before the change keep verifying for the overlap.
    c.previous_app_secret_sealed.clear();
    c.previous_app_secret_until_ms = 0;
    if (spec.app_secret_overlap_seconds > 0) {
      CS_ASSIGN_OR_RETURN(c.previous_app_secret_sealed,
                          keyring_.Seal(c.tenant_id, InsecureSecretAccess::Get(before->app_secret),
                                        SecretBinding(c, "previous_app_secret")));
      c.previous_app_secret_until_ms = now + spec.app_secret_overlap_seconds * 1000;
    }
  }
  CS_RETURN_IF_ERROR(SealSecrets(c, spec));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.channels().UpdateChannel(c));
    AuditEvent e{.tenant_id = c.tenant_id, .actor = actor, .action = "channel.update", .resource = "channel:" + c.id};
    JsonWriter w;
    w.BeginObject().Key("graph_base_url").String(c.graph_base_url).Key("app_secret_replaced").Bool(secret_changed);
    if (secret_changed && c.previous_app_secret_until_ms > 0) {
      w.Key("previous_app_secret_until").String(FormatRfc3339Millis(c.previous_app_secret_until_ms));
    }
    w.EndObject();
    e.details = w.Take();
    return ledger_.Record(tx, e);
  }));
  ++changes_;
  std::lock_guard lock(mu_);
  secrets_.erase(c.id);
  return c;
}

Result<std::shared_ptr<const ChannelSecrets>> ChannelService::Secrets(const Channel& c) {
  const std::string fingerprint =
      Sha256({c.access_token_sealed, c.app_secret_sealed, c.verify_token_sealed, c.previous_app_secret_sealed});
  {
    std::lock_guard lock(mu_);
    auto it = secrets_.find(c.id);
    if (it != secrets_.end() && it->second->sealed_fingerprint == fingerprint) return it->second;
  }
  auto out = std::make_shared<ChannelSecrets>();
  out->sealed_fingerprint = fingerprint;
  if (!c.previous_app_secret_sealed.empty()) {
    CS_ASSIGN_OR_RETURN(SecretString previous, keyring_.Open(c.tenant_id, c.previous_app_secret_sealed,
                                                             SecretBinding(c, "previous_app_secret")));
    out->previous_app_secret.emplace(std::move(previous));
    out->previous_app_secret_until_ms = c.previous_app_secret_until_ms;
  }
  CS_ASSIGN_OR_RETURN(out->access_token, keyring_.Open(c.tenant_id, c.access_token_sealed, SecretBinding(c, "access_token")));
  CS_ASSIGN_OR_RETURN(out->app_secret, keyring_.Open(c.tenant_id, c.app_secret_sealed, SecretBinding(c, "app_secret")));
  CS_ASSIGN_OR_RETURN(out->verify_token, keyring_.Open(c.tenant_id, c.verify_token_sealed, SecretBinding(c, "verify_token")));
  std::lock_guard lock(mu_);
  secrets_[c.id] = out;
  return std::shared_ptr<const ChannelSecrets>(out);
}

Status ChannelService::SetPaused(const AuditActor& actor, const Channel& c, const std::string& reason) {
  Status s = SetChannelPaused(store_, ledger_, actor, c, reason);
  ++changes_;
  return s;
}

Status SetChannelPaused(Store& store, const AuditLedger& ledger, const AuditActor& actor, const Channel& c,
                        const std::string& reason) {
  return store.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.channels().SetChannelPaused(c.id, reason));
    AuditEvent e{
        .tenant_id = c.tenant_id,
        .actor = actor,
        .action = reason.empty() ? "channel.resume" : "channel.pause",
        .resource = "channel:" + c.id
    };
    if (!reason.empty()) {
      JsonWriter w;
      w.BeginObject().Key("reason").String(reason).EndObject();
      e.details = w.Take();
    }
    return ledger.Record(tx, e);
  });
}

}  // namespace cs
