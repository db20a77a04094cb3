/*
 * LD_PRELOAD shim for storage tests: fails fsync/fdatasync with EIO on demand, and records them on demand.
 * When the file named by LOBBY_FSYNC_FAIL exists, the next fsync or fdatasync of any file fails and the shim
 * deletes the file (one failure per touch). When LOBBY_FSYNC_LOG names a file, every fsync or fdatasync that
 * succeeded appends the synced file's path and a newline to it (one write, O_APPEND: lines never interleave),
 * so a test can see which files were made durable and when. Everything else passes through. Built by
 * test/support/faults.ts with gcc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fail_now(void) {
  const char *flag = getenv("LOBBY_FSYNC_FAIL");
  return flag != NULL && unlink(flag) == 0;
}

static void record(int fd) {
  const char *log = getenv("LOBBY_FSYNC_LOG");
  if (log == NULL) return;
  int saved = errno;
  char link[64];
  char line[4097];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, line, sizeof line - 1);
  if (n < 0) n = 0;
  line[n++] = '\n';
  int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (out >= 0) {
    if (write(out, line, (size_t)n) < 0) { /* a test log that cannot be written: the test sees no line */ }
    close(out);
  }
  errno = saved;
}

int fsync(int fd) {
  static int (*real)(int);
  if (fail_now()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  int r = real(fd);
  if (r == 0) record(fd);
  return r;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (fail_now()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  int r = real(fd);
  if (r == 0) record(fd);
  return r;
}
