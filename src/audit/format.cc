// JSON and syslog renderings of audit entries and tree heads, the heads
// file, and offline verification of an exported ledger.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <istream>

#include "audit/audit.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "json/json.h"

namespace cs {

std::string AuditRecordJson(const AuditRecord& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("seq").Int(r.seq);
  w.Key("time").String(FormatRfc3339Millis(r.ts_ms));
  w.Key("ts_ms").Int(r.ts_ms);
  w.Key("tenant_id").String(r.tenant_id);
  w.Key("actor_type").String(r.actor_type);
  w.Key("actor_id").String(r.actor_id);
  w.Key("action").String(r.action);
  w.Key("subject").String(r.subject);
  w.Key("purpose").String(r.purpose);
  w.Key("resource").String(r.resource);
  w.Key("outcome").String(r.outcome);
  w.Key("request_id").String(r.request_id);
  w.Key("source").String(r.source);
  w.Key("details").String(r.details);
  w.Key("prev_hash").String(HexEncode(r.prev_hash));
  w.Key("entry_hash").String(HexEncode(r.entry_hash));
  w.EndObject();
  return w.Take();
}

std::string TreeHeadJson(const TreeHead& h) {
  JsonWriter w;
  w.BeginObject();
  w.Key("tree_size").Int(h.tree_size);
  w.Key("root_hash").String(HexEncode(h.root_hash));
  w.Key("time").String(FormatRfc3339Millis(h.ts_ms));
  w.Key("ts_ms").Int(h.ts_ms);
  w.Key("key_id").String(h.key_id);
  w.Key("signature").String(HexEncode(h.signature));
  w.EndObject();
  return w.Take();
}

std::string LedgerExportLine(const TreeHead& head) {
  return "{\"type\":\"tree_head\"," + TreeHeadJson(head).substr(1);
}

std::string LedgerExportLine(const AuditCheckpoint& cp) {
  JsonWriter w;
  w.BeginObject().Key("type").String("checkpoint").Key("upto_seq").Int(cp.upto_seq);
  w.Key("last_hash").String(HexEncode(cp.last_hash)).Key("frontier").String(HexEncode(cp.frontier)).EndObject();
  return w.Take();
}

std::string LedgerExportLine(const AuditRecord& record) {
  return "{\"type\":\"entry\"," + AuditRecordJson(record).substr(1);
}

namespace {

// RFC 5424 PARAM-VALUE escaping: '"', '\' and ']' are escaped.
// Control characters (CR, LF, …) are replaced, so a value can never start a
// new syslog record.
std::string SdEscape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.push_back('?');
      continue;
    }
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Result<std::string> HexField(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  if (!f || !f->is_string()) return InvalidArgument("invalid_export", std::string(key) + " is missing");
  auto bytes = HexDecode(f->as_string());
  if (!bytes) return InvalidArgument("invalid_export", std::string(key) + " is not hex");
  return *bytes;
}

Result<std::string> TextField(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  if (!f || !f->is_string()) return InvalidArgument("invalid_export", std::string(key) + " is missing");
  return f->as_string();
}

Result<int64_t> IntField(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  if (!f || f->type() != JsonValue::Type::kInt) return InvalidArgument("invalid_export", std::string(key) + " is missing");
  return f->as_int();
}

Result<AuditRecord> RecordFromJson(const JsonValue& v) {
  AuditRecord r;
  CS_ASSIGN_OR_RETURN(r.seq, IntField(v, "seq"));
  CS_ASSIGN_OR_RETURN(r.ts_ms, IntField(v, "ts_ms"));
  CS_ASSIGN_OR_RETURN(r.tenant_id, TextField(v, "tenant_id"));
  CS_ASSIGN_OR_RETURN(r.actor_type, TextField(v, "actor_type"));
  CS_ASSIGN_OR_RETURN(r.actor_id, TextField(v, "actor_id"));
  CS_ASSIGN_OR_RETURN(r.action, TextField(v, "action"));
  CS_ASSIGN_OR_RETURN(r.subject, TextField(v, "subject"));
  CS_ASSIGN_OR_RETURN(r.purpose, TextField(v, "purpose"));
  CS_ASSIGN_OR_RETURN(r.resource, TextField(v, "resource"));
  CS_ASSIGN_OR_RETURN(r.outcome, TextField(v, "outcome"));
  CS_ASSIGN_OR_RETURN(r.request_id, TextField(v, "request_id"));
  CS_ASSIGN_OR_RETURN(r.source, TextField(v, "source"));
  CS_ASSIGN_OR_RETURN(r.details, TextField(v, "details"));
  CS_ASSIGN_OR_RETURN(r.prev_hash, HexField(v, "prev_hash"));
  CS_ASSIGN_OR_RETURN(r.entry_hash, HexField(v, "entry_hash"));
  return r;
}

Result<TreeHead> HeadFromJson(const JsonValue& v) {
  TreeHead h;
  CS_ASSIGN_OR_RETURN(h.tree_size, IntField(v, "tree_size"));
  CS_ASSIGN_OR_RETURN(h.root_hash, HexField(v, "root_hash"));
  CS_ASSIGN_OR_RETURN(h.ts_ms, IntField(v, "ts_ms"));
  CS_ASSIGN_OR_RETURN(h.key_id, TextField(v, "key_id"));
  CS_ASSIGN_OR_RETURN(h.signature, HexField(v, "signature"));
  return h;
}

}  // namespace

