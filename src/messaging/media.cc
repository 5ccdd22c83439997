// MediaService of messaging.h: uploads and downloads through the gateway,
// without keeping the bytes (docs/media.md).
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <optional>

#include "common/json_writer.h"
#include "common/strings.h"
#include "docscan/document_text.h"
#include "http/client.h"
#include "http/multipart.h"
#include "messaging/media.h"
#include "whatsapp/wire.h"

namespace cs {

namespace {

constexpr int64_t kUploadLifetimeMs = 30LL * 86'400'000;   // Meta keeps uploads 30 days
constexpr int64_t kInboundLifetimeMs = 7LL * 86'400'000;   // and received media 7

const char* const kMediaTypes[] = {"image", "video", "audio", "document", "sticker"};

std::string GraphUrl(const Channel& channel, std::string_view tail) {
  return channel.graph_base_url + "/" + channel.graph_version + "/" + std::string(tail);
}

// Meta's download URLs point at its CDN; the sandbox's at itself. Anything
// else is refused rather than fetched with the channel's token (which
// would hand the token to that host).
bool IsMetaMediaHost(const Channel& channel, const ParsedUrl& url) {
  // Plain host names only: a NUL or other odd byte could make the resolver
  // see another host than the suffix check does.
  for (char c : url.host) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  auto graph = ParseUrl(channel.graph_base_url);
  if (graph.ok() && url.host == graph->host && url.port == graph->port && url.tls == graph->tls) return true;
  constexpr std::string_view kCdn = ".fbsbx.com";  // lookaside.fbsbx.com and its mirrors
  return url.tls && url.host.size() > kCdn.size() && url.host.compare(url.host.size() - kCdn.size(), kCdn.size(), kCdn) == 0;
}

std::string RandomBoundary() {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) return "consentry-boundary-0000000000";
  return "consentry-" + HexEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace

Result<std::pair<MediaRef, Channel>> MediaService::Resolve(const std::string& tenant_id, const std::string& media_id) {
  // Another tenant's media and unknown ids look the same: kNotFound.
  CS_ASSIGN_OR_RETURN(MediaRef ref, store_.inbound().GetMediaRef(tenant_id, media_id));
  if (ref.expires_at_ms <= clock_.NowUnixMillis()) return NotFound("the media has expired at Meta");
  CS_ASSIGN_OR_RETURN(Channel channel, store_.channels().GetChannel(tenant_id, ref.channel_id));
  return std::make_pair(std::move(ref), std::move(channel));
}

namespace {

// Holds one of the service's concurrent Meta calls: media calls block an
// HTTP worker for up to a minute, so only a few may run at once.
class CallSlot {
 public:
  CallSlot(std::atomic<int>& in_flight, int max) : in_flight_(in_flight), ok_(++in_flight_ <= max) {}
  ~CallSlot() { --in_flight_; }
  CallSlot(const CallSlot&) = delete;
  CallSlot& operator=(const CallSlot&) = delete;
  bool ok() const { return ok_; }

