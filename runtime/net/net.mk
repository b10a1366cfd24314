# net.mk - the real daemons: skinnyd, skinnyctl, and the e2e tier.
UV_CFLAGS := $(shell pkg-config --cflags libuv 2>/dev/null)
UV_LIBS := $(shell pkg-config --libs libuv 2>/dev/null || echo -luv)
# libsodium: authentication (runtime/net/auth.c, spec/PROTOCOL.md 11)
SODIUM_LIBS := $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)
AUTH_OBJ := $(B)/runtime/net/auth.o
NET_OBJ := $(NET_SRC:%.c=$(B)/%.o)
E2E_SRC := $(wildcard tests/e2e/*.c)
E2E_BIN := $(E2E_SRC:%.c=$(B)/%)
NEMESIS_SRC := $(wildcard tests/nemesis/*.c)
NEMESIS_BIN := $(NEMESIS_SRC:%.c=$(B)/%)
CLIENT_OBJ := $(B)/runtime/cmd/skclient.o $(AUTH_OBJ)
NET_BINS := $(B)/skinnyd $(B)/skinnyctl $(B)/skinny-lab $(E2E_BIN) $(NEMESIS_BIN)

all: $(NET_BINS)

$(B)/runtime/net/%.o: runtime/net/%.c $(wildcard runtime/include/*.h runtime/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(UV_CFLAGS) -c $< -o $@

$(B)/runtime/cmd/skinnyd.o: runtime/cmd/skinnyd.c $(wildcard runtime/include/*.h runtime/*/*.h bindings/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(UV_CFLAGS) $(LUA_CFLAGS) -Ibindings -c $< -o $@

$(B)/skinnyd: $(B)/runtime/cmd/skinnyd.o $(B)/runtime/cmd/skinnyd_config.o $(NET_OBJ) $(B)/bindings/lua_strategy.o $(B)/bindings/lua_pattern.o $(B)/bindings/lua_value.o $(B)/bindings/trace_fmt.o $(B)/libskinny.a
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(UV_LIBS) $(LUA_LIBS) $(SODIUM_LIBS) -lm

# The config parser's unit test links the parser alone (no libuv, no Lua).
$(B)/tests/unit/test_config: tests/unit/test_config.c $(B)/runtime/cmd/skinnyd_config.o $(wildcard tests/lib/*.h runtime/cmd/*.h runtime/include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-conversion -Iruntime -Itests/lib $< $(B)/runtime/cmd/skinnyd_config.o -o $@ $(LDFLAGS_ALL)

# The auth unit test links auth.c alone (libsodium, no libuv).
$(B)/tests/unit/test_auth: tests/unit/test_auth.c $(AUTH_OBJ) $(B)/libskinny.a $(wildcard tests/lib/*.h runtime/net/*.h runtime/include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-conversion -Iruntime -Itests/lib $< $(AUTH_OBJ) $(B)/libskinny.a -o $@ $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

$(B)/skinnyctl: runtime/cmd/skinnyctl.c $(CLIENT_OBJ) $(B)/libskinny.a $(wildcard runtime/include/*.h runtime/net/*.h runtime/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(CLIENT_OBJ) $(B)/libskinny.a $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

$(B)/skinny-lab: runtime/cmd/skinny_lab.c $(CLIENT_OBJ) $(B)/libskinny.a $(wildcard runtime/include/*.h runtime/net/*.h runtime/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(CLIENT_OBJ) $(B)/libskinny.a $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

$(B)/tests/e2e/%: tests/e2e/%.c $(CLIENT_OBJ) $(B)/libskinny.a $(wildcard tests/lib/*.h tests/e2e/*.h runtime/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-conversion -Itests/lib -Itests/e2e $< $(CLIENT_OBJ) $(B)/libskinny.a -o $@ $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

# The nemesis tier: `skinny torture` runs against real daemons, checked.
$(B)/tests/nemesis/%: tests/nemesis/%.c $(CLIENT_OBJ) $(B)/libskinny.a $(wildcard tests/lib/*.h runtime/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-conversion -Itests/lib $< $(CLIENT_OBJ) $(B)/libskinny.a -o $@ $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

e2e: $(NET_BINS)
	@sh tools/test.sh e2e

.PHONY: nemesis torture
nemesis: $(NET_BINS) $(B)/skinny/core.so
	@sh tools/test.sh nemesis

# A long nemesis run by hand: make torture DURATION=10m (spec/DAEMON.md).
DURATION ?= 60s
torture: $(NET_BINS) $(B)/skinny/core.so
	@SKINNY_BUILD=$(B) bin/skinny torture --duration $(DURATION) --clients 6 --locks 3 $(TORTURE_ARGS)

# The daemon benchmark (numbers printed, never asserted): bench/README-daemon.md
$(B)/bench/daemon_bench: bench/daemon_bench.c $(CLIENT_OBJ) $(B)/libskinny.a $(wildcard runtime/include/*.h runtime/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(CLIENT_OBJ) $(B)/libskinny.a $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

.PHONY: bench-daemon
bench-daemon: $(B)/skinnyd $(B)/skinny-lab $(B)/bench/daemon_bench
	@$(B)/bench/daemon_bench $(BENCH_ARGS)

# `make bench` / `make bench-quick`: Skinny side by side with etcd and with
# the physical limit of this machine (bench/README.md). Never part of `make test`.
# etcd's driver is Go, built offline against Debian's packaged etcd sources.
$(B)/bench/skbench: bench/skbench.c $(CLIENT_OBJ) $(B)/libskinny.a $(wildcard runtime/include/*.h runtime/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(CLIENT_OBJ) $(B)/libskinny.a $(LDFLAGS_ALL) $(SODIUM_LIBS) -lm

$(B)/bench/etcdbench: bench/etcd/etcdbench.go
	@sh bench/deps.sh
	@mkdir -p $(dir $@)
	GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(abspath $(B))/bench/gocache \
	  go build -o $@ bench/etcd/etcdbench.go

BENCH_BINS := $(B)/skinnyd $(B)/skinnyctl $(B)/skinny-lab $(B)/skinny/core.so $(B)/bench/skbench $(B)/bench/etcdbench

.PHONY: bench bench-quick
bench: $(BENCH_BINS)
	@sh bench/deps.sh
	@lua5.4 bench/bench.lua --build $(B) $(BENCH_ARGS)

bench-quick: $(BENCH_BINS)
	@sh bench/deps.sh
	@lua5.4 bench/bench.lua --build $(B) --quick $(BENCH_ARGS)
	@SKINNY_BUILD=$(B) lua5.4 bench/sweep_bench.lua --reps 3
	@SKINNY_BUILD=$(B) lua5.4 bench/find_bench.lua --quick

# Exploration and shrinking figures (about a minute; --quick: 20 s): bench/README.md.
.PHONY: bench-find
bench-find: $(B)/skinny/core.so
	@SKINNY_BUILD=$(B) lua5.4 bench/find_bench.lua

# Sweep throughput alone (about 15 s): bench/README.md, "Sweeps".
.PHONY: bench-sweep
bench-sweep: $(B)/skinny/core.so
	@SKINNY_BUILD=$(B) lua5.4 bench/sweep_bench.lua --reps 5
