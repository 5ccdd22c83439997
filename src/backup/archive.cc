// The backup container (archive.h, docs/formats/backup.md).
#include "backup/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "json/json.h"

namespace cs {

namespace {

constexpr std::string_view kMagic = "CSBACKUP";
constexpr uint8_t kFormatVersion = 1;
// Big enough that the per-chunk cost (a length, a nonce, a tag, one fwrite)
// disappears; small enough to stream a database of any size.
constexpr size_t kChunkBytes = 1 << 20;
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr uint32_t kMaxSealedChunk = kChunkBytes + 64;

Status Corrupt(const std::string& what) {
  return Status(StatusCode::kDataLoss, "backup_corrupt", "the backup file is damaged or altered: " + what);
}

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t GetU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string KeyContext(const ArchiveHeader& h) { return "backup:" + h.backup_id + ":" + h.kind; }

std::string HeaderJson(const ArchiveHeader& h) {
  JsonWriter w;
  w.BeginObject()
      .Key("kind").String(h.kind)
      .Key("backup_id").String(h.backup_id)
      .Key("created_at").String(FormatRfc3339Millis(h.created_at_ms))
      .Key("created_at_ms").Int(h.created_at_ms)
      .Key("master_key_id").String(h.master_key_id)
      .Key("schema_version").Int(h.schema_version)
      .Key("content_bytes").Int(h.content_bytes)
      .Key("cipher").String("AES-256-GCM")
      .Key("chunk_bytes").Int(static_cast<int64_t>(kChunkBytes))
      .Key("wrapped_key").String(HexEncode(h.wrapped_key));
  return w.EndObject().Take();
}

Result<ArchiveHeader> DecodeHeader(std::string_view text) {
  CS_ASSIGN_OR_RETURN(JsonValue parsed, ParseJson(text));
  // Not Finish(): a later format version may add fields this one ignores.
  CS_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Create(parsed, "header"));
  ArchiveHeader h;
  CS_ASSIGN_OR_RETURN(h.kind, r.RequiredString("kind"));
  CS_ASSIGN_OR_RETURN(h.backup_id, r.RequiredString("backup_id"));
  CS_ASSIGN_OR_RETURN(h.master_key_id, r.RequiredString("master_key_id"));
  CS_ASSIGN_OR_RETURN(std::string wrapped, r.RequiredString("wrapped_key"));
  CS_ASSIGN_OR_RETURN(h.created_at_ms, r.RequiredInt("created_at_ms"));
  CS_ASSIGN_OR_RETURN(int64_t schema, r.RequiredInt("schema_version"));
  CS_ASSIGN_OR_RETURN(h.content_bytes, r.RequiredInt("content_bytes"));
  if (h.kind != "data" && h.kind != "keys") return InvalidArgument("invalid_field", "unknown kind " + h.kind);
  // The id names files; nothing but "bk_" and 16 lowercase hex digits may reach a path.
  const bool id_ok = h.backup_id.size() == 19 && h.backup_id.rfind("bk_", 0) == 0 &&
                     h.backup_id.find_first_not_of("0123456789abcdef", 3) == std::string::npos;
  if (!id_ok) return InvalidArgument("invalid_field", "malformed backup id");
  std::optional<std::string> key = HexDecode(wrapped);
  if (!key) return InvalidArgument("invalid_field", "malformed wrapped key");
  h.wrapped_key = std::move(*key);
  h.schema_version = static_cast<int>(schema);
  return h;
}

Result<ArchiveHeader> ParseHeader(std::string_view text) {
  Result<ArchiveHeader> h = DecodeHeader(text);
  if (!h.ok()) return Corrupt("bad header (" + h.status().message() + ")");
  return h;
}

// Every chunk is bound to its file (backup id, kind and the hash of the
// whole header), its position, and whether it is the last.
FieldBinding ChunkBinding(const ArchiveHeader& h, const std::string& header_hash, const std::string& index, bool last) {
  return FieldBinding{h.backup_id, header_hash, index, last ? "last" : "more"};
}

}  // namespace

// ------------------------------------------------------------------ writer