 private:
  std::atomic<int>& in_flight_;
  bool ok_;
};

Result<HttpClientResponse> CallMeta(ChannelService& channels, const Channel& channel, std::string_view method,
                                    const std::string& url, HeaderList headers, std::string_view body,
                                    int64_t timeout_ms, int64_t max_bytes) {
  CS_ASSIGN_OR_RETURN(auto secrets, channels.Secrets(channel));
  headers.emplace_back("Authorization", "Bearer " + std::string(InsecureSecretAccess::Get(secrets->access_token)));
  HttpClientOptions options;
  options.timeout_ms = timeout_ms;
  options.max_response_bytes = max_bytes;
  // Meta's CDN has been reported to refuse requests without a browser-like agent (spec §3).
  options.user_agent = "Mozilla/5.0 (compatible; consentry)";
  std::unique_ptr<HttpClient> client = CreateHttpClient(options);
  Result<HttpClientResponse> r = client->Send(method, url, headers, body);
  if (!r.ok() && r.status().machine_code() == "upstream_response_too_large") {
    return Unavailable("upstream_response_too_large", "Meta's answer is larger than this gateway accepts");
  }
  return r;
}

// Meta refused the channel's token: the operator must renew it (the
// dispatcher pauses the channel the same way).
bool TokenRefused(const HttpClientResponse& r) {
  if (r.status == 401) return true;
  auto json = ParseJson(r.body);
  const JsonValue* error = json.ok() ? json->Find("error") : nullptr;
  const JsonValue* code = error != nullptr ? error->Find("code") : nullptr;
  return code != nullptr && code->type() == JsonValue::Type::kInt && code->as_int() == 190;
}

Result<JsonValue> ParseMetaAnswer(std::string_view body) {
  Result<JsonValue> json = ParseJson(body);
  if (!json.ok()) return Unavailable("upstream_invalid_answer", "Meta's answer is not JSON");
  return json;
}

}  // namespace

Status MediaService::CheckToken(const Channel& channel, const HttpClientResponse& answer) {
  if (!TokenRefused(answer)) return Status::Ok();
  channels_.SetPaused(AuditActor::System(), channel, "token_invalid").IgnoreError();  // the answer says it all
  return Unavailable("channel_token_invalid", "Meta refused the channel's token; an operator must renew it");
}

Result<HttpClientResponse> MediaService::CallMediaObject(const Channel& channel, std::string_view method,
                                                         const std::string& media_id) {
  CS_ASSIGN_OR_RETURN(HttpClientResponse r,
                      CallMeta(channels_, channel, method,
                               GraphUrl(channel, media_id + "?phone_number_id=" + channel.phone_number_id), {}, "",
                               options_.http_timeout_ms, 1 << 20));
  CS_RETURN_IF_ERROR(CheckToken(channel, r));
  return r;
}

Status MediaService::Audit(const AuditActor& actor, const std::string& tenant_id, const std::string& action,
                           const std::string& media_id, const std::string& outcome, const std::string& details) {
  AuditEvent e{
      .tenant_id = tenant_id,
      .actor = actor,
      .action = action,
      .resource = "media:" + media_id,
      .outcome = outcome,
      .details = details
  };
  return store_.InTransaction([&](StoreTransaction& tx) { return ledger_.Record(tx, e); });
}

Result<MediaService::DocumentVerdict> MediaService::ScanDocument(const std::string& tenant_id,
                                                                 const std::string& mime_type, std::string_view bytes,
                                                                 scan::Direction direction, bool picture) {
  DocumentVerdict verdict;
  Result<std::string> text = options_.document_text
                                 ? options_.document_text(mime_type, bytes)
                                 : docscan::ExtractText(docscan::FormatOf(mime_type), bytes);
  JsonWriter details;
  details.BeginObject();
  if (!text.ok()) {
    const std::string code = text.status().machine_code();
    if (code.rfind("document_", 0) != 0) return text.status();  // the extractor itself failed: retry later
    details.Key("scanned").Bool(false).Key("reason").String(code);
    verdict.details = details.EndObject().Take();
    if (options_.refuse_unscannable_documents && !picture) {
      verdict.stopped = FailedPrecondition(
          "media_unscannable", "the document cannot be scanned for sensitive data (" + code +
                                   "): send it as PDF, Word, Excel, PowerPoint or plain text, without a password");
    }
    return verdict;
  }
  CS_ASSIGN_OR_RETURN(scan::ContentPolicy policy, content_.PolicyFor(tenant_id));
  std::vector<scan::Finding> found = content_.scanner().Scan(*text);
  scan::Decision d = scan::Decide(policy, direction, *text, std::move(found));
  details.Key("scanned").Bool(true);
  if (picture) details.Key("recognised").Bool(true);
  // A document may hold thousands of findings (a mailing list): the audit
  // entry keeps the first ones and the count, not megabytes.
  constexpr size_t kFindingsKept = 50;
  if (d.findings.size() > kFindingsKept) {
    scan::Decision first;
    first.findings.assign(d.findings.begin(), d.findings.begin() + kFindingsKept);
    first.actions.assign(d.actions.begin(), d.actions.begin() + kFindingsKept);
    details.Key("findings_total").Int(static_cast<int64_t>(d.findings.size()));
    details.Key("content").Raw(scan::FindingsJson(first));
  } else {
    details.Key("content").Raw(scan::FindingsJson(d));
  }
  verdict.details = details.EndObject().Take();
  bool stopped = false, beyond_health = false;
  std::string summary;
  for (size_t i = 0; i < d.findings.size(); ++i) {
    if (d.actions[i] != scan::Action::kMask && d.actions[i] != scan::Action::kRefuse) continue;
    stopped = true;
    if (d.findings[i].type != scan::FindingType::kHealth) beyond_health = true;
    if (summary.find(scan::TypeName(d.findings[i].type)) == std::string::npos) {
      summary += (summary.empty() ? "" : ", ") + std::string(scan::TypeName(d.findings[i].type));
    }
  }
  if (!stopped) return verdict;
  const std::string what = picture ? "picture" : "document";
  if (direction == scan::Direction::kInbound) {
    verdict.stopped = FailedPrecondition("media_quarantined", "the " + what + " holds data the content policy does "
                                                              "not let through (" + summary + "); it was not delivered");
  } else if (!beyond_health) {
    verdict.stopped = InvalidArgument("channel_not_permitted_for_phi",
                                      "this tenant does not send health information over WhatsApp (" + summary +
                                          " in the " + what + "): link to the secure portal instead");
  } else {
    verdict.stopped = InvalidArgument("sensitive_identifier", "the " + what + " contains data that must not be sent "
                                                              "over WhatsApp (" + summary + "); files cannot be masked");
  }
  return verdict;
}

Result<MediaAnswer> MediaService::Upload(const AuditActor& actor, const std::string& tenant_id,
                                         const MediaUpload& upload) {
  Result<Channel> channel = store_.channels().FindChannelByPhoneNumberId(upload.phone_number_id);
  if (!channel.ok() || channel->tenant_id != tenant_id) {
    return Status(StatusCode::kNotFound, "no_channel", "no channel of this tenant has that phone_number_id");
  }
  // Checked here first: a file WhatsApp would refuse never leaves the gateway.
  CS_ASSIGN_OR_RETURN(std::string kind, whatsapp::CheckMediaUpload(upload.mime_type, upload.bytes));
  const std::string mime = AsciiLower(TrimAscii(std::string_view(upload.mime_type).substr(0, upload.mime_type.find(';'))));
  // One slot for the whole transfer: reading a document starts a process.
  CallSlot slot(in_flight_, options_.max_concurrent);
  if (!slot.ok()) return Unavailable("media_busy", "too many media transfers at once; retry shortly");
  std::string scan_details;
  const bool picture = (kind == "image" || kind == "sticker") && options_.ocr_images;
  if (kind == "document" || picture) {
    // CHAN-04: before anything leaves; a refusal is on the record, with what was found (never the values).
    CS_ASSIGN_OR_RETURN(DocumentVerdict verdict,
                        ScanDocument(tenant_id, mime, upload.bytes, scan::Direction::kOutbound, picture));
    if (!verdict.stopped.ok()) {
      CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.upload", "-", verdict.stopped.machine_code(), verdict.details));
      return verdict.stopped;
    }
    scan_details = std::move(verdict.details);
  }
  std::vector<MultipartField> fields = {
      {"messaging_product", "", "", "whatsapp"},
      {"type", "", "", mime},
      {"file", upload.filename.empty() ? "upload" : upload.filename, mime, upload.bytes},
  };
  CS_ASSIGN_OR_RETURN(MultipartBody body, BuildMultipartFormData(fields, RandomBoundary()));
  Result<HttpClientResponse> sent =
      CallMeta(channels_, *channel, "POST", GraphUrl(*channel, channel->phone_number_id + "/media"),
               {{"Content-Type", body.content_type}}, body.body, options_.http_timeout_ms, 1 << 20);
  if (!sent.ok()) {
    // The file may have reached Meta (outcome unknown): on the record either way.
    JsonWriter why;
    why.BeginObject().Key("bytes").Int(static_cast<int64_t>(upload.bytes.size())).EndObject();
    CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.upload", "-", sent.status().machine_code(), why.Take()));
    return sent.status();
  }
  const HttpClientResponse& r = *sent;
  CS_RETURN_IF_ERROR(CheckToken(*channel, r));
  MediaAnswer answer{r.status, r.body};
  std::string media_id;
  if (r.status == 200) {
    auto json = ParseJson(r.body);
    const JsonValue* id = json.ok() ? json->Find("id") : nullptr;
    if (id == nullptr || !id->is_string() || id->as_string().empty() || id->as_string().size() > 64) {
      CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.upload", "-", "upstream_invalid_answer", "{}"));
      return Unavailable("upstream_invalid_answer", "Meta's answer to the upload holds no media id");
    }
    media_id = id->as_string();
  }
  JsonWriter details;
  details.BeginObject().Key("kind").String(kind).Key("mime_type").String(mime);
  details.Key("bytes").Int(static_cast<int64_t>(upload.bytes.size())).Key("http_status").Int(r.status);
  if (!scan_details.empty()) details.Key("scan").Raw(scan_details);
  details.EndObject();
  const int64_t now = clock_.NowUnixMillis();
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    if (!media_id.empty()) {
      CS_RETURN_IF_ERROR(tx.inbound().PutMediaRef(
          {tenant_id, media_id, channel->id, "upload", "", mime, now, now + kUploadLifetimeMs}));
    }
    AuditEvent e{
        .tenant_id = tenant_id,
        .actor = actor,
        .action = "media.upload",
        .resource = "media:" + (media_id.empty() ? std::string("-") : media_id),
        .outcome = r.status == 200 ? "success" : "provider_error",
        .details = details.str()
    };
    return ledger_.Record(tx, e);
  }));
  return answer;
}

