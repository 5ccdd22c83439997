// File: wire.h
// The WhatsApp Cloud API wire format (docs/whatsapp.md, the reference is
// ../shared/spec/whatsapp-cloud-api.md): what both the gateway and the
// sandbox must agree on byte for byte. Outbound message validation, Meta's
// error envelope and retry table, webhook signatures, Meta's JSON escaping,
// and the webhook envelope parser.
//
// No I/O here: everything is a pure function, so the gateway, the sandbox
// and the fuzz target share one definition of "valid".
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/http.h"
#include "json/json.h"

namespace cs::whatsapp {

// ---------------------------------------------------------------- errors

// One row of the error table (spec §4).
struct GraphError {
  int code = 0;
  int http_status = 400;
  std::string title;    // "(#<code>) <title>" is the message
  std::string details;  // error_data.details; never holds personal data
  // Set when the gateway refused, not Meta: its machine code
  // (docs/errors.md). The message is then "(#<code>) <details>", so an SDK
  // that shows only the message shows why, and error_data carries the code
  // as "consentry_code"; Meta's code stays for SDKs that branch on it.
  std::string gateway_code;
};

// Returns the error for `code` with its title and HTTP status from the
// table; unknown codes get HTTP 400 and a generic title.
GraphError MakeGraphError(int code, std::string details = {});

// Returns Meta's error envelope for `error`, in Meta's escaping:
// {"error":{"message":"(#code) title","type":"OAuthException","code":…,
//  "error_data":{"messaging_product":"whatsapp","details":…},"fbtrace_id":…}}
std::string GraphErrorBody(const GraphError& error, std::string_view fbtrace_id);

// What a sender may do after an error (spec §4, "retry rule of thumb").
enum class RetryPolicy {
  kNever,         // permanent: fix the request, never resend
  kRetry,         // transient: exponential backoff with jitter
  kRetryOnce,     // code 1: one more attempt
  kRetryLong,     // app or WABA rate limits: minutes of backoff
  kRetryPair,     // 131056: back off this recipient only (≥ 6 s, growing)
  kPauseChannel,  // 0, 190: the token is bad; pause the channel and alert
};
RetryPolicy RetryPolicyFor(int code);

// Returns the Graph code for a validation Status from ValidateOutbound.
int GraphCodeFor(const Status& status);

// ------------------------------------------------------- outbound messages

// The facts about a valid send request that the gateway acts on. The body
// itself is kept as received (canonicalised) and sent as is.
struct OutboundMessage {
  enum class Kind { kMessage, kMarkRead };
  Kind kind = Kind::kMessage;
  std::string type;                 // "text", "template", … ("" for mark-read)
  std::string to_input;             // `to` as sent (echoed in contacts[].input)
  std::string wa_id;                // digits only, country code first ("" when `recipient` is used)
  std::string recipient_user_id;    // BSUID when sent to `recipient`
  bool group = false;
  bool free_form = true;            // false for templates: allowed outside the 24 h window
  std::string template_name;
  std::string template_language;
  int template_body_parameters = 0;
  std::string marked_message_id;    // mark-read: the inbound wamid
  std::string body_json;            // the canonical body to send upstream
};

// Validates a send body (spec §2) before anything is queued: the envelope,
// each message type's required fields, lengths and counts. Tolerates what
// real SDKs send (§9): `contacts` as a JSON-encoded string, a button
// `index` as number or string. Refusals are kInvalidArgument with machine
// codes "invalid_parameter" (Graph 100), "missing_parameter" (131008),
// "invalid_parameter_value" (131009), "unsupported_message_type" (131051),
// "too_long" (a length limit; Graph 100, as the simulator checklist says);
// the message names the field but never echoes its value.
Result<OutboundMessage> ValidateOutbound(const JsonValue& body);

// ------------------------------------------------------------ media

// Checks a file against Meta's media table (spec §3): the MIME type must
// be one WhatsApp takes (parameters such as "; charset" ignored), the size
// within its kind's limit, and the content must start as that type does
// (magic bytes, CHAN-08), so a renamed executable is not sent as a "PDF".
// Returns the kind ("image", "video", "audio", "document", "sticker") or
// kInvalidArgument "media_unsupported" / "media_too_large" /
// "media_content_mismatch", which the Graph API reports as 131053.
Result<std::string> CheckMediaUpload(std::string_view mime_type, std::string_view bytes);
// The fields of a Graph media upload (multipart: `file`, `type`,
// `messaging_product`), read as SDKs send them (spec §9): messaging_product
// may come in the query string, `type` may be missing (the file part's
// Content-Type counts). One file per request. Views into `request.body`.
struct MediaUploadForm {
  std::string mime_type;
  std::string filename;
  std::string_view bytes;
};
// kInvalidArgument (Graph code 100) with a message saying what is wrong.
Result<MediaUploadForm> ReadMediaUploadForm(const HttpRequest& request);

// Whether `bytes` start as files of `mime_type` do; nullopt for a type
// outside Meta's table (nothing to compare with).
std::optional<bool> MediaContentMatches(std::string_view mime_type, std::string_view bytes);

// ------------------------------------------------------------ signatures

// Returns "sha256=" + lowercase hex HMAC-SHA-256 of `body` under `secret`.
std::string HubSignature(std::string_view secret, std::string_view body);

// Checks an X-Hub-Signature-256 value against `body` in constant time.
// Refusals: kUnauthenticated "signature_missing" (empty header),
// "signature_malformed" (not sha256=<64 hex>), "signature_mismatch".
Status VerifyHubSignature(std::string_view secret, std::string_view header_value, std::string_view body);

// Rewrites compact JSON into Meta's escaping: '/' as "\/" and every
// non-ASCII character as a \u escape of four hex digits (UTF-16 surrogate
// pairs above U+FFFF), exactly as Meta sends its bodies.
// REQUIRES: `json` is valid JSON in valid UTF-8.
std::string MetaEscape(std::string_view json);

// --------------------------------------------------------------- webhooks

struct WebhookMetadata {
  std::string waba_id;
  std::string phone_number_id;
  std::string display_phone_number;
};

struct InboundMessage {
  WebhookMetadata where;
  std::string id;              // wamid
  std::string from;            // digits; "" when the user hides the number
  std::string from_user_id;    // BSUID, if any
  std::string from_parent_user_id;  // parent BSUID, if any
  std::string profile_name;    // from the sibling contacts[] entry
  std::string username;        // contacts[].profile.username (2026+), if any
  std::string type;            // as sent, unknown types included
  int64_t timestamp = 0;       // unix seconds
  std::string text;            // text body, button text, or reply title: what a keyword check reads
  std::string reply_id;        // button payload or interactive reply id
  std::string raw_json;        // the message object, complete, unknown fields kept
};

struct StatusUpdate {
  WebhookMetadata where;
  std::string id;              // wamid of our message
  std::string status;          // sent, delivered, read, played, failed, or unknown values
  int64_t timestamp = 0;
  std::string recipient_id;
  std::string recipient_user_id;  // BSUID, when the message went to one
  std::vector<int> error_codes;
  std::string callback_data;   // biz_opaque_callback_data, echoed from the send
  std::string raw_json;
};

struct UserPreference {
  WebhookMetadata where;
  std::string wa_id;
  std::string category;        // "marketing_messages"
  std::string value;           // "stop" | "resume"
  int64_t timestamp = 0;
};

struct ValueError {
  WebhookMetadata where;
  int code = 0;
  std::string title;
};

// Everything in one delivery: every entry, change and item (spec §6.2).
// Meta's review of a template changed (fields template_category_update and
// message_template_status_update, spec §6.7).
struct TemplateUpdate {
  WebhookMetadata where;
  std::string field;
  std::string name;
  std::string language;
  std::string status;             // message_template_status_update's event: APPROVED, PAUSED, …; "" otherwise
  std::string category;           // the category in force after the change; "" when not given
  std::string previous_category;  // a completed category change
  std::string correct_category;   // an announced change: the category Meta will apply
  int64_t change_at = 0;          // when an announced change applies (Unix seconds)
  std::string reason;
};

struct WebhookBatch {
  std::vector<InboundMessage> messages;
  std::vector<StatusUpdate> statuses;
  std::vector<UserPreference> preferences;
  std::vector<ValueError> errors;
  std::vector<TemplateUpdate> templates;
  std::vector<std::string> other_changes;  // raw JSON of changes of other fields (kept, not acted on)
};

// Parses a webhook body. Refuses only what cannot be a WhatsApp delivery
// (invalid_webhook: not an object, `object` missing or not
// "whatsapp_business_account", `entry` not an array); unknown fields,
// fields and message types are kept.
Result<WebhookBatch> ParseWebhook(const JsonValue& root);

// Builds the envelope of one delivery around `value_json` (a complete
// "value" object), as Meta sends it: compact and in Meta's escaping.
std::string WebhookEnvelope(std::string_view waba_id, std::string_view field, std::string_view value_json);

}  // namespace cs::whatsapp
