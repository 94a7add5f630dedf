#!/usr/bin/env bash
# runtime_bench.sh: the runtime benchmark of issue 3. Runs the same workloads on the same kind of
# files, in the same run, in three configurations: native (plain files), gocryptfs (a FUSE
# encrypted directory) and cove (`cove run` on an encrypted region), and prints the figures with
# the ratios cove/native and cove/gocryptfs against the issue's targets.
#
#   bench/runtime_bench.sh [BUILD_DIR]      # default BUILD_DIR: build-bench
#
# BUILD_DIR must hold the targets cove, cove-runtime, runtime_bench_files, runtime_bench_calls.
# Environment: COVE_BENCH_MB (1024), COVE_BENCH_SMALL_FILES (3000), COVE_BENCH_SQL_ROWS (100000),
# COVE_BENCH_CALLS (1000000), COVE_BENCH_REPS (3, the median is reported), COVE_BENCH_CALL_REPS
# (max(REPS, 6): runs of the call benchmark, native and cove alternating, the best is reported),
# COVE_BENCH_WORKDIR (/tmp: a disk-backed directory; /dev/shm takes the disk out and leaves
# the software path), COVE_BENCH_DROP_CACHES (1: drop the page cache before the cold read if
# /proc/sys/vm/drop_caches is writable; 0: never), COVE_BENCH_ONLY (the parts to run, out of
# "seq small sql calls"; default all).
# Exits non-zero only on an error (a failed command, wrong data read back, a missing tool);
# a missed target is reported in the table, not as a failure. Needs root only for drop_caches.
set -Eeuo pipefail

BUILD=${1:-build-bench}
COVE=${COVE:-$BUILD/src/cli/cove}
export COVE_RUNTIME=${COVE_RUNTIME:-$BUILD/src/runtime/libcove-runtime.so}
FILES_BIN=$BUILD/bench/runtime_bench_files
CALLS_BIN=$BUILD/bench/runtime_bench_calls
MB=${COVE_BENCH_MB:-1024}
NFILES=${COVE_BENCH_SMALL_FILES:-3000}
FILE_SIZE=4096
ROWS=${COVE_BENCH_SQL_ROWS:-100000}
NCALLS=${COVE_BENCH_CALLS:-1000000}
REPS=${COVE_BENCH_REPS:-3}
CALL_REPS=${COVE_BENCH_CALL_REPS:-$((REPS > 6 ? REPS : 6))}
WORKBASE=${COVE_BENCH_WORKDIR:-/tmp}
ONLY=" ${COVE_BENCH_ONLY:-seq small sql calls} "
CONFIGS=(native gocryptfs cove)

die() {
  echo "runtime_bench: $*" >&2
  exit 1
}
trap 'echo "runtime_bench: failed: line $LINENO: $BASH_COMMAND" >&2' ERR

for f in "$COVE" "$COVE_RUNTIME" "$FILES_BIN" "$CALLS_BIN"; do
  [ -e "$f" ] || die "$f missing: cmake --build $BUILD --target cove cove-runtime runtime_bench_files runtime_bench_calls"
done
COVE=$(realpath "$COVE")
COVE_RUNTIME=$(realpath "$COVE_RUNTIME")
FILES_BIN=$(realpath "$FILES_BIN")
CALLS_BIN=$(realpath "$CALLS_BIN")
for tool in gocryptfs sqlite3 dd cat awk; do
  command -v "$tool" >/dev/null || die "$tool not installed (Debian: apt-get install -y gocryptfs fuse3 sqlite3)"
done
FUSERMOUNT=$(command -v fusermount3 || command -v fusermount) || die "fusermount missing (apt-get install -y fuse3)"

W=$(mktemp -d "$WORKBASE/cove-rtbench-XXXXXX")
GC_PLAIN=$W/gc/plain
cleanup() {
  if mountpoint -q "$GC_PLAIN" 2>/dev/null; then
    "$FUSERMOUNT" -u "$GC_PLAIN" 2>/dev/null || "$FUSERMOUNT" -uz "$GC_PLAIN" || true
  fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Configurations: where a benchmark's files live, how its program is started.

mkdir -p "$W/native" "$W/cove" "$W/meta" "$W/gc/cipher" "$GC_PLAIN"
gocryptfs -init -q -extpass 'echo pw' -scryptn 10 "$W/gc/cipher" >/dev/null
gocryptfs -q -nosyslog -extpass 'echo pw' "$W/gc/cipher" "$GC_PLAIN"

dir_of() {  # dir_of CONFIG BENCH
  case $1 in
    native) echo "$W/native/$2" ;;
    gocryptfs) echo "$GC_PLAIN/$2" ;;
    cove) echo "$W/cove/$2" ;;
  esac
}

