// multipart/form-data parser and builder (see multipart.h).
#include "http/multipart.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <utility>

#include "common/strings.h"
#include "http/http.h"

namespace cs {

namespace {

constexpr std::string_view kCode = "invalid_multipart";
constexpr size_t kMaxPartHeaderBytes = 8192;  // one part's header lines, without the last line's CRLF
constexpr size_t kMaxBoundaryChars = 70;      // RFC 2046 §5.1.1

Status Bad(std::string message) { return InvalidArgument(std::string(kCode), std::move(message)); }

bool IsCtl(char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; }
bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars.
bool IsBoundaryChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool IsValidBoundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryChars || boundary.back() == ' ') return false;
  return std::all_of(boundary.begin(), boundary.end(), IsBoundaryChar);
}

bool HasCtl(std::string_view text) { return std::any_of(text.begin(), text.end(), IsCtl); }

size_t SkipWsp(std::string_view text, size_t i) {
  while (i < text.size() && IsWsp(text[i])) ++i;
  return i;
}

using Parameters = std::vector<std::pair<std::string, std::string>>;

// Parses `*( OWS ";" OWS [ name "=" value ] ) OWS` where value is a token
// (leniently: any run without whitespace, ';', '"' or controls) or a
// quoted-string with backslash escapes. Names are lowercased; a repeated
// name is refused. `where` names the header in error messages.
Result<Parameters> ParseParameters(std::string_view text, std::string_view where) {
  Parameters out;
  const std::string where_s(where);
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    i = SkipWsp(text, i);
    if (i == n) return out;
    if (text[i] != ';') return Bad(where_s + " has text where a ';' was expected");
    i = SkipWsp(text, i + 1);
    if (i == n) return out;
    if (text[i] == ';') continue;
    const size_t name_start = i;
    while (i < n && IsTokenChar(text[i])) ++i;
    if (i == name_start) return Bad(where_s + " has a parameter without a name");
    std::string name = AsciiLower(text.substr(name_start, i - name_start));
    i = SkipWsp(text, i);
    if (i == n || text[i] != '=') return Bad(where_s + " has a parameter without '='");
    i = SkipWsp(text, i + 1);
    std::string value;
    if (i < n && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == n) break;
          c = text[i++];
        }
        if (IsCtl(c)) return Bad(where_s + " has a control character in a parameter");
        value.push_back(c);
      }
      if (!closed) return Bad(where_s + " has an unterminated quoted parameter value");
    } else {
      const size_t value_start = i;
      while (i < n && !IsWsp(text[i]) && text[i] != ';' && text[i] != '"' && !IsCtl(text[i])) ++i;
      if (i == value_start) return Bad(where_s + " has a parameter without a value");
      value.assign(text.substr(value_start, i - value_start));
    }
    for (const auto& [k, v] : out) {
      if (k == name) return Bad(where_s + " repeats a parameter");
    }
    out.emplace_back(std::move(name), std::move(value));
  }
}

