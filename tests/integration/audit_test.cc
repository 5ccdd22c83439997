// The audit ledger end to end: what the running gateway and the CLI record,
// the audit API, offline verification, tampering and crashes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

std::set<std::string> Actions(const std::string& dir, const std::string& tenant = "") {
  std::vector<std::string> args = {"audit", "search", "--data-dir", dir, "--limit", "100000", "--json"};
  if (!tenant.empty()) {
    args.push_back("--tenant");
    args.push_back(tenant);
  }
  CliResult r = RunConsentry(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  JsonValue j = r.Json();
  if (!j.Find("data")) return out;
  for (const auto& e : j.Find("data")->as_array()) out.insert(e.Find("action")->as_string());
  return out;
}

JsonValue VerifyJson(const std::string& dir) {
  CliResult r = RunConsentry({"audit", "verify", "--data-dir", dir, "--json"});
  return r.Json();
}

// covers: AUD-01, AUD-08
TEST(AuditIntegrationTest, EveryClassOfActionLeavesAnEntry) {
  std::string dir = MakeTempDir("audit_all");
  Credentials admin = CreateTenantWithKey(dir, "audited", "admin,audit:read,messages:read");
  Credentials other = CreateTenantWithKey(dir, "other", "admin");
  CliResult rotated = RunConsentry({"apikey", "rotate", "--data-dir", dir, "--tenant", other.tenant_id, other.key_id,
                                    "--overlap-seconds", "600", "--json"});
  ASSERT_EQ(rotated.exit_code, 0);
  {
    ServerProcess server(dir);
    ASSERT_TRUE(server.started());
    int port = server.port();
    HttpReply created = Call(port, "POST", "/v1/apikeys", admin.token, R"({"name":"n","scopes":["messages:read"]})");
    ASSERT_EQ(created.status, 201);
    std::string id = ParseJson(created.body)->Find("id")->as_string();
    EXPECT_EQ(Call(port, "GET", "/v1/apikeys", admin.token).status, 200);
    EXPECT_EQ(Call(port, "GET", "/v1/apikeys/" + id, admin.token).status, 200);
    EXPECT_EQ(Call(port, "POST", "/v1/apikeys/" + id + "/rotate", admin.token, "{}").status, 201);
    EXPECT_EQ(Call(port, "DELETE", "/v1/apikeys/" + id, admin.token).status, 200);
    EXPECT_EQ(Call(port, "GET", "/v1/me", "csk_0123456789abcdef01234567_" + std::string(43, 'A')).status, 401);
    EXPECT_EQ(Call(port, "GET", "/v1/audit/events", other.token).status, 403);
    EXPECT_EQ(Call(port, "GET", "/v1/apikeys/" + other.key_id, admin.token).status, 404);
    EXPECT_EQ(Call(port, "GET", "/v1/audit/events", admin.token).status, 200);
    EXPECT_EQ(Call(port, "GET", "/v1/audit/export", admin.token).status, 200);
    EXPECT_EQ(Call(port, "GET", "/v1/audit/tree-heads", admin.token).status, 200);
    EXPECT_EQ(Call(port, "GET", "/v1/subjects/sub_abc/access-log", admin.token).status, 200);
    EXPECT_EQ(server.Stop(), 0);
  }
  CliResult revoked = RunConsentry({"apikey", "revoke", "--data-dir", dir, "--tenant", admin.tenant_id, admin.key_id});
  ASSERT_EQ(revoked.exit_code, 0);
  std::set<std::string> all = Actions(dir);
  for (const char* expected :
       {"system.migrate", "tenant.create", "apikey.create", "apikey.rotate", "apikey.revoke", "apikey.list",
        "apikey.read", "auth.failure", "authz.denied", "authz.cross_tenant_attempt", "audit.search", "audit.export",
        "audit.tree_heads", "audit.access_log", "system.start", "system.stop"}) {
    EXPECT_TRUE(all.count(expected)) << "no audit entry for " << expected;
  }
  JsonValue report = VerifyJson(dir);
  EXPECT_TRUE(report.Find("ok")->as_bool()) << report.Find("problem")->as_string();
}

TEST(AuditIntegrationTest, TheApiShowsOnlyTheCallersTenantAndNeedsTheScope) {
  std::string dir = MakeTempDir("audit_api");
  Credentials a = CreateTenantWithKey(dir, "tenant-a", "admin,audit:read");
  Credentials b = CreateTenantWithKey(dir, "tenant-b", "admin,audit:read");
  ServerProcess server(dir);
  ASSERT_TRUE(server.started());
  int port = server.port();
  ASSERT_EQ(Call(port, "POST", "/v1/apikeys", b.token, R"({"name":"b2","scopes":["admin"]})").status, 201);
  HttpReply events = Call(port, "GET", "/v1/audit/events?limit=1000", a.token);
  ASSERT_EQ(events.status, 200) << events.body;
  JsonValue j = *ParseJson(events.body);
  ASSERT_FALSE(j.Find("data")->as_array().empty());
  for (const auto& e : j.Find("data")->as_array()) EXPECT_EQ(e.Find("tenant_id")->as_string(), a.tenant_id);
  // Filters, paging and the time window.
  HttpReply creates = Call(port, "GET", "/v1/audit/events?action=apikey.create&limit=1", a.token);
  JsonValue cj = *ParseJson(creates.body);
  ASSERT_EQ(cj.Find("data")->as_array().size(), 1u);
  EXPECT_FALSE(cj.Find("next_after")->is_null());
  EXPECT_EQ(Call(port, "GET", "/v1/audit/events?since=2999-01-01T00:00:00Z", a.token).body.find("\"seq\""),
            std::string::npos);
  EXPECT_EQ(Call(port, "GET", "/v1/audit/events?since=yesterday", a.token).ErrorCode(), "invalid_type");
  EXPECT_EQ(Call(port, "GET", "/v1/audit/events?tenant=" + b.tenant_id, a.token).ErrorCode(), "unknown_field");
  EXPECT_EQ(Call(port, "GET", "/v1/audit/events?limit=5000", a.token).ErrorCode(), "invalid_type");
  // Only ids and pseudonyms as filters: free text would be recorded in the ledger with the search.
  EXPECT_EQ(Call(port, "GET", "/v1/audit/events?subject=jane.doe%40example.com", a.token).ErrorCode(), "invalid_type");
  // Exports in both formats, still one tenant.
  HttpReply jsonl = Call(port, "GET", "/v1/audit/export?format=jsonl", a.token);
  EXPECT_EQ(jsonl.Header("content-type"), "application/x-ndjson");
  EXPECT_EQ(jsonl.body.find(b.tenant_id), std::string::npos);
  HttpReply syslog = Call(port, "GET", "/v1/audit/export?format=syslog", a.token);
  EXPECT_EQ(syslog.body.rfind("<85>1 ", 0), 0u) << syslog.body.substr(0, 80);
  EXPECT_NE(syslog.body.find("[audit@32473 seq=\""), std::string::npos);
  // An inclusion proof for an own entry; another tenant's entry is not found.
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}).exit_code, 0);
  uint64_t own_seq = static_cast<uint64_t>(j.Find("data")->as_array().front().Find("seq")->as_int());
  HttpReply proof = Call(port, "GET", "/v1/audit/proof?seq=" + std::to_string(own_seq), a.token);
  EXPECT_EQ(proof.status, 200) << proof.body;
  EXPECT_NE(proof.body.find("\"path\":["), std::string::npos);
  JsonValue bj = *ParseJson(Call(port, "GET", "/v1/audit/events", b.token).body);
  uint64_t foreign_seq = static_cast<uint64_t>(bj.Find("data")->as_array().front().Find("seq")->as_int());
  EXPECT_EQ(Call(port, "GET", "/v1/audit/proof?seq=" + std::to_string(foreign_seq), a.token).status, 404);
}

