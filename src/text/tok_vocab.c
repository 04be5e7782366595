/* Loading a vocabulary from tokenizer.ggml.* metadata with llama.cpp's defaults,
 * overrides and special-token heuristics (src/llama-vocab.cpp, load()). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "text/tok_internal.h"

static bool table_alloc(tok_table *tb, uint64_t n) {
    uint64_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    tb->slots = calloc(cap, sizeof *tb->slots);
    tb->mask = cap - 1;
    return tb->slots != NULL;
}

int32_t tok_lookup(const hr_tokenizer *t, const char *s, size_t n) {
    uint64_t h = tok_hash(s, n) & t->tok_map.mask;
    for (;;) {
        uint32_t v = t->tok_map.slots[h];
        if (!v) return -1;
        int32_t id = (int32_t)(v - 1);
        if (t->text_len[id] == n && !memcmp(t->text_pool + t->text_off[id], s, n)) return id;
        h = (h + 1) & t->tok_map.mask;
    }
}

/* Later duplicates replace earlier ones, as token_to_id[word] = i does. */
static void tok_map_insert(hr_tokenizer *t, int32_t id) {
    const char *s = t->text_pool + t->text_off[id];
    size_t n = t->text_len[id];
    uint64_t h = tok_hash(s, n) & t->tok_map.mask;
    for (;;) {
        uint32_t v = t->tok_map.slots[h];
        if (!v) break;
        int32_t o = (int32_t)(v - 1);
        if (t->text_len[o] == n && !memcmp(t->text_pool + t->text_off[o], s, n)) break;
        h = (h + 1) & t->tok_map.mask;
    }
    t->tok_map.slots[h] = (uint32_t)id + 1;
}

static uint64_t merge_hash(const char *s, size_t n, size_t llen) {
    return tok_hash(s, n) ^ ((uint64_t)llen * 0x9E3779B97F4A7C15ull);
}

int32_t tok_merge_rank(const hr_tokenizer *t, const char *s, size_t n, size_t llen) {
    if (!t->n_merges) return -1;
    uint64_t h = merge_hash(s, n, llen) & t->merge_map.mask;
    for (;;) {
        uint32_t v = t->merge_map.slots[h];
        if (!v) return -1;
        uint32_t m = v - 1;
        if (t->merge_llen[m] == llen && t->merge_llen[m] + t->merge_rlen[m] == n &&
            !memcmp(t->merge_pool + t->merge_off[m], s, n))
            return (int32_t)m;
        h = (h + 1) & t->merge_map.mask;
    }
}

/* The first occurrence of a pair keeps its rank (bpe_ranks.emplace). */
static void merge_map_insert(hr_tokenizer *t, uint32_t m) {
    const char *s = t->merge_pool + t->merge_off[m];
    size_t llen = t->merge_llen[m], n = llen + t->merge_rlen[m];
    uint64_t h = merge_hash(s, n, llen) & t->merge_map.mask;
    for (;;) {
        uint32_t v = t->merge_map.slots[h];
        if (!v) break;
        uint32_t o = v - 1;
        if (t->merge_llen[o] == llen && t->merge_rlen[o] == t->merge_rlen[m] && !memcmp(t->merge_pool + t->merge_off[o], s, n))
            return;
        h = (h + 1) & t->merge_map.mask;
    }
    t->merge_map.slots[h] = m + 1;
}

typedef struct {
    const char *name;
    tok_pre pre;
    bool keep_clean_spaces, ignore_merges, add_bos;
} pre_entry;

