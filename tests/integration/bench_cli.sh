#!/usr/bin/env bash
# `hearth bench` on a tiny generated model: prints pp/tg speeds, bandwidth and
# peak memory; bad arguments and files fail with one line.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BUILD/genmodel" --arch qwen3 --type q8_0 --n-vocab 512 --vocab "$root/../shared/vocab/ggml-vocab-llama-spm.gguf" -o "$tmp/m.gguf"
"$HEARTH" bench -m "$tmp/m.gguf" -p 8 -n 4 -t 1 > "$tmp/out"
grep -Eq '^pp8: [0-9.]+ tok/s$' "$tmp/out"
grep -Eq '^tg4: [0-9.]+ tok/s, weight reads [0-9.]+ GB/s, cache reads [0-9.]+ MiB per token$' "$tmp/out"
grep -Eq '^peak RSS: [0-9.]+ MiB$' "$tmp/out"
# -d: both tests after a filled context, named as llama-bench names them.
"$HEARTH" bench -m "$tmp/m.gguf" -p 8 -n 4 -d 40 -t 1 > "$tmp/out"
grep -Eq '^pp8 @ d40: [0-9.]+ tok/s$' "$tmp/out"
grep -Eq '^tg4 @ d40: [0-9.]+ tok/s, weight reads [0-9.]+ GB/s, cache reads [0-9.]+ MiB per token$' "$tmp/out"
# A recurrent hybrid: generation only, after its state has taken 40 tokens.
"$BUILD/genmodel_hybrid" --arch qwen35 --n-vocab 512 --vocab "$root/../shared/vocab/ggml-vocab-qwen35.gguf" -o "$tmp/h.gguf"
"$HEARTH" bench -m "$tmp/h.gguf" -p 0 -n 4 -d 40 -t 1 > "$tmp/out"
grep -Eq '^tg4 @ d40: [0-9.]+ tok/s' "$tmp/out" && ! grep -q '^pp' "$tmp/out"
# The cache a generated token reads, from the generator's shape: 2 attention
# layers of 2 KV heads x 128, K and V, every position up to the generation's
# middle (1000 + 4/2 + 1); F16 2 bytes a value, Q8_0 34 bytes per 32 values.
for c in "f16 2 1" "q8_0 34 32"; do
  read -r ct num den <<<"$c"
  "$HEARTH" bench -m "$tmp/h.gguf" -p 0 -n 4 -d 1000 -t 1 --cache-type "$ct" > "$tmp/out"
  want=$(awk -v n="$num" -v d="$den" 'BEGIN { printf "%.2f", 2 * 1003 * 2 * (2 * 128) * n / d / 1048576 }')
  grep -Eq "^tg4 @ d1000: [0-9.]+ tok/s, weight reads [0-9.]+ GB/s, cache reads $want MiB per token\$" "$tmp/out" ||
    { echo "FAIL: $ct cache reads, expected $want MiB"; cat "$tmp/out"; exit 1; }
done
# --cache-type: the cache it ran with is named in the header.
"$HEARTH" bench -m "$tmp/m.gguf" -p 0 -n 4 -d 40 -t 1 --cache-type q8_0 > "$tmp/out"
grep -q 'cache: q8_0$' "$tmp/out" && grep -Eq '^tg4 @ d40: [0-9.]+ tok/s' "$tmp/out"
for args in "-m $tmp/missing.gguf" "-m $tmp/m.gguf -p x" "-m $tmp/m.gguf --bogus 1" "-p 8" "-m $tmp/m.gguf -d -1" "-m $tmp/m.gguf --cache-type q4"; do
  rc=0; "$HEARTH" bench $args >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 1 ] && [ "$(wc -l < "$tmp/err")" -le 2 ] || { echo "bench $args: exit $rc"; cat "$tmp/err"; exit 1; }
done
echo ok
