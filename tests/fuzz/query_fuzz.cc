// libFuzzer target: query strings (percent-decoding once, duplicates,
// UTF-8) and RFC 3339 timestamps from URLs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/strings.h"
#include "http/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto params = cs::ParseQuery(input);
  if (params.ok()) {
    for (const auto& [name, value] : *params) {
      if (!cs::IsValidUtf8(name) || !cs::IsValidUtf8(value)) __builtin_trap();  // decoded values are UTF-8
      (void)cs::ParseRfc3339Millis(value);
      (void)cs::ParseNonNegativeInt(value);
    }
  }
  return 0;
}