declare -A KEYS  # fspf key per benchmark volume
# make_volume BENCH: a fresh encrypted fspf whose only region is cove's directory for BENCH.
make_volume() {
  local fspf=$W/meta/$1.fspf out
  rm -f "$W/meta/$1".*
  "$COVE" fspf create "$fspf" >/dev/null
  "$COVE" fspf addr "$fspf" "$(dir_of cove "$1")" --encrypted >/dev/null
  out=$("$COVE" fspf encrypt "$fspf")
  sed -n 's/.*key: \([0-9a-f]\{64\}\).*/\1/p' <<<"$out" >"$W/meta/$1.key"
  sed -n 's/.*tag: \([0-9a-f]\{32\}\).*/\1/p' <<<"$out" >"$W/meta/$1.tag"
  if [ ! -s "$W/meta/$1.key" ] || [ ! -s "$W/meta/$1.tag" ]; then
    die "cove fspf encrypt: no key/tag in: $out"
  fi
  KEYS[$1]=$(cat "$W/meta/$1.key")  # read once: no subshell in the timed starts
}

# reset CONFIG BENCH: an empty directory for BENCH (and for cove a fresh volume over it).
reset() {
  local d
  d=$(dir_of "$1" "$2")
  rm -rf "$d"
  mkdir -p "$d"
  if [ "$1" = cove ]; then make_volume "$2"; fi
}

# run CONFIG BENCH PROGRAM ARGS...: PROGRAM natively, or under `cove run` with BENCH's volume.
run() {
  local cfg=$1 bench=$2
  shift 2
  if [ "$cfg" = cove ]; then
    "$COVE" run --fspf "$W/meta/$bench.fspf" --key "${KEYS[$bench]}" \
      --tag-file "$W/meta/$bench.tag" -- "$@"
  else
    "$@"
  fi
}

DROP_CACHES=0
if [ "${COVE_BENCH_DROP_CACHES:-1}" = 1 ] && sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
  DROP_CACHES=1
