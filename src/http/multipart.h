// File: multipart.h
// multipart/form-data (RFC 7578 over RFC 2046 §5.1): the parser for uploads
// received and the builder for media uploads to the Cloud API
// (`POST /{phone-number-id}/media` with `file`, `type` and `messaging_product`).
// No Debian package provides a multipart/form-data parser for C++ (Boost.Beast does not parse
// multipart), so it is written here.
//
// Parsing is linear in the body size (one forward Boyer-Moore scan for the
// delimiter "\r\n--" + boundary), never copies a part's bytes (each part's
// body is a view into the parsed body, which must outlive the result) and
// never reads outside the body. Every refusal is kInvalidArgument with the
// machine code "invalid_multipart" and a message without personal data
// (never a field name, file name or byte of content).
//
// What the parser accepts:
//   - the request's media type multipart/form-data in any case, with one
//     `boundary` parameter (token or quoted-string) of 1 to 70 RFC 2046
//     bchars not ending in a space;
//   - a preamble before the first delimiter and an epilogue after the close
//     delimiter, and transport padding (spaces, tabs) after any delimiter; a
//     candidate delimiter followed by anything else is part of the data;
//   - part header lines ending in CRLF only (a bare CR or LF, another control
//     character, or obsolete line folding is refused), header names in any
//     case, at most 8 KiB of headers per part;
//   - exactly one `Content-Disposition: form-data` with a non-empty `name`;
//     parameter values as tokens or quoted-strings with backslash escapes; a
//     repeated parameter or header (Content-Disposition, Content-Type) is
//     refused as ambiguous;
//   - `filename*` (RFC 5987, `UTF-8''percent-encoded`) only when `filename`
//     is absent; it must decode to UTF-8 without control characters;
//   - Content-Transfer-Encoding absent or 7bit/8bit/binary (RFC 7578 §4.7).
// A part with an empty body, or with none at all (its headers directly
// followed by the next delimiter), has an empty `body`. A body that is only
// the close delimiter has no parts.
//
// Repeated field names are returned in order as sent (RFC 7578 §4.3 allows
// several files under one name): a caller that wants one value per name
// (e.g. one `file`) must refuse repeats itself.
//
// `filename` is what the client sent: it may hold a path ("../x", "C:\x")
// and personal data. Never use it as a path and never log it.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cs {

struct MultipartPart {
  std::string name;          // the form field name from Content-Disposition
  std::string filename;      // "" when the part has none
  std::string content_type;  // the part's Content-Type, "" when absent
  std::string_view body;     // the part's bytes: a view into the parsed body
};

// Parses a multipart/form-data body. `content_type` is the request's Content-Type header
// value (must be multipart/form-data with a boundary parameter, quoted or not, case-insensitive type).
// Errors: InvalidArgument with machine code "invalid_multipart" and a human message that says what is wrong
// (no boundary, missing closing delimiter, a part without Content-Disposition form-data name, header too long,
// more than max_parts parts). Part headers must end in CRLF (RFC 2046; a bare LF is refused); a preamble
// and an epilogue are accepted; header names are case-insensitive; parameters may be quoted with backslash
// escapes; filename* (RFC 5987) is ignored except to fill filename when plain filename is absent
// (UTF-8''percent-encoding decoded).
Result<std::vector<MultipartPart>> ParseMultipartFormData(std::string_view content_type, std::string_view body,
                                                           size_t max_parts = 16);

struct MultipartField {
  std::string name;
  std::string filename;      // "" for a plain field
  std::string content_type;  // "" for a plain field
  std::string_view data;
};

struct MultipartBody {
  std::string content_type;  // "multipart/form-data; boundary=…"
  std::string body;
};

// Builds a body; `boundary` must not occur in any data (the caller draws it at random, e.g. 24 random hex digits);
// quotes and backslashes in names and filenames are escaped (quoted-string), control characters (CR, LF and
// the others, except HTAB) in names, filenames and content types are refused (InvalidArgument
// "invalid_multipart"), as are an empty name, a content type with surrounding whitespace, a boundary that is
// not 1 to 70 RFC 2046 bchars, and a boundary found in a field's data. Every field gets
// `Content-Disposition: form-data; name="…"` (plus `; filename="…"` when set) and a Content-Type header
// when `content_type` is set; the result parses back to the same fields with ParseMultipartFormData.
Result<MultipartBody> BuildMultipartFormData(const std::vector<MultipartField>& fields, std::string_view boundary);

}  // namespace cs
