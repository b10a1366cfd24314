# Skinny: a thin facade. `make` builds, `make test` runs every tier.
CC ?= cc
LUA_CFLAGS := $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIBS := $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
        -Wmissing-prototypes -Werror -Wno-format-truncation
OPT ?= -O2 -g
SAN ?=
CFLAGS_ALL := $(WARN) $(OPT) $(SAN) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
              -fPIC -Iruntime/include -Iruntime $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)
B := build

CORE_SRC := $(wildcard runtime/core/*.c)
STORE_SRC := $(wildcard runtime/store/*.c)
SIM_SRC := $(wildcard runtime/sim/*.c)
EXPLORE_SRC := $(wildcard runtime/explore/*.c)
NET_SRC := $(wildcard runtime/net/*.c)
BIND_SRC := $(wildcard bindings/*.c)
LIB_SRC := $(CORE_SRC) $(STORE_SRC) $(SIM_SRC) $(EXPLORE_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
BIND_OBJ := $(BIND_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c tests/sim/*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(B)/%)

.PHONY: all deps test test-c test-spec e2e check asan demo clean deps-check fuzz bench lint \
        install uninstall man-check
all: $(B)/libskinny.a $(B)/skinny/core.so $(UNIT_BIN)

deps:
	@sh tools/setup.sh

$(B)/%.o: %.c $(wildcard runtime/include/*.h runtime/*/*.h bindings/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/bindings/%.o: bindings/%.c $(wildcard runtime/include/*.h runtime/*/*.h bindings/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LUA_CFLAGS) -Iruntime -c $< -o $@

$(B)/libskinny.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The `skinny.core` Lua module: the simulator and the Lua strategy.
$(B)/skinny/core.so: $(BIND_OBJ) $(B)/runtime/net/auth.o $(B)/libskinny.a
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(BIND_OBJ) $(B)/runtime/net/auth.o $(B)/libskinny.a $(LDFLAGS_ALL) $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium) -lm

$(B)/tests/%: tests/%.c $(B)/libskinny.a $(wildcard tests/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-conversion -Iruntime -Itests/lib $< $(B)/libskinny.a -o $@ $(LDFLAGS_ALL) -lm

test: all
	@sh tools/test.sh

test-c: $(UNIT_BIN)
	@sh tools/test.sh c

test-spec: all
	@sh tools/test.sh spec

# The suite under the sanitizers, then about 20000 runs of each fuzz target
# (make fuzz-short; make fuzz runs each for 60 s: tests/fuzz/fuzz.mk).
asan:
	$(MAKE) B=build-asan OPT="-O1 -g" SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	SKINNY_BUILD=build-asan SKINNY_ASAN_PRELOAD=$$($(CC) -print-file-name=libasan.so) sh tools/test.sh
	$(MAKE) -s fuzz-short

demo: all
	@bin/skinny run scripts/experiments/basic.lua --seed 7

deps-check:
	@sh tools/deps-check.sh

# Lua lint (Debian package lua-check).
lint:
	@command -v luacheck >/dev/null || { echo "lint: install lua-check"; exit 1; }
	luacheck --no-color -q scripts spec bin/skinny tests/man

check: deps-check lint test

clean:
	rm -rf build build-asan

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the programs, the scripts
# (PREFIX/share/skinny/scripts), the man pages and the systemd unit; the
# layout and the list uninstall reads are described in tools/install.sh.
# UNIT_IN: the unit template (@BINDIR@ becomes PREFIX/bin).
PREFIX ?= /usr/local
DESTDIR ?=
UNIT_IN ?= deploy/skinnyd@.service.in
install: all
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" B="$(B)" UNIT_IN="$(UNIT_IN)" sh tools/install.sh install

uninstall:
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" sh tools/install.sh uninstall

# The man pages (doc/man/) render without warnings and name every flag the
# programs' --help does, and no other (the `man` tier of make test).
man-check: all
	@sh tools/test.sh man

# Fragments owned by other parts of the tree.
-include tests/fuzz/fuzz.mk
-include runtime/net/net.mk
-include scripts/skinny/render.mk
