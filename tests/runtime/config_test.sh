# SCONE_* configuration at start: SCONE_VERSION prints version and configuration (never the
# key), sgx-musl.conf is validated (errors name the line) and reported at SCONE_LOG>=5,
# SCONE_MODE=hw refuses with the `cove check` message, SCONE_HEAP fails with a clear message,
# malformed variables refuse the program before main.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

mkdir -p "$WORK/r"
make_volume "$WORK/r" encrypted
printf 'Q 1\ne -1 0 0\ns -1 0 0\n' >"$WORK/good.conf"
out=$(SCONE_VERSION=1 CRUN_LOG=5 SCONE_CONFIG="$WORK/good.conf" crun true 2>&1) || fail "version run"
grep -q "runtime .* configuration" <<<"$out" && grep -q "SCONE_FSPF_KEY=(set, not shown)" <<<"$out" &&
  pass "SCONE_VERSION prints the configuration" || fail "version output: $out"
grep -q "$KEY" <<<"$out" && fail "the key was printed"
grep -q "\[Q 1\] \[e -1 0 0\]" <<<"$out" && pass "sgx-musl.conf reported at SCONE_LOG=5" ||
  fail "musl conf report: $out"

printf 'Q 1\ne -1 0 0\nz 3\n' >"$WORK/bad.conf"
rc=0
out=$(SCONE_CONFIG="$WORK/bad.conf" crun sh -c "touch '$WORK/ran'" 2>&1) || rc=$?
[ "$rc" = 126 ] && [ ! -e "$WORK/ran" ] && grep -q "bad.conf:3" <<<"$out" &&
  pass "invalid sgx-musl.conf refused naming line 3" || fail "bad conf: rc=$rc $out"

rc=0
out=$(CRUN_LOG=9 crun true 2>&1) || rc=$?
[ "$rc" = 126 ] && grep -q "SCONE_LOG" <<<"$out" && pass "malformed SCONE_LOG refused" ||
  fail "SCONE_LOG=9: rc=$rc $out"

if [ ! -e /dev/sgx_enclave ] && [ ! -e /dev/sgx/enclave ] && [ ! -e /dev/isgx ]; then
  rc=0
  out=$(SCONE_MODE=hw crun true 2>&1) || rc=$?
  [ "$rc" = 126 ] && grep -q "no SGX driver" <<<"$out" && pass "SCONE_MODE=hw refused" ||
    fail "hw mode: rc=$rc $out"
fi
SCONE_MODE=sim crun true && pass "SCONE_MODE=sim runs" || fail "sim mode refused"

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
rc=0
out=$(SCONE_HEAP=32M crun "$PYTHON" -c "x = bytearray(300 * 1024 * 1024)" 2>&1) || rc=$?
[ "$rc" != 0 ] && grep -q "heap exhausted.*raise SCONE_HEAP" <<<"$out" &&
  pass "SCONE_HEAP: clear message when exhausted" || fail "heap: rc=$rc $out"
SCONE_HEAP=256M crun "$PYTHON" -c "x = bytearray(64 * 1024 * 1024)" ||
  fail "a 64M allocation under SCONE_HEAP=256M failed"

CRUN_LOG=7 SCONE_LOG_FILE="$WORK/log.txt" crun cat "$WORK/r/missing" 2>/dev/null || true
grep -q "file shield on" "$WORK/log.txt" && pass "SCONE_LOG_FILE receives the log" ||
  fail "log file: $(cat "$WORK/log.txt" 2>/dev/null)"
rc=0
out=$(SCONE_LOG_FILE="$WORK/r/log.txt" crun true 2>&1) || rc=$?
[ "$rc" = 126 ] && grep -q "inside a protected region" <<<"$out" &&
  pass "a log file inside a protected region is refused" || fail "log in region: rc=$rc $out"
finish
