// `consentry scan`: what the content scanner finds in a text, and what a
// policy would do with it (docs/scan.md). Works offline, without a data
// directory: companies run it over exported chat archives.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "json/json.h"
#include "scan/policy.h"

namespace cs::cli_internal {

namespace {

struct ScanArgs {
  std::vector<std::string> text;
  std::string policy_file;
  bool jsonl = false;
  bool mask = false;
};

Result<scan::ContentPolicy> LoadPolicy(const std::string& file) {
  if (file.empty()) return scan::ContentPolicy::Defaults();
  std::ifstream in(file);
  if (!in) return InvalidArgument("invalid_policy", "cannot read the policy file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return scan::ContentPolicy::FromJson(buffer.str());
}

// One JSON line in, one out: {"id":…,"findings":[{"type","start","end"}]}
// (and "text", masked by the inbound policy, with --mask). A bad line gets
// {"id":…,"error":{…}} and the run goes on; the exit code is then 1.
int ScanJsonLines(const scan::Scanner& scanner, const scan::ContentPolicy& policy, bool mask) {
  std::string line;
  size_t lines = 0, bad = 0, findings = 0;
  const bool progress = isatty(STDERR_FILENO) != 0;
  while (std::getline(std::cin, line)) {
    ++lines;
    if (TrimAscii(line).empty()) continue;
    JsonWriter w;
    w.BeginObject();
    Result<JsonValue> parsed = ParseJson(line);
    const JsonValue* id = parsed.ok() ? parsed->Find("id") : nullptr;
    const JsonValue* text = parsed.ok() ? parsed->Find("text") : nullptr;
    w.Key("id");
    if (id != nullptr) w.Raw(ToJson(*id));
    else w.Null();
    if (!parsed.ok() || text == nullptr || !text->is_string()) {
      ++bad;
      const std::string code = parsed.ok() ? "invalid_input" : parsed.status().machine_code();
      const std::string message = parsed.ok() ? "each line needs a string \"text\"" : parsed.status().message();
      w.Key("error").BeginObject().Key("code").String(code).Key("message").String(
          message + " (line " + std::to_string(lines) + ")");
      w.EndObject().EndObject();
      std::cout << w.str() << "\n";
      continue;
    }
    std::vector<scan::Finding> found = scanner.Scan(text->as_string());
    findings += found.size();
    w.Key("findings").BeginArray();
    for (const scan::Finding& f : found) {
      w.BeginObject().Key("type").String(scan::TypeName(f.type));
      w.Key("start").Int(static_cast<int64_t>(f.start)).Key("end").Int(static_cast<int64_t>(f.end)).EndObject();
    }
    w.EndArray();
    if (mask) {
      scan::Decision d = scan::Decide(policy, scan::Direction::kInbound, text->as_string(), std::move(found));
      w.Key("text").String(d.text);
    }
    w.EndObject();
    std::cout << w.str() << "\n";
    if (progress && lines % 10000 == 0) std::cerr << "\rscanned " << lines << " lines" << std::flush;
  }
  std::cout.flush();
  if (progress) {
    std::cerr << "\r\033[Kscanned " << lines << " lines, " << findings << " findings, " << bad << " bad lines\n";
  }
  return bad == 0 ? 0 : 1;
}

int ScanOne(const scan::Scanner& scanner, const scan::ContentPolicy& policy, const std::string& text, bool json,
            bool mask) {
  const std::vector<scan::Finding> found = scanner.Scan(text);
  if (json) {
    std::cout << scan::ExplainJson(policy, text, found, mask) << "\n";
    return 0;
  }
  const scan::Decision out = scan::Decide(policy, scan::Direction::kOutbound, text, found);
  const scan::Decision in = scan::Decide(policy, scan::Direction::kInbound, text, found);
  if (found.empty()) {
    std::cout << "no findings\n";
    return 0;
  }
  for (size_t i = 0; i < found.size(); ++i) {
    const scan::Finding& f = found[i];
    std::cout << scan::TypeName(f.type);
    if (!f.detail.empty()) std::cout << " (" << f.detail << ")";
    std::cout << " at bytes " << f.start << "-" << f.end << ": outbound " << scan::ActionName(out.actions[i])
              << ", inbound " << scan::ActionName(in.actions[i]) << "\n";
  }
  std::cout << "an outbound message with this text would be "
            << (out.refused ? "refused (422 sensitive_identifier)" : out.masked ? "sent masked" : "sent") << "\n";
  if (mask) std::cout << "inbound, stored as: " << in.text << "\n";
  return 0;
}

}  // namespace

void AddScanCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run) {
  auto args = std::make_shared<ScanArgs>();
  auto* scan = app.add_subcommand("scan", "Find card numbers, IBANs and other personal data in text (docs/scan.md)");
  scan->add_option("text", args->text, "The text to scan (default: all of standard input)");
  scan->add_flag("--jsonl", args->jsonl,
                 "Read JSON lines {\"id\":…,\"text\":…} from stdin, write one result line per input");
  scan->add_flag("--mask", args->mask, "Also print the text as the inbound policy would store it");
  scan->add_option("--policy", args->policy_file, "A policy JSON file (default: the built-in defaults)");
  scan->add_flag("--json", o.json, "Machine-readable output");
  scan->callback([&run, &o, args] {
    run = [&o, args]() -> int {
      Result<scan::ContentPolicy> policy = LoadPolicy(args->policy_file);
      if (!policy.ok()) return PrintError(policy.status(), o.json);
      Result<std::unique_ptr<scan::Scanner>> scanner = scan::Scanner::Create();
      if (!scanner.ok()) return PrintError(scanner.status(), o.json);
      if (args->jsonl) {
        if (!args->text.empty()) {
          return PrintError(InvalidArgument("invalid_input", "--jsonl reads standard input; give no text"), o.json);
        }
        return ScanJsonLines(**scanner, *policy, args->mask);
      }
      std::string text;
      if (args->text.empty()) {
        std::stringstream buffer;
        buffer << std::cin.rdbuf();
        text = buffer.str();
      } else {
        text = Join(args->text, " ");
      }
      return ScanOne(**scanner, *policy, text, o.json, args->mask);
    };
  });
}

}  // namespace cs::cli_internal
