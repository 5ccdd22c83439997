#include "json/json.h"

#include <simdjson.h>

#include "common/json_writer.h"
#include "common/strings.h"

namespace cs {

namespace {

// simdjson's own depth limit is a backstop only; our limit is enforced while
// converting so the error names the documented limit.
constexpr size_t kParserDepthBackstop = 256;

Status ParseError(simdjson::error_code code, const JsonLimits& limits) {
  switch (code) {
    case simdjson::DEPTH_ERROR:
      return InvalidArgument("json_too_deep", "JSON nests deeper than " + std::to_string(limits.max_depth) +
                                                  " levels");
    case simdjson::UTF8_ERROR:
      return InvalidArgument("invalid_utf8", "body is not valid UTF-8");
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return InvalidArgument("invalid_number", "a number is malformed or out of range");
    default:
      return InvalidArgument("invalid_json", std::string("body is not valid JSON: ") +
                                                 simdjson::error_message(code));
  }
}

Result<JsonValue> Convert(simdjson::dom::element element, int depth, const JsonLimits& limits) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::NULL_VALUE:
      return JsonValue();
    case element_type::BOOL:
      return JsonValue::MakeBool(element.get_bool().value_unsafe());
    case element_type::INT64:
      return JsonValue::MakeInt(element.get_int64().value_unsafe());
    case element_type::UINT64:
      return InvalidArgument("invalid_number", "an integer is larger than 2^63-1");
    case element_type::DOUBLE:
      return JsonValue::MakeDouble(element.get_double().value_unsafe());
    case element_type::STRING:
      return JsonValue::MakeString(std::string(element.get_string().value_unsafe()));
    case element_type::ARRAY: {
      if (depth + 1 > limits.max_depth) return ParseError(simdjson::DEPTH_ERROR, limits);
      simdjson::dom::array array = element.get_array().value_unsafe();
      if (array.size() > limits.max_array_items) {
        return Status(StatusCode::kInvalidArgument, "too_long",
                      "an array has more than " + std::to_string(limits.max_array_items) + " items");
      }
      JsonValue::Array out;
      out.reserve(array.size());
      for (simdjson::dom::element item : array) {
        CS_ASSIGN_OR_RETURN(JsonValue v, Convert(item, depth + 1, limits));
        out.push_back(std::move(v));
      }
      return JsonValue::MakeArray(std::move(out));
    }
    case element_type::OBJECT: {
      if (depth + 1 > limits.max_depth) return ParseError(simdjson::DEPTH_ERROR, limits);
      JsonValue::Object out;
      std::set<std::string_view> keys;
      simdjson::dom::object object = element.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair field : object) {
        if (!keys.insert(field.key).second) {
          // Two parsers may disagree on which duplicate wins; refuse instead (I-11).
          return InvalidArgument("ambiguous_input", "an object repeats a key");
        }
        CS_ASSIGN_OR_RETURN(JsonValue v, Convert(field.value, depth + 1, limits));
        out.emplace_back(std::string(field.key), std::move(v));
      }
      return JsonValue::MakeObject(std::move(out));
    }
  }
  return Internal("unknown JSON element type");
}

}  // namespace

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : as_object()) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string_view JsonTypeName(JsonValue::Type type) {
  switch (type) {
    case JsonValue::Type::kNull: return "null";
    case JsonValue::Type::kBool: return "boolean";
    case JsonValue::Type::kInt: return "integer";
    case JsonValue::Type::kDouble: return "number";
    case JsonValue::Type::kString: return "string";
    case JsonValue::Type::kArray: return "array";
    case JsonValue::Type::kObject: return "object";
  }
  return "unknown";
}

Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits) {
  // UTF-8 first so malformed bytes get their own code even inside strings.
  if (!IsValidUtf8(text)) return ParseError(simdjson::UTF8_ERROR, limits);
  simdjson::dom::parser parser;
  if (auto err = parser.allocate(text.size() + 64, kParserDepthBackstop); err) {
    return ResourceExhausted("payload_too_large", "cannot allocate the JSON parser");
  }
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root); err) return ParseError(err, limits);
  return Convert(root, 0, limits);
}

