// TLS on the listener: 1.2 and 1.3 accepted, older versions and plain HTTP refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("tls");
    cert_ = dir_ + ".crt";
    key_ = dir_ + ".key";
    std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
                      "-keyout " + key_ + " -out " + cert_ + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    chmod(key_.c_str(), 0600);
  }
  std::vector<std::string> TlsEnv(const std::string& min = "1.2") {
    return {"CONSENTRY_HTTP_TLS_ENABLED=true", "CONSENTRY_HTTP_TLS_CERT_FILE=" + cert_,
            "CONSENTRY_HTTP_TLS_KEY_FILE=" + key_, "CONSENTRY_HTTP_TLS_MIN_VERSION=" + min};
  }
  std::string dir_, cert_, key_;
};

// covers: C-07, C-09
TEST_F(TlsTest, ServesTls12And13AndRefusesOlderVersionsAndPlainHttp) {
  ServerProcess server(dir_, TlsEnv());
  ASSERT_TRUE(server.started());
  EXPECT_NE(server.Stdout().find("https://127.0.0.1:"), std::string::npos);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    HttpConnection c(server.port(), TlsOptions{version, version});
    ASSERT_TRUE(c.connected()) << version;
    ASSERT_TRUE(c.Send(BuildRequest("GET", "/healthz")));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  HttpConnection old(server.port(), TlsOptions{TLS1_VERSION, TLS1_1_VERSION});
  EXPECT_FALSE(old.connected());
  // Plain HTTP on the TLS port gets no HTTP answer at all (no redirect).
  HttpConnection plain(server.port());
  plain.Send(BuildRequest("GET", "/healthz"));
  EXPECT_FALSE(plain.Read(2000).has_value());
}

TEST_F(TlsTest, MinimumVersion13RefusesTls12) {
  ServerProcess server(dir_, TlsEnv("1.3"));
  ASSERT_TRUE(server.started());
  HttpConnection v12(server.port(), TlsOptions{TLS1_2_VERSION, TLS1_2_VERSION});
  EXPECT_FALSE(v12.connected());
  HttpConnection v13(server.port(), TlsOptions{TLS1_3_VERSION, TLS1_3_VERSION});
  EXPECT_TRUE(v13.connected());
}

TEST_F(TlsTest, UnreadableCertificateStopsStartupWithANamedKey) {
  CliResult r = RunConsentry({"serve", "--data-dir", dir_, "--listen", "127.0.0.1:0"},
                             {"CONSENTRY_HTTP_TLS_ENABLED=true", "CONSENTRY_HTTP_TLS_CERT_FILE=/nonexistent.pem",
                              "CONSENTRY_HTTP_TLS_KEY_FILE=" + key_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("http.tls.cert_file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cs::testing
