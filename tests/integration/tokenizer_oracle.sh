#!/usr/bin/env bash
# hearth tokenize/detokenize against llama.cpp (node-llama-cpp, vocabulary-only loads)
# on 300 seeded random texts per shared vocabulary: ids with and without
# --special, and the text of llama.cpp's ids (tests/oracle/tokenizer_oracle.mjs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocabs=("$root"/../shared/vocab/*.gguf)
[ -f "${vocabs[0]}" ] || { echo "missing ../shared/vocab"; exit 1; }
bash "$root/tests/oracle/install.sh"
cd "$root/tests/oracle"
node tokenizer_oracle.mjs "$HEARTH" "${vocabs[@]}" --count 300 --seed 1234 2>&1 | grep -v '^\[node-llama-cpp\]'
exit "${PIPESTATUS[0]}"
