// The durable writer (file_system.h).
#include "env/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cs {

std::string_view FileStepName(FileStep step) {
  switch (step) {
    case FileStep::kCreate: return "create";
    case FileStep::kWrite: return "write";
    case FileStep::kSync: return "sync";
    case FileStep::kRename: return "rename";
    case FileStep::kSyncDir: return "sync_dir";
  }
  return "?";
}

namespace {

Status FileError(int err, FileStep step, const std::string& path) {
  const std::string what = std::string(FileStepName(step)) + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Unavailable("disk_full", "the disk is full (" + what + ")");
  return Unavailable("storage_unavailable", "cannot " + what);
}

Status Crashed(FileStep step) {
  return Unavailable("simulated_crash", "the process died after " + std::string(FileStepName(step)));
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int SyncDirOf(const std::string& path) {
  const int dfd = ::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno;
  const int rc = ::fsync(dfd) == 0 ? 0 : errno;
  ::close(dfd);
  return rc;
}

// A fault due at `step` (none without a FaultyFileSystem). For kCrash the
// step is done first; the others replace it.
FaultyFileSystem::Due TakeFault(FaultyFileSystem* faults, FileStep step) {
  return faults == nullptr ? FaultyFileSystem::Due{} : faults->Take(step);
}

int ErrnoOf(FaultyFileSystem::Fault fault) {
  return fault == FaultyFileSystem::Fault::kIoError ? EIO : ENOSPC;
}

class PosixDurableFile final : public DurableFile {
 public:
  PosixDurableFile(std::string path, std::string tmp, int fd, bool create_only, FaultyFileSystem* faults)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), create_only_(create_only), faults_(faults) {}

  ~PosixDurableFile() override {
    if (fd_ >= 0) ::close(fd_);
    // A crashed process cleans nothing up; otherwise an abandoned write leaves nothing behind.
    if (!committed_ && !crashed_) ::unlink(tmp_.c_str());
  }

  void MarkCrashed() { crashed_ = true; }

  Status Append(std::string_view bytes) override {
    if (failed_) return failed_status_;
    FaultyFileSystem::Due due = TakeFault(faults_, FileStep::kWrite);
    if (due.fire && due.fault == FaultyFileSystem::Fault::kShortWrite) {
      // Half of it lands, then the disk is full.
      WriteAll(bytes.substr(0, bytes.size() / 2));
      return Fail(FileError(ENOSPC, FileStep::kWrite, tmp_));
    }
    if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) {
      return Fail(FileError(ErrnoOf(due.fault), FileStep::kWrite, tmp_));
    }
    if (int err = WriteAll(bytes); err != 0) return Fail(FileError(err, FileStep::kWrite, tmp_));
    if (due.fire) return Crash(FileStep::kWrite);
    return Status::Ok();
  }

  Status Commit() override {
    if (failed_) return failed_status_;
    if (committed_) return Status::Ok();
    FaultyFileSystem::Due due = TakeFault(faults_, FileStep::kSync);
    if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) {
      return Fail(FileError(ErrnoOf(due.fault), FileStep::kSync, tmp_));
    }
    if (::fsync(fd_) != 0) return Fail(FileError(errno, FileStep::kSync, tmp_));
    if (due.fire) return Crash(FileStep::kSync);
    ::close(fd_);
    fd_ = -1;
    due = TakeFault(faults_, FileStep::kRename);
    if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) {
      return Fail(FileError(ErrnoOf(due.fault), FileStep::kRename, path_));
    }
    if (create_only_) {
      // link() never replaces: the first writer wins, the others learn it.
      if (::link(tmp_.c_str(), path_.c_str()) != 0) {
        if (errno == EEXIST) return Fail(AlreadyExists("file_exists", path_ + " was created by another writer"));
        return Fail(FileError(errno, FileStep::kRename, path_));
      }
      ::unlink(tmp_.c_str());
    } else if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      return Fail(FileError(errno, FileStep::kRename, path_));
    }
    // From here the target is the new file: nothing to clean up any more.
    committed_ = true;
    if (due.fire) return Crash(FileStep::kRename);
    due = TakeFault(faults_, FileStep::kSyncDir);
    if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) {
      return FileError(ErrnoOf(due.fault), FileStep::kSyncDir, path_);
    }
    if (int err = SyncDirOf(path_); err != 0) return FileError(err, FileStep::kSyncDir, path_);
    if (due.fire) return Crash(FileStep::kSyncDir);
    return Status::Ok();
  }

 private:
  int WriteAll(std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? errno : EIO;
      off += static_cast<size_t>(n);
    }
    return 0;
  }
  Status Fail(Status s) {
    failed_ = true;
    failed_status_ = s;
    return s;
  }
  Status Crash(FileStep step) {
    crashed_ = true;
    return Fail(Crashed(step));
  }

  std::string path_;
  std::string tmp_;
  int fd_;
  bool create_only_;
  FaultyFileSystem* faults_;
  bool committed_ = false;
  bool crashed_ = false;
  bool failed_ = false;
  Status failed_status_;
};

