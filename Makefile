# efc — build, test, demo, install.
#   make                 build build/efc
#   make check           build and run every test through prove
#   make check SANITIZE=1  the same under ASan+UBSan (objects in build-san/)
#   make demo            install build deps if missing, build, compile an example
#   make install PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g
BUILD   := build
ifeq ($(SANITIZE),1)
BUILD   := build-san
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

VERSION := 0.1.0
DEPS        := json-c sqlite3 libcurl libmicrohttpd uuid
DEPS_CFLAGS := $(shell pkg-config --cflags $(DEPS) 2>/dev/null)
DEPS_LIBS   := $(shell pkg-config --libs $(DEPS) 2>/dev/null || echo -ljson-c -lsqlite3 -lcurl -lmicrohttpd -luuid)
# pocketsphinx (speech recognition for the transcriber view) is optional:
# without it the build succeeds and the view reports that it is missing.
ifneq ($(shell pkg-config --exists pocketsphinx 2>/dev/null && echo yes),)
DEPS_CFLAGS += $(shell pkg-config --cflags pocketsphinx) -DEFC_HAVE_POCKETSPHINX=1 \
               -DEFC_POCKETSPHINX_MODELDIR='"$(shell pkg-config --variable=modeldir pocketsphinx)"'
DEPS_LIBS   += $(shell pkg-config --libs pocketsphinx)
endif
ALL_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(CFLAGS) -Icompiler -Iruntime -Iserver -I$(BUILD) \
               -DEFC_VERSION='"$(VERSION)"' $(DEPS_CFLAGS)

RUNTIME_SRC  := $(wildcard runtime/*.c)
COMPILER_SRC := $(wildcard compiler/*.c)
CLI_SRC      := $(wildcard cli/*.c)
SERVER_SRC   := $(wildcard server/*.c)
GEN_SRC      := $(BUILD)/parser.c $(BUILD)/lexer.c $(BUILD)/stdlib_files.c

LIB_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/%.o) $(COMPILER_SRC:%.c=$(BUILD)/%.o) $(SERVER_SRC:%.c=$(BUILD)/%.o) \
           $(BUILD)/parser.o $(BUILD)/lexer.o $(BUILD)/stdlib_files.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libefc.a
EFC     := $(BUILD)/efc

UNIT_SRC  := $(wildcard tests/unit/*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%.t)

.PHONY: all check unit-tests demo install uninstall clean deps bench
all: $(EFC)

$(BUILD)/parser.c $(BUILD)/parser.h &: grammar/efc.y
	@mkdir -p $(BUILD)
	bison -Wall -Werror --defines=$(BUILD)/parser.h -o $(BUILD)/parser.c $<

$(BUILD)/lexer.c $(BUILD)/lexer.h &: grammar/efc.l $(BUILD)/parser.h
	@mkdir -p $(BUILD)
	flex --header-file=$(BUILD)/lexer.h -o $(BUILD)/lexer.c $<

$(BUILD)/stdlib_files.c: $(wildcard stdlib/*.flow) tools/embed.sh
	@mkdir -p $(BUILD)
	sh tools/embed.sh stdlib/*.flow > $@

# Generated scanners trip -Wextra in code we do not own.
$(BUILD)/lexer.o: $(BUILD)/lexer.c
	$(CC) $(ALL_CFLAGS) -Wno-unused-function -Wno-sign-compare -c -o $@ $<

$(BUILD)/%.o: %.c $(BUILD)/parser.h $(BUILD)/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: $(BUILD)/%.c $(BUILD)/parser.h $(BUILD)/lexer.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(EFC): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(DEPS_LIBS) -lm

$(BUILD)/tests/%.t: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(DEPS_LIBS) -lcmocka -lm

unit-tests: $(UNIT_BIN)

# make fuzz, and the replay of fuzz/regress and fuzz/corpus (FUZZ_REPLAY).
include fuzz.mk

# Every test is TAP; prove runs the C unit tests, the fuzz replays and the
# shell end-to-end tests.
check: $(EFC) unit-tests $(FUZZ_REPLAY)
	EFC=$(abspath $(EFC)) EFC_BUILD=$(abspath $(BUILD)) CMOCKA_MESSAGE_OUTPUT=TAP \
	  prove -f $(UNIT_BIN) $(FUZZ_REPLAY) tests/e2e/*.t

deps:
	sh tools/install-deps.sh

demo: deps
	$(MAKE) all
	sh tools/demo.sh $(EFC)

bench: $(EFC)
	sh bench/compile.sh $(EFC)
	sh bench/run.sh $(EFC)
	sh bench/serve.sh $(EFC)

install: $(EFC)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/efc/stdlib $(DESTDIR)$(PREFIX)/share/doc/efc
	install -m 755 $(EFC) $(DESTDIR)$(PREFIX)/bin/efc
	install -m 644 stdlib/*.flow $(DESTDIR)$(PREFIX)/share/efc/stdlib/
	install -m 644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/efc/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/efc
	rm -rf $(DESTDIR)$(PREFIX)/share/efc $(DESTDIR)$(PREFIX)/share/doc/efc

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
