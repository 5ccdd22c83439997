// File: process.h
// Runs the real `consentry` binary for integration tests: one-shot CLI
// commands, and a server on 127.0.0.1 port 0 in a fresh data directory.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.h"

namespace cs::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  // Parses `out` as JSON (fails the test if it is not).
  JsonValue Json() const;
};

// Returns a fresh empty directory under the test temp dir.
std::string MakeTempDir(const std::string& hint);

// Runs `consentry args…` with extra environment entries (NAME=VALUE).
CliResult RunConsentry(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// The same, with `input` on standard input.
CliResult RunConsentryWithInput(const std::vector<std::string>& args, const std::string& input,
                                const std::vector<std::string>& env = {});

// A tenant and an API key created through the CLI.
struct Credentials {
  std::string tenant_id;
  std::string key_id;
  std::string token;
};

// Creates tenant `name` in `data_dir` and a key with `scopes` (comma-separated).
Credentials CreateTenantWithKey(const std::string& data_dir, const std::string& name, const std::string& scopes);

class ServerProcess {
 public:
  // Starts `consentry serve` on 127.0.0.1:0 with `data_dir`; `env` adds
  // NAME=VALUE entries; `extra_args` are appended. Waits until it listens.
  ServerProcess(std::string data_dir, std::vector<std::string> env = {}, std::vector<std::string> extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return port_ != 0; }
  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  // Everything the server wrote to stdout and stderr so far.
  std::string Stdout() const;
  std::string Stderr() const;
  // Sends SIGTERM and waits; returns the exit status (or -1).
  int Stop();
  // Sends SIGKILL and waits.
  void Kill();

 private:
  std::string data_dir_;
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Returns the run of id characters ([A-Za-z0-9_-]) that follows the first
// `marker` in `text`, with `keep` prepended ("" if absent). (std::regex trips
// GCC 12's -Wmaybe-uninitialized in the sanitizer build.)
std::string After(const std::string& text, const std::string& marker, const std::string& keep = "");

// Standard base64 with padding (RFC 4648 §4).
std::string Base64(std::string_view bytes);

// Polls `done` every 20 ms until it holds or `timeout_ms` passed; its last answer.
bool WaitFor(const std::function<bool()>& done, int timeout_ms = 15000);

// Returns the whole content of a file ("" if missing).
std::string ReadFile(const std::string& path);

// Returns the concatenated bytes of every regular file under `dir`.
std::string ReadTree(const std::string& dir);

}  // namespace cs::testing
