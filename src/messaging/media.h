// File: media.h
// Media through the gateway (docs/media.md): uploads passed to Meta and
// scanned, signed download links, tenant isolation.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "audit/audit.h"
#include "common/status.h"
#include "env/env.h"
#include "messaging/channels.h"
#include "messaging/content_guard.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

struct HttpClientResponse;

// Media through the gateway (docs/media.md): uploads are passed to Meta
// with the channel's token and never stored; the gateway keeps only which
// tenant may use which media id (MediaRef), so one tenant can never read or
// delete another's files. Downloads are proxied: the URL handed out points
// at the gateway, signed for 5 minutes with the tenant's pepper, and the
// gateway fetches the bytes from Meta's URL (whose host must be the
// channel's Graph host or Meta's lookaside CDN) with the real token.
struct MediaUpload {
  std::string phone_number_id;
  std::string mime_type;        // the `type` field, or the file part's type
  std::string filename;
  std::string_view bytes;
};

// Meta's answer to a media call, passed through as it is to callers of
// the Graph-compatible media endpoints (drop-in SDKs read Meta's own
// statuses and bodies); the service's own refusals are Status values.
struct MediaAnswer {
  int http_status = 200;        // Meta's status
  std::string body;             // Meta's JSON body (an error envelope too)
};

struct MediaDownload {
  std::string content_type;
  std::string bytes;
};

struct MediaServiceOptions {
  int max_concurrent = 8;             // Meta calls in flight; more answer media_busy (503)
  int64_t http_timeout_ms = 60000;
  int64_t max_download_bytes = 100 << 20;
  int64_t link_lifetime_ms = 5 * 60'000;
  // Reads a document's text for the content scanner (docscan): the server
  // sets the isolated child process; null, in this process (unit tests).
  std::function<Result<std::string>(std::string_view mime_type, std::string_view bytes)> document_text;
  // A document whose text cannot be read (password, damage, a legacy Office
  // format, a limit): refused (true), or passed on unscanned and audited so.
  bool refuse_unscannable_documents = true;
  // Pictures (JPEG, PNG, WebP) are read by text recognition and scanned as
  // documents are (messaging.ocr_images).
  bool ocr_images = true;
};

class MediaService {
 public:
  // Documents are scanned by `content` for what the tenant's content policy
  // stops (CHAN-04) before an upload leaves and before a customer's file is
  // handed on.
  MediaService(Store& store, ChannelService& channels, TenantKeyring& keyring, const AuditLedger& ledger,
               const Clock& clock, ContentGuard& content, MediaServiceOptions options = {})
      : store_(store), channels_(channels), keyring_(keyring), ledger_(ledger), clock_(clock), content_(content),
        options_(options) {}

  // Uploads to Meta through the tenant's channel for `phone_number_id`.
  // kNotFound "no_channel"; kInvalidArgument "media_unsupported" /
  // "media_too_large" before anything leaves. Meta's refusals come back as
  // a MediaAnswer with its status. Audited as media.upload.
  Result<MediaAnswer> Upload(const AuditActor& actor, const std::string& tenant_id, const MediaUpload& upload);
  // Meta's description of the media (mime_type, sha256, file_size), with
  // `url` replaced by a signed gateway URL built on `public_base` (e.g.
  // "http://127.0.0.1:8080"). kNotFound for media the tenant does not hold.
  Result<MediaAnswer> Describe(const AuditActor& actor, const std::string& tenant_id, const std::string& media_id,
                               const std::string& public_base);
  // The bytes, fetched from Meta. Audited as media.download.
  Result<MediaDownload> Download(const AuditActor& actor, const std::string& tenant_id, const std::string& media_id);
  // Deletes at Meta, then forgets the reference. Audited as media.delete.
  Result<MediaAnswer> Delete(const AuditActor& actor, const std::string& tenant_id, const std::string& media_id);

  // The signature of a download link (hex), and its check in constant time.
  Result<std::string> LinkSignature(const std::string& tenant_id, const std::string& media_id, int64_t expires_ms);
  bool CheckLink(const std::string& tenant_id, const std::string& media_id, int64_t expires_ms,
                 std::string_view signature);

 private:
  // The content policy applied to a document's text. A document cannot be
  // masked: a finding the policy would mask or refuse stops it, as
  // `stopped`. `details` gets {"scanned":…,"content":[findings]} or the
  // reason it could not be scanned; never a value.
  struct DocumentVerdict {
    Status stopped;
    std::string details;
  };
  // A picture's text is recognised (OCR); one whose text cannot be read
  // passes unscanned, as pictures always did, where a document is refused.
  Result<DocumentVerdict> ScanDocument(const std::string& tenant_id, const std::string& mime_type,
                                       std::string_view bytes, scan::Direction direction, bool picture = false);
  Result<std::pair<MediaRef, Channel>> Resolve(const std::string& tenant_id, const std::string& media_id);
  // Pauses the channel (token_invalid) when Meta refused its token, and
  // returns channel_token_invalid (503 to the caller) then.
  Status CheckToken(const Channel& channel, const HttpClientResponse& answer);
  // GET or DELETE /{media_id}?phone_number_id=… with the channel's token.
  Result<HttpClientResponse> CallMediaObject(const Channel& channel, std::string_view method,
                                             const std::string& media_id);
  Status Audit(const AuditActor& actor, const std::string& tenant_id, const std::string& action,
               const std::string& media_id, const std::string& outcome, const std::string& details);

  Store& store_;
  ChannelService& channels_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  ContentGuard& content_;
  MediaServiceOptions options_;
  std::atomic<int> in_flight_{0};
};

// Records the media id of an inbound message (`record.type` image, video,
// audio, document or sticker) as its tenant's, for its channel and subject,
// in the caller's transaction.
Status RecordInboundMedia(StoreTransaction& tx, const InboundMessageRecord& record, std::string_view message_json,
                          int64_t now_ms);

}  // namespace cs
