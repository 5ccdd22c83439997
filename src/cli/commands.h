// File: commands.h (internal to cli/)
// Helpers shared by the subcommand files, and the registration of command
// groups that live in their own file.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "server/server.h"

namespace CLI {
class App;
}

namespace cs::cli_internal {

// Options every subcommand accepts.
struct CommonOptions {
  std::string config_file;
  std::string data_dir;
  std::string listen;
  bool json = false;
};

void AddCommon(CLI::App* cmd, CommonOptions& o, bool with_json = true);
// Loads configuration from the options. With `demo_key`, and no master key
// configured, `<data_dir>/master.key` (made by `serve --demo`) is used when it exists.
ConfigLoad Load(const CommonOptions& o, bool demo_key = true);
AuditActor OperatorActor();
Result<std::unique_ptr<AdminRuntime>> Open(const CommonOptions& o, MigrationMode mode);

// The data directory with its key hierarchy open: OpenMessaging checks that
// the configured master key opens the stored keys, as a start would.
struct OpenedKeys {
  std::shared_ptr<const Config> config;
  std::unique_ptr<AdminRuntime> rt;
  std::unique_ptr<MessagingRuntime> messaging;
};
Result<OpenedKeys> OpenKeys(const CommonOptions& o);

// Resolves --tenant given as an id ("ten_…") or a name.
Result<Tenant> ResolveTenant(Store& store, const std::string& ref);

// Progress for a terminal only (stderr); piped output stays clean.
void Progress(const std::string& text);
void ProgressDone();

// Adds `consentry audit …`; the chosen command's body is stored in `run`.
void AddAuditCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run);
// Adds `consentry keys …`.
void AddKeysCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run);
// Adds `consentry backup …`.
void AddBackupCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run);
// Adds `consentry channel …`.
void AddChannelCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run);
// Adds `consentry operator …`.
void AddOperatorCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run);
// Adds `consentry scan`.
void AddScanCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run);

}  // namespace cs::cli_internal
