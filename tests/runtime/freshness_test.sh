# Tampering makes reads fail with EBADMSG and a log line naming the file; a stale fspf (old
# tag, or an older copy of the region) is refused before main; the tag file follows commits
# and is accepted in its in-flight two-tag state.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

REGION=$WORK/data
mkdir -p "$REGION"
seq 1 5000 >"$REGION/a.txt"
make_volume "$REGION" encrypted
OLD_TAG=$TAG
cp -a "$WORK/fspf" "$WORK/fspf.old"
cp -a "$REGION" "$WORK/data.old"

crun sh -c "echo appended >> '$REGION/a.txt'" || fail "append"
NEW_TAG=$(head -1 "$TAG_FILE")
[ "$NEW_TAG" != "$OLD_TAG" ] && pass "tag file updated after the commit" || fail "tag unchanged"
[ "$(crun tail -1 "$REGION/a.txt")" = "appended" ] && pass "next run sees the commit" ||
  fail "commit not visible"

# An old tag: refused before main (the program never runs), exit 126.
rc=0
err=$(timeout 60 "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag "$OLD_TAG" -- \
  sh -c "touch '$WORK/ran'" 2>&1) || rc=$?
[ "$rc" = 126 ] && [ ! -e "$WORK/ran" ] && grep -q "refusing to start" <<<"$err" &&
  pass "old tag refused before main" || fail "old tag: rc=$rc err=$err"

# The whole region rolled back (older fspf + files) under the current tag: refused too.
cp -a "$WORK/fspf" "$WORK/fspf.new"
cp "$WORK/fspf.old" "$WORK/fspf"
rc=0
err=$(crun true 2>&1) || rc=$?
[ "$rc" = 126 ] && grep -q "not the expected tag" <<<"$err" && pass "rolled-back fspf refused" ||
  fail "rollback: rc=$rc err=$err"
cp "$WORK/fspf.new" "$WORK/fspf"

# Tampering with the ciphertext: EBADMSG, a SCONE_LOG line naming the file, no wrong data.
cp "$REGION/a.txt" "$WORK/a.good"
flip_bit "$REGION/a.txt" 12388  # chunk 1 (after the 4 KiB header, tag block and chunk 0)
rc=0
out=$(CRUN_LOG=2 crun cat "$REGION/a.txt" 2>"$WORK/err") || rc=$?
[ "$rc" != 0 ] && grep -q "Bad message" "$WORK/err" && grep -q "cove\[.*$REGION/a.txt" "$WORK/err" &&
  pass "tampered chunk: EBADMSG with a log line naming the file" || fail "tamper: $(cat "$WORK/err")"
grep -q "^5000$" <<<"$out" && fail "data after the tampered chunk reached the program"
cp "$WORK/a.good" "$REGION/a.txt"

# Replaying an older version of one file (swapped host file) is detected as well.
cp "$WORK/data.old/a.txt" "$REGION/a.txt"
crun cat "$REGION/a.txt" >/dev/null 2>&1 && fail "old file version accepted" ||
  pass "old version of a file refused"
cp "$WORK/a.good" "$REGION/a.txt"

# A crash between "tag file lists both tags" and the fspf write: either state is accepted.
printf '%s\n%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 32)" \
  "$NEW_TAG" >"$TAG_FILE"
crun true && pass "in-flight tag file accepted (commit never landed)" ||
  fail "in-flight tag file refused"
[ "$(head -1 "$TAG_FILE")" = "$NEW_TAG" ] || echo "$NEW_TAG" >"$TAG_FILE"

# Without a tag file the new tag is printed at exit (also when the program leaves by _exit, as
# dash does), and it is the one the next run needs.
CUR=$(head -1 "$TAG_FILE")
timeout 60 "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag "$CUR" -- \
  sh -c "echo more >> '$REGION/a.txt'" 2>"$WORK/err" || fail "run without tag file"
PRINTED=$(sed -n 's/^cove: fspf tag: \([0-9a-f]\{32\}\)$/\1/p' "$WORK/err")
[ -n "$PRINTED" ] && [ "$PRINTED" != "$CUR" ] && pass "new tag printed at exit" ||
  fail "no tag printed: $(cat "$WORK/err")"
[ "$(timeout 60 "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag "$PRINTED" -- tail -1 "$REGION/a.txt")" = more ] &&
  pass "printed tag opens the new version" || fail "printed tag"
echo "$PRINTED" >"$TAG_FILE"

# Unprotected files outside regions are untouched; strict mode refuses them.
echo plain >"$WORK/outside.txt"
[ "$(crun cat "$WORK/outside.txt")" = plain ] && pass "outside files pass through" ||
  fail "outside file"
SCONE_FSPF_STRICT=1 crun cat "$WORK/outside.txt" >/dev/null 2>&1 && fail "strict allowed" ||
  pass "strict mode refuses files outside regions"
finish
