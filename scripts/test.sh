#!/usr/bin/env bash
# Runs every test: the unit and end-to-end tests (CTest) on a release build, the unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer, and each libFuzzer target for a
# bounded time. Installs what it needs first. Ends with CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo)"
BUILD_DIR=build bash scripts/build.sh

echo "== sanitizer build (address,undefined)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOVE_SANITIZE=address,undefined \
  -DCOVE_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -j"$jobs" -E '^runtime' >asan.log 2>&1) \
  || { tail -50 build-asan/asan.log; echo "sanitizer tests failed"; exit 1; }
tail -3 build-asan/asan.log

if [ -x scripts/run-fuzzers.sh ] || [ -f scripts/run-fuzzers.sh ]; then
  echo "== fuzzers (bounded)"
  bash scripts/run-fuzzers.sh "${COVE_FUZZ_SECONDS:-20}"
fi

echo "== tests"
cd build
ctest --output-on-failure -j"$jobs"