/* tokenizer.ggml.pre names whose split rules we implement, with the flags llama.cpp attaches. */
static const pre_entry pre_table[] = {
    {"default", PRE_DEFAULT, true, false, false},
    {"llama3", PRE_LLAMA3, true, true, true},
    {"llama-v3", PRE_LLAMA3, true, true, true},
    {"llama-bpe", PRE_LLAMA3, true, true, true},
    {"falcon3", PRE_LLAMA3, true, true, true},
    {"falcon-h1", PRE_LLAMA3, true, true, true},
    {"pixtral", PRE_LLAMA3, true, true, true},
    {"midm-2.0", PRE_LLAMA3, true, true, true},
    {"lfm2", PRE_LLAMA3, true, true, true},
    {"jina-v5-nano", PRE_LLAMA3, true, true, true},
    {"dbrx", PRE_LLAMA3, true, false, false},
    {"smaug-bpe", PRE_LLAMA3, true, false, false},
    {"gpt-2", PRE_GPT2, true, false, false},
    {"phi-2", PRE_GPT2, true, false, false},
    {"jina-es", PRE_GPT2, true, false, false},
    {"jina-de", PRE_GPT2, true, false, false},
    {"gigachat", PRE_GPT2, true, false, false},
    {"jina-v2-es", PRE_GPT2, true, false, false},
    {"jina-v2-de", PRE_GPT2, true, false, false},
    {"a.x-4.0", PRE_GPT2, true, false, false},
    {"mellum", PRE_GPT2, true, false, false},
    {"modern-bert", PRE_GPT2, true, false, false},
    {"jina-v1-en", PRE_GPT2, true, false, false},
    {"jina-v2-code", PRE_GPT2, true, false, false},
    {"roberta-bpe", PRE_GPT2, true, false, false},
    {"mpt", PRE_GPT2, true, false, false},
    {"olmo", PRE_GPT2, true, false, false},
    {"jais", PRE_GPT2, true, false, false},
    {"exaone4", PRE_GPT2, true, false, false},
    {"starcoder", PRE_STARCODER, true, false, false},
    {"refact", PRE_STARCODER, true, false, false},
    {"command-r", PRE_STARCODER, false, false, false},
    {"smollm", PRE_STARCODER, false, false, false},
    {"codeshell", PRE_STARCODER, true, false, false},
    {"exaone", PRE_STARCODER, true, false, false},
    {"minerva-7b", PRE_STARCODER, true, false, false},
    {"qwen2", PRE_QWEN2, false, false, false},
    {"deepseek-r1-qwen", PRE_QWEN2, false, false, false},
    {"kormo", PRE_QWEN2, false, false, false},
    {"f2llmv2", PRE_QWEN2, false, false, false},
    {"megrez", PRE_QWEN2, true, false, false},
    {"stablelm2", PRE_QWEN2, true, false, false},
    {"qwen35", PRE_QWEN35, false, false, false},
    {"gemma4", PRE_GEMMA4, true, false, false},
    {"granite-embed-multi-311m", PRE_GEMMA4, true, false, false},
};

static hearth_status get_opt_string(const hr_gguf *g, const char *key, const char **out, hearth_error *err) {
    int64_t i = hr_gguf_find_key(g, key);
    *out = NULL;
    if (i < 0) return HEARTH_OK;
    if (hr_gguf_kv_type(g, i) != HR_GGUF_STRING) return hr_fail(err, HEARTH_ERR_FORMAT, "%s is not a string", key);
    *out = hr_gguf_get_str(g, i).ptr;
    return HEARTH_OK;
}

static const char *const eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                                        "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                                        "<end_of_utterance>", NULL};
static const char *const eom_texts[] = {"<|eom_id|>", NULL};
static const char *const fim_pre_texts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
                                            "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>",
                                            "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const fim_suf_texts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
                                            "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>",
                                            "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const fim_mid_texts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
                                            "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>",
                                            "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
static const char *const fim_sep_texts[] = {"<|file_sep|>", NULL};
static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                        "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                        "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                        "<turn|>", "<|tool_response>",
                                        "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~[",
                                        NULL};

static int32_t find_text(const hr_tokenizer *t, const char *s) { return tok_lookup(t, s, strlen(s)); }

static bool text_is(const hr_tokenizer *t, int32_t id, const char *s) {
    size_t n = strlen(s);
    return t->text_len[id] == n && !memcmp(t->text_pool + t->text_off[id], s, n);
}

/* The first listed text present in the vocabulary, marked as a control token.
 * llama.cpp takes whichever candidate its hash map yields first; the list
 * order (<|eot_id|>, <|im_end|>, <|end|> before <|endoftext|>) gives the same
 * choice on the shared vocabularies and does not depend on hashing. */
