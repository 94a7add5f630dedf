# git, unmodified, keeps a repository in an encrypted region: init, add, commit, fsck, gc, log.
# It exercises what many programs do with files: lock files renamed over their targets (the
# rename must release a new file's creation lock), loose objects written under a temporary name
# and hard-linked into place (a hard link in a protected region is refused with EPERM, and git
# renames instead), packs written by a child process (its parent must see the child's commits
# before it decides a file is a crash leftover), mmap of packs and indexes.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"
command -v git >/dev/null || { echo "git not installed" >&2; exit 1; }
REPO=$WORK/repo
mkdir -p "$REPO"
make_volume "$REPO" encrypted
export GIT_CONFIG_NOSYSTEM=1 HOME=$WORK GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org \
  GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
run_git() { crun git -C "$REPO" "$@"; }
run_git init -q . || fail "git init"
for i in $(seq 1 30); do echo "GIT-SECRET line $i" >"$WORK/f$i"; done
crun cp "$WORK"/f* "$REPO/" || fail "copying the files in"
run_git add . && run_git commit -qm first || fail "git add + commit"
crun sh -c "echo 'GIT-SECRET changed' >>'$REPO/f1'" || fail "changing f1"
run_git commit -qam second || fail "second commit"
[ "$(run_git log --oneline | wc -l)" = 2 ] && pass "two commits" || fail "git log"
run_git fsck --full --strict >"$WORK/fsck" 2>&1 && pass "git fsck --full is clean" ||
  fail "git fsck: $(cat "$WORK/fsck")"
run_git gc -q 2>"$WORK/gc" && pass "git gc (pack-objects in a child process)" ||
  fail "git gc: $(cat "$WORK/gc")"
[ "$(run_git show HEAD:f1 | tail -1)" = "GIT-SECRET changed" ] && pass "git show after gc" ||
  fail "git show HEAD:f1"
status=$(run_git status --porcelain) && [ -z "$status" ] && pass "clean working tree" ||
  fail "git status: $status"
ls "$REPO"/.git/objects/pack/*.pack >/dev/null 2>&1 || fail "no pack after gc"
# Nothing readable on disk: neither the working tree nor the objects (zlib) nor the packs.
grep -rqa "GIT-SECRET" "$REPO" && fail "plaintext on disk"
for pack in "$REPO"/.git/objects/pack/*.pack; do
  head -c 4 "$pack" | grep -q PACK && fail "pack $pack is readable on disk"
done
[ "$(plain_cat "$REPO/f1" | tail -1)" = "GIT-SECRET changed" ] && pass "working tree reads back" ||
  fail "f1 via cove fspf cat"
finish
