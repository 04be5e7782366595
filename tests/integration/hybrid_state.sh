#!/usr/bin/env bash
# Recurrent state across prompt batches: a Qwen 3.5 prompt processed in one
# batch, in uneven batches and one token at a time must give the same greedy
# continuation and distributions (within float rounding of the batched matrix
# products), since the recurrent state is carried exactly across batches.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen35.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BUILD/genmodel_hybrid" --arch qwen35 --vocab "$vocab" --n-vocab 4096 --seed 31 -o "$tmp/m.gguf"
ids=$(seq -s, 100 37 2300)
for b in 256 7 1; do
  "$HEARTH" run -m "$tmp/m.gguf" --ids "$ids" -n 16 --temp 0 --json --probs 3 --cache-type f32 -t 2 -b "$b" \
    2>/dev/null > "$tmp/b$b.json"
done
node -e '
const fs = require("fs");
const [a, ...rest] = process.argv.slice(1).map(f => JSON.parse(fs.readFileSync(f, "utf8")));
let worst = 0;
for (const b of rest) {
  if (JSON.stringify(a.tokens) !== JSON.stringify(b.tokens)) { console.log("FAIL: tokens differ", a.tokens, b.tokens); process.exit(1); }
  a.top.forEach((step, s) => step.forEach(([id, p], k) => {
    if (b.top[s][k][0] !== id) { console.log(`FAIL: step ${s} rank ${k} differs`); process.exit(1); }
    worst = Math.max(worst, Math.abs(b.top[s][k][1] - p));
  }));
}
if (worst > 1e-5) { console.log(`FAIL: max |dp| ${worst} between batch sizes`); process.exit(1); }
console.log(`ok: batches 256, 7 and 1 agree (16 tokens, max |dp| ${worst.toExponential(2)})`);
' "$tmp/b256.json" "$tmp/b7.json" "$tmp/b1.json"

# hearth info: the fixed recurrent state and the KV cache of the attention layers
# only, from the generator's shapes. qwen35: 2 recurrent layers, each a conv
# window (4-1) x 512 channels and 4 value heads of 64x64; 2 attention layers of
# 2 KV heads x 128. nemotron_h: 2 Mamba-2 layers, (4-1) x 768 and 512 x 64;
# 1 attention layer of 2 KV heads x 64.
check_info() { # file state kv_f16_at_2048
  local got; got=$("$HEARTH" info --json "$1" | grep -o '"recurrent_state_bytes":[0-9]*,"kv_cache_bytes":\[{"context":2048,"f16":[0-9]*')
  local want="\"recurrent_state_bytes\":$2,\"kv_cache_bytes\":[{\"context\":2048,\"f16\":$3"
  [ "$got" = "$want" ] || { echo "FAIL: hearth info $1: $got, expected $want"; exit 1; }
}
"$BUILD/genmodel_hybrid" --arch nemotron_h --vocab "$vocab" --n-vocab 4096 --seed 31 -o "$tmp/nh.gguf"
check_info "$tmp/m.gguf" $(( 2 * ((4 - 1) * 512 + 4 * 64 * 64) * 4 )) $(( 2 * 2 * 2 * 128 * 2048 * 2 ))
check_info "$tmp/nh.gguf" $(( 2 * ((4 - 1) * 768 + 512 * 64) * 4 )) $(( 1 * 2 * 2 * 64 * 2048 * 2 ))
# nemotron_h stores head_count_kv and feed_forward_length per layer (0 where a
# layer has no attention or no MLP): info reports the layers' value, not 0 or -1.
got=$("$HEARTH" info --json "$tmp/nh.gguf" | grep -o '"feed_forward_length":[-0-9]*,"head_count":[0-9]*,"head_count_kv":[-0-9]*')
[ "$got" = '"feed_forward_length":512,"head_count":4,"head_count_kv":2' ] || { echo "FAIL: hearth info nemotron_h dims: $got"; exit 1; }
"$HEARTH" info "$tmp/nh.gguf" | grep -q '^heads: *4 (kv 2), head size 64$' || { echo "FAIL: hearth info nemotron_h heads line"; exit 1; }
echo "ok: hearth info reports the recurrent state and attention-only KV sizes, and per-layer dimensions"

# Prompts take the chunked parallel form of the recurrences (Gated DeltaNet's
# UT-transformed delta rule, Mamba-2's SSD scan, chunks of 64), decoding the
# per-token update: a 300-token prompt in one batch against one token at a time.
# Same algebra, different summation order in float32: about 1e-6 relative to
# logits of magnitude ~20 after 4 layers (observed <= 2e-4); a wrong term
# (decay, write strength, a lost chunk boundary) moves logits by O(1).
for a in qwen35 qwen35moe nemotron_h nemotron_h_moe; do
  "$BUILD/genmodel_hybrid" --arch $a --vocab "$vocab" --n-vocab 4096 --seed 17 -o "$tmp/c.gguf"
  echo -n "$a: "; "$BUILD/hybrid_chunk_check" "$tmp/c.gguf" 300 1e-3
done
