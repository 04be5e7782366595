#!/usr/bin/env bash
# Builds (once) and runs llama_forced.c against the oracle's own libllama: a
# stand-in for hearth's binary in compare.mjs (--hearth tests/oracle/llama_forced.sh).
# The headers come from the llama.cpp sources node-llama-cpp ships (its git bundle),
# so they match the prebuilt libraries. LLAMA_FORCED_NOREPACK=1: no weight repacking.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bins="$here/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bundle="$here/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "llama_forced: run tests/oracle/install.sh first" >&2; exit 1; }
out="${HEARTH_FORCED_DIR:-$HOME/.cache/hearth/llama_forced}"
exe="$out/llama_forced-$(sha256sum "$here/llama_forced.c" "$bundle" | sha256sum | cut -c1-16)"
if ! [ -x "$exe" ]; then
  mkdir -p "$out"
  src=$(mktemp -d); trap 'rm -rf "$src"' EXIT
  git -C "$src" init -q && git -C "$src" fetch -q "$bundle" HEAD
  mkdir -p "$src/inc"
  for f in include/llama.h $(git -C "$src" ls-tree --name-only FETCH_HEAD ggml/include/); do
    git -C "$src" show "FETCH_HEAD:$f" > "$src/inc/$(basename "$f")"
  done
  cc -std=c17 -O2 -Wall -Wextra -o "$exe.tmp" "$here/llama_forced.c" -I"$src/inc" \
    "$bins"/libllama.v*.so "$bins"/libggml.v*.so "$bins/libggml-base.so" -Wl,-rpath,"$bins" -lm
  mv "$exe.tmp" "$exe"
fi
LLAMA_FORCED_BINS="$bins" exec "$exe" "$@"
