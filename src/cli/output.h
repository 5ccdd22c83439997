// File: output.h (internal to cli/)
// Printing results and errors as text for people or JSON for scripts.
#pragma once

#include <iosfwd>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace cs::cli_internal {

// Prints `status` to stderr: "error: <code>: <message>", or the JSON envelope
// on stdout when `json`. Returns the exit code (2 for configuration errors, 1 otherwise).
int PrintError(const Status& status, bool json);

// Returns a tenant as a JSON object.
std::string TenantJson(const Tenant& t);

}  // namespace cs::cli_internal
