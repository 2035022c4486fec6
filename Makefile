# evchain — build with `make`; test with `make test` (see README.md).
#
# Everything is built out of tree: objects under $(BUILD), programs in $(BIN).
# libevchain (lib/*.c + the generated protobuf code) is one static library
# that every program and test links.

# This file, for the recursive makes (also when run as `make -f COPY`).
SELF     := $(firstword $(MAKEFILE_LIST))
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

.PHONY: all test unit asan ubsan fuzz fuzz-build fuzz-long analyze clean deps demo \
        crash-test tamper-test wire-test campaigns bench
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

# The README's test command: installs what is missing, builds, runs everything:
# the tests (with the short campaigns: crash, tamper, exhaustion, hostile
# wire), the same under ASan+UBSan+LeakSanitizer, then every fuzz target for
# TEST_FUZZ_SECONDS each with its regression inputs.
TEST_FUZZ_SECONDS ?= 5
test: deps
	@$(MAKE) --no-print-directory -f $(SELF) all
	@rm -f $(BUILD)/summary-*
	@SUMMARY=$(BUILD)/summary-tests BIN=$(BIN) scripts/run-tests.sh $(TESTS)
	@$(MAKE) --no-print-directory -f $(SELF) asan SUMMARY=$(CURDIR)/$(BUILD)/summary-asan
	@$(MAKE) --no-print-directory -f $(SELF) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@cat $(BUILD)/summary-tests $(BUILD)/summary-asan | \
	  awk '{p += $$1; f += $$3} END {printf "total: %d passed, %d failed\n", p, f; exit f != 0}'

# The main job end to end (README "Demo"): installs, builds, runs a deployment.
demo: deps
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory -f $(SELF) all
	@scripts/demo.sh

unit: all
	@SUMMARY=$(SUMMARY) BIN=$(BIN) scripts/run-tests.sh $(TESTS)

# Unit tests under the sanitizers, built apart in build/<san>.
ASAN_DIR ?= build/asan
asan: deps
	@$(MAKE) --no-print-directory -f $(SELF) unit CC=clang BUILD=$(ASAN_DIR) BIN=$(ASAN_DIR)/bin \
	  OPT="-O1 -g -fno-omit-frame-pointer" SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
ubsan: deps
	@$(MAKE) --no-print-directory -f $(SELF) unit CC=clang BUILD=build/ubsan BIN=build/ubsan/bin \
	  OPT="-O1 -g" SAN="-fsanitize=undefined,integer -fno-sanitize=unsigned-integer-overflow,unsigned-shift-base -fno-sanitize-recover=all"

# libFuzzer targets, one per decoder and one for the request handler
# (tests/fuzz/fuzz_*.c), each on its seed corpus with its regression inputs.
FUZZ_SECONDS ?= 15
FUZZ_LONG_SECONDS ?= 300
FUZZ_DIR ?= build/fuzz
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/bin/%)
fuzz-build: deps
	@$(MAKE) --no-print-directory -f $(SELF) $(FUZZ_BIN) CC=clang BUILD=$(FUZZ_DIR) BIN=$(FUZZ_DIR)/bin \
	  OPT="-O1 -g" SAN="-fsanitize=fuzzer-no-link,address,undefined"
# A target may include server or client sources (fuzz_srv.h: server/ops.c).
$(FUZZ_DIR)/bin/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libevchain.a $(wildcard tests/fuzz/*.h) \
    $(wildcard server/*.c server/*.h client/*.c client/*.h tools/*.c tools/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -Wno-missing-prototypes -I$(FUZZ_DIR)/proto -Ilib \
	  -Iclient -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_DIR)/libevchain.a $(LIBS)
fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)
fuzz-long:
	@$(MAKE) --no-print-directory -f $(SELF) fuzz FUZZ_SECONDS=$(FUZZ_LONG_SECONDS)

# The long campaigns (README "Reliability"); `make test` runs each briefly.
CRASH_CYCLES ?= 50
crash-test: all
	@CYCLES=$(CRASH_CYCLES) CRASH_MAX_MS=1500 BIN=$(BIN) scripts/run-tests.sh $(BIN)/tests/test_crash
tamper-test: all
	@TAMPER_ITERS=1000 TAMPER_SERVER=200 BIN=$(BIN) scripts/run-tests.sh $(BIN)/tests/test_tamper
wire-test: all
	@WIRE_TINY=1000000 BIN=$(BIN) scripts/run-tests.sh $(BIN)/tests/test_wire
campaigns: crash-test tamper-test wire-test fuzz-long

# The README's benchmark table: each evchain-bench mode BENCH_RUNS times, medians.
BENCH_RUNS ?= 5
bench: all
	@BIN=$(BIN) scripts/bench.sh $(BENCH_RUNS)

# Static analysis: clang's analyzer over every source; any report fails.
analyze: $(PROTO_H)
	@scripts/analyze.sh $(BUILD)

clean:
	rm -rf build bin
