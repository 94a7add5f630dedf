# fork, fork+exec and concurrent writers: children see the parent's writes (committed before
# the child starts, current tag handed over), the parent sees its children's commits, a
# second writer of the same file is refused with EBUSY, independent processes that commit at
# the same time keep each other's writes, and a last commit that cannot be made is said on
# stderr and ends the process with status 74.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
REGION=$WORK/enc
mkdir -p "$REGION"
printf 'c\nb\na\n' >"$REGION/in.txt"
make_volume "$REGION" encrypted

cat >"$WORK/family.py" <<PY
import os, subprocess
R = "$REGION"
with open(R + "/parent.txt", "w") as f:
    f.write("from parent\n")
# fork+exec: the child runs under the runtime with the current tag
print(subprocess.run(["cat", R + "/parent.txt"], capture_output=True, text=True).stdout, end="")
# a shell whose children write and read each other's files
subprocess.run(["sh", "-c", f"sort {R}/in.txt -o {R}/sorted.txt; cp {R}/sorted.txt {R}/copy.txt"], check=True)
# the parent sees what its children committed
print(open(R + "/copy.txt").read().replace("\n", ""))
pid = os.fork()
if pid == 0:
    print("forked child:", open(R + "/parent.txt").read(), end="")
    os._exit(0)
os.waitpid(pid, 0)
with open(R + "/parent.txt", "a") as f:
    f.write("again\n")