static void detect_by_text(hr_tokenizer *t, int32_t *id, const char *const *texts) {
    if (*id >= 0) return;
    for (size_t k = 0; texts[k]; k++) {
        int32_t i = find_text(t, texts[k]);
        if (i >= 0) {
            *id = i;
            t->attr[i] |= HR_TOKEN_ATTR_CONTROL;
            return;
        }
    }
}

static hearth_status read_special_ids(hr_tokenizer *t, const hr_gguf *g, int32_t *fim_pad, int32_t *fim_rep,
                                      int32_t *fim_sep, hearth_error *err) {
    struct {
        const char *key;
        int32_t *id;
    } keys[] = {
        {"tokenizer.ggml.bos_token_id", &t->bos},       {"tokenizer.ggml.eos_token_id", &t->eos},
        {"tokenizer.ggml.eot_token_id", &t->eot},       {"tokenizer.ggml.eom_token_id", &t->eom},
        {"tokenizer.ggml.unknown_token_id", &t->unk},   {"tokenizer.ggml.seperator_token_id", &t->sep},
        {"tokenizer.ggml.padding_token_id", &t->pad},   {"tokenizer.ggml.fim_pad_token_id", fim_pad},
        {"tokenizer.ggml.fim_rep_token_id", fim_rep},   {"tokenizer.ggml.fim_sep_token_id", fim_sep},
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        int32_t *id = keys[k].id;
        if (*id >= t->n_vocab) *id = -1;
        uint32_t v = UINT32_MAX;
        hearth_status st = hr_gguf_opt_u32(g, keys[k].key, &v, err);
        if (st != HEARTH_OK) return st;
        if (v != UINT32_MAX && v < (uint32_t)t->n_vocab) *id = (int32_t)v; /* out of range: keep the default */
    }
    return HEARTH_OK;
}

static void apply_token_heuristics(hr_tokenizer *t, int32_t fim_pad, int32_t fim_rep, int32_t fim_sep) {
    int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1;
    detect_by_text(t, &t->eot, eot_texts);
    detect_by_text(t, &t->eom, eom_texts);
    detect_by_text(t, &fim_pre, fim_pre_texts);
    detect_by_text(t, &fim_suf, fim_suf_texts);
    detect_by_text(t, &fim_mid, fim_mid_texts);
    detect_by_text(t, &fim_pad, fim_pad_texts);
    detect_by_text(t, &fim_rep, fim_rep_texts);
    detect_by_text(t, &fim_sep, fim_sep_texts);

    for (int32_t i = 0; i < t->n_vocab; i++)
        if ((t->attr[i] & HR_TOKEN_ATTR_CONTROL) && t->text_len[i] >= 6 &&
            memmem(t->text_pool + t->text_off[i], t->text_len[i], "unused", 6))
            t->attr[i] |= HR_TOKEN_ATTR_UNUSED;

    if (fim_pad >= 0) t->eog[fim_pad] = 1;
    if (fim_rep >= 0) t->eog[fim_rep] = 1;
    if (fim_sep >= 0) t->eog[fim_sep] = 1;
    for (size_t k = 0; eog_texts[k]; k++) {
        int32_t i = find_text(t, eog_texts[k]);
        if (i < 0) continue;
        t->eog[i] = 1;
        t->attr[i] |= HR_TOKEN_ATTR_CONTROL;
    }
    /* gpt-oss: always rendered */
    static const char *const user_defined[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
    for (size_t k = 0; k < 4; k++) {
        int32_t i = find_text(t, user_defined[k]);
        if (i >= 0) t->attr[i] = HR_TOKEN_ATTR_USER_DEFINED;
    }
    if (t->eos >= 0) t->eog[t->eos] = 1;
    if (t->eot >= 0) t->eog[t->eot] = 1;
    if (t->eom >= 0) t->eog[t->eom] = 1;

    /* o200k_harmony / solar-open: <|end|> is not end of generation there. */
    bool has_return = false, has_call = false, has_flush = false, has_tool_response = false;
    int32_t end_id = -1, s_id = -1;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (!t->eog[i]) continue;
        if (text_is(t, i, "<|return|>")) has_return = true;
        else if (text_is(t, i, "<|call|>") || text_is(t, i, "<|calls|>")) has_call = true;
        else if (text_is(t, i, "<|flush|>")) has_flush = true;
        else if (text_is(t, i, "<|end|>")) end_id = i;
    }
    if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
        t->eog[end_id] = 0;
        t->attr[end_id] = HR_TOKEN_ATTR_USER_DEFINED;
    }
    /* gemma4, paddleocr: </s> is an ordinary token there. */
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (!t->eog[i]) continue;
        if (text_is(t, i, "<|tool_response>")) has_tool_response = true;
        else if (text_is(t, i, "</s>")) s_id = i;
    }
    if (has_tool_response && s_id >= 0) {
        t->eog[s_id] = 0;
        t->attr[s_id] = HR_TOKEN_ATTR_NORMAL;
    }
}

