# A protected file handed to a child as its stdout, by every way of starting a program: the
# child writes it (its runtime takes over the descriptor, COVE_INHERITED_FDS), and the parent's
# own descriptors are untouched afterwards. glibc's execv/execvp/execl/execlp/execvpe and
# system() reach the kernel's execve through the syscall trap, posix_spawn's and system()'s
# children run on the parent's memory: exec_variants covers each.
# Usage: exec_test.sh COVE RUNTIME_SO EXEC_VARIANTS
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: exec_test.sh COVE RUNTIME_SO EXEC_VARIANTS}
REGION=$WORK/region
mkdir -p "$REGION"
make_volume "$REGION" encrypted

out=$(crun "$PROGRAM" "$REGION" 2>"$WORK/err") || fail "exec_variants: $(cat "$WORK/err")"
expected="execve: 0
execv: 0
execvp: 0
execl: 0
execlp: 0
execvpe: 0
system: 0
posix_spawn: 0
posix_spawn_open: Operation not permitted
parent stdout ok"
[ "$out" = "$expected" ] && pass "every exec and spawn variant ran; the parent's stdout is its own" ||
  fail "exec_variants printed: $out / stderr: $(cat "$WORK/err")"
for name in execve execv execvp execl execlp execvpe system posix_spawn; do
  content=$(plain_cat "$REGION/$name.out" 2>&1)
  [ "$content" = "$name" ] || fail "$name.out: $content"
  contains_bytes "$REGION/$name.out" "$name" && fail "$name.out is plaintext on disk"
done
[ "$FAILED" = 0 ] && pass "each child wrote its protected file, encrypted on disk"
grep -q "open $REGION/spawn_open.out in a child that shares its parent's memory" "$WORK/err" &&
  pass "a spawn file action that opens a protected file is refused with a log line" ||
  fail "no log line for the refused open: $(cat "$WORK/err")"

# Shell patterns that exec through execvp: nice, timeout, xargs, find -exec, env.
crun bash -c "nice echo n > '$REGION/nice'; timeout 10 echo t > '$REGION/timeout';
  seq 3 | xargs echo > '$REGION/xargs'; find '$REGION' -name nice -exec cat {} \; > '$REGION/find';
  env cat < '$REGION/nice' > '$REGION/env'" 2>"$WORK/err" || fail "shell patterns: $(cat "$WORK/err")"
got="$(plain_cat "$REGION/nice") $(plain_cat "$REGION/timeout") $(plain_cat "$REGION/xargs") $(plain_cat "$REGION/find") $(plain_cat "$REGION/env")"
[ "$got" = "n t 1 2 3 n n" ] && pass "nice, timeout, xargs, find -exec and env write and read protected files" ||
  fail "shell patterns wrote: $got"

