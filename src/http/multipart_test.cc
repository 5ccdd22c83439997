#include "http/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace cs {
namespace {

using namespace std::string_literals;

constexpr std::string_view kCurlType = "multipart/form-data; boundary=------------------------d74496d66958873e";
constexpr std::string_view kCurlBoundary = "------------------------d74496d66958873e";

// True when `view` lies inside `whole` (the parser must not copy part bodies).
bool IsViewInto(std::string_view view, std::string_view whole) {
  return view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size();
}

void ExpectError(const Result<std::vector<MultipartPart>>& r, std::string_view message) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().machine_code(), "invalid_multipart");
  EXPECT_EQ(r.status().message(), message);
}

// What `curl -F file=@photo.jpg;type=image/jpeg -F type=image/jpeg -F messaging_product=whatsapp` sends.
TEST(MultipartParseTest, ParsesACurlMediaUploadExactly) {
  const std::string jpeg = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\r\n--\r\n\xff\xd9"s;
  const std::string body = "--"s + std::string(kCurlBoundary) +
                           "\r\n"
                           "Content-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
                           "Content-Type: image/jpeg\r\n"
                           "\r\n" +
                           jpeg + "\r\n--" + std::string(kCurlBoundary) +
                           "\r\n"
                           "Content-Disposition: form-data; name=\"type\"\r\n"
                           "\r\n"
                           "image/jpeg\r\n--" +
                           std::string(kCurlBoundary) +
                           "\r\n"
                           "Content-Disposition: form-data; name=\"messaging_product\"\r\n"
                           "\r\n"
                           "whatsapp\r\n--" +
                           std::string(kCurlBoundary) + "--\r\n";
  auto parts = ParseMultipartFormData(kCurlType, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  const MultipartPart& file = (*parts)[0];
  EXPECT_EQ(file.name, "file");
  EXPECT_EQ(file.filename, "photo.jpg");
  EXPECT_EQ(file.content_type, "image/jpeg");
  EXPECT_EQ(file.body, jpeg);
  EXPECT_EQ(file.body.size(), 19u);
  EXPECT_EQ((*parts)[1].name, "type");
  EXPECT_EQ((*parts)[1].filename, "");
  EXPECT_EQ((*parts)[1].content_type, "");
  EXPECT_EQ((*parts)[1].body, "image/jpeg");
  EXPECT_EQ((*parts)[2].name, "messaging_product");
  EXPECT_EQ((*parts)[2].body, "whatsapp");
  for (const MultipartPart& part : *parts) EXPECT_TRUE(IsViewInto(part.body, body));
  // The file's bytes are a view at the exact offset, not a copy.
  EXPECT_EQ(file.body.data(), body.data() + body.find("\xff\xd8"));
}

TEST(MultipartParseTest, KeepsBinaryDataWithCrLfDashesAndPartialBoundaries) {
  const std::string boundary = "XyZ123";
  const std::string data = "\r\n\r\n--\r\n--XyZ12\r\n--XyZ\r--XyZ123\n\r\n-XyZ123\r\n--XyZ123X\r\n--XyZ123 x\r\n"
                           "--XyZ123-\r\n--XyZ123--x\x00\xff\r"s;
  const std::string body = "--XyZ123\r\nContent-Disposition: form-data; name=\"bin\"\r\n\r\n" + data +
                           "\r\n--XyZ123\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nok\r\n--XyZ123--";
  auto parts = ParseMultipartFormData("multipart/form-data; boundary=" + boundary, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].body, data);
  EXPECT_EQ((*parts)[0].body.size(), data.size());
  EXPECT_EQ((*parts)[1].name, "after");
  EXPECT_EQ((*parts)[1].body, "ok");
}

