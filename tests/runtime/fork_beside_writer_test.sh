# fork() while another thread writes a protected file: no child hangs on the file's lock
# (the writing thread held it at the fork, and the child does not have that thread), no child
# commits the parent's uncommitted writes at its exit (the parent's next commit then failed
# with EIO and its writes were lost), and the file holds what the parent wrote. The same beside
# a thread in fflush(NULL) of a protected stream, and beside one creating files.
# Usage: fork_beside_writer_test.sh COVE RUNTIME_SO FORK_BESIDE_WRITER
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: fork_beside_writer_test.sh COVE RUNTIME_SO FORK_BESIDE_WRITER}
REGION=$WORK/region
mkdir -p "$REGION"
make_volume "$REGION" encrypted

if out=$(crun "$PROGRAM" pwrite "$REGION/big" 100 2>"$WORK/err"); then
  [ "$out" = "100 children exited, size 1048576" ] &&
    pass "100 forks beside a writing thread: every child exited, the parent's commit stood" ||
    fail "printed: $out"
  size=$(plain_cat "$REGION/big" | wc -c)
  [ "$size" = 1048576 ] || fail "cove fspf cat: $size bytes"
  [ "$(plain_cat "$REGION/big" | tr -d a | wc -c)" = 0 ] || fail "cove fspf cat: not only 'a's"
else
  fail "fork_beside_writer pwrite: $(head -c 400 "$WORK/err")"
fi
# (found by a review: glibc's fork takes its stdio list lock after the fork handlers, and a
# child staged and saved a file its parent had created in the instant before the fork.)
out=$(crun "$PROGRAM" fflush "$REGION/stream" 100 2>"$WORK/err") &&
  [ "$out" = "100 children exited" ] &&
  pass "100 forks beside a thread in fflush(NULL) of a protected stream" ||
  fail "fflush: $out $(head -c 300 "$WORK/err")"
mkdir -p "$REGION/new"
out=$(crun "$PROGRAM" newfiles "$REGION/new" 200 2>"$WORK/err") &&
  [ "${out#* files, }" = "0 bad" ] &&
  pass "forks beside a thread creating files: the parent's files keep every write ($out)" ||
  fail "newfiles: $out $(head -c 300 "$WORK/err")"
finish