Result<std::string> MediaService::LinkSignature(const std::string& tenant_id, const std::string& media_id,
                                                int64_t expires_ms) {
  // An HMAC under the tenant's pepper, in its own input domain ("media-link:"
  // never starts a phone number, the pepper's other use).
  CS_ASSIGN_OR_RETURN(std::string mac,
                      keyring_.Pseudonym(tenant_id, "media-link:" + media_id + ":" + std::to_string(expires_ms)));
  return mac.substr(4, 40);
}

bool MediaService::CheckLink(const std::string& tenant_id, const std::string& media_id, int64_t expires_ms,
                             std::string_view signature) {
  if (expires_ms <= clock_.NowUnixMillis() || expires_ms > clock_.NowUnixMillis() + options_.link_lifetime_ms) {
    return false;
  }
  // Only a tenant holding this media has a key worth asking: an anonymous
  // caller naming any tenant never makes the keyring load or create keys.
  if (!store_.inbound().GetMediaRef(tenant_id, media_id).ok()) return false;
  Result<std::string> expected = LinkSignature(tenant_id, media_id, expires_ms);
  return expected.ok() && expected->size() == signature.size() &&
         CRYPTO_memcmp(expected->data(), signature.data(), signature.size()) == 0;
}

Result<MediaAnswer> MediaService::Describe(const AuditActor& actor, const std::string& tenant_id,
                                           const std::string& media_id, const std::string& public_base) {
  CS_ASSIGN_OR_RETURN(auto resolved, Resolve(tenant_id, media_id));
  const Channel& channel = resolved.second;
  CallSlot slot(in_flight_, options_.max_concurrent);
  if (!slot.ok()) return Unavailable("media_busy", "too many media transfers at once; retry shortly");
  CS_ASSIGN_OR_RETURN(HttpClientResponse r, CallMediaObject(channel, "GET", media_id));
  if (r.status != 200) return MediaAnswer{r.status, r.body};
  CS_ASSIGN_OR_RETURN(JsonValue meta, ParseMetaAnswer(r.body));
  const int64_t expires = clock_.NowUnixMillis() + options_.link_lifetime_ms;
  CS_ASSIGN_OR_RETURN(std::string sig, LinkSignature(tenant_id, media_id, expires));
  // Meta's URL (and its access to Meta's CDN) stays inside the gateway.
  // "med_" keeps Meta's long numeric id from reading like a phone number in a URL (api CheckUrl).
  const std::string url = public_base + "/v1/media/med_" + media_id + "/download?tenant=" + tenant_id +
                          "&expires=" + std::to_string(expires) + "&signature=" + sig;
  JsonWriter w;
  w.BeginObject().Key("messaging_product").String("whatsapp").Key("url").String(url);
  for (const char* key : {"mime_type", "sha256"}) {
    const JsonValue* v = meta.Find(key);
    if (v != nullptr && v->is_string()) w.Key(key).String(v->as_string());
  }
  if (const JsonValue* size = meta.Find("file_size"); size != nullptr && size->type() == JsonValue::Type::kInt) {
    w.Key("file_size").Raw(ToJson(*size));
  }
  w.Key("id").String(media_id).EndObject();
  CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.read", media_id, "success", "{}"));
  return MediaAnswer{200, w.Take()};
}

