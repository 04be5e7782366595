# Quantizers: the same bytes on every CPU. Builds tests/quants/quants_digest.c
# natively and for aarch64 (run under qemu) and requires identical digests.
QUANTS_CROSS_CC ?= aarch64-linux-gnu-gcc
QUANTS_QEMU ?= qemu-aarch64
QUANTS_ARM := $(BUILD)/aarch64
QUANTS_ARM_SRC := $(sort $(wildcard src/common/*.c src/tensor/*.c)) tests/quants/quants_digest.c
QUANTS_HAVE_CROSS := $(shell command -v $(QUANTS_CROSS_CC) >/dev/null && command -v $(QUANTS_QEMU) >/dev/null && echo yes)

$(BUILD)/quants_digest: $(BUILD)/obj/tests/quants/quants_digest.o $(BUILD)/libhearth.a
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)

$(QUANTS_ARM)/quants_digest: $(QUANTS_ARM_SRC) $(wildcard src/tensor/*.h src/common/*.h)
	@mkdir -p $(dir $@)
	$(QUANTS_CROSS_CC) -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc -static -o $@ $(QUANTS_ARM_SRC) -lm

.PHONY: test-quants-cross
ifeq ($(QUANTS_HAVE_CROSS),yes)
test-quants-cross: $(BUILD)/quants_digest $(QUANTS_ARM)/quants_digest
	@echo "== quantized bytes: x86-64 vs aarch64 (qemu)"
	@$(BUILD)/quants_digest > $(BUILD)/quants_digest.native
	@$(QUANTS_QEMU) $(QUANTS_ARM)/quants_digest > $(QUANTS_ARM)/quants_digest.out
	@diff $(BUILD)/quants_digest.native $(QUANTS_ARM)/quants_digest.out && echo "$$(wc -l < $(QUANTS_ARM)/quants_digest.out) digests identical"
else
test-quants-cross:
	@echo "SKIP test-quants-cross: $(QUANTS_CROSS_CC) or $(QUANTS_QEMU) not installed"
endif
TEST_TARGETS += test-quants-cross

-include $(BUILD)/obj/tests/quants/quants_digest.d