print(open(R + "/parent.txt").read().replace("\n", "|"))
PY
out=$(SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/family.py") || fail "family.py exit code"
expected=$'from parent\nabc\nforked child: from parent\nfrom parent|again|'
[ "$out" = "$expected" ] && pass "fork, exec and shell children share protected files" ||
  fail "family output: $out"

cat >"$WORK/writer.py" <<PY
import os, time
f = open("$REGION/shared.txt", "w")
f.write("A"); f.flush()
open("$WORK/writing", "w").close()       # tell the test the file is being written
while not os.path.exists("$WORK/tried"):  # until the second writer has tried
    time.sleep(0.05)
f.write("B"); f.close()
PY
SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/writer.py" &
writer=$!
for _ in $(seq 1 600); do [ -e "$WORK/writing" ] && break; sleep 0.1; done
crun sh -c "echo X >> '$REGION/shared.txt'" 2>"$WORK/err" && fail "second writer allowed"
touch "$WORK/tried"
grep -q "EBUSY" "$WORK/err" && pass "second writer refused with EBUSY and a log line" ||
  fail "second writer: $(cat "$WORK/err")"
wait $writer || fail "first writer failed"
[ "$(crun cat "$REGION/shared.txt")" = AB ] && pass "first writer's data intact" ||
  fail "shared.txt corrupted"
cat >"$WORK/threads.py" <<PY
import threading
R = "$REGION"
def work(i):
    data = ("thread-%d-" % i) * 20000
    for round in range(5):
        with open(f"{R}/t{i}.txt", "w") as f:
            f.write(data)
        with open(f"{R}/t{i}.txt") as f:
            assert f.read() == data, i
        with open(f"{R}/in.txt") as f:
            assert f.read() == "c\nb\na\n"
threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
for t in threads: t.start()
for t in threads: t.join()
print("threads ok")
PY
out=$(SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/threads.py" 2>&1) || fail "threads: $out"
[ "$out" = "threads ok" ] && pass "six threads write and read protected files concurrently" ||
  fail "threads output: $out"
[ "$(plain_cat "$REGION/t3.txt" | head -c 18)" = "thread-3-thread-3-" ] || fail "t3.txt content"

# Eight independent processes (not one's children) rewrite a file each and create one, all at
# once: each commit finds the fspf changed by another and merges into it, so none is lost.
pids=()
for i in 1 2 3 4 5 6 7 8; do
  crun sh -c "echo new$i > '$REGION/t$i.txt'; echo fresh$i > '$REGION/c$i.txt'" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a concurrent writer failed"; done
kept=0
for i in 1 2 3 4 5 6 7 8; do
  [ "$(plain_cat "$REGION/t$i.txt")" = "new$i" ] && [ "$(plain_cat "$REGION/c$i.txt")" = "fresh$i" ] &&
    kept=$((kept + 1))
done
[ "$kept" = 8 ] && pass "8 processes committing at once keep all their writes" ||
  fail "only $kept of 8 concurrent processes' writes were kept"

# Two subshells each create a file and append to it again, at the same time: the second commit
# of a staged file merged into the other's fspf once left an empty entry, and the next start
# of any program refused the region.
for round in 1 2 3; do
  crun bash -c "(echo 1 >> '$REGION/n$round-a'; echo 2 >> '$REGION/n$round-a') &
    (echo 1 >> '$REGION/n$round-b'; echo 2 >> '$REGION/n$round-b') & wait" 2>"$WORK/err" ||
    fail "concurrent new files, round $round: $(cat "$WORK/err")"
done
if crun true 2>"$WORK/err"; then
  got=$(for round in 1 2 3; do plain_cat "$REGION/n$round-a"; plain_cat "$REGION/n$round-b"; done | tr '\n' ' ')
  [ "$got" = "1 2 1 2 1 2 1 2 1 2 1 2 " ] &&
    pass "concurrent creates and appends: all kept, the region starts" ||
    fail "concurrent creates and appends kept: $got"
else
  fail "the region no longer starts after concurrent creates: $(cat "$WORK/err")"
fi

# Eight `sed -i` at once (each writes a temporary file and renames it over its target): the
# rename intent beside the fspf is one file, so renames of different processes take turns (they
# clobbered each other's intent, failed, and a later start completed a stale one over a file).
for i in $(seq 16); do crun sh -c "seq $i 100 > '$REGION/s$i'" || fail "setup of s$i"; done
crun bash -c "ls '$REGION'/s* | xargs -P8 -n1 sed -i 's/^/X/'" 2>"$WORK/err" ||
  fail "xargs -P8 sed -i: $(cat "$WORK/err")"
rewritten=0
for i in $(seq 16); do [ "$(plain_cat "$REGION/s$i" | head -1)" = "X$i" ] && rewritten=$((rewritten + 1)); done
[ "$rewritten" = 16 ] && [ -z "$(ls "$REGION" | grep '^sed')" ] &&
  pass "xargs -P8 sed -i rewrites all 16 files, no temporary left" ||
  fail "xargs -P8 sed -i rewrote $rewritten of 16: $(ls "$REGION" | tr '\n' ' ')"

# A parent and its forked child append through one O_APPEND descriptor (as nginx's workers
# write one access log), both before either commits (no background commits: the child commits
# at exit, the parent after it): the parent's appends follow the child's, nothing is lost.
# Overwrites of the same bytes cannot be moved: the second commit is refused (status 74) and
# the file keeps the first, readable. (The second commit once overwrote the first's chunks in
# place: a file that matched neither fspf entry.)
cat >"$WORK/shared_fd.py" <<'EOF'
import os, sys
path, mode = sys.argv[1], sys.argv[2]
flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode != "overwrite" else 0)
fd = os.open(path, flags, 0o644)
if mode != "overwrite":
    os.write(fd, b"setup\n")
else:
    os.pwrite(fd, b"." * 64, 0)
os.fsync(fd)  # committed: both processes' writes below are on top of this generation
go_read, go_write = os.pipe()
pid = os.fork()
me = b"child" if pid == 0 else b"parent"
for i in range(100):
    if mode == "append":
        os.write(fd, b"%s %d\n" % (me, i))
    elif mode == "big":  # 4 MiB each, in 1 MiB writes, both at once
        if i < 4:
            os.write(fd, me[:1] * (1 << 20))
    else:
        os.pwrite(fd, me * 4, 0)
if pid == 0:
    os.read(go_read, 1)  # the parent has written too
    os._exit(0)          # commits at exit
os.write(go_write, b"x")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
EOF
COVE_COMMIT_DELAY_MS=0 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/shared_fd.py" "$REGION/shared.log" append \
  2>"$WORK/err" || fail "shared O_APPEND descriptor: $(cat "$WORK/err")"
log=$(plain_cat "$REGION/shared.log" 2>&1)
[ "$(grep -c '^child ' <<<"$log")" = 100 ] && [ "$(grep -c '^parent ' <<<"$log")" = 100 ] &&
  [ "$(head -1 <<<"$log")" = setup ] && [ "$(sed -n 2p <<<"$log")" = "child 0" ] &&
  [ "$(sed -n 102p <<<"$log")" = "parent 0" ] &&
  pass "parent and child appending through one descriptor: 200 lines, the parent's after the child's" ||
  fail "shared O_APPEND: $(head -c 600 <<<"$log")"
# The same with 4 MiB each: appends that large are sealed to disk as they are written, unless
# another process may write the file (they overwrote each other's chunks on disk).
COVE_COMMIT_DELAY_MS=0 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/shared_fd.py" "$REGION/shared.big" big \
  2>"$WORK/err" || fail "shared O_APPEND descriptor, 4 MiB each: $(cat "$WORK/err")"
counts=$(plain_cat "$REGION/shared.big" 2>&1 | tail -c +7 | fold -w 1048576 | cut -c1 | uniq -c | tr -s ' ')
[ "$counts" = $' 4 c\n 4 p' ] &&
  pass "parent and child appending 4 MiB each through one descriptor: both kept, in commit order" ||
  fail "shared 4 MiB appends: $counts"
status=0
COVE_COMMIT_DELAY_MS=0 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/shared_fd.py" "$REGION/shared.bin" overwrite \
  2>"$WORK/err" || status=$?
[ "$status" = 74 ] && grep -q "shared.bin: another process committed it" "$WORK/err" &&
  [ "$(plain_cat "$REGION/shared.bin" | head -c 20)" = childchildchildchild ] &&
  pass "overlapping overwrites through one descriptor: the second commit is refused, the file keeps the first" ||
  fail "shared overwrite: status $status, content $(plain_cat "$REGION/shared.bin" 2>&1 | head -c 80), stderr: $(cat "$WORK/err")"

# The same descriptor with commits in between (fsync between the turns): each process's next
# write first takes in the other's commit (a write on the stale version failed
# authentication); both appending at once to a larger file with frequent commits; the parent's
# write at the shared offset, which the child's uncommitted write past it depends on (not an
# append: its place cannot move), is refused at commit rather than moved; and 40 MiB appended
# after the other's commit are committed in 32 MiB rounds.
cat >"$WORK/turns.py" <<'EOF'
import os, sys, time
path, mode = sys.argv[1], sys.argv[2]
flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode != "hole" else 0)
fd = os.open(path, flags, 0o644)
if mode == "hole":
    os.set_inheritable(fd, True)  # a shell's `> file`: the offset is shared with the child
