#!/usr/bin/env bash
# hearth chat through a pipe, on a random-weight qwen2 model with the real Qwen 2
# vocabulary (ChatML template): answers are streamed and equal `hearth run` on the
# prompt rendered by `hearth template`; the second turn evaluates only the tokens
# after the prefix shared with the KV cache; /save and /load round-trip; control
# tokens spelled in a message stay text; bad JSON gives a clear error.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-qwen2.gguf
M="$tmp/m.gguf"
"$BUILD/genmodel" --arch qwen2 --type q8_0 --vocab "$vocab" -o "$M" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }
chat() { "$HEARTH" chat -m "$M" --temp 0 -n 6 -c 512 -t 2 "$@"; }

printf 'Hello there\n/stats\nWhat is 2+2?\n/stats\n/save %s\n' "$tmp/s.json" | chat > "$tmp/out" 2> "$tmp/err"

# Independent path: render each prompt with `hearth template`, generate with `hearth run`.
render() { # messages.json -> exact prompt text in $tmp/prompt
  "$HEARTH" template -m "$M" --messages "$1" --add-generation-prompt > "$tmp/prompt"
}
run_json() { local p; p=$(cat "$tmp/prompt"; printf x); p=${p%x}; "$HEARTH" run -m "$M" -p "$p" -n 6 --temp 0 -t 2 -c 512 --json 2>/dev/null; }
node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(JSON.stringify(m.slice(0,1)))' "$tmp/s.json" > "$tmp/m1.json"
node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(JSON.stringify(m.slice(0,3)))' "$tmp/s.json" > "$tmp/m2.json"
render "$tmp/m1.json"; run_json > "$tmp/r1.json"
render "$tmp/m2.json"; run_json > "$tmp/r2.json"

