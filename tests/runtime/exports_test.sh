# libcove-runtime.so exports exactly the interposed libc names of exports.map: no OpenSSL,
# libstdc++ or cove symbol can clash with the program's own.
set -euo pipefail
RUNTIME=${1:?usage: exports_test.sh RUNTIME_SO EXPORTS_MAP}
MAP=${2:?usage: exports_test.sh RUNTIME_SO EXPORTS_MAP}
exported=$(nm -D --defined-only "$RUNTIME" | awk '{print $3}' | sed 's/@.*//' | sort -u)
allowed=$(sed -e 's#/\*.*\*/##' "$MAP" | sed -n '/global:/,/local:/p' | tr ';' '\n' |
  sed -e 's/global://' -e 's/local://' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
extra=$(comm -23 <(echo "$exported") <(echo "$allowed"))
if [ -n "$extra" ]; then
  echo "FAIL: exported but not interposed: $extra" >&2
  exit 1
fi
for name in open read write fstat statx fopen mmap execve dlopen; do
  grep -qx "$name" <<<"$exported" || { echo "FAIL: $name is not exported" >&2; exit 1; }
done
if nm -D --defined-only "$RUNTIME" | grep -Eq ' (EVP_|SSL_|OPENSSL_|_ZN|_ZS)'; then
  echo "FAIL: OpenSSL or C++ symbols are exported" >&2
  exit 1
fi
if ldd "$RUNTIME" | grep -Eq 'libcrypto|libssl|libstdc\+\+'; then
  echo "FAIL: the runtime depends on a shared libcrypto/libssl/libstdc++" >&2
  exit 1
fi
echo "ok: $(wc -l <<<"$exported") interposed names exported, nothing else"