os.write(fd, b"setup\n" if mode != "race" else b"#" * 65535 + b"\n")  # race: no small file
os.fsync(fd)
to_child, from_parent = os.pipe()
to_parent, from_child = os.pipe()
pid = os.fork()
me = b"child" if pid == 0 else b"parent"
wait_turn = (lambda: os.read(to_child, 1)) if pid == 0 else (lambda: os.read(to_parent, 1))
give_turn = (lambda: os.write(from_child, b"x")) if pid == 0 else (lambda: os.write(from_parent, b"x"))
if mode == "turns":
    for i in range(8):
        if pid == 0:
            wait_turn()
        os.write(fd, b"%s %d\n" % (me, i))
        os.fsync(fd)  # committed before the other's turn
        give_turn()
        if pid != 0:
            wait_turn()
elif mode == "race":  # both at once, committing in the background every few ms
    for i in range(300):
        os.write(fd, b"%s %d\n" % (me, i))
        time.sleep(0.001)
elif mode == "hole":
    if pid == 0:
        wait_turn()
        os.write(fd, b"C" * 50)  # at the shared offset: after the parent's 100 bytes
        os._exit(0)
    os.write(fd, b"P" * 100)
    give_turn()
elif mode == "overflow":
    if pid == 0:
        wait_turn()
        os.write(fd, b"child line\n")
        os._exit(0)
    os.write(fd, b"parent line\n")
    give_turn()
    os.waitpid(pid, 0)  # the child committed over the parent's uncommitted line
    for i in range(40):
        os.write(fd, b"p" * (1 << 20))
    sys.exit(0)
