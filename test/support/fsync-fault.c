/*
 * LD_PRELOAD shim for fault tests: fails fsync/fdatasync with EIO on demand. When the file named by
 * LOBBY_FSYNC_FAIL exists, the next fsync or fdatasync of any file fails and the shim deletes the file
 * (one failure per touch). Everything else passes through. Built by test/support/faults.ts with gcc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int fail_now(void) {
  const char *flag = getenv("LOBBY_FSYNC_FAIL");
  return flag != NULL && unlink(flag) == 0;
}

int fsync(int fd) {
  static int (*real)(int);
  if (fail_now()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (fail_now()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real(fd);
}
