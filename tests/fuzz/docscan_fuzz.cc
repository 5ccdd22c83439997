// libFuzzer target: the text of Office Open XML and OpenDocument files
// (libarchive's zip reader and this project's XML walks); each input is
// read as both. PDF is left out: poppler's own bugs
// are what the child process's limits are for, not this project's code.
// Whatever is read must stay within the limits, and every refusal must be
// one of the document_* codes the media path maps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "docscan/document_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  cs::docscan::Limits limits;
  limits.max_text_bytes = 1 << 16;
  limits.max_part_bytes = 1 << 18;
  limits.max_parts = 64;
  for (cs::docscan::Format format : {cs::docscan::Format::kOoxml, cs::docscan::Format::kOpenDocument}) {
    auto text = cs::docscan::ExtractText(format, input, limits);
    if (text.ok()) {
      // The readings share the limit; a three-byte line separates them
      // (four readings of an Office file, three of an OpenDocument one).
      const int64_t separators = format == cs::docscan::Format::kOoxml ? 9 : 6;
      if (static_cast<int64_t>(text->size()) > limits.max_text_bytes + separators) __builtin_trap();
      continue;
    }
    if (text.status().machine_code().rfind("document_", 0) != 0) __builtin_trap();
  }
  return 0;
}
