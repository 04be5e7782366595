# libFuzzer targets: each fuzz/fuzz_NAME.c becomes build-fuzz/fuzz_NAME, linked
# with a libhearth built by clang with ASan + UBSan + fuzzer coverage.
#   make fuzz           fuzz each target FUZZ_SECONDS (60) from fuzz/corpus/NAME (+ FUZZ_EXTRA_NAME);
#                       new inputs go to build-fuzz/corpus-NAME, crashes to fuzz/crash-*
#   make fuzz-regress   (part of make test) run each target once on every committed input
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_LIB_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
# Inputs besides fuzz/corpus/NAME that a target must survive.
FUZZ_EXTRA_gguf := tests/data/gguf-corrupt

.PHONY: fuzz fuzz-lib fuzz-regress
fuzz-lib:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) SAN= CFLAGS="$(FUZZ_LIB_FLAGS)" LDFLAGS= \
	  $(FUZZ_BUILD)/libhearth.a

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz-lib
	$(FUZZ_CC) -std=c17 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	  -o $@ $< $(FUZZ_BUILD)/libhearth.a $(LDLIBS_ALL)

fuzz: $(FUZZ_BIN)
	@set -e; $(foreach n,$(FUZZ_NAMES), \
	  mkdir -p $(FUZZ_BUILD)/corpus-$(n); echo "== fuzz_$(n) for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz_$(n) -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=fuzz/ \
	    $(if $(wildcard fuzz/$(n).dict),-dict=fuzz/$(n).dict) $(FUZZ_BUILD)/corpus-$(n) fuzz/corpus/$(n) $(FUZZ_EXTRA_$(n));)

# Each committed input once (file arguments: run, never mutate).
fuzz-regress: $(FUZZ_BIN)
	@set -e; $(foreach n,$(FUZZ_NAMES), \
	  files=$$(find fuzz/corpus/$(n) $(FUZZ_EXTRA_$(n)) -type f | sort); \
	  echo "== fuzz_$(n) on $$(echo "$$files" | wc -l) inputs"; \
	  $(FUZZ_BUILD)/fuzz_$(n) $$files > $(FUZZ_BUILD)/regress-$(n).log 2>&1 || \
	    { tail -n 40 $(FUZZ_BUILD)/regress-$(n).log; exit 1; };)
TEST_TARGETS += fuzz-regress
