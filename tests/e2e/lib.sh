# lib.sh — TAP helpers for the end-to-end tests (sourced by tests/e2e/*.t).
# Every test drives the real efc binary: $EFC (set by `make check`).
EFC=${EFC:-$(pwd)/build/efc}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TAP_N=0
TAP_FAILED=0
TMP=$(mktemp -d)
trap '[ -n "$KEEP" ] || rm -rf "$TMP"' EXIT

plan() { echo "1..$1"; }
ok() {   # ok CONDITION_EXIT_STATUS NAME
  TAP_N=$((TAP_N + 1))
  if [ "$1" -eq 0 ]; then echo "ok $TAP_N - $2"; else echo "not ok $TAP_N - $2"; TAP_FAILED=$((TAP_FAILED + 1)); fi
}
diag() { sed 's/^/# /'; }
# same_file EXPECTED ACTUAL NAME: byte-identical, with a diff on failure
same_file() {
  if cmp -s "$1" "$2"; then ok 0 "$3"; else ok 1 "$3"; diff -u "$1" "$2" | head -40 | diag; fi
}
done_testing() { echo "1..$TAP_N"; [ "$TAP_FAILED" -eq 0 ]; }

# start_fake_llm ARGS...: builds tests/tools/fake_llm.c and starts it on a free
# loopback port with ARGS; sets SERVER (pid) and PORT, stops it at exit.
start_fake_llm() {
  cc -O1 -o "$TMP/fake_llm" "$ROOT/tests/tools/fake_llm.c" $(pkg-config --cflags --libs libmicrohttpd json-c) -lpthread 2>"$TMP/cc.err"
  ok $? "the fake chat-completions server builds"
  "$TMP/fake_llm" --port-file "$TMP/port" --log "$TMP/llm.log" "$@" &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$TMP"' EXIT
  for _ in $(seq 1 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
  PORT=$(cat "$TMP/port" 2>/dev/null)
  [ -n "$PORT" ]
  ok $? "the server listens on loopback (port $PORT)"
}
