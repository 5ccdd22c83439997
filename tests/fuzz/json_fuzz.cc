// libFuzzer target: strict JSON parsing and field mapping of untrusted bodies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "json/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  cs::JsonLimits limits;
  limits.max_depth = 32;
  limits.max_array_items = 1000;
  auto parsed = cs::ParseJson(input, limits);
  if (!parsed.ok()) return 0;
  auto reader = cs::ObjectReader::Create(*parsed);
  if (!reader.ok()) return 0;
  (void)reader->OptionalString("name");
  (void)reader->OptionalInt("expires_in_days");
  (void)reader->OptionalStringArray("scopes");
  (void)reader->OptionalBool("flag");
  (void)reader->Finish();
  return 0;
}