static bool contains_ci(const char *hay, const char *needle) {
    if (!hay) return false;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t k = 0;
        while (k < n && p[k] && tolower((unsigned char)p[k]) == needle[k]) k++;
        if (k == n) return true;
    }
    return false;
}

/* Per-model strip attributes llama.cpp sets by name (after its caches are built). */
static void apply_strip_attrs(hr_tokenizer *t, const char *general_name, const char *arch) {
    if (contains_ci(t->pre_name, "jina-v2-de") || contains_ci(t->pre_name, "jina-v2-es") ||
        contains_ci(t->pre_name, "jina-v2-code") || contains_ci(arch, "nomic-bert-moe") ||
        contains_ci(arch, "jina-bert-v3")) {
        int32_t i = find_text(t, "<mask>");
        if (i >= 0) t->attr[i] |= HR_TOKEN_ATTR_LSTRIP;
    } else if (contains_ci(general_name, "phi-3") || contains_ci(general_name, "phi3")) {
        for (int32_t k = 0; k < t->n_special; k++) t->attr[t->special_ids[k]] |= HR_TOKEN_ATTR_RSTRIP;
        int32_t i = find_text(t, "</s>");
        if (i >= 0) t->attr[i] |= HR_TOKEN_ATTR_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (size_t k = 0; k < 3; k++)
            if ((i = find_text(t, keep[k])) >= 0) t->attr[i] &= (uint16_t)~HR_TOKEN_ATTR_RSTRIP;
    } else if (contains_ci(general_name, "modern-bert")) {
        int32_t i = find_text(t, "[MASK]");
        if (i >= 0) t->attr[i] |= HR_TOKEN_ATTR_LSTRIP;
    }
}

static uint16_t attr_of_type(int32_t type) {
    switch (type) {
    case 1: return HR_TOKEN_ATTR_NORMAL;
    case 2: return HR_TOKEN_ATTR_UNKNOWN;
    case 3: return HR_TOKEN_ATTR_CONTROL;
    case 4: return HR_TOKEN_ATTR_USER_DEFINED;
    case 5: return HR_TOKEN_ATTR_UNUSED;
    case 6: return HR_TOKEN_ATTR_BYTE;
    default: return HR_TOKEN_ATTR_UNDEFINED;
    }
}

