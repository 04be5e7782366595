#!/usr/bin/env bash
# hearth chat on a pseudo-terminal (tests/integration/chat_tty.py): Ctrl-C stops an
# answer and the prompt comes back; libedit editing, history, continuation lines;
# thinking dimmed or hidden.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-qwen2.gguf
"$BUILD/genmodel" --arch qwen2 --type q8_0 --vocab "$vocab" -o "$tmp/m.gguf" >/dev/null
# A template whose generation prompt opens <think>: every answer is thinking.
"$HEARTH" template -m "$tmp/m.gguf" --print-template > "$tmp/think.jinja" 2>/dev/null
printf '{%%- if add_generation_prompt %%}<think>\n{%%- endif %%}' >> "$tmp/think.jinja"
python3 "$root/tests/integration/chat_tty.py" "$HEARTH" "$tmp/m.gguf" "$tmp" "$tmp/think.jinja"
echo ok
