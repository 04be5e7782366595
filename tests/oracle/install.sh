#!/usr/bin/env bash
# Installs the test-only llama.cpp oracle (node-llama-cpp, prebuilt CPU binaries)
# and the API clients the serve tests drive (openai and ollama npm SDKs, pinned)
# into tests/oracle/node_modules unless they are already there.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/node-llama-cpp/package.json ] && [ -d node_modules/@node-llama-cpp/linux-x64 ] &&
   [ -f node_modules/openai/package.json ] && [ -f node_modules/ollama/package.json ]; then
  exit 0
fi
# One npm call for everything: a later --no-save install would prune the others.
npm install --no-save --no-audit --no-fund --omit=optional \
  node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 openai@5.23.2 ollama@0.6.4 >/dev/null
