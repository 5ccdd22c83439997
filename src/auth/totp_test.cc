#include "auth/totp.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

const SecretString kRfcSecret("12345678901234567890");  // RFC 6238 appendix B (SHA-1)

// covers: SEC-07
TEST(TotpTest, CodesMatchRfc6238) {
  // The RFC's eight-digit values, of which an authenticator shows the last six.
  EXPECT_EQ(TotpCode(kRfcSecret, 59 / 30), "287082");
  EXPECT_EQ(TotpCode(kRfcSecret, 1111111109 / 30), "081804");
  EXPECT_EQ(TotpCode(kRfcSecret, 1111111111 / 30), "050471");
  EXPECT_EQ(TotpCode(kRfcSecret, 1234567890 / 30), "005924");
  EXPECT_EQ(TotpCode(kRfcSecret, 2000000000 / 30), "279037");
}

// A code works once, in its step or one step either side, never again (S-08).
// covers: S-08, SEC-07
TEST(TotpTest, ACodeWorksOnceAndOnlyNearItsTime) {
  const int64_t now_ms = 1'800'000'000'000;
  const int64_t step = now_ms / 1000 / 30;
  const std::string code = TotpCode(kRfcSecret, step);
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now_ms, 0), step);
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now_ms, step), std::nullopt);  // replayed within its step
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now_ms + 30'000, 0), step);    // one step of drift
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now_ms + 61'000, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step - 1), now_ms, step), std::nullopt);  // older than the last use
  EXPECT_EQ(MatchTotp(kRfcSecret, "12345", now_ms, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, "abcdef", now_ms, 0), std::nullopt);
}

TEST(TotpTest, EnrolmentUriAndQrCode) {
  EXPECT_EQ(Base32("foobar"), "MZXW6YTBOI");  // RFC 4648 §10, without padding
  EXPECT_EQ(Base32Decode("MZXW6YTBOI"), "foobar");
  const SecretString uri = TotpUri(kRfcSecret, "Consentry", "ana@example.org");
  EXPECT_EQ(std::string(InsecureSecretAccess::Get(uri)),
            "otpauth://totp/Consentry:ana%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Consentry"
            "&algorithm=SHA1&digits=6&period=30");
  Result<std::string> svg = QrSvg(uri);
  ASSERT_TRUE(svg.ok());
  EXPECT_EQ(svg->rfind("<svg", 0), 0u);
  EXPECT_NE(svg->find("aria-label"), std::string::npos);
  EXPECT_GT(svg->size(), 1000u);
}

}  // namespace
}  // namespace cs
