// Tenants (tenants.h).
#include "tenants/tenants.h"

#include "auth/auth.h"

namespace cs {

Result<Tenant> TenantService::Create(const AuditActor& actor, const std::string& name) {
  CS_RETURN_IF_ERROR(ValidateName(name, "tenant name"));
  Tenant t;
  CS_ASSIGN_OR_RETURN(t.id, NewId(random_, "ten", 12));
  t.name = name;
  t.created_at_ms = clock_.NowUnixMillis();
  Status s = store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.tenants().Create(t));
    AuditEvent e{.tenant_id = t.id, .actor = actor, .action = "tenant.create", .resource = "tenant:" + t.id};
    return ledger_.Record(tx, e);
  });
  if (s.machine_code() == "conflict") return AlreadyExists("conflict", "a tenant with that name exists");
  CS_RETURN_IF_ERROR(s);
  return t;
}

int64_t TenantService::AuditRetentionDays(const std::string& tenant_id, int64_t fallback_days) {
  if (tenant_id.empty()) return fallback_days;
  Result<Tenant> t = store_.tenants().Get(tenant_id);
  if (t.ok() && t->audit_retention_days) return *t->audit_retention_days;
  return fallback_days;
}

}  // namespace cs
