#include "log/log.h"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "common/json_writer.h"
#include "common/strings.h"
#include "env/env.h"

namespace cs {

namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

class SpdJsonLogger final : public Logger {
 public:
  SpdJsonLogger(LogLevel min_level, std::shared_ptr<spdlog::logger> sink)
      : min_level_(min_level), sink_(std::move(sink)) {}

  void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) override {
    if (!Enabled(level)) return;
    const int64_t now = RealClock().NowUnixMillis();
    std::string line = RenderLogLine(now, level, event, fields);
    // The line is passed as an argument, never as a format string (I-06).
    sink_->info("{}", line);
    if (level >= LogLevel::kWarn) sink_->flush();
  }

  bool Enabled(LogLevel level) const override { return level >= min_level_; }
  void Flush() override { sink_->flush(); }

 private:
  const LogLevel min_level_;
  std::shared_ptr<spdlog::logger> sink_;
};

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return InvalidArgument("invalid_config", "log level must be debug, info, warn or error");
}

std::string RenderLogLine(int64_t unix_millis, LogLevel level, std::string_view event,
                          std::initializer_list<LogField> fields) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ts").String(FormatRfc3339Millis(unix_millis));
  w.Key("level").String(LevelName(level));
  w.Key("event").String(event);
  for (const LogField& f : fields) {
    w.Key(f.key);
    std::visit(
        [&w](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) w.String(v);
          else if constexpr (std::is_same_v<T, int64_t>) w.Int(v);
          else if constexpr (std::is_same_v<T, double>) w.Double(v);
          else w.Bool(v);
        },
        f.value);
  }
  w.EndObject();
  return w.Take();
}

Result<std::unique_ptr<Logger>> CreateJsonLogger(LogLevel min_level, const std::string& file) {
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (file.empty()) {
      logger = std::make_shared<spdlog::logger>("consentry", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      // Create with 0600 first: spdlog would use the umask.
      int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0) return InvalidArgument("invalid_config", "log.file cannot be opened for appending");
      ::close(fd);
      logger = std::make_shared<spdlog::logger>(
          "consentry", std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, /*truncate=*/false));
    }
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    return std::unique_ptr<Logger>(std::make_unique<SpdJsonLogger>(min_level, std::move(logger)));
  } catch (const spdlog::spdlog_ex& e) {
    return Internal("cannot create the logger");
  }
}

}  // namespace cs
