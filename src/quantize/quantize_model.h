/* Quantizing a whole GGUF model file: metadata carried over, each tensor
 * converted to the type hr_mix_choose picks (the engine of `hearth quantize`). */
#ifndef HR_QUANTIZE_MODEL_H
#define HR_QUANTIZE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "hearth.h"
#include "quantize/quant_mix.h"

typedef struct hr_quantize_opts {
    hr_ftype ftype;
    bool pure;             /* every quantizable tensor in the default type */
    bool allow_requantize; /* accept already-quantized inputs (quality loss compounds) */
    int n_threads;         /* worker threads, >= 1 */
} hr_quantize_opts;

typedef struct hr_quantize_stats {
    int64_t n_tensors, n_converted, n_fallback;
    uint64_t bytes_in, bytes_out; /* tensor data only */
} hr_quantize_stats;

/* Reads in_path, writes out_path (never partially: a failed write removes it).
 * stats may be NULL. */
hearth_status hr_quantize_model(const char *in_path, const char *out_path, const hr_quantize_opts *opts,
                                hr_quantize_stats *stats, hearth_error *err);

#endif
