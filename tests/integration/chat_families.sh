#!/usr/bin/env bash
# hearth chat and hearth serve with the real Gemma 4, Qwen 3.5 and Nemotron 3 Nano
# templates (../shared/templates) on tiny random-weight gemma4 / qwen35 / nemotron_h
# models with real vocabularies (Gemma 4; Qwen 3.5's for both hybrids, as Nemotron
# 3 Nano's own is not in ../shared: its template uses the same ChatML markers).
#  1. The prompt chat and serve evaluate is `hearth template`'s rendering of the
#     same messages (also with enable_thinking true / false): greedy answers equal
#     `hearth run` on the rendered prompt's tokens, prompt token counts agree.
#  2. With HEARTH_FORCE_IDS the model "writes" thinking, answer, the family's
#     end-of-turn token and more text (tokenized with the real vocabulary):
#     chat shows or hides the thinking, serve returns it as reasoning_content
#     (OpenAI, streamed and not) or thinking (Ollama, when asked with think),
#     generation stops at the end-of-turn token.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared="$root/../shared"
[ -d "$shared/vocab" ] || shared=/work/shared
V="$shared/vocab" T="$shared/templates"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -5 "$f"; }; done; exit 1; }

"$BUILD/genmodel_gemma" --arch gemma4 --variant dense --type q8_0 --seed 22 --n-vocab 262144 \
  --vocab "$V/ggml-vocab-gemma-4.gguf" -o "$tmp/gemma4.gguf" >/dev/null
"$BUILD/genmodel_hybrid" --arch qwen35 --type q8_0 --seed 5 --n-vocab 151936 \
  --vocab "$V/ggml-vocab-qwen35.gguf" -o "$tmp/qwen35.gguf" >/dev/null
"$BUILD/genmodel_hybrid" --arch nemotron_h --type q8_0 --seed 6 --n-vocab 151936 \
  --vocab "$V/ggml-vocab-qwen35.gguf" -o "$tmp/nemotron.gguf" >/dev/null

# The markers the families rely on are single tokens of the real vocabularies.
for m in '<|channel>' '<channel|>' '<|turn>' '<turn|>' '<|think|>'; do
  [ "$("$HEARTH" tokenize -m "$V/ggml-vocab-gemma-4.gguf" --special "$m" | wc -w)" = 1 ] || fail "gemma-4 vocab: $m"
done
for m in '<|im_start|>' '<|im_end|>'; do
  [ "$("$HEARTH" tokenize -m "$V/ggml-vocab-qwen35.gguf" --special "$m" | wc -w)" = 1 ] || fail "qwen35 vocab: $m"
done

