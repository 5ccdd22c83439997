// File: erasure.h
// Erasing a subject by crypto-shredding (docs/erasure.md): journalled
// steps, resumable after a crash.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <functional>
#include <string>

#include "audit/audit.h"
#include "common/status.h"
#include "consent/consent.h"
#include "env/env.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

// Erasing a subject (GDPR Art. 17, F-03; docs/erasure.md): its data key is
// destroyed first (crypto-shredding: every sealed copy becomes unreadable at
// once, unless it comes with an older copy of the key table), then its rows are deleted or
// cleared and its consents end. Each step is journalled and commits with
// its own changes, so an erasure interrupted by a crash is finished by
// ResumePending at the next start (and every minute while serving). The
// rest of the tenant is untouched.
class ErasureService {
 public:
  ErasureService(Store& store, TenantKeyring& keyring, ConsentService* consent, const AuditLedger& ledger,
                 const Clock& clock, Random& random)
      : store_(store), keyring_(keyring), consent_(consent), ledger_(ledger), clock_(clock), random_(random) {}

  // Erases `subject` ("sub_…") of the tenant and returns the finished
  // journal entry. invalid_argument "invalid_subject" for a malformed id.
  Result<ErasureRecord> Erase(const std::string& tenant_id, const std::string& subject, const AuditActor& actor);
  // The journal entry of one erasure (kNotFound for another tenant's).
  Result<ErasureRecord> Get(const std::string& tenant_id, const std::string& id) {
    return store_.vault().GetErasure(tenant_id, id);
  }
  // Finishes every erasure a crash interrupted; returns how many finished.
  // One that fails stays pending (an error only when none could finish).
  Result<int> ResumePending();

  // Called with the journal entry once the key is destroyed and before the
  // data step; an error keeps the erasure pending (retried by
  // ResumePending). The gateway copies the entry off the database volume
  // with it, so a restore after losing the database still replays it
  // (docs/backup.md). Set before use.
  void SetKeyDestroyedHook(std::function<Status(const ErasureRecord&)> hook) { key_destroyed_hook_ = std::move(hook); }

  // Tests only: behave as if the process died right after `step` committed.
  void CrashAfterStepForTest(std::string step) { crash_after_ = std::move(step); }

 private:
  Result<ErasureRecord> Continue(ErasureRecord erasure);

  std::function<Status(const ErasureRecord&)> key_destroyed_hook_;

  Store& store_;
  TenantKeyring& keyring_;
  ConsentService* consent_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  std::string crash_after_;
};

// Returns an erasure journal entry as the JSON object of docs/api.md.
std::string ErasureJson(const ErasureRecord& erasure);

}  // namespace cs