fi
drop_caches() {
  sync
  if [ "$DROP_CACHES" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

# ---------------------------------------------------------------------------------------------
# Timing: T[KEY.CONFIG] collects one figure per repetition; the median is reported.

declare -A T
record() { T[$1]="${T[$1]:-} $2"; }
# timed KEY.CONFIG CMD...: runs CMD (stdout and stderr are the caller's), records seconds.
seconds() { awk -v ns=$(($2 - $1)) 'BEGIN { printf "%.4f", ns / 1e9 }'; }  # seconds START_NS END_NS
timed() {
  local key=$1 start end
  shift
  start=$(date +%s%N)
  "$@"
  end=$(date +%s%N)
  record "$key" "$(seconds "$start" "$end")"
}
# CPU time of the programs themselves (user + sys of this shell's finished children), steadier
# than the wall clock on a shared machine. cpu_mark FILE saves the running total with the
# `times` builtin (no child process of its own, which would count); cpu_between A B -> seconds.
cpu_mark() { times >"$1"; }
cpu_between() {
  awk 'FNR == 2 { gsub(",", "."); t = 0
                  for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] }
                  v[++n] = t } END { printf "%.4f", v[2] - v[1] }' "$1" "$2"
}
median() {  # median KEY -> the median of the recorded figures, or "" if none
  # shellcheck disable=SC2086
  printf '%s\n' ${T[$1]:-} | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
best() {  # best KEY -> the smallest recorded figure (for the call costs: the least disturbed run)
  # shellcheck disable=SC2086
  printf '%s\n' ${T[$1]:-} | sort -g | head -1
}
# Configurations in a different order in each repetition, so that none always runs first.
order() {  # order REP
  local i n=${#CONFIGS[@]}
  for ((i = 0; i < n; i++)); do echo "${CONFIGS[(($1 + i) % n)]}"; done
}
progress() { printf '  %s\n' "$*" >&2; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "runtime_bench: $MB MiB sequential, $NFILES x $FILE_SIZE B files, $ROWS SQLite rows," \
  "$NCALLS calls, $REPS repetitions, work dir $W, drop_caches: $([ $DROP_CACHES = 1 ] && echo works || echo unavailable)" >&2

# ---------------------------------------------------------------------------------------------
# 1. Sequential: dd write (conv=fsync) and read (bs=1M), then cat of the same file.

for cfg in "${CONFIGS[@]}"; do reset "$cfg" seq; done  # seq's volume also serves the calls
for ((rep = 0; rep < REPS; rep++)); do
  [[ $ONLY == *" seq "* ]] || break
  progress "sequential $((rep + 1))/$REPS"
  for cfg in $(order $rep); do
    big=$(dir_of "$cfg" seq)/big
    sync
    timed "seqw.$cfg" run "$cfg" seq dd if=/dev/zero of="$big" bs=1M count="$MB" conv=fsync status=none
    drop_caches
    timed "seqr_cold.$cfg" run "$cfg" seq dd if="$big" of=/dev/null bs=1M status=none
    timed "seqr_warm.$cfg" run "$cfg" seq cat "$big" >/dev/null
  done
done
# The three files hold the same plaintext; cove's host file must not.
if [[ $ONLY == *" seq "* ]]; then
  size=$(run cove seq stat -c %s "$(dir_of cove seq)/big")
  [ "$size" = $((MB << 20)) ] || die "cove: plaintext size of big is $size, expected $((MB << 20))"
  [ "$(head -c 65536 "$(dir_of cove seq)/big" | tr -d '\0' | wc -c)" -gt 0 ] ||
    die "cove: the host file is zeros: not encrypted"
  rm -f "$(dir_of native seq)/big" "$(dir_of gocryptfs seq)/big"
fi

# ---------------------------------------------------------------------------------------------
# 2. Small files: one process creates NFILES files of 4 KiB, another reads and checks them.

for ((rep = 0; rep < REPS; rep++)); do
  [[ $ONLY == *" small "* ]] || break
  progress "small files $((rep + 1))/$REPS"
  for cfg in $(order $rep); do
    reset "$cfg" small
    d=$(dir_of "$cfg" small)/files
    sync
    start=$(date +%s%N)
    cpu_mark "$W/cpu0"
    run "$cfg" small "$FILES_BIN" create "$d" "$NFILES" "$FILE_SIZE"
    cpu_mark "$W/cpu1"
    mid=$(date +%s%N)
    sync
    end=$(date +%s%N)
    record "small_create.$cfg" "$(seconds "$start" "$mid")"
    record "small_create_sync.$cfg" "$(seconds "$start" "$end")"
    start=$(date +%s%N)
    cpu_mark "$W/cpu2"
    run "$cfg" small "$FILES_BIN" read "$d" "$NFILES" "$FILE_SIZE"
    cpu_mark "$W/cpu3"
    end=$(date +%s%N)
    record "small_read.$cfg" "$(seconds "$start" "$end")"
    # The same files rewritten (open O_TRUNC, write, close) by a third process.
    start=$(date +%s%N)
    run "$cfg" small "$FILES_BIN" create "$d" "$NFILES" "$FILE_SIZE"
    end=$(date +%s%N)
    record "small_rewrite.$cfg" "$(seconds "$start" "$end")"
    if [ "$cfg" != gocryptfs ]; then  # its daemon's work is in another process
      record "small_create_cpu.$cfg" "$(cpu_between "$W/cpu0" "$W/cpu1")"
      record "small_read_cpu.$cfg" "$(cpu_between "$W/cpu2" "$W/cpu3")"
    fi
  done
done

# ---------------------------------------------------------------------------------------------
# 3. SQLite, speedtest-like: ROWS rows in transactions of 1,000 (rollback journal, the default
#    synchronous=FULL), then index lookups and full scans in new processes.

{
  echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, v TEXT NOT NULL);"
  echo "CREATE INDEX t_k ON t(k);"
  for ((i = 0; i < ROWS / 1000; i++)); do
    echo "BEGIN;"
    echo "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x+1 FROM c WHERE x<999)"
    echo "  INSERT INTO t(k, v) SELECT (($i*1000+x)*7919) % $ROWS,"
    echo "    printf('row-%08d-%s', $i*1000+x, substr('the quick brown fox jumps over the lazy dog, $i: 0123456789abcdefghijklmnopqrstuvwxyz', 1+x%20, 80)) FROM c;"
    echo "COMMIT;"
  done
} >"$W/insert.sql"
LOOKUPS=10000
# k = (n * 7919) mod ROWS is a permutation of 0..ROWS-1 (7919 is a prime that does not divide
# ROWS, a multiple of 1,000), so every lookup finds exactly one row.
cat >"$W/lookup.sql" <<EOF
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<$LOOKUPS)
  SELECT count(*) FROM c JOIN t ON t.k = (c.x * 104729) % $ROWS;
EOF
cat >"$W/scan.sql" <<EOF
SELECT count(*) FROM t;
SELECT count(*) FROM t WHERE v LIKE '%fox%';
SELECT sum(length(v)) FROM t WHERE v GLOB '*[xyz]*';
SELECT k % 100, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1;
SELECT max(v) FROM t;
EOF

for ((rep = 0; rep < REPS; rep++)); do
  [[ $ONLY == *" sql "* ]] || break
  progress "sqlite $((rep + 1))/$REPS"
  for cfg in $(order $rep); do
    reset "$cfg" sql
    db=$(dir_of "$cfg" sql)/speed.db
    sync
    timed "sql_insert.$cfg" run "$cfg" sql sqlite3 "$db" <"$W/insert.sql" >/dev/null
    timed "sql_lookup.$cfg" run "$cfg" sql sqlite3 "$db" <"$W/lookup.sql" >"$W/lookup.$cfg.out"
    timed "sql_scan.$cfg" run "$cfg" sql sqlite3 "$db" <"$W/scan.sql" >"$W/scan.$cfg.out"
    [ "$(cat "$W/lookup.$cfg.out")" = "$LOOKUPS" ] || die "$cfg: lookups found $(cat "$W/lookup.$cfg.out")"
    [ "$(head -1 "$W/scan.$cfg.out")" = "$ROWS" ] || die "$cfg: count(*) = $(head -1 "$W/scan.$cfg.out")"
  done
done
for cfg in gocryptfs cove; do
  [[ $ONLY == *" sql "* ]] || break
  cmp -s "$W/scan.native.out" "$W/scan.$cfg.out" || die "$cfg: scan results differ from native"
done
[[ $ONLY != *" sql "* ]] || [ "$(head -c 65536 "$(dir_of cove sql)/speed.db" | grep -ac 'row-0000')" = 0 ] ||
  die "cove: the database is plaintext on disk"

# ---------------------------------------------------------------------------------------------
# 4. Calls on unprotected paths (a file outside every region), native vs under `cove run`
#    (reported: the best run, since on a shared machine noise only adds time)
#    (seq's volume configured: one encrypted region, syscall trap installed). Plus process
#    start: 20 runs of /bin/true.

head -c 8192 /dev/urandom >"$W/unprotected"
for ((rep = 0; rep < CALL_REPS; rep++)); do
  [[ $ONLY == *" calls "* ]] || break
  progress "calls $((rep + 1))/$CALL_REPS"
  for cfg in $(order $rep); do
    [ "$cfg" = gocryptfs ] && continue
    while read -r op ns; do
      record "call_$op.$cfg" "$ns"
    done < <(run "$cfg" seq "$CALLS_BIN" "$W/unprotected" "$NCALLS")
    if [ "$cfg" = cove ]; then  # the interposition alone, and with the kernel's trap instead
      while read -r op ns; do
        record "call_$op.cove_notrap" "$ns"
      done < <(COVE_SYSCALL_TRAP=0 run cove seq "$CALLS_BIN" "$W/unprotected" "$NCALLS")
      while read -r op ns; do
        record "call_$op.cove_kerneltrap" "$ns"
      done < <(COVE_SYSCALL_TRAP=kernel run cove seq "$CALLS_BIN" "$W/unprotected" "$NCALLS")
    fi
    start=$(date +%s%N)
    for ((i = 0; i < 20; i++)); do run "$cfg" seq /bin/true; done
    end=$(date +%s%N)
    record "start.$cfg" "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 20 / 1e6 }')"
    if [ "$cfg" = cove ]; then  # the same with the kernel's trap: no code to check and patch
      start=$(date +%s%N)
      for ((i = 0; i < 20; i++)); do COVE_SYSCALL_TRAP=kernel run cove seq /bin/true; done
      end=$(date +%s%N)
      record "start.cove_kerneltrap" "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 20 / 1e6 }')"
    fi
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Report (Markdown).

# row NAME UNIT KEY TARGET: UNIT "MiB/s" turns the median seconds into throughput, ratios are of
# the figure shown (throughput for MiB/s: higher is better; time for s: lower is better).
row() {
  local name=$1 unit=$2 key=$3 target=$4
  local n g c
  n=$(median "$key.native")
  g=$(median "$key.gocryptfs")
  c=$(median "$key.cove")
  awk -v name="$name" -v unit="$unit" -v n="$n" -v g="$g" -v c="$c" -v target="$target" -v mb="$MB" '
    function fig(s) { if (s == "") return ""; return unit == "MiB/s" ? mb / s : s }
    function fmt(v) { if (v == "") return "-"; return unit == "MiB/s" ? sprintf("%.0f", v) : sprintf("%.3f", v) }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : a / b }
    function fr(r) { return r == "" ? "-" : sprintf("%.2fx", r) }
    BEGIN {
      fn = fig(n); fg = fig(g); fc = fig(c)
      rn = ratio(fc, fn); rg = ratio(fc, fg)
      verdict = ""
      if (target == "gc3") verdict = (rg == "" ? "" : (rg >= 3 ? "met" : "MISSED")) " (>= 3x gocryptfs)"
      if (target == "native3") verdict = (rn == "" ? "" : (rn <= 3 ? "met" : "MISSED")) " (<= 3x native)"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, unit, fmt(fn), fmt(fg), fmt(fc), fr(rn), fr(rg), verdict
    }'
}
call_row() {
  local op=$1 target=$2 n c t
  n=$(best "call_$op.native")
  c=$(best "call_$op.cove")
  t=$(best "call_$op.cove_notrap")
  k=$(best "call_$op.cove_kerneltrap")
  awk -v op="$op" -v n="$n" -v c="$c" -v t="$t" -v k="$k" -v target="$target" 'BEGIN {
    o = (c / n - 1) * 100
    verdict = target == "5" ? ((o <= 5 ? "met" : "MISSED") " (<= 5%)") : "info (not interposed: trapped)"
    printf "| %s | %.1f | %.1f | %+.1f%% | %.1f | %+.1f%% | %.1f | %+.1f%% | %s |\n", op, n, c, o,
      t, (t / n - 1) * 100, k, (k / n - 1) * 100, verdict }'
}

