// File: provider_ids.h
// Meta's message ids ("wamid.…") carry the user's phone number in base64,
// so the gateway treats them as personal data (MIN-02, MIN-03, DSR-05;
// docs/threat-model.md#identifiers-that-embed-personal-data):
// - stored only as a keyed hash (lookups, deduplication) and as a copy
//   sealed under the subject's key (what a reply or read receipt needs), so
//   an erasure leaves nothing that decodes to the number;
// - replaced by the gateway's own ids wherever they would reach someone not
//   allowed clear identifiers: "msg_…" for a message the gateway sent,
//   "inm_…" for one it received, "wam_…" (the keyed hash) for any other;
// - translated back to wamids only at dispatch, when an integration refers
//   to a message by the gateway's id (a reply, a reaction, a read receipt).
//
// Thread-safety: functions only; safe for concurrent use.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "json/json.h"

namespace cs {

class MessagingRepository;
class TenantKeyring;

inline bool IsWamid(std::string_view s) { return s.size() > 6 && s.substr(0, 6) == "wamid."; }

// Adds every string value of `value` that is a wamid to `out`.
void CollectWamids(const JsonValue& value, std::set<std::string>& out);

// `value` with every wamid string replaced by its entry in `ids`. A wamid
// without an entry becomes "": nothing slips through unmapped.
JsonValue ReplaceWamids(const JsonValue& value, const std::map<std::string, std::string>& ids);

// The gateway's id for a wamid of the tenant: the message it sent with that
// wamid, else the message it received with it (while its delivery key is
// kept, 7 days and more), else the wamid's keyed hash ("wam_…"), which is
// stable but names nothing the gateway can resolve.
Result<std::string> GatewayIdForWamid(MessagingRepository& repo, TenantKeyring& keyring, const std::string& tenant_id,
                                      const std::string& wamid);

// The gateway's ids ("msg_…", "inm_…", "wam_…") a send body uses to refer to
// another message: context.message_id (a reply), reaction.message_id, and
// message_id (a read receipt or typing indicator).
std::vector<std::string> GatewayReferences(const JsonValue& body);

// `payload` (a send body's JSON) with each reference in `wamids` replaced by
// its wamid, at the places GatewayReferences reads.
Result<std::string> WithWamids(std::string_view payload, const std::map<std::string, std::string>& wamids);

inline bool IsGatewayMessageId(std::string_view id) {
  return id.size() > 4 && (id.substr(0, 4) == "msg_" || id.substr(0, 4) == "inm_" || id.substr(0, 4) == "wam_");
}

}  // namespace cs
