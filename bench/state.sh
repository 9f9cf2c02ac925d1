#!/bin/sh
# State-store benchmark: transactions/s for the per-event pattern (get + put
# of a ~200-byte window + input.offset, one transaction) and for a counter
# (add + input.offset), on memory and SQLite (synchronous NORMAL and FULL).
#   sh bench/state.sh [seconds-per-run] [directory-for-the-db-files]
# The directory decides what fsync costs: use the disk the state will live on.
set -e
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-2}
DIR=${2:-${TMPDIR:-/tmp}}
CC=${CC:-cc}
if ! make -s build/libefc.a; then
  [ -f build/libefc.a ] || { echo "state.sh: cannot build build/libefc.a" >&2; exit 1; }
  echo "state.sh: make failed; using the existing build/libefc.a" >&2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
$CC -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Iruntime $(pkg-config --cflags json-c sqlite3) \
  -o "$TMP/state_bench" bench/state_bench.c build/libefc.a \
  $(pkg-config --libs json-c sqlite3 2>/dev/null || echo -ljson-c -lsqlite3) -lm
echo "sqlite $(pkg-config --modversion sqlite3), $DIR on $(stat -f -c %T "$DIR")"
"$TMP/state_bench" "$SECONDS_PER_RUN" "$DIR"