echo
echo "### Runtime benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), load $LOAD_BEFORE -> $LOAD_AFTER"
echo
echo "$MB MiB sequential (dd bs=1M), $NFILES files of $FILE_SIZE B, SQLite $ROWS rows; median of $REPS;" \
  "work dir on $(df --output=source "$W" | tail -1); page cache dropped before the cold read:" \
  "$([ $DROP_CACHES = 1 ] && echo yes || echo "no (not permitted)")."
echo "Ratios are of the figure shown: throughput for MiB/s (higher is better), time for s (lower is better)."
echo
echo "| benchmark | unit | native | gocryptfs | cove | cove/native | cove/gocryptfs | target |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
row "seq write, dd conv=fsync" MiB/s seqw gc3
row "seq read, dd, cold cache" MiB/s seqr_cold gc3
row "seq read, cat, warm cache" MiB/s seqr_warm gc3
row "$NFILES small files: create" s small_create native3
row "$NFILES small files: create + sync" s small_create_sync native3
row "$NFILES small files: read back" s small_read native3
row "$NFILES small files: rewrite" s small_rewrite native3
row "$NFILES small files: create, CPU time" s small_create_cpu native3
row "$NFILES small files: read back, CPU time" s small_read_cpu native3
row "SQLite: insert $ROWS rows, tx of 1,000" s sql_insert ""
row "SQLite: $LOOKUPS index lookups (new process)" s sql_lookup ""
row "SQLite: 5 full scans (new process)" s sql_scan ""
[[ $ONLY == *" calls "* ]] || exit 0
echo
echo "Calls: ns of thread CPU time per call, best of $CALL_REPS runs x 20 batches, native and cove alternating (a neighbour's load only ever adds time)."
echo
echo "cove run: the default trap (the program's system-call instructions patched). Trap off: the same"
echo "calls under \`COVE_SYSCALL_TRAP=0\`, i.e. the interposition alone. Kernel trap: under"
echo "\`COVE_SYSCALL_TRAP=kernel\` (Syscall User Dispatch, the fallback: every syscall of the process"
echo "takes the kernel's slow entry path while it is on)."
echo
echo "| call on an unprotected path | native ns | cove run ns | overhead | trap off ns | overhead, trap off | kernel trap ns | overhead, kernel trap | target |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
call_row stat 5
call_row open+close 5
call_row read_1B_devzero 5
call_row pread_64B 5
call_row socket_send_poll_recv_64B 5
call_row getppid_trapped ""
call_row stdio_fopen_fread4k_fclose ""
awk -v n="$(median start.native)" -v c="$(median start.cove)" -v k="$(median start.cove_kerneltrap)" 'BEGIN {
  printf "| process start (/bin/true), ms | %.2f | %.2f | %+.2f ms | - | - | %.2f | %+.2f ms | info |\n", n, c, c - n, k, k - n }'