TEST(MultipartParseTest, AcceptsQuotedUnquotedAndCaseInsensitiveContentTypes) {
  const std::string body = "--a b'()+_,-./:=?\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b'()+_,-./:=?--\r\n";
  for (std::string_view type : {"multipart/form-data; boundary=\"a b'()+_,-./:=?\"",
                                "Multipart/Form-Data ;\tBOUNDARY = \"a b'()+_,-./:=?\" ; charset=utf-8",
                                "MULTIPART/FORM-DATA;boundary=\"a\\ b'()+_,-./:=?\""}) {
    auto parts = ParseMultipartFormData(type, body);
    ASSERT_TRUE(parts.ok()) << type << ": " << parts.status().ToString();
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].name, "x");
    EXPECT_EQ((*parts)[0].body, "1");
  }
  const std::string plain = "--simple\r\nContent-Disposition: form-data; name=x\r\n\r\n2\r\n--simple--";
  auto parts = ParseMultipartFormData("multipart/form-data; boundary=simple", plain);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].body, "2");
}

TEST(MultipartParseTest, SkipsPreambleEpilogueAndTransportPadding) {
  const std::string body =
      "This is the preamble.\r\n--b-- not yet\r\n--b \t\r\n"
      "content-disposition: FORM-DATA; NAME=\"first\"\r\n\r\none\r\n--b\t\r\n"
      "CONTENT-DISPOSITION: form-data; name=second\r\n\r\ntwo\r\n--b--  \r\nThis is the epilogue.\r\n--b\r\n";
  auto parts = ParseMultipartFormData("multipart/form-data; boundary=b", body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "first");
  EXPECT_EQ((*parts)[0].body, "one");
  EXPECT_EQ((*parts)[1].name, "second");
  EXPECT_EQ((*parts)[1].body, "two");
}

TEST(MultipartParseTest, EmptyBodiesAndEmptyForms) {
  // An empty body, and a part whose headers run straight into the next delimiter.
  auto parts = ParseMultipartFormData("multipart/form-data; boundary=b",
                                      "--b\r\nContent-Disposition: form-data; name=e\r\n\r\n\r\n--b\r\n"
                                      "Content-Disposition: form-data; name=n\r\n\r\n--b--");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "e");
  EXPECT_EQ((*parts)[0].body, "");
  EXPECT_EQ((*parts)[1].name, "n");
  EXPECT_EQ((*parts)[1].body, "");
  auto none = ParseMultipartFormData("multipart/form-data; boundary=b", "--b--\r\n");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST(MultipartParseTest, RefusesAMissingClosingDelimiter) {
  const std::string_view type = "multipart/form-data; boundary=b";
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n\r\ndata"),
              "the body has no closing delimiter");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n\r\ndata\r\n--b"),
              "the body has no closing delimiter");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n\r\ndata\r\n--b--x"),
              "the body has no closing delimiter");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n"),
              "the body ends inside a part's headers (missing closing delimiter)");
  ExpectError(ParseMultipartFormData(type, "no delimiter at all"), "the body has no boundary delimiter");
  ExpectError(ParseMultipartFormData(type, ""), "the body has no boundary delimiter");
  ExpectError(ParseMultipartFormData(type, "--bb\r\n"), "the body has no boundary delimiter");
}

TEST(MultipartParseTest, RefusesAMissingOrInvalidBoundary) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--";
  ExpectError(ParseMultipartFormData("multipart/form-data", body), "the Content-Type has no boundary parameter");
  ExpectError(ParseMultipartFormData("multipart/form-data; charset=utf-8", body),
              "the Content-Type has no boundary parameter");
  const std::string bad_boundary =
      "the boundary is not 1 to 70 allowed characters (RFC 2046) without a trailing space";
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=\"\"", body), bad_boundary);
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=\"b \"", body), bad_boundary);
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=a*b", body), bad_boundary);
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=" + std::string(71, 'a'), body), bad_boundary);
  EXPECT_TRUE(ParseMultipartFormData("multipart/form-data; boundary=" + std::string(70, 'a'),
                                     "--" + std::string(70, 'a') + "--")
                  .ok());
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=b; boundary=c", body),
              "the Content-Type repeats a parameter");
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=\"b", body),
              "the Content-Type has an unterminated quoted parameter value");
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=", body),
              "the Content-Type has a parameter without a value");
  ExpectError(ParseMultipartFormData("multipart/form-data; boundary=b c", body),
              "the Content-Type has text where a ';' was expected");
}

