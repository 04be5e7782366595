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
for args in "-m $tmp/missing.gguf" "-m $tmp/m.gguf -p x" "-m $tmp/m.gguf --bogus 1" "-p 8"; do
  rc=0; "$HEARTH" bench $args >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 1 ] && [ "$(wc -l < "$tmp/err")" -le 2 ] || { echo "bench $args: exit $rc"; cat "$tmp/err"; exit 1; }
done
echo ok
