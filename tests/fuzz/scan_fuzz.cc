// Fuzzes the content scanner and masking: findings stay inside the text,
// are sorted and never overlap; a masked card keeps at most ten of its
// digits; nothing crashes on any bytes.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "scan/scan.h"

namespace {

const cs::scan::Scanner& TheScanner() {
  static std::unique_ptr<cs::scan::Scanner> s = [] {
    auto created = cs::scan::Scanner::Create();
    if (!created.ok()) std::abort();
    return std::move(created).value();
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<cs::scan::Finding> found = TheScanner().Scan(text);
  size_t previous_end = 0;
  for (const cs::scan::Finding& f : found) {
    if (f.start >= f.end || f.end > text.size() || f.start < previous_end) std::abort();
    previous_end = f.end;
  }
  const std::string masked = cs::scan::Mask(text, found);
  // Every masked character becomes one '*': never longer than the input.
  if (masked.size() > text.size()) std::abort();
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    // Same offsets: a masked card keeps at most its first six and last four digits.
    if (masked.size() != text.size()) std::abort();
    for (const cs::scan::Finding& f : found) {
      if (f.type != cs::scan::FindingType::kCard) continue;
      int digits = 0;
      for (size_t i = f.start; i < f.end; ++i) digits += masked[i] >= '0' && masked[i] <= '9';
      if (digits > 10) std::abort();
    }
  }
  TheScanner().Scan(masked);
  return 0;
}
