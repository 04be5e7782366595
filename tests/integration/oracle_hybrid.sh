#!/usr/bin/env bash
# hearth against llama.cpp (node-llama-cpp) on tiny random-weight models of the
# mixture-of-experts and hybrid architectures (tools/genmodel_hybrid.c), with
# the real Qwen 3.5 vocabulary cut to 4096 tokens: 64 teacher-forced steps,
# F32 identical greedy tokens and max |dp| <= 1e-3, quantized (Q8_0, and Q4_K for
# Qwen 3.5 and Nemotron-H) top-1 >= 99% and mean KL <= 1e-3 (tests/oracle/compare.mjs;
# quantized files with logit scale 2, as oracle_models.sh, since rounded activations
# make sharper near-ties fall either way). The recurrent models get a
# 100-token prompt that hearth processes in batches of 32 (the chunked parallel
# form of the recurrences), so the state is carried across prompt chunks and then
# through single-token decoding (the per-token form).
#
# Qwen 3.5 at Q4_K runs with logit scale 1: at scale 2 llama.cpp disagrees with
# itself beyond the limits. Its Q4_K matmuls sum the same integer products in a
# different float order with weight repacking (the oracle: q4_K_8x8) than without
# (ggml's vec_dot); a one-ulp change flips an 8-bit activation rounding somewhere
# in the 100-token prompt, and the flips cascade until the logits differ by 2-3%
# (relative rms) at every step, for llama.cpp without repacking and for hearth
# alike (F32 files: 1e-6). Seeds 21-28, mean KL against the oracle at scale 2:
# llama.cpp unrepacked 0.69-1.51e-3 (6 of 8 over 1e-3), hearth 0.45-1.72e-3 (6 of
# 8 over); at scale 1: llama.cpp unrepacked 1.7-3.7e-4, hearth 1.1-4.3e-4 (the
# most: seed 23, the case below), top-1 counting near-ties 99.41% of 512 steps for
# both (tests/oracle/llama_forced.sh runs llama.cpp unrepacked). qwen35moe at Q4_K
# is left out: expert choices flip too, and llama.cpp unrepacked already reaches
# mean KL 1.6-2.9e-3 at scale 1 on 2 of seeds 51-56 (hearth on 5 of 6).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen35.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
bash "$root/tests/oracle/install.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

gen() { # list name class genmodel_hybrid-args...
  local -n list=$1; local name=$2 cls=$3; shift 3
  "$BUILD/genmodel_hybrid" --vocab "$vocab" --n-vocab 4096 -o "$tmp/$name.gguf" "$@"
  list+=("$name:$tmp/$name.gguf:$cls")
}
moe=() recurrent=()
gen moe qwen3moe-f32 f32 --arch qwen3moe --seed 7
gen moe qwen3moe-q8_0 quant --arch qwen3moe --type q8_0 --seed 9 --logit-scale 2
gen moe qwen2moe-f32 f32 --arch qwen2moe --seed 10
gen moe qwen2moe-q8_0 quant --arch qwen2moe --type q8_0 --seed 11 --logit-scale 2
gen recurrent qwen35-f32 f32 --arch qwen35 --seed 21
gen recurrent qwen35-q8_0 quant --arch qwen35 --type q8_0 --seed 22 --logit-scale 2
gen recurrent qwen35moe-f32 f32 --arch qwen35moe --seed 51
gen recurrent qwen35moe-q8_0 quant --arch qwen35moe --type q8_0 --seed 52 --logit-scale 2
gen recurrent nemotron_h-f32 f32 --arch nemotron_h --seed 41
gen recurrent nemotron_h-q8_0 quant --arch nemotron_h --type q8_0 --seed 42 --logit-scale 2
gen recurrent nemotron_h_moe-f32 f32 --arch nemotron_h_moe --seed 61
gen recurrent nemotron_h_moe-q8_0 quant --arch nemotron_h_moe --type q8_0 --seed 62 --logit-scale 2
gen recurrent nemotron_h-q4_K quant --arch nemotron_h --type q4_K --seed 43 --logit-scale 2
gen recurrent nemotron_h_moe-q4_K quant --arch nemotron_h_moe --type q4_K --seed 63 --logit-scale 2
gen recurrent qwen35-q4_K quant --arch qwen35 --type q4_K --seed 23 --logit-scale 1
rc=0
node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${moe[@]}" || rc=1
HEARTH_ORACLE_PROMPT_LEN=100 HEARTH_ORACLE_BATCH=32 \
  node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${recurrent[@]}" || rc=1
exit $rc
