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
  libssl-dev libipsec-mb-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libsqlite3-dev libpq-dev
  libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  # programs the tests and the demo run under cove
  python3 sqlite3 coreutils gzip findutils procps git curl libjemalloc2 gdb
)
# Servers the tests run under cove: each test starts its own, on a unix socket. Their system
# services are neither started nor enabled by this script.
servers=(redis-server nginx)
missing=()
missing_servers=()
for p in "${packages[@]}" "${servers[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
    [[ " ${servers[*]} " == *" $p "* ]] && missing_servers+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all $((${#packages[@]} + ${#servers[@]})) packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# policy-rc.d (Debian's switch for package scripts) keeps the new servers from starting.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ${#missing_servers[@]} -gt 0 ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  own_policy=1
fi
status=0
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ "$own_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
[ "$status" = 0 ] || exit "$status"
if [ ${#missing_servers[@]} -gt 0 ] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now "${missing_servers[@]}" >/dev/null 2>&1 || true
fi
