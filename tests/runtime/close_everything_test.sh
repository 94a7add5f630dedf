# The runtime's own descriptors (a protected file's host file and its lock, the fspf's watch)
# are out of the program's reach: a daemon's close() of every number up to its limit, the same
# through raw syscalls, glibc's closefrom, and dup2 onto numbers the program believes free
# leave them open (close reports EBADF, dup2 EBUSY, each logged at SCONE_LOG=7), and the
# protected file the program writes meanwhile keeps every byte. Before, the runtime lost the
# file's commit (close: EBADF) or wrote its bytes into /dev/null (dup2). A close_range the
# kernel refuses leaves the program's descriptor usable, and a signal handler that closes
# numbers (one above 65535, the runtime's log file) while the program writes protected files
# cannot deadlock (a first version of this check took the runtime's lock).
# Usage: close_everything_test.sh COVE RUNTIME_SO CLOSE_EVERYTHING
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: close_everything_test.sh COVE RUNTIME_SO CLOSE_EVERYTHING}
REGION=$WORK/region
mkdir -p "$REGION"
make_volume "$REGION" encrypted

for mode in loop raw closefrom dup2 badflags signal; do
  log_file=""
  [ "$mode" = signal ] && log_file=$WORK/signal.log
  if ! out=$(CRUN_LOG=7 SCONE_LOG_FILE=$log_file crun "$PROGRAM" "$REGION/$mode" "$mode" 2>"$WORK/err.$mode"); then
    fail "$mode: $(grep -v 'cove\[' "$WORK/err.$mode" | head -c 300)"
    continue
  fi
  [ "$(sed -n 2p <<<"$out")" = "hello world" ] || fail "$mode: read back: $out"
  [ "$(plain_cat "$REGION/$mode")" = "hello world" ] || fail "$mode: cove fspf cat: $(plain_cat "$REGION/$mode" 2>&1)"
  contains_bytes "$REGION/$mode" "hello" && fail "$mode: plaintext on disk"
  case $mode in
    loop | raw)
      grep -q "close([0-9]*): a descriptor of the runtime's own, left open (EBADF)" "$WORK/err.$mode" ||
        fail "$mode: no log line for a refused close: $(head -c 300 "$WORK/err.$mode")" ;;
    dup2)
      busy=$(sed -n 's/^dup2: [0-9]* closed, \([0-9]*\) busy$/\1/p' <<<"$out")
      [ "${busy:-0}" -gt 0 ] || fail "dup2: no number was refused: $out"
      grep -q "dup2 onto descriptor [0-9]*: the runtime holds a file of its own there (EBUSY)" "$WORK/err.$mode" ||
        fail "dup2: no log line for a refused dup2" ;;
  esac
  [ "$FAILED" = 0 ] && pass "$mode: the runtime's descriptors stayed open, the file kept every byte"
done

# The descriptor table is grown at start to hold the runtime's numbers (the floor, 512 with
# this limit, then up to 512 staged files' locks and 64 more), while the process has one
# thread: each growth once the flusher thread shares the table waited for an RCU grace period
# (15 ms seen), a fifth of creating 3,000 small files (GrowDescriptorTable). /proc's FDSize is
# the table's size; natively it fits the descriptors the process has (64 or 256 here).
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 4096 ]; then
  native_size=$(ulimit -n 4096 && grep '^FDSize:' /proc/self/status | tr -dc 0-9)
  size=$(ulimit -n 4096 && crun grep '^FDSize:' /proc/self/status | tr -dc 0-9)
  if [ "${size:-0}" -ge $((512 + 512 + 64 + 1)) ] && [ "${native_size:-0}" -lt 1089 ]; then
    pass "the descriptor table is grown at start ($size slots; natively $native_size)"
  else
    fail "descriptor table at start: FDSize $size under cove run, $native_size natively"
  fi
else
  echo "skipped: the hard RLIMIT_NOFILE ($hard) is below 4096 (descriptor table growth)"
fi
# A low limit bounds the growth (it stops below RLIMIT_NOFILE), and the program runs.
size=$(ulimit -n 256 && crun grep '^FDSize:' /proc/self/status | tr -dc 0-9)
[ "${size:-0}" -ge 64 ] && [ "${size:-0}" -le 256 ] && pass "with ulimit -n 256: FDSize $size" ||
  fail "with ulimit -n 256: FDSize ${size:-none}"
finish
