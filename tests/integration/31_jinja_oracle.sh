#!/usr/bin/env bash
# hearth's Jinja against @huggingface/jinja 0.5.11 at test time (tests/oracle/jinja/compare.mjs):
# our own contexts (tool calls, content parts, reasoning, no system message, ...) with every
# shared template, the built-in fallbacks and the templates inside the shared vocab GGUFs;
# the unit tests' feature expectations (tests/unit/jinja_features.json) are re-derived too.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bash tests/oracle/install_jinja.sh
O=tests/oracle/jinja
for b in chatml llama3 gemma mistral; do "$HEARTH" template --print-builtin $b > "$tmp/builtin-$b.jinja"; done
for v in gemma-4 phi-3 qwen2 qwen35; do
  "$HEARTH" template -m ../shared/vocab/ggml-vocab-$v.gguf --print-template > "$tmp/gguf-$v.jinja" 2>/dev/null
done
node $O/compare.mjs "$HEARTH" $O/cases.json ../shared/templates/*.jinja "$tmp"/*.jinja
node $O/compare.mjs "$HEARTH" --features tests/unit/jinja_features.json

# -m: the model's BOS/EOS strings (Hugging Face tokenizer configs of these vocabularies)
printf '[{{ bos_token }}|{{ eos_token }}]' > "$tmp/be.jinja"
echo '[{"role": "user", "content": "hi"}]' > "$tmp/m.json"
check() {
  got=$("$HEARTH" template -m ../shared/vocab/ggml-vocab-$1.gguf --messages "$tmp/m.json" --chat-template "$tmp/be.jinja")
  [ "$got" = "$2" ] || { echo "$1: got $got, want $2"; exit 1; }
}
check llama-bpe '[<|begin_of_text|>|<|end_of_text|>]'
check llama-spm '[<s>|</s>]'
check gemma-4 '[<bos>|<eos>]'
# a GGUF without a template gets the built-in its vocabulary calls for
"$HEARTH" template -m ../shared/vocab/ggml-vocab-llama-bpe.gguf --print-template 2>/dev/null | cmp - "$tmp/builtin-llama3.jinja"
"$HEARTH" template -m ../shared/vocab/ggml-vocab-gpt-2.gguf --print-template 2>/dev/null | cmp - "$tmp/builtin-chatml.jinja"
# -m with the GGUF's own template equals --file on the same text with the same context
"$HEARTH" template -m ../shared/vocab/ggml-vocab-qwen2.gguf --messages "$tmp/m.json" --add-generation-prompt > "$tmp/a"
echo '{"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": true, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}' > "$tmp/ctx.json"
"$HEARTH" template --file "$tmp/gguf-qwen2.jinja" --context "$tmp/ctx.json" > "$tmp/b"
cmp "$tmp/a" "$tmp/b"
echo ok
