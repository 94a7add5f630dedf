# cat/cp/sort/gzip under `cove run` read and write protected files; ls and stat show plaintext
# sizes; what they write is ciphertext on disk and reads back with `cove fspf cat`.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

REGION=$WORK/enc
mkdir -p "$REGION"
printf 'pear\napple\nfig\n' >"$REGION/fruit.txt"
seq 1 30000 | sed 's/$/-SECRETLINE/' >"$REGION/lines.txt"
cp "$REGION/fruit.txt" "$WORK/fruit.plain"
cp "$REGION/lines.txt" "$WORK/lines.plain"
printf '#!/bin/sh\necho "script ran: $1"\n' >"$REGION/run.sh"
chmod 755 "$REGION/run.sh"
make_volume "$REGION" encrypted

contains_bytes "$REGION/lines.txt" SECRETLINE && fail "addf left plaintext on disk"

[ "$(crun cat "$REGION/fruit.txt")" = "$(cat "$WORK/fruit.plain")" ] && pass "cat reads" ||
  fail "cat of a protected file"

crun cp "$REGION/lines.txt" "$REGION/copy.txt" || fail "cp exit code"
crun cmp "$REGION/lines.txt" "$REGION/copy.txt" && pass "cp copies" || fail "cp copy differs"
plain_cat "$REGION/copy.txt" | cmp - "$WORK/lines.plain" && pass "cp output reads back" ||
  fail "cp output does not read back"
contains_bytes "$REGION/copy.txt" SECRETLINE && fail "cp wrote plaintext"

crun sort "$REGION/fruit.txt" -o "$REGION/sorted.txt" || fail "sort exit code"
[ "$(plain_cat "$REGION/sorted.txt")" = "$(sort "$WORK/fruit.plain")" ] && pass "sort -o" ||
  fail "sort output"
crun sort -rn "$REGION/lines.txt" -o "$REGION/rsorted.txt" || fail "sort -rn exit code"
[ "$(plain_cat "$REGION/rsorted.txt" | head -1)" = "30000-SECRETLINE" ] && pass "sort large" ||
  fail "sort large output"

crun gzip -k "$REGION/lines.txt" || fail "gzip exit code"
crun gzip -dc "$REGION/lines.txt.gz" | cmp - "$WORK/lines.plain" && pass "gzip round trip" ||
  fail "gzip round trip"
plain_cat "$REGION/lines.txt.gz" | gzip -dc | cmp - "$WORK/lines.plain" ||
  fail "gzip output is not a valid gzip stream in the region"
crun gzip "$REGION/copy.txt" || fail "gzip (replacing the input)"
[ ! -e "$REGION/copy.txt" ] && [ -e "$REGION/copy.txt.gz" ] && pass "gzip unlinks its input" ||
  fail "gzip did not replace copy.txt"

size=$(wc -c <"$WORK/lines.plain")
[ "$(crun stat -c %s "$REGION/lines.txt")" = "$size" ] && pass "stat shows plaintext size" ||
  fail "stat size"
crun ls -l "$REGION/lines.txt" | grep -q " $size " && pass "ls -l shows plaintext size" ||
  fail "ls -l size"
[ "$(stat -c %s "$REGION/lines.txt")" != "$size" ] || fail "host size equals plaintext size?"

crun sh -c "cat '$REGION/fruit.txt' | tr a-z A-Z > '$WORK/upper.txt'" || fail "pipeline"
grep -q PEAR "$WORK/upper.txt" && pass "unprotected output stays plaintext" || fail "pipeline output"

# Shell redirections into and out of protected files: the descriptor crosses exec.
crun sh -c "sort '$REGION/fruit.txt' > '$REGION/redir.txt'; echo kiwi >> '$REGION/redir.txt'" ||
  fail "redirect exit code"
[ "$(plain_cat "$REGION/redir.txt")" = "$(sort "$WORK/fruit.plain"; echo kiwi)" ] &&
  pass "shell > and >> into protected files" || fail "redirect output"
[ "$(crun sh -c "seq 1 500 | gzip > '$REGION/n.gz'; gzip -dc < '$REGION/n.gz' | tail -1")" = 500 ] &&
  pass "pipelines through protected files" || fail "pipeline through protected files"

