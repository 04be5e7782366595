#!/usr/bin/env bash
# hearth quantize against llama.cpp itself: for every type, the output file must
# be byte-identical to what llama.cpp's llama_model_quantize (the oracle's
# libllama) writes from the same input, which pins tensor order, per-tensor type
# choices (mixtures, fallbacks), shapes, metadata and quantized bytes; then
# llama.cpp must load and run every output. Needs tests/oracle/install.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bins=${HEARTH_LLAMA_BINS:-$root/tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64}
libllama=$(ls "$bins"/libllama*.so 2>/dev/null | head -n1 || true)
if [ -z "$libllama" ]; then echo "llama.cpp oracle missing ($bins): run tests/oracle/install.sh"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# a: 8 layers, f32, untied output, ffn_down rows of 288 (not a multiple of 256: fallbacks);
# b: 16 layers, f16, tied embeddings, gqa 2, no fallbacks.
"$BUILD/make_test_gguf" "$tmp/a.gguf" --layers 8 --embd 256 --ff 288
"$BUILD/make_test_gguf" "$tmp/b.gguf" --f16 --tied --layers 16 --embd 256 --ff 256 --heads 4 --kv-heads 2 --seed 7

all="f32:0 f16:1 bf16:32 q8_0:7 q4_0:2 q4_1:3 q5_0:8 q5_1:9 q2_K:10 q3_K:11 Q3_K_M:12 q4_K:14 Q4_K_M:15 q5_K:16 Q5_K_M:17 q6_K:18"
mixes="q2_K:10 Q3_K_M:12 Q4_K_M:15 Q5_K_M:17 f16:1"
n=0
check() { # model name ftype [--pure]
    local m=$1 name=$2 ft=$3 pure=${4:-}
    local out="$tmp/$m-$name${pure:+-pure}.gguf"
    "$HEARTH" quantize $pure "$tmp/$m.gguf" "$out" "$name" 2>/dev/null
    "$BUILD/llama_quantize_ref" "$libllama" "$tmp/$m.gguf" "$tmp/ref.gguf" "$ft" $pure
    if ! cmp -s "$out" "$tmp/ref.gguf"; then
        echo "$m $name $pure: differs from llama.cpp's output: $(cmp "$out" "$tmp/ref.gguf" 2>&1 | head -n1)"
        exit 1
    fi
    n=$((n + 1))
}
for t in $all; do check a "${t%%:*}" "${t##*:}"; done
for t in $mixes; do check b "${t%%:*}" "${t##*:}"; done
check a Q4_K_M 15 --pure
check b q2_K 10 --pure
echo "$n outputs byte-identical to llama.cpp's"

# llama.cpp loads and evaluates every output
node "$root/tests/oracle/load_gguf.mjs" "$tmp"/a-*.gguf "$tmp"/b-*.gguf > "$tmp/load.log" || { cat "$tmp/load.log"; exit 1; }
echo "$(grep -c ': loaded' "$tmp/load.log") outputs loaded and evaluated by llama.cpp"

# usage errors: one line on stderr, non-zero exit, no output file left behind
if "$HEARTH" quantize "$tmp/a.gguf" "$tmp/x.gguf" q9_9 2>"$tmp/err"; then echo "unknown type accepted"; exit 1; fi
grep -q "unknown type 'q9_9'" "$tmp/err"; [ "$(wc -l < "$tmp/err")" -eq 1 ]; [ ! -e "$tmp/x.gguf" ]
if "$HEARTH" quantize "$tmp/missing.gguf" "$tmp/x.gguf" q4_0 2>"$tmp/err"; then echo "missing input accepted"; exit 1; fi
[ "$(wc -l < "$tmp/err")" -eq 1 ]; [ ! -e "$tmp/x.gguf" ]
# an already-quantized input needs --allow-requantize
if "$HEARTH" quantize "$tmp/a-q4_0.gguf" "$tmp/x.gguf" q8_0 2>"$tmp/err"; then echo "requantize accepted"; exit 1; fi
grep -q "is already q.*requantizing" "$tmp/err"; [ ! -e "$tmp/x.gguf" ]
"$HEARTH" quantize --allow-requantize "$tmp/a-q4_0.gguf" "$tmp/x.gguf" q8_0 2>/dev/null
echo ok
