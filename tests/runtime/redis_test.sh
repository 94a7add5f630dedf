# redis-server (Debian's, linked with jemalloc) keeps its data in an encrypted region: the
# append-only file, an RDB snapshot written by a forked child (BGSAVE), an AOF rewrite (another
# forked child, then renames), a restart from each, and a tampered snapshot that must not load.
# Clients talk to it over a unix socket outside the region, so no TCP port is needed.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not installed (apt-get install redis-server)" >&2; exit 1; }
done
DATA=$WORK/data
SOCKET=$WORK/redis.sock
mkdir -p "$DATA"
make_volume "$DATA" encrypted
SERVER_PID=

cli() { redis-cli -s "$SOCKET" "$@"; }

# start_redis LOG ARGS...: redis-server under cove run, in the background, until it answers.
start_redis() {
  local log=$1
  shift
  rm -f "$SOCKET"
  crun redis-server --port 0 --unixsocket "$SOCKET" --dir "$DATA" --save "" --daemonize no \
    "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    [ "$(cli ping 2>/dev/null)" = PONG ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# stop_redis: SHUTDOWN, then the exit status of cove run.
stop_redis() {
  cli shutdown nosave >/dev/null 2>&1 || true
  local rc=0
  wait "$SERVER_PID" || rc=$?
  return $rc
}

# wait_for FIELD VALUE: until INFO persistence shows FIELD:VALUE (a background job finished).
wait_for() {
  for _ in $(seq 1 200); do
    cli info persistence | tr -d '\r' | grep -qx "$1:$2" && return 0
    sleep 0.05
  done
  return 1
}

if start_redis "$WORK/log1" --appendonly yes --appendfsync everysec; then
  pass "redis-server starts under cove run"
else
  fail "redis-server did not start: $(cat "$WORK/log1")"
  finish
fi
for i in $(seq 1 2000); do echo "SET key$i REDISSECRET-$i"; done | cli >/dev/null
cli bgsave >/dev/null
wait_for rdb_bgsave_in_progress 0 && wait_for rdb_last_bgsave_status ok &&
  pass "BGSAVE (a forked child) wrote its snapshot" || fail "BGSAVE: $(cli info persistence)"
cli set before-rewrite 1 >/dev/null
cli bgrewriteaof >/dev/null
wait_for aof_rewrite_in_progress 0 && wait_for aof_last_bgrewrite_status ok &&
  pass "BGREWRITEAOF (a forked child, then renames) finished" ||
  fail "BGREWRITEAOF: $(cli info persistence)"
cli set after-rewrite REDISSECRET-late >/dev/null
stop_redis && pass "SHUTDOWN: cove run exits 0" || fail "first run: exit status $?: $(cat "$WORK/log1")"

ls "$DATA/dump.rdb" "$DATA/appendonlydir" >/dev/null || fail "no snapshot or AOF directory"
if grep -rqaF REDISSECRET "$DATA"; then
  fail "redis data is plaintext on disk"
else
  pass "snapshot and append-only files are ciphertext on disk"
fi
[ "$(plain_cat "$DATA/dump.rdb" | head -c 5)" = REDIS ] && pass "cove fspf cat reads the snapshot" ||
  fail "dump.rdb does not decrypt to an RDB file"

# Restart from the append-only files: everything, including what came after the rewrite.
if start_redis "$WORK/log2" --appendonly yes; then
  [ "$(cli dbsize)" = 2002 ] && [ "$(cli get key1234)" = REDISSECRET-1234 ] &&
    [ "$(cli get after-rewrite)" = REDISSECRET-late ] &&
    pass "restart loads the AOF: 2002 keys" || fail "after restart: $(cli dbsize) keys"
  stop_redis || fail "second run: exit status"
else
  fail "restart from the AOF: $(cat "$WORK/log2")"
fi
# Restart from the snapshot alone: the 2000 keys BGSAVE saw.
if start_redis "$WORK/log3" --appendonly no; then
  [ "$(cli dbsize)" = 2000 ] && [ "$(cli get key7)" = REDISSECRET-7 ] &&
    pass "restart loads the BGSAVE snapshot: 2000 keys" || fail "from RDB: $(cli dbsize) keys"
  stop_redis || fail "third run: exit status"
else
  fail "restart from the snapshot: $(cat "$WORK/log3")"
fi

# One flipped bit in the snapshot's ciphertext: the load fails, the log names the file.
flip_bit "$DATA/dump.rdb" $(($(stat -c %s "$DATA/dump.rdb") - 100))
rc=0
CRUN_LOG=2 start_redis "$WORK/log4" --appendonly no || rc=$?
if [ "$rc" != 0 ] && grep -q "cove\[.*dump.rdb: chunk .*authentication failed" "$WORK/log4" &&
  ! grep -q "DB loaded from disk" "$WORK/log4"; then
  pass "a tampered snapshot is refused, with a log line naming it"
else
  fail "tampered snapshot: $(cat "$WORK/log4")"
  stop_redis || true
fi
wait "$SERVER_PID" 2>/dev/null || true
finish