TEST(MultipartParseTest, RefusesOtherMediaTypes) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--";
  for (std::string_view type : {"application/x-www-form-urlencoded", "multipart/mixed; boundary=b",
                                "multipart/form-data-x; boundary=b", "", "text/plain; boundary=b"}) {
    ExpectError(ParseMultipartFormData(type, body), "the Content-Type is not multipart/form-data");
  }
}

TEST(MultipartParseTest, RefusesMoreThanMaxParts) {
  std::string body;
  for (int i = 0; i < 3; ++i) body += "--b\r\nContent-Disposition: form-data; name=f" + std::to_string(i) + "\r\n\r\nv\r\n";
  body += "--b--\r\n";
  const std::string_view type = "multipart/form-data; boundary=b";
  ExpectError(ParseMultipartFormData(type, body, 2), "the body has more than 2 parts");
  auto three = ParseMultipartFormData(type, body, 3);
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[2].name, "f2");

  std::string many;
  for (int i = 0; i < 17; ++i) many += "--b\r\nContent-Disposition: form-data; name=f\r\n\r\n\r\n";
  many += "--b--";
  ExpectError(ParseMultipartFormData(type, many), "the body has more than 16 parts");
}

TEST(MultipartParseTest, RefusesAPartWithoutAFormDataName) {
  const std::string_view type = "multipart/form-data; boundary=b";
  const std::string missing = "a part has no Content-Disposition form-data name";
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--"), missing);
  ExpectError(ParseMultipartFormData(type, "--b\r\n\r\n1\r\n--b--"), missing);
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--"), missing);
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--b--"),
              missing);
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; filename=a\r\n\r\n1\r\n--b--"),
              missing);
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: attachment; name=x\r\n\r\n1\r\n--b--"),
              "a part's Content-Disposition is not form-data");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x; name=y\r\n\r\n1\r\n--b--"),
              "a part's Content-Disposition repeats a parameter");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n"
                                           "Content-Disposition: form-data; name=y\r\n\r\n1\r\n--b--"),
              "a part has more than one Content-Disposition header");
}

TEST(MultipartParseTest, RefusesMalformedPartHeaders) {
  const std::string_view type = "multipart/form-data; boundary=b";
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\nX: y\r\n\r\n1\r\n--b--"),
              "a part header has a bare CR or LF");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\n\n1\r\n--b--"),
              "a part header has a bare CR or LF");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\r\n\r\n1\r\n--b--"),
              "a part header has a bare CR or LF");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\nX-A: 1\r\n 2\r\n\r\n1\r\n--b--"),
              "a part header uses obsolete line folding");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition form-data; name=x\r\n\r\n1\r\n--b--"),
              "a part header line has no name");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=\"x\0\"\r\n\r\n1\r\n--b--"s),
              "a part header has a control character");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n"
                                           "Content-Transfer-Encoding: base64\r\n\r\nMQ==\r\n--b--"),
              "a part has a Content-Transfer-Encoding other than 7bit, 8bit or binary");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=x\r\n"
                                           "Content-Type: a/b\r\ncontent-type: c/d\r\n\r\n1\r\n--b--"),
              "a part has more than one Content-Type header");
}

TEST(MultipartParseTest, RefusesHeadersLongerThan8KiB) {
  const std::string_view type = "multipart/form-data; boundary=b";
  const std::string prefix = "Content-Disposition: form-data; name=x\r\nX-Pad: ";
  // Exactly 8192 bytes of header lines (without the last CRLF) are accepted; one more is refused.
  const std::string fits = prefix + std::string(8192 - prefix.size(), 'p');
  const std::string body = "--b\r\n" + fits + "\r\n\r\n1\r\n--b--";  // outlives the views into it
  auto ok = ParseMultipartFormData(type, body);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[0].body, "1");
  ExpectError(ParseMultipartFormData(type, "--b\r\n" + fits + "p\r\n\r\n1\r\n--b--"),
              "a part's headers are longer than 8192 bytes");
}

