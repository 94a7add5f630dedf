# Children stay shielded: a program under the runtime that starts another one with an
# environment of its own (env -i, Python's subprocess env=..., unset LD_PRELOAD) still starts it
# under the runtime, and a program the runtime cannot be loaded into (static, 32-bit,
# set-user-ID, or a script run by one) is refused, by `cove run` and by the runtime's exec, with a clear error,
# instead of running unshielded (reading ciphertext, writing plaintext into the region).
# Usage: children_test.sh COVE RUNTIME_SO
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
REGION=$WORK/region
mkdir -p "$REGION"
printf 'secret-plaintext' >"$REGION/data"
make_volume "$REGION" encrypted
PYTHON=/usr/bin/python3

# A static program: prints the first bytes of a file, or writes one (it would see ciphertext
# and write plaintext if it ran).
cat >"$WORK/static_io.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc == 3) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    return fd < 0 || write(fd, "static-wrote", 12) != 12;
  }
  char buf[16] = {0};
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0 || read(fd, buf, 8) < 0) return 1;
  printf("static read: %s\n", buf);
  return 0;
}
C
${CC:-cc} -static -O1 -o "$WORK/static_io" "$WORK/static_io.c" ||
  { echo "FAIL: cannot build a static test program (libc6-dev's libc.a)" >&2; exit 1; }
printf '#!%s\n' "$WORK/static_io" >"$WORK/static_script"
# The loader as a script's interpreter, its `#!` argument naming the static program.
printf '#!/lib64/ld-linux-x86-64.so.2 %s\n' "$WORK/static_io" >"$WORK/via_loader"
chmod +x "$WORK/via_loader"
# A 32-bit ELF header (the static program with its class byte changed): the loader would not
# load the 64-bit runtime into a real one.
cp "$WORK/static_io" "$WORK/elf32"
printf '\x01' | dd of="$WORK/elf32" bs=1 seek=4 conv=notrunc status=none
chmod +x "$WORK/static_script" "$WORK/elf32"

