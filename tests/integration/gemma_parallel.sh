#!/usr/bin/env bash
# hearth serve --parallel on Gemma 4 files (dense and mixture of experts): two
# concurrent greedy completions, whose decode steps are batched together
# (hearth_sessions_decode), must give what each gives alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/serve_wait.sh"
vocab="$root/../shared/vocab/ggml-vocab-gemma-4.gguf"
[ -f "$vocab" ] || { echo "missing $vocab"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "== $f"; tail -5 "$f"; done; exit 1; }

start() { # name model args...
  local name=$1 model=$2; shift 2
  "$HEARTH" serve -m "$model" --port 0 -t 1 --ctx-per-slot 128 "$@" 2>"$tmp/$name.log" &
  pids+=($!)
  serve_wait "$name"
}
complete() { # port prompt -> the generated text
  curl -sf "http://127.0.0.1:$1/v1/completions" \
    -d "{\"prompt\":\"$2\",\"max_tokens\":16,\"temperature\":0}" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).choices[0].text))'
}

for variant in dense moe; do
  model="$tmp/$variant.gguf"
  "$BUILD/genmodel_gemma" --arch gemma4 --variant "$variant" --type f32 --seed 5 --vocab "$vocab" --n-vocab 4096 -o "$model"
  start "$variant-1" "$model" --parallel 1
  a1=$(complete "$PORT" "The capital of France") || fail "$variant: request failed"
  b1=$(complete "$PORT" "Once upon a time there") || fail "$variant: request failed"
  start "$variant-2" "$model" --parallel 2
  complete "$PORT" "The capital of France" > "$tmp/a2" & ja=$!
  complete "$PORT" "Once upon a time there" > "$tmp/b2" & jb=$!
  wait "$ja" && wait "$jb" || fail "$variant: concurrent requests failed"
  [ "$(cat "$tmp/a2")" = "$a1" ] && [ "$(cat "$tmp/b2")" = "$b1" ] ||
    fail "$variant: batched completions differ from single ones: '$(cat "$tmp/a2")' vs '$a1', '$(cat "$tmp/b2")' vs '$b1'"
  [ -n "$a1" ] && [ -n "$b1" ] || fail "$variant: empty completion"
  echo "ok: gemma4 $variant, 2 concurrent completions equal the single ones"
done