TEST(MultipartParseTest, UnquotesParametersAndDecodesFilenameStar) {
  const std::string_view type = "multipart/form-data; boundary=b";
  auto parts = ParseMultipartFormData(
      type,
      "--b\r\ncontent-disposition: form-data; name=\"a \\\"q\\\" \\\\ b;c\"; filename=\"C:\\\\x\\\\y.pdf\"\r\n"
      "content-type:   application/pdf  \r\n\r\n%PDF\r\n"
      "--b\r\nContent-Disposition: form-data; name=doc; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf\r\n\r\n"
      "x\r\n"
      "--b\r\nContent-Disposition: form-data; name=doc2; filename*=utf-8'en'ignored.txt; filename=\"plain.txt\"\r\n"
      "\r\ny\r\n--b--");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "a \"q\" \\ b;c");
  EXPECT_EQ((*parts)[0].filename, "C:\\x\\y.pdf");
  EXPECT_EQ((*parts)[0].content_type, "application/pdf");
  EXPECT_EQ((*parts)[0].body, "%PDF");
  EXPECT_EQ((*parts)[1].filename, "na\xc3\xafve r\xc3\xa9sum\xc3\xa9.pdf");
  EXPECT_EQ((*parts)[2].filename, "plain.txt");

  ExpectError(ParseMultipartFormData(
                  type, "--b\r\nContent-Disposition: form-data; name=d; filename*=ISO-8859-1''a%E9\r\n\r\nx\r\n--b--"),
              "a part's filename* charset is not UTF-8");
  ExpectError(ParseMultipartFormData(
                  type, "--b\r\nContent-Disposition: form-data; name=d; filename*=UTF-8''a%ZZ\r\n\r\nx\r\n--b--"),
              "a part's filename* is not valid percent-encoded UTF-8");
  ExpectError(ParseMultipartFormData(
                  type, "--b\r\nContent-Disposition: form-data; name=d; filename*=UTF-8''a%0D%0A\r\n\r\nx\r\n--b--"),
              "a part's filename* decodes to a control character");
  ExpectError(ParseMultipartFormData(type, "--b\r\nContent-Disposition: form-data; name=d; filename*=a.txt\r\n\r\nx\r\n--b--"),
              "a part's filename* is not charset'language'value");
}

TEST(MultipartParseTest, ScansALargeAdversarialBodyInPlace) {
  // 16 MiB of near-delimiters (each a prefix of "\r\n--" + boundary, or the
  // boundary followed by a byte that is not padding): linear, no copy.
  const std::string boundary = "0123456789abcdef01234567";
  std::string data;
  data.reserve(16 << 20);
  const std::string near1 = "\r\n--" + boundary.substr(0, 23);
  const std::string near2 = "\r\n--" + boundary + "x";
  while (data.size() < (16u << 20)) data += near1 + near2;
  const std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=file; filename=big.bin\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n" + data + "\r\n--" + boundary + "--\r\n";
  auto parts = ParseMultipartFormData("multipart/form-data; boundary=" + boundary, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].body.size(), data.size());
  EXPECT_EQ((*parts)[0].body.data(), body.data() + body.find("\r\n\r\n") + 4);
  EXPECT_TRUE((*parts)[0].body == data);
}

