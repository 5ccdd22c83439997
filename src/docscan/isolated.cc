// Text extraction in a child process: the parent passes the document as
// the child's standard input (a memfd, so no file ever holds it) and reads
// the text from a pipe; the child limits itself before it reads a byte.
#include <fcntl.h>
#include <linux/landlock.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "docscan/document_text.h"

namespace cs::docscan {

namespace {

// The child's exit codes for ExtractText's errors; anything else (a signal,
// a crash) is "document_unscannable".
constexpr std::array<std::string_view, 5> kCodes = {"document_unreadable", "document_encrypted", "document_too_large",
                                                   "document_unsupported", "document_no_text"};
constexpr int kFirstErrorExit = 10;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void SetLimit(int resource, int64_t value) {
  rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  setrlimit(resource, &r);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAsan = true;
#else
constexpr bool kUnderAsan = false;
#endif
#else
constexpr bool kUnderAsan = false;
#endif

// Landlock (Linux 5.13+): from here on no file may be opened but poppler's
// character tables (read only). Best effort: kernels without Landlock keep
// the other barriers.
void ForbidFileAccess() {
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                           LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                           LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                           LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                           LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  const long ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0) return;
  // CJK and other encodings' maps (the poppler-data package).
  const int tables = ::open("/usr/share/poppler", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (tables >= 0) {
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    beneath.parent_fd = tables;
    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    ::close(tables);
  }
  syscall(SYS_landlock_restrict_self, ruleset, 0);
  ::close(static_cast<int>(ruleset));
}

// seccomp: no network (io_uring included), no new programs or processes
// (threads are allowed), no other process's memory or signals, no change
// to any file. Everything else a parser needs stays allowed. False when the
// filter could not be installed: the child then refuses to read anything.
bool ForbidSystemCalls() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  bool ok = true;
  auto deny = [&](int call, unsigned count = 0, scmp_arg_cmp arg = {}) {
    if (call < 0) return;  // not on this architecture or libseccomp
    const int rc = count == 0 ? seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), call, 0)
                              : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), call, 1, arg);
    ok = ok && rc == 0;
  };
  for (int call : {SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(accept), SCMP_SYS(accept4),
                   SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
                   SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
                   SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
                   SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
                   SCMP_SYS(process_vm_writev), SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(pidfd_open),
                   SCMP_SYS(pidfd_send_signal), SCMP_SYS(pidfd_getfd), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
                   SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
                   SCMP_SYS(rmdir), SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink), SCMP_SYS(symlinkat),
                   SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(chown), SCMP_SYS(fchown),
                   SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(truncate), SCMP_SYS(ftruncate),
                   SCMP_SYS(setxattr), SCMP_SYS(lsetxattr), SCMP_SYS(fsetxattr), SCMP_SYS(removexattr),
                   SCMP_SYS(lremovexattr), SCMP_SYS(fremovexattr), SCMP_SYS(utimensat), SCMP_SYS(mount),
                   SCMP_SYS(creat), SCMP_SYS(openat2), SCMP_SYS(setsid), SCMP_SYS(setuid), SCMP_SYS(setgid)}) {
    deny(call);
  }
  // clone3 passes its flags behind a pointer, which seccomp cannot read.
  // Answering ENOSYS makes glibc use clone instead, whose flags are checked.
  ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0;
  // clone: threads only (a new process would outlive the parent's reaping).
  deny(SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
  // Signals to its own threads only (abort() signals itself).
  deny(SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, static_cast<scmp_datum_t>(getpid())));
  // Opening for writing, creating or truncating.
  for (int flag : {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC}) {
    deny(SCMP_SYS(open), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, static_cast<scmp_datum_t>(flag), static_cast<scmp_datum_t>(flag)));
    deny(SCMP_SYS(openat), 1,
         SCMP_A2(SCMP_CMP_MASKED_EQ, static_cast<scmp_datum_t>(flag), static_cast<scmp_datum_t>(flag)));
  }
  ok = ok && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

int ExtractInChild(std::string_view mime_type, const IsolationOptions& options) {
  // Before reading a byte of the document: no descriptor of the gateway
  // (posix_spawn closed them; again here, should anyone start this command
  // otherwise), no privileges to gain, no core dump (it would hold the
  // document), no files to open or write, few descriptors, bounded memory
  // (AddressSanitizer reserves terabytes of address space, so not under it)
  // and CPU, and the system calls above refused.
  close_range(3, ~0U, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  SetLimit(RLIMIT_CORE, 0);
  SetLimit(RLIMIT_FSIZE, 0);
  SetLimit(RLIMIT_NOFILE, 16);
  SetLimit(RLIMIT_CPU, options.max_cpu_seconds);
  if (!kUnderAsan) SetLimit(RLIMIT_AS, options.max_memory_bytes);
  WarmUpReaders();  // before any document byte: what they load from files, they load now
  ForbidFileAccess();
  if (!ForbidSystemCalls()) return 1;  // no document is read outside the filter
  std::string bytes;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  Result<std::string> text = ExtractText(FormatOf(mime_type), bytes, options.limits);
  if (!text.ok()) {
    for (size_t i = 0; i < kCodes.size(); ++i) {
      if (text.status().machine_code() == kCodes[i]) return kFirstErrorExit + static_cast<int>(i);
    }
    return 1;
  }
  return WriteAll(1, *text) ? 0 : 1;
}

}  // namespace

