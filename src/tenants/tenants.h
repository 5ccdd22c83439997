// File: tenants.h
// Tenants, the unit of isolation (TEN-01): every record, key, channel and
// audit entry belongs to exactly one. Created by an operator; read by the
// API for the caller's own tenant only.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <string>

#include "audit/audit.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"

namespace cs {

class TenantService {
 public:
  // None is owned; all must outlive the service.
  TenantService(Store& store, const AuditLedger& ledger, const Clock& clock, Random& random)
      : store_(store), ledger_(ledger), clock_(clock), random_(random) {}

  // Creates a tenant with its audit entry ("tenant.create"). invalid_argument
  // for a bad name; conflict when the name is taken.
  Result<Tenant> Create(const AuditActor& actor, const std::string& name);
  // kNotFound for an unknown id.
  Result<Tenant> Get(const std::string& tenant_id) { return store_.tenants().Get(tenant_id); }
  // How long the tenant's audit entries are kept: its own setting, else `fallback_days`.
  int64_t AuditRetentionDays(const std::string& tenant_id, int64_t fallback_days);

 private:
  Store& store_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace cs
