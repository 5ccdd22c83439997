#include "config/config.h"

#include <toml++/toml.h>

#include <sstream>

#include "common/strings.h"
#include "config/schema.h"

extern char** environ;

namespace cs {

using config_internal::FindKey;
using config_internal::KeySpec;
using config_internal::KeyType;
using config_internal::RawValue;
using config_internal::Schema;

namespace {

// Environment variables that start with CONSENTRY_ but are not config keys.
// Anything else with the prefix is refused, so a typo never passes silently.
constexpr std::string_view kNonConfigEnv[] = {
    "CONSENTRY_MASTER_KEY",  // reserved for the vault's master key
};

struct Collector {
  std::vector<ConfigIssue> issues;
  void Add(std::string key, std::string message) { issues.push_back({std::move(key), std::move(message)}); }
};

std::string DescribeAllowed(const KeySpec& spec) {
  std::string out;
  for (size_t i = 0; i < spec.allowed.size(); ++i) {
    if (i) out += ", ";
    out += '"';
    out += spec.allowed[i];
    out += '"';
  }
  return out;
}

// Checks range and enum membership; returns an empty string when valid.
std::string CheckValue(const KeySpec& spec, const RawValue& value) {
  if (spec.type == KeyType::kInt) {
    int64_t v = std::get<int64_t>(value);
    if (v < spec.min || v > spec.max) {
      return "must be between " + std::to_string(spec.min) + " and " + std::to_string(spec.max) + ", got " +
             std::to_string(v);
    }
  }
  if (spec.type == KeyType::kEnum) {
    const std::string& v = std::get<std::string>(value);
    bool found = false;
    for (auto a : spec.allowed) found = found || a == v;
    if (!found) return "must be one of " + DescribeAllowed(spec);
  }
  if (spec.type == KeyType::kString || spec.type == KeyType::kEnum) {
    const std::string& v = std::get<std::string>(value);
    if (!IsValidUtf8(v) || v.find('\0') != std::string::npos) return "must be valid UTF-8 without NUL";
  }
  return "";
}

std::string_view TypeName(KeyType type) {
  switch (type) {
    case KeyType::kString: return "a string";
    case KeyType::kInt: return "an integer";
    case KeyType::kBool: return "a boolean (true or false)";
    case KeyType::kEnum: return "a string";
  }
  return "a value";
}

// Parses a textual value (environment, flag, default) for `spec`.
std::optional<RawValue> ParseText(const KeySpec& spec, std::string_view text) {
  switch (spec.type) {
    case KeyType::kString:
    case KeyType::kEnum:
      return RawValue(std::string(text));
    case KeyType::kInt: {
      bool negative = !text.empty() && text.front() == '-';
      auto v = ParseNonNegativeInt(negative ? text.substr(1) : text);
      if (!v) return std::nullopt;
      return RawValue(negative ? -*v : *v);
    }
    case KeyType::kBool:
      if (text == "true") return RawValue(true);
      if (text == "false") return RawValue(false);
      return std::nullopt;
  }
  return std::nullopt;
}

void Set(Config& config, Collector& out, const KeySpec& spec, const RawValue& value, std::string_view origin,
         const std::string& where) {
  std::string problem = CheckValue(spec, value);
  if (!problem.empty()) {
    out.Add(where, problem);
    return;
  }
  spec.apply(config, value);
  config.origins[std::string(spec.key)] = std::string(origin);
}

void ApplyToml(const toml::table& table, const std::string& prefix, Config& config, Collector& out,
               const std::string& file) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = node.as_table()) {
      ApplyToml(*sub, key, config, out, file);
      continue;
    }
    const KeySpec* spec = FindKey(key);
    if (spec == nullptr) {
      out.Add(key, "unknown key in " + file + " (see docs/config.md for the valid keys)");
      continue;
    }
    std::optional<RawValue> value;
    switch (spec->type) {
      case KeyType::kString:
      case KeyType::kEnum:
        if (auto s = node.value<std::string>(); s && node.is_string()) value = RawValue(*s);
        break;
      case KeyType::kInt:
        if (node.is_integer()) value = RawValue(*node.value<int64_t>());
        break;
      case KeyType::kBool:
        if (node.is_boolean()) value = RawValue(*node.value<bool>());
        break;
    }
    if (!value) {
      out.Add(key, "must be " + std::string(TypeName(spec->type)) + " in " + file);
      continue;
    }
    Set(config, out, *spec, *value, "file", key);
  }
}

bool ParseListen(const std::string& text, HttpConfig& http) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto p = ParseNonNegativeInt(port);
  if (host.empty() || !p || *p > 65535) return false;
  http.listen_host = host;
  http.listen_port = static_cast<uint16_t>(*p);
  return true;
}