// covers: AUD-05
TEST(AuditIntegrationTest, ASubjectsAccessHistoryRecordsWhoLooked) {
  std::string dir = MakeTempDir("audit_subject");
  Credentials dpo = CreateTenantWithKey(dir, "clinic", "audit:read");
  ServerProcess server(dir);
  ASSERT_TRUE(server.started());
  const std::string subject = "sub_7f3a9c";
  HttpReply first = Call(server.port(), "GET", "/v1/subjects/" + subject + "/access-log", dpo.token);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(ParseJson(first.body)->Find("data")->as_array().size(), 0u);
  HttpReply second = Call(server.port(), "GET", "/v1/subjects/" + subject + "/access-log", dpo.token);
  JsonValue j = *ParseJson(second.body);
  ASSERT_EQ(j.Find("data")->as_array().size(), 1u);  // exactly the first look
  const JsonValue& e = j.Find("data")->as_array()[0];
  EXPECT_EQ(e.Find("action")->as_string(), "audit.access_log");
  EXPECT_EQ(e.Find("actor_id")->as_string(), dpo.key_id);
  EXPECT_EQ(e.Find("request_id")->as_string(), first.Header("x-request-id"));
  EXPECT_EQ(Call(server.port(), "GET", "/v1/subjects/..%2f/access-log", dpo.token).status, 404);
}

