# SCONE_ALLOW_DLOPEN: a library in an encrypted region is loaded from its verified plaintext in
# memory ("encrypted code in a shared library"); policy 1 refuses unprotected libraries, 0
# refuses every dlopen after start, 2 allows both.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

CC=${CC:-cc}
command -v "$CC" >/dev/null || { echo "no C compiler" >&2; exit 1; }
LIBS=$WORK/libs
mkdir -p "$LIBS"
cat >"$WORK/secret.c" <<'C'
int secret_answer(void) { return 4242; }
C
cat >"$WORK/loader.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char** argv) {
  void* h = dlopen(argv[1], RTLD_NOW);
  if (!h) { printf("refused\n"); return 3; }
  int (*f)(void) = (int (*)(void))dlsym(h, "secret_answer");
  printf("%d\n", f());
  return 0;
}
C
"$CC" -shared -fPIC -o "$LIBS/libsecret.so" "$WORK/secret.c"
"$CC" -shared -fPIC -o "$WORK/libplain.so" "$WORK/secret.c"
"$CC" -o "$WORK/loader" "$WORK/loader.c" -ldl
make_volume "$LIBS" encrypted
contains_bytes "$LIBS/libsecret.so" secret_answer && fail "library is plaintext on disk"

[ "$(SCONE_ALLOW_DLOPEN=1 crun "$WORK/loader" "$LIBS/libsecret.so")" = 4242 ] &&
  pass "encrypted library loaded with SCONE_ALLOW_DLOPEN=1" || fail "encrypted library"
[ "$(SCONE_ALLOW_DLOPEN=1 crun "$WORK/loader" "$WORK/libplain.so")" = refused ] &&
  pass "unprotected library refused with SCONE_ALLOW_DLOPEN=1" || fail "policy 1 allowed plain"
[ "$(SCONE_ALLOW_DLOPEN=2 crun "$WORK/loader" "$WORK/libplain.so")" = 4242 ] &&
  pass "unprotected library allowed with SCONE_ALLOW_DLOPEN=2" || fail "policy 2"
[ "$(crun "$WORK/loader" "$LIBS/libsecret.so")" = refused ] &&
  pass "no dlopen after start by default" || fail "policy 0 allowed dlopen"
finish