const std::string* FindParameter(const Parameters& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

// Splits "type; params" at the first ';' into the lowercased, trimmed type
// and the parameter text (starting with the ';', or empty).
std::pair<std::string, std::string_view> SplitValue(std::string_view value) {
  const size_t semi = value.find(';');
  if (semi == std::string_view::npos) return {AsciiLower(TrimAscii(value)), std::string_view()};
  return {AsciiLower(TrimAscii(value.substr(0, semi))), value.substr(semi)};
}

// Decodes an RFC 5987 ext-value: charset "'" [language] "'" percent-encoded.
Result<std::string> DecodeExtValue(std::string_view ext) {
  const size_t q1 = ext.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : ext.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return Bad("a part's filename* is not charset'language'value");
  if (AsciiLower(ext.substr(0, q1)) != "utf-8") return Bad("a part's filename* charset is not UTF-8");
  auto decoded = PercentDecode(ext.substr(q2 + 1), /*plus_is_space=*/false);
  if (!decoded.ok()) return Bad("a part's filename* is not valid percent-encoded UTF-8");
  if (HasCtl(*decoded)) return Bad("a part's filename* decodes to a control character");
  return std::move(decoded).value();
}

// Parses one part's header block: lines each ending in CRLF, the blank line excluded.
Result<MultipartPart> ParsePartHeaders(std::string_view block) {
  MultipartPart part;
  bool have_disposition = false;
  bool have_content_type = false;
  size_t start = 0;
  while (start < block.size()) {
    const size_t end = block.find("\r\n", start);
    if (end == std::string_view::npos) return Bad("a part header line does not end in CRLF");  // not reached
    const std::string_view line = block.substr(start, end - start);
    start = end + 2;
    if (line.find_first_of("\r\n") != std::string_view::npos) return Bad("a part header has a bare CR or LF");
    if (HasCtl(line)) return Bad("a part header has a control character");
    if (line.empty()) return Bad("a part has an empty header line");  // not reached: the block has no blank line
    if (IsWsp(line.front())) return Bad("a part header uses obsolete line folding");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Bad("a part header line has no name");
    const std::string_view raw_name = line.substr(0, colon);
    if (!std::all_of(raw_name.begin(), raw_name.end(), IsTokenChar)) return Bad("a part header has a malformed name");
    const std::string name = AsciiLower(raw_name);
    const std::string_view value = TrimAscii(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (have_disposition) return Bad("a part has more than one Content-Disposition header");
      have_disposition = true;
      auto [type, param_text] = SplitValue(value);
      if (type != "form-data") return Bad("a part's Content-Disposition is not form-data");
      CS_ASSIGN_OR_RETURN(Parameters params, ParseParameters(param_text, "a part's Content-Disposition"));
      const std::string* field_name = FindParameter(params, "name");
      if (field_name == nullptr || field_name->empty()) {
        return Bad("a part has no Content-Disposition form-data name");
      }
      part.name = *field_name;
      if (const std::string* filename = FindParameter(params, "filename")) {
        part.filename = *filename;
      } else if (const std::string* ext = FindParameter(params, "filename*")) {
        CS_ASSIGN_OR_RETURN(part.filename, DecodeExtValue(*ext));
      }
    } else if (name == "content-type") {
      if (have_content_type) return Bad("a part has more than one Content-Type header");
      have_content_type = true;
      part.content_type = std::string(value);
    } else if (name == "content-transfer-encoding") {
      const std::string encoding = AsciiLower(value);
      if (encoding != "7bit" && encoding != "8bit" && encoding != "binary") {
        return Bad("a part has a Content-Transfer-Encoding other than 7bit, 8bit or binary");
      }
    }
  }
  if (!have_disposition) return Bad("a part has no Content-Disposition form-data name");
  return part;
}

enum class DelimiterKind { kNone, kNext, kClose };

// Finds delimiters ("\r\n--" + boundary) with one Boyer-Moore searcher;
// every search moves forward, so a whole parse reads each byte a bounded
// number of times (at most the delimiter length).
class DelimiterFinder {
 public:
  DelimiterFinder(std::string_view body, std::string_view boundary)
      : body_(body),
        delimiter_("\r\n--" + std::string(boundary)),
        searcher_(delimiter_.begin(), delimiter_.end()) {}
  // The searcher points into delimiter_.
  DelimiterFinder(const DelimiterFinder&) = delete;
  DelimiterFinder& operator=(const DelimiterFinder&) = delete;

  struct Found {
    size_t at;           // where the delimiter starts (its CRLF)
    DelimiterKind kind;  // kNext or kClose
    size_t next;         // for kNext: where the next part's headers start
  };

  // Returns the first real delimiter at or after `from`. A candidate that is
  // not followed by transport padding and CRLF (or "--" for the close
  // delimiter) is data.
  std::optional<Found> Find(size_t from) const {
    while (from <= body_.size()) {
      const auto it = std::search(body_.begin() + static_cast<std::ptrdiff_t>(from), body_.end(), searcher_);
      if (it == body_.end()) return std::nullopt;
      const size_t at = static_cast<size_t>(it - body_.begin());
      size_t next = 0;
      const DelimiterKind kind = Classify(at + delimiter_.size(), &next);
      if (kind != DelimiterKind::kNone) return Found{at, kind, next};
      from = at + 1;
    }
    return std::nullopt;
  }

  // Classifies what follows a dash-boundary that ends at `after`.
  DelimiterKind Classify(size_t after, size_t* next) const {
    std::string_view rest = body_.substr(after);
    if (rest.starts_with("--")) {
      const size_t p = SkipWsp(rest, 2);
      return p == rest.size() || rest.substr(p).starts_with("\r\n") ? DelimiterKind::kClose : DelimiterKind::kNone;
    }
    const size_t p = SkipWsp(rest, 0);
    if (!rest.substr(p).starts_with("\r\n")) return DelimiterKind::kNone;
    *next = after + p + 2;
    return DelimiterKind::kNext;
  }

 private:
  std::string_view body_;
  std::string delimiter_;
  std::boyer_moore_searcher<std::string::const_iterator> searcher_;
};

}  // namespace

