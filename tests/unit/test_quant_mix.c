/*
 * Per-tensor type choices of the quantization mixtures. Expected types are
 * worked out by hand from llama.cpp's rules (llama-quant.cpp); the integration
 * test tests/integration/quantize.sh checks whole files against llama.cpp itself.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "quantize/quant_mix.h"

Test(quant_mix, ftype_names) {
    static const struct { const char *name; hr_ftype ft; } ok[] = {
        {"f32", HR_FTYPE_ALL_F32},      {"F16", HR_FTYPE_MOSTLY_F16},      {"bf16", HR_FTYPE_MOSTLY_BF16},
        {"q8_0", HR_FTYPE_MOSTLY_Q8_0}, {"Q4_0", HR_FTYPE_MOSTLY_Q4_0},    {"q4_1", HR_FTYPE_MOSTLY_Q4_1},
        {"q5_0", HR_FTYPE_MOSTLY_Q5_0}, {"q5_1", HR_FTYPE_MOSTLY_Q5_1},    {"q2_K", HR_FTYPE_MOSTLY_Q2_K},
        {"q3_K", HR_FTYPE_MOSTLY_Q3_K_S}, {"q4_k", HR_FTYPE_MOSTLY_Q4_K_S}, {"Q5_K", HR_FTYPE_MOSTLY_Q5_K_S},
        {"q6_K", HR_FTYPE_MOSTLY_Q6_K}, {"Q3_K_M", HR_FTYPE_MOSTLY_Q3_K_M}, {"Q4_K_M", HR_FTYPE_MOSTLY_Q4_K_M},
        {"q5_k_m", HR_FTYPE_MOSTLY_Q5_K_M}, {"Q4_K_S", HR_FTYPE_MOSTLY_Q4_K_S},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        hr_ftype ft;
        cr_assert(hr_ftype_from_name(ok[i].name, &ft), "%s rejected", ok[i].name);
        cr_assert_eq(ft, ok[i].ft, "%s -> %d", ok[i].name, ft);
    }
    hr_ftype ft;
    cr_assert_not(hr_ftype_from_name("q9_9", &ft));
    cr_assert_not(hr_ftype_from_name("Q4_K_L", &ft));
    cr_assert_not(hr_ftype_from_name("", &ft));
    cr_assert_not(hr_ftype_from_name("q8_K", &ft)); /* an activation format, not a file type */
    cr_assert_eq(hr_ftype_default_type(HR_FTYPE_MOSTLY_Q4_K_M), HR_TYPE_Q4_K);
    cr_assert_str_eq(hr_ftype_name(HR_FTYPE_MOSTLY_Q5_K_M), "Q5_K_M");
}

/* A dense llama-like model: its tensors in hr_mix_sort order. */
typedef struct model {
    hr_mix_tensor t[512];
    char names[512][48];
    size_t n;
} model;

static void add(model *m, const char *name, hr_type type, int64_t ne0, int64_t ne1) {
    snprintf(m->names[m->n], sizeof m->names[0], "%s", name);
    m->t[m->n] = (hr_mix_tensor){.name = m->names[m->n], .type = type, .ne = {ne0, ne1, 1, 1}};
    m->n++;
}

static void build(model *m, int layers, int64_t embd, int64_t ff, int64_t kv, bool tied) {
    m->n = 0;
    add(m, "token_embd.weight", HR_TYPE_F16, embd, 300);
    add(m, "output_norm.weight", HR_TYPE_F32, embd, 1);
    if (!tied) add(m, "output.weight", HR_TYPE_F16, embd, 300);
    for (int l = 0; l < layers; l++) {
        static const char *const suffix[] = {"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
                                             "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight",
                                             "ffn_up.weight", "ffn_down.weight"};
        for (int s = 0; s < 9; s++) {
            char nm[48];
            snprintf(nm, sizeof nm, "blk.%d.%s", l, suffix[s]);
            bool norm = strstr(suffix[s], "norm") != NULL;
            int64_t ne0 = s == 8 ? ff : embd;
            int64_t ne1 = norm ? 1 : (s == 2 || s == 3) ? kv : (s == 6 || s == 7) ? ff : embd;
            add(m, nm, norm ? HR_TYPE_F32 : HR_TYPE_F16, ne0, ne1);
        }
    }
    hr_mix_sort(m->t, m->n);
}

static hr_type type_of(const model *m, const hr_type *types, const char *name) {
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->t[i].name, name)) return types[i];
    cr_assert_fail("no tensor %s", name);
    return HR_TYPE_COUNT;
}

static void expect(const model *m, const hr_type *types, const char *name, hr_type want) {
    hr_type got = type_of(m, types, name);
    cr_expect_eq(got, want, "%s: got %s, expected %s", name, hr_type_name(got), hr_type_name(want));
}

static void expect_layer(const model *m, const hr_type *types, int l, const char *suffix, hr_type want) {
    char nm[64];
    snprintf(nm, sizeof nm, "blk.%d.%s", l, suffix);
    expect(m, types, nm, want);
}

