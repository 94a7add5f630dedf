# Rewrites of existing small files are staged at their last close and saved in batches, as new
# files are (docs/runtime.md, "Freshness and the tag"): many rewrites in one process keep every
# new content; the same process reads its rewrite back at once; another process's open waits
# for the batch's save (at the latest a few COVE_COMMIT_DELAY_MS) and reads the new content; a
# process killed before the save leaves every file at its previous commit, readable and
# writable again; a staged new file its creator reads back keeps its lock; a low descriptor
# limit keeps the batches small.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PYTHON=/usr/bin/python3
REGION=$WORK/region
mkdir -p "$REGION"
for i in $(seq 0 299); do echo "old $i" >"$REGION/f$i"; done
make_volume "$REGION" encrypted
export SCONE_ALLOW_DLOPEN=2

# 300 rewrites, then each read back in the same process (its own rewrites, staged or saved).
out=$(crun "$PYTHON" -c "
for i in range(300):
    with open('$REGION/f%d' % i, 'w') as f:
        f.write('new %d\n' % i)
print(all(open('$REGION/f%d' % i).read() == 'new %d\n' % i for i in range(300)))" 2>"$WORK/err")
bad=0
for i in $(seq 0 299); do
  [ "$(plain_cat "$REGION/f$i")" = "new $i" ] || bad=$((bad + 1))
done
[ "$out" = True ] && [ "$bad" = 0 ] && ! ls "$REGION" | grep -q journal && [ ! -s "$WORK/err" ] &&
  pass "300 rewrites in one process: read back at once, all committed at exit, no journal left" ||
  fail "300 rewrites: output $out, $bad wrong, $(ls "$REGION" | grep -c journal) journals, $(head -c 300 "$WORK/err")"

# Another process opening the file while its rewrite waits for the batch: the open waits for
# the writer's background save (COVE_COMMIT_DELAY_MS after the writes pause) and reads the new
# content. A file another process keeps open for writing is refused with EBUSY after that wait.
mkfifo "$WORK/staged"
COVE_COMMIT_DELAY_MS=200 crun "$PYTHON" -c "
import time
with open('$REGION/f0', 'w') as f:
    f.write('shared\n')
open('$WORK/staged', 'w').close()
time.sleep(1.5)" 2>"$WORK/err.writer" &
writer=$!
# (The reader's wait, six of its delays, is made longer than the writer's save needs.)
out=$(COVE_COMMIT_DELAY_MS=1000 crun "$PYTHON" -c "
open('$WORK/staged').read()
print(open('$REGION/f0').read().strip())" 2>"$WORK/err.reader")
wait "$writer" || fail "writer: $(cat "$WORK/err.writer")"
[ "$out" = shared ] && [ ! -s "$WORK/err.reader" ] &&
  pass "another process opening a staged rewrite waits for the save and reads the new content" ||
  fail "second process: $out / $(head -c 300 "$WORK/err.reader")"

COVE_COMMIT_DELAY_MS=100 crun "$PYTHON" -c "
import time
f = open('$REGION/f1', 'a')
f.write('more\\n')
f.flush()   # the first write takes the exclusive lock
open('$WORK/staged', 'w').close()
time.sleep(3)
f.close()" 2>"$WORK/err.writer" &
writer=$!
out=$(COVE_COMMIT_DELAY_MS=100 crun "$PYTHON" -c "
import errno, time
open('$WORK/staged').read()
start = time.monotonic()
try:
    open('$REGION/f1').read()
    print('opened')
except OSError as e:
    print(errno.errorcode[e.errno], time.monotonic() - start >= 0.5)" 2>"$WORK/err.reader")
wait "$writer" || fail "writer: $(cat "$WORK/err.writer")"
[ "$out" = "EBUSY True" ] && [ "$(grep -c "being written by another process (EBUSY)" "$WORK/err.reader")" = 1 ] &&
  pass "a file another process keeps open for writing: EBUSY after the wait, one log line" ||
  fail "busy file: $out / $(head -c 300 "$WORK/err.reader")"

# kill -9 before the save (no background save for 60 s): the previous commits stay.
COVE_COMMIT_DELAY_MS=60000 crun "$PYTHON" -c "
import os, signal
for i in range(2, 50):
    with open('$REGION/f%d' % i, 'w') as f:
        f.write('lost %d\n' % i)
os.kill(os.getpid(), signal.SIGKILL)" 2>/dev/null && fail "kill -9 not fatal?" || true
bad=0
for i in $(seq 2 49); do
  [ "$(plain_cat "$REGION/f$i")" = "new $i" ] || bad=$((bad + 1))
done
out=$(crun sh -c "echo again > '$REGION/f7'; cat '$REGION/f7' '$REGION/f8'" 2>&1)
[ "$bad" = 0 ] && [ "$out" = "again
new 8" ] && [ "$(plain_cat "$REGION/f7")" = again ] &&
  pass "kill -9 before the save: every file keeps its previous commit and takes new ones" ||
  fail "after kill -9: $bad files changed, then: $out"

# Another process removing, replacing or printing a file whose rewrite is staged waits for the
# writer's save: no rewrite is lost and no file broken (the writer pauses past its commit delay
# after `staged`, and exits once `done`).
# staged_writer FILE CONTENT [DELAY_MS]: a process under cove run rewrites FILE, says so through
# `staged`, and exits once told through `done`.
staged_writer() {
  mkfifo "$WORK/staged" "$WORK/done" 2>/dev/null || true
  COVE_COMMIT_DELAY_MS=${3:-200} crun "$PYTHON" -c "
with open('$1', 'w') as f:
    f.write('$2\n')
open('$WORK/staged', 'w').close()
open('$WORK/done').read()" 2>"$WORK/err.writer" &
  writer=$!
  cat "$WORK/staged" >/dev/null
}
staged_writer "$REGION/f10" gone
COVE_COMMIT_DELAY_MS=1000 crun rm "$REGION/f10" 2>"$WORK/err" || fail "rm: $(cat "$WORK/err")"
: >"$WORK/done"
wait "$writer" && status=0 || status=$?
[ "$status" = 0 ] && [ ! -e "$REGION/f10" ] && ! plain_cat "$REGION/f10" >/dev/null 2>&1 &&
  [ "$(plain_cat "$REGION/f11")" = "new 11" ] &&
  pass "rm of a file another process's rewrite staged: waits for its save, then removes it" ||
  fail "rm of a staged file: writer status $status, $(cat "$WORK/err.writer") / $(ls "$REGION" | grep f10)"

staged_writer "$REGION/f12" replaced
COVE_COMMIT_DELAY_MS=1000 crun mv "$REGION/f13" "$REGION/f12" 2>"$WORK/err" ||
  fail "mv: $(cat "$WORK/err")"
: >"$WORK/done"
wait "$writer" && status=0 || status=$?
[ "$status" = 0 ] && [ "$(plain_cat "$REGION/f12")" = "new 13" ] && [ ! -e "$REGION/f13" ] &&
  pass "mv over a file another process's rewrite staged: waits for its save, then replaces it" ||
  fail "mv over a staged file: writer status $status, $(cat "$WORK/err.writer"), f12: $(plain_cat "$REGION/f12" 2>&1)"

staged_writer "$REGION/f14" printed 60000  # no background save before the exit
plain_cat "$REGION/f14" >"$WORK/out" 2>&1 && status=0 || status=$?
: >"$WORK/done"
wait "$writer" || fail "writer: $(cat "$WORK/err.writer")"
[ "$status" = 1 ] && grep -q "f14: locked by a process under cove run" "$WORK/out" &&
  [ "$(plain_cat "$REGION/f14")" = printed ] &&
  pass "cove fspf cat of a file whose rewrite is staged: refused (locked), then the new content" ||
  fail "cat of a staged file: status $status, $(cat "$WORK/out") / $(plain_cat "$REGION/f14" 2>&1)"

# A save that fails when this process reopens its staged file keeps the file locked: another
# process cannot write it in between, and the rewrite is saved at exit once saves work again.
mkfifo "$WORK/blocked" "$WORK/tried"
COVE_COMMIT_DELAY_MS=60000 crun "$PYTHON" -c "
import os
with open('$REGION/f15', 'w') as f:
    f.write('first\n')
os.mkdir('$WORK/fspf.cove-tmp')   # the fspf cannot be written while this directory is there
try:
    open('$REGION/f15').read()
except OSError:
    pass
open('$WORK/blocked', 'w').close()
open('$WORK/tried').read()
os.rmdir('$WORK/fspf.cove-tmp')" 2>"$WORK/err.writer" &
writer=$!
cat "$WORK/blocked" >/dev/null
out=$(COVE_COMMIT_DELAY_MS=50 crun "$PYTHON" -c "
import errno
try:
    open('$REGION/f15', 'w').write('intruder\n')
    print('written')
except OSError as e:
    print(errno.errorcode[e.errno])" 2>/dev/null)
: >"$WORK/tried"
wait "$writer" && status=0 || status=$?
[ "$out" = EBUSY ] && [ "$status" = 0 ] && [ "$(plain_cat "$REGION/f15")" = first ] &&
  pass "a failed save at a reopen keeps the staged file locked; saved at exit" ||
  fail "failed save at reopen: other writer $out, status $status, f15: $(plain_cat "$REGION/f15" 2>&1) $(tail -c 300 "$WORK/err.writer")"

# An exec that fails after its save: the process goes on, and a file it stages again is locked
# again (the save before the exec had released every lock): another process's reader waits and
# is refused, and the file keeps all three writes.
head -c 3000 /dev/zero | tr '\0' a | crun sh -c "cat > '$REGION/f17'" || fail "f17"
COVE_COMMIT_DELAY_MS=60000 crun "$PYTHON" -c "
import os
with open('$REGION/f17', 'a') as f:
    f.write('b' * 10)
try:
    os.execv('/nonexistent/program', ['program'])
except OSError:
    pass
with open('$REGION/f17', 'a') as f:
    f.write('c' * 6000)   # past the committed end: its journal must not be undone
open('$WORK/staged', 'w').close()
open('$WORK/done').read()" 2>"$WORK/err.writer" &
writer=$!
cat "$WORK/staged" >/dev/null
COVE_COMMIT_DELAY_MS=50 crun cat "$REGION/f17" >/dev/null 2>"$WORK/err" && status=0 || status=$?
: >"$WORK/done"
wait "$writer" || fail "writer: $(cat "$WORK/err.writer")"
[ "$status" != 0 ] && grep -q "f17: the file is being written by another process (EBUSY)" "$WORK/err" &&
  [ "$(plain_cat "$REGION/f17" | tr -s abc)" = abc ] && [ "$(plain_cat "$REGION/f17" | wc -c)" = 9010 ] &&
  pass "after a failed exec, a file staged again is locked again and keeps every write" ||
  fail "failed exec: reader status $status $(cat "$WORK/err"), f17: $(plain_cat "$REGION/f17" 2>&1 | tr -s abc)"

# A FIFO in a region (not a protected file) is removed without waiting for a writer.
mkfifo "$REGION/pipe"
crun rm "$REGION/pipe" && [ ! -e "$REGION/pipe" ] &&
  pass "rm of a FIFO in a region does not block" || fail "rm of a FIFO"

# Without the background commit (COVE_COMMIT_DELAY_MS=0) a rewrite commits at its close.
staged_writer "$REGION/f16" "at close" 0
out=$(COVE_COMMIT_DELAY_MS=0 crun cat "$REGION/f16" 2>&1)
: >"$WORK/done"
wait "$writer" || fail "writer: $(cat "$WORK/err.writer")"
[ "$out" = "at close" ] &&
  pass "COVE_COMMIT_DELAY_MS=0: a rewrite is committed at its close" ||
  fail "delay 0: $out"

# A new file read back by its creator before its batch is saved keeps its creator's lock: an
# open by another process meanwhile must not take the unrecorded host file for a crash's
# leftover and remove it (it did: the creator's save then recorded a file without a host file).
rm -f "$WORK/reread"
COVE_COMMIT_DELAY_MS=5000 crun "$PYTHON" -c "
import time
open('$REGION/new', 'w').write('hello new\n')
assert open('$REGION/new').read() == 'hello new\n'
open('$WORK/reread', 'w').close()
time.sleep(2)" 2>"$WORK/err.creator" &
creator=$!
for _ in $(seq 1 300); do [ -e "$WORK/reread" ] && break; sleep 0.1; done
crun cat "$REGION/new" >/dev/null 2>"$WORK/err.other" || true  # EACCES: not recorded yet
wait "$creator" || fail "creator: $(cat "$WORK/err.creator")"
[ -e "$REGION/new" ] && [ "$(plain_cat "$REGION/new")" = "hello new" ] &&
  pass "a staged new file read back by its creator survives another process's open" ||
  fail "staged new file after another open: $(ls "$REGION" | grep -c '^new$') host files, $(plain_cat "$REGION/new" 2>&1 | head -c 200), other: $(head -c 200 "$WORK/err.other")"

# Each staged file holds a lock descriptor until its batch's save: under a low descriptor
# limit the batches are small enough for a program that creates files one at a time (with
# `ulimit -n 64` the 58th create failed with EMFILE).
mkdir -p "$REGION/many"
out=$( (ulimit -n 64 && crun "$PYTHON" -c "
for i in range(200):
    with open('$REGION/many/m%d' % i, 'w') as f:
        f.write('m %d\n' % i)
print('created')") 2>&1)
bad=0
for i in 0 57 58 199; do [ "$(plain_cat "$REGION/many/m$i")" = "m $i" ] || bad=$((bad + 1)); done
[ "$out" = created ] && [ "$bad" = 0 ] &&
  pass "ulimit -n 64: 200 files created one at a time" ||
  fail "ulimit -n 64: $(head -c 300 <<<"$out"), $bad unreadable"

# A program that fills its descriptor table (ulimit -n) with protected files it never closes,
# then with plain ones, and exits: the commit at exit still finds descriptors for the fspf's
# save (the runtime's spares), and every file keeps its content. Before, the save failed with
# EMFILE ("writes to protected files are lost", status 74). Two descriptors per open protected
# file: with `ulimit -n 64`, more than 20 of them fit (three each before).
mkdir -p "$REGION/full"
out=$( (ulimit -n 64 && crun "$PYTHON" -c "
import os
n = 0
try:
    while True:
        fd = os.open('$REGION/full/k%d' % n, os.O_WRONLY | os.O_CREAT)
        os.write(fd, b'k %d' % n)
        n += 1
except OSError:
    pass
try:
    while True:
        os.open('/dev/null', os.O_RDONLY)
except OSError:
    pass
print(n)") 2>"$WORK/err") && status=0 || status=$?
[[ $out =~ ^[0-9]+$ ]] && created=$out || created=0
bad=0
for ((i = 0; i < created; i++)); do [ "$(plain_cat "$REGION/full/k$i")" = "k $i" ] || bad=$((bad + 1)); done
[ "$status" = 0 ] && [ "$created" -gt 20 ] && [ "$bad" = 0 ] &&
  pass "ulimit -n 64, table filled, exit without closing: $out files committed" ||
  fail "table filled: status $status, $out files, $bad unreadable, $(head -c 300 "$WORK/err")"

# The same full table while another process commits: the commit at exit must still check the
# fspf on disk (it read no tag, took that for "unchanged", and saved over the other process's
# commit, whose file the next open then removed as a crash's leftover).
(ulimit -n 64 && crun "$PYTHON" -c "
import os, time
fd = os.open('$REGION/full/A', os.O_WRONLY | os.O_CREAT)
held = []
try:
    while True:
        held.append(os.open('/dev/null', os.O_RDONLY))
except OSError:
    pass
os.close(held.pop())  # for the signal file, then the table is full again
open('$WORK/A_full', 'w').close()
while not os.path.exists('$WORK/B_done'):
    time.sleep(0.02)
os.write(fd, b'from A')") 2>"$WORK/err.A" &
writer=$!
for _ in $(seq 500); do [ -e "$WORK/A_full" ] && break; sleep 0.02; done
crun sh -c "echo 'from B' > '$REGION/full/B'" 2>"$WORK/err.B" || fail "B's commit: $(head -c 300 "$WORK/err.B")"
touch "$WORK/B_done"
status=0
wait "$writer" || status=$?
got="$(plain_cat "$REGION/full/A" 2>&1)/$(plain_cat "$REGION/full/B" 2>&1)/$(crun cat "$REGION/full/B" 2>&1)"
[ "$status" = 0 ] && [ "$got" = "from A/from B/from B" ] &&
  pass "a full table at exit: the commit merges another process's newer commit, nothing lost" ||
  fail "full table beside another commit: status $status, $got, $(head -c 300 "$WORK/err.A")"

# A new file that its creator closed but has not recorded in the fspf yet (staged), opened by
# a process that was already running (a pool's worker): the open waits for the creator's
# background save instead of failing at once with EACCES (an unrecorded host file).
out=$(SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" -c "
import multiprocessing as mp
def rd(n):
    try: return open('$REGION/pool%d' % n).read()
    except OSError as e: return 'ERR%d' % e.errno
if __name__ == '__main__':
    with mp.Pool(2) as pool:
        for n in range(4): open('$REGION/pool%d' % n, 'w').write('data%d' % n)
        print(' '.join(pool.map(rd, range(4))))" 2>&1 || true)
[ "$out" = "data0 data1 data2 data3" ] &&
  pass "a pool worker opens the files its parent just created (it waits for their save)" ||
  fail "pool worker: $(head -c 300 <<<"$out")"

# While a rewrite waits for its save, its redo journal (NAME.cove-journal) lies beside the file:
# directory listings leave it out, so copying or removing the tree right after a rewrite works
# (shutil.copytree failed on the journal's name, rmtree on its vanishing; pip install of a
# package whose sources are in a region did both). Names of 243-255 bytes, whose journal name
# would pass NAME_MAX, can be rewritten, renamed onto and removed.
mkdir -p "$REGION/tree"
long=$(printf 'L%.0s' $(seq 1 250))
out=$(crun "$PYTHON" -c "
import os, shutil
os.chdir('$REGION')
for name in ('g', 'h', '$long'):
    open('tree/' + name, 'w').write('one')
    open('tree/' + name, 'w').write('two')  # a rewrite: staged, its journal beside it
print(sorted(len(n) for n in os.listdir('tree')))
shutil.copytree('tree', 'copy')
print(open('copy/$long').read())
open('tree/' + '$long', 'a').write(' more')
os.rename('tree/g', 'tree/${long:0:245}')
shutil.rmtree('tree')
print(sorted(len(n) for n in os.listdir('copy')), os.path.exists('tree'))" 2>&1 || true)
[ "$out" = "$(printf '[1, 1, 250]\ntwo\n[1, 1, 250] False')" ] &&
  pass "listings leave out journals; copytree and rmtree right after rewrites; 250-byte names" ||
  fail "journals in listings or long names: $(head -c 400 <<<"$out")"
finish
