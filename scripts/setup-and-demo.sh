#!/usr/bin/env bash
# The newcomer's first command: install dependencies, build, run the end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
bash scripts/demo.sh
