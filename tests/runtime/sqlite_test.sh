# sqlite3 creates a database in an encrypted region, inserts 100k rows in transactions, survives
# reopen and PRAGMA integrity_check, in rollback-journal (DELETE) and WAL modes.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

command -v sqlite3 >/dev/null || { echo "sqlite3 not installed" >&2; exit 1; }
DB=$WORK/db
mkdir -p "$DB"
make_volume "$DB" encrypted

inserts() {  # 100 transactions of 1,000 rows
  echo "PRAGMA journal_mode=$1;"
  echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
  for i in $(seq 0 99); do
    echo "BEGIN;"
    echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000)"
    echo "  INSERT INTO t(v) SELECT printf('ROWSECRET-%d-%d', $i, x) FROM c;"
    echo "COMMIT;"
  done
  echo "SELECT count(*) FROM t;"
}

for mode in DELETE WAL; do
  db=$DB/$mode.db
  out=$(inserts $mode | crun sqlite3 "$db") || fail "$mode: sqlite3 exit code"
  [ "$(tail -1 <<<"$out")" = "100000" ] && pass "$mode: 100k rows inserted" ||
    fail "$mode: insert output: $out"
  check=$(crun sqlite3 "$db" "PRAGMA integrity_check; SELECT count(*), count(DISTINCT v) FROM t;") ||
    fail "$mode: reopen"
  [ "$check" = $'ok\n100000|100000' ] && pass "$mode: reopen + integrity_check" ||
    fail "$mode: integrity: $check"
  contains_bytes "$db" ROWSECRET && fail "$mode: database is plaintext on disk"
  [ "$(crun sqlite3 "$db" "PRAGMA journal_mode;")" = "$(tr A-Z a-z <<<$mode)" ] ||
    fail "$mode: journal mode not persisted"
done
# kill -9 in the middle of transactions: the next run recovers (shield journal + SQLite's own
# journal/WAL), integrity_check passes and only whole transactions are there.
for mode in DELETE WAL; do
  db=$DB/crash-$mode.db
  crun sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
  for i in $(seq 1 2000); do
    echo "BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<500)"
    echo "  INSERT INTO k(v) SELECT printf('v-%d', x) FROM c; COMMIT;"
  done >"$WORK/slow.sql"
  # Killed by us and reaped by `wait`, so that it has exited (its descriptors, and with them its
  # file locks, released) before the next run opens the database. (`timeout -s KILL` kills its
  # own process group too and can return while the killed sqlite3 is still exiting.)
  "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag-file "$TAG_FILE" -- \
    sqlite3 "$db" <"$WORK/slow.sql" >/dev/null 2>&1 &
  writer=$!
  sleep 1.5
  kill -KILL "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  check=$(CRUN_LOG=7 crun sqlite3 "$db" "PRAGMA integrity_check; SELECT count(*) % 500 FROM k;") ||
    fail "$mode: reopen after kill -9"
  [ "$check" = $'ok\n0' ] && pass "$mode: recovers after kill -9 mid-transaction" ||
    fail "$mode: after kill -9: $check"
done

ls "$DB"/*-journal "$DB"/*-wal >/dev/null 2>&1 && fail "journal or WAL left behind"
finish