# A redirection shared by the shell and the programs it runs: one open file description, so
# one offset (a shared memory cell), and each reads on from the others' commits.
crun bash -c "{ echo a; /bin/echo b; echo c; } > '$REGION/group'
  { echo a; /bin/echo b; echo c; } >> '$REGION/append'
  (exec > '$REGION/exec'; echo a; /bin/echo b; echo c; /bin/echo d)
  { /bin/echo x; /bin/echo y; } > '$REGION/two'
  { read l; /usr/bin/head -n 1; read m; echo \"\$l|\$m\"; } < '$REGION/exec' > '$REGION/reads'" \
  2>"$WORK/err" || fail "shared redirections: $(cat "$WORK/err")"
got="$(plain_cat "$REGION/group" | tr '\n' ' ')/$(plain_cat "$REGION/append" | tr '\n' ' ')/$(plain_cat "$REGION/exec" | tr '\n' ' ')/$(plain_cat "$REGION/two" | tr '\n' ' ')/$(plain_cat "$REGION/reads" | tr '\n' ' ')"
[ "$got" = "a b c /a b c /a b c d /x y /b a|c " ] &&
  pass "the shell and its programs share each redirection's offset, as natively" ||
  fail "shared redirections wrote: $got (expected a b c /a b c /a b c d /x y /b a|c )"

# The runtime's own descriptors (a protected file's host file and lock, shared offset pages)
# are out of the way of a program's dup2 onto a number it believes free: bash's `exec 5>>f`
# replaced the runtime's copy at 5 and lost the file (also after a lower `ulimit -n`). And they
# stay open through a close_range: in a forked child (subprocess with a preexec_fn,
# os.closerange before exec; the child's program lost its output to EBUSY), and in a program
# that closes all but its own descriptors while it has protected files open.
crun bash -c "cd '$REGION'; exec 5>>low; echo a >&5; exec 3>&1; echo b >&5; exec 5>&-
  exec 3>>low2; /bin/echo four >&3; exec 3>&-; exec 4>>low2; echo five >&4; exec 4>&-
  ulimit -n 100; exec 6>>low3; echo u >&6; exec 6>&-" ||
  fail "bash exec 5>>f: status $?"
SCONE_ALLOW_DLOPEN=2 crun /usr/bin/python3 -c "
import os, subprocess
os.chdir('$REGION')
f = open('dup', 'w'); f.write('data\n'); f.flush()
n = os.open('/dev/null', os.O_WRONLY)
for k in range(3, 12):
    if k not in (f.fileno(), n):
        os.dup2(n, k)
f.write('more\n'); f.close()
with open('pre', 'w') as f:
    f.write('first\n'); f.flush()
    subprocess.run(['sh', '-c', 'echo child'], stdout=f, preexec_fn=lambda: None, check=True)
    f.write('last\n')
fd = os.open('closed', os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.write(fd, b'x\n')
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1); os.closerange(3, 1000)
    os.execv('/bin/sh', ['sh', '-c', 'echo child; /bin/echo child2'])
os.waitpid(pid, 0); os.write(fd, b'y\n'); os.close(fd)
a = os.open('above', os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.write(a, b'A1\n')
os.closerange(a + 1, 4096)  # a daemon's close of all but its own: the runtime's stay open
os.write(a, b'A2\n')
b = os.open('above2', os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.write(b, b'B1\n')
os.write(a, b'A3\n'); os.close(b); os.close(a)" 2>"$WORK/err.fds" ||
  fail "dup2 and close_range program: $(head -c 300 "$WORK/err.fds")"
got=""
for f in low low2 low3 dup pre closed above above2; do got="$got$(plain_cat "$REGION/$f" | tr '\n' ' ')/"; done
[ "$got" = "a b /four five /u /data more /first child last /x child child2 y /A1 A2 A3 /B1 /" ] &&
  pass "dup2 onto numbers a program believes free, close_range of all but its own: as natively" ||
  fail "dup2/close_range wrote: $got"

# A file stored in the region is executed through `cove exec-protected`: the kernel would load
# its host file (ciphertext), so a #! script ran with the wrong interpreter (sh printed syntax
# errors for a Python script) and dash's vfork child got EPERM. Every way of starting it runs
# its interpreter now; a script without #! runs with sh; a program (ELF) gets a clear refusal.
crun sh -c "printf '#!/usr/bin/python3 -S\nimport sys\nprint(\"py\", *sys.argv[1:])\n' > '$REGION/s.py'
  printf 'echo sh \"\$@\"\n' > '$REGION/plain.sh'; cp /bin/true '$REGION/true'
  chmod +x '$REGION/s.py' '$REGION/plain.sh' '$REGION/true'" || fail "writing the scripts"
got=$( (crun "$REGION/s.py" run; crun bash -c "'$REGION/s.py' bash; cd '$REGION' && ./s.py relative"
  crun sh -c "'$REGION/s.py' dash; '$REGION/plain.sh' noshebang"
  SCONE_ALLOW_DLOPEN=2 crun /usr/bin/python3 -c "import subprocess; subprocess.run(['$REGION/s.py', 'subprocess'])") 2>&1 | tr '\n' ' ' || true)
[ "$got" = "py run py bash py relative py dash sh noshebang py subprocess " ] &&
  pass "an encrypted #! script runs with its interpreter from cove run, bash, dash, subprocess" ||
  fail "encrypted scripts printed: $got"
status=0
crun sh -c "'$REGION/true'" 2>"$WORK/err.elf" || status=$?
[ "$status" = 126 ] && grep -q "cannot execute a program stored in a protected region" "$WORK/err.elf" &&
  pass "a program (ELF) in a region is refused with a message, status 126" ||
  fail "ELF in a region: status $status, $(head -c 300 "$WORK/err.elf")"

# execvp, execlp and friends are interposed (they trapped before): a PATH search that finds an
# encrypted script runs it with its interpreter, as execve does, and one found without #! runs
# with sh, as glibc's does.
got=$(crun env PATH="$REGION:$PATH" s.py envpath 2>&1; crun env PATH="$REGION:$PATH" plain.sh viapath 2>&1)
[ "$(tr '\n' ' ' <<<"$got")" = "py envpath sh viapath " ] &&
  pass "execvp through PATH runs encrypted scripts" || fail "execvp through PATH printed: $got"

# gdb runs its program in a traced vfork child: the SIGSYS of a syscall trapped before the exec
# stopped that child for good, and gdb with it (the trap is now off in such a child, or with
# patched sites its PTRACE_TRACEME waits for its exec). Inside the program, the runtime's trap
# signals are passed on with `handle SIGSYS/SIGSEGV nostop noprint`.
# Skipped where ptrace is not allowed (gdb cannot run a program natively).
if command -v gdb >/dev/null && timeout 60 gdb -nx -batch -ex run --args /bin/true >/dev/null 2>&1; then
  got=$(timeout -s KILL 60 "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag-file "$TAG_FILE" -- \
    gdb -nx -batch -ex 'handle SIGSYS nostop noprint pass' -ex 'handle SIGSEGV nostop noprint pass' \
    -ex run --args /bin/cat "$REGION/nice" \
    2>&1 </dev/null | grep -x -e n -e '\[Inferior 1 (process [0-9]*) exited normally\]' |
    sed 's/process [0-9]*/process/' | tr '\n' ' ' || true)
  [ "$got" = "n [Inferior 1 (process) exited normally] " ] &&
    pass "gdb runs a program that reads a protected file" ||
    fail "gdb under cove run (killed after 60 s if it hung): $got"
else
  echo "skipped: gdb cannot run a program here (not installed, or ptrace not allowed)"
fi
finish
