// File: json.h
// Strict JSON input: parse untrusted bytes into an owned, immutable tree and
// map it onto fixed structs with ObjectReader. Never polymorphic (I-08).
//
// Refusals (all kInvalidArgument unless noted, machine codes of
// docs/errors.md): invalid_utf8 (checked over the raw bytes first),
// invalid_json, json_too_deep (more than JsonLimits::max_depth nested
// containers), ambiguous_input (an object repeats a key, I-11),
// invalid_number (out of range), too_long (kFailedPrecondition-free 422:
// an array longer than max_array_items). Field mapping adds unknown_field,
// missing_field and invalid_type (B-21).
//
// simdjson stays inside json.cc: its header is large and only this module
// compiles it. Thread-safety: ParseJson is reentrant; values are immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace cs {

struct JsonLimits {
  int max_depth = 32;              // nested arrays/objects; the top-level container is depth 1
  size_t max_array_items = 1000;   // per array
};

class JsonValue {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;  // keys unique, input order

  JsonValue() = default;
  static JsonValue MakeBool(bool v) { return JsonValue(Storage(v)); }
  static JsonValue MakeInt(int64_t v) { return JsonValue(Storage(v)); }
  static JsonValue MakeDouble(double v) { return JsonValue(Storage(v)); }
  static JsonValue MakeString(std::string v) { return JsonValue(Storage(std::move(v))); }
  static JsonValue MakeArray(Array v) { return JsonValue(Storage(std::move(v))); }
  static JsonValue MakeObject(Object v) { return JsonValue(Storage(std::move(v))); }

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_string() const { return type() == Type::kString; }
  bool is_object() const { return type() == Type::kObject; }
  bool is_array() const { return type() == Type::kArray; }

  // Accessors REQUIRE the matching type().
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_double() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const Array& as_array() const { return std::get<Array>(data_); }
  const Object& as_object() const { return std::get<Object>(data_); }

  // Returns the member `key` of an object, or nullptr (also for non-objects).
  const JsonValue* Find(std::string_view key) const;

 private:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object>;
  explicit JsonValue(Storage s) : data_(std::move(s)) {}
  Storage data_;
};

// Returns the name of a JSON type for error messages ("string", "object", …).
std::string_view JsonTypeName(JsonValue::Type type);

// Parses `text` under `limits`. See the file comment for the refusals.
Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Serialises `value` as compact JSON (object members in input order).
std::string ToJson(const JsonValue& value);

// Maps one JSON object onto a fixed struct: each getter consumes a field,
// and Finish() refuses any field nobody asked for (unknown_field), so new
// or misspelled input never passes silently.
class ObjectReader {
 public:
  // Returns a reader over `value`, or invalid_type if it is not an object.
  // `where` names the object in messages ("body", "body.template").
  static Result<ObjectReader> Create(const JsonValue& value, std::string where = "body");

  Result<std::optional<std::string>> OptionalString(std::string_view key);
  Result<std::string> RequiredString(std::string_view key);
  Result<std::optional<int64_t>> OptionalInt(std::string_view key);
  Result<int64_t> RequiredInt(std::string_view key);
  Result<std::optional<bool>> OptionalBool(std::string_view key);
  Result<std::optional<std::vector<std::string>>> OptionalStringArray(std::string_view key);
  // Returns the member `key` if it is an object (nullptr when absent).
  Result<const JsonValue*> OptionalObject(std::string_view key);

  // Returns unknown_field naming the first member no getter consumed.
  Status Finish() const;

 private:
  ObjectReader(const JsonValue& value, std::string where) : value_(&value), where_(std::move(where)) {}
  const JsonValue* Take(std::string_view key);
  Status TypeError(std::string_view key, std::string_view expected, const JsonValue& got) const;

  const JsonValue* value_;  // not owned; outlives the reader
  std::string where_;
  std::set<std::string, std::less<>> consumed_;
};

}  // namespace cs
