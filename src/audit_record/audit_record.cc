#include "audit_record/audit_record.h"

#include <cstring>

namespace cs {

namespace {

constexpr std::string_view kMagic = "CSA1";

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Big-endian reads; REQUIRES: enough bytes at `p` (checked by the caller).
// memcpy + byte swap: the verifier parses millions of records.
uint64_t GetU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap64(v);
}

uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap32(v);
}

}  // namespace

std::string EncodeAuditRecord(const AuditRecord& r) {
  std::string out;
  out.reserve(96 + r.details.size() + r.resource.size() + r.tenant_id.size() + r.actor_id.size() +
              r.request_id.size() + r.subject.size());
  out.append(kMagic);
  PutU64(out, static_cast<uint64_t>(r.seq));
  PutU64(out, static_cast<uint64_t>(r.ts_ms));
  for (const std::string* f : {&r.tenant_id, &r.actor_type, &r.actor_id, &r.action, &r.subject, &r.purpose,
                               &r.resource, &r.outcome, &r.request_id, &r.source, &r.details}) {
    const auto n = static_cast<uint32_t>(f->size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
    out.append(*f);
  }
  out.append(r.prev_hash);
  return out;
}

std::optional<AuditRecordView> ParseAuditRecordAt(std::string_view b, size_t& start, size_t* length) {
  if (start > b.size() || b.size() - start < 4 + 16 + 11 * 4 + 32 || b.substr(start, 4) != kMagic) return std::nullopt;
  AuditRecordView v;
  v.seq = static_cast<int64_t>(GetU64(b.data() + start + 4));
  v.ts_ms = static_cast<int64_t>(GetU64(b.data() + start + 12));
  size_t pos = start + 20;
  for (auto& field : v.fields) {
    if (b.size() - pos < 4) return std::nullopt;
    const uint32_t n = GetU32(b.data() + pos);
    pos += 4;
    if (n > b.size() - pos) return std::nullopt;
    field = std::string_view(b.data() + pos, n);
    pos += n;
  }
  if (b.size() - pos < 32) return std::nullopt;
  v.prev_hash = b.substr(pos, 32);
  pos += 32;
  if (length) *length = pos - start;
  start = pos;
  return v;
}

std::optional<AuditRecordView> ParseAuditRecord(std::string_view b) {
  size_t pos = 0;
  std::optional<AuditRecordView> v = ParseAuditRecordAt(b, pos);
  if (!v || pos != b.size()) return std::nullopt;
  return v;
}

void AssignAuditRecord(const AuditRecordView& v, AuditRecord& r) {
  r.seq = v.seq;
  r.ts_ms = v.ts_ms;
  std::string* targets[] = {&r.tenant_id, &r.actor_type, &r.actor_id, &r.action, &r.subject, &r.purpose,
                            &r.resource, &r.outcome, &r.request_id, &r.source, &r.details};
  for (size_t i = 0; i < v.fields.size(); ++i) targets[i]->assign(v.fields[i]);
  r.prev_hash.assign(v.prev_hash);
}

}  // namespace cs
