#!/usr/bin/env bash
# Installs everything cove needs to build, test and run its demo on Debian 12 (bookworm).
# Every dependency is a Debian package; the README's "Dependencies" section says why each is here.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  # toolchain
  build-essential cmake g++ clang clang-format clang-tidy libclang-rt-14-dev
  # libraries
  libssl-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libsqlite3-dev libpq-dev
  libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  # programs the tests and the demo run under cove
  python3 sqlite3 coreutils gzip findutils procps git
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
