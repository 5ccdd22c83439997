// File: json_writer.h
// JsonWriter: builds compact JSON text with correct escaping.
//
// Why hand-written: simdjson (our parser) has no serializer in the version
// Debian bookworm ships, and pulling RapidJSON in only for output would add a
// second JSON library. Escaping is the one tricky part; it is tested against
// every control character, U+2028/2029 and invalid UTF-8 (replaced by
// U+FFFD so a log line or response is always valid JSON).
//
// Usage: w.BeginObject(); w.Key("a"); w.String("b"); w.EndObject(); w.str().
// The writer inserts commas; it does not check nesting (callers are ours).
// Thread-safety: none; one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cs {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts already-serialised JSON (REQUIRES: `json` is valid JSON).
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();
  std::string out_;
  bool need_comma_ = false;
};

// Appends `value` to `out` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view value);

// Returns the error envelope {"error":{"code":…,"message":…,"request_id":…}}.
std::string ErrorEnvelope(std::string_view code, std::string_view message, std::string_view request_id);

}  // namespace cs
