// `serve --demo` (demo.h).
#include "server/demo.h"

#include <optional>

#include "common/strings.h"
#include "consent/consent.h"
#include "messaging/channels.h"

namespace cs {

Result<IssuedKey> PrepareDemoTenant(AdminRuntime& rt) {
  const AuditActor actor = AuditActor::System();
  Result<Tenant> existing = rt.store->tenants().FindByName("demo");
  Tenant tenant;
  if (existing.ok()) {
    tenant = *existing;
    // A fresh key each start: the previous demo keys are revoked, so only the printed one works.
    CS_ASSIGN_OR_RETURN(auto keys, rt.store->api_keys().List(tenant.id));
    for (const auto& k : keys) {
      if (k.name == "demo" && !k.revoked_at_ms) CS_RETURN_IF_ERROR(rt.api_keys->Revoke(actor, tenant.id, k.id));
    }
  } else if (existing.status().code() == StatusCode::kNotFound) {
    CS_ASSIGN_OR_RETURN(tenant, CreateTenant(rt, "demo"));
  } else {
    return existing.status();
  }
  return rt.api_keys->Create(actor, tenant.id, "demo", KnownScopes(), 7);
}

Status PrepareDemoConsent(MessagingRuntime& messaging, const std::string& tenant_id) {
  ConsentService& consent = *messaging.consent;
  const AuditActor actor = AuditActor::System();
  Purpose order;
  order.tenant_id = tenant_id;
  order.id = "order_updates";
  order.name = "order updates";
  order.legal_basis = "consent";
  order.category = "UTILITY";
  order.confirmation_template = "consent_request";
  Purpose marketing = order;
  marketing.id = "marketing";
  marketing.name = "offers and news";
  marketing.category = "MARKETING";
  Purpose login = order;
  login.id = "login_codes";
  login.name = "login codes";
  login.category = "AUTHENTICATION";
  for (const Purpose& p : {order, marketing, login}) CS_RETURN_IF_ERROR(consent.DefinePurpose(actor, p).status());
  struct Tmpl {
    const char* name;
    const char* category;
    const char* purpose;
    bool optout;
  };
  for (const Tmpl& t : {Tmpl{"order_shipped", "UTILITY", "order_updates", false},
                        Tmpl{"appointment_reminder", "UTILITY", "order_updates", false},
                        Tmpl{"consent_request", "UTILITY", "order_updates", false},
                        Tmpl{"spring_sale", "MARKETING", "marketing", true},
                        Tmpl{"login_code", "AUTHENTICATION", "login_codes", false}}) {
    // Registered at every start: the demo's sandbox starts afresh with its
    // templates approved as listed, and the gateway must agree with it.
    TemplateRecord r;
    r.tenant_id = tenant_id;
    r.name = t.name;
    r.language = "en_US";
    r.category = t.category;
    r.purpose_id = t.purpose;
    r.has_optout = t.optout;
    CS_RETURN_IF_ERROR(consent.RegisterTemplate(actor, r));
  }
  // A privacy notice in two languages: consent evidence points at it, and
  // a first contact gets its information message (docs/consent.md).
  struct Text {
    const char* language;
    const char* text;
    const char* info;
  };
  for (const Text& t :
       {Text{"en", "Demo Shop privacy notice. We use your WhatsApp number to send the messages you ask for: order "
                   "updates, offers if you agree, login codes. Legal bases: GDPR Art. 6(1)(a) and (b). You can "
                   "withdraw at any time by writing STOP; you have the rights of GDPR Art. 15-22.",
             "Demo Shop processes your number to answer you. Privacy notice: https://shop.example/privacy"},
        Text{"de", "Datenschutzhinweis des Demo Shop. Wir nutzen Ihre WhatsApp-Nummer für die Nachrichten, die Sie "
                   "wünschen: Bestellinformationen, Angebote mit Ihrer Einwilligung, Anmeldecodes. Rechtsgrundlagen: "
                   "Art. 6 Abs. 1 lit. a und b DSGVO. Widerruf jederzeit mit STOPP; Ihre Rechte: Art. 15-22 DSGVO.",
             "Der Demo Shop verarbeitet Ihre Nummer, um Ihnen zu antworten. Datenschutz: https://shop.example/datenschutz"}}) {
    Notice n;
    n.tenant_id = tenant_id;
    n.version = "2026-11";
    n.language = t.language;
    n.text = t.text;
    n.info_message = t.info;
    Status published = consent.notices().Publish(actor, n).status();
    // Notices are immutable: a restarted demo keeps the one it published.
    if (!published.ok() && published.machine_code() != "notice_exists") return published;
  }
  return Status::Ok();
}

// The demo's Cloud API: a sandbox on its own listener, wired to the
// gateway's demo channel with fresh credentials each start.

Status DemoSandbox::Start(AdminRuntime& rt, MessagingRuntime& messaging, const std::string& tenant_id,
                          const std::string& gateway_url, const std::string& listen, std::ostream& out,
                          std::function<int64_t(std::string_view, std::string_view, bool)> large_body_limit,
                          int64_t large_body_limit_max) {
  HttpServerOptions http;
  size_t colon = listen.rfind(':');
  std::optional<int64_t> port = colon == std::string::npos ? std::nullopt : ParseNonNegativeInt(listen.substr(colon + 1));
  if (!port || *port > 65535) return InvalidArgument("invalid_listen", "--sandbox-listen must be host:port");
  http.host = listen.substr(0, colon);
  http.port = static_cast<uint16_t>(*port);
  http.max_body_bytes = 4 << 20;
  http.large_body_limit = std::move(large_body_limit);
  http.large_body_limit_max = large_body_limit_max;
  CS_ASSIGN_OR_RETURN(server_, CreateHttpServer(http, [this](const HttpRequest& r) { return sandbox_->Handle(r); }, nullptr));
  const std::string url = "http://" + http.host + ":" + std::to_string(server_->port());

  SandboxOptions so;
  CS_ASSIGN_OR_RETURN(std::string token, rt.random.Bytes(24));
  CS_ASSIGN_OR_RETURN(std::string secret, rt.random.Bytes(24));
  CS_ASSIGN_OR_RETURN(std::string verify, rt.random.Bytes(12));
  so.access_token = "sandbox-" + HexEncode(token);
  so.app_secret = HexEncode(secret);
  ChannelSpec spec;
  spec.tenant_id = tenant_id;
  spec.phone_number_id = so.phone_number_id;
  spec.waba_id = so.waba_id;
  spec.display_phone_number = so.display_phone_number;
  spec.graph_base_url = url;
  spec.access_token = SecretString(so.access_token);
  spec.app_secret = SecretString(so.app_secret);
  spec.verify_token = SecretString(HexEncode(verify));
  Result<Channel> existing = rt.store->channels().FindChannelByPhoneNumberId(so.phone_number_id);
  Channel channel;
  if (existing.ok() && existing->tenant_id == tenant_id) {
    CS_ASSIGN_OR_RETURN(channel, messaging.channels->Update(AuditActor::System(), existing->id, spec));
  } else if (existing.ok()) {
    return FailedPrecondition("conflict", "the sandbox's phone_number_id belongs to another tenant");
  } else if (existing.status().code() == StatusCode::kNotFound) {
    CS_ASSIGN_OR_RETURN(channel, messaging.channels->Create(AuditActor::System(), spec));
  } else {
    return existing.status();
  }
  if (!channel.paused_reason.empty()) CS_RETURN_IF_ERROR(messaging.channels->SetPaused(AuditActor::System(), channel, ""));
  so.webhook_url = gateway_url + "/webhooks/whatsapp/" + channel.id;
  CS_RETURN_IF_ERROR(PrepareDemoConsent(messaging, tenant_id));
  sandbox_ = CreateSandbox(so, clock_);
  sandbox_->Start();
  thread_ = std::thread([this] { server_->Run(); });
  out << "  Sandbox:     " << url << "  (a local WhatsApp Cloud API; docs/sandbox.md)\n"
      << "  Channel:     " << channel.id << "  (phone_number_id " << channel.phone_number_id << ")\n";
  return Status::Ok();
}

void DemoSandbox::Stop() {
  if (server_) server_->Stop();
  if (thread_.joinable()) thread_.join();
  if (sandbox_) sandbox_->Stop();
}

}  // namespace cs
