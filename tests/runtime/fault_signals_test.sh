# SIGSEGV and the alternate signal stack under `cove run` behave as natively (the syscall trap
# raises SIGSEGV at patched sites and runs its handler on the alternate stack): the program's
# handler gets its sa_mask and SA_RESETHAND, sigaltstack can be replaced and disabled; a
# program started with SIGSEGV blocked still runs; a Python program that enabled faulthandler
# and ran a subprocess (whose vfork child resets every handler) still gets its traceback
# (ctypes is a C module: SCONE_ALLOW_DLOPEN=2).
# Usage: fault_signals_test.sh COVE RUNTIME_SO FAULT_SIGNALS
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: fault_signals_test.sh COVE RUNTIME_SO FAULT_SIGNALS}

REGION=$WORK/enc
mkdir -p "$REGION"
echo "secret" >"$REGION/s.txt"
make_volume "$REGION" encrypted

native=$("$PROGRAM" 2>&1)
shielded=$(crun "$PROGRAM" 2>&1)
[ "$shielded" = "$native" ] && pass "SIGSEGV handlers and sigaltstack as natively: $(tr '\n' ';' <<<"$native")" ||
  fail "under cove run: $shielded; natively: $native"

blocked=$(/usr/bin/python3 -c 'import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGSEGV})
os.execvp(sys.argv[1], sys.argv[1:])' "$COVE" run --fspf "$WORK/fspf" --key "$KEY" \
  --tag-file "$TAG_FILE" -- cat "$REGION/s.txt" 2>&1)
[ "$blocked" = secret ] && pass "a program started with SIGSEGV blocked runs" ||
  fail "started with SIGSEGV blocked: $blocked"

cat >"$WORK/fault.py" <<'PY'
import ctypes, faulthandler, subprocess
faulthandler.enable()
subprocess.run(["/bin/true"])
ctypes.string_at(0)
PY
status=0
SCONE_ALLOW_DLOPEN=2 crun /usr/bin/python3 "$WORK/fault.py" >"$WORK/fault.out" 2>&1 || status=$?
grep -q "Fatal Python error: Segmentation fault" "$WORK/fault.out" && [ "$status" -ne 0 ] &&
  pass "faulthandler's traceback after a subprocess (exit $status)" ||
  fail "faulthandler after a subprocess: exit $status, $(head -3 "$WORK/fault.out")"
finish
