// File: messaging_routes.h (internal to api/)
// The WhatsApp routes: the native message and channel API, the
// Graph-compatible endpoints existing SDKs call, and the Meta webhook.
// Authentication and scope checks happen in gateway_api.cc; these
// functions decode, call messaging/, and encode.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "auth/auth.h"
#include "http/http.h"

namespace cs::api_internal {

struct MessagingRouteDeps {
  MessageService* messages = nullptr;
  MediaService* media = nullptr;
  ChannelService* channels = nullptr;
  WebhookReceiver* webhooks = nullptr;
  SubscriberService* subscribers = nullptr;
  HistoryService* history = nullptr;
  JsonLimits json_limits;
  std::vector<std::string> allowed_graph_urls;
  std::string public_base_url;  // http.public_base_url ("" = from the request)
};

Result<HttpResponse> SendMessage(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                 const AuditActor& actor);
Result<HttpResponse> GetMessage(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                const std::string& id);
Result<HttpResponse> CreateChannel(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor);
Result<HttpResponse> ListChannels(const MessagingRouteDeps& d, const Principal& p);
// Replaces a channel's token, secrets, endpoint or throughput (after a
// token_invalid pause, or a rotation at Meta).
Result<HttpResponse> UpdateChannel(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor, const std::string& id);
Result<HttpResponse> ResumeChannel(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                   const std::string& id);

// Conversation history (docs/retention.md): the tenant's policy, and a
// subject's conversation.
Result<HttpResponse> GetHistoryPolicy(const MessagingRouteDeps& d, const Principal& p);
Result<HttpResponse> PutHistoryPolicy(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor);
Result<HttpResponse> DeleteHistoryPolicy(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor);
Result<HttpResponse> ReadConversation(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor, const std::string& subject);

Result<HttpResponse> CreateSubscriber(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor);
Result<HttpResponse> ListSubscribers(const MessagingRouteDeps& d, const Principal& p);
Result<HttpResponse> DeleteSubscriber(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                      const std::string& id);
Result<HttpResponse> DeadLetters(const MessagingRouteDeps& d, const Principal& p, const std::string& id);
Result<HttpResponse> RetryDeadLetter(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                     const std::string& id, const std::string& event_id);

// A Graph API path: "/{vNN.N}/{phone_number_id}/{edge}" or without the
// version (spec §9). `edge` is "messages", "marketing_messages" or "media".
// A Graph API path: `/{version}/{phone_number_id}/{edge}`, or a media
// object `/{version}/{media_id}` (edge "", id in phone_number_id's place).
// The version segment is optional (spec §9).
struct GraphPath {
  std::string phone_number_id;
  std::string edge;
  bool is_media_object() const { return edge.empty(); }
};
std::optional<GraphPath> MatchGraphPath(std::string_view path);

// GET /v1/media/{id}/download: the bytes of a medium, for a signed link
// (`tenant`, `expires`, `signature` from GET /{media-id}) or, with
// `principal` set, for the caller's tenant.
HttpResponse DownloadMedia(const MessagingRouteDeps& d, const HttpRequest& req, const Principal* principal,
                           const AuditActor& actor, const std::string& media_id);

// Meta's error envelope as an HttpResponse.
HttpResponse GraphErrorResponse(int code, std::string details, int http_status_override = 0);
// The gateway's own refusal in Meta's envelope: Meta's `code` (SDKs branch
// on it), the gateway's machine code and sentence in the message and in
// error_data.details, the machine code alone as error_data.consentry_code.
HttpResponse GraphRefusalResponse(int code, const Status& refusal);

// Answers a Graph-compatible call from an authenticated key.
HttpResponse GraphCall(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                       const AuditActor& actor, const GraphPath& path);

// "/webhooks/whatsapp/{channel_id}" → channel_id.
std::optional<std::string> MatchWebhookPath(std::string_view path);
HttpResponse Webhook(const MessagingRouteDeps& d, const HttpRequest& req, const std::string& channel_id);

}  // namespace cs::api_internal
