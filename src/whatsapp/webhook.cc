// Webhook signatures, Meta's escaping and the webhook envelope (spec §6).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/json_writer.h"
#include "common/strings.h"
#include "whatsapp/wire.h"

namespace cs::whatsapp {

std::string HubSignature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" + HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

Status VerifyHubSignature(std::string_view secret, std::string_view header_value, std::string_view body) {
  if (header_value.empty()) return Status(StatusCode::kUnauthenticated, "signature_missing", "X-Hub-Signature-256 is missing");
  constexpr std::string_view kPrefix = "sha256=";
  if (header_value.size() != kPrefix.size() + 64 || header_value.substr(0, kPrefix.size()) != kPrefix) {
    return Status(StatusCode::kUnauthenticated, "signature_malformed", "X-Hub-Signature-256 is not sha256=<64 hex>");
  }
  // Compare lowercase forms so an uppercase hex digest from a proxy still
  // matches; the comparison itself is constant-time.
  std::string given = AsciiLower(header_value);
  std::string expected = HubSignature(secret, body);
  if (CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return Status(StatusCode::kUnauthenticated, "signature_mismatch", "the webhook signature does not match");
  }
  return Status::Ok();
}

std::string MetaEscape(std::string_view json) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(json.size() + json.size() / 8);
  auto unit = [&](uint32_t u) {
    out += "\\u";
    out += kHex[(u >> 12) & 0xF];
    out += kHex[(u >> 8) & 0xF];
    out += kHex[(u >> 4) & 0xF];
    out += kHex[u & 0xF];
  };
  for (size_t i = 0; i < json.size();) {
    unsigned char c = static_cast<unsigned char>(json[i]);
    if (c < 0x80) {
      // '/' only occurs inside strings in valid JSON, so this is safe.
      if (c == '/') out += "\\/";
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < n && i + k < json.size(); ++k) cp = (cp << 6) | (json[i + k] & 0x3F);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

namespace {

const std::string& StringOr(const JsonValue* v, const std::string& fallback) {
  return v != nullptr && v->is_string() ? v->as_string() : fallback;
}

const std::string kEmpty;

int64_t Timestamp(const JsonValue* v) {
  if (v == nullptr) return 0;
  if (v->type() == JsonValue::Type::kInt) return v->as_int();
  if (v->is_string()) return ParseNonNegativeInt(v->as_string()).value_or(0);
  return 0;
}

void ParseMessage(const JsonValue& m, const WebhookMetadata& where, const JsonValue* contacts,
                  WebhookBatch& out) {
  InboundMessage msg;
  msg.where = where;
  msg.id = StringOr(m.Find("id"), kEmpty);
  msg.from = StringOr(m.Find("from"), kEmpty);
  msg.from_user_id = StringOr(m.Find("from_user_id"), kEmpty);
  msg.from_parent_user_id = StringOr(m.Find("from_parent_user_id"), kEmpty);
  msg.type = StringOr(m.Find("type"), kEmpty);
  msg.timestamp = Timestamp(m.Find("timestamp"));
  msg.raw_json = ToJson(m);
  if (contacts != nullptr && contacts->is_array()) {
    for (const JsonValue& c : contacts->as_array()) {
      const std::string& wa = StringOr(c.Find("wa_id"), kEmpty);
      const std::string& uid = StringOr(c.Find("user_id"), kEmpty);
      bool same = (!wa.empty() && wa == msg.from) || (!uid.empty() && uid == msg.from_user_id);
      if (same || contacts->as_array().size() == 1) {
        if (const JsonValue* profile = c.Find("profile")) {
          msg.profile_name = StringOr(profile->Find("name"), kEmpty);
          msg.username = StringOr(profile->Find("username"), kEmpty);
        }
        if (msg.from_parent_user_id.empty()) msg.from_parent_user_id = StringOr(c.Find("parent_user_id"), kEmpty);
        break;
      }
    }
  }
  if (const JsonValue* payload = m.Find(msg.type); payload != nullptr && payload->is_object()) {
    if (msg.type == "text") {
      msg.text = StringOr(payload->Find("body"), kEmpty);
    } else if (msg.type == "button") {
      msg.text = StringOr(payload->Find("text"), kEmpty);
      msg.reply_id = StringOr(payload->Find("payload"), kEmpty);
    } else if (msg.type == "interactive") {
      const std::string& itype = StringOr(payload->Find("type"), kEmpty);
      if (const JsonValue* reply = payload->Find(itype); reply != nullptr && reply->is_object()) {
        msg.text = StringOr(reply->Find("title"), kEmpty);
        msg.reply_id = StringOr(reply->Find("id"), kEmpty);
      }
    } else {
      msg.text = StringOr(payload->Find("caption"), kEmpty);
    }
  }
  out.messages.push_back(std::move(msg));
}

void ParseStatus(const JsonValue& s, const WebhookMetadata& where, WebhookBatch& out) {
  StatusUpdate st;
  st.where = where;
  st.id = StringOr(s.Find("id"), kEmpty);
  st.status = StringOr(s.Find("status"), kEmpty);
  st.timestamp = Timestamp(s.Find("timestamp"));
  st.recipient_id = StringOr(s.Find("recipient_id"), kEmpty);
  st.recipient_user_id = StringOr(s.Find("recipient_user_id"), kEmpty);
  st.callback_data = StringOr(s.Find("biz_opaque_callback_data"), kEmpty);
  if (const JsonValue* errors = s.Find("errors"); errors != nullptr && errors->is_array()) {
    for (const JsonValue& e : errors->as_array()) {
      const JsonValue* code = e.Find("code");
      if (code != nullptr && code->type() == JsonValue::Type::kInt) st.error_codes.push_back(static_cast<int>(code->as_int()));
    }
  }
  st.raw_json = ToJson(s);
  out.statuses.push_back(std::move(st));
}

}  // namespace

Result<WebhookBatch> ParseWebhook(const JsonValue& root) {
  auto invalid = [](std::string why) { return InvalidArgument("invalid_webhook", std::move(why)); };
  if (!root.is_object()) return invalid("the webhook body is not a JSON object");
  const JsonValue* object = root.Find("object");
  if (object == nullptr || !object->is_string() || object->as_string() != "whatsapp_business_account") {
    return invalid("object must be \"whatsapp_business_account\"");
  }
  const JsonValue* entries = root.Find("entry");
  if (entries == nullptr || !entries->is_array()) return invalid("entry must be an array");
  WebhookBatch out;
  for (const JsonValue& entry : entries->as_array()) {
    if (!entry.is_object()) continue;
    const JsonValue* changes = entry.Find("changes");
    if (changes == nullptr || !changes->is_array()) continue;
    for (const JsonValue& change : changes->as_array()) {
      const JsonValue* value = change.Find("value");
      const std::string& field = StringOr(change.Find("field"), kEmpty);
      if (value == nullptr || !value->is_object()) {
        out.other_changes.push_back(ToJson(change));
        continue;
      }
      WebhookMetadata where;
      where.waba_id = StringOr(entry.Find("id"), kEmpty);
      if (const JsonValue* md = value->Find("metadata"); md != nullptr && md->is_object()) {
        where.phone_number_id = StringOr(md->Find("phone_number_id"), kEmpty);
        where.display_phone_number = StringOr(md->Find("display_phone_number"), kEmpty);
      }
      bool handled = false;
      if (field == "messages" || field == "user_preferences") {
        if (const JsonValue* ms = value->Find("messages"); ms != nullptr && ms->is_array()) {
          for (const JsonValue& m : ms->as_array()) {
            if (m.is_object()) ParseMessage(m, where, value->Find("contacts"), out);
          }
          handled = true;
        }
        if (const JsonValue* ss = value->Find("statuses"); ss != nullptr && ss->is_array()) {
          for (const JsonValue& s : ss->as_array()) {
            if (s.is_object()) ParseStatus(s, where, out);
          }
          handled = true;
        }
        if (const JsonValue* ps = value->Find("user_preferences"); ps != nullptr && ps->is_array()) {
          for (const JsonValue& p : ps->as_array()) {
            if (!p.is_object()) continue;
            UserPreference pref;
            pref.where = where;
            pref.wa_id = StringOr(p.Find("wa_id"), kEmpty);
            pref.category = StringOr(p.Find("category"), kEmpty);
            pref.value = StringOr(p.Find("value"), kEmpty);
            pref.timestamp = Timestamp(p.Find("timestamp"));
            out.preferences.push_back(std::move(pref));
          }
          handled = true;
        }
        if (const JsonValue* es = value->Find("errors"); es != nullptr && es->is_array()) {
          for (const JsonValue& e : es->as_array()) {
            if (!e.is_object()) continue;
            ValueError err;
            err.where = where;
            const JsonValue* code = e.Find("code");
            err.code = code != nullptr && code->type() == JsonValue::Type::kInt ? static_cast<int>(code->as_int()) : 0;
            err.title = StringOr(e.Find("title"), kEmpty);
            out.errors.push_back(std::move(err));
          }
          handled = true;
        }
      }
      if (field == "template_category_update" || field == "message_template_status_update") {
        TemplateUpdate t;
        t.where = where;
        t.field = field;
        t.name = StringOr(value->Find("message_template_name"), kEmpty);
        t.language = StringOr(value->Find("message_template_language"), kEmpty);
        t.reason = StringOr(value->Find("reason"), kEmpty);
        if (field == "message_template_status_update") {
          t.status = StringOr(value->Find("event"), kEmpty);
          t.category = StringOr(value->Find("message_template_category"), kEmpty);
        } else {
          t.previous_category = StringOr(value->Find("previous_category"), kEmpty);
          t.correct_category = StringOr(value->Find("correct_category"), kEmpty);
          t.change_at = Timestamp(value->Find("category_update_timestamp"));
          // An announcement names the category in force now as new_category;
          // only a completed change has previous_category.
          if (t.correct_category.empty()) t.category = StringOr(value->Find("new_category"), kEmpty);
        }
        if (!t.name.empty() && !t.language.empty()) {
          out.templates.push_back(std::move(t));
          handled = true;
        }
      }
      if (!handled) out.other_changes.push_back(ToJson(change));
    }
  }
  return out;
}

std::string WebhookEnvelope(std::string_view waba_id, std::string_view field, std::string_view value_json) {
  JsonWriter w;
  w.BeginObject();
  w.Key("object").String("whatsapp_business_account");
  w.Key("entry").BeginArray().BeginObject();
  w.Key("id").String(waba_id);
  w.Key("changes").BeginArray().BeginObject();
  w.Key("value").Raw(value_json);
  w.Key("field").String(field);
  w.EndObject().EndArray();
  w.EndObject().EndArray();
  w.EndObject();
  return MetaEscape(w.str());
}

}  // namespace cs::whatsapp