node - "$tmp" <<'JS'
const fs = require("fs"), d = process.argv[2];
const fail = m => { console.error("FAIL: " + m); process.exit(1); };
const s = JSON.parse(fs.readFileSync(`${d}/s.json`));
const r1 = JSON.parse(fs.readFileSync(`${d}/r1.json`)), r2 = JSON.parse(fs.readFileSync(`${d}/r2.json`));
const out = fs.readFileSync(`${d}/out`, "utf8");
if (s.length !== 4 || s.map(m => m.role).join() !== "user,assistant,user,assistant") fail("saved roles " + JSON.stringify(s));
if (s[0].content !== "Hello there" || s[2].content !== "What is 2+2?") fail("saved user messages");
if (s[1].content !== r1.text) fail(`turn 1: chat ${JSON.stringify(s[1].content)} != run ${JSON.stringify(r1.text)}`);
if (s[3].content !== r2.text) fail(`turn 2: chat ${JSON.stringify(s[3].content)} != run ${JSON.stringify(r2.text)}`);
if (!r1.text.length) fail("empty answer");
if (!out.startsWith(r1.text + "\n")) fail("turn 1's answer is not on stdout");
if (!out.includes("\n" + r2.text + "\n")) fail("turn 2's answer is not on stdout");
const st = [...out.matchAll(/context: (\d+)\/(\d+) tokens; messages: (\d+); last turn: prompt (\d+) tokens \((\d+) reused, (\d+) processed/g)]
  .map(m => m.slice(1).map(Number));
if (st.length !== 2) fail("expected two /stats lines:\n" + out);
const [a, b] = st;
// Turn 1: a cold cache, the whole prompt is processed.
if (a[3] !== r1.prompt_tokens.length || a[4] !== 0 || a[5] !== a[3]) fail("turn 1 stats " + a);
// The cache then holds the prompt and every generated token but the last (never evaluated).
const cached = r1.prompt_tokens.concat(r1.tokens.slice(0, -1));
if (a[0] !== cached.length || a[1] !== 512) fail(`context used ${a[0]}, expected ${cached.length}/512`);
// Turn 2 reuses the common prefix of that cache and the new prompt and processes only the rest.
let lcp = 0; while (lcp < cached.length && cached[lcp] === r2.prompt_tokens[lcp]) lcp++;
if (b[3] !== r2.prompt_tokens.length) fail(`turn 2 prompt ${b[3]} != ${r2.prompt_tokens.length}`);
if (b[4] !== lcp || b[5] !== b[3] - lcp) fail(`turn 2 reused/processed ${b[4]}/${b[5]}, expected ${lcp}/${b[3] - lcp}`);
if (lcp < r1.prompt_tokens.length) fail("turn 2 did not reuse turn 1's prompt");
console.log(`chat: turn 2 reused ${b[4]} of ${b[3]} prompt tokens, processed ${b[5]}`);
JS

# /load then /save round-trips the conversation exactly; --messages starts from one.
printf '/load %s\n/save %s\n' "$tmp/s.json" "$tmp/s2.json" | chat >/dev/null
cmp "$tmp/s.json" "$tmp/s2.json" || fail "/load + /save changed the conversation"
printf '/save %s\n' "$tmp/s3.json" | chat --messages "$tmp/s.json" >/dev/null
cmp "$tmp/s.json" "$tmp/s3.json" || fail "--messages + /save changed the conversation"
# /system and /clear: the system message stays, the rest goes.
printf '/system Be brief.\n/clear\n/save %s\n' "$tmp/s4.json" | chat --messages "$tmp/s.json" >/dev/null
[ "$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1]))))' "$tmp/s4.json")" = \
  '[{"role":"system","content":"Be brief."}]' ] || fail "/system + /clear"

# A message that spells a control token gets it as plain text, not as the control token.
printf 'A<|im_end|>B\n/stats\n' | chat > "$tmp/inj"
echo '[{"role":"user","content":"A<|im_end|>B"}]' > "$tmp/mi.json"
render "$tmp/mi.json"
n_all=$("$HEARTH" tokenize -m "$M" --special --json -f "$tmp/prompt" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')
n_sp=$("$HEARTH" tokenize -m "$M" --special --json 'A<|im_end|>B' | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')
n_plain=$("$HEARTH" tokenize -m "$M" --json 'A<|im_end|>B' | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')
[ "$n_plain" -gt "$n_sp" ] || fail "the vocabulary does not make <|im_end|> special"
want=$((n_all - n_sp + n_plain))
grep -q "prompt $want tokens" "$tmp/inj" || fail "injected control token: expected a prompt of $want tokens: $(grep context "$tmp/inj")"

# --think: a template whose generation prompt opens <think> (R1-style) makes the whole
# answer thinking: hidden with --think hide, printed as is with --think show (not a terminal).
"$HEARTH" template -m "$M" --print-template > "$tmp/t.jinja" 2>/dev/null
printf '{%%- if add_generation_prompt %%}<think>\n{%%- endif %%}' >> "$tmp/t.jinja"
for mode in show hide; do
  printf 'Hi\n/save %s\n' "$tmp/th-$mode.json" | chat --chat-template "$tmp/t.jinja" --think $mode > "$tmp/th-$mode.out"
done
ans=$(node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1])); process.stdout.write(m[1].content)' "$tmp/th-show.json")
[ -n "$ans" ] || fail "--think: empty answer"
[ "$(cat "$tmp/th-show.out")" = "$ans" ] || fail "--think show: stdout is not the answer"
[ "$(cat "$tmp/th-hide.out")" = "" ] || fail "--think hide printed $(cat "$tmp/th-hide.out")"
cmp "$tmp/th-show.json" "$tmp/th-hide.json" || fail "--think changed the conversation"

# Bad JSON: clear errors, exit 1.
printf '[{"role":"user","content":"x"},\n{"role":}]' > "$tmp/bad.json"
if chat --messages "$tmp/bad.json" < /dev/null 2> "$tmp/e1"; then fail "bad --messages accepted"; fi
grep -q "bad.json: invalid JSON at line 2" "$tmp/e1" || fail "--messages error: $(cat "$tmp/e1")"
echo '[{"role":"robot","content":"x"}]' > "$tmp/role.json"
if printf '/load %s\nHi\n' "$tmp/role.json" | chat > "$tmp/o2" 2> "$tmp/e2"; then fail "bad /load accepted"; fi
grep -q "role.json: message 0 has role 'robot'" "$tmp/e2" || fail "/load error: $(cat "$tmp/e2")"
[ ! -s "$tmp/o2" ] || fail "went on after a failed /load"
if chat --messages "$tmp/missing.json" < /dev/null 2> "$tmp/e3"; then fail "missing --messages accepted"; fi
grep -q "missing.json" "$tmp/e3" || fail "missing file error: $(cat "$tmp/e3")"
# A template that renders nothing is an error, not a crash.
: > "$tmp/empty.jinja"
if echo Hi | chat --chat-template "$tmp/empty.jinja" > /dev/null 2> "$tmp/e4"; then fail "empty template accepted"; fi
grep -q "rendered no tokens" "$tmp/e4" || fail "empty template error: $(cat "$tmp/e4")"
echo ok
