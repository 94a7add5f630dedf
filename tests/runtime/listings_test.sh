# Directory listings of a protected region leave out the runtime's redo journals
# (NAME.cove-journal) and nothing else: a directory, or a file of an older volume, with that
# suffix is listed, and the old getdents syscall is filtered as getdents64 is. New protected
# files may not take such a name (it is the journal's of the file beside it). A directory that looks empty because it
# holds only orphan journals (left by a crash, their files gone) can be removed; one holding a
# recorded file's journal cannot, and keeps it.
# Usage: listings_test.sh COVE RUNTIME_SO RAW_GETDENTS
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
RAW_GETDENTS=${3:?usage: listings_test.sh COVE RUNTIME_SO RAW_GETDENTS}
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
REGION=$WORK/enc
mkdir -p "$REGION/list" "$REGION/kept"
echo a >"$REGION/list/a"
echo b >"$REGION/list/b"
echo r >"$REGION/kept/r"
make_volume "$REGION" encrypted

# orphan_journal PATH: a journal as a crash leaves it (its magic, a file id, the rest cut short).
orphan_journal() { printf 'COVEJNL2%016d' 0 >"$1"; }
orphan_journal "$REGION/list/gone.cove-journal"

# A protected file named like a journal would be the host file of the journal of the file
# beside it (x.cove-journal of x): the next commit of x overwrote it, then removed it. Such
# names are refused (EINVAL, a log line), as a create and as a rename's target. A directory so
# named, and a file an older cove let a program create (both made by hand here; the file is
# another file's host file), are listed: every name with the suffix was hidden. The journal of
# a staged rewrite and an orphan one are not listed.
cp "$REGION/list/b" "$REGION/list/legacy.cove-journal"
mkdir "$REGION/list/dir.cove-journal"  # by hand: cove refuses such a name now (below)
got=$(CRUN_LOG=3 crun "$PYTHON" -c "
import errno, os
d = '$REGION/list'
for attempt in (lambda: open(d + '/x.cove-journal', 'w'), lambda: os.rename(d + '/b', d + '/b.cove-journal')):
    try:
        attempt()
        print('allowed')
    except OSError as e:
        print(errno.errorcode[e.errno])
# Staged: its journal lies beside it until the save (over 4 KiB: a smaller file's rewrite needs
# no journal, docs/file-shield.md).
open(d + '/a', 'w').write('rewritten' * 600)
print(os.path.exists(d + '/a.cove-journal'), sorted(os.listdir(d)))" 2>"$WORK/err.reserved" | tr '\n' ' ' || true)
[ "$got" = "EINVAL EINVAL True ['a', 'b', 'dir.cove-journal', 'legacy.cove-journal'] " ] &&
  [ "$(grep -c "are reserved in protected regions for cove's redo journals" "$WORK/err.reserved")" = 2 ] &&
  pass "*.cove-journal refused as a new protected file's name; such a directory and old file listed, journals not" ||
  fail "names with the journal suffix: $got / $(head -c 300 "$WORK/err.reserved")"
# Nor may a directory take such a name now (every commit of the file beside it failed), and a
# link put at a journal's name is not followed (the commit truncated the link's target).
got=$(crun sh -c "mkdir '$REGION/list/b.cove-journal' 2>&1 || echo refused" | tail -1)
ln -s "$WORK/target" "$REGION/list/b.cove-journal"
echo "keep me" >"$WORK/target"
crun sh -c "head -c 5000 /dev/zero | tr '\\0' r > '$REGION/list/b'" 2>"$WORK/err.link" || true
[ "$got" = refused ] && [ "$(cat "$WORK/target")" = "keep me" ] &&
  grep -q "cove-journal" "$WORK/err.link" &&
  pass "mkdir of a *.cove-journal name refused; a link at a journal's name not followed" ||
  fail "mkdir $got, target $(cat "$WORK/target"), $(head -c 300 "$WORK/err.link")"
rm "$REGION/list/b.cove-journal"
[ "$(crun ls "$REGION/list" | tr '\n' ' ')" = "a b dir.cove-journal legacy.cove-journal " ] &&
  pass "ls lists them, not an orphan journal" ||
  fail "ls: $(crun ls "$REGION/list" 2>&1 | tr '\n' ' ')"
# The old getdents syscall (struct linux_dirent, d_type in a record's last byte) is filtered as
# getdents64 is: it listed the journals. Also with a buffer of one or two entries per call.
for call in getdents64 getdents; do
  for size in 4096 64; do
    got=$(crun "$RAW_GETDENTS" $call "$REGION/list" $size | sort | tr '\n' ' ' || true)
    [ "$got" = "a f b f dir.cove-journal d legacy.cove-journal f " ] && pass "raw $call, buffer of $size bytes" ||
      fail "raw $call, buffer of $size bytes, listed: $got"
  done
done
# rmdir, rm -r and shutil.rmtree of directories that hold only orphan journals (an ordinary
# one, one cut short before its first write, one of a 250-byte name, whose journal name is
# hashed) succeed, with a warning naming each journal; they failed with ENOTEMPTY although ls
# showed nothing. A journal of a recorded file whose host file is gone is needed for its
# recovery: that rmdir still fails and the journal stays.
mkdir -p "$REGION/empty1" "$REGION/empty2" "$REGION/empty3"
orphan_journal "$REGION/empty1/gone.cove-journal"
: >"$REGION/empty1/torn.cove-journal"
orphan_journal "$REGION/empty2/$(printf 'L%.0s' $(seq 1 200)).$(printf '0%.0s' $(seq 1 32)).cove-journal"
orphan_journal "$REGION/empty3/gone.cove-journal"
orphan_journal "$REGION/kept/r.cove-journal"
rm "$REGION/kept/r"  # its host file, outside cove: the fspf still records kept/r
got=$(CRUN_LOG=3 crun sh -c "ls -A '$REGION/empty1' | wc -l; rmdir '$REGION/empty1' && echo removed
  rm -r '$REGION/empty2' && echo removed
  $PYTHON -c \"import shutil; shutil.rmtree('$REGION/empty3'); print('removed')\"
  ls -A '$REGION/kept' | wc -l; rmdir '$REGION/kept' 2>&1 || true" 2>"$WORK/err.rmdir" | tr '\n' ' ' || true)
[[ "$got" == "0 removed removed removed 0 rmdir: "*"Directory not empty " ]] &&
  [ ! -e "$REGION/empty1" ] && [ ! -e "$REGION/empty2" ] && [ ! -e "$REGION/empty3" ] &&
  [ -e "$REGION/kept/r.cove-journal" ] &&
  [ "$(grep -c "a redo journal of no file the fspf records" "$WORK/err.rmdir")" = 4 ] &&
  pass "rmdir of a directory holding only orphan journals removes them; a recorded file's stays" ||
  fail "rmdir with orphan journals: $got / $(ls -A "$REGION"/empty* "$REGION/kept" 2>&1 | tr '\n' ' ') / $(head -c 400 "$WORK/err.rmdir")"
finish
