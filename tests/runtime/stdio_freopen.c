/* stdio_freopen PATH: redirects stdout into PATH with freopen(PATH, "w", stdout), writes a line,
 * then reopens another stream onto PATH with freopen(PATH, "r", ...) and prints what it reads
 * to stderr. Under `cove run` with PATH in an encrypted region, both must work transparently
 * (glibc's freopen keeps the FILE object; its internal syscalls go through the syscall trap). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: stdio_freopen PATH\n");
    return 2;
  }
  if (freopen(argv[1], "w", stdout) == NULL) {
    fprintf(stderr, "freopen w: %s\n", strerror(errno));
    return 1;
  }
  printf("FREOPEN-SECRET written through stdout (fd %d)\n", fileno(stdout));
  if (fclose(stdout) != 0) {
    fprintf(stderr, "fclose: %s\n", strerror(errno));
    return 1;
  }
  FILE* in = fopen("/dev/null", "r");
  if (in == NULL || freopen(argv[1], "r", in) == NULL) {
    fprintf(stderr, "freopen r: %s\n", strerror(errno));
    return 1;
  }
  char line[200];
  if (fgets(line, sizeof line, in) == NULL) {
    fprintf(stderr, "fgets: %s\n", strerror(errno));
    return 1;
  }
  fprintf(stderr, "read back: %s", line);
  return fclose(in) == 0 ? 0 : 1;
}
