# tests/fuzz/fuzz.mk - fuzzing with libFuzzer (clang), and the replay of
# the committed regression inputs in the C test tier (any compiler).
#
# Included by the top-level Makefile, or standalone from the repository root:
#     make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=20
#
# Targets: one file tests/fuzz/fuzz_NAME.c each, listed in FUZZ_TARGETS:
#   decode  frames through three core nodes with the C default strategy
#   store   the file store: log replay, torn tails, append, compaction
#   config  skinnyd's JSON config parser (runtime/cmd/skinnyd_config.c)
#   value   register values through the core's and the Lua binding's readers
#   lua     frames through three core nodes running the shipped Lua scripts
#   pattern the sandbox's pattern functions against Lua's own (same results)
#
#   make fuzz                    every target for FUZZ_SECONDS each, one after
#                                another (default 60 s each: about 6 minutes for the six)
#   make fuzz FUZZ_TARGET=store  one target (or a space-separated list)
#   make fuzz FUZZ_RUNS=1000000  that many executions per target instead of a
#                                time bound (FUZZ_MAX_SECONDS, if set, caps it)
#   make fuzz-short              FUZZ_SHORT_RUNS executions (20000), at most
#                                FUZZ_SHORT_SECONDS (10 s), per target: `make
#                                asan` runs it
#   make fuzz-build              build only; make fuzz-check: is libFuzzer there?
#
# `make fuzz` prints one line per target (executions, exec/s, libFuzzer's
# coverage: `cov` edges and `ft` features, corpus size, crashes) and ends
# with "N passed, N failed", one per target (tests/fuzz/run.sh).
#
# Other knobs: FUZZ_B (build dir), FUZZ_CC (a clang with libFuzzer),
# FUZZ_MAX_LEN (largest input; FUZZ_MAX_LEN_NAME per target), FUZZ_TIMEOUT
# (seconds one input may take before it counts as a hang), FUZZ_ARGS (more
# libFuzzer flags). A target with tests/fuzz/fuzz_NAME.dict gets it as its
# dictionary.
#
# Each target is built twice by clang, both with ASan and UBSan:
#   $(FUZZ_B)/fuzz_NAME        the libFuzzer binary
#   $(FUZZ_B)/fuzz_NAME_seed   the same file with -DSK_FUZZ_MAIN, a plain
#                              program (tests/fuzz/fuzz_main.h): `--corpus DIR`
#                              writes the seeds, `FILE|DIR...` replays inputs
# and once more by `make all` with the project's compiler and flags:
#   $(B)/tests/fuzz/fuzz_NAME_replay   the plain program again; the C test
#                              tier (tools/test.sh c) replays the seeds and
#                              tests/fuzz/regress/NAME/ through it, one test
#                              per input, so the regression corpus needs no
#                              clang (and runs under the sanitizers in `make asan`)
#
# The corpus grows in $(FUZZ_B)/corpus/NAME (seeds written there first); the
# regression inputs are read as a second corpus. A crash leaves its input in
# $(FUZZ_B)/artifacts/NAME/; replay it with $(FUZZ_B)/fuzz_NAME_seed FILE,
# then commit it to tests/fuzz/regress/NAME/ under a name saying what it shows.
#
# Adding a target: write tests/fuzz/fuzz_NAME.c (end it with
# `#ifdef SK_FUZZ_MAIN ... #include "fuzz_main.h" #endif`, see fuzz_decode.c),
# then add a block ABOVE the `foreach` line below:
#
#     FUZZ_TARGETS += value
#     FUZZ_SRC_value := $(FUZZ_CORE_SRC) bindings/lua_value.c
#     FUZZ_CFLAGS_value := $(LUA_CFLAGS) -Ibindings
#     FUZZ_LIBS_value := $(LUA_LIBS) -lm
#
# FUZZ_SRC_NAME: the .c files linked with it (the replay build links their
# objects from $(B), which the top-level Makefile's rules compile: bindings/
# with the Lua flags). FUZZ_CFLAGS_NAME, FUZZ_LIBS_NAME: extra compile flags
# and libraries, for all three builds. Optional: FUZZ_ARGS_NAME (libFuzzer
# flags for this target), FUZZ_MAX_LEN_NAME.

sk_fuzz_saved_goal := $(.DEFAULT_GOAL)

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_MAX_SECONDS ?=
FUZZ_SHORT_RUNS ?= 20000
FUZZ_SHORT_SECONDS ?= 10
FUZZ_TARGET ?=
FUZZ_B ?= build-fuzz
FUZZ_MAX_LEN ?= 10000
FUZZ_TIMEOUT ?= 10
FUZZ_ARGS ?=
FUZZ_WARN ?= -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Werror
FUZZ_CFLAGS ?= $(FUZZ_WARN) -g -O1 -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L \
               -D_DEFAULT_SOURCE -Iruntime/include -Iruntime -Itests/fuzz