if pid == 0:
    os._exit(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
EOF
expected=$(printf 'setup\n'; for i in $(seq 0 7); do printf 'parent %d\nchild %d\n' "$i" "$i"; done)
COVE_COMMIT_DELAY_MS=0 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/turns.py" "$REGION/turns.log" turns \
  2>"$WORK/err" || fail "turns through one descriptor: $(cat "$WORK/err")"
[ "$(plain_cat "$REGION/turns.log" 2>&1)" = "$expected" ] && ! grep -q "cove\[" "$WORK/err" &&
  pass "parent and child taking turns through one descriptor, commits between: every line, in order" ||
  fail "turns: $(plain_cat "$REGION/turns.log" 2>&1 | tr '\n' ' ') $(cat "$WORK/err")"
# A 64 KiB file (its chunks are read from disk, not cached at open), both appending at once
# with background commits every 5 ms: a commit of one can rewrite the chunk the other's next
# append extends, between that one's look for commits and its load of the chunk.
COVE_COMMIT_DELAY_MS=5 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/turns.py" "$REGION/race.log" race \
  2>"$WORK/err" || fail "racing appends: $(cat "$WORK/err")"
log=$(plain_cat "$REGION/race.log" 2>&1)
[ "$(grep -c '^child ' <<<"$log")" = 300 ] && [ "$(grep -c '^parent ' <<<"$log")" = 300 ] &&
  ! grep -q "cove\[" "$WORK/err" &&
  pass "parent and child appending at once to a 64 KiB file, commits every 5 ms: 600 lines" ||
  fail "racing appends: $(grep -c . <<<"$log") lines, $(head -c 300 "$WORK/err")"
status=0
COVE_COMMIT_DELAY_MS=0 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/turns.py" "$REGION/hole.bin" hole \
  2>"$WORK/err" || status=$?
content=$(plain_cat "$REGION/hole.bin" 2>&1 | tr '\0' 0)
[ "$status" = 74 ] && grep -q "hole.bin: another process committed it" "$WORK/err" &&
  [ "$content" = "setup
$(printf '0%.0s' $(seq 100))$(printf 'C%.0s' $(seq 50))" ] &&
  pass "a write at a shared offset past the other's bytes is refused at commit, not moved" ||
  fail "hole: status $status, content $content, stderr: $(cat "$WORK/err")"
COVE_COMMIT_DELAY_MS=0 SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$WORK/turns.py" "$REGION/overflow.log" overflow \
  2>"$WORK/err" || fail "40 MiB after the other's commit: $(cat "$WORK/err")"
[ "$(plain_cat "$REGION/overflow.log" | head -3 | tr '\n' ' ')" = "setup child line parent line " ] &&
  [ "$(plain_cat "$REGION/overflow.log" | tail -c +30 | tr -d p | wc -c)" = 0 ] &&
  [ "$(plain_cat "$REGION/overflow.log" | wc -c)" = $((29 + 40 * 1048576)) ] &&
  pass "40 MiB appended after the other's commit: committed in rounds on top of it" ||
  fail "overflow: $(plain_cat "$REGION/overflow.log" 2>&1 | head -c 100) $(cat "$WORK/err")"

# An fspf put back behind the runtime's back (an older copy, not a commit published in the tag
# file) is not overwritten: the process's last commit fails, says so, and the status is 74.
cp "$WORK/fspf" "$WORK/fspf.before"
echo more | crun sh -c "cat > '$REGION/t1.txt'; cp '$WORK/fspf.before' '$WORK/fspf'; echo doomed > '$REGION/doomed.txt'" 2>"$WORK/err" &&
  status=0 || status=$?
[ "$status" = 74 ] && grep -q "the last commit failed, writes to protected files are lost" "$WORK/err" &&
  pass "a last commit that cannot be made: stderr says so, exit status 74" ||
  fail "lost last commit: status $status, stderr: $(cat "$WORK/err")"
# The same for a commit no call reports: a shell builtin's `>> file` ends with the shell's
# dup2 restoring its stdout over the protected descriptor. A small file's rewrite is staged
# there and fails at exit; a large one commits at the dup2. (The operator first accepts the
# fspf put back above: its tag, the last 16 bytes, becomes the expected one.)
tail -c 16 "$WORK/fspf" | od -An -tx1 | tr -d ' \n' >"$TAG_FILE"
cp "$WORK/fspf" "$WORK/fspf.before"
crun sh -c "echo more > '$REGION/t2.txt'; cp '$WORK/fspf.before' '$WORK/fspf'; echo lost >> '$REGION/t2.txt'" \
  2>"$WORK/err" && status=0 || status=$?
[ "$status" = 74 ] && grep -q "commit at exit: files closed but not recorded yet: $REGION/t2.txt" "$WORK/err" &&
  pass "a failed save of a staged rewrite (shell's dup2): stderr names the file, exit status 74" ||
  fail "failed staged rewrite: status $status, stderr: $(cat "$WORK/err")"
tail -c 16 "$WORK/fspf" | od -An -tx1 | tr -d ' \n' >"$TAG_FILE"
crun sh -c "head -c 2000000 /dev/zero > '$REGION/t3.bin'" || fail "t3.bin"
cp "$WORK/fspf" "$WORK/fspf.before"
crun sh -c "echo more >> '$REGION/t3.bin'; cp '$WORK/fspf.before' '$WORK/fspf'; echo lost >> '$REGION/t3.bin'" \
  2>"$WORK/err" && status=0 || status=$?
[ "$status" = 74 ] && grep -q "t3.bin: writes lost: the commit when the last descriptor went (dup2" "$WORK/err" &&
  pass "a failed commit at a shell's dup2: stderr names the file, exit status 74" ||
  fail "failed commit at dup2: status $status, stderr: $(cat "$WORK/err")"
finish
