# Wide-character stdio on a protected file fails cleanly instead of crashing: fopen's stream on
# a protected file is byte-oriented (glibc's fopencookie), so fwprintf fails with EOF, and
# fgetws and fgetwc, which used the stream's missing wide buffers and crashed the program
# (SIGSEGV), fail with EBADF and a log line. Byte stdio on the same stream keeps working.
# Usage: wide_stdio_test.sh COVE RUNTIME_SO WIDE_STDIO
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: wide_stdio_test.sh COVE RUNTIME_SO WIDE_STDIO}
REGION=$WORK/region
mkdir -p "$REGION"
make_volume "$REGION" encrypted

if out=$(CRUN_LOG=7 crun "$PROGRAM" "$REGION" 2>"$WORK/err"); then
  expected="fwprintf -1
fgetws NULL Bad file descriptor
fgetwc WEOF Bad file descriptor
fgets byte line"
  [ "$out" = "$expected" ] && grep -q "wide-character stdio is not supported (EBADF)" "$WORK/err" &&
    pass "wide stdio on a protected file fails with EOF/EBADF and a log line; byte stdio works" ||
    fail "printed: $out / $(grep -v 'cove\[.*\]: \(open\|fspf\|staged\|committed\)' "$WORK/err" | head -c 300)"
  [ "$(plain_cat "$REGION/w.txt")" = "byte line" ] || fail "w.txt: $(plain_cat "$REGION/w.txt" 2>&1)"
else
  fail "wide_stdio: status $?: $(head -c 300 "$WORK/err")"
fi
finish