crun mv "$REGION/sorted.txt" "$REGION/moved.txt" || fail "mv exit code"
[ "$(plain_cat "$REGION/moved.txt")" = "$(sort "$WORK/fruit.plain")" ] && pass "mv renames" ||
  fail "mv output"
crun rm "$REGION/moved.txt" || fail "rm exit code"
"$COVE" fspf show "$WORK/fspf" --key "$KEY" | grep -q moved.txt && fail "rm left an fspf entry"
[ ! -e "$REGION/moved.txt" ] && pass "rm unlinks" || fail "rm left the host file"

# Trees: tar in and out of the region, cp -a (it copies extended attributes: a protected file
# has none and takes none, ENOTSUP, which cp accepts), mv of a directory, rm -rf.
mkdir -p "$WORK/tree/sub"
for i in $(seq 1 20); do echo "TREE-SECRET $i" >"$WORK/tree/t$i"; done
echo deep >"$WORK/tree/sub/d"
tar cf "$WORK/tree.tar" -C "$WORK/tree" .
crun sh -c "mkdir -p '$REGION/x' && tar xf '$WORK/tree.tar' -C '$REGION/x' &&
  tar cf '$REGION/x.tar' -C '$REGION/x' . && mkdir -p '$REGION/y' &&
  tar xf '$REGION/x.tar' -C '$REGION/y'" || fail "tar into and within the region"
crun diff -r "$WORK/tree" "$REGION/y" && pass "tar round trip through the region" ||
  fail "tar round trip differs"
crun cp -a "$REGION/y" "$REGION/z" 2>"$WORK/cp.err" && crun diff -r "$WORK/tree" "$REGION/z" &&
  pass "cp -a of a protected tree" || fail "cp -a: $(cat "$WORK/cp.err")"
crun mv "$REGION/z" "$REGION/w" 2>"$WORK/mv.err" && crun diff -r "$WORK/tree" "$REGION/w" &&
  pass "mv of a directory of protected files" || fail "mv directory: $(cat "$WORK/mv.err")"
crun rm -rf "$REGION/w" "$REGION/x" && [ ! -e "$REGION/w" ] && pass "rm -rf" || fail "rm -rf"
grep -rqa "TREE-SECRET" "$REGION" && fail "tree plaintext on disk"

# mv of a file into a directory: mv first tries renameat2(f, dir, RENAME_NOREPLACE), which
# must fail (EEXIST) before the fspf records anything; a rename onto a directory fails with
# EISDIR and leaves the region as it was (it once recorded the directory as the file and
# left an intent that refused every later start).
crun sh -c "echo moved > '$REGION/tomove'; mkdir -p '$REGION/into'" || fail "setup for mv"
crun mv "$REGION/tomove" "$REGION/into" 2>"$WORK/mv.err" &&
  [ "$(crun cat "$REGION/into/tomove")" = moved ] && crun ls "$REGION/into" >/dev/null &&
  pass "mv file dir moves the file into the directory" || fail "mv file dir: $(cat "$WORK/mv.err")"
