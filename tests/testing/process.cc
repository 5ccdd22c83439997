#include "testing/process.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace cs::testing {

namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& out,
            const std::string& err, const std::string& in = "/dev/null") {
  std::vector<std::string> argv_s = {CONSENTRY_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  auto given = [&](std::string_view entry) {
    const std::string_view name = entry.substr(0, entry.find('=') + 1);
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(name, 0) == 0; });
  };
  for (char** e = environ; *e; ++e) {
    // Tests must not inherit configuration from the developer's shell; what
    // the test gives replaces the inherited entry of the same name.
    if (std::string_view(*e).rfind("CONSENTRY_", 0) != 0 && !given(*e)) env_s.emplace_back(*e);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int n = open(in.c_str(), O_RDONLY);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& a : env_s) envp.push_back(a.data());
    envp.push_back(nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReadTree(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) all += ReadFile(entry.path().string());
  }
  return all;
}

JsonValue CliResult::Json() const {
  auto v = ParseJson(out);
  EXPECT_TRUE(v.ok()) << "not JSON: " << out << " / " << err;
  return v.ok() ? std::move(v).value() : JsonValue();
}

std::string MakeTempDir(const std::string& hint) {
  static std::atomic<int> counter{0};
  std::string dir = ::testing::TempDir() + "/consentry_it_" + std::to_string(getpid()) + "_" + hint + "_" +
                    std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

CliResult RunConsentry(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return RunConsentryWithInput(args, "", env);
}

CliResult RunConsentryWithInput(const std::vector<std::string>& args, const std::string& input,
                                const std::vector<std::string>& env) {
  std::string dir = MakeTempDir("cli");
  std::ofstream(dir + "/in", std::ios::binary) << input;
  pid_t pid = Spawn(args, env, dir + "/out", dir + "/err", dir + "/in");
  CliResult r;
  r.exit_code = WaitExit(pid);
  r.out = ReadFile(dir + "/out");
  r.err = ReadFile(dir + "/err");
  std::filesystem::remove_all(dir);
  return r;
}

Credentials CreateTenantWithKey(const std::string& data_dir, const std::string& name, const std::string& scopes) {
  Credentials c;
  CliResult t = RunConsentry({"tenant", "create", "--data-dir", data_dir, "--name", name, "--json"});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  c.tenant_id = t.Json().Find("id") ? t.Json().Find("id")->as_string() : "";
  CliResult k = RunConsentry({"apikey", "create", "--data-dir", data_dir, "--tenant", c.tenant_id, "--name",
                              "it-" + name, "--scope", scopes, "--json"});
  EXPECT_EQ(k.exit_code, 0) << k.err;
  JsonValue kj = k.Json();
  if (kj.Find("id")) c.key_id = kj.Find("id")->as_string();
  if (kj.Find("token")) c.token = kj.Find("token")->as_string();
  return c;
}

ServerProcess::ServerProcess(std::string data_dir, std::vector<std::string> env, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)) {
  std::string ready = data_dir_ + ".ready";
  std::filesystem::remove(ready);
  out_path_ = data_dir_ + ".stdout";
  err_path_ = data_dir_ + ".stderr";
  std::vector<std::string> args = {"serve", "--data-dir", data_dir_, "--listen", "127.0.0.1:0", "--ready-file", ready};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(args, env, out_path_, err_path_);
  // Sanitizer builds start slowly; 30 s is a ceiling, not an expectation.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadFile(ready);
    if (!text.empty()) {
      auto v = ParseJson(text.substr(0, text.find('\n')));
      if (v.ok() && v->Find("port")) {
        port_ = static_cast<int>(v->Find("port")->as_int());
        return;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "consentry serve exited early: " << Stderr() << Stdout();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "consentry serve did not become ready: " << Stderr();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

std::string ServerProcess::Stdout() const { return ReadFile(out_path_); }
std::string ServerProcess::Stderr() const { return ReadFile(err_path_); }

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitExit(pid_);
  pid_ = -1;
}

std::string After(const std::string& text, const std::string& marker, const std::string& keep) {
  size_t pos = text.find(marker);
  if (pos == std::string::npos) return "";
  pos += marker.size();
  size_t end = pos;
  while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_' || text[end] == '-')) {
    ++end;
  }
  return keep + text.substr(pos, end - pos);
}

bool WaitFor(const std::function<bool()>& done, int timeout_ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace cs::testing
