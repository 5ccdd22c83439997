// File: tenant_key_repository.h
// Tenant keys wrapped by the KMS, and the fields sealed directly under
// them, for rotation (docs/keys.md).
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cs {

// Where a field sealed under a tenant key lives (see ListTenantSealedFields).
struct TenantSealedField {
  std::string table;    // "channels", "subscribers", "outbox", "inbound_messages", "messages"
  std::string column;   // e.g. "app_secret_sealed"
  std::string row_id;
  std::string sealed;
};

class TenantKeyRepository {
 public:
  virtual ~TenantKeyRepository() = default;
  // A tenant key ("pepper", "content"), wrapped by the KMS.
  virtual Result<std::optional<std::string>> TenantKey(const std::string& tenant_id, const std::string& purpose) = 0;
  // Inserts the key unless one exists (first writer wins; read it back after).
  virtual Status InsertTenantKey(const std::string& tenant_id, const std::string& purpose,
                                 const std::string& wrapped) = 0;
  // Every stored tenant key: (tenant id, purpose, wrapped), for master-key rotation.
  virtual Result<std::vector<std::tuple<std::string, std::string, std::string>>> ListTenantKeys() = 0;
  // Replaces a stored tenant key's wrapped form (the same key under another
  // master key). kNotFound if absent.
  virtual Status ReplaceTenantKey(const std::string& tenant_id, const std::string& purpose,
                                  const std::string& wrapped) = 0;
  // Deletes every tenant key (a backup's data part holds none); returns how many.
  virtual Result<int64_t> DeleteAllTenantKeys() = 0;
  // The tenant's keys as (purpose, wrapped); a retired key has wrapped "".
  virtual Result<std::vector<std::pair<std::string, std::string>>> TenantKeysOf(const std::string& tenant_id) = 0;
  // Retires a tenant key: its wrapped form is erased, the row stays (so the
  // version is never created again). kNotFound if absent.
  virtual Status RetireTenantKey(const std::string& tenant_id, const std::string& purpose) = 0;

  // Tenant-key rotation: fields of the tenant sealed directly under a
  // tenant key (channel and subscriber secrets, payloads without a subject)
  // whose ciphertext header names `version`, at most `limit`. Each is bound
  // to (tenant, "", row_id, column without "_sealed").
  virtual Result<std::vector<TenantSealedField>> ListTenantSealedFields(const std::string& tenant_id,
                                                                        uint32_t version, int limit) = 0;
  // Replaces one such field if it still holds field.sealed; false otherwise.
  virtual Result<bool> ReplaceTenantSealedField(const std::string& tenant_id, const TenantSealedField& field,
                                                const std::string& resealed) = 0;
};

}  // namespace cs
