// Outbound message validation (spec §2 and the field limits of §5).
#include <cmath>
#include <initializer_list>
#include <set>

#include "common/strings.h"
#include "http/multipart.h"
#include "vault/phone.h"
#include "whatsapp/wire.h"

namespace cs::whatsapp {

namespace {

using Type = JsonValue::Type;

Status Missing(std::string_view field) {
  return InvalidArgument("missing_parameter", "required parameter is missing: " + std::string(field));
}
Status Invalid(std::string_view field, std::string_view why) {
  return InvalidArgument("invalid_parameter_value", "invalid value for " + std::string(field) + ": " + std::string(why));
}
Status WrongType(std::string_view field, std::string_view expected) {
  return InvalidArgument("invalid_parameter", std::string(field) + " must be " + std::string(expected));
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Join(std::string_view where, std::string_view key) {
  return where.empty() ? std::string(key) : std::string(where) + "." + std::string(key);
}

// Refuses members outside `allowed` with Graph code 100, as Meta does for
// misspelled or unsupported fields.
Status OnlyKeys(const JsonValue& obj, std::string_view where, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : obj.as_object()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return InvalidArgument("invalid_parameter", "unknown parameter " + Join(where, key));
  }
  return Status::Ok();
}

Result<const JsonValue*> Object(const JsonValue& parent, std::string_view key, std::string_view where,
                                bool required) {
  const JsonValue* v = parent.Find(key);
  if (v == nullptr) {
    if (required) return Missing(Join(where, key));
    return static_cast<const JsonValue*>(nullptr);
  }
  if (!v->is_object()) return WrongType(Join(where, key), "an object");
  return v;
}

// Returns the string member `key` (nullptr when absent and optional),
// checking its length in characters.
Result<const std::string*> Str(const JsonValue& parent, std::string_view key, std::string_view where,
                               bool required, size_t max_chars, bool allow_empty = false) {
  const JsonValue* v = parent.Find(key);
  if (v == nullptr) {
    if (required) return Missing(Join(where, key));
    return static_cast<const std::string*>(nullptr);
  }
  if (!v->is_string()) return WrongType(Join(where, key), "a string");
  const std::string& s = v->as_string();
  if (s.empty() && !allow_empty) {
    if (required) return Missing(Join(where, key));
    return Invalid(Join(where, key), "must not be empty");
  }
  if (Utf8Length(s) > max_chars) {
    return InvalidArgument("too_long", Join(where, key) + " is longer than " + std::to_string(max_chars) + " characters");
  }
  return &s;
}

Status Bool(const JsonValue& parent, std::string_view key, std::string_view where) {
  const JsonValue* v = parent.Find(key);
  if (v != nullptr && v->type() != Type::kBool) return WrongType(Join(where, key), "a boolean");
  return Status::Ok();
}

bool IsNumber(const JsonValue& v) { return v.type() == Type::kInt || v.type() == Type::kDouble; }
double AsNumber(const JsonValue& v) { return v.type() == Type::kInt ? static_cast<double>(v.as_int()) : v.as_double(); }

Status CheckText(const JsonValue& body) {
  CS_ASSIGN_OR_RETURN(const JsonValue* text, Object(body, "text", "", true));
  CS_RETURN_IF_ERROR(OnlyKeys(*text, "text", {"body", "preview_url"}));
  const JsonValue* b = text->Find("body");
  if (b == nullptr) return Missing("text.body");
  if (!b->is_string()) return WrongType("text.body", "a string");
  if (b->as_string().empty()) return Missing("text.body");
  // The simulator checklist (spec §8) gives code 100 for an over-long text.
  if (Utf8Length(b->as_string()) > 4096) {
    return InvalidArgument("too_long", "text.body is longer than 4096 characters");
  }
  return Bool(*text, "preview_url", "text");
}

// One media object: exactly one of id or link.
Status CheckMedia(const JsonValue& media, std::string_view where, bool caption, bool filename) {
  if (!media.is_object()) return WrongType(where, "an object");
  if (caption && filename) {
    CS_RETURN_IF_ERROR(OnlyKeys(media, where, {"id", "link", "caption", "filename", "provider"}));
  } else if (caption) {
    CS_RETURN_IF_ERROR(OnlyKeys(media, where, {"id", "link", "caption", "provider"}));
  } else {
    CS_RETURN_IF_ERROR(OnlyKeys(media, where, {"id", "link", "provider"}));
  }
  CS_ASSIGN_OR_RETURN(const std::string* id, Str(media, "id", where, false, 256));
  CS_ASSIGN_OR_RETURN(const std::string* link, Str(media, "link", where, false, 2048));
  if ((id == nullptr) == (link == nullptr)) {
    return id == nullptr ? Missing(Join(where, "id or link")) : Invalid(where, "give either id or link, not both");
  }
  if (link != nullptr && link->rfind("https://", 0) != 0 && link->rfind("http://", 0) != 0) {
    return Invalid(Join(where, "link"), "must be an http(s) URL");
  }
  if (caption) {
    CS_ASSIGN_OR_RETURN(const std::string* c, Str(media, "caption", where, false, 1024, true));
    (void)c;
  }
  if (filename) {
    CS_ASSIGN_OR_RETURN(const std::string* f, Str(media, "filename", where, false, 240));
    (void)f;
  }
  return Status::Ok();
}

Status CheckLocation(const JsonValue& body) {
  CS_ASSIGN_OR_RETURN(const JsonValue* loc, Object(body, "location", "", true));
  CS_RETURN_IF_ERROR(OnlyKeys(*loc, "location", {"latitude", "longitude", "name", "address"}));
  for (std::string_view key : {"latitude", "longitude"}) {
    const JsonValue* v = loc->Find(key);
    if (v == nullptr) return Missing(Join("location", key));
    // Some SDKs send coordinates as strings; Meta accepts both.
    double d = 0;
    if (IsNumber(*v)) {
      d = AsNumber(*v);
    } else if (v->is_string()) {
      char* end = nullptr;
      d = std::strtod(v->as_string().c_str(), &end);
      if (v->as_string().empty() || *end != '\0') return WrongType(Join("location", key), "a number");
    } else {
      return WrongType(Join("location", key), "a number");
    }
    double limit = key == "latitude" ? 90 : 180;
    if (!std::isfinite(d) || d < -limit || d > limit) return Invalid(Join("location", key), "out of range");
  }
  CS_ASSIGN_OR_RETURN(const std::string* name, Str(*loc, "name", "location", false, 1000, true));
  CS_ASSIGN_OR_RETURN(const std::string* address, Str(*loc, "address", "location", false, 1000, true));
  (void)name;
  (void)address;
  return Status::Ok();
}

Status CheckContacts(const JsonValue& contacts) {
  if (!contacts.is_array()) return WrongType("contacts", "an array");
  if (contacts.as_array().empty()) return Missing("contacts[0]");
  if (contacts.as_array().size() > 257) return Invalid("contacts", "too many contacts");
  for (size_t i = 0; i < contacts.as_array().size(); ++i) {
    const JsonValue& c = contacts.as_array()[i];
    std::string where = "contacts[" + std::to_string(i) + "]";
    if (!c.is_object()) return WrongType(where, "an object");
    CS_RETURN_IF_ERROR(OnlyKeys(c, where, {"name", "phones", "emails", "addresses", "org", "urls", "birthday"}));
    CS_ASSIGN_OR_RETURN(const JsonValue* name, Object(c, "name", where, true));
    CS_ASSIGN_OR_RETURN(const std::string* formatted, Str(*name, "formatted_name", where + ".name", true, 1000));
    (void)formatted;
    for (std::string_view list : {"phones", "emails", "addresses", "urls"}) {
      const JsonValue* v = c.Find(list);
      if (v != nullptr && !v->is_array()) return WrongType(Join(where, list), "an array");
    }
  }
  return Status::Ok();
}

Status CheckReaction(const JsonValue& body) {
  CS_ASSIGN_OR_RETURN(const JsonValue* r, Object(body, "reaction", "", true));
  CS_RETURN_IF_ERROR(OnlyKeys(*r, "reaction", {"message_id", "emoji"}));
  CS_ASSIGN_OR_RETURN(const std::string* id, Str(*r, "message_id", "reaction", true, 256));
  (void)id;
  // An empty emoji removes the reaction, so it is allowed.
  CS_ASSIGN_OR_RETURN(const std::string* emoji, Str(*r, "emoji", "reaction", false, 16, true));
  if (r->Find("emoji") == nullptr) return Missing("reaction.emoji");
  (void)emoji;
  return Status::Ok();
}

Status CheckTemplate(const JsonValue& body, OutboundMessage& out) {
  CS_ASSIGN_OR_RETURN(const JsonValue* t, Object(body, "template", "", true));
  CS_RETURN_IF_ERROR(OnlyKeys(*t, "template", {"name", "language", "components", "namespace"}));
  CS_ASSIGN_OR_RETURN(const std::string* name, Str(*t, "name", "template", true, 512));
  CS_ASSIGN_OR_RETURN(const JsonValue* lang, Object(*t, "language", "template", true));
  CS_RETURN_IF_ERROR(OnlyKeys(*lang, "template.language", {"code", "policy"}));
  CS_ASSIGN_OR_RETURN(const std::string* code, Str(*lang, "code", "template.language", true, 16));
  CS_ASSIGN_OR_RETURN(const std::string* policy, Str(*lang, "policy", "template.language", false, 16));
  if (policy != nullptr && *policy != "deterministic" && *policy != "fallback") {
    return Invalid("template.language.policy", "must be deterministic or fallback");
  }
  out.template_name = *name;
  out.template_language = *code;
  const JsonValue* comps = t->Find("components");
  if (comps == nullptr) return Status::Ok();
  if (!comps->is_array()) return WrongType("template.components", "an array");
  for (size_t i = 0; i < comps->as_array().size(); ++i) {
    const JsonValue& c = comps->as_array()[i];
    std::string where = "template.components[" + std::to_string(i) + "]";
    if (!c.is_object()) return WrongType(where, "an object");
    CS_RETURN_IF_ERROR(OnlyKeys(c, where, {"type", "sub_type", "index", "parameters"}));
    CS_ASSIGN_OR_RETURN(const std::string* type, Str(c, "type", where, true, 32));
    static const std::set<std::string, std::less<>> kTypes = {"header", "body", "footer", "button",
                                                             "carousel", "limited_time_offer"};
    if (kTypes.count(*type) == 0) return Invalid(Join(where, "type"), "unknown component type");
    if (*type == "button") {
      CS_ASSIGN_OR_RETURN(const std::string* sub, Str(c, "sub_type", where, true, 32));
      static const std::set<std::string, std::less<>> kSubs = {"quick_reply", "url", "copy_code", "flow",
                                                              "catalog", "mpm", "voice_call", "otp"};
      if (kSubs.count(*sub) == 0) return Invalid(Join(where, "sub_type"), "unknown button sub_type");
      const JsonValue* index = c.Find("index");
      if (index == nullptr) return Missing(Join(where, "index"));
      // SDKs send the index as a number or as a string (spec §9).
      bool ok = index->type() == Type::kInt ? index->as_int() >= 0 && index->as_int() < 10
                                            : index->is_string() && index->as_string().size() == 1 &&
                                                  index->as_string()[0] >= '0' && index->as_string()[0] <= '9';
      if (!ok) return Invalid(Join(where, "index"), "must be 0-9");
    }
    const JsonValue* params = c.Find("parameters");
    if (params == nullptr) continue;
    if (!params->is_array()) return WrongType(Join(where, "parameters"), "an array");
    for (size_t j = 0; j < params->as_array().size(); ++j) {
      const JsonValue& p = params->as_array()[j];
      std::string pw = where + ".parameters[" + std::to_string(j) + "]";
      if (!p.is_object()) return WrongType(pw, "an object");
      CS_ASSIGN_OR_RETURN(const std::string* ptype, Str(p, "type", pw, true, 32));
      const JsonValue* payload = p.Find(*ptype);
      if (payload == nullptr) return Missing(Join(pw, *ptype));
      if (*ptype == "text" || *ptype == "payload" || *ptype == "coupon_code") {
        if (!payload->is_string()) return WrongType(Join(pw, *ptype), "a string");
        if (Utf8Length(payload->as_string()) > 32768) return Invalid(Join(pw, *ptype), "too long");
      } else if (*ptype == "image" || *ptype == "video" || *ptype == "document") {
        CS_RETURN_IF_ERROR(CheckMedia(*payload, Join(pw, *ptype), false, *ptype == "document"));
      }
    }
    if (*type == "body") out.template_body_parameters = static_cast<int>(params->as_array().size());
  }
  return Status::Ok();
}

Status CheckInteractive(const JsonValue& body) {
  CS_ASSIGN_OR_RETURN(const JsonValue* in, Object(body, "interactive", "", true));
  CS_RETURN_IF_ERROR(OnlyKeys(*in, "interactive", {"type", "header", "body", "footer", "action"}));
  CS_ASSIGN_OR_RETURN(const std::string* type, Str(*in, "type", "interactive", true, 64));
  static const std::set<std::string, std::less<>> kTypes = {
      "button", "list", "cta_url", "flow", "product", "product_list", "catalog_message",
      "location_request_message", "call_permission_request"};
  if (kTypes.count(*type) == 0) return Invalid("interactive.type", "unknown interactive type");
  // Product messages may omit the body; every other type needs one.
  bool body_required = *type != "product";
  CS_ASSIGN_OR_RETURN(const JsonValue* b, Object(*in, "body", "interactive", body_required));
  if (b != nullptr) {
    CS_RETURN_IF_ERROR(OnlyKeys(*b, "interactive.body", {"text"}));
    CS_ASSIGN_OR_RETURN(const std::string* text, Str(*b, "text", "interactive.body", true, 1024));
    (void)text;
  }
  CS_ASSIGN_OR_RETURN(const JsonValue* footer, Object(*in, "footer", "interactive", false));
  if (footer != nullptr) {
    CS_ASSIGN_OR_RETURN(const std::string* text, Str(*footer, "text", "interactive.footer", true, 60));
    (void)text;
  }
  CS_ASSIGN_OR_RETURN(const JsonValue* header, Object(*in, "header", "interactive", false));
  if (header != nullptr) {
    CS_ASSIGN_OR_RETURN(const std::string* htype, Str(*header, "type", "interactive.header", true, 16));
    if (*htype == "text") {
      CS_ASSIGN_OR_RETURN(const std::string* text, Str(*header, "text", "interactive.header", true, 60));
      (void)text;
    } else if (*htype == "image" || *htype == "video" || *htype == "document") {
      const JsonValue* media = header->Find(*htype);
      if (media == nullptr) return Missing("interactive.header." + *htype);
      CS_RETURN_IF_ERROR(CheckMedia(*media, "interactive.header." + *htype, false, *htype == "document"));
    } else {
      return Invalid("interactive.header.type", "must be text, image, video or document");
    }
  }
  CS_ASSIGN_OR_RETURN(const JsonValue* action, Object(*in, "action", "interactive", true));
  if (*type == "button") {
    const JsonValue* buttons = action->Find("buttons");
    if (buttons == nullptr) return Missing("interactive.action.buttons");
    if (!buttons->is_array()) return WrongType("interactive.action.buttons", "an array");
    size_t n = buttons->as_array().size();
    if (n < 1 || n > 3) return Invalid("interactive.action.buttons", "must hold 1 to 3 buttons");
    std::set<std::string> ids, titles;
    for (size_t i = 0; i < n; ++i) {
      const JsonValue& button = buttons->as_array()[i];
      std::string where = "interactive.action.buttons[" + std::to_string(i) + "]";
      if (!button.is_object()) return WrongType(where, "an object");
      CS_ASSIGN_OR_RETURN(const JsonValue* reply, Object(button, "reply", where, true));
      CS_ASSIGN_OR_RETURN(const std::string* id, Str(*reply, "id", where + ".reply", true, 256));
      CS_ASSIGN_OR_RETURN(const std::string* title, Str(*reply, "title", where + ".reply", true, 20));
      if (!ids.insert(*id).second) return Invalid(where + ".reply.id", "button ids must be unique");
      if (!titles.insert(*title).second) return Invalid(where + ".reply.title", "button titles must be unique");
    }
  } else if (*type == "list") {
    CS_ASSIGN_OR_RETURN(const std::string* label, Str(*action, "button", "interactive.action", true, 20));
    (void)label;
    const JsonValue* sections = action->Find("sections");
    if (sections == nullptr) return Missing("interactive.action.sections");
    if (!sections->is_array()) return WrongType("interactive.action.sections", "an array");
    size_t n = sections->as_array().size();
    if (n < 1 || n > 10) return Invalid("interactive.action.sections", "must hold 1 to 10 sections");
    size_t rows_total = 0;
    std::set<std::string> row_ids;
    for (size_t i = 0; i < n; ++i) {
      const JsonValue& section = sections->as_array()[i];
      std::string where = "interactive.action.sections[" + std::to_string(i) + "]";
      if (!section.is_object()) return WrongType(where, "an object");
      CS_ASSIGN_OR_RETURN(const std::string* title, Str(section, "title", where, n > 1, 24));
      (void)title;
      const JsonValue* rows = section.Find("rows");
      if (rows == nullptr) {
        if (section.Find("product_items") != nullptr) continue;
        return Missing(where + ".rows");
      }
      if (!rows->is_array()) return WrongType(where + ".rows", "an array");
      for (size_t j = 0; j < rows->as_array().size(); ++j) {
        const JsonValue& row = rows->as_array()[j];
        std::string rw = where + ".rows[" + std::to_string(j) + "]";
        if (!row.is_object()) return WrongType(rw, "an object");
        CS_ASSIGN_OR_RETURN(const std::string* id, Str(row, "id", rw, true, 200));
        CS_ASSIGN_OR_RETURN(const std::string* rtitle, Str(row, "title", rw, true, 24));
        CS_ASSIGN_OR_RETURN(const std::string* desc, Str(row, "description", rw, false, 72, true));
        (void)rtitle;
        (void)desc;
        if (!row_ids.insert(*id).second) return Invalid(rw + ".id", "row ids must be unique");
        ++rows_total;
      }
    }
    if (rows_total < 1 || rows_total > 10) return Invalid("interactive.action.sections", "must hold 1 to 10 rows in total");
  } else if (*type == "cta_url" || *type == "flow") {
    CS_ASSIGN_OR_RETURN(const std::string* name, Str(*action, "name", "interactive.action", true, 32));
    if (*name != *type) return Invalid("interactive.action.name", "must match interactive.type");
    CS_ASSIGN_OR_RETURN(const JsonValue* params, Object(*action, "parameters", "interactive.action", true));
    if (*type == "cta_url") {
      CS_ASSIGN_OR_RETURN(const std::string* text, Str(*params, "display_text", "interactive.action.parameters", true, 20));
      CS_ASSIGN_OR_RETURN(const std::string* url, Str(*params, "url", "interactive.action.parameters", true, 2048));
      (void)text;
      if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0) {
        return Invalid("interactive.action.parameters.url", "must be an http(s) URL");
      }
    } else {
      CS_ASSIGN_OR_RETURN(const std::string* version, Str(*params, "flow_message_version", "interactive.action.parameters", true, 8));
      (void)version;
      CS_ASSIGN_OR_RETURN(const std::string* cta, Str(*params, "flow_cta", "interactive.action.parameters", true, 20));
      (void)cta;
      if (params->Find("flow_id") == nullptr && params->Find("flow_name") == nullptr) {
        return Missing("interactive.action.parameters.flow_id or flow_name");
      }
    }
  }
  return Status::Ok();
}

Status CheckMarkRead(const JsonValue& body, OutboundMessage& out) {
  CS_RETURN_IF_ERROR(OnlyKeys(body, "", {"messaging_product", "status", "message_id", "typing_indicator"}));
  const JsonValue* status = body.Find("status");
  if (!status->is_string() || status->as_string() != "read") return Invalid("status", "must be \"read\"");
  CS_ASSIGN_OR_RETURN(const std::string* id, Str(body, "message_id", "", true, 256));
  out.kind = OutboundMessage::Kind::kMarkRead;
  out.marked_message_id = *id;
  out.free_form = false;
  out.body_json = ToJson(body);
  return Status::Ok();
}

}  // namespace

