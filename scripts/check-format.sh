#!/usr/bin/env bash
# Fails when a tracked C/C++ source is not formatted by the repository's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r file; do
  if ! clang-format --dry-run -Werror "$file" >/dev/null 2>&1; then
    echo "not clang-formatted: $file (run: clang-format -i $file)"
    bad=1
  fi
done < <(git ls-files '*.cc' '*.h' '*.c')
[ "$bad" -eq 0 ] && echo "check-format: all sources are clang-formatted"
exit "$bad"
