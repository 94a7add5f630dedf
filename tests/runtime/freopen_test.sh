# freopen onto a protected path: stdout redirected into an encrypted file and read back through
# a reopened stream; the file is ciphertext on disk and `cove fspf cat` gives the exact line.
# Usage: freopen_test.sh COVE RUNTIME_SO STDIO_FREOPEN
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: freopen_test.sh COVE RUNTIME_SO STDIO_FREOPEN}
DATA=$WORK/data
mkdir -p "$DATA"
make_volume "$DATA" encrypted
if crun "$PROGRAM" "$DATA/out.txt" 2>"$WORK/err"; then
  grep -q "read back: FREOPEN-SECRET written through stdout (fd 1)" "$WORK/err" \
    && pass "freopen write onto stdout and freopen read work on a protected file" \
    || fail "unexpected read-back: $(cat "$WORK/err")"
else
  fail "stdio_freopen failed: $(cat "$WORK/err")"
fi
contains_bytes "$DATA/out.txt" "FREOPEN-SECRET" && fail "freopen output is plaintext on disk"
[ "$(plain_cat "$DATA/out.txt")" = "FREOPEN-SECRET written through stdout (fd 1)" ] \
  && pass "the file reads back exactly with cove fspf cat" || fail "cove fspf cat differs"
finish
