# A program that bypasses libc with raw syscall(SYS_openat) / syscall(SYS_read) on a protected
# file must not read ciphertext silently: under `cove run` the syscall trap hands the calls to
# the shield, so the program reads the plaintext; a tampered file is refused with an error.
# Usage: raw_syscall_test.sh COVE RUNTIME_SO RAW_OPENAT
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
RAW_OPENAT=${3:?usage: raw_syscall_test.sh COVE RUNTIME_SO RAW_OPENAT}

DATA=$WORK/data
mkdir -p "$DATA"
printf 'RAW-SYSCALL-SECRET line 1\nline 2\n' >"$DATA/secret.txt"
head -c 200000 /dev/urandom >"$DATA/big.bin"
cp "$DATA/big.bin" "$WORK/big.plain"
make_volume "$DATA" encrypted
contains_bytes "$DATA/secret.txt" "RAW-SYSCALL-SECRET" && fail "protected file is plaintext on disk"

# Natively, the raw openat reads the host file: ciphertext (this is what the trap prevents).
"$RAW_OPENAT" "$DATA/secret.txt" >"$WORK/native.out"
grep -q "RAW-SYSCALL-SECRET" "$WORK/native.out" && fail "native raw read saw plaintext?"

# Under cove run, the same raw syscalls are shielded: exact plaintext.
if crun "$RAW_OPENAT" "$DATA/secret.txt" >"$WORK/shielded.out" 2>"$WORK/shielded.err"; then
  if cmp -s "$WORK/shielded.out" <(printf 'RAW-SYSCALL-SECRET line 1\nline 2\n'); then
    pass "raw openat/read of a protected file returns the plaintext"
  else
    fail "raw openat/read returned other bytes: $(head -c 80 "$WORK/shielded.out" | od -c | head -2)"
  fi
else
  fail "raw openat under cove run failed: $(cat "$WORK/shielded.err")"
fi
# openat2 (no libc wrapper, so always a raw syscall) is shielded the same way; with a RESOLVE_*
# restriction the runtime cannot honor it is refused (ENOSYS, callers fall back to openat):
# never the host file's ciphertext.
if crun "$RAW_OPENAT" "$DATA/secret.txt" openat2 >"$WORK/openat2.out" 2>"$WORK/openat2.err" &&
  cmp -s "$WORK/openat2.out" <(printf 'RAW-SYSCALL-SECRET line 1\nline 2\n'); then
  pass "raw openat2 of a protected file returns the plaintext"
else
  fail "raw openat2: $(head -c 80 "$WORK/openat2.out" | od -c | head -2) $(cat "$WORK/openat2.err")"
fi
if crun "$RAW_OPENAT" "$DATA/secret.txt" openat2-resolve >"$WORK/resolve.out" 2>"$WORK/resolve.err"; then
  fail "raw openat2 with RESOLVE_NO_SYMLINKS succeeded: $(head -c 80 "$WORK/resolve.out" | od -c | head -2)"
else
  grep -q "Function not implemented" "$WORK/resolve.err" &&
    [ ! -s "$WORK/resolve.out" ] &&
    pass "raw openat2 with RESOLVE_NO_SYMLINKS is refused: $(grep raw_openat "$WORK/resolve.err")" ||
    fail "raw openat2 with RESOLVE_NO_SYMLINKS: $(cat "$WORK/resolve.err")"
fi
# The same calls from a `syscall` instruction of the program itself, and of a library it loads
# after start (SCONE_ALLOW_DLOPEN=2): patched like glibc's (or trapped by the kernel with
# COVE_SYSCALL_TRAP=kernel).
LIBRARY=$(dirname "$RAW_OPENAT")/libraw_syscall_lib.so
for mode in inline "dlopen $LIBRARY"; do
  # shellcheck disable=SC2086 # the mode's words are separate arguments
  if SCONE_ALLOW_DLOPEN=2 RAW_SYSCALL_LIB_CTOR_PATH=$DATA/secret.txt crun "$RAW_OPENAT" \
    "$DATA/secret.txt" $mode >"$WORK/mode.out" 2>"$WORK/mode.err" &&
    cmp -s "$WORK/mode.out" <(printf 'RAW-SYSCALL-SECRET line 1\nline 2\n'); then
    pass "raw openat/read from ${mode%% *} code return the plaintext"
  else
    fail "raw openat/read from ${mode%% *} code: $(head -c 80 "$WORK/mode.out" | od -c | head -2) $(cat "$WORK/mode.err")"
  fi
done
# The library's constructor, at both loads (the second after a dlclose, at the same address).
[ "$(grep -c '^constructor read: RAW-SYSCALL-SECRET' "$WORK/mode.err")" = 2 ] &&
  pass "a dlopen'd library's constructor reads the plaintext, loaded twice" ||
  fail "constructor of the dlopen'd library: $(cat "$WORK/mode.err")"
if crun "$RAW_OPENAT" "$DATA/big.bin" | cmp -s - "$WORK/big.plain"; then
  pass "raw reads of a 200 KB protected file return the exact plaintext"
else
  fail "raw reads of big.bin differ from the plaintext"
fi

# A tampered chunk is refused (EBADMSG/EIO), never returned.
flip_bit "$DATA/big.bin" 50000
if crun "$RAW_OPENAT" "$DATA/big.bin" >"$WORK/tampered.out" 2>"$WORK/tampered.err"; then
  fail "raw read of a tampered file succeeded"
else
  grep -Eq "Bad message|Input/output error" "$WORK/tampered.err" \
    && pass "raw read of a tampered file fails: $(grep raw_openat "$WORK/tampered.err" | head -1)" \
    || fail "unexpected error for the tampered file: $(cat "$WORK/tampered.err")"
  # The tampered chunk lies in the first 64 KiB read: nothing at all may have been printed.
  [ ! -s "$WORK/tampered.out" ] || fail "bytes of a failed read reached the program"
fi
finish
