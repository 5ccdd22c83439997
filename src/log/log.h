// File: log.h
// Structured JSON logs: one object per line, {"ts","level","event",...}.
//
// Privacy rule: callers pass only identifiers chosen in code (request id,
// tenant id, route template, status, machine error code, latency). Never a
// phone number, message text, raw URL, header value, key or token; the
// integration test tests/integration/log_canary_test.cc plants canaries in
// every input and scans every line. Values are JSON-escaped, so CR/LF and
// ANSI escapes in a value cannot forge a second entry (B-23).
//
// Thread-safety: Log() may be called from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"

namespace cs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Returns the level named "debug", "info", "warn" or "error".
Result<LogLevel> ParseLogLevel(std::string_view name);

struct LogField {
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

class Logger {
 public:
  virtual ~Logger() = default;
  // Writes one line if `level` is enabled.
  virtual void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) = 0;
  virtual bool Enabled(LogLevel level) const = 0;
  // Flushes buffered lines to the sink.
  virtual void Flush() = 0;
};

// Returns a logger writing to `file` (created 0600, appended) or to standard
// error when `file` is empty.
Result<std::unique_ptr<Logger>> CreateJsonLogger(LogLevel min_level, const std::string& file);

// Renders one log line without writing it (used by the logger and its tests).
std::string RenderLogLine(int64_t unix_millis, LogLevel level, std::string_view event,
                          std::initializer_list<LogField> fields);

}  // namespace cs
