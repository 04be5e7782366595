#!/usr/bin/env bash
# Sliding-window layers keep only their window: `hearth info` reports the KV
# bytes of global layers for the whole context plus a ring per sliding layer,
# and the resident memory a long prompt adds grows only by the global layers'
# share. Model: tiny gemma3, 6 layers (2 global), 2 KV heads of 64, window 8.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-gemma-4.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m="$tmp/g3.gguf"
"$BUILD/genmodel_gemma" --arch gemma3 --ctx 131072 --vocab "$vocab" --n-vocab 4096 -o "$m"

# Expected, by hand: per position and layer K and V rows of 2 x 64 f32 (1024 bytes together);
# 2 global layers hold every position, 4 sliding layers a ring of 8 - 1 + 256 (default batch) positions.
expect() { echo $(( 2 * $1 * 1024 + 4 * 263 * 1024 )); }
json=$("$HEARTH" info "$m" --json)
for ctx in 2048 131072; do
  got=$(jq ".kv_cache_bytes[] | select(.context == $ctx) | .f32" <<<"$json")
  [ "$got" = "$(expect $ctx)" ] || { echo "FAIL: info reports $got f32 KV bytes at context $ctx, expected $(expect $ctx)"; exit 1; }
done
echo "ok: hearth info f32 KV at 131072 positions: $(expect 131072) bytes (all-global would be $((6 * 131072 * 1024)))"

# Peak resident memory of a 4096-token prompt minus that of a 256-token prompt (same context,
# same 256 distinct tokens, so weights and scratch pages are the same): the KV of positions
# 256..4095, which only global layers keep. Each is the least of three runs: the allocator
# (AddressSanitizer's most of all) adds a few hundred KB at random, never less.
rss() { # prompt length -> peak RSS in bytes
  local ids best= r; ids=$(awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? "," : ""), 5 + i % 256 }')
  for _ in 1 2 3; do
    /usr/bin/time -f %M -o "$tmp/rss" "$HEARTH" run -m "$m" -c 4096 --cache-type f32 -t 1 --ids "$ids" -n 1 --temp 0 >/dev/null 2>&1
    r=$(( $(cat "$tmp/rss") * 1024 ))
    if [ -z "$best" ] || [ "$r" -lt "$best" ]; then best=$r; fi
  done
  echo "$best"
}
small=$(rss 256); large=$(rss 4096)
grow=$((large - small)); want=$(( $(expect 4096) - $(expect 256) ))
echo "resident growth 256 -> 4096 positions: $grow bytes; KV estimate difference: $want bytes"
if [ $((grow * 10)) -lt $((want * 9)) ] || [ $((grow * 10)) -gt $((want * 11)) ]; then
  echo "FAIL: resident growth differs from the KV estimate by more than 10%"; exit 1
fi
echo "ok: within 10%"