ArchiveWriter::ArchiveWriter(Passkey, std::string path, ArchiveHeader header, std::string header_hash, AeadKey key,
                             Random& random, std::unique_ptr<DurableFile> file)
    : path_(std::move(path)),
      header_(std::move(header)),
      header_hash_(std::move(header_hash)),
      key_(std::move(key)),
      random_(random),
      file_(std::move(file)) {}

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Create(const std::string& path, ArchiveHeader header, Kms& kms,
                                                             Random& random, FileSystem& fs) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return AlreadyExists("backup_exists", "refusing to overwrite " + path);
  CS_ASSIGN_OR_RETURN(std::string raw_key, random.Bytes(32));
  SecretString key_bytes(raw_key);
  std::fill(raw_key.begin(), raw_key.end(), '\0');
  header.master_key_id = kms.key_id();
  CS_ASSIGN_OR_RETURN(header.wrapped_key, kms.Wrap(key_bytes, KeyContext(header)));
  CS_ASSIGN_OR_RETURN(AeadKey key, AeadKey::Create(std::move(key_bytes), 1));
  DurableWriteOptions options;
  options.create_only = true;
  CS_ASSIGN_OR_RETURN(std::unique_ptr<DurableFile> file, fs.NewDurableFile(path, options));
  const std::string json = HeaderJson(header);
  std::string head(kMagic);
  head.push_back(static_cast<char>(kFormatVersion));
  PutU32(head, static_cast<uint32_t>(json.size()));
  head += json;
  CS_RETURN_IF_ERROR(file->Append(head));
  std::string hash = HexEncode(Sha256({head}));
  auto w = std::make_unique<ArchiveWriter>(Passkey(), path, std::move(header), std::move(hash), std::move(key), random,
                                           std::move(file));
  w->buffer_.reserve(kChunkBytes);
  return w;
}

Status ArchiveWriter::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t take = std::min(bytes.size(), kChunkBytes - buffer_.size());
    buffer_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    written_ += static_cast<int64_t>(take);
    if (buffer_.size() == kChunkBytes) CS_RETURN_IF_ERROR(SealChunk(false));
  }
  return Status::Ok();
}

Status ArchiveWriter::SealChunk(bool last) {
  const std::string index = std::to_string(chunk_index_++);
  CS_ASSIGN_OR_RETURN(std::string sealed,
                      cs::Seal(key_, buffer_, ChunkBinding(header_, header_hash_, index, last), random_));
  std::fill(buffer_.begin(), buffer_.end(), '\0');
  buffer_.clear();
  std::string frame;
  PutU32(frame, static_cast<uint32_t>(sealed.size()));
  CS_RETURN_IF_ERROR(file_->Append(frame));
  return file_->Append(sealed);
}

Status ArchiveWriter::Finish() {
  if (finished_) return Status::Ok();
  if (written_ != header_.content_bytes) {
    return Internal("backup content was " + std::to_string(written_) + " bytes, the header says " +
                    std::to_string(header_.content_bytes));
  }
  CS_RETURN_IF_ERROR(SealChunk(true));
  Status committed = file_->Commit();
  if (committed.machine_code() == "file_exists") {
    return AlreadyExists("backup_exists", "refusing to overwrite " + path_ + ", created meanwhile");
  }
  CS_RETURN_IF_ERROR(committed);
  finished_ = true;
  return Status::Ok();
}

// ------------------------------------------------------------------ reader

namespace {

struct RawHeader {
  ArchiveHeader header;
  std::string hash;
};

Result<RawHeader> ReadRawHeader(std::FILE* file) {
  std::array<unsigned char, 13> fixed{};
  if (std::fread(fixed.data(), 1, fixed.size(), file) != fixed.size()) return Corrupt("too short for a header");
  if (std::memcmp(fixed.data(), kMagic.data(), kMagic.size()) != 0) {
    return InvalidArgument("not_a_backup", "not a Consentry backup file (no CSBACKUP signature)");
  }
  if (fixed[8] != kFormatVersion) {
    return InvalidArgument("unsupported_backup_version",
                           "backup format version " + std::to_string(fixed[8]) + " is not supported by this build");
  }
  const uint32_t length = GetU32(fixed.data() + 9);
  if (length == 0 || length > kMaxHeaderBytes) return Corrupt("header length out of range");
  std::string json(length, '\0');
  if (std::fread(json.data(), 1, length, file) != length) return Corrupt("truncated header");
  RawHeader raw;
  CS_ASSIGN_OR_RETURN(raw.header, ParseHeader(json));
  raw.hash = HexEncode(Sha256({std::string_view(reinterpret_cast<const char*>(fixed.data()), fixed.size()), json}));
  return raw;
}

std::FILE* OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  std::FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) ::close(fd);
  return f;
}

}  // namespace