Test(quant_mix, sort_order_is_by_layer_then_name) {
    model m;
    build(&m, 12, 256, 256, 64, false);
    cr_assert_str_eq(m.t[0].name, "output.weight"); /* outside layers first, by name */
    cr_assert_str_eq(m.t[1].name, "output_norm.weight");
    cr_assert_str_eq(m.t[2].name, "token_embd.weight");
    cr_assert_str_eq(m.t[3].name, "blk.0.attn_k.weight");
    cr_assert_str_eq(m.t[3 + 9].name, "blk.1.attn_k.weight");
    cr_assert_str_eq(m.t[3 + 9 * 10].name, "blk.10.attn_k.weight"); /* 10 after 9, not after 1 */
}

/* use_more_bits(i, 8): i < 1, i >= 7, or (i - 1) % 3 == 2: layers 0, 3, 6, 7 */
static bool more_bits_8(int l) { return l == 0 || l == 3 || l == 6 || l == 7; }

Test(quant_mix, q4_K_M_dense_8_layers) {
    model m;
    build(&m, 8, 256, 288, 64, false); /* ffn_down rows of 288: no 256-blocks */
    hr_mix_model mm = {.arch = "llama", .n_layer = 8, .n_head = 4, .n_head_kv = 1};
    hr_type types[512];
    int fb = -1;
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q4_K_M, false, m.t, m.n, types, &fb);
    expect(&m, types, "output.weight", HR_TYPE_Q6_K);
    expect(&m, types, "token_embd.weight", HR_TYPE_Q4_K); /* untied: the default type */
    expect(&m, types, "output_norm.weight", HR_TYPE_F32);
    for (int l = 0; l < 8; l++) {
        expect_layer(&m, types, l, "attn_norm.weight", HR_TYPE_F32);
        expect_layer(&m, types, l, "ffn_norm.weight", HR_TYPE_F32);
        expect_layer(&m, types, l, "attn_q.weight", HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "attn_k.weight", HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "attn_output.weight", HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "ffn_gate.weight", HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "ffn_up.weight", HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "attn_v.weight", more_bits_8(l) ? HR_TYPE_Q6_K : HR_TYPE_Q4_K);
        /* q6_K falls back to q8_0 and q4_K to q5_0 on rows of 288 */
        expect_layer(&m, types, l, "ffn_down.weight", more_bits_8(l) ? HR_TYPE_Q8_0 : HR_TYPE_Q5_0);
    }
    cr_expect_eq(fb, 8);
}

Test(quant_mix, q3_K_M_and_q5_K_M_16_layers) {
    model m;
    build(&m, 16, 256, 512, 128, true);
    hr_mix_model mm = {.arch = "llama", .n_layer = 16, .n_head = 4, .n_head_kv = 2};
    hr_type types[512];
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q3_K_M, false, m.t, m.n, types, NULL);
    expect(&m, types, "token_embd.weight", HR_TYPE_Q6_K); /* tied: treated as the output */
    for (int l = 0; l < 16; l++) {
        expect_layer(&m, types, l, "attn_v.weight", l < 2 ? HR_TYPE_Q5_K : HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "ffn_down.weight", l < 1 ? HR_TYPE_Q5_K : HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "attn_output.weight", HR_TYPE_Q4_K);
        expect_layer(&m, types, l, "attn_q.weight", HR_TYPE_Q3_K);
        expect_layer(&m, types, l, "ffn_up.weight", HR_TYPE_Q3_K);
    }
    /* use_more_bits(i, 16): i < 2, i >= 14, or (i - 2) % 3 == 2: 0 1 4 7 10 13 14 15 */
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q5_K_M, false, m.t, m.n, types, NULL);
    for (int l = 0; l < 16; l++) {
        bool more = l < 2 || l >= 14 || (l - 2) % 3 == 2;
        expect_layer(&m, types, l, "attn_v.weight", more ? HR_TYPE_Q6_K : HR_TYPE_Q5_K);
        expect_layer(&m, types, l, "ffn_down.weight", more ? HR_TYPE_Q6_K : HR_TYPE_Q5_K);
        expect_layer(&m, types, l, "attn_output.weight", HR_TYPE_Q5_K);
    }
}

Test(quant_mix, q2_K_depends_on_gqa) {
    model m;
    build(&m, 8, 256, 256, 64, false);
    hr_type types[512];
    hr_mix_model gqa4 = {.arch = "llama", .n_layer = 8, .n_head = 4, .n_head_kv = 1};
    hr_mix_choose(&gqa4, HR_FTYPE_MOSTLY_Q2_K, false, m.t, m.n, types, NULL);
    expect_layer(&m, types, 5, "attn_v.weight", HR_TYPE_Q4_K);
    expect_layer(&m, types, 5, "ffn_down.weight", HR_TYPE_Q3_K);
    expect_layer(&m, types, 5, "attn_output.weight", HR_TYPE_Q3_K);
    expect_layer(&m, types, 5, "attn_q.weight", HR_TYPE_Q2_K);
    hr_mix_model gqa1 = {.arch = "llama", .n_layer = 8, .n_head = 4, .n_head_kv = 4};
    hr_mix_choose(&gqa1, HR_FTYPE_MOSTLY_Q2_K, false, m.t, m.n, types, NULL);
    expect_layer(&m, types, 5, "attn_v.weight", HR_TYPE_Q3_K);
}