start() { # name model template [env...]: a server on a free port; sets B
  local name=$1 model=$2 tpl=$3; shift 3
  env "$@" "$HEARTH" serve -m "$model" --chat-template "$tpl" --port 0 -t 2 --ctx-per-slot 512 --alias m \
    2>"$tmp/$name.log" &
  pids+=($!)
  local port=
  for _ in $(seq 1 300); do
    port=$(grep -so 'listening on http://127.0.0.1:[0-9]*' "$tmp/$name.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && [ "$(curl -s "http://127.0.0.1:$port/health" || true)" = '{"status":"ready"}' ] && { B="http://127.0.0.1:$port"; return 0; }
    kill -0 "${pids[-1]}" 2>/dev/null || fail "server $name exited"
    sleep 0.1
  done
  fail "server $name did not become ready"
}
stop() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

SYS="You are terse." Q="What is 2+2?"
REASON="Two and two make four." ANSWER="The answer is 4."

family() { # name model template forced-text end-marker generation-prompt-opens-thinking(0/1)
  local name=$1 M=$2 tpl=$3 forced=$4 endm=$5 opens=$6 d="$tmp/$1"
  mkdir -p "$d"
  printf '[{"role":"system","content":"%s"},{"role":"user","content":"%s"}]' "$SYS" "$Q" > "$d/msgs.json"
  # ---- 1. prompts: hearth template's rendering, default and with enable_thinking ----
  "$HEARTH" template -m "$M" --chat-template "$tpl" --messages "$d/msgs.json" --add-generation-prompt > "$d/p-default.txt"
  local bos eos
  "$HEARTH" tokenize -m "$M" --vocab-info | node -e 'const v = JSON.parse(require("fs").readFileSync(0)); console.log(v.bos, v.eos)' > "$d/be"
  bos=$("$HEARTH" detokenize -m "$M" --special "$(cut -d' ' -f1 "$d/be")")
  eos=$("$HEARTH" detokenize -m "$M" --special "$(cut -d' ' -f2 "$d/be")")
  for et in true false; do
    node -e 'const [m, b, e, et] = process.argv.slice(1); console.log(JSON.stringify({messages: JSON.parse(require("fs").readFileSync(m)),
      add_generation_prompt: true, bos_token: b, eos_token: e, enable_thinking: et === "true"}))' "$d/msgs.json" "$bos" "$eos" "$et" > "$d/ctx-$et.json"
    "$HEARTH" template --file "$tpl" --context "$d/ctx-$et.json" > "$d/p-$et.txt"
  done
  for v in default true false; do
    "$HEARTH" tokenize -m "$M" --special -f "$d/p-$v.txt" | tr ' ' ',' > "$d/ids-$v"
    "$HEARTH" run -m "$M" --ids "$(cat "$d/ids-$v")" -n 8 --temp 0 -t 2 -c 512 --json 2>/dev/null > "$d/run-$v.json"
  done
  if [ "$name" = gemma4 ]; then
    grep -q '<|think|>' "$d/p-true.txt" || fail "$name: enable_thinking true renders no <|think|>"
    cmp -s "$d/p-true.txt" "$d/p-false.txt" && fail "$name: enable_thinking changes nothing"
  fi
  # chat: greedy answers (thinking shown, so the text is printed as generated) equal hearth run's
  for v in default true false; do
    local kw=()
    [ "$v" = default ] || kw=(--chat-template-kwargs "{\"enable_thinking\": $v}")
    printf '%s\n' "$Q" | "$HEARTH" chat -m "$M" --chat-template "$tpl" --system "$SYS" --temp 0 -n 8 -c 512 -t 2 \
      --think show "${kw[@]}" > "$d/chat-$v.out" 2>"$tmp/$name-chat.log" || fail "$name: chat ($v)"
    node -e 'const fs = require("fs"), [r, c] = process.argv.slice(1), want = JSON.parse(fs.readFileSync(r)).text + "\n";
      const got = fs.readFileSync(c, "utf8"); if (got !== want) { console.error(JSON.stringify({got, want})); process.exit(1); }' \
      "$d/run-$v.json" "$d/chat-$v.out" || fail "$name: chat's prompt ($v) is not the template's rendering"
  done
  start "$name-plain" "$M" "$tpl"
  node "$root/tests/integration/chat_families.mjs" prompts "$B" "$d" "$SYS" "$Q" "$opens" || fail "$name: serve prompts"
  stop

  # ---- 2. forced thinking, answer and end of turn ----
  local ids n_end
  ids=$("$HEARTH" tokenize -m "$M" --special "$forced" | tr ' ' ',')
  n_end=$("$HEARTH" tokenize -m "$M" --special "${forced%%"$endm"*}" | wc -w)
  [ "$(echo "$ids" | cut -d, -f$((n_end + 1)))" = "$("$HEARTH" tokenize -m "$M" --special "$endm")" ] ||
    fail "$name: the forced text does not tokenize with $endm as one token after the answer"
  for mode in show hide; do
    printf '%s\nAnd 3+3?\n/save %s\n' "$Q" "$d/saved-$mode.json" | HEARTH_FORCE_IDS="$ids" "$HEARTH" chat -m "$M" \
      --chat-template "$tpl" --system "$SYS" -n 64 -c 512 -t 2 --think $mode > "$d/forced-$mode.out" 2>"$tmp/$name-chat.log" ||
      fail "$name: forced chat --think $mode"
  done
  # two turns: the second re-renders the first answer without its thinking, so the
  # cached prefix is rewound (or, for recurrent state, evaluated again)
  [ "$(cat "$d/forced-show.out")" = "$REASON"$'\n'"$ANSWER"$'\n'"$REASON"$'\n'"$ANSWER" ] ||
    fail "$name: --think show printed [$(cat "$d/forced-show.out")]"
  [ "$(cat "$d/forced-hide.out")" = "$ANSWER"$'\n'"$ANSWER" ] || fail "$name: --think hide printed [$(cat "$d/forced-hide.out")]"
  # The conversation keeps the answer as generated (markers spelled out, so the template
  # can drop the thinking from the history), without what followed the end of turn.
  node -e 'const fs = require("fs"), [f, want] = process.argv.slice(1), m = JSON.parse(fs.readFileSync(f));
    if (m.at(-1).role !== "assistant" || m.at(-1).content !== want) { console.error(JSON.stringify(m.at(-1))); process.exit(1); }' \
    "$d/saved-hide.json" "${forced%%"$endm"*}" || fail "$name: saved answer"
  start "$name-forced" "$M" "$tpl" HEARTH_FORCE_IDS="$ids"
  node "$root/tests/integration/chat_families.mjs" forced "$B" "$d" "$SYS" "$Q" "$REASON" "$ANSWER" "${forced%%"$endm"*}" "$n_end" ||
    fail "$name: serve thinking separation"
  stop
  echo "$name: prompts = hearth template (default, enable_thinking true/false); thinking separated; stops at $endm after $n_end tokens"
}

family gemma4 "$tmp/gemma4.gguf" "$T/google-gemma-4-31B-it.jinja" \
  "<|channel>thought"$'\n'"$REASON<channel|>$ANSWER<turn|>LEAKED after the end of turn" '<turn|>' 0
family qwen35 "$tmp/qwen35.gguf" "$T/Qwen3.5-4B.jinja" \
  "$REASON"$'\n'"</think>"$'\n\n'"$ANSWER<|im_end|>LEAKED after the end of turn" '<|im_end|>' 1
family nemotron "$tmp/nemotron.gguf" "$T/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja" \
  "$REASON"$'\n'"</think>"$'\n'"$ANSWER<|im_end|>LEAKED after the end of turn" '<|im_end|>' 1
echo ok