crun sh -c "echo stays > '$REGION/stays'" || fail "setup for rename onto a directory"
out=$(SCONE_ALLOW_DLOPEN=2 crun /usr/bin/python3 -c "
import os
try:
    os.rename('$REGION/stays', '$REGION/into')
except OSError as e:
    print(e.strerror)
print(open('$REGION/stays').read().strip())" 2>&1)
[ "$out" = "$(printf 'Is a directory\nstays')" ] && [ "$(crun cat "$REGION/stays")" = stays ] &&
  pass "a rename onto a directory fails with EISDIR and changes nothing" ||
  fail "rename onto a directory: $out"

# A protected file the program may not write (mode 444, as a user other than root) is refused
# at open with EACCES, as natively; a writable one takes the append.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  U=$(mktemp -d /tmp/cove-runtime-user-XXXXXX)
  mkdir "$U/r" && echo orig >"$U/r/ro" && echo orig >"$U/r/rw"
  "$COVE" fspf create "$U/fspf" >/dev/null && "$COVE" fspf addr "$U/fspf" "$U/r" --encrypted >/dev/null &&
    "$COVE" fspf addf "$U/fspf" "$U/r" "$U/r" >/dev/null
  uout=$("$COVE" fspf encrypt "$U/fspf")
  ukey=$(sed -n 's/.*key: \([0-9a-f]\{64\}\).*/\1/p' <<<"$uout")
  sed -n 's/.*tag: \([0-9a-f]\{32\}\).*/\1/p' <<<"$uout" >"$U/tag"
  chmod 444 "$U/r/ro" && chown -R nobody:nogroup "$U" && chmod 755 "$U"
  out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env COVE_RUNTIME="$COVE_RUNTIME" \
    "$COVE" run --fspf "$U/fspf" --key "$ukey" --tag-file "$U/tag" -- sh -c \
    "{ echo more >> '$U/r/ro'; } 2>/dev/null; echo \$?; { echo over > '$U/r/ro'; } 2>/dev/null;
     echo \$?; cat '$U/r/ro'; echo new >> '$U/r/rw'; cat '$U/r/rw'" 2>&1)
  rm -rf "$U"
  [ "$out" = "$(printf '2\n2\norig\norig\nnew')" ] &&
    pass "a protected file the user may not write is refused at open (EACCES), with O_TRUNC too" ||
    fail "read-only protected file as nobody: $out"
fi

# Permission bits are the program's, as on a plain file: addf keeps the source's (an encrypted
# script stays executable), new files get the mode asked for under the umask, cp copies them.
[ "$(crun "$REGION/run.sh" x)" = "script ran: x" ] && pass "an encrypted script is executable" ||
  fail "run.sh: $(stat -c %A "$REGION/run.sh")"
modes=$(crun sh -c "umask 022; echo n > '$REGION/new.txt'; touch '$REGION/touched';
  cp '$REGION/run.sh' '$REGION/run2.sh'; umask 077; echo p > '$REGION/private.txt'
  stat -c %a '$REGION/new.txt' '$REGION/touched' '$REGION/run2.sh' '$REGION/private.txt'" | tr '\n' ' ')
[ "$modes" = "644 644 755 600 " ] && pass "new files take the mode asked for under the umask" ||
  fail "modes: $modes (expected 644 644 755 600)"

# /dev/stdin, /dev/stdout, /dev/fd/N and /proc/self/fd/N naming a shell's redirection from or
# to a protected file reopen the protected file, as natively; they reached the host file
# (ciphertext read, plaintext written over the file, which then failed with EBADMSG).
got=$(crun sh -c "seq 1 3 > '$REGION/lines'; cat /dev/stdin < '$REGION/lines' | tr '\n' ' '
  cat /dev/fd/3 3< '$REGION/lines' | wc -l; cat /proc/self/fd/4 4< '$REGION/lines' | tail -1
  echo via | tee /dev/stdout > '$REGION/teed'; echo hello > '$REGION/reopened'
  sh -c 'echo x > /dev/stdout' >> '$REGION/reopened'; cat '$REGION/teed' '$REGION/reopened'" |
  tr '\n' ' ' || true)
[ "$got" = "1 2 3 3 3 via x " ] &&
  pass "/dev/stdin, /dev/stdout, /dev/fd/N, /proc/self/fd/N reopen the protected file" ||
  fail "descriptor links printed: $got (expected 1 2 3 3 3 via x )"
for f in teed reopened; do
  contains_bytes "$REGION/$f" "COVEPF01" || fail "$f: the host file is no longer a protected file"
done

# stat and readlink through a descriptor link answer for the protected file: its plaintext
# size, its path (the program's descriptor is a placeholder the kernel would describe).
got=$(crun sh -c "stat -L -c '%s %F' /dev/stdin < '$REGION/lines'
  readlink /proc/self/fd/3 3< '$REGION/lines'; realpath /dev/fd/4 4< '$REGION/lines'" |
  tr '\n' ' ' || true)
[ "$got" = "6 regular file $REGION/lines $REGION/lines " ] &&
  pass "stat, readlink and realpath of /dev/stdin, /proc/self/fd/N and /dev/fd/N name the protected file" ||
  fail "descriptor links described as: $got (expected 6 regular file $REGION/lines $REGION/lines )"

# /proc/PID/fd/N and /proc/PID/task/TID/fd/N with the process's own pid (and, in a forked
# child, the child's) reopen the protected file as /proc/self/fd/N does; they reached the host
# file (ciphertext read, a write over it).
got=$(crun /usr/bin/python3 -c "
import os, threading
p = '$REGION/by-pid'
open(p, 'w').write('plain')
fd = os.open(p, os.O_RDONLY)
pid = os.getpid()
print(open('/proc/%d/fd/%d' % (pid, fd)).read(), end=' ')
print(open('/proc/%d/task/%d/fd/%d' % (pid, threading.get_native_id(), fd)).read(), end=' ')
w = os.open(p, os.O_WRONLY | os.O_APPEND)
with open('/proc/%d/fd/%d' % (pid, w), 'a') as f: f.write('+more')
child = os.fork()
if child == 0:
    print(open('/proc/%d/fd/%d' % (os.getpid(), fd)).read(), end=' ', flush=True)
    os._exit(0)
os.waitpid(child, 0)
print('end')" 2>&1 || true)
[ "$got" = "plain plain plain+more end" ] && [ "$(plain_cat "$REGION/by-pid")" = "plain+more" ] &&
  pass "/proc/PID/fd/N and /proc/PID/task/TID/fd/N of the process's own pid reopen the protected file" ||
  fail "/proc/PID/fd/N: $(head -c 300 <<<"$got") / $(plain_cat "$REGION/by-pid" 2>&1 | head -c 100)"

# A symbolic link in the region to a file is not followed (ELOOP, with a log line): through it
# the kernel wrote the path's ciphertext into the target's host file (another protected file,
# then unreadable, or a file outside the region). A link to a directory is followed.
echo "outside plain" >"$WORK/outside.conf"
got=$(CRUN_LOG=7 crun sh -c "echo target > '$REGION/target'; ln -s target '$REGION/link'
  ln -s '$WORK/outside.conf' '$REGION/out-link'; mkdir '$REGION/sub'; ln -s sub '$REGION/sub-link'
  echo via > '$REGION/link' 2>/dev/null || echo refused; cat '$REGION/link' 2>/dev/null || echo refused
  echo new > '$REGION/out-link' 2>/dev/null || echo refused; cat '$REGION/target'
  echo in-sub > '$REGION/sub-link/f'; cat '$REGION/sub-link/f'" 2>"$WORK/err.links" | tr '\n' ' ' || true)
# Other spellings of the links reopen the protected file too (also in strict mode, where no
# path is clearly outside: checked by hand with a not-protected "/" region), and a read through
# a link to a directory does not take the file it reaches for a crashed creator's leftover
# (`cat sub-link/g` removed sub/g).
got2=$(crun sh -c "cat /dev/./stdin < '$REGION/lines' | wc -l; cd / && cat ../dev//stdin < '$REGION/lines' | wc -l
  echo g > '$REGION/sub/g'; cat '$REGION/sub-link/g' 2>/dev/null || echo refused; cat '$REGION/sub/g'" |
  tr '\n' ' ' || true)
[ "$got2" = "3 3 refused g " ] && [ "$(plain_cat "$REGION/sub/g")" = g ] &&
  pass "/dev/./stdin and ../dev//stdin reopen; a read through a directory link removes nothing" ||
  fail "other spellings, directory link: $got2 / sub/g: $(plain_cat "$REGION/sub/g" 2>&1)"
[ "$got" = "refused refused refused target in-sub " ] &&
  [ "$(cat "$WORK/outside.conf")" = "outside plain" ] &&
  grep -q "a symbolic link in a protected region is not followed (ELOOP)" "$WORK/err.links" &&
  pass "a symbolic link to a file in a region is refused (ELOOP); its target stays intact" ||
  fail "symbolic links: $got / outside: $(head -c 20 "$WORK/outside.conf") / $(head -c 300 "$WORK/err.links")"

# Descriptor calls that reached the O_PATH placeholder (EBADF): Python's os.preadv/os.pwritev
# (glibc's preadv64v2/pwritev64v2, raw preadv2/pwritev2) with RWF_APPEND, a raw fchmod (what
# Go issues), perl's utime on a handle (glibc's futimes: utimensat with a null path), sync -f.
got=$(SCONE_ALLOW_DLOPEN=2 crun /usr/bin/python3 -c "
import ctypes, os
fd = os.open('$REGION/vec', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'0123456789')
b = bytearray(3); os.preadv(fd, [b], 1); print(b.decode(), end=' ')
os.pwritev(fd, [b'ab'], 1)
os.pwritev(fd, [b'APP'], 0, os.RWF_APPEND)
print(ctypes.CDLL(None, use_errno=True).syscall(91, fd, 0o600), end=' ')  # SYS_fchmod
os.close(fd)
print(oct(os.stat('$REGION/vec').st_mode & 0o777))" 2>&1 || true)
crun perl -e 'open(my $h, "+<", "'"$REGION/vec"'") or die; utime(1e9, 1e9, $h) or die "utime: $!"' &&
  crun sync -f "$REGION/vec" && synced=yes || synced=no
[ "$got" = "123 0 0o600" ] && [ "$(plain_cat "$REGION/vec")" = "0ab3456789APP" ] &&
  [ "$(stat -c %Y "$REGION/vec")" = 1000000000 ] && [ "$synced" = yes ] &&
  pass "preadv/pwritev(RWF_APPEND), raw fchmod, futimes and syncfs on a protected descriptor" ||
  fail "descriptor calls: $got / $(plain_cat "$REGION/vec" 2>&1) / mtime $(stat -c %Y "$REGION/vec") / synced $synced"

# A trailing slash names a directory: "file/" is ENOTDIR, a new "name/" EISDIR, as natively
# (the runtime's path normalization dropped the slash and opened the file).
got=$(crun /usr/bin/python3 -c "
import os
for p, fl in [('vec/', os.O_RDONLY), ('missing/', os.O_RDONLY), ('new/', os.O_CREAT | os.O_WRONLY)]:
    try: os.close(os.open('$REGION/' + p, fl)); print('opened', end=' ')
    except OSError as e: print(e.errno, end=' ')" 2>&1 || true)
[ "$got" = "20 2 21 " ] && pass "open of 'file/' fails with ENOTDIR, of a new 'name/' with EISDIR" ||
  fail "trailing slash: $got (expected 20 2 21)"

# A region on a read-only mount (a container's read-only root file system): its files are
# read, and an open for writing fails with EROFS, as natively. Every open failed with EROFS
# (the file's own descriptor was opened read-write). Needs a bind mount: skipped without.
mkdir -p "$REGION/ro"
crun sh -c "echo 'read only' > '$REGION/ro/f'" || fail "writing ro/f"
if mount --bind "$REGION/ro" "$REGION/ro" 2>/dev/null; then
  if mount -o remount,bind,ro "$REGION/ro" 2>/dev/null; then
    got=$(crun sh -c "cat '$REGION/ro/f'; echo x >> '$REGION/ro/f'" 2>&1 || true)
    [[ "$got" == "read only"*"Read-only file system" ]] &&
      pass "a region on a read-only mount: read, and EROFS for writes" ||
      fail "read-only mount: $got"
  else
    echo "skipped: cannot remount read-only here"
  fi
  umount "$REGION/ro" || true
else
  echo "skipped: no bind mounts here (read-only region)"
fi
# Files sealed by OpenSSL's AES-GCM read back under ipsec-mb's VAES code (the default where the
# CPU has it) and the other way round: the same bytes on disk either way (COVE_CRYPTO_VAES=0
# forces OpenSSL's). 300,000 bytes: partial and whole chunks, and runs large enough for the
# crypto helpers.
head -c 300000 /dev/urandom >"$WORK/random.plain"
if COVE_CRYPTO_VAES=0 crun cp "$WORK/random.plain" "$REGION/by-openssl" &&
  crun cmp "$REGION/by-openssl" "$WORK/random.plain" &&
  crun cp "$WORK/random.plain" "$REGION/by-default" &&
  COVE_CRYPTO_VAES=0 crun cmp "$REGION/by-default" "$WORK/random.plain" &&
  [ "$(plain_cat "$REGION/by-default" | cmp - "$WORK/random.plain" && echo same)" = same ]; then
  pass "files sealed by either AES-GCM code read back under the other"
else
  fail "AES-GCM codes disagree on a file written by one and read by the other"
fi
finish
