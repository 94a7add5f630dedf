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
ls "$DB"/*-journal "$DB"/*-wal >/dev/null 2>&1 && fail "journal or WAL left behind"
finish