Result<MediaDownload> MediaService::Download(const AuditActor& actor, const std::string& tenant_id,
                                             const std::string& media_id) {
  CS_ASSIGN_OR_RETURN(auto resolved, Resolve(tenant_id, media_id));
  const Channel& channel = resolved.second;
  CallSlot slot(in_flight_, options_.max_concurrent);
  if (!slot.ok()) return Unavailable("media_busy", "too many media transfers at once; retry shortly");
  // A fresh URL each time: Meta's last only 5 minutes.
  CS_ASSIGN_OR_RETURN(HttpClientResponse meta_answer, CallMediaObject(channel, "GET", media_id));
  if (meta_answer.status == 404 || meta_answer.status == 400) return NotFound("Meta no longer holds this media");
  if (meta_answer.status != 200) {
    return Unavailable("upstream_error", "Meta answered " + std::to_string(meta_answer.status) + " for the media");
  }
  CS_ASSIGN_OR_RETURN(JsonValue meta, ParseMetaAnswer(meta_answer.body));
  const JsonValue* url = meta.Find("url");
  if (url == nullptr || !url->is_string()) return Unavailable("upstream_invalid_answer", "Meta gave no media URL");
  Result<ParsedUrl> parsed = ParseUrl(url->as_string());
  if (!parsed.ok()) return Unavailable("upstream_invalid_answer", "Meta's media URL does not parse");
  if (!IsMetaMediaHost(channel, *parsed)) {
    return Unavailable("upstream_invalid_answer", "Meta's media URL points at an unexpected host; not fetched");
  }
  CS_ASSIGN_OR_RETURN(HttpClientResponse file, CallMeta(channels_, channel, "GET", url->as_string(), {}, "",
                                                        options_.http_timeout_ms, options_.max_download_bytes));
  if (file.status == 404) return NotFound("Meta no longer holds this media");
  if (file.status != 200) {
    return Unavailable("upstream_error", "Meta answered " + std::to_string(file.status) + " for the download");
  }
  MediaDownload out;
  // The type Meta recorded for the media (the CDN's header is only a fallback).
  const JsonValue* meta_type = meta.Find("mime_type");
  const std::string* header_type = file.Header("content-type");
  out.content_type = meta_type != nullptr && meta_type->is_string() ? meta_type->as_string()
                     : !resolved.first.mime_type.empty()            ? resolved.first.mime_type
                     : header_type != nullptr                       ? *header_type
                                                                    : "application/octet-stream";
  // What a customer sent is checked like an upload (CHAN-08): a file of a
  // type WhatsApp knows whose content is something else is quarantined, not
  // handed on. Other types go out as opaque attachments.
  std::optional<bool> matches = whatsapp::MediaContentMatches(out.content_type, file.body);
  if (matches.has_value() && !*matches) {
    CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.quarantine", media_id, "media_content_mismatch", "{}"));
    return Status(StatusCode::kFailedPrecondition, "media_quarantined",
                  "the file's content is not the " + out.content_type + " it claims to be; it was not delivered");
  }
  const std::string declared =
      AsciiLower(TrimAscii(std::string_view(out.content_type).substr(0, out.content_type.find(';'))));
  if (!matches.has_value()) out.content_type = "application/octet-stream";
  std::string scan_details;
  // CHAN-04: everything a customer sends that is not a picture, a video or a
  // sound of a type WhatsApp knows is a document to read (a CSV, a zip, a file of no known type too).
  // One holding what the policy stops (a card number, where cards are
  // masked) is not handed on, since it cannot be masked; one that cannot be
  // read is withheld too unless the operator chose to deliver those.
  // A picture is one only when its content says so: a PDF named image/gif is read as a document.
  const bool media_kind = matches.value_or(false) && (declared.rfind("image/", 0) == 0 ||
                                                      declared.rfind("video/", 0) == 0 ||
                                                      declared.rfind("audio/", 0) == 0);
  // A picture's text is recognised (a photo of a card, a screenshot of a
  // statement): one holding what the policy stops is withheld too.
  const bool picture = media_kind && options_.ocr_images && docscan::FormatOf(declared) == docscan::Format::kImage;
  if (!media_kind || picture) {
    CS_ASSIGN_OR_RETURN(DocumentVerdict verdict,
                        ScanDocument(tenant_id, declared, file.body, scan::Direction::kInbound, picture));
    if (!verdict.stopped.ok()) {
      const bool unscannable = verdict.stopped.machine_code() == "media_unscannable";
      CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.quarantine", media_id,
                               unscannable ? "media_unscannable" : "sensitive_content", verdict.details));
      if (!unscannable) return verdict.stopped;
      return Status(StatusCode::kFailedPrecondition, "media_quarantined",
                    "the customer's file cannot be scanned for sensitive data; it was not delivered "
                    "(messaging.unscannable_documents)");
    }
    scan_details = std::move(verdict.details);
  }
  out.bytes = std::move(file.body);
  JsonWriter details;
  details.BeginObject().Key("bytes").Int(static_cast<int64_t>(out.bytes.size()));
  if (!scan_details.empty()) details.Key("scan").Raw(scan_details);
  details.EndObject();
  CS_RETURN_IF_ERROR(Audit(actor, tenant_id, "media.download", media_id, "success", details.Take()));
  return out;
}