Result<std::vector<MultipartPart>> ParseMultipartFormData(std::string_view content_type, std::string_view body,
                                                           size_t max_parts) {
  auto [media_type, param_text] = SplitValue(content_type);
  if (media_type != "multipart/form-data") return Bad("the Content-Type is not multipart/form-data");
  CS_ASSIGN_OR_RETURN(Parameters params, ParseParameters(param_text, "the Content-Type"));
  const std::string* boundary = FindParameter(params, "boundary");
  if (boundary == nullptr) return Bad("the Content-Type has no boundary parameter");
  if (!IsValidBoundary(*boundary)) {
    return Bad("the boundary is not 1 to 70 allowed characters (RFC 2046) without a trailing space");
  }

  const DelimiterFinder finder(body, *boundary);
  const std::string dash_boundary = "--" + *boundary;

  // The first delimiter may open the body without the CRLF; otherwise it
  // ends a preamble.
  DelimiterFinder::Found found{0, DelimiterKind::kNone, 0};
  if (body.starts_with(dash_boundary)) found.kind = finder.Classify(dash_boundary.size(), &found.next);
  if (found.kind == DelimiterKind::kNone) {
    auto first = finder.Find(0);
    if (!first) return Bad("the body has no boundary delimiter");
    found = *first;
  }

  std::vector<MultipartPart> parts;
  while (found.kind == DelimiterKind::kNext) {
    if (parts.size() >= max_parts) return Bad("the body has more than " + std::to_string(max_parts) + " parts");
    const size_t headers_start = found.next;
    const std::string_view rest = body.substr(headers_start);
    if (rest.starts_with("\r\n")) return Bad("a part has no Content-Disposition form-data name");
    const size_t block_end = rest.substr(0, kMaxPartHeaderBytes + 4).find("\r\n\r\n");
    if (block_end == std::string_view::npos) {
      if (rest.substr(0, kMaxPartHeaderBytes + 4).find("\n\n") != std::string_view::npos) {
        return Bad("a part header has a bare CR or LF");
      }
      if (rest.size() >= kMaxPartHeaderBytes + 4) return Bad("a part's headers are longer than 8192 bytes");
      return Bad("the body ends inside a part's headers (missing closing delimiter)");
    }
    CS_ASSIGN_OR_RETURN(MultipartPart part, ParsePartHeaders(rest.substr(0, block_end + 2)));

    // The blank line may double as the next delimiter's CRLF (a part without a body).
    const size_t blank_line = headers_start + block_end + 2;
    auto next = finder.Find(blank_line);
    if (!next) return Bad("the body has no closing delimiter");
    const size_t body_start = std::min(blank_line + 2, next->at);
    part.body = body.substr(body_start, next->at - body_start);
    parts.push_back(std::move(part));
    found = *next;
  }
  return parts;
}

Result<MultipartBody> BuildMultipartFormData(const std::vector<MultipartField>& fields, std::string_view boundary) {
  if (!IsValidBoundary(boundary)) {
    return Bad("the boundary is not 1 to 70 allowed characters (RFC 2046) without a trailing space");
  }
  size_t size = boundary.size() + 8;
  for (const MultipartField& field : fields) {
    if (field.name.empty()) return Bad("a field has no name");
    if (HasCtl(field.name)) return Bad("a field name has a control character (CR, LF or other)");
    if (HasCtl(field.filename)) return Bad("a file name has a control character (CR, LF or other)");
    if (HasCtl(field.content_type)) return Bad("a field's content type has a control character");
    if (TrimAscii(field.content_type).size() != field.content_type.size()) {
      return Bad("a field's content type has surrounding whitespace");
    }
    if (field.data.find(boundary) != std::string_view::npos) return Bad("the boundary occurs in a field's data");
    // Escapes at most double the name and file name.
    size += boundary.size() + 2 * (field.name.size() + field.filename.size()) + field.content_type.size() +
            field.data.size() + 96;
  }

  auto append_quoted = [](std::string& out, std::string_view text) {
    out.push_back('"');
    for (char c : text) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  };

  MultipartBody result;
  std::string& out = result.body;
  out.reserve(size);
  for (const MultipartField& field : fields) {
    out.append("--").append(boundary).append("\r\nContent-Disposition: form-data; name=");
    append_quoted(out, field.name);
    if (!field.filename.empty()) {
      out.append("; filename=");
      append_quoted(out, field.filename);
    }
    out.append("\r\n");
    if (!field.content_type.empty()) out.append("Content-Type: ").append(field.content_type).append("\r\n");
    out.append("\r\n").append(field.data).append("\r\n");
  }
  out.append("--").append(boundary).append("--\r\n");

  result.content_type = "multipart/form-data; boundary=";
  if (std::all_of(boundary.begin(), boundary.end(), IsTokenChar)) {
    result.content_type.append(boundary);
  } else {
    result.content_type.append("\"").append(boundary).append("\"");  // bchars need no escaping
  }
  return result;
}

}  // namespace cs
