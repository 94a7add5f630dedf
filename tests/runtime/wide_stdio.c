/*
 * wide_stdio DIR: wide-character stdio on a file DIR/w.txt. Under `cove run` with DIR in a
 * protected region the streams are byte-oriented (glibc's fopencookie): fwprintf and fputws
 * must fail with EOF, and fgetws and fgetwc must fail with EBADF instead of crashing the
 * program (glibc used the missing wide buffers). Byte stdio on the same file keeps working.
 * Prints one line per call: its result and errno.
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  setlocale(LC_ALL, "C.UTF-8");
  char path[4096];
  snprintf(path, sizeof path, "%s/w.txt", argv[1]);
  FILE* f = fopen(path, "w");
  if (f == NULL) return 1;
  printf("fwprintf %d\n", fwprintf(f, L"caf\u00e9 %d\n", 42));
  fputs("byte line\n", f);
  fclose(f);
  f = fopen(path, "r");
  if (f == NULL) return 1;
  wchar_t buf[64];
  errno = 0;
  wchar_t* got = fgetws(buf, 64, f);
  printf("fgetws %s %s\n", got != NULL ? "line" : "NULL", strerror(errno));
  errno = 0;
  wint_t c = fgetwc(f);
  printf("fgetwc %s %s\n", c == WEOF ? "WEOF" : "char", strerror(errno));
  char bytes[64] = {0};
  printf("fgets %s", fgets(bytes, sizeof bytes, f) != NULL ? bytes : "NULL\n");
  fclose(f);
  return 0;
}
