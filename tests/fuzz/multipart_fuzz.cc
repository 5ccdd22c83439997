// libFuzzer target: multipart/form-data. The first line of the input is the
// request's Content-Type, the rest the body. Whatever parses must be named
// parts whose bodies lie inside the body, and must survive Build -> Parse
// unchanged (the only refusal allowed there: the builder's boundary occurs
// in a part's data).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  std::string_view content_type = input.substr(0, newline);
  if (content_type.ends_with('\r')) content_type.remove_suffix(1);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  auto parts = cs::ParseMultipartFormData(content_type, body);
  if (!parts.ok()) {
    if (parts.status().machine_code() != "invalid_multipart") __builtin_trap();
    return 0;
  }
  if (parts->size() > 16) __builtin_trap();  // the default max_parts
  std::vector<cs::MultipartField> fields;
  bool boundary_in_data = false;
  constexpr std::string_view kBoundary = "fuzz0123456789abcdef0123";
  for (const cs::MultipartPart& part : *parts) {
    if (part.name.empty()) __builtin_trap();
    if (!part.body.empty() && (part.body.data() < body.data() ||
                               part.body.data() + part.body.size() > body.data() + body.size())) {
      __builtin_trap();  // a part's body must be a view into the body
    }
    boundary_in_data |= part.body.find(kBoundary) != std::string_view::npos;
    fields.push_back({part.name, part.filename, part.content_type, part.body});
  }

  auto built = cs::BuildMultipartFormData(fields, kBoundary);
  if (!built.ok()) {
    if (!boundary_in_data) __builtin_trap();  // anything the parser accepts, the builder can encode
    return 0;
  }
  auto again = cs::ParseMultipartFormData(built->content_type, built->body, fields.size());
  if (!again.ok() || again->size() != parts->size()) __builtin_trap();
  for (size_t i = 0; i < parts->size(); ++i) {
    const cs::MultipartPart& a = (*parts)[i];
    const cs::MultipartPart& b = (*again)[i];
    if (a.name != b.name || a.filename != b.filename || a.content_type != b.content_type || a.body != b.body) {
      __builtin_trap();
    }
  }
  return 0;
}