Test(quant_mix, legacy_types_and_q8_0_output) {
    model m;
    build(&m, 2, 256, 256, 64, true);
    hr_mix_model mm = {.arch = "qwen2", .n_layer = 2, .n_head = 4, .n_head_kv = 1};
    hr_type types[512];
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q4_0, false, m.t, m.n, types, NULL);
    expect(&m, types, "token_embd.weight", HR_TYPE_Q6_K);
    expect_layer(&m, types, 1, "attn_v.weight", HR_TYPE_Q4_0);
    expect_layer(&m, types, 1, "ffn_down.weight", HR_TYPE_Q4_0);
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q8_0, false, m.t, m.n, types, NULL);
    expect(&m, types, "token_embd.weight", HR_TYPE_Q8_0); /* q8_0 outputs stay q8_0 */
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_F16, false, m.t, m.n, types, NULL);
    expect(&m, types, "token_embd.weight", HR_TYPE_F16);
    expect(&m, types, "output_norm.weight", HR_TYPE_F32);
    hr_mix_choose(&mm, HR_FTYPE_ALL_F32, false, m.t, m.n, types, NULL);
    expect_layer(&m, types, 0, "attn_q.weight", HR_TYPE_F32);
}

Test(quant_mix, pure_and_fallbacks) {
    model m;
    m.n = 0;
    add(&m, "output.weight", HR_TYPE_F32, 96, 10);
    add(&m, "blk.0.attn_q.weight", HR_TYPE_F32, 96, 96);
    add(&m, "blk.0.attn_k.weight", HR_TYPE_F32, 40, 96); /* not even a multiple of 32 */
    add(&m, "blk.0.ffn_gate_inp.weight", HR_TYPE_F32, 96, 8);
    add(&m, "blk.0.attn_q.bias", HR_TYPE_F32, 96, 2);
    add(&m, "blk.0.attn_v.weight", HR_TYPE_F32, 96, 1); /* 1-D in effect */
    hr_mix_sort(m.t, m.n);
    hr_mix_model mm = {.arch = "llama", .n_layer = 1, .n_head = 1, .n_head_kv = 1};
    hr_type types[16];
    static const struct { hr_ftype ft; hr_type fb; } cases[] = {
        {HR_FTYPE_MOSTLY_Q2_K, HR_TYPE_Q4_0},   {HR_FTYPE_MOSTLY_Q3_K_S, HR_TYPE_Q4_0},
        {HR_FTYPE_MOSTLY_Q4_K_S, HR_TYPE_Q5_0}, {HR_FTYPE_MOSTLY_Q5_K_S, HR_TYPE_Q5_1},
        {HR_FTYPE_MOSTLY_Q6_K, HR_TYPE_Q8_0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int fb = 0;
        hr_mix_choose(&mm, cases[c].ft, true, m.t, m.n, types, &fb);
        expect(&m, types, "blk.0.attn_q.weight", cases[c].fb);
        expect(&m, types, "output.weight", cases[c].fb); /* pure: output too */
        expect(&m, types, "blk.0.attn_k.weight", HR_TYPE_F16);
        expect(&m, types, "blk.0.ffn_gate_inp.weight", HR_TYPE_F32);
        expect(&m, types, "blk.0.attn_q.bias", HR_TYPE_F32);
        expect(&m, types, "blk.0.attn_v.weight", HR_TYPE_F32);
        cr_expect_eq(fb, 3);
    }
    /* not pure: the output's row is not a multiple of 256, so q8_0 */
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q4_K_M, false, m.t, m.n, types, NULL);
    expect(&m, types, "output.weight", HR_TYPE_Q8_0);
}

Test(quant_mix, eight_experts_keep_attention_at_q8_0) {
    model m;
    build(&m, 4, 256, 256, 64, false);
    hr_mix_model mm = {.arch = "llama", .n_layer = 4, .n_head = 4, .n_head_kv = 1, .n_expert = 8};
    hr_type types[512];
    hr_mix_choose(&mm, HR_FTYPE_MOSTLY_Q4_K_M, false, m.t, m.n, types, NULL);
    expect_layer(&m, types, 2, "attn_v.weight", HR_TYPE_Q8_0);
    expect_layer(&m, types, 2, "attn_k.weight", HR_TYPE_Q8_0);
    expect_layer(&m, types, 2, "attn_output.weight", HR_TYPE_Q5_K);
}
