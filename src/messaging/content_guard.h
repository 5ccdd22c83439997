// File: content_guard.h
// Content protection on the WhatsApp path (REQUIREMENTS CHAN-04, SEN-05,
// B-38; docs/scan.md): every text field of an outbound Graph body or an
// inbound webhook message goes through the scanner and the tenant's
// policy before anything is stored, queued, logged or forwarded.
//
// What is recorded about a finding is its field, type, byte range and the
// action taken; never the value.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "env/env.h"
#include "json/json.h"
#include "scan/policy.h"
#include "store/store.h"

namespace cs {

class ContentGuard {
 public:
  ContentGuard(const scan::Scanner& scanner, Store& store, const AuditLedger& ledger, const Clock& clock)
      : scanner_(scanner), store_(store), ledger_(ledger), clock_(clock) {}

  // The tenant's policy (the defaults when none is set). Cached for a few
  // seconds, so a change made through another process applies soon.
  Result<scan::ContentPolicy> PolicyFor(const std::string& tenant_id);
  // Stores the tenant's policy (nullopt: back to the defaults) with its
  // audit entry, "content.policy_set", in one transaction.
  Status SetPolicy(const std::string& tenant_id, const AuditActor& actor,
                   const std::optional<scan::ContentPolicy>& policy);

  struct Outcome {
    bool refused = false;       // outbound: at least one finding is refused
    bool refused_beyond_health = false;  // …and one of them is not a health term
    bool changed = false;       // at least one text was masked
    std::string json;           // set only when `changed`: the input with masked text
    std::string findings_json;  // [{"field","type","start","end","action"},…]; "[]" when none
    size_t findings = 0;
    bool card = false;          // a card number was found (pan_received inbound)
    bool health = false;        // a health term was found (possible PHI)
    std::string summary;        // "card in text.body, iban in …": types and fields only
  };

  // Scans the string values of `root` (a Graph send body or a webhook
  // message object), skipping routing fields (to, from, ids, types), and
  // applies `policy` for `direction`.
  Outcome Apply(const scan::ContentPolicy& policy, scan::Direction direction, const JsonValue& root) const;

  // Masks card numbers in bytes that cannot be parsed (a quarantined
  // body): cards are masked everywhere, whatever the policy.
  std::string MaskCards(std::string_view raw) const;

  // The scanner itself, for callers that scan plain text (POST /v1/scan).
  const scan::Scanner& scanner() const { return scanner_; }

 private:
  struct Cached {
    scan::ContentPolicy policy;
    int64_t loaded_at_ms = 0;
  };
  const scan::Scanner& scanner_;
  void Forget(const std::string& tenant_id);

  Store& store_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // guarded by mu_
};

}  // namespace cs