static hearth_status load_tokens(hr_tokenizer *t, const hr_gguf *g, hearth_error *err) {
    int64_t ki = hr_gguf_find_key(g, "tokenizer.ggml.tokens");
    if (ki < 0) return hr_fail(err, HEARTH_ERR_MISSING, "tokenizer.ggml.tokens is missing");
    if (hr_gguf_kv_type(g, ki) != HR_GGUF_ARRAY || hr_gguf_arr_type(g, ki) != HR_GGUF_STRING)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.tokens is not a string array");
    uint64_t n = hr_gguf_arr_len(g, ki);
    if (n == 0 || n > INT32_MAX / 2) return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries", (unsigned long long)n);
    t->n_vocab = (int32_t)n;

    const void *scores = NULL;
    bool scores_int = false;
    int64_t si = hr_gguf_find_key(g, "tokenizer.ggml.scores");
    if (si >= 0) {
        hr_gguf_type at = hr_gguf_kv_type(g, si) == HR_GGUF_ARRAY ? hr_gguf_arr_type(g, si) : HR_GGUF_TYPE_COUNT;
        if (at != HR_GGUF_FLOAT32 && at != HR_GGUF_INT32) return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.scores has the wrong type");
        if (hr_gguf_arr_len(g, si) < n) return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.scores is shorter than the vocabulary");
        scores = hr_gguf_arr_data(g, si);
        scores_int = at == HR_GGUF_INT32;
    }
    const void *types = NULL;
    int64_t ti = hr_gguf_find_key(g, "tokenizer.ggml.token_type");
    if (ti >= 0) {
        if (hr_gguf_kv_type(g, ti) != HR_GGUF_ARRAY || hr_gguf_arr_type(g, ti) != HR_GGUF_INT32)
            return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.token_type is not an int32 array");
        if (hr_gguf_arr_len(g, ti) < n) return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.token_type is shorter than the vocabulary");
        types = hr_gguf_arr_data(g, ti);
    }

    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = hr_gguf_arr_str(g, ki, i).len;
        total += (len ? len : 24) + 1; /* room for "[EMPTY_i]" */
    }
    t->text_pool = malloc(total);
    t->text_off = malloc(n * sizeof *t->text_off);
    t->text_len = malloc(n * sizeof *t->text_len);
    t->scores = malloc(n * sizeof *t->scores);
    t->attr = malloc(n * sizeof *t->attr);
    t->eog = calloc(n, 1);
    if (!t->text_pool || !t->text_off || !t->text_len || !t->scores || !t->attr || !t->eog || !table_alloc(&t->tok_map, n))
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory loading %llu tokens", (unsigned long long)n);
    uint64_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        hr_gguf_str s = hr_gguf_arr_str(g, ki, i);
        if (s.len > UINT32_MAX / 2) return hr_fail(err, HEARTH_ERR_FORMAT, "token %llu is too long", (unsigned long long)i);
        t->text_off[i] = off;
        if (s.len) {
            memcpy(t->text_pool + off, s.ptr, s.len);
            t->text_len[i] = (uint32_t)s.len;
        } else { /* llama.cpp renames empty tokens so that they stay distinct */
            t->text_len[i] = (uint32_t)snprintf(t->text_pool + off, 24, "[EMPTY_%llu]", (unsigned long long)i);
        }
        off += t->text_len[i];
        t->text_pool[off++] = '\0';
        if ((int32_t)t->text_len[i] > t->max_token_len) t->max_token_len = (int32_t)t->text_len[i];
        float sc = 0.0f;
        if (scores && !scores_int) memcpy(&sc, (const char *)scores + i * 4, 4);
        else if (scores) {
            int32_t v;
            memcpy(&v, (const char *)scores + i * 4, 4);
            sc = (float)v;
        }
        t->scores[i] = sc;
        int32_t ty = 1;
        if (types) memcpy(&ty, (const char *)types + i * 4, 4);
        t->attr[i] = types ? attr_of_type(ty) : HR_TOKEN_ATTR_NORMAL;
        tok_map_insert(t, (int32_t)i);
    }
    return HEARTH_OK;
}

