// Text extraction in a child process: the parent passes the document as
// the child's standard input (a memfd, so no file ever holds it) and reads
// the text from a pipe; the child limits itself before it reads a byte.
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <memory>
#include <cstdio>
#include <string>
#include <vector>

#include "docscan/document_text.h"
#include "env/env.h"

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
// the other barriers. True when the kernel enforces it.
bool ForbidFileAccess() {
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                           LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                           LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                           LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                           LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  const long ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0) return false;
  // CJK and other encodings' maps (the poppler-data package).
  const int tables = ::open("/usr/share/poppler", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (tables >= 0) {
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    beneath.parent_fd = tables;
    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    ::close(tables);
  }
  const bool enforced = syscall(SYS_landlock_restrict_self, ruleset, 0) == 0;
  ::close(static_cast<int>(ruleset));
  return enforced;
}

// seccomp, as a list of what is allowed: what the readers were seen to
// call once their files are loaded (strace over PDF, Office, OpenDocument
// and text documents, in the release and the AddressSanitizer builds),
// plus what the C library and the sanitizers need to end, wait or report.
// Everything else fails with EPERM: no network, no new programs, processes
// or threads, no other process's memory or signals, no change to any file,
// no ioctl. Memory may not be made executable, files are opened for
// reading only (and Landlock says which), and only standard output and
// error are written. False when the filter could not be installed: the
// child then refuses to read anything.
bool AllowOnlyReaderSystemCalls(bool files_fenced) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> filter(seccomp_init(SCMP_ACT_ERRNO(EPERM)), seccomp_release);
  scmp_filter_ctx ctx = filter.get();
  if (ctx == nullptr) return false;
  bool ok = true;
  auto allow = [&](int call, std::vector<scmp_arg_cmp> args = {}) {
    if (call < 0) return;  // not on this architecture or libseccomp
    ok = ok && seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, static_cast<unsigned>(args.size()),
                                      args.empty() ? nullptr : args.data()) == 0;
  };
  for (int call : {// reading the document and the readers' tables
                   SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(close),
                   SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(getdents64), SCMP_SYS(fcntl),
                   // memory
                   SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
                   // locks, time, randomness (hash seeds), ending
                   SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
                   SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
                   SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(exit), SCMP_SYS(exit_group),
                   // signals: abort() and the sanitizers' reports
                   SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
                   SCMP_SYS(restart_syscall)}) {
    allow(call);
  }
  // Text out on standard output, reports on standard error; nothing else
  // is written (not even the document's memfd on standard input).
  for (scmp_datum_t fd : {1, 2}) {
    allow(SCMP_SYS(write), {SCMP_A0(SCMP_CMP_EQ, fd)});
    allow(SCMP_SYS(writev), {SCMP_A0(SCMP_CMP_EQ, fd)});
  }
  if (kUnderAsan) {
    // The sanitizer builds (AddressSanitizer with UndefinedBehaviorSanitizer)
    // test whether memory is readable by writing it into a pipe of their
    // own; refused, every virtual call looks like a type error. Standard
    // input stays unwritable.
    allow(SCMP_SYS(pipe));
    allow(SCMP_SYS(pipe2));
    allow(SCMP_SYS(write), {SCMP_A0(SCMP_CMP_GE, 3)});
  }
  // Memory, never executable: no code can be brought in.
  allow(SCMP_SYS(mmap), {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  allow(SCMP_SYS(mprotect), {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  // Opening for reading only, and only where Landlock decides which files
  // (poppler's character maps): without it, any file of the gateway's user
  // (a key file, /proc) could be read, so nothing is opened at all.
  if (files_fenced) {
    const auto writing = static_cast<scmp_datum_t>(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND);
    allow(SCMP_SYS(open), {SCMP_A1(SCMP_CMP_MASKED_EQ, writing, 0)});
    allow(SCMP_SYS(openat), {SCMP_A2(SCMP_CMP_MASKED_EQ, writing, 0)});
  }
  // Signals to itself only (abort() signals its own thread).
  allow(SCMP_SYS(tgkill), {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid()))});
  return ok && seccomp_load(ctx) == 0;
}

struct Sandbox {
  bool filtered = false;  // the seccomp filter is in place (else nothing may be read)
  bool landlocked = false;
};

// Before reading a byte of the document: no descriptor of the gateway
// (posix_spawn closed them; again here, should anyone start this command
// otherwise), no privileges to gain, no core dump (it would hold the
// document), no files to open or write, few descriptors, bounded memory
// (AddressSanitizer reserves terabytes of address space, so not under it)
// and CPU, and only the system calls above.
Sandbox EnterSandbox(const IsolationOptions& options) {
  close_range(3, ~0U, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  SetLimit(RLIMIT_CORE, 0);
  SetLimit(RLIMIT_FSIZE, 0);
  SetLimit(RLIMIT_NOFILE, 16);
  SetLimit(RLIMIT_CPU, options.max_cpu_seconds);
  if (!kUnderAsan) SetLimit(RLIMIT_AS, options.max_memory_bytes);
  WarmUpReaders();  // before any document byte: what they load from files, they load now
  Sandbox sandbox;
  sandbox.landlocked = ForbidFileAccess();
  sandbox.filtered = AllowOnlyReaderSystemCalls(sandbox.landlocked);
  return sandbox;
}

int ExtractInChild(std::string_view mime_type, const IsolationOptions& options) {
  const Sandbox sandbox = EnterSandbox(options);
  if (!sandbox.filtered) return 1;  // no document is read outside the filter
  // Without Landlock no file may be opened at all, and poppler could not
  // load the character maps of CJK fonts: their text (digits included)
  // would be lost silently. Such PDFs are unscannable, as the rest.
  if (!sandbox.landlocked && FormatOf(mime_type) == Format::kPdf) return 1;
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

// Tries, inside the sandbox, what a reader taken over by a malicious
// document would try, and writes a line per attempt: "NAME refused" or
// "NAME ALLOWED". Tests run it (`extract-text --probe-sandbox`) so that a
// barrier that stops working fails a test, not a customer.
int ProbeInChild(const IsolationOptions& options) {
  // Standard input becomes a pipe's writable end (its read end is closed
  // with the rest: a write the filter let through would fail otherwise,
  // which is why only EPERM counts as refused below); the parent is a
  // process of the same user, which it could signal without the filter.
  signal(SIGPIPE, SIG_IGN);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0 || dup2(pipe_fds[1], 0) != 0) return 1;
  const pid_t parent = getppid();
  const Sandbox sandbox = EnterSandbox(options);
  std::string report = std::string("seccomp ") + (sandbox.filtered ? "installed" : "MISSING") + "\n" +
                       "landlock " + (sandbox.landlocked ? "enforced" : "unavailable") + "\n";
  auto tried = [&report](const char* name, bool allowed) {
    report += std::string(name) + (allowed ? " ALLOWED\n" : " refused\n");
  };
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  tried("socket", sock >= 0);
  const int passwd = ::open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  tried("read_file", passwd >= 0);
  const int created = ::open("/tmp/consentry-sandbox-probe", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  tried("create_file", created >= 0);
  if (created >= 0) ::unlink("/tmp/consentry-sandbox-probe");
  void* code = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  tried("executable_memory", code != MAP_FAILED);
  const pid_t forked = fork();
  if (forked == 0) _exit(0);
  tried("fork", forked > 0);
  clone_args args{};
  args.exit_signal = SIGCHLD;
  const long cloned = syscall(SYS_clone3, &args, sizeof args);
  if (cloned == 0) _exit(0);
  tried("clone3", cloned > 0);
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  tried("make_memory_executable", page != MAP_FAILED && mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
  tried("signal_other_process", ::kill(parent, 0) == 0);
  tried("signal_other_thread", syscall(SYS_tgkill, parent, parent, 0) == 0);
  // Refused means refused by the filter (EPERM), not failed otherwise.
  errno = 0;
  tried("write_other_descriptor", !(::write(0, "x", 1) < 0 && errno == EPERM));
  io_uring_params ring{};
  tried("io_uring", syscall(SYS_io_uring_setup, 1, &ring) >= 0);
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* const envp[] = {nullptr};
  tried("execve", ::execve("/bin/true", argv, envp) == 0);  // on success the report never comes: also a failure
  // Last: were it allowed, the parent would trace this process from here on.
  tried("ptrace", ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0);
  return WriteAll(1, report) ? 0 : 1;
}

}  // namespace

void RunSandboxProbeChild(const IsolationOptions& options) { _exit(ProbeInChild(options)); }

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
  // No environment: the master key and every other secret stay with the
  // parent. One setting: text recognition uses OpenMP, whose worker threads
  // the sandbox refuses; it runs on the calling thread instead.
  char omp_threads[] = "OMP_THREAD_LIMIT=1";
  char* envp[] = {omp_threads, nullptr};
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
    const int64_t deadline_ns = RealClock().MonotonicNanos() + options.timeout_ms * 1'000'000;
    char buffer[65536];
    while (true) {
      const auto left = std::chrono::milliseconds((deadline_ns - RealClock().MonotonicNanos()) / 1'000'000);
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
