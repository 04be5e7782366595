#!/usr/bin/env bash
# `make bench`: hearth's speed on Qwen3-0.6B- and Llama-3.2-1B-shaped random
# models (Q4_K_M, Q8_0, F16; built by build/genmodel into bench/models/ and
# reused), with 1 and 2 threads: prompt (pp) and generation (tg) tokens/s, the
# weight-read bandwidth of generation and peak resident memory. When
# LLAMA_BENCH names a llama-bench binary, llama.cpp runs on the same files and
# the ratio hearth/llama.cpp is printed. Timings only: nothing is asserted.
#
# Also, at Q4_K_M only: Gemma-4-E2B- (build/genmodel_gemma), Qwen3.5-2B- and a
# small Nemotron-H-shaped (build/genmodel_hybrid) random models. The two
# recurrent hybrids add, per KV cache type (BENCH_DEPTH_CACHES, "f16 q8_0"),
# a row "@d512" and a row "@dD": generation after a context of 512 and of D
# tokens (BENCH_DEPTH, 16384; filled untimed, llama-bench's -d; llama.cpp with
# -ctk/-ctv of the type, and flash attention for q8_0, which it needs there),
# with the ratio tg@dD / tg@d512 in the last column (hearth's, then
# llama.cpp's): the recurrent state does not grow with the context, only the
# few attention layers' cache does. Beside them, the bytes bound: a token
# reads the weights (W) and the cache (C, from hearth bench), so a generator
# that reads both at memory speed gets (W + C@512) / (W + C@D), and only a
# slower one at 512 gets more. The depth rows run with the last of
# BENCH_THREADS only (BENCH_DEPTH_THREADS to change).
#
# Environment: BENCH_SHAPES, BENCH_TYPES, BENCH_THREADS, BENCH_P, BENCH_N,
# BENCH_REPS, BENCH_DEPTH, BENCH_DEPTH_THREADS, BENCH_DEPTH_CACHES narrow or
# change the matrix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
HEARTH=${HEARTH:-$BUILD/hearth}
vocab=$root/../shared/vocab
models=$root/bench/models
shapes=${BENCH_SHAPES:-"qwen3-0.6b llama-3.2-1b gemma4-e2b qwen35-2b nemotron-h-small"}
types=${BENCH_TYPES:-"q4_k_m q8_0 f16"}
threads=${BENCH_THREADS:-"1 2"}
P=${BENCH_P:-512} N=${BENCH_N:-128} R=${BENCH_REPS:-1}
D=${BENCH_DEPTH:-16384}
depth_threads=${BENCH_DEPTH_THREADS:-${threads##* }}
depth_caches=${BENCH_DEPTH_CACHES:-"f16 q8_0"}
mkdir -p "$models"

# The generator, architecture and vocabulary of a shape.
shape_gen() { # shape -> "tool arch vocab"
  case $1 in
    qwen3-0.6b) echo "genmodel qwen3 ggml-vocab-qwen2.gguf" ;;
    llama-3.2-1b) echo "genmodel llama ggml-vocab-llama-bpe.gguf" ;;
    gemma4-e2b) echo "genmodel_gemma gemma4 ggml-vocab-gemma-4.gguf" ;;
    # padded to the real 248320 / 131072 tokens by the generator
    qwen35-2b) echo "genmodel_hybrid qwen35 ggml-vocab-qwen35.gguf" ;;
    nemotron-h-small) echo "genmodel_hybrid nemotron_h ggml-vocab-llama-bpe.gguf" ;;
    *) echo "unknown shape $1" >&2; exit 1 ;;
  esac
}

# The full-size Gemma and hybrid shapes are benchmarked at Q4_K_M only.
shape_types() { # shape -> the types of $types it runs
  case $1 in
    qwen3-0.6b|llama-3.2-1b) echo "$types" ;;
    *) for t in $types; do [ "$t" = q4_k_m ] && echo q4_k_m; done; true ;;
  esac
}

is_recurrent() { case $1 in qwen35-2b|nemotron-h-small) return 0 ;; *) return 1 ;; esac; }

model_file() { # shape type -> path, generated once
  local shape=$1 type=$2 f="$models/$1-$2.gguf" tool arch voc
  read -r tool arch voc <<<"$(shape_gen "$shape")"
  if [ ! -f "$f" ]; then
    echo "generating $f" >&2
    if [ "$tool" = genmodel ]; then
      "$BUILD/genmodel" --arch "$arch" --shape "$shape" --type "$type" --vocab "$vocab/$voc" \
        -t "$(nproc)" -o "$f.tmp" >&2
    else
      "$BUILD/$tool" --arch "$arch" --shape "$shape" --type "$type" --vocab "$vocab/$voc" -o "$f.tmp" >&2
    fi
    mv "$f.tmp" "$f"
  fi
  echo "$f"
}

