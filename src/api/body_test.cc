#include <gtest/gtest.h>

#include "api/api.h"

namespace cs {
namespace {

HttpRequest Req(std::string path, std::string query = "") {
  HttpRequest r;
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

// covers: C-11, B-39
TEST(CheckUrlTest, RefusesPersonalDataAndCredentialsInTheUrl) {
  EXPECT_TRUE(CheckUrl(Req("/v1/apikeys/key_0123456789abcdef01234567")).ok());
  EXPECT_TRUE(CheckUrl(Req("/v1/apikeys", "page=2&limit=100")).ok());
  EXPECT_EQ(CheckUrl(Req("/v1/subjects/+4917612345678")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/subjects/%2B4917612345678")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/subjects/%31%37%36%31%32%33%34%35%36%37%38")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/subjects/+1%20555%20123%204567")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/x", "phone=%2B4917612345678")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/x", "q=0049%20176%201234%205678")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/x", "api_key=abc")).machine_code(), "sensitive_data_in_url");
  // Full-width digits and slashes: still a phone number the vault would accept.
  EXPECT_EQ(CheckUrl(Req("/v1/x", "q=%EF%BC%8B%EF%BC%94%EF%BC%99%EF%BC%91%EF%BC%97%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94"
                                  "%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98")).machine_code(),
            "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/x", "q=%2B49%2F171%2F2345678")).machine_code(), "sensitive_data_in_url");
  EXPECT_TRUE(CheckUrl(Req("/v1/audit/proof", "seq=123456789012")).ok());  // declared numeric parameter
  EXPECT_EQ(CheckUrl(Req("/v1/x", "Access_Token=abc")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/x", "a=csk_0123")).machine_code(), "sensitive_data_in_url");
  EXPECT_EQ(CheckUrl(Req("/v1/x", "a=1&a=2")).machine_code(), "ambiguous_input");
}

TEST(DecodeJsonBodyTest, RequiresJsonContentType) {
  HttpRequest r;
  r.body = "{}";
  EXPECT_EQ(DecodeJsonBody(r, {}, false).status().machine_code(), "unsupported_media_type");
  r.headers = {{"content-type", "text/plain"}};
  EXPECT_EQ(DecodeJsonBody(r, {}, false).status().machine_code(), "unsupported_media_type");
  r.headers = {{"content-type", "application/json; charset=latin1"}};
  EXPECT_EQ(DecodeJsonBody(r, {}, false).status().machine_code(), "unsupported_media_type");
  r.headers = {{"content-type", "Application/JSON; charset=UTF-8"}};
  EXPECT_TRUE(DecodeJsonBody(r, {}, false).ok());
  HttpRequest empty;
  EXPECT_TRUE(DecodeJsonBody(empty, {}, true).ok());
  EXPECT_EQ(DecodeJsonBody(empty, {}, false).status().machine_code(), "unsupported_media_type");
}

}  // namespace
}  // namespace cs
