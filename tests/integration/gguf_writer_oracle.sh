#!/usr/bin/env bash
# hearth's GGUF writer produces files llama.cpp loads: real vocabulary files are
# rewritten through hr_gguf_copy_kv + hr_gguf_write_file (build/gguf_copy), and
# llama.cpp (node-llama-cpp) must tokenize with the copy exactly as with the original.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab=$root/../shared/vocab
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bash "$root/tests/oracle/install.sh"
text="Hello world, 1234 ünïcödé"
for name in llama-spm qwen2; do
  orig=$vocab/ggml-vocab-$name.gguf
  "$BUILD/gguf_copy" "$orig" "$tmp/$name.gguf" >/dev/null
  # llama.cpp wrote the original; the copy must match it byte for byte up to the
  # final alignment padding (which hearth always writes).
  size=$(stat -c %s "$orig")
  cmp -n "$size" "$orig" "$tmp/$name.gguf"
  [ $(( $(stat -c %s "$tmp/$name.gguf") % 32 )) -eq 0 ]
  node "$root/tests/oracle/gguf_same_tokens.mjs" "$orig" "$tmp/$name.gguf" --inp "$orig.inp" "$text"
  # with tensors of several types appended, llama.cpp still accepts the layout
  "$BUILD/gguf_copy" "$orig" "$tmp/$name-t.gguf" --extra-tensors >/dev/null
  node "$root/tests/oracle/gguf_same_tokens.mjs" "$orig" "$tmp/$name-t.gguf" "$text"
done
echo ok
