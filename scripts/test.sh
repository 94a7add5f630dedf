#!/usr/bin/env bash
# Runs every test: the unit and end-to-end tests (CTest) on a release build, the unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer, the shield and runtime unit tests
# (with their multi-threaded ones) under ThreadSanitizer, and each libFuzzer target for a
# bounded time. Installs what it needs first. Ends with CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== format"
bash scripts/check-format.sh

echo "== build (RelWithDebInfo)"
BUILD_DIR=build bash scripts/build.sh

echo "== sanitizer build (address,undefined)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOVE_SANITIZE=address,undefined \
  -DCOVE_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -j"$jobs" -E '^runtime' >asan.log 2>&1) \
  || { tail -50 build-asan/asan.log; echo "sanitizer tests failed"; exit 1; }
tail -3 build-asan/asan.log

echo "== thread sanitizer (shield and runtime unit tests)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCOVE_SANITIZE=thread -DCOVE_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target cove_shield_test cove_runtime_test
build-tsan/src/shield/cove_shield_test --gtest_brief=1
build-tsan/src/runtime/cove_runtime_test --gtest_brief=1

echo "== fuzzers (bounded)"
bash scripts/run-fuzzers.sh "${COVE_FUZZ_SECONDS:-20}"

echo "== tests"
cd build
ctest --output-on-failure -j"$jobs"
