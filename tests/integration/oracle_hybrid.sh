#!/usr/bin/env bash
# hearth against llama.cpp (node-llama-cpp) on tiny random-weight models of the
# mixture-of-experts and hybrid architectures (tools/genmodel_hybrid.c), with
# the real Qwen 3.5 vocabulary cut to 4096 tokens: 64 teacher-forced steps,
# F32 identical greedy tokens and max |dp| <= 1e-3, quantized top-1 >= 99% and
# mean KL <= 1e-3 (tests/oracle/compare.mjs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen35.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
bash "$root/tests/oracle/install.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cases=()
gen() { # name class genmodel_hybrid-args...
  local name=$1 cls=$2; shift 2
  "$BUILD/genmodel_hybrid" --vocab "$vocab" --n-vocab 4096 -o "$tmp/$name.gguf" "$@"
  cases+=("$name:$tmp/$name.gguf:$cls")
}
gen qwen3moe-f32 f32 --arch qwen3moe --seed 7
gen qwen3moe-q8_0 quant --arch qwen3moe --type q8_0 --seed 9
gen qwen2moe-f32 f32 --arch qwen2moe --seed 10
gen qwen2moe-q8_0 quant --arch qwen2moe --type q8_0 --seed 11
node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${cases[@]}"
