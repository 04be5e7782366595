#!/usr/bin/env bash
# Installs the test-only llama.cpp oracle (node-llama-cpp, prebuilt CPU binaries)
# into tests/oracle/node_modules unless it is already there.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/node-llama-cpp/package.json ] && [ -d node_modules/@node-llama-cpp/linux-x64 ]; then
  exit 0
fi
npm install --no-save --no-audit --no-fund --omit=optional \
  node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 >/dev/null
