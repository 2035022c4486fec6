# evchain — build with `make`; test with `make test` (see README.md).
#
# Everything is built out of tree: objects under $(BUILD), programs in $(BIN).
# libevchain (lib/*.c + the generated protobuf code) is one static library
# that every program and test links.

CC       ?= cc
BUILD    ?= build
BIN      ?= bin
SAN      ?=

# OpenSSF compiler hardening guide; -Werror always (CI and developers alike).
HARDEN   = -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection
WARN     = -Wall -Wextra -Wformat=2 -Wshadow -Wconversion -Wstrict-prototypes \
           -Wmissing-prototypes -Werror
OPT      ?= -O2 -g
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -fPIE $(SAN) \
           -I$(BUILD)/proto -Ilib -Iclient $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)
LIBS     = -lssl -lcrypto -lsodium -llmdb -lprotobuf-c -luv -ljansson -lpthread -lm

PROTO_C  = $(BUILD)/proto/evchain.pb-c.c
PROTO_H  = $(BUILD)/proto/evchain.pb-c.h
LIB_SRC  ?= $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/proto/evchain.pb-c.o
LIBA     = $(BUILD)/libevchain.a

# Programs: name and the sources that make it (each directory's own files).
CLIENT_LIB = $(filter-out client/main.c client/cli_%.c,$(wildcard client/*.c))
PROG_evchain-keys   = $(wildcard keys/*.c)
PROG_evchain-verify = $(wildcard tools/verify*.c)
PROG_evchaind       = $(wildcard server/*.c)
PROG_evchain        = $(wildcard client/*.c)
PROG_evchain-witness = $(wildcard tools/witness*.c) $(CLIENT_LIB)
PROG_evchain-bench  = $(wildcard tools/bench*.c) $(CLIENT_LIB)
PROGS    = $(foreach p,evchain-keys evchain-verify evchaind evchain evchain-witness evchain-bench,\
             $(if $(filter-out $(CLIENT_LIB),$(PROG_$(p))),$(BIN)/$(p)))

TEST_SRC = $(wildcard tests/unit/test_*.c)
TESTS    = $(TEST_SRC:tests/unit/%.c=$(BIN)/tests/%)

.PHONY: all test unit asan ubsan fuzz fuzz-build analyze clean deps demo
.SECONDARY:

all: $(PROGS) $(TESTS)

deps:
	@scripts/deps.sh

$(PROTO_C) $(PROTO_H) &: proto/evchain.proto
	@mkdir -p $(BUILD)/proto
	@echo "  PROTOC  $<"
	@protoc-c --proto_path=proto --c_out=$(BUILD)/proto evchain.proto

# Generated code: our warning set minus what protoc-c's output trips.
$(BUILD)/proto/evchain.pb-c.o: $(PROTO_C)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -Wno-conversion -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/%.o: %.c $(PROTO_H) $(wildcard lib/*.h client/*.h server/*.h tools/*.h keys/*.h tests/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

define prog_rule
$(BIN)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(PROG_$(1))) $(LIBA)
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(LIBA) $$(LIBS)
endef
$(foreach p,evchain-keys evchain-verify evchaind evchain evchain-witness evchain-bench,$(eval $(call prog_rule,$(p))))

# Unit/integration tests may use the client library too.
$(TESTS): $(BIN)/tests/%: $(BUILD)/tests/unit/%.o $(CLIENT_LIB:%.c=$(BUILD)/%.o) $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(LIBA) $(LIBS)

# The README's test command: installs what is missing, builds, runs everything.
test: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(BIN) scripts/run-tests.sh $(TESTS)

# The main job end to end (README "Demo"): installs, builds, runs a deployment.
demo: deps
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

unit: all
	@BIN=$(BIN) scripts/run-tests.sh $(TESTS)

# Unit tests under the sanitizers, built apart in build/<san>.
asan: deps
	@$(MAKE) --no-print-directory unit CC=clang BUILD=build/asan BIN=build/asan/bin \
	  OPT="-O1 -g -fno-omit-frame-pointer" SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
ubsan: deps
	@$(MAKE) --no-print-directory unit CC=clang BUILD=build/ubsan BIN=build/ubsan/bin \
	  OPT="-O1 -g" SAN="-fsanitize=undefined,integer -fno-sanitize=unsigned-integer-overflow,unsigned-shift-base -fno-sanitize-recover=all"

# libFuzzer targets, one per decoder (tests/fuzz/fuzz_*.c), run briefly.
FUZZ_SECONDS ?= 15
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/bin/%)
fuzz-build: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN) CC=clang BUILD=build/fuzz BIN=build/fuzz/bin \
	  OPT="-O1 -g" SAN="-fsanitize=fuzzer-no-link,address,undefined"
build/fuzz/bin/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libevchain.a
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -O1 -g -Ibuild/fuzz/proto -Ilib -fsanitize=fuzzer,address,undefined \
	  -o $@ $< build/fuzz/libevchain.a $(LIBS)
fuzz: fuzz-build
	@scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# Static analysis: clang's analyzer over every source; any report fails.
analyze: $(PROTO_H)
	@scripts/analyze.sh $(BUILD)

clean:
	rm -rf build bin
