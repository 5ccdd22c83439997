// The exposed state of a sent message (message_state.h).
#include "messaging/message_state.h"

namespace cs {

int64_t StatusBit(std::string_view status) {
  if (status == "sent") return kSeenSent;
  if (status == "delivered") return kSeenDelivered;
  if (status == "read" || status == "played") return kSeenRead;
  if (status == "failed") return kSeenFailed;
  return 0;
}

std::string StateFor(int64_t seen, std::string_view before) {
  if (seen & kSeenRead) return "read";
  if (seen & kSeenDelivered) return "delivered";
  if (seen & kSeenFailed) return "failed";
  if (seen & kSeenSent) return "sent";
  return std::string(before);
}

std::string FailureCodeFor(int provider_code) {
  switch (provider_code) {
    case 131047: return "template_required";
    case 131050: return "recipient_opted_out";
    case 131049: return "marketing_limit";
    case 131026: return "undeliverable";
    case 131048: return "spam_rate_limited";
    case 131056: return "pair_rate_limited";
    case 130429: return "throughput_limited";
    case 368: return "policy_blocked";
    case 131051: return "unsupported_message_type";
    case 0:
    case 190: return "provider_auth_failed";
    default:
      if (provider_code >= 132000 && provider_code < 133000) return "template_rejected";
      return "provider_rejected";
  }
}

}  // namespace cs
