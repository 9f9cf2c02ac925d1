#!/bin/sh
# Event-pattern matching benchmark: events/s against 10, 100, 1,000 and
# 10,000 rules, and the time ratio 10,000 : 10 (target: at most 2).
#   sh bench/match.sh [events] [seed]
set -e
cd "$(dirname "$0")/.."
EVENTS=${1:-100000}
SEED=${2:-42}
CC=${CC:-cc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FLAGS="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Iruntime $(pkg-config --cflags json-c)"
LIBS="$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c) -lm"
if make -s build/libefc.a 2>"$TMP/make.err" && [ -f build/libefc.a ]; then
  $CC $FLAGS -o "$TMP/match_bench" bench/match_bench.c build/libefc.a \
    $(pkg-config --libs sqlite3 2>/dev/null) $LIBS
else
  # The library does not build right now (work in progress elsewhere):
  # the matcher needs only these sources.
  echo "match.sh: make build/libefc.a failed; compiling the matcher sources directly" >&2
  $CC $FLAGS -o "$TMP/match_bench" bench/match_bench.c runtime/match.c runtime/match_compile.c \
    runtime/match_index.c runtime/match_value.c runtime/pattern_validate.c $LIBS
fi
echo "$EVENTS events, seed $SEED, $(uname -m), $(nproc) CPUs"
"$TMP/match_bench" "$EVENTS" "$SEED"
