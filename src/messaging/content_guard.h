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
#include <optional>
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

// A card number typed over two messages ("4111 1111" then "1111 1111"):
// remembers, in memory only and for one minute, the digits a customer's
// message ended with, and reports when the next message from the same
// customer on the same channel starts with digits that complete a valid
// card number (B-38). Nothing of it is ever written anywhere.
class SplitCardDetector {
 public:
  static constexpr int64_t kWindowMs = 60'000;

  struct Split {
    std::string previous_inbound_id;  // the message that held the first part
    size_t lead_start = 0;            // the second part, in the current text
    size_t lead_end = 0;
  };

  // Whether `text` (a message just received, whole card numbers already
  // masked) completes a card number with the digits the customer's last
  // stored message ended with. Changes nothing: a delivery that fails or
  // turns out to be a duplicate must not move the state.
  std::optional<Split> Match(const std::string& key, std::string_view text, int64_t now_ms) const;
  // After the message with `text` committed: remembers the digits it ends
  // with for the next one, or forgets them (`completed` a card, or none).
  void Remember(const std::string& key, const std::string& inbound_id, std::string_view text, bool completed,
                int64_t now_ms);

  // The byte range of the digits (with separators) that `text` ends with,
  // if it ends with 4 to 15 digits; {0, 0} otherwise.
  static std::pair<size_t, size_t> TrailingDigits(std::string_view text);

 private:
  struct Fragment {
    int64_t at_ms = 0;
    std::string inbound_id;
    std::string digits;
  };
  mutable std::mutex mu_;
  std::map<std::string, Fragment> fragments_;  // guarded by mu_
  uint64_t observed_ = 0;                      // guarded by mu_
};

}  // namespace cs
