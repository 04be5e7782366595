#!/usr/bin/env bash
# Installs the test-only llama.cpp oracle (node-llama-cpp, prebuilt CPU binaries)
# and the API clients the serve tests drive (openai and ollama npm SDKs, pinned)
# into tests/oracle/node_modules unless they are already there.
set -euo pipefail
cd "$(dirname "$0")"
if ! [ -f node_modules/node-llama-cpp/package.json ] || ! [ -d node_modules/@node-llama-cpp/linux-x64 ] ||
   ! [ -f node_modules/openai/package.json ] || ! [ -f node_modules/ollama/package.json ]; then
  # One npm call for everything: a later --no-save install would prune the others.
  npm install --no-save --no-audit --no-fund --omit=optional \
    node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 openai@5.23.2 ollama@0.6.4 >/dev/null
fi
# ggml loads the best CPU build for the machine. The oracle always uses the
# portable AVX2 build (haswell): the AVX-512 builds differ from it in rounding
# (on the tiny test models, teacher-forced, by as much as max|dp| 1e-2 for BF16
# and K-quants) and the Sapphire Rapids build's AMX kernels disagree outright
# (Q4_1 logits off by up to 18). With one build the reference is the same on
# every x86-64 machine with AVX2.
for v in alderlake skylakex cannonlake cascadelake icelake cooperlake zen4 sapphirerapids; do
  rm -f node_modules/@node-llama-cpp/linux-*/bins/*/libggml-cpu-"$v".*
done
