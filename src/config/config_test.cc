#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cs {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& text) {
    std::string path = ::testing::TempDir() + "/consentry_config_test_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    std::ofstream(path) << text;
    return path;
  }
  static bool HasIssue(const ConfigLoad& load, const std::string& key, const std::string& fragment) {
    for (const auto& i : load.issues) {
      if (i.key == key && i.message.find(fragment) != std::string::npos) return true;
    }
    return false;
  }
};

TEST_F(ConfigTest, DefaultsAreTheSafeChoice) {
  ConfigLoad load = LoadConfig({});
  ASSERT_TRUE(load.ok()) << load.ToStatus().ToString();
  const Config& c = *load.config;
  EXPECT_EQ(c.http.listen_host, "127.0.0.1");  // loopback unless told otherwise
  EXPECT_EQ(c.http.listen_port, 8080);
  EXPECT_FALSE(c.http.tls_enabled);
  EXPECT_EQ(c.http.max_body_bytes, 1048576);
  EXPECT_EQ(c.json.max_depth, 32);
  EXPECT_EQ(c.store.synchronous, "full");
  EXPECT_EQ(c.store.sqlite_path, "./consentry-data/consentry.db");
  EXPECT_EQ(c.origins.at("http.threads"), "default");
}

TEST_F(ConfigTest, FileThenEnvironmentThenFlagsWin) {
  std::string path = WriteFile(
      "data_dir = \"/tmp/x\"\n[http]\nthreads = 3\nlisten = \"0.0.0.0:9000\"\n[log]\nlevel = \"warn\"\n");
  ConfigSources sources;
  sources.file_path = path;
  sources.env = {"CONSENTRY_HTTP_THREADS=5", "PATH=/bin", "CONSENTRY_MASTER_KEY=ignored-here"};
  sources.flags = {{"http.listen", "[::1]:0"}};
  ConfigLoad load = LoadConfig(sources);
  ASSERT_TRUE(load.ok()) << load.ToStatus().ToString();
  EXPECT_EQ(load.config->http.threads, 5);
  EXPECT_EQ(load.config->origins.at("http.threads"), "env");
  EXPECT_EQ(load.config->http.listen_host, "::1");
  EXPECT_EQ(load.config->http.listen_port, 0);
  EXPECT_EQ(load.config->log.level, "warn");
  EXPECT_EQ(load.config->store.sqlite_path, "/tmp/x/consentry.db");
}

// Media links are built on the public base URL: a malformed one is refused
// at start, not discovered in a customer's broken link.
TEST_F(ConfigTest, ThePublicBaseUrlMustBeAnAbsoluteHttpAddress) {
  auto load_with = [&](const std::string& url) {
    ConfigSources sources;
    sources.flags = {{"http.public_base_url", url}};
    return LoadConfig(sources);
  };
  for (const std::string good : {"https://wa.example.com", "http://127.0.0.1:8080", "https://example.com/consentry"}) {
    ConfigLoad load = load_with(good);
    ASSERT_TRUE(load.ok()) << good << ": " << load.ToStatus().ToString();
    EXPECT_EQ(load.config->http.public_base_url, good);
  }
  for (const std::string bad : {"wa.example.com", "ftp://wa.example.com", "https://", "https:///path",
                                "https://wa.example.com/", "https://wa.example.com?x=1",
                                "https://user:pw@wa.example.com", "https://wa.example.com/#top"}) {
    EXPECT_TRUE(HasIssue(load_with(bad), "http.public_base_url", "must be http(s)://")) << bad;
  }
}

TEST_F(ConfigTest, UnknownKeysAreRefusedByName) {
  ConfigSources sources;
  sources.file_path = WriteFile("[http]\nthreds = 3\n[nope]\nx = 1\n");
  sources.env = {"CONSENTRY_HTTP_THREDS=4"};
  ConfigLoad load = LoadConfig(sources);
  ASSERT_FALSE(load.ok());
  EXPECT_TRUE(HasIssue(load, "http.threds", "unknown key"));
  EXPECT_TRUE(HasIssue(load, "nope.x", "unknown key"));
  EXPECT_TRUE(HasIssue(load, "CONSENTRY_HTTP_THREDS", "unknown environment variable"));
  EXPECT_EQ(load.config, nullptr);
}

TEST_F(ConfigTest, EveryErrorNamesTheKeyAndTheRule) {
  ConfigSources sources;
  sources.file_path = WriteFile(
      "[http]\nthreads = \"2\"\nmax_body_bytes = 10\nlisten = \"localhost\"\n[log]\nlevel = \"loud\"\n"
      "[http.tls]\nenabled = true\n");
  ConfigLoad load = LoadConfig(sources);
  ASSERT_FALSE(load.ok());
  EXPECT_TRUE(HasIssue(load, "http.threads", "must be an integer"));
  EXPECT_TRUE(HasIssue(load, "http.max_body_bytes", "between 1024 and 67108864"));
  EXPECT_TRUE(HasIssue(load, "http.listen", "host:port"));
  EXPECT_TRUE(HasIssue(load, "log.level", "one of \"debug\", \"info\", \"warn\", \"error\""));
  EXPECT_TRUE(HasIssue(load, "http.tls.cert_file", "required"));
  Status status = load.ToStatus();
  EXPECT_EQ(status.machine_code(), "invalid_config");
  EXPECT_NE(status.message().find("http.threads"), std::string::npos);
}

TEST_F(ConfigTest, SyntaxErrorsGiveFileLineAndColumn) {
  ConfigSources sources;
  sources.file_path = WriteFile("[http]\nthreads = = 3\n");
  ConfigLoad load = LoadConfig(sources);
  ASSERT_FALSE(load.ok());
  EXPECT_NE(load.issues[0].key.find(".toml:2:"), std::string::npos) << load.issues[0].key;
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  ConfigSources sources;
  sources.file_path = "/nonexistent/consentry.toml";
  EXPECT_FALSE(LoadConfig(sources).ok());
}

TEST_F(ConfigTest, BadEnvironmentValuesAreRefused) {
  ConfigSources sources;
  sources.env = {"CONSENTRY_HTTP_TLS_ENABLED=yes", "CONSENTRY_HTTP_THREADS=0"};
  ConfigLoad load = LoadConfig(sources);
  EXPECT_TRUE(HasIssue(load, "CONSENTRY_HTTP_TLS_ENABLED", "boolean"));
  EXPECT_TRUE(HasIssue(load, "CONSENTRY_HTTP_THREADS", "between 1 and 256"));
}

// docs/config.md embeds the generated reference; this fails when a key is
// added or changed without regenerating the docs (scripts/gen-config-docs).
TEST_F(ConfigTest, DocsMatchTheSchema) {
  std::ifstream in(std::string(CONSENTRY_SOURCE_DIR) + "/docs/config.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find(ConfigReferenceMarkdown()), std::string::npos)
      << "docs/config.md is out of date: run scripts/gen-config-docs";
}

}  // namespace
}  // namespace cs
