#!/usr/bin/env bash
# hearth run on a generated tiny llama model: JSON contract, greedy = argmax of
# the reported distribution, batched prompt == token-by-token, thread count
# and teacher forcing do not change results, seeds reproduce, cache types stay close.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-llama-spm.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-llama-spm.gguf
"$BUILD/genmodel" --arch llama --type f32 --vocab "$vocab" --n-vocab 512 -o "$tmp/m.gguf"
run() { "$HEARTH" run -m "$tmp/m.gguf" --json "$@" 2>/dev/null; }
ids=1,7,42,99,300,11,12,13,14,15
run --ids $ids -n 6 --temp 0 --probs 512 -t 2 --cache-type f32 > "$tmp/a.json"
run --ids $ids -n 6 --temp 0 --probs 512 -t 1 -b 1 --cache-type f32 > "$tmp/b.json"
forced=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).tokens.join(","))' "$tmp/a.json")
run --ids $ids --force-ids "$forced" --probs 512 -t 2 -b 3 --cache-type f32 > "$tmp/c.json"
run --ids $ids -n 6 --temp 0 --probs 512 -t 2 --cache-type f16 > "$tmp/f16.json"
run --ids $ids -n 6 --temp 0 --probs 512 -t 2 --cache-type q8_0 > "$tmp/q8.json"
run --ids $ids -n 12 --temp 1 --top-k 0 --top-p 1 --min-p 0 --seed 7 > "$tmp/s1.json"
run --ids $ids -n 12 --temp 1 --top-k 0 --top-p 1 --min-p 0 --seed 7 > "$tmp/s2.json"
node - "$tmp" <<'JS'
const fs = require("fs"), dir = process.argv[2];
const load = n => JSON.parse(fs.readFileSync(`${dir}/${n}.json`));
const fail = m => { console.error("FAIL: " + m); process.exit(1); };
const a = load("a"), b = load("b"), c = load("c");
if (JSON.stringify(a.prompt_tokens) !== "[1,7,42,99,300,11,12,13,14,15]") fail("prompt_tokens");
if (a.tokens.length !== 6 || a.top.length !== 6) fail("expected 6 tokens and 6 distributions");
for (const k of ["load_ms", "prompt_tok_per_s", "gen_tok_per_s"]) if (typeof a.timings[k] !== "number") fail("timings." + k);
a.top.forEach((step, i) => {
  if (step.length !== 512) fail("top should list the whole vocabulary");
  let sum = 0;
  step.forEach(([id, p], j) => { sum += p; if (j && p > step[j - 1][1]) fail("top not sorted"); });
  if (Math.abs(sum - 1) > 1e-4) fail(`probabilities sum to ${sum}`);
  if (step[0][0] !== a.tokens[i]) fail(`greedy token ${a.tokens[i]} is not the argmax ${step[0][0]}`);
});
const dense = s => { const p = new Float64Array(512); for (const [id, v] of s) p[id] = v; return p; };
const maxdp = (x, y) => { let m = 0; x.top.forEach((s, i) => { const p = dense(s), q = dense(y.top[i]); for (let j = 0; j < 512; j++) m = Math.max(m, Math.abs(p[j] - q[j])); }); return m; };
if (JSON.stringify(a.tokens) !== JSON.stringify(b.tokens)) fail("token-by-token prompt changed the tokens");
if (maxdp(a, b) > 1e-5) fail(`batched vs token-by-token max|dp| = ${maxdp(a, b)}`);
if (JSON.stringify(a.tokens) !== JSON.stringify(c.tokens) || maxdp(a, c) > 1e-6) fail("forced ids differ from greedy");
for (const n of ["f16", "q8"]) { const x = load(n); if (maxdp(a, x) > (n === "f16" ? 0.01 : 0.05)) fail(`${n} cache max|dp| = ${maxdp(a, x)}`); }
if (JSON.stringify(load("s1").tokens) !== JSON.stringify(load("s2").tokens)) fail("same seed, different tokens");
if (load("s1").tokens.length !== 12) fail("sampling stopped early");
JS
echo ok