ArchiveReader::ArchiveReader(Passkey, ArchiveHeader header, std::string header_hash, AeadKey key, std::FILE* file)
    : header_(std::move(header)), header_hash_(std::move(header_hash)), key_(std::move(key)), file_(file) {}

ArchiveReader::~ArchiveReader() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<ArchiveHeader> ArchiveReader::ReadHeader(const std::string& path) {
  std::FILE* file = OpenForRead(path);
  if (file == nullptr) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  Result<RawHeader> raw = ReadRawHeader(file);
  std::fclose(file);
  if (!raw.ok()) return raw.status();
  return raw->header;
}

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::Open(const std::string& path, Kms& kms) {
  std::FILE* file = OpenForRead(path);
  if (file == nullptr) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  Result<RawHeader> raw = ReadRawHeader(file);
  if (!raw.ok()) {
    std::fclose(file);
    return raw.status();
  }
  if (raw->header.master_key_id != kms.key_id()) {
    std::fclose(file);
    return FailedPrecondition("backup_master_key_mismatch",
                              "this backup was sealed under master key " + raw->header.master_key_id +
                                  ", the configured one is " + kms.key_id() +
                                  ": give the older key with --archive-master-key-file");
  }
  Result<SecretString> key_bytes = kms.Unwrap(raw->header.wrapped_key, KeyContext(raw->header));
  if (!key_bytes.ok()) {
    std::fclose(file);
    return Corrupt("its key does not unwrap (" + key_bytes.status().message() + ")");
  }
  Result<AeadKey> key = AeadKey::Create(std::move(key_bytes).value(), 1);
  if (!key.ok()) {
    std::fclose(file);
    return key.status();
  }
  return std::make_unique<ArchiveReader>(Passkey(), std::move(raw->header), std::move(raw->hash),
                                         std::move(key).value(), file);
}

Result<std::optional<SecretString>> ArchiveReader::Next() {
  if (done_) return std::optional<SecretString>();
  std::array<unsigned char, 4> frame{};
  const size_t got = std::fread(frame.data(), 1, frame.size(), file_);
  if (got != frame.size()) return Corrupt("it ends before its last chunk (truncated)");
  const uint32_t length = GetU32(frame.data());
  if (length < 34 || length > kMaxSealedChunk) return Corrupt("chunk " + std::to_string(chunk_index_) + " has a bad length");
  std::string sealed(length, '\0');
  if (std::fread(sealed.data(), 1, length, file_) != length) return Corrupt("truncated chunk " + std::to_string(chunk_index_));
  const std::string index = std::to_string(chunk_index_);
  // A chunk opens under exactly one of the two bindings; which one says
  // whether the stream ends here.
  Result<SecretString> plain = cs::Open(key_, sealed, ChunkBinding(header_, header_hash_, index, false));
  bool last = false;
  if (!plain.ok()) {
    plain = cs::Open(key_, sealed, ChunkBinding(header_, header_hash_, index, true));
    if (!plain.ok()) return Corrupt("chunk " + index + " fails its integrity check");
    last = true;
  }
  ++chunk_index_;
  read_ += static_cast<int64_t>(plain->size());
  if (last) {
    done_ = true;
    if (std::fgetc(file_) != EOF) return Corrupt("bytes after the last chunk");
    if (read_ != header_.content_bytes) return Corrupt("content length differs from the header");
  }
  return std::optional<SecretString>(std::move(plain).value());
}

}  // namespace cs
