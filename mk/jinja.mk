# Jinja: the libFuzzer target (make fuzz, clang) and a plain replay of its
# corpus that runs with the tests (and under the sanitizers with make sanitize).
JINJA_FUZZ_SRC := fuzz/fuzz_jinja.c $(wildcard src/text/jinja*.c) src/common/error.c
JINJA_CORPUS := $(sort $(wildcard fuzz/corpus/jinja/*))

$(BUILD)/fuzz/fuzz_jinja: $(JINJA_FUZZ_SRC) $(wildcard src/text/*.h)
	@mkdir -p $(dir $@)
	clang -std=c17 -O1 -g -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
	  -o $@ $(JINJA_FUZZ_SRC) -lutf8proc -ljansson -lm

.PHONY: fuzz-jinja test-jinja-corpus
# e.g. make fuzz-jinja FUZZ_SECONDS=600
FUZZ_SECONDS ?= 60
fuzz-jinja: $(BUILD)/fuzz/fuzz_jinja
	@mkdir -p $(BUILD)/fuzz/corpus-jinja
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 -rss_limit_mb=1024 -artifact_prefix=fuzz/ \
	  $(BUILD)/fuzz/corpus-jinja fuzz/corpus/jinja
fuzz: fuzz-jinja

$(BUILD)/fuzz/replay_jinja: $(BUILD)/obj/fuzz/replay_jinja.o $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)
$(BUILD)/obj/fuzz/replay_jinja.o: fuzz/fuzz_jinja.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DHR_FUZZ_REPLAY -MMD -MP -c $< -o $@
-include $(BUILD)/obj/fuzz/replay_jinja.d

test-jinja-corpus: $(BUILD)/fuzz/replay_jinja
	@echo "== $<"; $< $(JINJA_CORPUS)
TEST_TARGETS += test-jinja-corpus
