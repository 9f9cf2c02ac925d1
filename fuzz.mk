# fuzz.mk — the libFuzzer harnesses of fuzz/ (included by the Makefile).
#   make fuzz FUZZ_TIME=60            build with clang and run each harness that long
#   make fuzz FUZZ_NAMES=match        only some harnesses
#   make fuzz FUZZ_FLAGS="-fork=1 -ignore_crashes=1"   more libFuzzer flags
#   make check                        also replays fuzz/regress/<name>/ and
#                                     fuzz/corpus/<name>/ through each harness,
#                                     built with $(CC) (no clang, no fuzzing)
# docs/fuzzing.md says what each harness checks and how to keep a crash.

FUZZ_NAMES ?= compile image match run serve
FUZZ_TIME  ?= 60
FUZZ_CC    ?= clang-14
FUZZ_BUILD := build-fuzz
# Separate objects for the library: instrumented for coverage, ASan and UBSan.
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined

# Longest input libFuzzer makes, per harness: a few times the seeds.
FUZZ_MAX_LEN_compile := 8192
FUZZ_MAX_LEN_image   := 16384
FUZZ_MAX_LEN_match   := 4096
FUZZ_MAX_LEN_run     := 8192
FUZZ_MAX_LEN_serve   := 8192

FUZZ_HARNESS_DEPS := fuzz/fuzz.h $(BUILD)/fuzz/apps.o $(LIB)
FUZZ_REPLAY       := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%.t)

.PHONY: fuzz fuzz-harnesses clean-fuzz
# Kept: make would delete it as an intermediate of the pattern rules below.
.SECONDARY: $(BUILD)/fuzz/apps.o

# The fixed application of the run and serve harnesses, embedded like the stdlib
# (compiled to apps.o by the Makefile's rule for generated sources).
$(BUILD)/fuzz/apps.c: fuzz/run_app.flow tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh fuzz/run_app.flow | sed 's/stdlib_files\[\]/fuzz_apps[]/' > $@

# The replay driver with one harness: what `make check` runs (a TAP test).
$(BUILD)/fuzz/replay_%.t: fuzz/replay.c fuzz/fuzz_%.c $(FUZZ_HARNESS_DEPS)
	$(CC) $(ALL_CFLAGS) -Ifuzz -DFUZZ_REPLAY_DIRS='"fuzz/regress/$*", "fuzz/corpus/$*"' -o $@ \
	  fuzz/replay.c fuzz/fuzz_$*.c $(BUILD)/fuzz/apps.o $(LIB) $(LDFLAGS) $(DEPS_LIBS) -lm

# The libFuzzer binary of one harness (made by the inner make below, BUILD=build-fuzz).
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_HARNESS_DEPS)
	$(CC) $(ALL_CFLAGS) -Ifuzz -fsanitize=fuzzer,address,undefined -o $@ \
	  $< $(BUILD)/fuzz/apps.o $(LIB) $(DEPS_LIBS) -lm

fuzz-harnesses: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

# Every harness runs; the target fails at the end if any found a crash.
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" LDFLAGS= SANITIZE= \
	  FUZZ_NAMES="$(FUZZ_NAMES)" fuzz-harnesses
	@rc=0; $(foreach n,$(FUZZ_NAMES),FUZZ_FLAGS="$(FUZZ_FLAGS)" sh fuzz/run.sh $(n) $(FUZZ_BUILD) $(FUZZ_TIME) \
	  $(FUZZ_MAX_LEN_$(n)) || rc=1;) exit $$rc

clean-fuzz:
	rm -rf $(FUZZ_BUILD)
