#!/usr/bin/env bash
# hearth info: facts of a generated model; KV cache sizes checked against
# 2 (K and V) x layers x context x kv heads x head size x bytes per element.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-llama-spm.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-llama-spm.gguf
"$BUILD/genmodel" --arch qwen3 --type q8_0 --vocab "$vocab" --n-vocab 512 -o "$tmp/m.gguf"
"$HEARTH" info "$tmp/m.gguf" > "$tmp/info.txt"
grep -q "^architecture:  qwen3" "$tmp/info.txt"
grep -q "q8_0" "$tmp/info.txt"
"$HEARTH" info --json "$tmp/m.gguf" > "$tmp/info.json"
node - "$tmp/info.json" <<'JS'
const o = JSON.parse(require("fs").readFileSync(process.argv[2]));
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
if (o.architecture !== "qwen3" || o.layers !== 3 || o.vocab_size !== 512) fail("basic facts " + JSON.stringify(o));
if (o.context_length !== 4096 || o.tokenizer !== "llama") fail("context/tokenizer");
let n = 0, b = 0;
for (const t of Object.values(o.tensor_types)) n += t.parameters, b += t.bytes;
if (n !== o.parameters || b !== o.weight_bytes) fail("tensor type totals");
if (!o.tensor_types.q8_0 || o.tensor_types.q8_0.bytes !== o.tensor_types.q8_0.parameters / 32 * 34) fail("q8_0 bytes");
const row = o.head_count_kv * o.head_size;
for (const k of o.kv_cache_bytes) {
  const per = 2 * o.layers * k.context;
  if (k.f32 !== per * row * 4 || k.f16 !== per * row * 2 || k.q8_0 !== per * row / 32 * 34) fail("kv bytes " + JSON.stringify(k));
}
if (o.kv_cache_bytes.at(-1).context !== 4096 || o.kv_cache_bytes[0].context !== 2048) fail("context list");
JS
if "$HEARTH" info "$tmp/nope.gguf" 2>"$tmp/err"; then echo "missing file accepted"; exit 1; fi
grep -q "^hearth: .*nope.gguf" "$tmp/err"
echo ok
