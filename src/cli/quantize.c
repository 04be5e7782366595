/* hearth quantize: convert a GGUF model to another tensor type or mixture. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "quantize/quantize_model.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth quantize [options] IN.gguf OUT.gguf TYPE\n"
            "  TYPE: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K\n"
            "        (q3_K q4_K q5_K are llama.cpp's Q3_K_S Q4_K_S Q5_K_S), or a mixture:\n"
            "        Q3_K_M Q4_K_M Q5_K_M (also Q3_K_S Q4_K_S Q5_K_S); tensor choices as llama-quantize's\n"
            "  --pure              every quantizable tensor in TYPE (only row-length fallbacks)\n"
            "  --allow-requantize  accept an already-quantized input\n"
            "  -t, --threads N     worker threads (default: all cores)\n");
}

int cmd_quantize(int argc, char **argv) {
    hr_quantize_opts o = {.n_threads = 1};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.n_threads = ncpu > 0 ? (int)(ncpu < 256 ? ncpu : 256) : 1;
    const char *pos[3];
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--pure")) {
            o.pure = true;
        } else if (!strcmp(a, "--allow-requantize")) {
            o.allow_requantize = true;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            int64_t v;
            if (i + 1 >= argc) return cli_die("%s needs a value", a);
            if (!cli_parse_i64(a, argv[++i], 1, 256, &v)) return 1;
            o.n_threads = (int)v;
        } else if (a[0] == '-' && a[1]) {
            return cli_die("quantize: unknown option '%s' (try: hearth quantize --help)", a);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            return cli_die("quantize: too many arguments (try: hearth quantize --help)");
        }
    }
    if (n_pos != 3) {
        usage(stderr);
        return 2;
    }
    if (!hr_ftype_from_name(pos[2], &o.ftype))
        return cli_die("quantize: unknown type '%s' (try: hearth quantize --help)", pos[2]);
    hearth_error err = {{0}};
    hr_quantize_stats s;
    if (hr_quantize_model(pos[0], pos[1], &o, &s, &err) != HEARTH_OK) return cli_die("%s", err.message);
    fprintf(stderr, "%s: %s, %lld tensors (%lld converted, %lld by row-length fallback), %.2f MiB -> %.2f MiB\n",
            pos[1], hr_ftype_name(o.ftype), (long long)s.n_tensors, (long long)s.n_converted, (long long)s.n_fallback,
            s.bytes_in / 1048576.0, s.bytes_out / 1048576.0);
    return 0;
}