// covers: AUD-02
TEST(AuditIntegrationTest, TamperingInTheDatabaseIsReportedByTheCli) {
  std::string dir = MakeTempDir("audit_tamper");
  CreateTenantWithKey(dir, "t1", "admin");
  CreateTenantWithKey(dir, "t2", "admin");
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}).exit_code, 0);
  CliResult ok = RunConsentry({"audit", "verify", "--data-dir", dir});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("audit ledger OK"), std::string::npos);
  // Entries are stored in blocks, one per transaction: edit the block that holds entry 3.
  const std::string db = dir + "/consentry.db";
  const std::string block = "(SELECT first_seq FROM audit_blocks WHERE first_seq <= 3 ORDER BY first_seq DESC LIMIT 1)";
  std::string first_of_block;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(("sqlite3 " + db + " \"SELECT " + block + "\"").c_str(), "r"), pclose);
    ASSERT_TRUE(p);
    char line[64] = {};
    ASSERT_TRUE(fgets(line, sizeof line, p.get()));
    first_of_block = line;
  }
  const int64_t first = std::stoll(first_of_block);
  ASSERT_GE(first, 1);
  ASSERT_LE(first, 3);
  // The search index first: moving entry 3's block out of its tenant hides it from that tenant's searches.
  std::string sql = "sqlite3 " + db + " \"UPDATE audit_postings SET term = 'tten_elsewhere' WHERE term LIKE 't%' "
                    "AND block = " + block + ";\"";
  ASSERT_EQ(std::system(sql.c_str()), 0);
  JsonValue j = VerifyJson(dir);
  EXPECT_FALSE(j.Find("ok")->as_bool());
  EXPECT_EQ(j.Find("first_bad_seq")->as_int(), first);
  EXPECT_NE(j.Find("problem")->as_string().find("search index"), std::string::npos);
  CliResult reindex = RunConsentry({"audit", "reindex", "--data-dir", dir});
  ASSERT_EQ(reindex.exit_code, 0) << reindex.out << reindex.err;
  EXPECT_TRUE(VerifyJson(dir).Find("ok")->as_bool());
  // Then the entries themselves: the outcome of every entry of that block rewritten.
  sql = "sqlite3 " + db + " \"DROP TRIGGER audit_blocks_append_only_update; UPDATE audit_blocks SET records = "
        "CAST(replace(records, CAST('success' AS BLOB), CAST('denied!' AS BLOB)) AS BLOB) WHERE first_seq = " +
        block + ";\"";
  ASSERT_EQ(std::system(sql.c_str()), 0);
  CliResult bad = RunConsentry({"audit", "verify", "--data-dir", dir, "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  j = bad.Json();
  EXPECT_FALSE(j.Find("ok")->as_bool());
  EXPECT_EQ(j.Find("first_bad_seq")->as_int(), first);
}

TEST(AuditIntegrationTest, TruncationIsFoundThroughTheHeadsFile) {
  std::string dir = MakeTempDir("audit_trunc");
  for (int i = 0; i < 3; ++i) CreateTenantWithKey(dir, "t" + std::to_string(i), "admin");
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}).exit_code, 0);
  std::string sql = "sqlite3 " + dir + "/consentry.db \"DROP TRIGGER audit_blocks_append_only_delete; "
                    "DROP TRIGGER audit_heads_append_only_delete; DELETE FROM audit_blocks WHERE last_seq >= 4; "
                    "DELETE FROM audit_tree_heads;\"";
  ASSERT_EQ(std::system(sql.c_str()), 0);
  JsonValue j = VerifyJson(dir);
  EXPECT_FALSE(j.Find("ok")->as_bool());
  EXPECT_EQ(j.Find("first_bad_seq")->as_int(), 4);
  EXPECT_NE(j.Find("problem")->as_string().find("truncated"), std::string::npos);
}