TEST(MultipartBuildTest, BuildsTheCloudApiMediaUploadExactly) {
  const std::string png = "\x89PNG\r\n\x1a\n"s;
  auto built = BuildMultipartFormData({{"file", "photo.png", "image/png", png},
                                       {"type", "", "", "image/png"},
                                       {"messaging_product", "", "", "whatsapp"}},
                                      "0123456789abcdef01234567");
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->content_type, "multipart/form-data; boundary=0123456789abcdef01234567");
  EXPECT_EQ(built->body,
            "--0123456789abcdef01234567\r\n"
            "Content-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n"
            "Content-Type: image/png\r\n"
            "\r\n"
            "\x89PNG\r\n\x1a\n\r\n"
            "--0123456789abcdef01234567\r\n"
            "Content-Disposition: form-data; name=\"type\"\r\n"
            "\r\n"
            "image/png\r\n"
            "--0123456789abcdef01234567\r\n"
            "Content-Disposition: form-data; name=\"messaging_product\"\r\n"
            "\r\n"
            "whatsapp\r\n"
            "--0123456789abcdef01234567--\r\n");
  auto empty = BuildMultipartFormData({}, "b c");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->content_type, "multipart/form-data; boundary=\"b c\"");
  EXPECT_EQ(empty->body, "--b c--\r\n");
}

TEST(MultipartBuildTest, RoundTripsThroughTheParser) {
  const std::string binary = "\r\n--\r\n--bound\0\xff\r\n-\r"s;
  const std::vector<MultipartField> fields = {
      {"file", "r\xc3\xa9sum\xc3\xa9 \"final\" \\ v2.pdf", "application/pdf", binary},
      {"na\"me\\", "", "", ""},
      {"type", "", "text/plain; charset=utf-8", "application/pdf"},
      {"messaging_product", "", "", "whatsapp"},
  };
  for (std::string_view boundary : {"boundary-1", "a b'()+_,-./:=?"}) {
    auto built = BuildMultipartFormData(fields, boundary);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    auto parts = ParseMultipartFormData(built->content_type, built->body, fields.size());
    ASSERT_TRUE(parts.ok()) << parts.status().ToString();
    ASSERT_EQ(parts->size(), fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      EXPECT_EQ((*parts)[i].name, fields[i].name) << i;
      EXPECT_EQ((*parts)[i].filename, fields[i].filename) << i;
      EXPECT_EQ((*parts)[i].content_type, fields[i].content_type) << i;
      EXPECT_EQ((*parts)[i].body, fields[i].data) << i;
      EXPECT_TRUE(IsViewInto((*parts)[i].body, built->body)) << i;
    }
  }
}

TEST(MultipartBuildTest, RefusesWhatCannotBeEncoded) {
  auto refuse = [](std::vector<MultipartField> fields, std::string_view boundary, std::string_view message) {
    auto built = BuildMultipartFormData(fields, boundary);
    ASSERT_FALSE(built.ok()) << message;
    EXPECT_EQ(built.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(built.status().machine_code(), "invalid_multipart");
    EXPECT_EQ(built.status().message(), message);
  };
  const std::string ctl_filename = "a file name has a control character (CR, LF or other)";
  refuse({{"file", "evil\r\nContent-Type: text/html.jpg", "image/jpeg", "x"}}, "b", ctl_filename);
  refuse({{"file", "a\rb", "", "x"}}, "b", ctl_filename);
  refuse({{"file", "a\nb", "", "x"}}, "b", ctl_filename);
  refuse({{"file", "a\0b"s, "", "x"}}, "b", ctl_filename);
  refuse({{"na\r\nme", "", "", "x"}}, "b", "a field name has a control character (CR, LF or other)");
  refuse({{"", "", "", "x"}}, "b", "a field has no name");
  refuse({{"f", "", "image/png\r\nX: y", "x"}}, "b", "a field's content type has a control character");
  refuse({{"f", "", " image/png", "x"}}, "b", "a field's content type has surrounding whitespace");
  refuse({{"f", "", "", "data --bnd data"}}, "bnd", "the boundary occurs in a field's data");
  const std::string bad_boundary =
      "the boundary is not 1 to 70 allowed characters (RFC 2046) without a trailing space";
  refuse({{"f", "", "", "x"}}, "", bad_boundary);
  refuse({{"f", "", "", "x"}}, "b\r\n", bad_boundary);
  refuse({{"f", "", "", "x"}}, "b\"", bad_boundary);
  refuse({{"f", "", "", "x"}}, std::string(71, 'b'), bad_boundary);
}

}  // namespace
}  // namespace cs
