# The socket, poll/select and epoll calls under `cove run`: each gives the same result as
# natively (socket_calls checks them all, including waits whose signal mask blocks SIGSYS and
# waits that name a file, a protected one under the runtime), and
# none of a server's per-request calls goes through the syscall trap (a SIGSYS round trip each:
# socket_calls makes 12 such calls per round, and the runtime reports the trapped count at
# SCONE_LOG=6).
# Usage: socket_test.sh COVE RUNTIME_SO SOCKET_CALLS
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: socket_test.sh COVE RUNTIME_SO SOCKET_CALLS}
ROUNDS=2000
mkdir -p "$WORK/data" "$WORK/native"
make_volume "$WORK/data" encrypted

if out=$("$PROGRAM" "$ROUNDS" "$WORK/native/polled" 2>&1); then
  pass "natively: $out"
else
  fail "natively: $out"
fi
if CRUN_LOG=6 crun "$PROGRAM" "$ROUNDS" "$WORK/data/polled" >"$WORK/cove.out" 2>"$WORK/cove.err" &&
  grep -qx ok "$WORK/cove.out"; then
  pass "under cove run: every call gives the native result"
  [ "$(plain_cat "$WORK/data/polled")" = data ] || fail "the polled file is not protected data"
else
  fail "under cove run: $(cat "$WORK/cove.out" "$WORK/cove.err")"
fi
trapped=$(sed -n 's/.* \([0-9]*\) syscalls went through the syscall trap/\1/p' "$WORK/cove.err")
if [ -z "$trapped" ]; then
  fail "no trapped-syscall count in the log: $(cat "$WORK/cove.err")"
elif [ "$trapped" -lt "$ROUNDS" ]; then
  pass "$trapped syscalls trapped in all (start-up and exit), for $((ROUNDS * 6)) calls in the loop"
else
  fail "$trapped syscalls trapped: the loop's calls go through the syscall trap"
fi
finish
