// File: server.h
// The composition root: builds every module from a validated Config, owns
// threads and lifetimes, and wires them explicitly (no globals, no
// registries). Also opens the store for the admin commands.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "auth/auth.h"
#include "common/status.h"
#include "config/config.h"
#include "env/env.h"
#include "store/store.h"

namespace cs {

// Returns the version string of this build.
std::string_view ConsentryVersion();

// What an admin command needs: the store and the key service over it.
struct AdminRuntime {
  std::unique_ptr<Store> store;
  SystemClock clock;
  CryptoRandom random;
  std::unique_ptr<ApiKeyService> api_keys;
};

enum class MigrationMode { kApply, kRequireCurrent, kNone };

// Creates the data directory (0700) if needed and opens the configured
// store. kApply migrates; kRequireCurrent refuses an outdated schema with
// failed_precondition "migration_required"; kNone leaves it alone.
Result<std::unique_ptr<AdminRuntime>> OpenAdminRuntime(const Config& config, MigrationMode mode);

struct ServeOptions {
  bool demo = false;          // create a demo tenant and print a fresh key for it
  std::string ready_file;     // written with {"url":…,"port":…} once listening
};

// Runs the gateway until SIGINT or SIGTERM. Prints the URL (and the demo
// credentials) to `out`. Returns an error if it cannot start.
Status RunServe(std::shared_ptr<const Config> config, const ServeOptions& options, std::ostream& out);

}  // namespace cs
