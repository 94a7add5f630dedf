# Programs with an allocator of their own keep it under the runtime, whose malloc wrappers
# forward to it: an executable that defines malloc/free itself (as one linked statically with
# tcmalloc), one that wraps malloc and forwards with RTLD_NEXT (back to the runtime), and
# python3 with jemalloc preloaded. (redis_test.sh covers a program linked with jemalloc.)
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
OWN_MALLOC=${3:?usage: allocator_test.sh COVE RUNTIME_SO OWN_MALLOC WRAP_MALLOC}
WRAP_MALLOC=${4:?usage: allocator_test.sh COVE RUNTIME_SO OWN_MALLOC WRAP_MALLOC}

REGION=$WORK/enc
mkdir -p "$REGION"
make_volume "$REGION" encrypted

out=$(crun "$OWN_MALLOC" "$REGION/lines.txt" 2>&1) || fail "own_malloc: $out"
[ "$out" = ok ] && [ "$(plain_cat "$REGION/lines.txt" | wc -l)" = 100 ] &&
  pass "an executable with its own malloc and free writes and reads a protected file" ||
  fail "own_malloc: $out"

out=$(crun "$WRAP_MALLOC" "$REGION/wrapped.txt" 2>&1) || fail "wrap_malloc: $out"
[ "$out" = "ok counted" ] && [ "$(plain_cat "$REGION/wrapped.txt")" = wrapped ] &&
  pass "an executable that wraps malloc with RTLD_NEXT: no endless call back" ||
  fail "wrap_malloc: $out"

JEMALLOC=$(ls /usr/lib/*/libjemalloc.so.2 2>/dev/null | head -1)
if [ -z "$JEMALLOC" ]; then
  fail "libjemalloc.so.2 not installed (apt-get install libjemalloc2)"
else
  PYTHON=/usr/bin/python3
  [ -x "$PYTHON" ] || PYTHON=$(command -v python3)
  out=$(LD_PRELOAD=$JEMALLOC SCONE_ALLOW_DLOPEN=2 crun "$PYTHON" -c "
import json
data = {'k%d' % i: 'v' * i for i in range(2000)}
with open('$REGION/data.json', 'w') as f: json.dump(data, f)
with open('$REGION/data.json') as f: print(len(json.load(f)))" 2>&1) || fail "python3 with jemalloc: $out"
  [ "$out" = 2000 ] && pass "python3 with jemalloc preloaded writes and reads a protected file" ||
    fail "python3 with jemalloc: $out"
  rc=0
  out=$(LD_PRELOAD=$JEMALLOC SCONE_HEAP=32M crun "$PYTHON" -c "x = bytearray(300 * 1024 * 1024)" 2>&1) ||
    rc=$?
  [ "$rc" != 0 ] && grep -q "heap exhausted.*raise SCONE_HEAP" <<<"$out" &&
    pass "SCONE_HEAP names the cause with jemalloc too" || fail "jemalloc heap: rc=$rc $out"
fi
finish
