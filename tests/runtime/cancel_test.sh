# pthread_cancel ends a thread blocked in an interposed call (read, write, open, fcntl F_SETLKW)
# or in one that goes through the syscall trap (recv, poll), as it does natively: glibc's
# versions of these are cancellation points, and so must the runtime's be, or a pthread_join on
# such a thread hangs (a server stopping its workers).
# Usage: cancel_test.sh COVE RUNTIME_SO CANCEL_BLOCKED
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: cancel_test.sh COVE RUNTIME_SO CANCEL_BLOCKED}
DATA=$WORK/data
mkdir -p "$DATA" "$WORK/native" "$WORK/cove"
make_volume "$DATA" encrypted
"$PROGRAM" "$WORK/native" >"$WORK/native.out" 2>&1 || fail "natively: $(cat "$WORK/native.out")"
if timeout 60 "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag-file "$TAG_FILE" -- \
  "$PROGRAM" "$WORK/cove" >"$WORK/cove.out" 2>&1; then
  pass "under cove run, every blocked thread is cancelled: $(tr '\n' ';' <"$WORK/cove.out")"
else
  fail "under cove run: $(cat "$WORK/cove.out")"
fi
finish
