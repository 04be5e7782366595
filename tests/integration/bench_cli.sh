#!/usr/bin/env bash
# `hearth bench` on a tiny generated model: prints pp/tg speeds, bandwidth and
# peak memory; bad arguments and files fail with one line.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BUILD/genmodel" --arch qwen3 --type q8_0 --n-vocab 512 --vocab "$root/../shared/vocab/ggml-vocab-llama-spm.gguf" -o "$tmp/m.gguf"
"$HEARTH" bench -m "$tmp/m.gguf" -p 8 -n 4 -t 1 > "$tmp/out"
grep -Eq '^pp8: [0-9.]+ tok/s$' "$tmp/out"
grep -Eq '^tg4: [0-9.]+ tok/s, weight reads [0-9.]+ GB/s$' "$tmp/out"
grep -Eq '^peak RSS: [0-9.]+ MiB$' "$tmp/out"
# -d: both tests after a filled context, named as llama-bench names them.
"$HEARTH" bench -m "$tmp/m.gguf" -p 8 -n 4 -d 40 -t 1 > "$tmp/out"
grep -Eq '^pp8 @ d40: [0-9.]+ tok/s$' "$tmp/out"
grep -Eq '^tg4 @ d40: [0-9.]+ tok/s, weight reads [0-9.]+ GB/s$' "$tmp/out"
# A recurrent hybrid: generation only, after its state has taken 40 tokens.
"$BUILD/genmodel_hybrid" --arch qwen35 --n-vocab 512 --vocab "$root/../shared/vocab/ggml-vocab-qwen35.gguf" -o "$tmp/h.gguf"
"$HEARTH" bench -m "$tmp/h.gguf" -p 0 -n 4 -d 40 -t 1 > "$tmp/out"
grep -Eq '^tg4 @ d40: [0-9.]+ tok/s' "$tmp/out" && ! grep -q '^pp' "$tmp/out"
# --cache-type: the cache it ran with is named in the header.
"$HEARTH" bench -m "$tmp/m.gguf" -p 0 -n 4 -d 40 -t 1 --cache-type q8_0 > "$tmp/out"
grep -q 'cache: q8_0$' "$tmp/out" && grep -Eq '^tg4 @ d40: [0-9.]+ tok/s' "$tmp/out"
for args in "-m $tmp/missing.gguf" "-m $tmp/m.gguf -p x" "-m $tmp/m.gguf --bogus 1" "-p 8" "-m $tmp/m.gguf -d -1" "-m $tmp/m.gguf --cache-type q4"; do
  rc=0; "$HEARTH" bench $args >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 1 ] && [ "$(wc -l < "$tmp/err")" -le 2 ] || { echo "bench $args: exit $rc"; cat "$tmp/err"; exit 1; }
done
echo ok
