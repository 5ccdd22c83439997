// File: archive.h
// The container of backup files (docs/formats/backup.md): a header in clear
// (what the file is, which master key wraps its key), then the content in
// AES-256-GCM chunks under a key of its own, wrapped by the KMS. Each chunk
// is bound to the file, its header and its position, and the last one says
// so: reordered, dropped, truncated, spliced or edited bytes fail with
// data_loss "backup_corrupt", never as a shorter or different plaintext.
//
// Thread-safety: one writer or reader per thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "env/file_system.h"
#include "vault/aead.h"
#include "vault/keys.h"

namespace cs {

struct ArchiveHeader {
  std::string kind;             // "data" (the database without keys) or "keys"
  std::string backup_id;        // "bk_" + 16 hex; both files of one backup share it
  int64_t created_at_ms = 0;
  std::string master_key_id;    // the Kms key that wraps the archive key
  int schema_version = 0;       // of the database the backup was taken from
  int64_t content_bytes = 0;    // plaintext length, for progress and checks
  std::string wrapped_key;      // set by the writer
};

class ArchiveWriter {
 public:
  // Creates `path` (mode 0600, must not exist) and writes the header,
  // through `fs`'s durable writer (env/file_system.h): the file is named
  // `path` only once Finish() succeeded, and an unfinished one is removed.
  static Result<std::unique_ptr<ArchiveWriter>> Create(const std::string& path, ArchiveHeader header, Kms& kms,
                                                       Random& random, FileSystem& fs = PosixFileSystem());
  // Only Create() can make the passkey, so only Create() constructs.
  class Passkey {
    friend class ArchiveWriter;
    Passkey() = default;
  };
  ArchiveWriter(Passkey, std::string path, ArchiveHeader header, std::string header_hash, AeadKey key, Random& random,
                std::unique_ptr<DurableFile> file);
  ~ArchiveWriter() = default;
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  Status Write(std::string_view bytes);
  // Seals the last chunk and commits the file in place (synced, renamed,
  // directory synced); kAlreadyExists "backup_exists" if `path` appeared meanwhile.
  Status Finish();
  int64_t bytes_written() const { return written_; }

 private:
  Status SealChunk(bool last);

  std::string path_;
  ArchiveHeader header_;
  std::string header_hash_;
  AeadKey key_;
  Random& random_;
  std::unique_ptr<DurableFile> file_;
  std::string buffer_;
  int64_t chunk_index_ = 0;
  int64_t written_ = 0;
  bool finished_ = false;
};

class ArchiveReader {
 public:
  // Reads the header without unwrapping anything (no key needed).
  static Result<ArchiveHeader> ReadHeader(const std::string& path);
  // Opens `path` and unwraps its key. failed_precondition
  // "backup_master_key_mismatch" when another master key sealed it.
  static Result<std::unique_ptr<ArchiveReader>> Open(const std::string& path, Kms& kms);
  class Passkey {
    friend class ArchiveReader;
    Passkey() = default;
  };
  ArchiveReader(Passkey, ArchiveHeader header, std::string header_hash, AeadKey key, std::FILE* file);
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  const ArchiveHeader& header() const { return header_; }
  // The next chunk's plaintext; nullopt after the last chunk.
  Result<std::optional<SecretString>> Next();
  int64_t bytes_read() const { return read_; }

 private:
  ArchiveHeader header_;
  std::string header_hash_;
  AeadKey key_;
  std::FILE* file_;
  int64_t chunk_index_ = 0;
  int64_t read_ = 0;
  bool done_ = false;
};

}  // namespace cs
