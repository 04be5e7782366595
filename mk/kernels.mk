# Kernels: the plain-C kernel test (native, and cross-compiled for aarch64 and
# run under qemu), the kernel benchmark, and per-file ISA flags.

# The base AVX-512 kernels must not contain VNNI instructions (compilers fuse
# vpmaddwd+vpaddd into vpdpwssd when allowed); VNNI code lives in *_vnni_avx512.c.
$(BUILD)/obj/src/kernels/vec_avx512.o: ISA_AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c -mavx2
$(BUILD)/obj/src/kernels/act_avx512.o: ISA_AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c -mavx2
# Likewise the base NEON kernels must not use the dot-product extension.
$(BUILD)/obj/src/kernels/vec_neon.o: ISA_NEON_FLAGS := -march=armv8-a

KERNELS_TEST := $(BUILD)/tests/test_kernels
$(KERNELS_TEST): $(BUILD)/obj/tests/kernels/test_kernels.o $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)

.PHONY: test-kernels test-neon bench-kernels
test-kernels: $(KERNELS_TEST)
	@echo "== $<"; $<
TEST_TARGETS += test-kernels

# aarch64 cross build of the kernels and their test, run under qemu: once with
# the best ISA qemu offers (neon-dotprod) and once forced to plain NEON.
NEON_CC ?= aarch64-linux-gnu-gcc
NEON_QEMU ?= qemu-aarch64
NEON_BUILD := build-neon
NEON_SRC := $(filter-out %_avx2.c %_avx512.c %_amx.c,$(sort $(wildcard src/common/*.c src/tensor/*.c src/kernels/*.c)))
NEON_OBJ := $(NEON_SRC:%.c=$(NEON_BUILD)/obj/%.o)
NEON_CFLAGS := -std=c17 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc
NEON_HAVE := $(shell command -v $(NEON_CC) >/dev/null && command -v $(NEON_QEMU) >/dev/null && echo yes)

$(NEON_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(NEON_CC) $(NEON_CFLAGS) $(if $(filter %_neon.c,$<),$(if $(filter %/vec_neon.c,$<),-march=armv8-a,$(ISA_NEON_FLAGS))) -MMD -MP -c $< -o $@

$(NEON_BUILD)/test_kernels: $(NEON_OBJ) $(NEON_BUILD)/obj/tests/kernels/test_kernels.o
	$(NEON_CC) -static -o $@ $^ -lm

ifeq ($(NEON_HAVE),yes)
test-neon: $(NEON_BUILD)/test_kernels
	@echo "== $< (qemu-aarch64 -cpu max)"; $(NEON_QEMU) -cpu max $<
	@echo "== $< (HEARTH_ISA=neon)"; HEARTH_ISA=neon $(NEON_QEMU) -cpu max $<
else
test-neon:
	@echo "SKIP test-neon: $(NEON_CC) or $(NEON_QEMU) not installed"
endif
TEST_TARGETS += test-neon

$(BUILD)/bench_kernels: $(BUILD)/obj/bench/bench_kernels.o $(BUILD)/libhearth.a
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)
bench-kernels: $(BUILD)/bench_kernels
	$<
BENCH_TARGETS += bench-kernels

-include $(BUILD)/obj/tests/kernels/test_kernels.d $(BUILD)/obj/bench/bench_kernels.d
-include $(NEON_OBJ:.o=.d) $(NEON_BUILD)/obj/tests/kernels/test_kernels.d
