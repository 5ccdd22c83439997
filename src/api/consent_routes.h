// File: consent_routes.h (internal to api/)
// The consent routes (docs/api.md#consent): purposes, templates, consents,
// withdrawal and the per-subject proof. The double opt-in's confirmation
// request is sent from here, through the message service.
#pragma once

#include <string>

#include "api/api.h"
#include "auth/auth.h"

namespace cs::api_internal {

struct ConsentRouteDeps {
  ConsentService* consent = nullptr;
  MessageService* messages = nullptr;
  TenantKeyring* keyring = nullptr;
  ErasureService* erasures = nullptr;
  Store* store = nullptr;
  JsonLimits json_limits;
};

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
Result<HttpResponse> SubjectConsents(const ConsentRouteDeps& d, const Principal& p, const std::string& subject);

// Erasure of one subject (GDPR Art. 17, docs/erasure.md): by phone or pseudonym.
Result<HttpResponse> EraseSubject(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                  const AuditActor& actor);
Result<HttpResponse> GetErasure(const ConsentRouteDeps& d, const Principal& p, const std::string& id);

}  // namespace cs::api_internal
