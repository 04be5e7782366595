#!/usr/bin/env bash
# Installs the test-only llama.cpp oracle (node-llama-cpp, prebuilt CPU binaries)
# into tests/oracle/node_modules unless it is already there.
set -euo pipefail
cd "$(dirname "$0")"
if ! [ -f node_modules/node-llama-cpp/package.json ] || ! [ -d node_modules/@node-llama-cpp/linux-x64 ]; then
  npm install --no-save --no-audit --no-fund --omit=optional \
    node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 >/dev/null
fi
# ggml picks the best CPU build for the machine; on CPUs with AMX that is the
# Sapphire Rapids build, whose AMX matrix kernels give different results from
# ggml's standard kernels (Q4_1 logits off by up to 18, Q8_0 by 1e-2 on the
# tiny test models). Without it the oracle computes the same everywhere.
rm -f node_modules/@node-llama-cpp/linux-*/bins/*/libggml-cpu-sapphirerapids.*
