// File: consent_routes.h (internal to api/)
// The consent routes (docs/api.md#consent): purposes, templates, consents,
// withdrawal and the per-subject proof. The double opt-in's confirmation
// request is sent from here, through the message service.
#pragma once

#include <string>

#include "api/api.h"
#include "auth/auth.h"

namespace cs {
class SubscriberService;
}  // namespace cs

namespace cs::api_internal {

struct ConsentRouteDeps {
  ConsentService* consent = nullptr;
  MessageService* messages = nullptr;
  TenantKeyring* keyring = nullptr;
  ErasureService* erasures = nullptr;
  SubscriberService* subscribers = nullptr;
  TenantService* tenants = nullptr;
  const Clock* clock = nullptr;
  JsonLimits json_limits;
};

// Privacy notices (DOC-07, CONS-09): publish one language of a version; list.
Result<HttpResponse> PublishNotice(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor);
Result<HttpResponse> ListNotices(const ConsentRouteDeps& d, const Principal& p);
// CCPA/CPRA sale or sharing (CONS-10): opt-out (honours Sec-GPC) or opt-in.
Result<HttpResponse> SaleSharingChoiceRoute(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                            const AuditActor& actor, bool opt_out);
// The data inventory's answer to "is personal data sold or shared?".
Result<HttpResponse> SaleSharingInventory(const ConsentRouteDeps& d, const Principal& p);

Result<HttpResponse> DefinePurpose(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor);
Result<HttpResponse> ListPurposes(const ConsentRouteDeps& d, const Principal& p);
Result<HttpResponse> RegisterTemplate(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor);
Result<HttpResponse> ListTemplates(const ConsentRouteDeps& d, const Principal& p);
Result<HttpResponse> RegisterConsent(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                     const AuditActor& actor);
Result<HttpResponse> WithdrawConsent(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                     const AuditActor& actor);
// The proof export of one subject (CONS-06); the caller audits the read.
// With `printable_allowed`, `Accept: application/pdf` or `?format=pdf` gives
// the printable PDF of the same proof.
Result<HttpResponse> SubjectConsents(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                     const std::string& subject, bool printable_allowed);

// Erasure of one subject (GDPR Art. 17, docs/erasure.md): by phone or pseudonym.
Result<HttpResponse> EraseSubject(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                  const AuditActor& actor);
Result<HttpResponse> GetErasure(const ConsentRouteDeps& d, const Principal& p, const std::string& id);

}  // namespace cs::api_internal
