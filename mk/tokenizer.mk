# Tokenizer: libFuzzer target (clang) and the tokenization benchmark.
#
#   make fuzz-tokenizer [FUZZ_SECONDS=60]   fuzz, seeded by fuzz/corpus/tokenizer (left unchanged)
#   make bench-tokenizer                    MB/s on ~1 MB of mixed text, against llama.cpp when available

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -std=c17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -D_GNU_SOURCE -Iinclude -Isrc
FUZZ_TOKENIZER_SRC := fuzz/fuzz_tokenizer.c $(sort $(wildcard src/common/*.c src/gguf/*.c src/text/*.c src/tensor/*.c))

$(FUZZ_BUILD)/fuzz_tokenizer: $(FUZZ_TOKENIZER_SRC) $(wildcard src/text/*.h src/gguf/*.h src/common/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_TOKENIZER_SRC) -lpcre2-8 -lutf8proc -lm

.PHONY: fuzz-tokenizer bench-tokenizer
fuzz-tokenizer: $(FUZZ_BUILD)/fuzz_tokenizer
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	  $< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 "$$out" fuzz/corpus/tokenizer
fuzz: fuzz-tokenizer

$(BUILD)/bench_tokenizer: $(BUILD)/obj/bench/bench_tokenizer.o $(BUILD)/libhearth.a
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)
bench-tokenizer: $(BUILD)/bench_tokenizer
	$<
BENCH_TARGETS += bench-tokenizer

-include $(BUILD)/obj/bench/bench_tokenizer.d