Result<ObjectReader> ObjectReader::Create(const JsonValue& value, std::string where) {
  if (!value.is_object()) {
    return InvalidArgument("invalid_type", where + " must be a JSON object, not " +
                                               std::string(JsonTypeName(value.type())));
  }
  return ObjectReader(value, std::move(where));
}

const JsonValue* ObjectReader::Take(std::string_view key) {
  const JsonValue* v = value_->Find(key);
  consumed_.emplace(key);
  return v;
}

Status ObjectReader::TypeError(std::string_view key, std::string_view expected, const JsonValue& got) const {
  return InvalidArgument("invalid_type", where_ + "." + std::string(key) + " must be " + std::string(expected) +
                                             ", not " + std::string(JsonTypeName(got.type())));
}

Result<std::optional<std::string>> ObjectReader::OptionalString(std::string_view key) {
  const JsonValue* v = Take(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return TypeError(key, "a string", *v);
  return std::optional<std::string>(v->as_string());
}

Result<std::string> ObjectReader::RequiredString(std::string_view key) {
  CS_ASSIGN_OR_RETURN(std::optional<std::string> v, OptionalString(key));
  if (!v) return InvalidArgument("missing_field", where_ + "." + std::string(key) + " is required");
  return std::move(*v);
}

Result<std::optional<int64_t>> ObjectReader::OptionalInt(std::string_view key) {
  const JsonValue* v = Take(key);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  if (v->type() != JsonValue::Type::kInt) return TypeError(key, "an integer", *v);
  return std::optional<int64_t>(v->as_int());
}

Result<int64_t> ObjectReader::RequiredInt(std::string_view key) {
  CS_ASSIGN_OR_RETURN(std::optional<int64_t> v, OptionalInt(key));
  if (!v) return InvalidArgument("missing_field", where_ + "." + std::string(key) + " is required");
  return *v;
}

Result<std::optional<bool>> ObjectReader::OptionalBool(std::string_view key) {
  const JsonValue* v = Take(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (v->type() != JsonValue::Type::kBool) return TypeError(key, "a boolean", *v);
  return std::optional<bool>(v->as_bool());
}

Result<const JsonValue*> ObjectReader::OptionalObject(std::string_view key) {
  const JsonValue* v = Take(key);
  if (v == nullptr) return static_cast<const JsonValue*>(nullptr);
  if (!v->is_object()) return TypeError(key, "an object", *v);
  return v;
}

Result<std::optional<std::vector<std::string>>> ObjectReader::OptionalStringArray(std::string_view key) {
  const JsonValue* v = Take(key);
  if (v == nullptr || v->is_null()) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return TypeError(key, "an array of strings", *v);
  std::vector<std::string> out;
  for (const JsonValue& item : v->as_array()) {
    if (!item.is_string()) return TypeError(key, "an array of strings", item);
    out.push_back(item.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Status ObjectReader::Finish() const {
  for (const auto& [k, v] : value_->as_object()) {
    if (!consumed_.contains(k)) {
      // The key is caller-controlled: quote it escaped-by-construction in JSON output later,
      // but cap its length so a huge key cannot bloat the error.
      std::string shown = k.size() > 64 ? k.substr(0, 64) + "…" : k;
      return InvalidArgument("unknown_field", where_ + " has an unknown field \"" + shown + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace cs

namespace cs {

namespace {
void WriteValue(JsonWriter& w, const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull: w.Null(); break;
    case JsonValue::Type::kBool: w.Bool(v.as_bool()); break;
    case JsonValue::Type::kInt: w.Int(v.as_int()); break;
    case JsonValue::Type::kDouble: w.Double(v.as_double()); break;
    case JsonValue::Type::kString: w.String(v.as_string()); break;
    case JsonValue::Type::kArray:
      w.BeginArray();
      for (const JsonValue& item : v.as_array()) WriteValue(w, item);
      w.EndArray();
      break;
    case JsonValue::Type::kObject:
      w.BeginObject();
      for (const auto& [key, item] : v.as_object()) {
        w.Key(key);
        WriteValue(w, item);
      }
      w.EndObject();
      break;
  }
}
}  // namespace

std::string ToJson(const JsonValue& value) {
  JsonWriter w;
  WriteValue(w, value);
  return w.Take();
}

}  // namespace cs