TEST(AuditIntegrationTest, AnExportVerifiesOfflineWithOnlyThePublicKey) {
  std::string dir = MakeTempDir("audit_export");
  CreateTenantWithKey(dir, "t1", "admin");
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}).exit_code, 0);
  std::string exported = dir + ".ledger.jsonl";
  std::string key = dir + ".pub.pem";
  ASSERT_EQ(RunConsentry({"audit", "export", "--data-dir", dir, "--out", exported}).exit_code, 0);
  CliResult pub = RunConsentry({"audit", "public-key", "--data-dir", dir});
  ASSERT_EQ(pub.exit_code, 0);
  std::ofstream(key) << pub.out;
  // No --data-dir: the auditor has only the two files.
  CliResult ok = RunConsentry({"audit", "verify", "--file", exported, "--public-key", key, "--json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(ok.Json().Find("ok")->as_bool());
  std::string text = ReadFile(exported);
  size_t at = text.find("\"action\":\"tenant.create\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 24, "\"action\":\"tenant.delete\"");
  std::ofstream(exported, std::ios::trunc) << text;
  CliResult bad = RunConsentry({"audit", "verify", "--file", exported, "--public-key", key, "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_FALSE(bad.Json().Find("ok")->as_bool());
}

// covers: AUD-06
TEST(AuditIntegrationTest, ArchivingKeepsTheLedgerVerifiableAndHonoursTenantRetention) {
  std::string dir = MakeTempDir("audit_archive");
  Credentials c = CreateTenantWithKey(dir, "long-keeper", "admin");
  CliResult retention = RunConsentry({"tenant", "set-retention", "--data-dir", dir, "--tenant", "long-keeper",
                                      "--audit-days", "3650", "--json"});
  ASSERT_EQ(retention.exit_code, 0) << retention.err;
  EXPECT_EQ(RunConsentry({"tenant", "set-retention", "--data-dir", dir, "--tenant", "long-keeper", "--audit-days",
                          "30"}).exit_code, 1);
  CliResult seal = RunConsentry({"audit", "seal", "--data-dir", dir, "--json"});
  ASSERT_EQ(seal.exit_code, 0);
  int64_t size = seal.Json().Find("tree_size")->as_int();
  std::string segment = dir + ".segment1.jsonl";
  CliResult archived = RunConsentry({"audit", "archive", "--data-dir", dir, "--up-to", std::to_string(size), "--out",
                                     segment, "--json"});
  ASSERT_EQ(archived.exit_code, 0) << archived.out << archived.err;
  // Kept at least ten years: the tenant's own retention, longer than the default six.
  std::string until = archived.Json().Find("retain_until")->as_string();
  EXPECT_GE(std::stoi(until.substr(0, 4)), 2026 + 9) << until;
  CliResult verify = RunConsentry({"audit", "verify", "--data-dir", dir, "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(verify.Json().Find("archived")->as_int(), size);
  // The segment and a fresh export of the rest both verify offline.
  CliResult pub = RunConsentry({"audit", "public-key", "--data-dir", dir});
  std::ofstream(dir + ".pub.pem") << pub.out;
  std::string rest = dir + ".rest.jsonl";
  ASSERT_EQ(RunConsentry({"audit", "export", "--data-dir", dir, "--out", rest}).exit_code, 0);
  for (const std::string& file : {segment, rest}) {
    CliResult offline = RunConsentry({"audit", "verify", "--file", file, "--public-key", dir + ".pub.pem", "--json"});
    EXPECT_EQ(offline.exit_code, 0) << file << ": " << offline.out << offline.err;
  }
  EXPECT_TRUE(Actions(dir).count("audit.archive"));
  EXPECT_NE(ReadFile(segment).find("\"action\":\"tenant.configure\""), std::string::npos);  // archived
  // Keys keep working: archiving touches only the ledger.
  ServerProcess server(dir);
  ASSERT_TRUE(server.started());
  EXPECT_EQ(Call(server.port(), "GET", "/v1/me", c.token).status, 200);
}

// covers: F-04
TEST(AuditIntegrationTest, ASigkillUnderLoadLosesNoAcknowledgedEntry) {
  std::string dir = MakeTempDir("audit_kill");
  Credentials admin = CreateTenantWithKey(dir, "load", "admin");
  std::vector<std::string> acknowledged;
  {
    ServerProcess server(dir);
    ASSERT_TRUE(server.started());
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t) {
      clients.emplace_back([&, t] {
        for (int i = 0; i < 200 && !stop; ++i) {
          HttpReply r = Call(server.port(), "POST", "/v1/apikeys", admin.token,
                             R"({"name":"k)" + std::to_string(t) + "_" + std::to_string(i) + R"(","scopes":["admin"]})");
          if (r.status == 201) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged.push_back(ParseJson(r.body)->Find("id")->as_string());
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    server.Kill();  // SIGKILL in the middle of the writes
    stop = true;
    for (auto& c : clients) c.join();
  }
  ASSERT_FALSE(acknowledged.empty());
  JsonValue report = VerifyJson(dir);
  EXPECT_TRUE(report.Find("ok")->as_bool()) << report.Find("problem")->as_string();
  CliResult creates = RunConsentry({"audit", "search", "--data-dir", dir, "--action", "apikey.create", "--limit",
                                    "100000", "--json"});
  std::set<std::string> audited;
  JsonValue cj = creates.Json();
  for (const auto& e : cj.Find("data")->as_array()) audited.insert(e.Find("resource")->as_string());
  for (const auto& id : acknowledged) EXPECT_TRUE(audited.count("apikey:" + id)) << id;
}

TEST(AuditIntegrationTest, ProofsFromTheCliVerify) {
  std::string dir = MakeTempDir("audit_proof");
  CreateTenantWithKey(dir, "t1", "admin");
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}).exit_code, 0);
  CreateTenantWithKey(dir, "t2", "admin");
  CliResult seal = RunConsentry({"audit", "seal", "--data-dir", dir, "--json"});
  ASSERT_EQ(seal.exit_code, 0);
  int64_t new_size = seal.Json().Find("tree_size")->as_int();
  CliResult inclusion = RunConsentry({"audit", "proof", "--data-dir", dir, "--seq", "2", "--json"});
  ASSERT_EQ(inclusion.exit_code, 0) << inclusion.err;
  EXPECT_TRUE(inclusion.Json().Find("verified")->as_bool());
  CliResult heads = RunConsentry({"audit", "search", "--data-dir", dir, "--json"});
  ASSERT_EQ(heads.exit_code, 0);
  std::string old_size = std::to_string(3);  // the first seal covered: migrate, tenant.create, apikey.create
  CliResult consistency = RunConsentry({"audit", "proof", "--data-dir", dir, "--old-size", old_size, "--new-size",
                                        std::to_string(new_size), "--json"});
  ASSERT_EQ(consistency.exit_code, 0) << consistency.out << consistency.err;
  EXPECT_TRUE(consistency.Json().Find("verified")->as_bool());
}

// covers: SEC-02 (no secret on disk outside encrypted fields), AUD-03
TEST(AuditSigningKeyTest, TheSigningKeyIsSealedUnderTheMasterKey) {
  const std::string dir = MakeTempDir("sealed-signing-key");
  const std::string key_file = dir + "/audit-signing-key.pem";
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::vector<std::string> with_key = {"CONSENTRY_MASTER_KEY=" + std::string(64, 'a')};
  // Without a master key, a plaintext key (as before) …
  ASSERT_EQ(RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "keyed"}).exit_code, 0);
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}).exit_code, 0);
  ASSERT_NE(read(key_file).find("BEGIN PRIVATE KEY"), std::string::npos);
  const std::string public_before = RunConsentry({"audit", "public-key", "--data-dir", dir}).out;
  // … sealed in place as soon as one is configured, with the same key pair:
  // the heads signed before still verify.
  ASSERT_EQ(RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "keyed-2"}, with_key).exit_code, 0);
  const std::string sealed = read(key_file);
  EXPECT_EQ(sealed.find("PRIVATE KEY-----\n"), std::string::npos) << sealed;
  EXPECT_NE(sealed.find("consentry-sealed-private-key: "), std::string::npos);
  EXPECT_EQ(RunConsentry({"audit", "public-key", "--data-dir", dir}).out, public_before);
  ASSERT_EQ(RunConsentry({"audit", "seal", "--data-dir", dir}, with_key).exit_code, 0);
  CliResult verified = RunConsentry({"audit", "verify", "--data-dir", dir, "--json"});  // no key needed to verify
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  // Signing needs the key; a wrong one is named as such.
  ASSERT_EQ(RunConsentry({"tenant", "create", "--data-dir", dir, "--name", "keyed-3"}, with_key).exit_code, 0);
  CliResult unkeyed = RunConsentry({"audit", "seal", "--data-dir", dir});
  EXPECT_NE(unkeyed.exit_code, 0);
  EXPECT_NE(unkeyed.err.find("master_key_required"), std::string::npos) << unkeyed.err;
  CliResult wrong = RunConsentry({"audit", "seal", "--data-dir", dir}, {"CONSENTRY_MASTER_KEY=" + std::string(64, 'b')});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("master_key_wrong"), std::string::npos) << wrong.err;
  EXPECT_EQ(read(key_file), sealed);  // untouched by the failed attempts
}

}  // namespace
}  // namespace cs::testing
