// libFuzzer target: phone-number normalisation. Whatever it accepts must be
// E.164 and a fixed point (normalising it again gives the same number).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/phone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto normalized = cs::NormalizePhone(input, cs::PhoneNormalization{"49"});
  if (!normalized.ok()) return 0;
  const std::string& e164 = *normalized;
  if (e164.size() < 9 || e164.size() > 16 || e164[0] != '+' || e164[1] == '0') __builtin_trap();
  auto again = cs::NormalizePhone(e164);
  if (!again.ok() || *again != e164) __builtin_trap();
  return 0;
}
