# The program's descriptor of a protected file is a placeholder (src/runtime/shielded_files.h,
# ProgramSlot): what reaches the kernel through it fails as on a file, and calls through it or
# its /proc link reach the file it has open. (Probes of a review of the first version, whose
# placeholder was "/".)
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
REGION=$WORK/enc
mkdir -p "$REGION"
printf 'old content of f\n' >"$REGION/f"
printf 'content of g\n' >"$REGION/g"
printf 'h\n' >"$REGION/h"
make_volume "$REGION" encrypted

# 1. A protected descriptor used as a dirfd, or fchdir'ed to: ENOTDIR natively (it is a file).
out=$(crun python3 - "$REGION/f" <<'PY' 2>&1
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
res = []
try:
    d = os.open("etc", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd); res.append("openat-rel:opened " + os.readlink("/proc/self/fd/%d" % d))
except OSError as e: res.append("openat-rel:" + e.strerror)
try:
    os.mkdir("tmp/cove-review13-probe", dir_fd=fd); res.append("mkdirat:created")
except OSError as e: res.append("mkdirat:" + e.strerror)
try:
    os.fchdir(fd); res.append("fchdir:ok cwd=" + os.getcwd())
except OSError as e: res.append("fchdir:" + e.strerror)
print(";".join(res))
PY
)

[ -d /tmp/cove-review13-probe ] && { rmdir /tmp/cove-review13-probe; fail "mkdirat(protected fd, \"tmp/x\") created /tmp/x"; }
[[ "$out" != *opened* && "$out" != *created* && "$out" != *fchdir:ok* ]] &&
  pass "a protected descriptor is no directory" || fail "protected descriptor as a directory: $out"

# 2. chmod through /proc/self/fd/N changes the file (natively, and before the commit), not "/".
chmod 600 "$REGION/h"
rootmode=$(stat -c %a /)
crun python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.chmod('/proc/self/fd/%d' % fd, int(sys.argv[2], 8))" "$REGION/h" "$rootmode" || true
[ "$(stat -c %a "$REGION/h")" = "$rootmode" ] && pass "chmod of /proc/self/fd/N reaches the file" ||
  fail "chmod of /proc/self/fd/N: host file mode $(stat -c %a "$REGION/h"), not $rootmode (went to /?)"

# 3. fchmod through a descriptor whose file was renamed over: natively the old (unlinked)
# file's mode changes, not the new file's at the path.
chmod 644 "$REGION/g"
crun python3 -c "
import os,sys
fd=os.open(sys.argv[1]+'/f', os.O_RDONLY)
os.rename(sys.argv[1]+'/g', sys.argv[1]+'/f')
os.chmod(fd, 0o600)
" "$REGION" || fail "probe 3 failed"
[ "$(stat -c %a "$REGION/f")" = "644" ] && pass "fchmod of a renamed-over descriptor leaves the new file" ||
  fail "fchmod of the old descriptor changed the file now at the path: $(stat -c %a "$REGION/f")"

