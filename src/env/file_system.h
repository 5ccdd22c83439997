// File: file_system.h
// The OS seam for files (leveldb's Env). Every file the gateway replaces
// whole (audit segments, the signing key, backups, the ready file) goes
// through one durable writer, so that a crash, a full disk or an I/O error
// at any step leaves the old file or the new one, whole, never a part:
//
//   create a temporary file with a unique name beside the target (0600)
//   → write every byte → fsync it → rename it over the target → fsync the
//   directory (without which the rename itself may not survive a crash).
//
// On a failure the temporary file is removed and the target is untouched.
// Tests inject faults at each step through FaultyFileSystem.
//
// Thread-safety: a FileSystem is safe for concurrent use; a DurableFile
// belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cs {

// The steps of a durable write, in order.
enum class FileStep { kCreate, kWrite, kSync, kRename, kSyncDir };
std::string_view FileStepName(FileStep step);

struct DurableWriteOptions {
  unsigned mode = 0600;
  // The new file takes the owner of the file it replaces, if there is one:
  // an admin command run as root must not take a gateway's file away.
  bool keep_owner = false;
  // Create only: Commit links the file into place instead of renaming it
  // over the target, and fails with kAlreadyExists "file_exists" when
  // another writer created the target first (nothing is replaced).
  bool create_only = false;
};

// A file being written, then committed in place of its target.
class DurableFile {
 public:
  // Abandons an uncommitted file: its temporary file is removed.
  virtual ~DurableFile() = default;
  virtual Status Append(std::string_view bytes) = 0;
  // Syncs, renames over the target and syncs the directory. Once it
  // returns OK the target holds exactly what was appended, crash or not.
  virtual Status Commit() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Starts a durable write of `path`. Errors, here and in DurableFile and
  // RenameDurably: kUnavailable "disk_full" when the disk or a quota is full
  // (ENOSPC, EDQUOT), "storage_unavailable" otherwise; the message names the
  // file and the step, never its content.
  virtual Result<std::unique_ptr<DurableFile>> NewDurableFile(const std::string& path,
                                                              const DurableWriteOptions& options = {}) = 0;
  // Renames `from` to `to` and syncs the directories of both.
  virtual Status RenameDurably(const std::string& from, const std::string& to) = 0;
};

// Writes `content` as `path`, whole or not at all (NewDurableFile).
Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view content,
                           const DurableWriteOptions& options = {});

// The POSIX file system, shared by the process.
FileSystem& PosixFileSystem();

// For tests: the POSIX file system, failing where it is told to.
class FaultyFileSystem final : public FileSystem {
 public:
  enum class Fault {
    kIoError,     // the step fails with EIO
    kDiskFull,    // the step fails with ENOSPC
    kShortWrite,  // a write stores half of what it was given, then ENOSPC
    kCrash,       // the process dies right after the step: nothing later runs, no cleanup
  };
  // The next `count` operations reaching `step` fail with `fault`.
  void FailAt(FileStep step, Fault fault, int count = 1);
  // Whether a kCrash fault fired: the caller must behave as a new process would.
  bool crashed() const;
  void Reset();

  Result<std::unique_ptr<DurableFile>> NewDurableFile(const std::string& path,
                                                      const DurableWriteOptions& options = {}) override;
  Status RenameDurably(const std::string& from, const std::string& to) override;

  // Used by the files it makes: the fault for `step`, if one is due.
  struct Due {
    bool fire = false;
    Fault fault = Fault::kIoError;
  };
  Due Take(FileStep step);

 private:
  mutable std::mutex mu_;
  FileStep step_ = FileStep::kCreate;
  Fault fault_ = Fault::kIoError;
  int remaining_ = 0;  // guarded by mu_
  bool crashed_ = false;  // guarded by mu_
};

}  // namespace cs
