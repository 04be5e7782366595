#!/usr/bin/env bash
# hearth against llama.cpp (node-llama-cpp) on tiny random-weight models of every
# supported architecture in every weight type: greedy tokens and next-token
# distributions must agree step by step (tests/oracle/compare.mjs has the limits).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-llama-spm.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
bash "$root/tests/oracle/install.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

gen() { # name class genmodel-args...
  local name=$1 cls=$2; shift 2
  "$BUILD/genmodel" --vocab "$vocab" --n-vocab 4096 -o "$tmp/$name.gguf" "$@"
  cases+=("$name:$tmp/$name.gguf:$cls")
}

cases=()
for arch in llama mistral3 qwen2 qwen3; do
  for type in f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K; do
    # F32 and F16 run with sharp distributions (logit scale 4); BF16 and the
    # quantized types, whose activations are rounded, with scale 2: sharper,
    # llama.cpp's own AVX2 and AVX-512 builds already disagree beyond the limits.
    case $type in f32) cls=f32 sc=4 ;; f16) cls=half sc=4 ;; bf16) cls=half sc=2 ;; *) cls=quant sc=2 ;; esac
    gen "$arch-$type" "$cls" --arch "$arch" --type "$type" --seed 7 --logit-scale "$sc"
  done
done
# Variants: tied/untied output, each RoPE scaling, llama.cpp's Q4_K_M mixture.
gen llama-tied-llama3 f32 --arch llama --tied --rope-scaling llama3 --seed 11
gen llama-linear f32 --arch llama --rope-scaling linear --seed 12
gen qwen3-untied-yarn f32 --arch qwen3 --untied --rope-scaling yarn --seed 13
gen qwen2-q4_k_m quant --arch qwen2 --type q4_k_m --seed 14 --logit-scale 2
gen mistral3-q4_k_m quant --arch mistral3 --type q4_k_m --seed 15 --logit-scale 2

# Until `hearth run` can force tokens and print distributions there is nothing
# to compare (and it says so); once it can, every case must pass.
if "$HEARTH" run --help 2>&1 | grep -q -- --force-ids; then
  # Token ids outside the vocabulary (4096) fail cleanly: status 1, one line.
  for ids in 0,4096 1,-2 99999999999 1,,2 ""; do
    rc=0; "$HEARTH" run -m "$tmp/llama-f32.gguf" --ids "$ids" -n 1 >/dev/null 2>"$tmp/err" || rc=$?
    if [ "$rc" -ne 1 ] || [ "$(wc -l < "$tmp/err")" -ne 1 ]; then
      echo "run --ids '$ids': exit $rc, stderr:"; cat "$tmp/err"; exit 1
    fi
  done
  rc=0; "$HEARTH" run -m "$tmp/llama-f32.gguf" --ids 1,2 --force-ids 3,4096 --json >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 1 ] || { echo "run --force-ids 3,4096: exit $rc"; cat "$tmp/err"; exit 1; }
  echo "out-of-range token ids rejected"
  node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${cases[@]}"
  # Where the CPU has AMX tiles, q4_K weights are repacked and run on them (kernels/gemm_amx.c):
  # the stored-layout kernels that every other x86 CPU runs get their own pass.
  if HEARTH_ISA=amx "$HEARTH" info "$tmp/llama-q4_K.gguf" >/dev/null 2>&1; then
    q4=(); for c in "${cases[@]}"; do case $c in *q4_K:*|*q4_k_m:*) q4+=("$c") ;; esac; done
    echo "q4_K cases again with HEARTH_ISA=avx512vnni (stored layout)"
    HEARTH_ISA=avx512vnni node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${q4[@]}"
  fi
else
  echo "SKIPPED: hearth run has no --force-ids yet"
fi
