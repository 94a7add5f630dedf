#!/usr/bin/env bash
# Runs every libFuzzer target of cove (each src/*/*_fuzzer.cc) for a bounded time, starting from
# its checked-in seeds under fuzz/corpus/<fuzzer>/, and fails if any of them finds a crash.
#   scripts/run-fuzzers.sh [SECONDS_PER_FUZZER] [FUZZER_NAME...]   (default 60 s, all fuzzers)
# Builds with clang in $COVE_FUZZ_BUILD_DIR (default <repo>/build-fuzz). New corpus units go to
# a scratch corpus in the build dir (the checked-in seeds are never modified); crash inputs go to
# <build dir>/artifacts/, named in the failure message, to be reproduced with
#   <build dir>/src/<component>/<fuzzer> <artifact>
set -euo pipefail

seconds="${1:-60}"
shift || true
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${COVE_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
jobs="${COVE_BUILD_JOBS:-2}"

if ! command -v clang++ >/dev/null; then
  echo "run-fuzzers: clang++ is required (apt-get install clang)" >&2
  exit 1
fi

mapfile -t sources < <(cd "$repo" && find src -name '*_fuzzer.cc' | sort)
fuzzers=()
for source in "${sources[@]}"; do
  name="$(basename "$source" .cc)"
  if (($# == 0)) || [[ " $* " == *" $name "* ]]; then fuzzers+=("$name"); fi
done
if ((${#fuzzers[@]} == 0)); then
  echo "run-fuzzers: no fuzzer selected" >&2
  exit 1
fi

CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -DCOVE_FUZZ=ON -DCOVE_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j"$jobs" --target "${fuzzers[@]}"

mkdir -p "$build/artifacts" "$build/corpus"
failed=()
for name in "${fuzzers[@]}"; do
  binary="$(find "$build/src" -type f -name "$name" -perm -u+x | head -n 1)"
  scratch="$build/corpus/$name"
  mkdir -p "$scratch"
  seeds=()
  [[ -d "$repo/fuzz/corpus/$name" ]] && seeds=("$repo/fuzz/corpus/$name")
  log="$build/$name.log"
  echo "== $name: ${seconds}s"
  set +e
  "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$name-" "$scratch" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  # libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/S exec/s: E ..."
  summary="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
  echo "   ${summary:-no status line} (exit $rc)"
  if ((rc != 0)); then
    failed+=("$name")
    grep -E 'ERROR|Test unit written|SUMMARY|abort' "$log" | head -n 20 >&2 || true
    echo "   full log: $log" >&2
  fi
done

if ((${#failed[@]} != 0)); then
  echo "run-fuzzers: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzzers: ${#fuzzers[@]} fuzzers ran ${seconds}s each without a crash"
