#!/usr/bin/env bash
# The engine's limits through the real `efc run` (and `efc serve`): an
# application the runtime cannot load is a clear error, never a crash; the
# work one input event may cause is bounded (fan-out, loops), with one dead
# letter saying so; a key the state store refuses is a dead letter; emitted
# ids differ between inputs and stay the same on a replay.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$ROOT"
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$TMP"' EXIT
# A sanitizer report must not pass for an ordinary exit status.
export ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# measure OUT CMD...: runs CMD with its peak memory (KB) and seconds in $TMP/OUT.time.
measure() {
  local out=$1
  shift
  /usr/bin/time -f '%M %e' -o "$TMP/$out.time" "$@"
}
peak_kb() { cut -d' ' -f1 "$TMP/$1.time"; }
seconds() { cut -d' ' -f2 "$TMP/$1.time" | cut -d. -f1; }

# --- an application the runtime cannot load: exit 1, no double free --------
cat > "$TMP/extern.flow" <<'EOF'
event Ping from "t" as "Ping" {
  n: int
}
extern filter nosuch(by: any?) -> input
flow f {
  on Ping
  | nosuch(by: n)
  -> emit Ping
}
EOF
echo '{"id":"p-1","source":"t","detail-type":"Ping","time":"2026-01-01T00:00:00Z","detail":{"n":1}}' > "$TMP/ping.ndjson"
"$EFC" run "$TMP/extern.flow" --events "$TMP/ping.ndjson" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && grep -q "uses the stage \`nosuch\`, which this runtime does not provide" "$TMP/err"
ok $? "a stage the runtime lacks: exit 1 with a clear error (exit $rc)"

# A field type 28 arrays deep: its schema is deeper than json-c's default
# depth.  Either the compiler refuses it with a positioned error or it runs.
t=int
for _ in $(seq 28); do t="[$t]"; done
printf 'event Deep from "t" as "Deep" {\n  x: %s\n}\nevent Seen {\n  x: %s\n}\nflow f {\n  on Deep\n  | map { x: x }\n  -> emit Seen\n}\n' "$t" "$t" > "$TMP/deep.flow"
echo '{"id":"d-1","source":"t","detail-type":"Deep","time":"2026-01-01T00:00:00Z","detail":{"x":[]}}' > "$TMP/deep.ndjson"
"$EFC" run "$TMP/deep.flow" --events "$TMP/deep.ndjson" --out "$TMP/deep.out" 2>"$TMP/err"
rc=$?
{ [ $rc -eq 0 ] && [ "$(wc -l < "$TMP/deep.out")" -eq 1 ]; } || { [ $rc -eq 1 ] && grep -q 'deep.flow:2:' "$TMP/err"; }
ok $? "a type 28 arrays deep: runs, or a positioned compile error (exit $rc)"

# Through the server: the flow stored, then events: each gets an error that
# names the problem, and the server stays up.
start_server srv --store "$TMP/store.db"
req POST /flow -H 'Content-Type: text/plain' --data-binary @"$TMP/extern.flow"
flow_status=$STATUS
for i in 1 2; do
  req POST /events -H 'Content-Type: application/json' -d '{"Source":"t","DetailType":"Ping","Detail":"{\"n\":1}"}'
  if [ "$flow_status" = 201 ]; then
    expect_status 500 "POST /events $i after a flow the runtime cannot load: a clear error" \
      '.message | contains("does not provide")'
  else
    expect_status 200 "POST /events $i (the flow was refused: $flow_status)"
  fi
done
req GET /health
expect_status 200 "the server is still up"
stop_server
[ "$STOP_STATUS" -eq 0 ]
ok $? "and stops cleanly (status $STOP_STATUS)"

# --- fan-out: the work budget of one input event ------------------------------
cat > "$TMP/fan.flow" <<'EOF'
import std.transformers
event Big from "t" as "Big" {
  s: string
}
event Out {
  i: int
  j: int
}
flow fan {
  on Big
  | splitter(text: s, size: 1)
  | map { s: s, i: index }
  | splitter(text: s, size: 1)
  | map { i: i, j: index }
  -> emit Out
}
EOF
big() {   # big ID N: an event whose text splits into N x N events
  printf '{"id":"%s","source":"t","detail-type":"Big","time":"2026-01-01T00:00:00Z","detail":{"s":"%s"}}\n' \
    "$1" "$(head -c "$2" /dev/zero | tr '\0' x)"
}
for n in 1000 3000; do
  { big "b-$n" "$n"; big "c-$n" 2; } > "$TMP/big.ndjson"
  measure "fan$n" "$EFC" run "$TMP/fan.flow" --events "$TMP/big.ndjson" --out "$TMP/fan.out" --dead-letter "$TMP/fan.dl" 2>"$TMP/err"
  ok $? "a splitter of $n over a splitter of $n: the run succeeds"
  [ "$(wc -l < "$TMP/fan.out")" -eq 10004 ]
  ok $? "$n x $n: 10,000 events (the budget) for the first input, all 4 of the next ($(wc -l < "$TMP/fan.out"))"
  [ "$(wc -l < "$TMP/fan.dl")" -eq 1 ] && [ "$(jq -r .event.id "$TMP/fan.dl")" = "b-$n" ] &&
    jq -e '.reason | startswith("work budget spent: it emitted 10000 events, the most one input event may cause")' "$TMP/fan.dl" >/dev/null
  ok $? "$n x $n: one dead letter for the input, with the reason"
  [ "$(peak_kb "fan$n")" -lt 400000 ] && [ "$(seconds "fan$n")" -lt 20 ]
  ok $? "$n x $n: bounded memory and time ($(peak_kb "fan$n") KB, $(seconds "fan$n") s)"