static hearth_status load_merges(hr_tokenizer *t, const hr_gguf *g, hearth_error *err) {
    int64_t mi = hr_gguf_find_key(g, "tokenizer.ggml.merges");
    if (mi < 0) return hr_fail(err, HEARTH_ERR_MISSING, "tokenizer.ggml.merges is missing");
    if (hr_gguf_kv_type(g, mi) != HR_GGUF_ARRAY || hr_gguf_arr_type(g, mi) != HR_GGUF_STRING)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tokenizer.ggml.merges is not a string array");
    uint64_t n = hr_gguf_arr_len(g, mi);
    if (n > INT32_MAX / 2) return hr_fail(err, HEARTH_ERR_FORMAT, "too many merges");
    uint64_t total = 1;
    for (uint64_t i = 0; i < n; i++) total += hr_gguf_arr_str(g, mi, i).len;
    t->merge_pool = malloc(total);
    t->merge_off = malloc((n ? n : 1) * sizeof *t->merge_off);
    t->merge_llen = malloc((n ? n : 1) * sizeof *t->merge_llen);
    t->merge_rlen = malloc((n ? n : 1) * sizeof *t->merge_rlen);
    if (!t->merge_pool || !t->merge_off || !t->merge_llen || !t->merge_rlen || !table_alloc(&t->merge_map, n))
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory loading %llu merges", (unsigned long long)n);
    uint64_t off = 0;
    t->n_merges = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++) {
        hr_gguf_str s = hr_gguf_arr_str(g, mi, i);
        /* "left right", split at the first space after the first byte; without
         * one llama.cpp stores an empty pair, which can never match. */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        t->merge_off[i] = off;
        if (!sp) {
            t->merge_llen[i] = t->merge_rlen[i] = 0;
            continue;
        }
        size_t l = (size_t)(sp - s.ptr), r = s.len - l - 1;
        memcpy(t->merge_pool + off, s.ptr, l);
        memcpy(t->merge_pool + off + l, sp + 1, r);
        t->merge_llen[i] = (uint32_t)l;
        t->merge_rlen[i] = (uint32_t)r;
        off += l + r;
        merge_map_insert(t, (uint32_t)i);
    }
    return HEARTH_OK;
}

/* GPT-2's byte-to-unicode table: printable Latin-1 bytes map to themselves,
 * the rest to U+0100 upwards in byte order. */
static uint32_t byte_to_unicode(unsigned b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
    uint32_t n = 0;
    for (unsigned c = 0; c < b; c++)
        if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) n++;
    return 256 + n;
}

static void init_byte_tokens(hr_tokenizer *t) {
    for (unsigned b = 0; b < 256; b++) {
        char buf[8];
        int32_t id = -1;
        if (t->kind == TOK_KIND_BPE && t->byte_encode) {
            size_t n = tok_utf8_encode(byte_to_unicode(b), buf);
            id = tok_lookup(t, buf, n);
        } else {
            snprintf(buf, sizeof buf, "<0x%02X>", b);
            id = tok_lookup(t, buf, 6);
            if (id < 0 && t->kind == TOK_KIND_SPM) {
                buf[0] = (char)b;
                id = tok_lookup(t, buf, 1);
            }
        }
        t->byte_token[b] = id;
    }
}

void hr_tokenizer_free(hr_tokenizer *t) {
    if (!t) return;
    free(t->text_pool);
    free(t->text_off);
    free(t->text_len);
    free(t->scores);
    free(t->attr);
    free(t->tok_map.slots);
    free(t->merge_pool);
    free(t->merge_off);
    free(t->merge_llen);
    free(t->merge_rlen);
    free(t->merge_map.slots);
    free(t->eog);
    free(t->special_ids);
    free(t->trie);
    for (int i = 0; i < t->n_regex; i++) pcre2_code_free(t->regex[i]);
    free(t->piece_pool);
    free(t->piece_off);
    free(t->piece_len);
    free(t);
}

static hearth_status configure_model(hr_tokenizer *t, const char *model, const char *pre, hearth_error *err) {
    snprintf(t->model_name, sizeof t->model_name, "%s", model);
    t->eot = t->eom = t->sep = t->pad = -1;
    t->escape_whitespaces = true;
    t->byte_encode = true;
    if (!strcmp(model, "llama")) {
        t->kind = TOK_KIND_SPM;
        t->pre = PRE_DEFAULT;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = true;
        t->add_bos = true;
        snprintf(t->pre_name, sizeof t->pre_name, "%s", pre ? pre : "default");
        return HEARTH_OK;
    }
    if (!strcmp(model, "gpt2")) {
        t->bos = t->eos = 11;
        t->unk = -1;
    } else if (!strcmp(model, "gemma4")) {
        t->bos = t->eos = t->unk = -1;
        pre = "gemma4";
    } else {
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tokenizer model '%s' is not supported", model);
    }
    t->kind = TOK_KIND_BPE;
    t->escape_whitespaces = false;
    t->clean_spaces = true;
    if (!pre || !*pre) pre = "default";
    snprintf(t->pre_name, sizeof t->pre_name, "%s", pre);
    for (size_t k = 0; k < sizeof pre_table / sizeof pre_table[0]; k++) {
        if (strcmp(pre, pre_table[k].name)) continue;
        t->pre = pre_table[k].pre;
        t->clean_spaces = pre_table[k].keep_clean_spaces;
        t->ignore_merges = pre_table[k].ignore_merges;
        t->add_bos = pre_table[k].add_bos;
        if (t->pre == PRE_GEMMA4) {
            t->escape_whitespaces = true;
            t->byte_encode = false;
        }
        return HEARTH_OK;
    }
    return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "pre-tokenizer '%s' is not supported", pre);
}