void RunExtractTextChild(std::string_view mime_type, const IsolationOptions& options) {
  // _exit: no static destructors or exit handlers (LeakSanitizer's among
  // them, which would count the parsers' caches and change the exit code).
  _exit(ExtractInChild(mime_type, options));
}

Result<std::string> ExtractTextIsolated(std::string_view mime_type, std::string_view bytes,
                                        const IsolationOptions& options) {
  if (FormatOf(mime_type) == Format::kUnsupported) {
    return FailedPrecondition("document_unsupported", "documents of this type cannot be scanned");
  }
  // The document travels in memory only: a memfd as the child's stdin.
  Fd input(memfd_create("consentry-document", MFD_CLOEXEC));
  if (input.get() < 0) return Unavailable("extractor_unavailable", "memfd_create failed");
  if (!WriteAll(input.get(), bytes) || lseek(input.get(), 0, SEEK_SET) != 0) {
    return Unavailable("extractor_unavailable", "the document could not be handed to the extractor");
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Unavailable("extractor_unavailable", "pipe2 failed");
  Fd out_read(pipe_fds[0]);
  Fd out_write(pipe_fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // Nothing else of the gateway's: not every descriptor is close-on-exec
  // (Asio's sockets are not), and the child must not hold a listening or
  // client socket, the database or a key file.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // The gateway blocks its shutdown signals in every thread; the child takes them as usual.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const std::string type(mime_type);
  std::vector<std::string> args = {options.executable, "extract-text", "--type", type};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // No environment: the master key and every other secret stay with the parent.
  char* envp[] = {nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, options.executable.c_str(), &actions, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_write.Reset();
  input.Reset();
  if (spawned != 0) return Unavailable("extractor_unavailable", "the text extractor could not be started");

  // Whatever happens below, the child is killed unless it ended on its own,
  // and always reaped: no process outlives the call, no zombie stays.
  struct Reaper {
    pid_t pid;
    int* status;
    bool* reaped;
    bool ended = false;  // its output reached end of file
    ~Reaper() {
      // A child that closed its output is given a moment to exit, not more.
      for (int i = 0; ended && i < 400; ++i) {
        if (waitpid(pid, status, WNOHANG) == pid) {
          *reaped = true;
          return;
        }
        usleep(5000);
      }
      kill(pid, SIGKILL);  // not reaped yet, so the pid is still this child's
      pid_t r = 0;
      while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR) {
      }
      *reaped = r == pid;
    }
  };
  std::string text;
  bool too_much = false;
  bool timed_out = false;
  int status = 0;
  bool reaped = false;  // without a status, nothing is known of the child: unscannable
  {
    Reaper reaper{pid, &status, &reaped};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
    char buffer[65536];
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{out_read.get(), POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        timed_out = true;
        break;
      }
      if (ready < 0) break;  // killed, reported as unscannable
      const ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        reaper.ended = true;
        break;
      }
      if (n < 0) break;
      if (static_cast<int64_t>(text.size()) + n > options.limits.max_text_bytes) {
        too_much = true;
        break;
      }
      text.append(buffer, static_cast<size_t>(n));
    }
    out_read.Reset();  // a child still writing gets EPIPE instead of blocking the wait
  }  // ~Reaper: killed unless it ended, then reaped
  if (too_much) return FailedPrecondition("document_too_large", "the document holds too much text");
  if (timed_out) return FailedPrecondition("document_unscannable", "the document took too long to read");
  if (reaped && WIFEXITED(status) && !too_much && !timed_out) {
    const int code = WEXITSTATUS(status);
    if (code == 0) return text;
    if (code >= kFirstErrorExit && code < kFirstErrorExit + static_cast<int>(kCodes.size())) {
      const std::string_view machine = kCodes[static_cast<size_t>(code - kFirstErrorExit)];
      return FailedPrecondition(std::string(machine), machine == "document_encrypted" ? "the document is protected by a password"
                                                      : machine == "document_no_text"
                                                          ? "the document holds no text (scanned pages are images)"
                                                          : "the document cannot be read as its type");
    }
  }
  // Killed by its limits (memory, CPU) or crashed.
  return FailedPrecondition("document_unscannable", "the document could not be read within the extractor's limits");
}

}  // namespace cs::docscan