# llama-bench -o json: "avg_ts" of the pp and the tg test.
llama_ts() { # file threads [prompt [depth [cache type]]] -> "pp tg"
  local kv=()
  case ${5:-} in
    '') ;;
    f16) kv=(-ctk f16 -ctv f16) ;;
    *) kv=(-ctk "$5" -ctv "$5" -fa 1) ;;
  esac
  "$LLAMA_BENCH" -m "$1" -p "${3:-$P}" -n "$N" -d "${4:-0}" -t "$2" -r "$R" "${kv[@]}" -o json 2>/dev/null |
    awk -F'[:,]' '/"n_prompt"/ {np=$2+0} /"n_gen"/ {ng=$2+0}
                  /"avg_ts"/ {if (np>0 && ng==0) pp=$2+0; else if (ng>0 && np==0) tg=$2+0}
                  END {printf "%.2f %.2f\n", pp, tg}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

# hearth bench's output -> "pp tg GB/s RSS" (a missing figure is "-")
hearth_figures() { # output depth-suffix
  local pp tg bw rss
  pp=$(sed -n "s/^pp$P$2: \([0-9.]*\) tok\/s.*/\1/p" <<<"$1")
  tg=$(sed -n "s/^tg$N$2: \([0-9.]*\) tok\/s.*/\1/p" <<<"$1")
  bw=$(sed -n 's/.*weight reads \([0-9.]*\) GB\/s.*/\1/p' <<<"$1")
  rss=$(sed -n 's/^peak RSS: \([0-9.]*\) MiB.*/\1/p' <<<"$1")
  echo "${pp:--} ${tg:--} ${bw:--} ${rss:--}"
}

printf '%-36s %3s %10s %10s %8s %9s' model thr "pp$P t/s" "tg$N t/s" "tg GB/s" "RSS MiB"
[ -n "${LLAMA_BENCH:-}" ] && printf ' | %10s %10s %8s %8s' "llama pp" "llama tg" "pp ratio" "tg ratio"
printf ' | %s\n' "tg@d$D/tg@d512"
for shape in $shapes; do
  for type in $(shape_types "$shape"); do
    f=$(model_file "$shape" "$type")
    for t in $threads; do
      out=$("$HEARTH" bench -m "$f" -p "$P" -n "$N" -t "$t" -r "$R")
      read -r pp tg bw rss <<<"$(hearth_figures "$out" "")"
      printf '%-36s %3s %10s %10s %8s %9s' "$shape-$type" "$t" "$pp" "$tg" "$bw" "$rss"
      if [ -n "${LLAMA_BENCH:-}" ]; then
        read -r lpp ltg < <(llama_ts "$f" "$t")
        printf ' | %10s %10s %8s %8s' "$lpp" "$ltg" "$(ratio "$pp" "$lpp")" "$(ratio "$tg" "$ltg")"
      fi
      printf '\n'
      # Generation after a long context: a recurrent state should not slow it down.
      if is_recurrent "$shape" && [ "$D" -gt 0 ] && [[ " $depth_threads " == *" $t "* ]]; then
        for kv in $depth_caches; do
          base= lbase=
          for d in 512 "$D"; do
            out=$("$HEARTH" bench -m "$f" -p 0 -n "$N" -d "$d" -t "$t" -r "$R" --cache-type "$kv")
            read -r _ tgd bwd rssd <<<"$(hearth_figures "$out" " @ d$d")"
            wmib=$(sed -n 's/.*(.*, \([0-9.]*\) MiB read per token).*/\1/p' <<<"$out")
            cmib=$(sed -n 's/.*cache reads \([0-9.]*\) MiB per token.*/\1/p' <<<"$out")
            printf '%-36s %3s %10s %10s %8s %9s' "$shape-$type@d$d $kv" "$t" - "$tgd" "$bwd" "$rssd"
            ltgd=
            if [ -n "${LLAMA_BENCH:-}" ]; then
              read -r _ ltgd < <(llama_ts "$f" "$t" 0 "$d" "$kv")
              printf ' | %10s %10s %8s %8s' - "$ltgd" - "$(ratio "$tgd" "$ltgd")"
            fi
            if [ "$d" = 512 ]; then
              base=$tgd lbase=$ltgd cbase=$cmib
              printf ' |\n'
            else
              drat="hearth $(ratio "$tgd" "$base")"
              [ -n "$ltgd" ] && drat="$drat, llama $(ratio "$ltgd" "$lbase")"
              # what reading weights and cache at one bandwidth allows: (W + cache@512) / (W + cache@D)
              drat="$drat; bytes bound $(awk -v w="$wmib" -v a="$cbase" -v b="$cmib" 'BEGIN { printf "%.3f", (w + a) / (w + b) }')"
              printf ' | %s\n' "$drat"
            fi
          done
        done
      fi
    done
  done
done
