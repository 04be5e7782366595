#!/usr/bin/env bash
# `make bench`: hearth's speed on Qwen3-0.6B- and Llama-3.2-1B-shaped random
# models (Q4_K_M, Q8_0, F16; built by build/genmodel into bench/models/ and
# reused), with 1 and 2 threads: prompt (pp) and generation (tg) tokens/s, the
# weight-read bandwidth of generation and peak resident memory. When
# LLAMA_BENCH names a llama-bench binary, llama.cpp runs on the same files and
# the ratio hearth/llama.cpp is printed. Timings only: nothing is asserted.
#
# Environment: BENCH_SHAPES, BENCH_TYPES, BENCH_THREADS, BENCH_P, BENCH_N,
# BENCH_REPS narrow or change the matrix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
HEARTH=${HEARTH:-$BUILD/hearth}
vocab=$root/../shared/vocab
models=$root/bench/models
shapes=${BENCH_SHAPES:-"qwen3-0.6b llama-3.2-1b"}
types=${BENCH_TYPES:-"q4_k_m q8_0 f16"}
threads=${BENCH_THREADS:-"1 2"}
P=${BENCH_P:-512} N=${BENCH_N:-128} R=${BENCH_REPS:-1}
mkdir -p "$models"

model_file() { # shape type -> path, generated once
  local shape=$1 type=$2 f="$models/$1-$2.gguf" arch voc
  case $shape in
    qwen3-0.6b) arch=qwen3 voc=ggml-vocab-qwen2.gguf ;;
    llama-3.2-1b) arch=llama voc=ggml-vocab-llama-bpe.gguf ;;
    *) echo "unknown shape $shape" >&2; exit 1 ;;
  esac
  if [ ! -f "$f" ]; then
    echo "generating $f" >&2
    "$BUILD/genmodel" --arch "$arch" --shape "$shape" --type "$type" --vocab "$vocab/$voc" \
      -t "$(nproc)" -o "$f.tmp" >&2
    mv "$f.tmp" "$f"
  fi
  echo "$f"
}

# llama-bench -o json: "avg_ts" of the pp and the tg test.
llama_ts() { # file threads -> "pp tg"
  "$LLAMA_BENCH" -m "$1" -p "$P" -n "$N" -t "$2" -r "$R" -o json 2>/dev/null |
    awk -F'[:,]' '/"n_prompt"/ {np=$2+0} /"n_gen"/ {ng=$2+0}
                  /"avg_ts"/ {if (np>0 && ng==0) pp=$2+0; else if (ng>0 && np==0) tg=$2+0}
                  END {printf "%.2f %.2f\n", pp, tg}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

printf '%-22s %3s %10s %10s %8s %9s' model thr "pp$P t/s" "tg$N t/s" "tg GB/s" "RSS MiB"
[ -n "${LLAMA_BENCH:-}" ] && printf ' | %10s %10s %8s %8s' "llama pp" "llama tg" "pp ratio" "tg ratio"
printf '\n'
for shape in $shapes; do
  for type in $types; do
    f=$(model_file "$shape" "$type")
    for t in $threads; do
      out=$("$HEARTH" bench -m "$f" -p "$P" -n "$N" -t "$t" -r "$R")
      pp=$(sed -n "s/^pp$P: \([0-9.]*\) tok\/s.*/\1/p" <<<"$out")
      tg=$(sed -n "s/^tg$N: \([0-9.]*\) tok\/s.*/\1/p" <<<"$out")
      bw=$(sed -n 's/.*weight reads \([0-9.]*\) GB\/s.*/\1/p' <<<"$out")
      rss=$(sed -n 's/^peak RSS: \([0-9.]*\) MiB.*/\1/p' <<<"$out")
      printf '%-22s %3s %10s %10s %8s %9s' "$shape-$type" "$t" "$pp" "$tg" "$bw" "$rss"
      if [ -n "${LLAMA_BENCH:-}" ]; then
        read -r lpp ltg < <(llama_ts "$f" "$t")
        printf ' | %10s %10s %8s %8s' "$lpp" "$ltg" "$(ratio "$pp" "$lpp")" "$(ratio "$tg" "$ltg")"
      fi
      printf '\n'
    done
  done
done
