# A program that is killed keeps what it wrote, as with plain files (whose data the page cache
# keeps): the runtime commits writes and closed new files in the background within
# COVE_COMMIT_DELAY_MS (kill -9 after that keeps them), and a termination signal the program
# leaves at its default action commits first, then ends the process by that signal (SIGTERM
# right after a write, a multiprocessing pool's terminate()). The program still sees SIG_DFL,
# and its own handlers still run.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PYTHON=/usr/bin/python3
REGION=$WORK/region
mkdir -p "$REGION"
echo old >"$REGION/log"
make_volume "$REGION" encrypted
export SCONE_ALLOW_DLOPEN=2

crun "$PYTHON" -c "
import os, signal, time
open('$REGION/killed9', 'w').write('kept after kill -9\n')
log = open('$REGION/log', 'a')
log.write('appended\n')
log.flush()
time.sleep(1)
os.kill(os.getpid(), signal.SIGKILL)" 2>/dev/null && fail "kill -9 not fatal?" || status=$?
[ "${status:-0}" = 137 ] && [ "$(plain_cat "$REGION/killed9")" = "kept after kill -9" ] &&
  [ "$(plain_cat "$REGION/log" | tr '\n' ' ')" = "old appended " ] &&
  pass "kill -9 a second after the writes: the closed new file and the appended data are kept" ||
  fail "after kill -9 (status ${status:-0}): $(plain_cat "$REGION/killed9" 2>&1) / $(plain_cat "$REGION/log" 2>&1)"

out=$(crun "$PYTHON" -c "
import os, signal
print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
open('$REGION/term', 'w').write('kept after SIGTERM\n')
os.kill(os.getpid(), signal.SIGTERM)" 2>&1) && status=0 || status=$?
[ "$status" = 143 ] && [ "$out" = True ] && [ "$(plain_cat "$REGION/term")" = "kept after SIGTERM" ] &&
  pass "SIGTERM right after a write: committed, then the process ends by SIGTERM; SIG_DFL shown" ||
  fail "SIGTERM: status $status, output $out, file: $(plain_cat "$REGION/term" 2>&1)"
out=$(crun "$PYTHON" -c "
import os, signal
open('$REGION/quit', 'w').write('kept after SIGQUIT\n')
os.kill(os.getpid(), signal.SIGQUIT)" 2>&1) && status=0 || status=$?
[ "$status" = 131 ] && [ "$(plain_cat "$REGION/quit")" = "kept after SIGQUIT" ] &&
  pass "SIGQUIT right after a write: committed, then the process ends by SIGQUIT" ||
  fail "SIGQUIT: status $status, output $out, file: $(plain_cat "$REGION/quit" 2>&1)"

out=$(crun "$PYTHON" -c "
import os, signal, sys
def on_term(sig, frame):
    print('own handler ran')
    sys.exit(3)
signal.signal(signal.SIGTERM, on_term)
open('$REGION/own', 'w').write('own handler\n')
os.kill(os.getpid(), signal.SIGTERM)" 2>&1) && status=0 || status=$?
[ "$status" = 3 ] && [ "$out" = "own handler ran" ] && [ "$(plain_cat "$REGION/own")" = "own handler" ] &&
  pass "a program's own SIGTERM handler runs as natively" ||
  fail "own handler: status $status, output $out"

crun "$PYTHON" -c "
from multiprocessing import Pool
def work(i):
    open('$REGION/w%d' % i, 'w').write('worker %d\n' % i)
if __name__ == '__main__':
    with Pool(4) as pool:  # its exit terminates the workers with SIGTERM
        pool.map(work, range(20))" 2>"$WORK/err" || fail "pool: $(cat "$WORK/err")"
kept=0
for i in $(seq 0 19); do [ "$(plain_cat "$REGION/w$i" 2>/dev/null)" = "worker $i" ] && kept=$((kept + 1)); done
[ "$kept" = 20 ] && pass "a pool's terminate(): all 20 workers' files kept" ||
  fail "a pool's terminate() kept $kept of 20 files: $(cat "$WORK/err")"
contains_bytes "$REGION/w3" "worker 3" && fail "w3 is plaintext on disk"
finish
