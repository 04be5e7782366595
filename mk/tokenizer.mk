# Tokenizer: libFuzzer target (clang) and the tokenization benchmark.
#
#   make fuzz-tokenizer [FUZZ_SECONDS=60]   fuzz, seeded by fuzz/corpus/tokenizer (left unchanged)
#   make fuzz-tokenizer-regress             (part of make test) every committed input once
#   make bench-tokenizer                    MB/s on ~1 MB of mixed text, against llama.cpp when available

# The fuzz build (fuzz-lib, FUZZ_BUILD, FUZZ_SECONDS) comes from mk/fuzz.mk.
$(FUZZ_BUILD)/fuzz_tokenizer: fuzz/fuzz_tokenizer.c fuzz-lib
	$(FUZZ_CC) -std=c17 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	  -o $@ $< $(FUZZ_BUILD)/libhearth.a $(LDLIBS_ALL)

.PHONY: fuzz-tokenizer fuzz-tokenizer-regress bench-tokenizer
fuzz-tokenizer: $(FUZZ_BUILD)/fuzz_tokenizer
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	  $< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 "$$out" fuzz/corpus/tokenizer
fuzz: fuzz-tokenizer

# Each committed input once (file arguments: run, never mutate).
fuzz-tokenizer-regress: $(FUZZ_BUILD)/fuzz_tokenizer
	@echo "== $< on fuzz/corpus/tokenizer"; \
	$< fuzz/corpus/tokenizer/* > $(FUZZ_BUILD)/regress-tokenizer.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/regress-tokenizer.log; exit 1; }
TEST_TARGETS += fuzz-tokenizer-regress

$(BUILD)/bench_tokenizer: $(BUILD)/obj/bench/bench_tokenizer.o $(BUILD)/libhearth.a
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)
bench-tokenizer: $(BUILD)/bench_tokenizer
	$<
BENCH_TARGETS += bench-tokenizer

-include $(BUILD)/obj/bench/bench_tokenizer.d