Result<TreeHead> ParseTreeHeadJson(std::string_view json) {
  CS_ASSIGN_OR_RETURN(JsonValue v, ParseJson(json));
  return HeadFromJson(v);
}

std::string AuditRecordSyslog(const AuditRecord& r, std::string_view hostname) {
  // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG, PRI = authpriv (10) * 8 + notice (5).
  std::string out = "<85>1 " + FormatRfc3339Millis(r.ts_ms) + " " + std::string(hostname.empty() ? "-" : hostname) +
                    " consentry - " + (r.action.empty() ? "-" : r.action) + " [audit@32473";
  auto param = [&out](std::string_view name, std::string_view value) {
    out += " " + std::string(name) + "=\"" + SdEscape(value) + "\"";
  };
  param("seq", std::to_string(r.seq));
  param("tenant", r.tenant_id);
  param("actorType", r.actor_type);
  param("actor", r.actor_id);
  param("subject", r.subject);
  param("purpose", r.purpose);
  param("resource", r.resource);
  param("outcome", r.outcome);
  param("requestId", r.request_id);
  param("source", r.source);
  param("entryHash", HexEncode(r.entry_hash));
  out += "] " + r.details;
  return out;
}

Result<AuditVerifyReport> VerifyExportedLedger(std::istream& in, const AuditPublicKey& key) {
  // Heads come first in an export, then entries in order (see the format doc),
  // so the file is checked in one pass with constant memory beyond the heads.
  std::vector<TreeHead> heads;
  std::optional<AuditCheckpoint> checkpoint;
  std::optional<LedgerVerifier> verifier;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto v = ParseJson(line);
    // A last line without its newline that does not parse was cut off (a
    // copy interrupted, a disk full): reported as truncation at the first
    // entry missing, not as a malformed file.
    if (!v.ok() && in.eof() && verifier) break;
    if (!v.ok()) return InvalidArgument("invalid_export", "line " + std::to_string(line_no) + " is not JSON");
    const JsonValue* type = v->Find("type");
    if (!type || !type->is_string()) {
      return InvalidArgument("invalid_export", "line " + std::to_string(line_no) + " has no type");
    }
    if (type->as_string() == "checkpoint") {
      if (verifier || checkpoint || !heads.empty()) {
        return InvalidArgument("invalid_export", "a checkpoint must be the first line");
      }
      AuditCheckpoint cp;
      CS_ASSIGN_OR_RETURN(cp.upto_seq, IntField(*v, "upto_seq"));
      CS_ASSIGN_OR_RETURN(cp.last_hash, HexField(*v, "last_hash"));
      CS_ASSIGN_OR_RETURN(cp.frontier, HexField(*v, "frontier"));
      checkpoint = std::move(cp);
    } else if (type->as_string() == "tree_head") {
      if (verifier) return InvalidArgument("invalid_export", "tree heads must precede the entries");
      CS_ASSIGN_OR_RETURN(TreeHead h, HeadFromJson(*v));
      heads.push_back(std::move(h));
    } else if (type->as_string() == "entry") {
      if (!verifier) verifier.emplace(heads, key, checkpoint);
      CS_ASSIGN_OR_RETURN(AuditRecord r, RecordFromJson(*v));
      if (!verifier->Feed(r)) break;
    }
  }
  if (!verifier) verifier.emplace(heads, key, checkpoint);
  return verifier->Finish(/*require_sealed=*/true);
}

Status AppendHeadToFile(const std::string& path, const TreeHead& head) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("audit_unavailable", "cannot open the audit heads file " + path);
  std::string line = TreeHeadJson(head) + "\n";
  // After a torn write (disk full, crash) start on a fresh line, so one bad
  // line never swallows the next head.
  off_t size = ::lseek(fd, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && ::pread(fd, &last, 1, size - 1) == 1 && last != '\n') line.insert(line.begin(), '\n');
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Unavailable("audit_unavailable", "cannot write the audit heads file " + path);
  return Status::Ok();
}

Result<std::vector<TreeHead>> ReadHeadsFile(const std::string& path) {
  std::vector<TreeHead> heads;
  std::ifstream in(path);
  if (!in) return heads;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A torn line (a write cut short) is skipped: heads carry their own
    // signature, so nothing unsigned can be smuggled in this way.
    auto h = ParseTreeHeadJson(line);
    if (h.ok()) heads.push_back(std::move(h).value());
  }
  return heads;
}

}  // namespace cs