Result<std::unique_ptr<DurableFile>> NewPosixDurableFile(const std::string& path, const DurableWriteOptions& options,
                                                         FaultyFileSystem* faults) {
  FaultyFileSystem::Due due = TakeFault(faults, FileStep::kCreate);
  if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) {
    return FileError(ErrnoOf(due.fault), FileStep::kCreate, path);
  }
  // A unique name: two writers of one file (a gateway and an admin command)
  // never share a temporary file, and a leftover one never blocks a write.
  std::string tmp = path + ".tmp.XXXXXX";  // mkostemp's template: the six X become a unique suffix
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return FileError(errno, FileStep::kCreate, path);
  auto file = std::make_unique<PosixDurableFile>(path, tmp, fd, options.create_only, faults);
  if (::fchmod(fd, static_cast<mode_t>(options.mode)) != 0) return FileError(errno, FileStep::kCreate, tmp);
  if (options.keep_owner) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && ::fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM) {
      return FileError(errno, FileStep::kCreate, tmp);
    }
  }
  if (due.fire) {
    // Dies with the empty temporary file on disk; the target is untouched.
    file->MarkCrashed();
    return Crashed(FileStep::kCreate);
  }
  return std::unique_ptr<DurableFile>(std::move(file));
}

Status PosixRename(const std::string& from, const std::string& to, FaultyFileSystem* faults) {
  FaultyFileSystem::Due due = TakeFault(faults, FileStep::kRename);
  if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) return FileError(ErrnoOf(due.fault), FileStep::kRename, to);
  if (::rename(from.c_str(), to.c_str()) != 0) return FileError(errno, FileStep::kRename, to);
  if (due.fire) return Crashed(FileStep::kRename);
  due = TakeFault(faults, FileStep::kSyncDir);
  if (due.fire && due.fault != FaultyFileSystem::Fault::kCrash) return FileError(ErrnoOf(due.fault), FileStep::kSyncDir, to);
  if (int err = SyncDirOf(to); err != 0) return FileError(err, FileStep::kSyncDir, to);
  if (DirOf(from) != DirOf(to)) {
    if (int err = SyncDirOf(from); err != 0) return FileError(err, FileStep::kSyncDir, from);
  }
  if (due.fire) return Crashed(FileStep::kSyncDir);
  return Status::Ok();
}

class PosixFileSystemImpl final : public FileSystem {
 public:
  Result<std::unique_ptr<DurableFile>> NewDurableFile(const std::string& path,
                                                      const DurableWriteOptions& options) override {
    return NewPosixDurableFile(path, options, nullptr);
  }
  Status RenameDurably(const std::string& from, const std::string& to) override {
    return PosixRename(from, to, nullptr);
  }
};

}  // namespace

Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view content,
                           const DurableWriteOptions& options) {
  CS_ASSIGN_OR_RETURN(std::unique_ptr<DurableFile> file, fs.NewDurableFile(path, options));
  CS_RETURN_IF_ERROR(file->Append(content));
  return file->Commit();
}

FileSystem& PosixFileSystem() {
  static PosixFileSystemImpl fs;  // stateless
  return fs;
}

void FaultyFileSystem::FailAt(FileStep step, Fault fault, int count) {
  std::lock_guard lock(mu_);
  step_ = step;
  fault_ = fault;
  remaining_ = count;
}

bool FaultyFileSystem::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

void FaultyFileSystem::Reset() {
  std::lock_guard lock(mu_);
  remaining_ = 0;
  crashed_ = false;
}

FaultyFileSystem::Due FaultyFileSystem::Take(FileStep step) {
  std::lock_guard lock(mu_);
  if (remaining_ == 0 || step != step_) return {};
  --remaining_;
  if (fault_ == Fault::kCrash) crashed_ = true;
  return {true, fault_};
}

Result<std::unique_ptr<DurableFile>> FaultyFileSystem::NewDurableFile(const std::string& path,
                                                                      const DurableWriteOptions& options) {
  return NewPosixDurableFile(path, options, this);
}

Status FaultyFileSystem::RenameDurably(const std::string& from, const std::string& to) {
  return PosixRename(from, to, this);
}

}  // namespace cs
