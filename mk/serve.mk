# hearth serve: the request-body fuzzer, its corpus replay, and the server benchmark.
#
#   make fuzz-request [FUZZ_SECONDS=60]   libFuzzer (clang) on hs_post, seeded by fuzz/corpus/request
#                                         (left unchanged; new inputs go to build-fuzz/corpus-request,
#                                         crashes to fuzz/crash-*)
#   make test-request-corpus              (part of make test) every committed input once, with $(CC)
#   make bench-serve [SERVE_BENCH_ARGS=--quick]   aggregate tok/s and TTFT of 1/4/8 streams
#
# Both fuzz builds need a model with a tokenizer and a chat template: a tiny
# random one is generated from the shared Qwen2 vocabulary (nothing committed).
SERVE_SHARED := $(firstword $(wildcard ../shared /work/shared))
REQUEST_CORPUS := $(sort $(wildcard fuzz/corpus/request/*))

$(BUILD)/fuzz/request-model.gguf: | $(BUILD)/genmodel
	@mkdir -p $(dir $@)
	$(BUILD)/genmodel --arch qwen2 --type q8_0 --vocab $(SERVE_SHARED)/vocab/ggml-vocab-qwen2.gguf -o $@.tmp >/dev/null
	mv $@.tmp $@

# libFuzzer build (fuzz-lib, FUZZ_BUILD, FUZZ_SECONDS come from mk/fuzz.mk).
$(FUZZ_BUILD)/fuzz_request: fuzz/fuzz_request.c fuzz-lib
	$(FUZZ_CC) -std=c17 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	  -o $@ $< $(FUZZ_BUILD)/libhearth.a $(LDLIBS_ALL)

.PHONY: fuzz-request test-request-corpus bench-serve
fuzz-request: $(FUZZ_BUILD)/fuzz_request $(BUILD)/fuzz/request-model.gguf
	@mkdir -p $(FUZZ_BUILD)/corpus-request
	HEARTH_FUZZ_MODEL=$(BUILD)/fuzz/request-model.gguf $< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  -rss_limit_mb=2048 -dict=fuzz/request.dict -artifact_prefix=fuzz/ $(FUZZ_BUILD)/corpus-request fuzz/corpus/request
fuzz: fuzz-request

$(BUILD)/fuzz/replay_request: $(BUILD)/obj/fuzz/replay_request.o $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)
$(BUILD)/obj/fuzz/replay_request.o: fuzz/fuzz_request.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DHR_FUZZ_REPLAY -MMD -MP -c $< -o $@
-include $(BUILD)/obj/fuzz/replay_request.d

test-request-corpus: $(BUILD)/fuzz/replay_request $(BUILD)/fuzz/request-model.gguf
	@echo "== $<"; HEARTH_FUZZ_MODEL=$(BUILD)/fuzz/request-model.gguf $< $(REQUEST_CORPUS)
TEST_TARGETS += test-request-corpus

bench-serve: all
	BUILD=$(CURDIR)/$(BUILD) HEARTH=$(CURDIR)/$(BUILD)/hearth python3 bench/serve_bench.py $(SERVE_BENCH_ARGS)
BENCH_TARGETS += bench-serve
