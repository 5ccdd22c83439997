#include <openssl/rand.h>

#include "common/json_writer.h"
#include "common/strings.h"
#include "http/http.h"

namespace cs {

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return &v;
  }
  return nullptr;
}

size_t HttpRequest::HeaderCount(std::string_view lower_name) const {
  size_t n = 0;
  for (const auto& [k, v] : headers) n += k == lower_name;
  return n;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse r;
  r.status = status;
  r.body = ErrorEnvelope(code, message, request_id);
  r.error_code = std::string(code);
  return r;
}

std::string NewRequestId() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // A request id is not a secret; a failing generator must not fail the request.
    return "req_000000000000000000000000";
  }
  return "req_" + HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) {
        return InvalidArgument("invalid_query", "the query string has a truncated percent escape");
      }
      int hi = HexDigit(in[i + 1]);
      int lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgument("invalid_query", "the query string has a bad percent escape");
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  if (!IsValidUtf8(out)) return InvalidArgument("invalid_query", "the query string is not valid UTF-8");
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (query.empty()) return out;
  for (const std::string& part : Split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    CS_ASSIGN_OR_RETURN(std::string name, PercentDecode(std::string_view(part).substr(0, eq), true));
    CS_ASSIGN_OR_RETURN(std::string value, eq == std::string::npos
                                               ? Result<std::string>(std::string())
                                               : PercentDecode(std::string_view(part).substr(eq + 1), true));
    for (const auto& [k, v] : out) {
      if (k == name) return InvalidArgument("ambiguous_input", "a query parameter is repeated");
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace cs
