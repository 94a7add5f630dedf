/* A library whose one function issues its own `syscall` instruction (as Go's runtime or a
 * static library would), for raw_openat's "dlopen" mode: loaded after the program started, its
 * instruction must be patched like the program's own (syscall_patch.h). */
long raw_syscall_lib_call(long nr, long a1, long a2, long a3) {
  long result;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                   : "rcx", "r11", "memory");
  return result;
}
