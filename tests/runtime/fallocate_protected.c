/* fallocate_protected: posix_fallocate and fallocate on a file given as argv[1], then the
 * page-cache hints posix_fadvise, readahead and sync_file_range, and two ioctls (a reflink
 * clone and the inode flags: EOPNOTSUPP and ENOTTY are accepted, as on file systems without
 * them).
 * posix_fallocate must succeed and extend the file with zeros, keeping its content; fallocate
 * itself may answer EOPNOTSUPP (as on file systems without it, and as cove does for protected
 * files), which is then reported, not a failure; the hints must succeed. Exits 1 on any other
 * outcome. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTENT "FALLOC-SECRET"
#define SIZE 100000

static int fail(const char* what) {
  fprintf(stderr, "fallocate_protected: %s\n", what);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: fallocate_protected FILE");
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return fail(strerror(errno));
  if (write(fd, CONTENT, strlen(CONTENT)) != (ssize_t)strlen(CONTENT)) return fail("write");
  int r = posix_fallocate(fd, 0, SIZE);
  if (r != 0) {
    fprintf(stderr, "posix_fallocate: %s\n", strerror(r));
    return 1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size != SIZE) return fail("size after posix_fallocate");
  static char buffer[SIZE];
  if (pread(fd, buffer, SIZE, 0) != SIZE) return fail("pread");
  if (memcmp(buffer, CONTENT, strlen(CONTENT)) != 0) return fail("content lost");
  for (size_t i = strlen(CONTENT); i < SIZE; i++) {
    if (buffer[i] != 0) return fail("preallocated range is not zeros");
  }
  printf("posix_fallocate: ok\n");
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2 * SIZE) == 0) {
    printf("fallocate: ok\n");
  } else if (errno == EOPNOTSUPP) {
    printf("fallocate: EOPNOTSUPP\n");
  } else {
    return fail(strerror(errno));
  }
  if ((r = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)) != 0) return fail(strerror(r));
  if (readahead(fd, 0, 4096) != 0) return fail(strerror(errno));
  if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0) return fail(strerror(errno));
  printf("hints: ok\n");
  int other = open("/dev/null", O_RDONLY);
  if (ioctl(fd, FICLONE, other) == 0 || (errno != EOPNOTSUPP && errno != EXDEV && errno != EINVAL))
    return fail("ioctl(FICLONE)");
  close(other);
  int inode_flags = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &inode_flags) != 0 && errno != ENOTTY && errno != EOPNOTSUPP)
    return fail("ioctl(FS_IOC_GETFLAGS)");
  printf("ioctl: ok\n");
  if (close(fd) != 0) return fail("close");
  return 0;
}
