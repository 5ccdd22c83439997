// A full disk for the real binary, without root: preloaded into `consentry`
// by the fault tests (tests/integration/faults_test.cc), it makes writes
// that land in regular files under $CS_FULL_DISK_UNDER fail with ENOSPC
// while the file named by $CS_FULL_DISK_FLAG exists, exactly as the kernel
// answers on a full volume. Removing the flag file is "space freed".
//
// Why at the system-call boundary and not through env/FileSystem: SQLite
// does its own I/O through its VFS, and what must be proven is the shipped
// binary's answer (HTTP 503, nothing acknowledged lost, recovery) to the
// errno a full disk gives. Sockets, pipes and files elsewhere are untouched.
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

bool Full(int fd) {
  const char* flag = getenv("CS_FULL_DISK_FLAG");
  const char* under = getenv("CS_FULL_DISK_UNDER");
  if (flag == nullptr || under == nullptr) return false;
  struct stat st;
  if (stat(flag, &st) != 0) return false;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return false;
  path[n] = '\0';
  return strncmp(path, under, strlen(under)) == 0;
}

// The next definition of `name` after this library: libc's (or the sanitizer's).
template <typename F>
F* Next(F*, const char* name) {
  return reinterpret_cast<F*>(dlsym(RTLD_NEXT, name));
}
#define NEXT(name) Next(&name, #name)

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t count) {
  if (Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(write)(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(pwrite)(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  if (Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(pwrite64)(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  if (Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(writev)(fd, iov, iovcnt);
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  if (Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(fallocate)(fd, mode, offset, len);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  if (Full(fd)) return ENOSPC;
  return NEXT(posix_fallocate)(fd, offset, len);
}

}  // extern "C"
