// The content protection routes of scan_routes.h.
#include "api/scan_routes.h"

#include "messaging/content_guard.h"

namespace cs::api_internal {

Result<HttpResponse> ScanText(const ScanRouteDeps& d, const HttpRequest& req, const Principal& p) {
  if (d.content == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string text, r.RequiredString("text"));
  CS_ASSIGN_OR_RETURN(std::optional<bool> mask, r.OptionalBool("mask"));
  CS_RETURN_IF_ERROR(r.Finish());
  CS_ASSIGN_OR_RETURN(scan::ContentPolicy policy, d.content->PolicyFor(p.tenant_id));
  const std::vector<scan::Finding> found = d.content->scanner().Scan(text);
  return JsonResponse(200, scan::ExplainJson(policy, text, found, mask.value_or(false)));
}

Result<HttpResponse> GetContentPolicy(const ScanRouteDeps& d, const Principal& p) {
  if (d.content == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(scan::ContentPolicy policy, d.content->PolicyFor(p.tenant_id));
  return JsonResponse(200, policy.ToJson());
}

Result<HttpResponse> PutContentPolicy(const ScanRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor) {
  if (d.content == nullptr) return MessagingDisabled();
  // Validated by DecodeJsonBody (UTF-8, depth, duplicates), then by the policy reader.
  CS_ASSIGN_OR_RETURN(JsonValue body, DecodeJsonBody(req, d.json_limits, false));
  CS_ASSIGN_OR_RETURN(scan::ContentPolicy policy, scan::ContentPolicy::FromJson(ToJson(body)));
  CS_RETURN_IF_ERROR(d.content->SetPolicy(p.tenant_id, actor, policy));
  return JsonResponse(200, policy.ToJson());
}

Result<HttpResponse> ResetContentPolicy(const ScanRouteDeps& d, const Principal& p, const AuditActor& actor) {
  if (d.content == nullptr) return MessagingDisabled();
  CS_RETURN_IF_ERROR(d.content->SetPolicy(p.tenant_id, actor, std::nullopt));
  return JsonResponse(200, scan::ContentPolicy::Defaults().ToJson());
}

}  // namespace cs::api_internal
