// File: audit_record.h
// One entry of the audit ledger, and its canonical byte form
// (docs/formats/audit-ledger.md): the bytes its hash covers, and the form the
// store keeps as the record itself. Below both store/ (which persists and
// decodes it) and audit/ (which hashes and verifies it); depends on nothing
// else, so both can use it.
//
//   "CSA1" | u64 seq | i64 ts_ms | 11 × (u32 length | bytes) | prev_hash[32]
//   fields: tenant_id, actor_type, actor_id, action, subject, purpose,
//           resource, outcome, request_id, source, details
// All integers big-endian. Thread-safety: plain data and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cs {

// One entry of the audit ledger as stored. The audit module computes seq,
// prev_hash and entry_hash (docs/formats/audit-ledger.md); the store only
// keeps them. Text fields never hold personal data (pseudonyms and ids only).
struct AuditRecord {
  int64_t seq = 0;            // 1, 2, 3, … without gaps
  int64_t ts_ms = 0;          // UTC unix milliseconds
  std::string tenant_id;      // "" for the system stream
  std::string actor_type;     // "integration" | "operator" | "system" | "anonymous"
  std::string actor_id;
  std::string action;         // e.g. "apikey.create"
  std::string subject;        // subject pseudonym or ""
  std::string purpose;
  std::string resource;       // e.g. "apikey:key_…"
  std::string outcome;        // "success" or a machine error code
  std::string request_id;
  std::string source;         // "api" | "cli" | "system"
  std::string details;        // compact JSON object of non-personal details
  std::string prev_hash;      // 32 bytes
  std::string entry_hash;     // 32 bytes: the RFC 6962 leaf hash
};

// Returns the canonical bytes of `record` (every field but entry_hash).
std::string EncodeAuditRecord(const AuditRecord& record);

// A decoded view into canonical bytes; valid while the bytes live.
struct AuditRecordView {
  int64_t seq = 0;
  int64_t ts_ms = 0;
  std::array<std::string_view, 11> fields;  // in the order of the file comment
  std::string_view prev_hash;
};

// Parses canonical bytes; nullopt when they are malformed.
std::optional<AuditRecordView> ParseAuditRecord(std::string_view canonical);

// Parses the record that starts at `pos` in `bytes` (records stored back to
// back: the format is self-delimiting) and moves `pos` past it. Sets
// `*length` to its size. nullopt, `pos` unchanged, when malformed.
std::optional<AuditRecordView> ParseAuditRecordAt(std::string_view bytes, size_t& pos, size_t* length = nullptr);

// Fills `out` from a view (entry_hash is left alone).
void AssignAuditRecord(const AuditRecordView& view, AuditRecord& out);

}  // namespace cs