done

# --- breadth of a loop: the hop limit bounds depth, the budget breadth ----------
cat > "$TMP/loop.flow" <<'EOF'
event Ping from "t" as "Ping" {
  n: int
}
flow one {
  on Ping
  -> emit Ping
}
flow two {
  on Ping
  -> emit Ping
}
EOF
measure loop "$EFC" run "$TMP/loop.flow" --events "$TMP/ping.ndjson" --out "$TMP/loop.out" --dead-letter "$TMP/loop.dl" 2>"$TMP/err"
ok $? "two flows that answer Ping with Ping: the run succeeds"
[ "$(wc -l < "$TMP/loop.out")" -eq 10000 ] && [ "$(wc -l < "$TMP/loop.dl")" -eq 1 ]
ok $? "10,000 events and one dead letter, not 131,070 and 131,072 ($(wc -l < "$TMP/loop.out"), $(wc -l < "$TMP/loop.dl"))"
jq -e '.reason | contains("work budget spent") and contains("emitted events not routed to the rules")' "$TMP/loop.dl" >/dev/null
ok $? "the dead letter says what was not done"
[ "$(seconds loop)" -lt 10 ]
ok $? "in bounded time ($(seconds loop) s)"

# --- a key the state refuses is a dead letter ------------------------------------
cat > "$TMP/count.flow" <<'EOF'
import std.filters
event Hit from "t" as "Hit" {
  k: string
}
event Count {
  k: any?
  n: int
}
flow hits {
  on Hit
  | counter(by: k, count: 2)
  | map { k: key, n: count }
  -> emit Count
}
EOF
long=$(head -c 1100 /dev/zero | tr '\0' k)
for k in "$long" short short; do
  printf '{"source":"t","detail-type":"Hit","time":"2026-01-01T00:00:00Z","detail":{"k":"%s"}}\n' "$k"
done > "$TMP/hits.ndjson"
"$EFC" run "$TMP/count.flow" --events "$TMP/hits.ndjson" --out "$TMP/hits.out" --dead-letter "$TMP/hits.dl" 2>/dev/null
ok $? "a counter over a key of 1,100 bytes: the run succeeds"
[ "$(wc -l < "$TMP/hits.dl")" -eq 1 ] && jq -e '.line == 1 and (.reason | contains("the `by` key cannot be kept in the state") and contains("longer than 1024 bytes"))' "$TMP/hits.dl" >/dev/null
ok $? "the over-long key is a dead letter with the reason, not lost"
[ "$(jq -r .detail.n "$TMP/hits.out")" = 2 ]
ok $? "the good keys are counted"

# --- emitted ids -------------------------------------------------------------------
printf '{"id":"p-2","source":"t","detail-type":"Ping","time":"2026-01-01T00:00:00Z","detail":{"n":1}}\n' > "$TMP/ping2.ndjson"
"$EFC" run "$TMP/loop.flow" --events "$TMP/ping.ndjson" --out "$TMP/ids1" 2>/dev/null
"$EFC" run "$TMP/loop.flow" --events "$TMP/ping2.ndjson" --out "$TMP/ids2" 2>/dev/null
"$EFC" run "$TMP/loop.flow" --events "$TMP/ping.ndjson" --out "$TMP/ids1again" 2>/dev/null
[ "$(head -1 "$TMP/ids1" | jq -r .id)" != "$(head -1 "$TMP/ids2" | jq -r .id)" ]
ok $? "the first event emitted for two different inputs has two different ids"
[ "$(cat "$TMP/ids1" "$TMP/ids2" | jq -r .id | sort | uniq -d | wc -l)" -eq 0 ]
ok $? "no id is shared between the two runs' 20,000 events"
same_file "$TMP/ids1" "$TMP/ids1again" "a replay of the same input emits the same ids"
head -1 "$TMP/ids1" | jq -e '.id | test("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")' >/dev/null
ok $? "ids are name-based UUIDs (version 5)"
done_testing