# 4. A descriptor inherited across exec after a rename replaced its file: natively the child
# reads the old content (as the parent does through it); never the new file's.
crun sh -c "printf 'OLD\n' > '$REGION/k'; printf 'NEW\n' > '$REGION/k2'" || fail "setup 4"
got=$(crun python3 -c "
import os,sys
r=sys.argv[1]
fd=os.open(r+'/k', os.O_RDONLY)
os.rename(r+'/k2', r+'/k')
print('parent:', os.pread(fd, 10, 0).decode().strip()); sys.stdout.flush()
pid=os.fork()
if pid==0:
    os.dup2(fd,0); os.execvp('cat',['cat'])
os.waitpid(pid,0)
" "$REGION" 2>&1 | tr '\n' ' ' || true)

[[ "$got" != *NEW* ]] && pass "inherited descriptor does not switch to the renamed-over file" ||
  fail "child read the new file through the parent's old descriptor: $got"
# 5. fchmod/futimens/fchown through a descriptor of an unlinked file: natively they succeed.
printf 'x\n' | crun sh -c "cat > '$REGION/gone'" || fail "setup 5"
got=$(crun python3 -c "
import os,sys
fd=os.open(sys.argv[1], os.O_RDWR)
os.unlink(sys.argv[1])
out=[]
for name, call in (('fchmod', lambda: os.chmod(fd, 0o600)), ('futimens', lambda: os.utime(fd)), ('fchown', lambda: os.chown(fd, 0, 0))):
    try: call(); out.append(name+':ok')
    except OSError as e: out.append(name+':'+e.strerror)
print(' '.join(out))
" "$REGION/gone" 2>&1)
[ "$got" = "fchmod:ok futimens:ok fchown:ok" ] && pass "metadata calls through an unlinked file's descriptor" ||
  fail "metadata calls through an unlinked file's descriptor: $got"
# (Probes 6-9: a second review.)
PY3=/usr/bin/python3  # Debian's, not a wrapper script
# 6. A vfork child's dup() of a protected descriptor (Python's subprocess when the file is at
# fd 0: _posixsubprocess dup()s it before its dup2 onto 1) names the placeholder, not the file.
SCONE_ALLOW_DLOPEN=2 crun "$PY3" -c "
import os, subprocess, sys
os.close(0)
f = open(sys.argv[1], 'w')
assert f.fileno() == 0
subprocess.run(['/bin/echo', 'from-child'], stdout=f)
f.close()
" "$REGION/sub" || true
[ "$(plain_cat "$REGION/sub" 2>/dev/null)" = "from-child" ] && pass "vfork child's dup() of a protected fd" ||
  fail "subprocess stdout=protected file at fd 0: child's output lost ($(plain_cat "$REGION/sub" 2>&1))"

# 7. bash inherits a protected stdout (its runtime asks getenv, which is bash's own).
crun sh -c "/bin/bash -c 'echo via-bash' > '$REGION/bash_out'" 2>/dev/null || true
[ "$(plain_cat "$REGION/bash_out" 2>/dev/null)" = "via-bash" ] && pass "bash writes an inherited protected stdout" ||
  fail "bash -c 'echo' > protected: output lost ($(plain_cat "$REGION/bash_out" 2>&1))"

# 8. Metadata calls by descriptor that the runtime passes to the placeholder: utimensat(fd, "",
# AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW) and fchmodat2(fd, "", AT_EMPTY_PATH) succeed natively on
# the file; under cove they returned 0 and changed nothing (the /proc link, or the socket).
chmod 644 "$REGION/h"
touch -d 2001-01-01 "$REGION/h"
SCONE_ALLOW_DLOPEN=2 crun "$PY3" -c "
import os, sys, ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
class ts(ctypes.Structure): _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]
t = (ts * 2)(ts(1500000000, 0), ts(1500000000, 0))
assert libc.utimensat(fd, b'', t, 0x1000 | 0x100) == 0, ctypes.get_errno()
assert libc.syscall(452, fd, b'', 0o600, 0x1000) == 0, ctypes.get_errno()
" "$REGION/h" || true
[ "$(stat -c %Y "$REGION/h")" = 1500000000 ] && pass "utimensat(fd, \"\", AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW)" ||
  fail "utimensat(fd, \"\", AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW) left the file's mtime: $(stat -c %Y "$REGION/h")"
[ "$(stat -c %a "$REGION/h")" = 600 ] && pass "fchmodat2(fd, \"\", AT_EMPTY_PATH)" ||
  fail "fchmodat2(fd, \"\", AT_EMPTY_PATH) left the file's mode: $(stat -c %a "$REGION/h")"

# 9. Calls through the descriptor (or its link) that reach the socket placeholder: access
# says a 0644 file is executable, fstatvfs says the file system is full.
chmod 644 "$REGION/h"
got=$(SCONE_ALLOW_DLOPEN=2 crun "$PY3" -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.access('/proc/self/fd/%d' % fd, os.X_OK), os.fstatvfs(fd).f_blocks > 0)
" "$REGION/h" 2>&1)
[ "$got" = "False True" ] && pass "access and fstatvfs through a protected descriptor" ||
  fail "access(/proc/self/fd/N, X_OK) on a 0644 file, fstatvfs blocks>0: $got (want False True)"
# 10. A null path is the descriptor for utimensat only (and then without
# flags): fchmodat, fchownat and faccessat(fd, NULL) fail with EFAULT natively, utimensat(fd,
# NULL, times, AT_SYMLINK_NOFOLLOW) with EINVAL; the same calls on an unprotected file are the
# control.
chmod 644 "$REGION/h"
printf 'plain\n' >"$WORK/plain_r13"
chmod 644 "$WORK/plain_r13"
got=$(SCONE_ALLOW_DLOPEN=2 crun "$PY3" -c "
import os, sys, ctypes
libc = ctypes.CDLL(None, use_errno=True)
def calls(fd):
    out = []
    for name, args in (('fchmodat', (268, fd, None, 0o700)), ('fchownat', (260, fd, None, -1, -1, 0)),
                       ('faccessat', (269, fd, None, 0)), ('utimensat', (280, fd, None, None, 0x100))):
        r = libc.syscall(*args)
        out.append('%s:%s' % (name, 'ok' if r == 0 else os.strerror(ctypes.get_errno())))
    return ' '.join(out)
print(calls(os.open(sys.argv[1], os.O_RDONLY)))
print(calls(os.open(sys.argv[2], os.O_RDONLY)))
" "$REGION/h" "$WORK/plain_r13" 2>&1)
protected_line=$(printf '%s\n' "$got" | sed -n 1p)
plain_line=$(printf '%s\n' "$got" | sed -n 2p)
[ -n "$plain_line" ] && [ "$protected_line" = "$plain_line" ] && [ "$(stat -c %a "$REGION/h")" = 644 ] &&
  pass "null path with a protected dirfd fails as natively" ||
  fail "null path with a protected dirfd: protected [$protected_line] vs plain [$plain_line], mode $(stat -c %a "$REGION/h")"
finish