Result<OutboundMessage> ValidateOutbound(const JsonValue& body) {
  if (!body.is_object()) return WrongType("body", "a JSON object");
  const JsonValue* product = body.Find("messaging_product");
  if (product == nullptr) return InvalidArgument("invalid_parameter", "messaging_product is required");
  if (!product->is_string() || product->as_string() != "whatsapp") {
    return InvalidArgument("invalid_parameter", "messaging_product must be \"whatsapp\"");
  }
  OutboundMessage out;
  if (body.Find("status") != nullptr) {
    CS_RETURN_IF_ERROR(CheckMarkRead(body, out));
    return out;
  }
  CS_RETURN_IF_ERROR(OnlyKeys(body, "", {"messaging_product", "recipient_type", "to", "recipient", "type", "context",
                                         "biz_opaque_callback_data", "recipient_identity_key_hash", "text", "image",
                                         "video", "audio", "document", "sticker", "location", "contacts",
                                         "reaction", "template", "interactive"}));
  CS_ASSIGN_OR_RETURN(const std::string* rtype, Str(body, "recipient_type", "", false, 16));
  if (rtype != nullptr && *rtype != "individual" && *rtype != "group") {
    return Invalid("recipient_type", "must be individual or group");
  }
  out.group = rtype != nullptr && *rtype == "group";
  CS_ASSIGN_OR_RETURN(const std::string* to, Str(body, "to", "", false, 64));
  CS_ASSIGN_OR_RETURN(const std::string* recipient, Str(body, "recipient", "", false, 140));
  if (to != nullptr) {
    out.to_input = *to;
    if (out.group) {
      out.wa_id = *to;
    } else {
      Result<std::string> e164 = NormalizePhone(*to);
      if (!e164.ok()) return Invalid("to", "not a valid phone number");
      out.wa_id = e164->substr(1);
    }
  } else if (recipient != nullptr) {
    out.recipient_user_id = *recipient;
  } else {
    return Missing("to");
  }
  CS_ASSIGN_OR_RETURN(const std::string* opaque, Str(body, "biz_opaque_callback_data", "", false, 512, true));
  (void)opaque;
  CS_ASSIGN_OR_RETURN(const JsonValue* context, Object(body, "context", "", false));
  if (context != nullptr) {
    CS_RETURN_IF_ERROR(OnlyKeys(*context, "context", {"message_id"}));
    CS_ASSIGN_OR_RETURN(const std::string* id, Str(*context, "message_id", "context", true, 256));
    (void)id;
  }
  CS_ASSIGN_OR_RETURN(const std::string* type_ptr, Str(body, "type", "", false, 32));
  std::string type = type_ptr != nullptr ? *type_ptr : "text";  // Meta defaults to text
  out.type = type;
  // Exactly the object named by `type` may be present.
  for (std::string_view t : {"text", "image", "video", "audio", "document", "sticker", "location", "contacts",
                             "reaction", "template", "interactive"}) {
    if (t != type && body.Find(t) != nullptr) {
      return InvalidArgument("invalid_parameter", "parameter " + std::string(t) + " does not match type " + type);
    }
  }
  JsonValue::Object rebuilt;  // only when `contacts` arrives as a string
  if (type == "text") {
    CS_RETURN_IF_ERROR(CheckText(body));
  } else if (type == "image" || type == "video" || type == "document") {
    const JsonValue* media = body.Find(type);
    if (media == nullptr) return Missing(type);
    CS_RETURN_IF_ERROR(CheckMedia(*media, type, true, type == "document"));
  } else if (type == "audio" || type == "sticker") {
    const JsonValue* media = body.Find(type);
    if (media == nullptr) return Missing(type);
    CS_RETURN_IF_ERROR(CheckMedia(*media, type, false, false));
  } else if (type == "location") {
    CS_RETURN_IF_ERROR(CheckLocation(body));
  } else if (type == "contacts") {
    const JsonValue* contacts = body.Find("contacts");
    if (contacts == nullptr) return Missing("contacts");
    if (contacts->is_string()) {
      // Some SDKs JSON-encode the array into a string (spec §9).
      CS_ASSIGN_OR_RETURN(JsonValue decoded, ParseJson(contacts->as_string()));
      CS_RETURN_IF_ERROR(CheckContacts(decoded));
      for (const auto& [key, value] : body.as_object()) {
        rebuilt.emplace_back(key, key == "contacts" ? decoded : value);
      }
    } else {
      CS_RETURN_IF_ERROR(CheckContacts(*contacts));
    }
  } else if (type == "reaction") {
    CS_RETURN_IF_ERROR(CheckReaction(body));
  } else if (type == "template") {
    CS_RETURN_IF_ERROR(CheckTemplate(body, out));
    out.free_form = false;
  } else if (type == "interactive") {
    CS_RETURN_IF_ERROR(CheckInteractive(body));
  } else {
    return InvalidArgument("unsupported_message_type", "message type is not supported");
  }
  out.body_json = rebuilt.empty() ? ToJson(body) : ToJson(JsonValue::MakeObject(std::move(rebuilt)));
  return out;
}

