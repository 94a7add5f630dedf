# Directory listings of a protected region leave out the runtime's redo journals
# (NAME.cove-journal) and nothing else: a program's own file with that suffix is listed, and the
# old getdents syscall is filtered as getdents64 is.
# Usage: listings_test.sh COVE RUNTIME_SO RAW_GETDENTS
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
RAW_GETDENTS=${3:?usage: listings_test.sh COVE RUNTIME_SO RAW_GETDENTS}
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
REGION=$WORK/enc
mkdir -p "$REGION/list"
echo a >"$REGION/list/a"
echo b >"$REGION/list/b"
make_volume "$REGION" encrypted

# orphan_journal PATH: a journal as a crash leaves it (its magic, a file id, the rest cut short).
orphan_journal() { printf 'COVEJNL2%016d' 0 >"$1"; }
orphan_journal "$REGION/list/gone.cove-journal"

# A file of the program's own named like a journal is listed (every such name was hidden); the
# journal of a staged rewrite and an orphan one are not.
got=$(crun "$PYTHON" -c "
import os
d = '$REGION/list'
open(d + '/x.cove-journal', 'w').write('mine')
open(d + '/a', 'w').write('rewritten')  # staged: its journal lies beside it until the save
print(os.path.exists(d + '/a.cove-journal'), sorted(os.listdir(d)), open(d + '/x.cove-journal').read())" 2>&1 || true)
[ "$got" = "True ['a', 'b', 'x.cove-journal'] mine" ] &&
  pass "a file of the program's named *.cove-journal is listed, journals are not" ||
  fail "listing with *.cove-journal names: $got"
[ "$(crun ls "$REGION/list" | tr '\n' ' ')" = "a b x.cove-journal " ] &&
  pass "ls lists x.cove-journal, not an orphan journal" ||
  fail "ls: $(crun ls "$REGION/list" 2>&1 | tr '\n' ' ')"
# The old getdents syscall (struct linux_dirent, d_type in a record's last byte) is filtered as
# getdents64 is: it listed the journals. Also with a buffer of one or two entries per call.
for call in getdents64 getdents; do
  for size in 4096 64; do
    got=$(crun "$RAW_GETDENTS" $call "$REGION/list" $size | sort | tr '\n' ' ' || true)
    [ "$got" = "a f b f x.cove-journal f " ] && pass "raw $call, buffer of $size bytes" ||
      fail "raw $call, buffer of $size bytes, listed: $got"
  done
done
finish
