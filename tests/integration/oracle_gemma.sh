#!/usr/bin/env bash
# gemma3 / gemma4 against llama.cpp (node-llama-cpp) on tiny random-weight files
# with the real Gemma 4 vocabulary (cut to 4096 tokens): dense, per-layer
# embeddings, shared KV and mixture of experts (fused and separate gate+up
# stacks), in F32, Q8_0 and Q4_K. Quantized files keep unquantized what
# llama-quantize keeps (norms, the router, per_layer_model_proj: see
# hr_mix_allows_quantization). The sliding window is 8
# positions, far shorter than the 20-token prompt plus 64 steps; hearth runs a
# second time with 4-token batches so the sliding layers' ring buffer wraps.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-gemma-4.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
bash "$root/tests/oracle/install.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cases=()
gen() { # name class genmodel_gemma-args...
  local name=$1 cls=$2; shift 2
  "$BUILD/genmodel_gemma" --vocab "$vocab" --n-vocab 4096 -o "$tmp/$name.gguf" "$@"
  cases+=("$name:$tmp/$name.gguf:$cls")
}
# F32 for every variant; one quantized type each (both types for gemma3).
#
# Quantized files have their output logits scaled (--logit-scale) where hearth
# and llama.cpp would otherwise differ by more than the limits for reasons that
# are not errors: a scale s is equivalent to allowing mean KL 1e-3 / s^2 at scale 1.
# These random models amplify a single flipped 8-bit rounding of an activation
# (hearth's dot products sum in another order than ggml's, ~1e-7 relative, which
# moves one value in ~1e4 across a rounding boundary) into KL ~3e-3 at scale 1.
# Dumping llama.cpp's intermediates (cb_eval) beside hearth's, every op agrees to
# <= 3e-7 relative until such a flip. llama.cpp's own AVX2 (haswell) and AVX-512
# (skylakex) builds, teacher-forced on the q4_K files at scale 1, disagree by mean
# KL 1.1e-3 (gemma3), 3.9e-3 (gemma4 dense), 2.8e-3 (shared); at 0.35 by 1.4e-4,
# 5.0e-4, 4.0e-4. (On q8_0 files the two builds happen to agree bit for bit.)
# Each case's scale below, with the same model at each of seeds 21..30: mean KL
# median / worst, and top-1 agreement over the 640 steps counting near-ties:
#   gemma3 q8_0        0.7   2.4e-4 / 2.9e-4  99.8%  (1: 4.7e-4 / 5.9e-4 99.5%,
#                            but seed 21 then misses one step by 0.059 nats, which
#                            tips the pooled agreement below to 98.9%)
#   gemma3 q4_K        0.7   2.9e-4 / 6.0e-4  99.4%  (1: 6.9e-4 / 1.2e-3, 2 over)
#   gemma4 dense q4_K  0.35  2.4e-4 / 6.2e-4  99.5%  (0.5: 4.6e-4 / 1.3e-3, 2 over)
#   gemma4 shared q4_K 0.35  3.0e-4 / 4.7e-4  99.4%
#   gemma4 ple q8_0    0.35  2.2e-4 / 4.2e-4  99.5%  (0.5: 4.4e-4 / 8.5e-4 99.1%)
#   gemma4 moe q4_K    0.35  2.2e-4 / 7.8e-4  99.2%  (below for the MoE options)
#   gemma4 moe-split q8_0 0.35  1.9e-4 / 6.3e-4  99.7%  (0.5: 3.8e-4 / 1.3e-3, 1 over)
# Pooled over all seven at all ten seeds: 99.5%.
# The seeds below are the F32 files' (not picked among the ten).
#
# Mixture of experts: a near-tie between the 2nd and 3rd expert that rounding
# flips changes a token's FFN outright, and through the KV cache every later
# step; no rounding-level agreement avoids such flips (llama.cpp's two builds:
# mean KL 1.4e-2 on a q4_K MoE file). The quantized MoE files therefore have
# a more decided router (--router-std 4: the first expert outweighs the second
# more) and experts that share 94% of their variance (--expert-spread 0.25), so
# that a flip changes little. With the F32 files' router and experts (1.5, 1),
# mean KL over seeds 21..30 at scale 0.35 is 9.2e-4 / 8.3e-3 (q8_0) and
# 3.2e-3 / 5.1e-3 (q4_K), single steps up to 1.7e-1. Expert selection itself is
# checked exactly by the F32 files; the quantized ones still fail on a wrong
# expert stack slice (the up projection read from the next expert: mean KL
# ~4e-2), on experts' down scales ignored (1.2e-3..2.4e-3), or on the top-1
# expert alone (~1e-2). (Gemma 4 normalises the MoE output (post_ffw_norm_2), so
# the routing weights' renormalisation cancels out: no test can see it.)
gen gemma3-dense-f32 f32 --arch gemma3 --type f32 --seed 21
gen gemma3-dense-q8_0 quant --arch gemma3 --type q8_0 --seed 21 --logit-scale 0.7
gen gemma3-dense-q4_K quant --arch gemma3 --type q4_K --seed 21 --logit-scale 0.7
# (seed 23 for ple: seed 22's model has a near-tie at one step that rounding decides)
gen gemma4-dense-f32 f32 --arch gemma4 --variant dense --type f32 --seed 22
gen gemma4-ple-f32 f32 --arch gemma4 --variant ple --type f32 --seed 23
gen gemma4-shared-f32 f32 --arch gemma4 --variant shared --type f32 --seed 22
gen gemma4-moe-f32 f32 --arch gemma4 --variant moe --type f32 --seed 24
gen gemma4-moesplit-f32 f32 --arch gemma4 --variant moe-split --type f32 --seed 25
gen gemma4-dense-q4_K quant --arch gemma4 --variant dense --type q4_K --seed 22 --logit-scale 0.35
gen gemma4-ple-q8_0 quant --arch gemma4 --variant ple --type q8_0 --seed 23 --logit-scale 0.35
gen gemma4-shared-q4_K quant --arch gemma4 --variant shared --type q4_K --seed 22 --logit-scale 0.35
moeq=(--logit-scale 0.35 --router-std 4 --expert-spread 0.25)
gen gemma4-moe-q4_K quant --arch gemma4 --variant moe --type q4_K --seed 24 "${moeq[@]}"
gen gemma4-moesplit-q8_0 quant --arch gemma4 --variant moe-split --type q8_0 --seed 25 "${moeq[@]}"

if ! "$HEARTH" run --help 2>&1 | grep -q -- --force-ids; then
  echo "SKIPPED: hearth run has no --force-ids yet"; exit 0
fi
f32=() quant=()
for c in "${cases[@]}"; do case $c in *:f32) f32+=("$c") ;; *) quant+=("$c") ;; esac; done
node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${f32[@]}"
node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${quant[@]}"
# Same files, prompt fed 4 tokens at a time: sliding layers keep 8 - 1 + 4 = 11 positions.
printf '#!/bin/sh\nexec "%s" "$@" -b 4\n' "$HEARTH" > "$tmp/hearth-b4"
chmod +x "$tmp/hearth-b4"
ring=()
for c in "${cases[@]}"; do case $c in *-f32:*) ring+=("${c/:/-b4:}") ;; esac; done
node "$root/tests/oracle/compare.mjs" --hearth "$tmp/hearth-b4" "${ring[@]}"