void ValidateCrossField(Config& config, Collector& out) {
  if (!ParseListen(config.http.listen, config.http)) {
    out.Add("http.listen", "must be host:port with a port from 0 to 65535 (IPv6 in brackets)");
  }
  if (config.data_dir.empty()) out.Add("data_dir", "must not be empty");
  if (const std::string& base = config.http.public_base_url; !base.empty()) {
    const bool scheme = base.rfind("https://", 0) == 0 || base.rfind("http://", 0) == 0;
    const size_t host_at = base.find("://") + 3;
    const bool host = scheme && host_at < base.size() && base[host_at] != '/';
    const bool clean = base.find_first_of("?#@ \t") == std::string::npos && base.back() != '/';
    if (!scheme || !host || !clean) {
      out.Add("http.public_base_url", "must be http(s)://host[:port][/path] without query, credentials or trailing slash");
    }
  }
  if (config.http.tls_enabled) {
    if (config.http.tls_cert_file.empty()) out.Add("http.tls.cert_file", "is required when http.tls.enabled");
    if (config.http.tls_key_file.empty()) out.Add("http.tls.key_file", "is required when http.tls.enabled");
  }
  if (config.auth.api_key_default_ttl_days > config.auth.api_key_max_ttl_days) {
    out.Add("auth.api_key_default_ttl_days", "must not exceed auth.api_key_max_ttl_days");
  }
  if (config.auth.rotation_overlap_seconds > config.auth.rotation_max_overlap_seconds) {
    out.Add("auth.rotation_overlap_seconds", "must not exceed auth.rotation_max_overlap_seconds");
  }
  if (config.store.sqlite_path.empty()) config.store.sqlite_path = config.data_dir + "/consentry.db";
  if (config.audit.signing_key_file.empty()) config.audit.signing_key_file = config.data_dir + "/audit-signing-key.pem";
  if (config.audit.heads_file.empty()) config.audit.heads_file = config.data_dir + "/audit-heads.jsonl";
  if (config.backup.dir.empty()) {
    std::string base = config.data_dir;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    config.backup.dir = base + "-backups";
  }
}

}  // namespace

Status ConfigLoad::ToStatus() const {
  if (ok()) return Status::Ok();
  std::string message = "invalid configuration:";
  for (const ConfigIssue& issue : issues) message += "\n  " + issue.key + ": " + issue.message;
  return InvalidArgument("invalid_config", message);
}

ConfigLoad LoadConfig(const ConfigSources& sources) {
  auto config = std::make_shared<Config>();
  Collector out;
  for (const KeySpec& spec : Schema()) {
    Set(*config, out, spec, *ParseText(spec, spec.default_value), "default", std::string(spec.key));
  }
  if (sources.file_path) {
    try {
      toml::table table = toml::parse_file(*sources.file_path);
      ApplyToml(table, "", *config, out, *sources.file_path);
    } catch (const toml::parse_error& e) {
      std::ostringstream where;
      where << *sources.file_path << ":" << e.source().begin.line << ":" << e.source().begin.column;
      out.Add(where.str(), std::string(e.description()));
    }
  }
  for (const std::string& entry : sources.env) {
    if (entry.rfind("CONSENTRY_", 0) != 0) continue;
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    std::string text = eq == std::string::npos ? "" : entry.substr(eq + 1);
    bool reserved = false;
    for (auto n : kNonConfigEnv) reserved = reserved || n == name;
    if (reserved) continue;
    const KeySpec* match = nullptr;
    for (const KeySpec& spec : Schema()) {
      if (config_internal::EnvName(spec.key) == name) match = &spec;
    }
    if (match == nullptr) {
      out.Add(name, "unknown environment variable (each config key K is CONSENTRY_ + K in upper case, dots as _)");
      continue;
    }
    auto value = ParseText(*match, text);
    if (!value) {
      out.Add(name, "must be " + std::string(TypeName(match->type)));
      continue;
    }
    Set(*config, out, *match, *value, "env", name);
  }
  for (const auto& [key, text] : sources.flags) {
    const KeySpec* spec = FindKey(key);
    if (spec == nullptr) {
      out.Add(key, "unknown key");
      continue;
    }
    auto value = ParseText(*spec, text);
    if (!value) {
      out.Add(key, "must be " + std::string(TypeName(spec->type)));
      continue;
    }
    Set(*config, out, *spec, *value, "flag", key);
  }
  ValidateCrossField(*config, out);
  ConfigLoad load;
  load.issues = std::move(out.issues);
  if (load.issues.empty()) load.config = std::move(config);
  return load;
}

std::vector<std::string> ProcessEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

std::string ConfigReferenceMarkdown() {
  std::string out =
      "| Key | Type | Default | Limits | Environment variable |\n"
      "|---|---|---|---|---|\n";
  for (const KeySpec& spec : Schema()) {
    std::string type = spec.type == KeyType::kInt ? "integer" : spec.type == KeyType::kBool ? "boolean" : "string";
    std::string limits;
    if (spec.type == KeyType::kInt) limits = std::to_string(spec.min) + " … " + std::to_string(spec.max);
    if (spec.type == KeyType::kEnum) limits = "one of " + DescribeAllowed(spec);
    const bool quoted = spec.type == KeyType::kString || spec.type == KeyType::kEnum;
    out.append("| `").append(spec.key).append("` | ").append(type).append(" | `");
    if (quoted) out.push_back('"');
    out.append(spec.default_value);
    if (quoted) out.push_back('"');
    out.append("` | ").append(limits).append(" | `").append(config_internal::EnvName(spec.key)).append("` |\n");
  }
  out += "\n";
  for (const KeySpec& spec : Schema()) {
    out += "- **`" + std::string(spec.key) + "`**: " + std::string(spec.doc) + "\n";
  }
  return out;
}

std::string DescribeConfig(const Config& c) {
  std::ostringstream os;
  os << "data_dir = \"" << c.data_dir << "\"\n";
  os << "http.listen = \"" << c.http.listen_host << ":" << c.http.listen_port << "\"\n";
  os << "http.threads = " << c.http.threads << "\n";
  os << "http.io_threads = " << c.http.io_threads << "\n";
  os << "http.tls.enabled = " << (c.http.tls_enabled ? "true" : "false") << "\n";
  os << "store.backend = \"" << c.store.backend << "\"\n";
  os << "store.sqlite.path = \"" << c.store.sqlite_path << "\"\n";
  os << "log.level = \"" << c.log.level << "\"\n";
  return os.str();
}

}  // namespace cs