# ---- cove run refuses what would run unshielded ----
check_cove_run_refuses() {  # PROGRAM EXPECTED_TEXT [ARGS...] (default: the protected file)
  local rc=0 err program=$1 expected=$2
  shift 2
  (($# > 0)) || set -- "$REGION/data"
  err=$(crun "$program" "$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" = 126 ] && grep -qF "cove run: error: " <<<"$err" && grep -qF "$expected" <<<"$err"; then
    pass "cove run refuses $(basename "$program"): $expected (exit 126)"
  else
    fail "cove run $(basename "$program"): exit $rc, stderr: $err"
  fi
}
check_cove_run_refuses "$WORK/static_io" "static_io: statically linked"
check_cove_run_refuses "$WORK/static_script" "static_script (through $WORK/static_io): statically linked"
# The dynamic loader run as a program runs what its arguments name: judged by that program.
check_cove_run_refuses /lib64/ld-linux-x86-64.so.2 \
  "ld-linux-x86-64.so.2 (through $WORK/static_io): statically linked" \
  --library-path /nonexistent "$WORK/static_io" "$REGION/data"
check_cove_run_refuses "$WORK/via_loader" "via_loader (through $WORK/static_io): statically linked"
check_cove_run_refuses "$WORK/elf32" "another ELF class or machine"
# A set-user-ID program of another owner: the loader's secure-execution mode ignores LD_PRELOAD.
# (Made by root: chown to another user.)
cp /usr/bin/head "$WORK/suid_head"
if findmnt -no OPTIONS -T "$WORK" | grep -qw nosuid; then
  echo "skipped: set-user-ID checks ($WORK is on a nosuid mount, where the bit does nothing)"
elif chown nobody "$WORK/suid_head" 2>/dev/null && chmod u+s "$WORK/suid_head"; then
  check_cove_run_refuses "$WORK/suid_head" "suid_head: would run in secure-execution mode"
  out=$(crun bash -c "'$WORK/suid_head' -c 8 '$REGION/data'; echo \"rc=\$?\"" 2>&1)
  grep -q '^rc=126$' <<<"$out" && grep -qF "exec $WORK/suid_head: would run in secure-execution mode" <<<"$out" &&
    ! grep -q COVEPF <<<"$out" &&
    pass "the runtime's exec refuses a set-user-ID program of another owner" ||
    fail "set-user-ID program under a shielded shell: $out"
  # No-new-privileges: the kernel ignores the bit, the loader honours the preload: allowed.
  if command -v setpriv >/dev/null; then
    out=$(setpriv --no-new-privs env COVE_RUNTIME="$COVE_RUNTIME" "$COVE" run --fspf "$WORK/fspf" \
      --key "$KEY" --tag-file "$TAG_FILE" -- bash -c "'$WORK/suid_head' -c 16 '$REGION/data'" 2>&1)
    [ "$out" = "secret-plaintext" ] &&
      pass "under no_new_privs a set-user-ID program runs (the bit is ignored), shielded" ||
      fail "set-user-ID program under no_new_privs: $out"
  fi
  # The loader asked to run it: the loader maps it without its privileges and honours the
  # preload (only what the kernel execs runs in secure-execution mode).
  out=$(crun bash -c "/lib64/ld-linux-x86-64.so.2 '$WORK/suid_head' -c 16 '$REGION/data'" 2>&1)
  [ "$out" = "secret-plaintext" ] && pass "the loader may run a set-user-ID program, shielded" ||
    fail "ld.so suid_head: $out"
  # A process whose effective user differs from its real one (a daemon after seteuid): every
  # exec of it runs in secure-execution mode, so none may start.
  out=$(crun "$PYTHON" -c "
import os, subprocess
os.setresuid(0, 65534, 0)
try:
    subprocess.run(['/usr/bin/head', '-c', '8', '$REGION/data'])
except PermissionError:
    print('refused')
" 2>&1)
  [ "$(tail -1 <<<"$out")" = refused ] && grep -qF "exec /usr/bin/head: would run in secure-execution mode" <<<"$out" &&
    pass "after seteuid, children (secure-execution mode) are refused" ||
    fail "exec after seteuid: $out"
else
  echo "skipped: set-user-ID checks (not root: cannot give a file to another owner)"
fi
# A program the user may execute but not read (mode 0111): nothing tells whether the runtime
# could be loaded into it.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  X=$(mktemp -d /tmp/cove-runtime-xonly-XXXXXX)
  chmod 755 "$X" && cp "$WORK/static_io" "$X/xonly" && chmod 111 "$X/xonly"
  rc=0
  out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env COVE_RUNTIME="$COVE_RUNTIME" \
    "$COVE" run -- "$X/xonly" /dev/null 2>&1) || rc=$?
  out2=$(crun "$PYTHON" -c "
import os, subprocess
os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
try:
    subprocess.run(['$X/xonly', '/dev/null'])
except PermissionError:
    print('refused')
" 2>&1)
  rm -rf "$X"
  [ "$rc" = 126 ] && grep -qF "xonly: not readable" <<<"$out" && ! grep -q 'static read' <<<"$out" &&
    [ "$(tail -1 <<<"$out2")" = refused ] && grep -qF "exec $X/xonly: not readable" <<<"$out2" &&
    pass "an executable the user cannot read is refused by cove run and by exec" ||
    fail "execute-only program: cove run exit $rc: $out / exec: $out2"
fi
# Through $PATH as well, as execvp would find it.
out=$(PATH="$WORK:$PATH" crun static_io "$REGION/data" 2>&1) && fail "static_io via PATH ran: $out" ||
  { grep -qF "$WORK/static_io: statically linked" <<<"$out" &&
    pass "cove run resolves PROGRAM through PATH before judging it" ||
    fail "static_io via PATH: $out"; }

# ---- the runtime's exec refuses them too, whatever the way of starting them ----
out=$(crun bash -c "'$WORK/static_io' '$REGION/data'; echo \"rc=\$?\"
  '$WORK/static_io' '$REGION/data' write-it; echo \"rc=\$?\"
  '$WORK/static_script' '$REGION/data'; echo \"rc=\$?\"
  '$WORK/via_loader' '$REGION/data'; echo \"rc=\$?\"
  '$WORK/elf32'; echo \"rc=\$?\"" 2>"$WORK/err") || fail "bash: $(cat "$WORK/err")"
[ "$(grep -c '^rc=126$' <<<"$out")" = 5 ] && ! grep -q 'static read' <<<"$out" &&
  pass "a shielded shell cannot run a static program, a script of one (also through the loader) or a 32-bit one (126)" ||
  fail "shell runs: $out / $(cat "$WORK/err")"
grep -qF "exec $WORK/static_io: statically linked (no ELF interpreter)" "$WORK/err" &&
  grep -qF "exec $WORK/static_script (through $WORK/static_io): statically linked" "$WORK/err" &&
  grep -qF "exec $WORK/elf32: built for another ELF class or machine" "$WORK/err" &&
  pass "each refusal is logged with the program, the cause and EACCES" ||
  fail "refusal log lines: $(cat "$WORK/err")"
out=$(CRUN_LOG=0 crun bash -c "'$WORK/static_io' '$REGION/data'" 2>&1) || true
grep -qF "cove: exec $WORK/static_io: statically linked" <<<"$out" &&
  pass "a refusal is said on stderr with SCONE_LOG=0 too" || fail "refusal at SCONE_LOG=0: $out"
[ "$(plain_cat "$REGION/data")" = "secret-plaintext" ] && [ ! -e "$REGION/write-it" ] ||
  fail "the refused static program touched the region"
out=$(crun "$PYTHON" -c "
import os, subprocess
for how in ('run', 'popen'):
    try:
        if how == 'run':
            subprocess.run(['$WORK/static_io', '$REGION/data'], check=True)
        else:
            os.posix_spawn('$WORK/static_io', ['$WORK/static_io', '$REGION/data'], dict(os.environ))
            print(how, 'spawned')
    except (PermissionError, subprocess.CalledProcessError) as e:
        print(how, type(e).__name__)
" 2>"$WORK/err") || fail "python: $(cat "$WORK/err")"
[ "$out" = "run PermissionError
popen PermissionError" ] && pass "Python's subprocess (vfork) and posix_spawn get PermissionError" ||
  fail "python spawn of a static program: $out / $(cat "$WORK/err")"
# The loader asked to run a static program, and posix_spawnp finding one through PATH, with
# the syscall trap off (then only the interposed calls see the exec).
out=$(crun bash -c "/lib64/ld-linux-x86-64.so.2 '$WORK/static_io' '$REGION/data'; echo \"rc=\$?\"" 2>&1)
grep -q '^rc=126$' <<<"$out" && ! grep -q 'static read' <<<"$out" &&
  grep -qF "(through $WORK/static_io): statically linked" <<<"$out" &&
  pass "the loader asked to run a static program is refused" ||
  fail "ld.so static_io under a shielded shell: $out"
out=$(crun bash -c "ldd '$WORK/static_io'; ldd /bin/true | grep -c libc.so" 2>&1)
[ "$out" = "$(printf '\tnot a dynamic executable\n1')" ] || [ "$out" = "$(printf '\tstatically linked\n1')" ] &&
  pass "ldd of a static and a dynamic program works (the loader only lists)" ||
  fail "ldd under the runtime: $out"
out=$(PATH="$WORK:$PATH" COVE_SYSCALL_TRAP=0 crun "$PYTHON" -c "
import os
try:
    os.posix_spawnp('static_io', ['static_io', '$REGION/data'], dict(os.environ))
    print('spawned')
except PermissionError:
    print('refused')
" 2>&1)
[ "$(tail -1 <<<"$out")" = refused ] && pass "posix_spawnp through PATH is checked without the trap" ||
  fail "posix_spawnp static_io without the trap: $out"
out=$(crun "$PYTHON" -c "
import os
for flags in (os.O_RDONLY, os.O_PATH):
    fd = os.open('$WORK/static_io', flags)
    try:
        os.execve(fd, ['static_io', '$REGION/data'], dict(os.environ))  # fexecve
    except PermissionError:
        print('fexecve refused')
" 2>"$WORK/err") || fail "python fexecve: $(cat "$WORK/err")"
[ "$out" = "fexecve refused
fexecve refused" ] && pass "fexecve of a static program is refused, through a readable or an O_PATH descriptor" ||
  fail "fexecve of a static program: $out / $(cat "$WORK/err")"

# ---- children started with an environment of their own run under the runtime ----
out=$(crun bash -c "env -i /usr/bin/head -c 16 '$REGION/data'; echo
  (unset LD_PRELOAD SCONE_FSPF SCONE_FSPF_KEY; head -c 16 '$REGION/data'); echo
  env -i /usr/bin/env | grep -c -e '^LD_PRELOAD=.*libcove-runtime.so' -e '^SCONE_FSPF=' -e '^SCONE_FSPF_KEY='
  LD_PRELOAD=/nonexistent-but-kept.so head -c 16 '$REGION/data' 2>/dev/null; echo
  /lib64/ld-linux-x86-64.so.2 /usr/bin/head -c 16 '$REGION/data'; echo
  cp /lib64/ld-linux-x86-64.so.2 '$WORK/bundled-ld.so'
  '$WORK/bundled-ld.so' /usr/bin/head -c 16 '$REGION/data'; echo" 2>"$WORK/err") ||
  fail "bash children: $(cat "$WORK/err")"
expected="secret-plaintext
secret-plaintext
3
secret-plaintext
secret-plaintext
secret-plaintext"
[ "$out" = "$expected" ] &&
  pass "env -i, unset LD_PRELOAD, another preload, the loader and a copy of it run children under the runtime" ||
  fail "children read: $out / $(cat "$WORK/err")"
out=$(crun "$PYTHON" -c "
import subprocess
r = subprocess.run(['/usr/bin/head', '-c', '16', '$REGION/data'], env={'PATH': '/usr/bin'},
                   capture_output=True)
print(r.stdout.decode())
subprocess.run(['/usr/bin/tee', '$REGION/child.out'], input=b'child-wrote', env={},
               stdout=subprocess.DEVNULL, check=True)
" 2>"$WORK/err") || fail "python env=: $(cat "$WORK/err")"
# A program started through the loader (no AT_BASE) runs its own children through it too.
out2=$(crun /lib64/ld-linux-x86-64.so.2 /usr/bin/bash -c \
  "/lib64/ld-linux-x86-64.so.2 /usr/bin/head -c 16 '$REGION/data'" 2>&1)
[ "$out2" = "secret-plaintext" ] && pass "a program run through the loader may run others through it" ||
  fail "loader under the loader: $out2"
[ "$out" = "secret-plaintext" ] && [ "$(plain_cat "$REGION/child.out")" = "child-wrote" ] &&
  ! contains_bytes "$REGION/child.out" "child-wrote" &&
  pass "a subprocess with env={...} reads plaintext and writes an encrypted file" ||
  fail "python env=: read '$out', child.out: $(plain_cat "$REGION/child.out" 2>&1)"
finish
