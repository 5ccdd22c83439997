// libFuzzer target: the Cloud API wire format. Any bytes go through the
// send validator and the webhook parser; whatever the validator accepts must
// re-validate from its own canonical form to the same facts, and survive
// Meta's escaping unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "json/json.h"
#include "whatsapp/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  cs::whatsapp::VerifyHubSignature("secret", input, input).IgnoreError();  // must not crash on any header
  auto json = cs::ParseJson(input);
  if (!json.ok()) return 0;
  cs::whatsapp::ParseWebhook(*json).status().IgnoreError();  // any shape is parsed or refused, never a crash
  auto msg = cs::whatsapp::ValidateOutbound(*json);
  if (!msg.ok()) return 0;
  auto again_json = cs::ParseJson(msg->body_json);
  if (!again_json.ok()) __builtin_trap();
  auto again = cs::whatsapp::ValidateOutbound(*again_json);
  if (!again.ok() || again->body_json != msg->body_json || again->wa_id != msg->wa_id || again->type != msg->type) {
    __builtin_trap();
  }
  auto escaped = cs::ParseJson(cs::whatsapp::MetaEscape(msg->body_json));
  if (!escaped.ok() || cs::ToJson(*escaped) != msg->body_json) __builtin_trap();
  return 0;
}
