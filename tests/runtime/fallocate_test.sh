# posix_fallocate on a protected file extends it with zeros and keeps its content (glibc falls
# back to writing the range when fallocate(2) answers EOPNOTSUPP, which the runtime does for
# protected descriptors), the page-cache hints posix_fadvise, readahead and sync_file_range
# succeed, and ioctls answer as on a file system without them (EOPNOTSUPP for a reflink clone,
# ENOTTY otherwise): all of them used to reach the O_PATH descriptor and fail with EBADF.
# Usage: fallocate_test.sh COVE RUNTIME_SO FALLOCATE_PROTECTED
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
PROGRAM=${3:?usage: fallocate_test.sh COVE RUNTIME_SO FALLOCATE_PROTECTED}
DATA=$WORK/data
mkdir -p "$DATA"
make_volume "$DATA" encrypted
if out=$(crun "$PROGRAM" "$DATA/f.bin" 2>&1); then
  pass "posix_fallocate under cove run: $(tr '\n' ';' <<<"$out")"
else
  fail "under cove run: $out"
fi
grep -q "fallocate: EOPNOTSUPP" <<<"$out" || fail "fallocate(2) on a protected file: $out"
grep -q "hints: ok" <<<"$out" || fail "posix_fadvise/readahead/sync_file_range: $out"
grep -q "ioctl: ok" <<<"$out" || fail "ioctl on a protected file: $out"
[ "$(plain_cat "$DATA/f.bin" | wc -c)" = 100000 ] && pass "the fspf records 100000 bytes" ||
  fail "plaintext size after posix_fallocate: $(plain_cat "$DATA/f.bin" | wc -c)"
[ "$(plain_cat "$DATA/f.bin" | head -c 13)" = FALLOC-SECRET ] && pass "content kept" ||
  fail "content after posix_fallocate"
contains_bytes "$DATA/f.bin" FALLOC-SECRET && fail "the file is plaintext on disk"
finish
