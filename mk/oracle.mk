# Benchmarks of the oracle/bench module: `make bench` runs bench/run.sh with the
# built binaries (set LLAMA_BENCH=/path/to/llama-bench to compare with llama.cpp).
.PHONY: bench-hearth
BENCH_TARGETS += bench-hearth
bench-hearth: all
	BUILD=$(CURDIR)/$(BUILD) HEARTH=$(CURDIR)/$(BUILD)/hearth bash bench/run.sh
