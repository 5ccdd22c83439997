// File: policy.h
// What happens to a finding: a tenant's content-protection policy, per
// direction and per type (docs/scan.md). Card numbers are fixed by PCI DSS:
// always refused outbound and masked inbound; everything else is the
// tenant's choice, on top of privacy-minded defaults.
// Thread-safety: values and pure functions.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scan/scan.h"

namespace cs::scan {

enum class Direction { kOutbound, kInbound };

// Outbound: allow, mask or refuse. Inbound: flag (record and keep) or mask.
enum class Action { kAllow, kFlag, kMask, kRefuse };
std::string_view ActionName(Action action);

struct ContentPolicy {
  std::array<Action, kFindingTypeCount> outbound{};
  std::array<Action, kFindingTypeCount> inbound{};
  // The neutral reply sent to someone who typed a card number into the
  // chat (SEN-05): where to pay instead. Empty: a built-in text.
  std::string pan_reply;

  // Outbound: card, IBAN and national identifiers refused, the rest
  // allowed. Inbound: card, IBAN and national identifiers masked, the rest
  // flagged.
  static ContentPolicy Defaults();
  // Reads {"outbound":{"iban":"mask",…},"inbound":{"email":"mask",…},
  // "pan_reply":"…"} on top of the defaults. Errors (kInvalidArgument): invalid_policy for an
  // unknown type, action or key; card_policy_fixed for any attempt to
  // relax the card rules.
  static Result<ContentPolicy> FromJson(std::string_view json);
  // Every type and direction, for storage and for GET /v1/scan/policy.
  std::string ToJson() const;

  Action For(Direction d, FindingType t) const {
    return (d == Direction::kOutbound ? outbound : inbound)[static_cast<size_t>(t)];
  }
};

// The outcome of applying a policy to one text.
struct Decision {
  std::vector<Finding> findings;
  std::vector<Action> actions;  // one per finding
  bool refused = false;         // outbound only: at least one finding is refused
  bool masked = false;          // at least one finding was masked in `text`
  std::string text;             // the text with masked findings replaced
};

Decision Decide(const ContentPolicy& policy, Direction direction, std::string_view text,
                std::vector<Finding> findings);

// "[{"type":"card","start":9,"end":28,"action":"refuse"},…]": what was
// found and done, never the value, for audit entries and API answers.
std::string FindingsJson(const Decision& decision);

// What `policy` would do with `text` in both directions, for people and
// tools (POST /v1/scan, `consentry scan --json`):
// {"findings":[{"type","detail"?,"start","end","outbound","inbound"}],
//  "outbound":"refused"|"masked"|"sent","masked_text"?}. The masked text
// (by the inbound policy) only when asked for; never the values otherwise.
std::string ExplainJson(const ContentPolicy& policy, std::string_view text, const std::vector<Finding>& findings,
                        bool with_masked_text);

}  // namespace cs::scan