namespace {

bool StartsWithBytes(std::string_view bytes, size_t offset, std::string_view magic) {
  return bytes.size() >= offset + magic.size() && bytes.substr(offset, magic.size()) == magic;
}

// Whether `bytes` begin as files of `type` do. Signatures from the formats'
// specifications (JPEG SOI, PNG, RIFF/WEBP, ISO BMFF "ftyp", Ogg, AMR,
// MPEG audio frames or ID3, ADTS, PDF, OLE2 compound files, ZIP for OOXML);
// plain text must be UTF-8 without NUL bytes.
bool ContentMatches(std::string_view type, std::string_view bytes) {
  if (type == "image/jpeg") return StartsWithBytes(bytes, 0, "\xFF\xD8\xFF");
  if (type == "image/png") return StartsWithBytes(bytes, 0, "\x89PNG\r\n\x1A\n");
  if (type == "image/webp") return StartsWithBytes(bytes, 0, "RIFF") && StartsWithBytes(bytes, 8, "WEBP");
  if (type == "video/mp4" || type == "video/3gpp" || type == "audio/mp4") return StartsWithBytes(bytes, 4, "ftyp");
  if (type == "audio/ogg") return StartsWithBytes(bytes, 0, "OggS");
  if (type == "audio/amr") return StartsWithBytes(bytes, 0, "#!AMR");
  if (type == "audio/mpeg") {
    return StartsWithBytes(bytes, 0, "ID3") ||
           (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0xFF && (static_cast<uint8_t>(bytes[1]) & 0xE0) == 0xE0);
  }
  if (type == "audio/aac") {
    return StartsWithBytes(bytes, 0, "ADIF") ||
           (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0xFF && (static_cast<uint8_t>(bytes[1]) & 0xF6) == 0xF0);
  }
  if (type == "application/pdf") return StartsWithBytes(bytes, 0, "%PDF-");
  if (type == "application/msword" || type == "application/vnd.ms-excel" || type == "application/vnd.ms-powerpoint") {
    return StartsWithBytes(bytes, 0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
  }
  if (type.rfind("application/vnd.openxmlformats-officedocument.", 0) == 0) return StartsWithBytes(bytes, 0, "PK\x03\x04");
  if (type == "text/plain") return bytes.find('\0') == std::string_view::npos && IsValidUtf8(bytes);
  return false;
}

}  // namespace

Result<MediaUploadForm> ReadMediaUploadForm(const HttpRequest& req) {
  const std::string* ct = req.Header("content-type");
  CS_ASSIGN_OR_RETURN(std::vector<MultipartPart> parts, ParseMultipartFormData(ct != nullptr ? *ct : "", req.body));
  const MultipartPart* file = nullptr;
  MediaUploadForm form;
  std::string product;
  for (const MultipartPart& p : parts) {
    if (p.name == "file" && file != nullptr) return InvalidArgument("invalid_multipart", "Upload one file per request");
    if (p.name == "file") file = &p;
    if (p.name == "type") form.mime_type = std::string(p.body);
    if (p.name == "messaging_product") product = std::string(p.body);
  }
  if (product.empty()) {
    if (auto q = ParseQuery(req.query); q.ok()) {
      for (const auto& [k, v] : *q) {
        if (k == "messaging_product") product = v;
      }
    }
  }
  if (product != "whatsapp") return InvalidArgument("invalid_field", "The parameter messaging_product must be whatsapp");
  if (file == nullptr) return InvalidArgument("missing_field", "The parameter file is required");
  if (form.mime_type.empty()) form.mime_type = file->content_type;
  form.filename = file->filename;
  form.bytes = file->body;
  return form;
}

std::optional<bool> MediaContentMatches(std::string_view mime_type, std::string_view bytes) {
  Result<std::string> kind = CheckMediaUpload(mime_type, bytes);
  if (kind.ok()) return true;
  if (kind.status().machine_code() == "media_content_mismatch") return false;
  if (kind.status().machine_code() == "media_too_large") {
    // Over the upload limit but of a known type: judge the content alone.
    const std::string type = AsciiLower(TrimAscii(mime_type.substr(0, mime_type.find(';'))));
    return ContentMatches(type, bytes);
  }
  return std::nullopt;  // a type WhatsApp does not take for uploads, or an empty file
}

Result<std::string> CheckMediaUpload(std::string_view mime_type, std::string_view content) {
  const size_t bytes = content.size();
  struct Kind {
    const char* name;
    size_t max_bytes;
    std::initializer_list<const char*> types;
  };
  static const Kind kKinds[] = {
      {"image", 5 << 20, {"image/jpeg", "image/png"}},
      {"video", 16 << 20, {"video/mp4", "video/3gpp"}},
      {"audio", 16 << 20, {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}},
      {"sticker", 500 << 10, {"image/webp"}},
      {"document",
       100 << 20,
       {"text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"}},
  };
  const std::string type = AsciiLower(TrimAscii(mime_type.substr(0, mime_type.find(';'))));
  for (const Kind& kind : kKinds) {
    for (const char* t : kind.types) {
      if (type != t) continue;
      if (bytes == 0) return InvalidArgument("media_unsupported", "the file is empty");
      if (bytes > kind.max_bytes) {
        return InvalidArgument("media_too_large", std::string(kind.name) + " files may be at most " +
                                                      std::to_string(kind.max_bytes) + " bytes");
      }
      if (!ContentMatches(type, content)) {
        return InvalidArgument("media_content_mismatch", "the file's content is not " + type);
      }
      return std::string(kind.name);
    }
  }
  return InvalidArgument("media_unsupported", "WhatsApp does not take this media type");
}

}  // namespace cs::whatsapp
