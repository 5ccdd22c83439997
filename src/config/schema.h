// File: schema.h (internal to config/)
// The table of every configuration key: type, default, limits, meaning and
// how it lands in Config. Validation and docs/config.md are both driven by it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace cs::config_internal {

enum class KeyType { kString, kInt, kBool, kEnum };

using RawValue = std::variant<std::string, int64_t, bool>;

struct KeySpec {
  std::string_view key;
  KeyType type;
  std::string_view default_value;  // as written in TOML, without quotes
  int64_t min = 0;                 // kInt only, inclusive
  int64_t max = 0;                 // kInt only, inclusive
  std::vector<std::string_view> allowed;  // kEnum only
  std::string_view doc;
  void (*apply)(Config&, const RawValue&);
};

// Returns every key, in documentation order.
std::span<const KeySpec> Schema();

// Returns the spec of `key`, or nullptr.
const KeySpec* FindKey(std::string_view key);

// Returns the environment variable for `key` (CONSENTRY_ + upper snake case).
std::string EnvName(std::string_view key);

}  // namespace cs::config_internal
