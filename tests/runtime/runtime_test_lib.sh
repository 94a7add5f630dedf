# Helpers for the end-to-end tests of `cove run` (sourced). Usage in a test:
#   source runtime_test_lib.sh "$@"     # $1: cove binary, $2: libcove-runtime.so
#   make_volume REGION_DIR encrypted    # fspf + key + tag file in $WORK; files of REGION_DIR added
#   crun PROGRAM ARGS...                # cove run with that volume (SCONE_LOG=2)
set -euo pipefail

COVE=${1:?usage: test.sh COVE_BINARY RUNTIME_SO}
export COVE_RUNTIME=${2:?usage: test.sh COVE_BINARY RUNTIME_SO}
WORK=$(mktemp -d /tmp/cove-runtime-test-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILED=0

fail() {
  echo "FAIL: $*" >&2
  FAILED=1
}
pass() { echo "ok: $*"; }
finish() {
  if [ "$FAILED" -ne 0 ]; then
    echo "some checks failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# make_volume DIR KIND: an fspf at $WORK/fspf with region DIR (its current files added), sealed;
# sets KEY, TAG and TAG_FILE.
make_volume() {
  local dir=$1 kind=${2:-encrypted}
  "$COVE" fspf create "$WORK/fspf" >/dev/null
  "$COVE" fspf addr "$WORK/fspf" "$dir" "--$kind" >/dev/null
  "$COVE" fspf addf "$WORK/fspf" "$dir" "$dir" >/dev/null
  local out
  out=$("$COVE" fspf encrypt "$WORK/fspf")
  KEY=$(sed -n 's/.*key: \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
  TAG=$(sed -n 's/.*tag: \([0-9a-f]\{32\}\).*/\1/p' <<<"$out")
  TAG_FILE=$WORK/fspf.tag
  echo "$TAG" >"$TAG_FILE"
}

crun() {
  timeout 300 "$COVE" run --fspf "$WORK/fspf" --key "$KEY" --tag-file "$TAG_FILE" --log "${CRUN_LOG:-2}" \
    -- "$@"
}

# plain_cat PATH: the plaintext of protected PATH, read by `cove fspf cat` with the current tag.
plain_cat() {
  "$COVE" fspf cat "$WORK/fspf" "$1" --key "$KEY" --tag "$(head -1 "$TAG_FILE")"
}

# contains_bytes FILE NEEDLE: true when FILE's raw bytes contain NEEDLE.
contains_bytes() { grep -qaF -- "$2" "$1"; }

# flip_bit FILE OFFSET: flips the lowest bit of the byte at OFFSET (writing a fixed byte instead
# could leave it unchanged).
flip_bit() {
  python3 - "$1" "$2" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)[0]
    f.seek(int(sys.argv[2]))
    f.write(bytes([b ^ 0x01]))
PY
}
