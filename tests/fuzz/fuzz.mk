# tests/fuzz/fuzz.mk - `make fuzz`: libFuzzer on the frame decoder and the
# nodes behind it (tests/fuzz/fuzz_decode.c), for a bounded time.
#
# Included by the top-level Makefile, or standalone from the repository root:
#     make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=20
# Knobs: FUZZ_SECONDS (run time), FUZZ_B (build dir), FUZZ_CC (a clang with
# libFuzzer), FUZZ_MAX_LEN (largest input), FUZZ_ARGS (more libFuzzer flags).
# The seed corpus is generated into $(FUZZ_B)/corpus by the target's helper
# mode, and the fuzzer adds what it finds there. A crash leaves its input as
# $(FUZZ_B)/crash-*; replay it with `$(FUZZ_B)/fuzz_seed FILE`.
# The last line is "N passed, N failed", like every test target.

sk_fuzz_saved_goal := $(.DEFAULT_GOAL)

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_B ?= build-fuzz
FUZZ_MAX_LEN ?= 10000
FUZZ_ARGS ?=
FUZZ_WARN ?= -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Werror
FUZZ_CFLAGS ?= $(FUZZ_WARN) -g -O1 -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L \
               -D_DEFAULT_SOURCE -Iruntime/include -Iruntime
FUZZ_SAN ?= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CORE_SRC ?= $(wildcard runtime/core/*.c)
FUZZ_DEPS := tests/fuzz/fuzz_decode.c $(FUZZ_CORE_SRC) \
             $(wildcard runtime/include/*.h runtime/core/*.h)

$(FUZZ_B)/fuzz_decode: $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) tests/fuzz/fuzz_decode.c $(FUZZ_CORE_SRC) -o $@

# The same file as a plain program: writes the seeds, replays inputs.
$(FUZZ_B)/fuzz_seed: $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=address,undefined -DSK_FUZZ_MAIN \
		tests/fuzz/fuzz_decode.c $(FUZZ_CORE_SRC) -o $@

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_B)/fuzz_decode $(FUZZ_B)/fuzz_seed

fuzz: fuzz-build
	@mkdir -p $(FUZZ_B)/corpus
	$(FUZZ_B)/fuzz_seed --corpus $(FUZZ_B)/corpus
	$(FUZZ_B)/fuzz_seed $(FUZZ_B)/corpus/* >/dev/null
	@if $(FUZZ_B)/fuzz_decode -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
		-artifact_prefix=$(FUZZ_B)/ -print_final_stats=1 $(FUZZ_ARGS) $(FUZZ_B)/corpus; then \
		echo "1 passed, 0 failed"; \
	else \
		echo "fuzz: crash input kept as $(FUZZ_B)/crash-* (replay: $(FUZZ_B)/fuzz_seed FILE)"; \
		echo "0 passed, 1 failed"; exit 1; \
	fi

# Standalone, `fuzz` is the default goal; included, this fragment leaves
# the including Makefile's default goal alone.
ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := fuzz
else
.DEFAULT_GOAL := $(sk_fuzz_saved_goal)
endif
