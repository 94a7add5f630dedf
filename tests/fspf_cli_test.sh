#!/usr/bin/env bash
# End-to-end test of `cove fspf`: build a protected tree as an image build would, check that
# encrypted files are ciphertext on disk, that `cat` returns the exact bytes, and that
# tampering, rollback, a wrong key and bad input fail loudly with a message naming the cause.
set -euo pipefail
COVE=${1:?usage: fspf_cli_test.sh path/to/cove}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_fail NEEDLE CMD...: CMD must exit non-zero and print NEEDLE on stderr.
expect_fail() {
  local needle=$1; shift
  if "$@" >out 2>err; then fail "expected failure: $*"; fi
  grep -q -- "$needle" err || { cat err >&2; fail "stderr of '$*' lacks '$needle'"; }
}

mkdir -p plain/lib
printf 'id,name\n1,alice\n2,bob\n' > plain/users.csv
head -c 300000 /dev/urandom > plain/lib/blob.bin
for i in $(seq 1 50); do echo "small file $i" > "plain/lib/s$i.txt"; done

"$COVE" fspf create fspf.pb
expect_fail "already exists" "$COVE" fspf create fspf.pb
"$COVE" fspf addr fspf.pb / --not-protected
"$COVE" fspf addr fspf.pb /data --encrypted --kernel "$work/enc"
"$COVE" fspf addr fspf.pb /conf --authenticated --kernel "$work/auth"
expect_fail "exactly one of" "$COVE" fspf addr fspf.pb /x --encrypted --authenticated
expect_fail "not inside an authenticated or encrypted region" "$COVE" fspf addf fspf.pb /tmp plain enc
"$COVE" fspf addf fspf.pb /data plain enc | grep -q "Added 52 file(s)"
mkdir -p confsrc && echo "setting=1" > confsrc/app.conf
"$COVE" fspf addf fspf.pb /conf confsrc auth >/dev/null
"$COVE" fspf encrypt fspf.pb > encrypt.out
grep -Eq '^Encrypted file system protection file fspf.pb AES-GCM tag: [0-9a-f]{32} key: [0-9a-f]{64}$' encrypt.out \
  || fail "encrypt output is not in SCONE's form: $(cat encrypt.out)"
tag=$(sed 's/.* tag: \([0-9a-f]*\) key: .*/\1/' encrypt.out)
key=$(sed 's/.* key: //' encrypt.out)

# Ciphertext on disk for the encrypted region, plaintext (authenticated) for /conf.
! grep -q alice enc/users.csv || fail "encrypted file leaks plaintext"
grep -q "setting=1" auth/app.conf || fail "authenticated file should keep plaintext on disk"
[ "$(stat -c %s enc/users.csv)" -gt "$(stat -c %s plain/users.csv)" ] || fail "no header/tags"

# show: human and JSON.
"$COVE" fspf show fspf.pb --key "$key" --tag "$tag" | grep -q "/data/users.csv  encrypted  22 bytes"
"$COVE" fspf show fspf.pb --key "$key" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["encrypted"] is True and len(d["tag"]) == 32
files = {f["path"]: f for f in d["files"]}
assert files["/data/lib/blob.bin"]["size"] == 300000, files
assert "key" not in json.dumps(d["files"]), "keys must never be printed"
assert {r["path"] for r in d["regions"]} == {"/", "/data", "/conf"}
'

# cat returns the exact bytes, by protected path or by on-disk path.
"$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" /data/lib/blob.bin | cmp - plain/lib/blob.bin
"$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" enc/users.csv | cmp - plain/users.csv
"$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" /conf/app.conf | cmp - confsrc/app.conf

# Tampering: a flipped byte in a chunk fails and names the file and the chunk (host offset
# 20000 = header 4096 + tag block 4096 + chunks 0 and 1, so inside chunk 2).
cp enc/lib/blob.bin blob.orig
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 1]))' enc/lib/blob.bin 20000  # flip one bit
expect_fail "/data/lib/blob.bin: chunk 2 (offset 8192)" "$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" /data/lib/blob.bin
[ ! -s out ] || fail "tampered cat printed data"
cp blob.orig enc/lib/blob.bin
# Authenticated file edited on disk.
sed -i 's/setting=1/setting=2/' auth/app.conf
expect_fail "authentication failed" "$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" /conf/app.conf
# Truncated file.
cp enc/users.csv users.orig
truncate -s -1 enc/users.csv
expect_fail "truncated" "$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" /data/users.csv
cp users.orig enc/users.csv
# Files swapped.
cp enc/lib/s1.txt s1.orig
cp enc/lib/s2.txt enc/lib/s1.txt
expect_fail "file id does not match" "$COVE" fspf cat fspf.pb --key "$key" --tag "$tag" /data/lib/s1.txt
cp s1.orig enc/lib/s1.txt

# Rollback of the fspf: an older fspf is refused when the owner expects the newer tag.
cp fspf.pb fspf.old
"$COVE" fspf addr fspf.pb /extra --encrypted --key "$key" > addr.out
new_tag=$(sed -n 's/^fspf tag: //p' addr.out)
[ -n "$new_tag" ] && [ "$new_tag" != "$tag" ] || fail "changing a sealed fspf must print its new tag"
cp fspf.old fspf.pb
expect_fail "not the expected tag" "$COVE" fspf show fspf.pb --key "$key" --tag "$new_tag"

# Wrong key, malformed key, missing key, not an fspf.
other=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
expect_fail "wrong key" "$COVE" fspf show fspf.pb --key "$other"
expect_fail "expected 64 hex digits" "$COVE" fspf show fspf.pb --key abcd
expect_fail "key is required" "$COVE" fspf show fspf.pb
expect_fail "not an fspf" "$COVE" fspf show plain/users.csv
expect_fail "No such file" "$COVE" fspf show missing.pb

# In-place addf (no DST_DIR) replaces the plain files by protected ones.
"$COVE" fspf create inplace.pb
"$COVE" fspf addr inplace.pb /w --encrypted --kernel "$work/inplace"
mkdir inplace && cp plain/users.csv inplace/
"$COVE" fspf addf inplace.pb /w inplace >/dev/null
! grep -q alice inplace/users.csv || fail "in-place addf left plaintext"
"$COVE" fspf cat inplace.pb /w/users.csv 2>/dev/null | cmp - plain/users.csv
echo "fspf CLI: all checks passed"
