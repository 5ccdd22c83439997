// The `consentry` command line, run as a real process.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/process.h"

namespace cs::testing {
namespace {

TEST(CliTest, EverySubcommandHasHelp) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"serve", "--help"}, {"version", "--help"}, {"config", "--help"}, {"config", "check", "--help"},
           {"migrate", "--help"}, {"tenant", "create", "--help"}, {"tenant", "list", "--help"},
           {"apikey", "create", "--help"}, {"apikey", "list", "--help"}, {"apikey", "revoke", "--help"},
           {"apikey", "rotate", "--help"}, {"scan", "--help"}, {"keys", "status", "--help"}, {"keys", "rotate-master", "--help"},
           {"channel", "list", "--help"}, {"channel", "add", "--help"}, {"channel", "pause", "--help"},
           {"audit", "reindex", "--help"}}) {
    CliResult r = RunConsentry(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << args[0];
  }
  CliResult key_help = RunConsentry({"apikey", "create", "--help"});
  EXPECT_NE(key_help.out.find("--scope"), std::string::npos);
  EXPECT_NE(key_help.out.find("--config"), std::string::npos);
  EXPECT_EQ(RunConsentry({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(RunConsentry({}).exit_code, 2);
}

TEST(CliTest, VersionIsMachineReadable) {
  CliResult r = RunConsentry({"version", "--json"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.Json().Find("version")->as_string(), "0.1.0");
}

TEST(CliTest, ConfigCheckNamesEveryBadKeyAndExitsTwo) {
  std::string dir = MakeTempDir("cfg");
  std::string path = dir + "/c.toml";
  std::ofstream(path) << "[http]\nthreads = 0\nlisten = \"nowhere\"\nbogus = 1\n";
  CliResult r = RunConsentry({"config", "check", "--json", "--config", path}, {"CONSENTRY_LOG_LEVEL=loud"});
  EXPECT_EQ(r.exit_code, 2);
  JsonValue j = r.Json();
  EXPECT_FALSE(j.Find("ok")->as_bool());
  std::set<std::string> keys;
  for (const auto& issue : j.Find("issues")->as_array()) keys.insert(issue.Find("key")->as_string());
  EXPECT_EQ(keys, (std::set<std::string>{"http.threads", "http.listen", "http.bogus", "CONSENTRY_LOG_LEVEL"}));
  CliResult text = RunConsentry({"config", "check", "--config", path});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.err.find("http.bogus: unknown key"), std::string::npos) << text.err;
}

TEST(CliTest, ConfigCheckReportsWhereEachValueCameFrom) {
  std::string dir = MakeTempDir("cfg");
  std::string path = dir + "/c.toml";
  std::ofstream(path) << "[log]\nlevel = \"warn\"\n";
  CliResult r = RunConsentry({"config", "check", "--json", "--config", path, "--listen", "127.0.0.1:9"},
                             {"CONSENTRY_HTTP_THREADS=3"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  JsonValue json = r.Json();
  const JsonValue* origins = json.Find("origins");
  EXPECT_EQ(origins->Find("log.level")->as_string(), "file");
  EXPECT_EQ(origins->Find("http.threads")->as_string(), "env");
  EXPECT_EQ(origins->Find("http.listen")->as_string(), "flag");
  EXPECT_EQ(origins->Find("json.max_depth")->as_string(), "default");
}

TEST(CliTest, MigrateAppliesOnceAndReports) {
  std::string dir = MakeTempDir("mig");
  CliResult before = RunConsentry({"migrate", "--status", "--json", "--data-dir", dir});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.Json().Find("current_version")->as_int(), 0);
  CliResult first = RunConsentry({"migrate", "--json", "--data-dir", dir});
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_FALSE(first.Json().Find("applied")->as_array().empty());
  CliResult second = RunConsentry({"migrate", "--json", "--data-dir", dir});
  EXPECT_TRUE(second.Json().Find("applied")->as_array().empty());
  EXPECT_EQ(second.Json().Find("current_version")->as_int(), second.Json().Find("latest_version")->as_int());
}

TEST(CliTest, ServeRefusesAnOutdatedSchemaWhenAutoMigrateIsOff) {
  std::string dir = MakeTempDir("mig");
  CliResult r = RunConsentry({"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"},
                             {"CONSENTRY_STORE_AUTO_MIGRATE=false"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("migration_required"), std::string::npos) << r.err;
}

TEST(CliTest, TenantsAndKeysLifecycle) {
  std::string dir = MakeTempDir("keys");
  CliResult t = RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "Acme Shop", "--json"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  std::string tenant = t.Json().Find("id")->as_string();
  CliResult dup = RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "Acme Shop", "--json"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.Json().Find("error")->Find("code")->as_string(), "conflict");
  CliResult list = RunConsentry({"tenant", "list", "--data-dir", dir, "--json"});
  ASSERT_EQ(list.Json().Find("data")->as_array().size(), 1u);

  // By name or by id.
  CliResult k = RunConsentry({"apikey", "create", "--data-dir", dir, "--tenant", "Acme Shop", "--name", "crm",
                              "--scope", "messages:send,messages:read", "--expires-in-days", "30", "--json"});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  std::string key_id = k.Json().Find("id")->as_string();
  EXPECT_EQ(k.Json().Find("token")->as_string().rfind("csk_", 0), 0u);
  EXPECT_EQ(k.Json().Find("scopes")->as_array().size(), 2u);
  CliResult bad_scope = RunConsentry({"apikey", "create", "--data-dir", dir, "--tenant", tenant, "--name", "x",
                                      "--scope", "everything", "--json"});
  EXPECT_EQ(bad_scope.Json().Find("error")->Find("code")->as_string(), "invalid_scope");

  CliResult rotated = RunConsentry({"apikey", "rotate", "--data-dir", dir, "--tenant", tenant, key_id,
                                    "--overlap-seconds", "0", "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(rotated.Json().Find("rotated_from")->as_string(), key_id);
  std::string new_id = rotated.Json().Find("id")->as_string();
  CliResult revoked = RunConsentry({"apikey", "revoke", "--data-dir", dir, "--tenant", tenant, new_id, "--json"});
  ASSERT_EQ(revoked.exit_code, 0);
  EXPECT_EQ(revoked.Json().Find("state")->as_string(), "revoked");
  CliResult keys = RunConsentry({"apikey", "list", "--data-dir", dir, "--tenant", tenant, "--json"});
  ASSERT_EQ(keys.exit_code, 0);
  JsonValue listed = keys.Json();
  const auto& data = listed.Find("data")->as_array();
  ASSERT_EQ(data.size(), 2u);
  for (const auto& key : data) {
    EXPECT_EQ(key.Find("token"), nullptr);  // listing never shows secrets
    EXPECT_EQ(key.Find("secret_hash"), nullptr);
  }
  CliResult missing = RunConsentry({"apikey", "revoke", "--data-dir", dir, "--tenant", tenant, "key_nope", "--json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.Json().Find("error")->Find("code")->as_string(), "not_found");
}

// covers: CHAN-04, SEN-05 (companies audit exported chat archives with it)
TEST(CliTest, ScanReadsJsonLinesAndWritesOneResultPerLine) {
  const std::string input =
      "{\"id\":1,\"text\":\"card 4111 1111 1111 1111\"}\n"
      "{\"id\":\"b\",\"text\":\"IBAN DE89 3704 0044 0532 0130 00, mail jo@example.de\"}\n"
      "\n"
      "{\"id\":3,\"text\":\"nothing to see\"}\n"
      "not json\n"
      "{\"id\":5}\n";
  CliResult r = RunConsentryWithInput({"scan", "--jsonl"}, input);
  EXPECT_EQ(r.exit_code, 1);  // two bad lines, reported in place; the others are scanned
  EXPECT_EQ(r.err, "");       // quiet when not on a terminal
  std::vector<std::string> lines;
  std::stringstream ss(r.out);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], R"({"id":1,"findings":[{"type":"card","start":5,"end":24}]})");
  EXPECT_EQ(lines[1], R"({"id":"b","findings":[{"type":"iban","start":5,"end":32},{"type":"email","start":39,"end":52}]})");
  EXPECT_EQ(lines[2], R"({"id":3,"findings":[]})");
  EXPECT_NE(lines[3].find(R"({"id":null,"error":{"code":"invalid_json")"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find(R"({"id":5,"error":{"code":"invalid_input")"), std::string::npos) << lines[4];

  CliResult masked = RunConsentryWithInput({"scan", "--jsonl", "--mask"}, "{\"id\":1,\"text\":\"4111111111111111\"}\n");
  EXPECT_EQ(masked.exit_code, 0);
  EXPECT_EQ(masked.out, "{\"id\":1,\"findings\":[{\"type\":\"card\",\"start\":0,\"end\":16}],\"text\":\"411111******1111\"}\n");
}

TEST(CliTest, ScanExplainsOneTextWithTheActionsOfAPolicy) {
  CliResult r = RunConsentry({"scan", "--json", "my", "DNI", "12345678Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, R"({"findings":[{"type":"national_id","detail":"es_dni","start":7,"end":16,"outbound":"refuse","inbound":"mask"}],"outbound":"refused"})"
                   "\n");
  std::string dir = MakeTempDir("policy");
  std::ofstream(dir + "/p.json") << R"({"outbound":{"national_id":"mask"}})";
  CliResult p = RunConsentry({"scan", "--json", "--policy", dir + "/p.json", "DNI 12345678Z"});
  EXPECT_NE(p.out.find(R"("outbound":"masked")"), std::string::npos) << p.out;
  std::ofstream(dir + "/bad.json") << R"({"outbound":{"card":"allow"}})";
  CliResult bad = RunConsentry({"scan", "--policy", dir + "/bad.json", "x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("card_policy_fixed"), std::string::npos) << bad.err;
  CliResult text = RunConsentry({"scan", "call +33 6 12 34 56 78"});
  EXPECT_NE(text.out.find("phone (international) at bytes 5-22: outbound allow, inbound flag"), std::string::npos)
      << text.out;
}

// Issue 3: channels from the operator's shell; secrets only on standard input.
TEST(CliTest, ChannelsAreAddedPausedAndResumedWithoutSecretsOnTheCommandLine) {
  std::string dir = MakeTempDir("channels");
  ASSERT_EQ(RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "shop"}).exit_code, 0);
  const std::string key = "CONSENTRY_MASTER_KEY=" + std::string(64, 'd');
  const std::vector<std::string> add = {"channel", "add", "--data-dir", dir, "--tenant", "shop", "--phone-number-id",
                                        "106540352242922", "--waba-id", "102290129340398", "--json"};
  CliResult no_secrets = RunConsentryWithInput(add, R"({"access_token":"EAAG-canary-token-5521"})", {key});
  EXPECT_EQ(no_secrets.exit_code, 1);
  EXPECT_NE(no_secrets.out.find("app_secret"), std::string::npos) << no_secrets.out;
  CliResult added = RunConsentryWithInput(
      add, R"({"access_token":"EAAG-canary-token-5521","app_secret":"app-secret-canary-7788","verify_token":"verify-canary-9911"})",
      {key});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  const std::string id = added.Json().Find("id")->as_string();
  EXPECT_EQ(id.rfind("chn_", 0), 0u);
  CliResult listed = RunConsentry({"channel", "list", "--data-dir", dir, "--tenant", "shop", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(listed.Json().Find("channels")->as_array().size(), 1u);
  EXPECT_EQ(listed.Json().Find("channels")->as_array()[0].Find("phone_number_id")->as_string(), "106540352242922");
  for (const std::string& out : {added.out, listed.out}) {
    EXPECT_EQ(out.find("canary"), std::string::npos) << out;  // secrets are never printed
  }
  // Pausing needs a reason; resuming brings the channel back.
  EXPECT_NE(RunConsentry({"channel", "pause", "--data-dir", dir, "--channel", id}, {key}).exit_code, 0);
  CliResult paused = RunConsentry({"channel", "pause", "--data-dir", dir, "--channel", id, "--reason",
                                   "token_rotation", "--json"}, {key});
  ASSERT_EQ(paused.exit_code, 0) << paused.out << paused.err;
  EXPECT_NE(paused.out.find("token_rotation"), std::string::npos) << paused.out;
  // Pausing and resuming need no master key (an incident must not wait for it).
  CliResult resumed = RunConsentry({"channel", "resume", "--data-dir", dir, "--channel", id});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resumed"), std::string::npos);
  EXPECT_NE(RunConsentry({"channel", "pause", "--data-dir", dir, "--channel", id, "--reason", "x\ny"}).exit_code, 0);
  for (const CliResult& r : {no_secrets, added, listed, paused, resumed}) {
    EXPECT_EQ(r.out.find("canary"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("canary"), std::string::npos) << r.err;
  }
  // On the record, and nothing secret in the database outside sealed fields.
  CliResult audit = RunConsentry({"audit", "search", "--data-dir", dir, "--json", "--limit", "1000"});
  EXPECT_NE(audit.out.find("channel.create"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("channel.list"), std::string::npos);
  EXPECT_NE(audit.out.find("channel.pause"), std::string::npos);
  EXPECT_NE(audit.out.find("channel.resume"), std::string::npos);
  for (const char* file : {"/consentry.db", "/consentry.db-wal"}) {
    std::ifstream db(dir + file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("canary"), std::string::npos) << file;
  }
}

// Issue 5: the key hierarchy at a glance, never a key byte.
TEST(CliTest, KeysStatusNamesTheMasterKeyAndCountsPerTenant) {
  std::string dir = MakeTempDir("keys");
  ASSERT_EQ(RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "k1"}).exit_code, 0);
  CliResult missing = RunConsentry({"keys", "status", "--data-dir", dir, "--json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find(R"("code":"master_key_missing")"), std::string::npos) << missing.out;
  const std::string key = std::string(64, 'c');
  CliResult ok = RunConsentry({"keys", "status", "--data-dir", dir, "--json"}, {"CONSENTRY_MASTER_KEY=" + key});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  JsonValue j = ok.Json();
  EXPECT_EQ(j.Find("master_key")->Find("id")->as_string().rfind("local:", 0), 0u);
  ASSERT_EQ(j.Find("tenants")->as_array().size(), 1u);
  const JsonValue& t = j.Find("tenants")->as_array()[0];
  EXPECT_EQ(t.Find("name")->as_string(), "k1");
  EXPECT_EQ(t.Find("subject_keys")->as_int(), 0);
  EXPECT_EQ(ok.out.find(key), std::string::npos);
}

}  // namespace
}  // namespace cs::testing

namespace cs::testing {
namespace {

// covers: CHAN-04 (documents are parsed in a sandbox)
// The child that reads customers' documents tries, inside its sandbox, what
// a reader taken over by a malicious file would try; every attempt must be
// refused. Its standard output is a pipe, as the gateway gives it (the
// child may not write files).
TEST(DocumentSandboxTest, AReaderTakenOverCannotReachTheNetworkFilesOrOtherProcesses) {
  FILE* pipe = popen((std::string(CONSENTRY_BINARY) + " extract-text --probe-sandbox 2>/dev/null </dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string report;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) report += buffer;
  EXPECT_EQ(pclose(pipe), 0) << report;
  EXPECT_NE(report.find("seccomp installed\n"), std::string::npos) << report;
  for (const char* attempt : {"socket", "create_file", "executable_memory", "fork", "clone3", "make_memory_executable",
                              "signal_other_process", "signal_other_thread", "write_other_descriptor", "io_uring",
                              "execve", "ptrace"}) {
    EXPECT_NE(report.find(std::string(attempt) + " refused\n"), std::string::npos) << attempt << "\n" << report;
  }
  // Reading a file is refused by Landlock where the kernel has it (5.13+),
  // and by the filter (no open at all) where it does not.
  EXPECT_NE(report.find("read_file refused\n"), std::string::npos) << report;
  EXPECT_EQ(report.find("ALLOWED"), std::string::npos) << report;
}

}  // namespace
}  // namespace cs::testing
