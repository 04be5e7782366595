#!/usr/bin/env bash
# hearth tokenize / detokenize on vocabulary-only files: ids from llama.cpp's test
# vectors (../shared/vocab/*.out), the --bos/--json/-f/- forms, and usage errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
V="$root/../shared/vocab"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The expected ids of one text of a vocabulary's .inp/.out pair.
expected() { # vocab text
  node -e '
    const fs = require("fs");
    const [inp, out, text] = process.argv.slice(1);
    const texts = fs.readFileSync(inp, "utf8").split("\n__ggml_vocab_test__\n");
    const lines = fs.readFileSync(out, "utf8").split("\n");
    const i = texts.indexOf(text);
    if (i < 0) process.exit(3);
    console.log(lines[i].trim());' "$V/ggml-vocab-$1.gguf.inp" "$V/ggml-vocab-$1.gguf.out" "$2"
}

for v in llama-bpe qwen2 qwen35 gpt-2 llama-spm phi-3 gemma-4; do
  m="$V/ggml-vocab-$v.gguf"
  for text in "Hello world" " this is 🦙.cpp" "3333333"; do
    want=$(expected "$v" "$text")
    got=$("$HEARTH" tokenize -m "$m" "$text")
    [ "$got" = "$want" ] || { echo "$v '$text': got '$got', want '$want'"; exit 1; }
    printf '%s' "$text" > "$tmp/in.txt"
    [ "$("$HEARTH" tokenize -m "$m" -f "$tmp/in.txt")" = "$want" ] || { echo "$v -f differs"; exit 1; }
    [ "$("$HEARTH" tokenize -m "$m" - < "$tmp/in.txt")" = "$want" ] || { echo "$v stdin differs"; exit 1; }
    [ "$("$HEARTH" tokenize -m "$m" --json "$text")" = "[${want// /,}]" ] || { echo "$v --json differs"; exit 1; }
    back=$("$HEARTH" detokenize -m "$m" "${want// /,}")
    [ "$back" = "$text" ] || { echo "$v detokenize gave '$back' for '$text'"; exit 1; }
  done
done

# --bos prepends the file's BOS id (Llama 3: 128000), and only with --bos.
[ "$("$HEARTH" tokenize -m "$V/ggml-vocab-llama-bpe.gguf" --bos "Hello world")" = "128000 $(expected llama-bpe "Hello world")" ]
# --special turns <|im_start|> into Qwen's control token 151644; without it the text is split.
[ "$("$HEARTH" tokenize -m "$V/ggml-vocab-qwen2.gguf" --special --json "<|im_start|>")" = "[151644]" ]
[ "$("$HEARTH" tokenize -m "$V/ggml-vocab-qwen2.gguf" --json "<|im_start|>")" != "[151644]" ]

# Usage errors exit 1 with one line on stderr.
for args in "tokenize Hello" "tokenize -m $V/ggml-vocab-qwen2.gguf" "detokenize -m $V/ggml-vocab-qwen2.gguf 999999999" \
            "detokenize -m $V/ggml-vocab-qwen2.gguf 1,x" "tokenize -m /nonexistent.gguf Hello"; do
  if "$HEARTH" $args > /dev/null 2> "$tmp/err"; then echo "'$args' succeeded"; exit 1; fi
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || { echo "'$args' printed:"; cat "$tmp/err"; exit 1; }
done
echo ok
