/* raw_getdents: lists directory argv[2] with the raw syscall argv[1] names, "getdents64" or the
 * old "getdents" (struct linux_dirent, d_type in the last byte of each record), through a
 * buffer of argv[3] bytes (default 4096; a small one makes the listing take several calls).
 * Prints "NAME TYPE" per entry but . and .., TYPE f (regular), d (directory), l (link) or ?.
 * Exits 1 when a call fails. These syscalls reach the runtime through the syscall trap. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct linux_dirent (glibc declares none). */
struct linux_dirent {
  unsigned long d_ino;
  unsigned long d_off;
  unsigned short d_reclen;
  char d_name[];
};

static char TypeLetter(unsigned char type) {
  return type == DT_REG ? 'f' : type == DT_DIR ? 'd' : type == DT_LNK ? 'l' : '?';
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: raw_getdents getdents|getdents64 DIR [BUFSIZE]\n");
    return 2;
  }
  int old = strcmp(argv[1], "getdents") == 0;
  size_t size = argc > 3 ? (size_t)atol(argv[3]) : 4096;
  char* buffer = malloc(size);
  int fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (buffer == NULL || fd < 0) {
    perror(argv[2]);
    return 1;
  }
  for (;;) {
    long n = syscall(old ? SYS_getdents : SYS_getdents64, fd, buffer, size);
    if (n < 0) {
      perror(argv[1]);
      return 1;
    }
    if (n == 0) break;
    for (long at = 0; at < n;) {
      const char* name;
      unsigned char type;
      unsigned short length;
      if (old) {
        struct linux_dirent* entry = (struct linux_dirent*)(buffer + at);
        name = entry->d_name;
        length = entry->d_reclen;
        type = (unsigned char)buffer[at + length - 1];
      } else {
        struct dirent64* entry = (struct dirent64*)(buffer + at);
        name = entry->d_name;
        length = entry->d_reclen;
        type = entry->d_type;
      }
      if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
        printf("%s %c\n", name, TypeLetter(type));
      }
      at += length;
    }
  }
  close(fd);
  free(buffer);
  return 0;
}
