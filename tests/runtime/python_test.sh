# python3 runs a script from an encrypted region that imports a module from that region, reads
# an encrypted CSV and writes an encrypted JSON result: ciphertext on disk, exact read-back.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
APP=$WORK/app
mkdir -p "$APP"
cat >"$APP/pricing.py" <<'PY'
def total(rows):
    return sum(int(r["amount"]) * int(r["count"]) for r in rows)
PY
cat >"$APP/main.py" <<PY
import csv, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pricing
with open("$APP/orders.csv", newline="") as f:
    rows = list(csv.DictReader(f))
result = {"orders": len(rows), "total": pricing.total(rows), "marker": "RESULT-SECRET"}
with open("$APP/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
print("done", len(rows))
PY
{
  echo "customer,amount,count"
  for i in $(seq 1 2000); do echo "CUSTOMER-SECRET-$i,$i,2"; done
} >"$APP/orders.csv"
make_volume "$APP" encrypted
contains_bytes "$APP/main.py" "import pricing" && fail "script is plaintext on disk"

# Stdlib extension modules (_csv, _json) are unprotected libraries: SCONE_ALLOW_DLOPEN=2.
out=$(SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" "$APP/main.py") || fail "python exit code"
[ "$out" = "done 2000" ] && pass "python ran the encrypted script" || fail "python output: $out"
expected='{"marker": "RESULT-SECRET", "orders": 2000, "total": 4002000}'
[ "$(plain_cat "$APP/result.json")" = "$expected" ] && pass "result reads back exactly" ||
  fail "result.json: $(plain_cat "$APP/result.json" || true)"
contains_bytes "$APP/result.json" RESULT-SECRET && fail "result.json is plaintext on disk"
contains_bytes "$APP/result.json" '"orders"' && fail "result.json is plaintext on disk"
[ -e "$APP/result.json" ] && pass "result is ciphertext on disk"

# The atomic-replace pattern (write a temporary file, os.replace it over the target, read the
# target): a new file keeps its creation lock until the fspf records it, and the rename must
# let it go, or the reopen fails with EBUSY.
out=$(crun "$PYTHON" - "$APP" <<'PY'
import os, sys
app = sys.argv[1]
for i in range(5):
    with open(f"{app}/settings.tmp", "w") as f:
        f.write(f"REPLACE-SECRET {i}\n")
    os.replace(f"{app}/settings.tmp", f"{app}/settings")
    with open(f"{app}/settings") as f:
        print(f.read().strip())
PY
) || fail "write + os.replace + read: $out"
[ "$(tail -1 <<<"$out")" = "REPLACE-SECRET 4" ] && pass "write, os.replace and reopen, five times" ||
  fail "os.replace pattern: $out"
[ "$(plain_cat "$APP/settings")" = "REPLACE-SECRET 4" ] || fail "settings after os.replace"
contains_bytes "$APP/settings" REPLACE-SECRET && fail "settings is plaintext on disk"

# subprocess with a protected file as the child's stdout and stdin: Python's child runs on the
# parent's memory (vfork) and closes every descriptor above 2 before exec, the runtime's lock
# descriptor of the file included unless the runtime keeps it (the child's writes then failed
# with EBUSY while the parent held the file open).
out=$(SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" - "$APP" <<'PY'
import subprocess, sys
app = sys.argv[1]
with open(f"{app}/child.out", "w") as f:
    print(subprocess.run(["echo", "CHILD-SECRET"], stdout=f).returncode)
print(subprocess.run(["tr", "A-Z", "a-z"], stdin=open(f"{app}/child.out"),
                     capture_output=True).stdout.decode().strip())
PY
) || fail "subprocess with protected stdout/stdin: $out"
[ "$out" = "$(printf '0\nchild-secret')" ] && [ "$(plain_cat "$APP/child.out")" = CHILD-SECRET ] &&
  pass "subprocess writes and reads protected files as stdout and stdin" ||
  fail "subprocess: $out / $(plain_cat "$APP/child.out" 2>&1)"
contains_bytes "$APP/child.out" CHILD-SECRET && fail "child.out is plaintext on disk"

# The parent writes to the file before and after the child wrote to it through the same open
# file description (lent by subprocess's dup2): natively the child's line stays between the
# parent's; the parent's view of the file once went stale (EBADMSG) and its offset overwrote
# the child's line.
out=$(SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" - "$APP" <<'PY'
import subprocess, sys
app = sys.argv[1]
for mode in ("w", "a"):
    with open(f"{app}/shared.{mode}", mode) as f:
        f.write("parent1\n")
        f.flush()
        subprocess.run(["echo", "child"], stdout=f)
        f.write("parent2\n")
    print(open(f"{app}/shared.{mode}").read().split())
PY
) || fail "parent and child writing one file: $out"
expected="['parent1', 'child', 'parent2']"
[ "$out" = "$(printf '%s\n%s' "$expected" "$expected")" ] &&
  pass "parent, subprocess child, parent again: all three lines, in order ('w' and 'a')" ||
  fail "parent and child writing one file: $out"

# Extended attributes through libc's functions (interposed): a protected file has none and
# takes none, by path, by link path and by descriptor; the host file keeps whatever it had.
out=$(crun "$PYTHON" - "$APP/settings" <<'PY'
import errno, os, sys
path = sys.argv[1]
def code(call, *args, **kw):
    try:
        return repr(call(*args, **kw))
    except OSError as e:
        return errno.errorcode[e.errno]
with open(path) as f:
    for target, follow in ((path, True), (path, False), (f.fileno(), True)):
        kw = {} if isinstance(target, int) else {"follow_symlinks": follow}
        print(code(os.listxattr, target, **kw), code(os.getxattr, target, "user.k", **kw),
              code(os.setxattr, target, "user.k", b"v", **kw),
              code(os.removexattr, target, "user.k", **kw))
PY
) || fail "xattr calls: $out"
expected="[] ENODATA ENOTSUP ENOTSUP"
[ "$out" = "$(printf '%s\n%s\n%s' "$expected" "$expected" "$expected")" ] &&
  pass "protected file: no extended attributes by path, link path and descriptor" ||
  fail "xattr answers: $out"

# Without SCONE_ALLOW_DLOPEN the unprotected extension modules are refused.
SCONE_ALLOW_DLOPEN=0 crun "$PYTHON" -c "import _bz2" 2>/dev/null &&
  fail "dlopen of an unprotected module was allowed" || pass "dlopen refused by default"
finish
