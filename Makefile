# hearth build. `make` builds build/hearth, build/libhearth.a and build/libhearth.so.
# Sources are found by wildcard, so adding a file needs no edit here; a module that
# needs its own targets adds a fragment mk/NAME.mk (included below).
#
#   make [BUILD=dir] [CC=clang]   build
#   make test                     every test (unit, integration, oracle, extra TEST_TARGETS)
#   make sanitize                 the same suite under ASan + UBSan (in build-san/)
#   make bench                    benchmarks (timings only, never pass/fail)
#   make fuzz                     libFuzzer targets (clang)

BUILD ?= build
CC ?= cc
ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)

OPT ?= -O2
CFLAGS_BASE := -std=c17 $(OPT) -g -Wall -Wextra -Werror -fPIC -pthread -D_GNU_SOURCE \
               -Iinclude -Isrc
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_SAN := -fsanitize=address,undefined
endif
CFLAGS_ALL := $(CFLAGS_BASE) $(CFLAGS)
LDLIBS_ALL := -lpcre2-8 -lutf8proc -ljansson -ledit -lmicrohttpd -lcurl -lsqlite3 -lm -pthread $(LDLIBS)
LDFLAGS_ALL := $(LDFLAGS_SAN) $(LDFLAGS)

# Per-ISA kernel files: *_avx2.c, *_avx512.c, *_amx.c only on x86-64; *_neon.c only on aarch64.
ISA_AVX2_FLAGS := -mavx2 -mfma -mf16c
ISA_AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mfma -mf16c -mavx2
ISA_AMX_FLAGS := $(ISA_AVX512_FLAGS) -mamx-tile -mamx-int8
ISA_NEON_FLAGS := -march=armv8.2-a+dotprod+fp16

ALL_LIB_SRC := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
ifeq ($(ARCH),x86_64)
LIB_SRC := $(filter-out %_neon.c,$(ALL_LIB_SRC))
else ifeq ($(ARCH),aarch64)
LIB_SRC := $(filter-out %_avx2.c %_avx512.c %_amx.c,$(ALL_LIB_SRC))
else
LIB_SRC := $(filter-out %_neon.c %_avx2.c %_avx512.c %_amx.c,$(ALL_LIB_SRC))
endif
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/%)

TEST_TARGETS :=
BENCH_TARGETS :=

.PHONY: all test unit integration sanitize bench fuzz clean
.SECONDARY:
all: $(BUILD)/hearth $(BUILD)/libhearth.a $(BUILD)/libhearth.so $(TOOL_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(ISA_AVX2_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(ISA_AVX512_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_amx.o: %_amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(ISA_AMX_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_neon.o: %_neon.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(ISA_NEON_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libhearth.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libhearth.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/hearth: $(CLI_OBJ) $(BUILD)/libhearth.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(BUILD)/libhearth.a $(LDLIBS_ALL)

$(BUILD)/%: $(BUILD)/obj/tools/%.o $(BUILD)/libhearth.a
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libhearth.a -lcriterion $(LDLIBS_ALL)

# Unit tests (Criterion), run from the repository root so ../shared resolves.
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2; done

# Integration tests: every tests/integration/*.sh, given the built binaries.
integration: all
	@set -e; for t in $(sort $(wildcard tests/integration/*.sh)); do \
	  echo "== $$t"; HEARTH=$(CURDIR)/$(BUILD)/hearth BUILD=$(CURDIR)/$(BUILD) bash $$t; done

-include $(sort $(wildcard mk/*.mk))

test: unit integration $(TEST_TARGETS)
	@echo "all tests passed ($(BUILD))"

sanitize:
	$(MAKE) BUILD=build-san SAN=1 test

bench: $(BENCH_TARGETS)

clean:
	rm -rf build build-*

# Header dependencies of every object the build makes (a test or tool built
# against an older header would otherwise keep its stale object).
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/obj/%.d) $(TOOL_SRC:%.c=$(BUILD)/obj/%.d) \
  $(wildcard $(BUILD)/obj/tests/*/*.d $(BUILD)/obj/bench/*.d $(BUILD)/obj/fuzz/*.d)
