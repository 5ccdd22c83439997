#include <algorithm>

#include "auth/auth.h"

namespace cs {

const std::vector<std::string>& KnownScopes() {
  static const std::vector<std::string> kScopes = {
      "admin",         "audit:read",    "consent:read",       "consent:write",    "content:scan",   "dsar:manage",
      "messages:read", "messages:send", "operators:manage",   "subscribers:manage", "templates:manage",
      "grants:manage",
  };
  return kScopes;
}

Result<std::vector<std::string>> NormalizeScopes(const std::vector<std::string>& scopes) {
  if (scopes.empty()) return InvalidArgument("invalid_scope", "at least one scope is required");
  const auto& known = KnownScopes();
  std::vector<std::string> out;
  for (const std::string& s : scopes) {
    if (std::find(known.begin(), known.end(), s) == known.end()) {
      std::string shown = s.size() > 40 ? s.substr(0, 40) : s;
      return InvalidArgument("invalid_scope", "unknown scope \"" + shown + "\" (known: " + [&] {
        std::string all;
        for (size_t i = 0; i < known.size(); ++i) all += (i ? ", " : "") + known[i];
        return all;
      }() + ")");
    }
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool Principal::HasScope(std::string_view scope) const {
  return std::binary_search(scopes.begin(), scopes.end(), scope);
}

}  // namespace cs
