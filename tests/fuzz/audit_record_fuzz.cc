// libFuzzer target: the audit record byte format read back from storage or
// an export. Parsing must never read out of bounds, and whatever parses must
// re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit_record/audit_record.h"
#include "store/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto view = cs::ParseAuditRecord(input);
  if (!view) return 0;
  cs::AuditRecord record;
  cs::AssignAuditRecord(*view, record);
  if (cs::EncodeAuditRecord(record) != input) __builtin_trap();
  return 0;
}
