# GGUF fuzzing: fuzz/fuzz_gguf.c becomes build-fuzz/fuzz_gguf, linked with a
# libhearth built by clang with ASan + UBSan + fuzzer coverage (in build-fuzz/).
#   make fuzz           (with the other fuzz-* targets) fuzz-gguf for FUZZ_SECONDS (60) from
#                       fuzz/corpus/gguf and the corrupt corpus; new inputs go to
#                       build-fuzz/corpus-gguf, crashes to fuzz/crash-*
#   make fuzz-gguf-regress   (part of make test) every committed input once
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_LIB_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
GGUF_FUZZ_INPUTS := fuzz/corpus/gguf tests/data/gguf-corrupt

.PHONY: fuzz-lib fuzz-gguf fuzz-gguf-regress
fuzz-lib:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) SAN= CFLAGS="$(FUZZ_LIB_FLAGS)" LDFLAGS= \
	  $(FUZZ_BUILD)/libhearth.a

$(FUZZ_BUILD)/fuzz_gguf: fuzz/fuzz_gguf.c fuzz-lib
	$(FUZZ_CC) -std=c17 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	  -o $@ $< $(FUZZ_BUILD)/libhearth.a $(LDLIBS_ALL)

fuzz-gguf: $(FUZZ_BUILD)/fuzz_gguf
	@mkdir -p $(FUZZ_BUILD)/corpus-gguf
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=fuzz/ -dict=fuzz/gguf.dict \
	  $(FUZZ_BUILD)/corpus-gguf $(GGUF_FUZZ_INPUTS)
fuzz: fuzz-gguf

# Each committed input once (file arguments: run, never mutate).
fuzz-gguf-regress: $(FUZZ_BUILD)/fuzz_gguf
	@files=$$(find $(GGUF_FUZZ_INPUTS) -type f | sort); \
	echo "== $< on $$(echo "$$files" | wc -l) inputs"; \
	$< $$files > $(FUZZ_BUILD)/regress-gguf.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/regress-gguf.log; exit 1; }
TEST_TARGETS += fuzz-gguf-regress
