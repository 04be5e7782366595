#!/usr/bin/env bash
# gemma3 / gemma4 against llama.cpp (node-llama-cpp) on tiny random-weight files
# with the real Gemma 4 vocabulary (cut to 4096 tokens): dense, per-layer
# embeddings and shared KV, in F32, Q8_0 and Q4_K. The sliding window is 8
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
for v in gemma3:dense gemma4:dense gemma4:ple gemma4:shared; do
  arch=${v%%:*} variant=${v##*:}
  for type in f32 q8_0 q4_K; do
    [ "$type" = f32 ] && cls=f32 || cls=quant
    gen "$arch-$variant-$type" "$cls" --arch "$arch" --variant "$variant" --type "$type" --seed 21
  done
done

if ! "$HEARTH" run --help 2>&1 | grep -q -- --force-ids; then
  echo "SKIPPED: hearth run has no --force-ids yet"; exit 0
fi
node "$root/tests/oracle/compare.mjs" --hearth "$HEARTH" "${cases[@]}"
# Same files, prompt fed 4 tokens at a time: sliding layers keep 8 - 1 + 4 = 11 positions.
printf '#!/bin/sh\nexec "%s" "$@" -b 4\n' "$HEARTH" > "$tmp/hearth-b4"
chmod +x "$tmp/hearth-b4"
ring=()
for c in "${cases[@]}"; do case $c in *-f32:*|*-q4_K:*) ring+=("${c/:/-b4:}") ;; esac; done
node "$root/tests/oracle/compare.mjs" --hearth "$tmp/hearth-b4" "${ring[@]}"