hearth_status hr_tokenizer_new(const hr_gguf *g, hr_tokenizer **out, hearth_error *err) {
    *out = NULL;
    const char *model = NULL, *pre = NULL, *general_name = NULL, *arch = NULL;
    hearth_status st = get_opt_string(g, "tokenizer.ggml.model", &model, err);
    if (st != HEARTH_OK) return st;
    if (!model) return hr_fail(err, HEARTH_ERR_MISSING, "tokenizer.ggml.model is missing");
    if ((st = get_opt_string(g, "tokenizer.ggml.pre", &pre, err)) != HEARTH_OK) return st;
    if ((st = get_opt_string(g, "general.name", &general_name, err)) != HEARTH_OK) return st;
    if ((st = get_opt_string(g, "general.architecture", &arch, err)) != HEARTH_OK) return st;

    hr_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
    if ((st = configure_model(t, model, pre, err)) != HEARTH_OK) goto fail;
    if ((st = hr_gguf_opt_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err)) != HEARTH_OK) goto fail;
    if ((st = load_tokens(t, g, err)) != HEARTH_OK) goto fail;
    if (t->kind == TOK_KIND_BPE && (st = load_merges(t, g, err)) != HEARTH_OK) goto fail;
    if ((st = read_special_ids(t, g, &fim_pad, &fim_rep, &fim_sep, err)) != HEARTH_OK) goto fail;
    if ((st = hr_gguf_opt_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err)) != HEARTH_OK) goto fail;
    if ((st = hr_gguf_opt_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err)) != HEARTH_OK) goto fail;
    if (t->pre == PRE_GEMMA4) t->add_bos = true; /* llama.cpp overrides this for Gemma 4 */
    apply_token_heuristics(t, fim_pad, fim_rep, fim_sep);
    init_byte_tokens(t);
    if ((st = tok_special_init(t, err)) != HEARTH_OK) goto fail;
    if ((st = tok_pieces_init(t, err)) != HEARTH_OK) goto fail;
    apply_strip_attrs(t, general_name, arch);
    if (t->kind == TOK_KIND_BPE && (st = tok_pretok_init(t, err)) != HEARTH_OK) goto fail;
    *out = t;
    return HEARTH_OK;
fail:
    hr_tokenizer_free(t);
    return st;
}

int32_t hr_tokenizer_n_vocab(const hr_tokenizer *t) { return t->n_vocab; }
int32_t hr_tokenizer_bos(const hr_tokenizer *t) { return t->bos; }
int32_t hr_tokenizer_eos(const hr_tokenizer *t) { return t->eos; }
int32_t hr_tokenizer_eot(const hr_tokenizer *t) { return t->eot; }
int32_t hr_tokenizer_pad(const hr_tokenizer *t) { return t->pad; }
int32_t hr_tokenizer_unk(const hr_tokenizer *t) { return t->unk; }
bool hr_tokenizer_add_bos(const hr_tokenizer *t) { return t->add_bos; }
bool hr_tokenizer_add_eos(const hr_tokenizer *t) { return t->add_eos; }
bool hr_tokenizer_is_eog(const hr_tokenizer *t, int32_t id) { return id >= 0 && id < t->n_vocab && t->eog[id]; }
uint32_t hr_tokenizer_attr(const hr_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab ? t->attr[id] : 0;
}
const char *hr_tokenizer_text(const hr_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->text_len[id];
    return t->text_pool + t->text_off[id];
}
const char *hr_tokenizer_model_name(const hr_tokenizer *t) { return t->model_name; }
const char *hr_tokenizer_pre_name(const hr_tokenizer *t) { return t->pre_name; }
