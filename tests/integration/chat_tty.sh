#!/usr/bin/env bash
# hearth chat on a pseudo-terminal (tests/integration/chat_tty.py): Ctrl-C stops an
# answer and the prompt comes back; libedit editing, history, continuation lines.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-qwen2.gguf
"$BUILD/genmodel" --arch qwen2 --type q8_0 --vocab "$vocab" -o "$tmp/m.gguf" >/dev/null
python3 "$root/tests/integration/chat_tty.py" "$HEARTH" "$tmp/m.gguf" "$tmp"
echo ok