Result<MediaAnswer> MediaService::Delete(const AuditActor& actor, const std::string& tenant_id,
                                         const std::string& media_id) {
  CS_ASSIGN_OR_RETURN(auto resolved, Resolve(tenant_id, media_id));
  const Channel& channel = resolved.second;
  CallSlot slot(in_flight_, options_.max_concurrent);
  if (!slot.ok()) return Unavailable("media_busy", "too many media transfers at once; retry shortly");
  CS_ASSIGN_OR_RETURN(HttpClientResponse r, CallMediaObject(channel, "DELETE", media_id));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    if (r.status == 200) CS_RETURN_IF_ERROR(tx.inbound().DeleteMediaRef(tenant_id, media_id));
    AuditEvent e{
        .tenant_id = tenant_id,
        .actor = actor,
        .action = "media.delete",
        .resource = "media:" + media_id,
        .outcome = r.status == 200 ? "success" : "provider_error"
    };
    return ledger_.Record(tx, e);
  }));
  return MediaAnswer{r.status, r.body};
}

Status RecordInboundMedia(StoreTransaction& tx, const InboundMessageRecord& record, std::string_view message_json,
                          int64_t now_ms) {
  const std::string& type = record.type;
  bool is_media = false;
  for (const char* t : kMediaTypes) is_media = is_media || type == t;
  if (!is_media) return Status::Ok();
  auto message = ParseJson(message_json);
  if (!message.ok()) return Status::Ok();  // kept as received; nothing to reference
  const JsonValue* media = message->Find(type);
  const JsonValue* id = media != nullptr && media->is_object() ? media->Find("id") : nullptr;
  if (id == nullptr || !id->is_string() || id->as_string().empty() || id->as_string().size() > 64) return Status::Ok();
  const JsonValue* mime = media->Find("mime_type");
  return tx.inbound().PutMediaRef({record.tenant_id, id->as_string(), record.channel_id, "inbound", record.subject,
                                     mime != nullptr && mime->is_string() ? mime->as_string() : "", now_ms,
                                     now_ms + kInboundLifetimeMs});
}

}  // namespace cs
