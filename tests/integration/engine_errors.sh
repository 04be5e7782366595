#!/usr/bin/env bash
# Bad input to hearth run: one line "hearth: ..." on stderr and a non-zero exit, never a crash.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/../.." && pwd)
vocab="$root/../shared/vocab/ggml-vocab-llama-spm.gguf"
[ -f "$vocab" ] || vocab=/work/shared/vocab/ggml-vocab-llama-spm.gguf
"$BUILD/genmodel" --arch llama --type f32 --vocab "$vocab" --n-vocab 512 -o "$tmp/m.gguf"

# expect_fail PATTERN ARGS...: exit status 1..125 (not a signal), one line matching PATTERN.
expect_fail() {
  local pat=$1; shift
  local rc=0
  "$HEARTH" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 126 ]; then echo "FAIL ($rc): $*"; cat "$tmp/err"; exit 1; fi
  if [ "$(wc -l < "$tmp/err")" -ne 1 ] || ! grep -q "^hearth: .*$pat" "$tmp/err"; then
    echo "FAIL: $* -> expected one line matching '$pat', got:"; cat "$tmp/err"; exit 1
  fi
}

# A GGUF v3 file with only string metadata (key value pairs), no tensors.
gguf_kv() {
  local out=$1; shift
  {
    printf 'GGUF'; printf '\x03\x00\x00\x00'; printf '\x00\x00\x00\x00\x00\x00\x00\x00'
    printf "\\x$(printf %02x $(($# / 2)))\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
    while [ $# -gt 0 ]; do
      printf "\\x$(printf %02x ${#1})\\x00\\x00\\x00\\x00\\x00\\x00\\x00%s" "$1"
      printf '\x08\x00\x00\x00'
      printf "\\x$(printf %02x ${#2})\\x00\\x00\\x00\\x00\\x00\\x00\\x00%s" "$2"
      shift 2
    done
  } > "$out"
}

m="$tmp/m.gguf"
expect_fail "no-such.gguf" run -m "$tmp/no-such.gguf" --ids 1,2
echo "hello, not a model" > "$tmp/text.gguf"
expect_fail "text.gguf" run -m "$tmp/text.gguf" --ids 1,2
gguf_kv "$tmp/gpt2.gguf" general.architecture gpt2
expect_fail "unsupported architecture 'gpt2'" run -m "$tmp/gpt2.gguf" --ids 1,2
gguf_kv "$tmp/bare.gguf" general.architecture llama
expect_fail "llama.context_length" run -m "$tmp/bare.gguf" --ids 1,2
gguf_kv "$tmp/noarch.gguf" general.name x
expect_fail "general.architecture" run -m "$tmp/noarch.gguf" --ids 1,2
expect_fail "token id 512 is out of range" run -m "$m" --ids 1,512
expect_fail "out of range" run -m "$m" --ids 1,2 --force-ids 3,100000
expect_fail "comma-separated" run -m "$m" --ids 1,x
expect_fail "comma-separated" run -m "$m" --ids 1,-2
expect_fail "-n expects an integer" run -m "$m" --ids 1 -n abc
expect_fail "--cache-type expects" run -m "$m" --ids 1 --cache-type q4_0
expect_fail "unknown option '--bogus'" run -m "$m" --ids 1 --bogus 3
expect_fail "-m FILE is required" run --ids 1
expect_fail "a prompt is required" run -m "$m"
expect_fail "--temp expects" run -m "$m" --ids 1 --temp nan
expect_fail "--top-p expects" run -m "$m" --ids 1 --top-p 2
expect_fail "-c expects" run -m "$m" --ids 1 -c 0
expect_fail "more than the" run -m "$m" --ids 1 -c 16000000 --cache-type f32
expect_fail "more than the context length 4" run -m "$m" --ids 1,2,3,4,5 -c 4
echo ok