FUZZ_SAN ?= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_PLAIN_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CORE_SRC ?= $(wildcard runtime/core/*.c)
FUZZ_HDRS = tests/fuzz/fuzz_main.h tests/fuzz/fuzz_decode.c $(wildcard runtime/include/*.h runtime/*/*.h bindings/*.h)
# standalone, the top-level Makefile's Lua flags are not there
LUA_CFLAGS ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIBS ?= $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)

FUZZ_TARGETS := decode store config
FUZZ_SRC_decode := $(FUZZ_CORE_SRC)

FUZZ_SRC_store := $(FUZZ_CORE_SRC) runtime/store/filestore.c
# no input may make the store allocate much: loading reads a batch at a time
FUZZ_ARGS_store := -malloc_limit_mb=128

FUZZ_SRC_config := runtime/cmd/skinnyd_config.c

# register values through the core's and the Lua binding's readers
FUZZ_TARGETS += value
FUZZ_SRC_value := $(FUZZ_CORE_SRC) bindings/lua_value.c
FUZZ_CFLAGS_value := $(LUA_CFLAGS) -Ibindings
FUZZ_LIBS_value := $(LUA_LIBS) -lm

# frames through nodes running the shipped Lua scripts (includes fuzz_decode.c)
FUZZ_TARGETS += lua
FUZZ_SRC_lua := $(FUZZ_CORE_SRC) bindings/lua_strategy.c bindings/lua_value.c bindings/lua_pattern.c
FUZZ_CFLAGS_lua := $(LUA_CFLAGS) -Ibindings
FUZZ_LIBS_lua := $(LUA_LIBS) -lm

# Skinny's bounded pattern matcher against Lua's string library
FUZZ_TARGETS += pattern
FUZZ_SRC_pattern := bindings/lua_pattern.c
FUZZ_CFLAGS_pattern := $(LUA_CFLAGS) -Ibindings
FUZZ_LIBS_pattern := $(LUA_LIBS) -lm

# (add targets above this line)
define sk_fuzz_target
$(FUZZ_B)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRC_$(1)) $$(FUZZ_HDRS) | fuzz-check
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_CFLAGS_$(1)) $$(FUZZ_SAN) $$< $$(FUZZ_SRC_$(1)) \
		-o $$@ $$(FUZZ_LIBS_$(1))

$(FUZZ_B)/fuzz_$(1)_seed: tests/fuzz/fuzz_$(1).c $$(FUZZ_SRC_$(1)) $$(FUZZ_HDRS) | fuzz-check
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_CFLAGS_$(1)) $$(FUZZ_PLAIN_SAN) -DSK_FUZZ_MAIN $$< \
		$$(FUZZ_SRC_$(1)) -o $$@ $$(FUZZ_LIBS_$(1))

ifdef CFLAGS_ALL
$(B)/tests/fuzz/fuzz_$(1)_replay: tests/fuzz/fuzz_$(1).c $$(FUZZ_SRC_$(1):%.c=$(B)/%.o) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_ALL) -Itests/fuzz -DSK_FUZZ_MAIN $$(FUZZ_CFLAGS_$(1)) $$< \
		$$(FUZZ_SRC_$(1):%.c=$(B)/%.o) -o $$@ $$(LDFLAGS_ALL) $$(FUZZ_LIBS_$(1)) -lm
endif
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call sk_fuzz_target,$(t))))

FUZZ_RUN := $(if $(strip $(FUZZ_TARGET)),$(FUZZ_TARGET),$(FUZZ_TARGETS))
FUZZ_BINS := $(foreach t,$(FUZZ_RUN),$(FUZZ_B)/fuzz_$(t) $(FUZZ_B)/fuzz_$(t)_seed)

# Included by the top-level Makefile: `make all` builds the replay programs.
ifdef CFLAGS_ALL
all: $(foreach t,$(FUZZ_TARGETS),$(B)/tests/fuzz/fuzz_$(t)_replay)
endif

.PHONY: fuzz fuzz-short fuzz-build fuzz-check

# Can FUZZ_CC build a libFuzzer binary? Otherwise say what to install.
fuzz-check:
	@mkdir -p $(FUZZ_B)
	@printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>$(FUZZ_B)/check.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(FUZZ_B)/check.c -o $(FUZZ_B)/check \
		>$(FUZZ_B)/check.log 2>&1 || { \
		echo "fuzz: '$(FUZZ_CC)' cannot build libFuzzer targets (-fsanitize=fuzzer): $$(head -n 1 $(FUZZ_B)/check.log)"; \
		echo "fuzz: install clang and libclang-rt-14-dev: sh tools/setup.sh dev"; \
		exit 1; }

fuzz-build: $(FUZZ_BINS)

FUZZ_ENV = FUZZ_B='$(FUZZ_B)' FUZZ_MAX_LEN='$(FUZZ_MAX_LEN)' FUZZ_TIMEOUT='$(FUZZ_TIMEOUT)' \
           FUZZ_ARGS='$(FUZZ_ARGS)' \
           $(foreach t,$(FUZZ_RUN),$(if $(FUZZ_MAX_LEN_$(t)),FUZZ_MAX_LEN_$(t)='$(FUZZ_MAX_LEN_$(t))') \
             $(if $(FUZZ_ARGS_$(t)),FUZZ_ARGS_$(t)='$(FUZZ_ARGS_$(t))'))

fuzz: fuzz-build
	@$(FUZZ_ENV) FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_RUNS='$(FUZZ_RUNS)' \
		FUZZ_MAX_SECONDS='$(FUZZ_MAX_SECONDS)' sh tests/fuzz/run.sh $(FUZZ_RUN)

fuzz-short: fuzz-build
	@$(FUZZ_ENV) FUZZ_RUNS='$(FUZZ_SHORT_RUNS)' FUZZ_MAX_SECONDS='$(FUZZ_SHORT_SECONDS)' \
		sh tests/fuzz/run.sh $(FUZZ_RUN)

# Standalone, `fuzz` is the default goal; included, this fragment leaves
# the including Makefile's default goal alone.
ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := fuzz
else
.DEFAULT_GOAL := $(sk_fuzz_saved_goal)
endif
