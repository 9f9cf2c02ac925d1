#!/usr/bin/env bash
# efc run end to end: expected output of the timecard example, determinism,
# dead letters of every kind, the hop limit, and kill-and-resume.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
APP=tests/run/app.flow

# --- every example with sample events, against its reviewed expected output
for dir in examples/*/; do
  name=$(basename "$dir")
  [ -f "$dir/events.ndjson" ] && [ -f "$dir/expected.ndjson" ] || continue
  flow=$(ls "$dir"*.flow | head -1)
  # Examples that call views need their services (an LLM endpoint): each
  # has a test of its own (knowledge-base: tests/e2e/kb.t).
  grep -q '^import std.views' "$flow" && continue
  "$EFC" run "$flow" --events "$dir/events.ndjson" --drain --out "$TMP/$name.ndjson" 2>"$TMP/err"
  ok $? "$name: efc run succeeds"
  same_file "$dir/expected.ndjson" "$TMP/$name.ndjson" "$name: output matches $dir""expected.ndjson"
done
"$EFC" run examples/timecard/timecard.flow --events examples/timecard/events.ndjson --drain \
  --out "$TMP/timecard.ndjson" 2>"$TMP/err"
grep -q '987 events read' "$TMP/err"
ok $? "timecard: the summary counts the 987 events read"
sh examples/timecard/gen_events.sh | cmp -s - examples/timecard/events.ndjson
ok $? "timecard: gen_events.sh gives events.ndjson again, byte for byte"
# Blocks and entries still open when one run stops are finished by the next.
head -n 500 examples/timecard/events.ndjson > "$TMP/tc-1.ndjson"
tail -n +501 examples/timecard/events.ndjson > "$TMP/tc-2.ndjson"
"$EFC" run examples/timecard/timecard.flow --events "$TMP/tc-1.ndjson" --state "$TMP/tc.db" --out "$TMP/tc-1.out" 2>/dev/null &&
  "$EFC" run examples/timecard/timecard.flow --events "$TMP/tc-2.ndjson" --state "$TMP/tc.db" --drain --out "$TMP/tc-2.out" 2>/dev/null
ok $? "timecard: the first 500 events, then the rest, with one --state"
jq -c '{time, type: ."detail-type", detail}' "$TMP/tc-1.out" "$TMP/tc-2.out" > "$TMP/tc-parts.proj"
jq -c '{time, type: ."detail-type", detail}' examples/timecard/expected.ndjson > "$TMP/tc-whole.proj"
same_file "$TMP/tc-whole.proj" "$TMP/tc-parts.proj" "timecard: in two runs, the same events (times and details) as in one"

# --- the same from the compiled folder ----------------------------------
"$EFC" compile examples/timecard/timecard.flow -o "$TMP/tc-out" 2>/dev/null
"$EFC" run "$TMP/tc-out" --events examples/timecard/events.ndjson --drain > "$TMP/timecard2.ndjson" 2>/dev/null
same_file "$TMP/timecard.ndjson" "$TMP/timecard2.ndjson" "running the compiled OUTDIR gives the same output as the .flow"

# --- determinism ---------------------------------------------------------
sh tools/gen_events.sh 3000 11 > "$TMP/events.ndjson"
"$EFC" run $APP --events "$TMP/events.ndjson" --out "$TMP/a.ndjson" --dead-letter "$TMP/a.dl" --drain 2>/dev/null
"$EFC" run $APP --events - --out "$TMP/b.ndjson" --dead-letter "$TMP/b.dl" --drain < "$TMP/events.ndjson" 2>/dev/null
cmp -s "$TMP/a.ndjson" "$TMP/b.ndjson" && cmp -s "$TMP/a.dl" "$TMP/b.dl"
ok $? "two runs over the same input write byte-identical output and dead letters"
[ "$(wc -l < "$TMP/a.ndjson")" -gt 1000 ]
ok $? "the run emits events ($(wc -l < "$TMP/a.ndjson") lines)"
jq -e -s 'all(.[]; has("version") and has("id") and has("detail-type") and has("source") and has("account")
          and has("time") and has("region") and has("resources") and has("detail"))' "$TMP/a.ndjson" >/dev/null
ok $? "every emitted event has EventBridge's envelope fields"
[ "$(jq -r .id "$TMP/a.ndjson" | sort | uniq -d | wc -l)" -eq 0 ]
ok $? "emitted event ids are unique"

# --- dead letters: every kind of bad input ------------------------------
good=$(grep -m1 'Screen Captured' "$TMP/events.ndjson")
{
  echo '{"this is": not json}'
  echo '[1, 2, 3]'
  echo '{"source": "capture.client", "time": "2026-11-23T09:00:00Z", "detail": {}}'
  echo '{"detail-type": "Screen Captured", "source": "capture.client", "time": "2026-11-23T09:00:00Z", "detail": "text"}'
  echo "$good" | jq -c 'del(.time)'
  echo "$good" | jq -c '.time = "yesterday"'
  echo "$good" | jq -c '.detail.data.bytes = "many"'
  echo "$good" | jq -c 'del(.detail.profile)'
  printf '{"detail-type":"Screen Captured","source":"capture.client","time":"2026-11-23T09:00:00Z","detail":{"x":"%s"}}\n' "$(head -c 270000 /dev/zero | tr '\0' a)"
  printf '%s\n' "$(printf '[%.0s' $(seq 1 100))$(printf ']%.0s' $(seq 1 100))"
  echo '{"version":"0","detail-type":"Screen Captured","source":"capture.client","time":"2026-11-23T09:00:00Z","detail":{"profile":{"session_id":"s","user":"u"},"application":{"name":"idle"},"data":{"uri":"u","mime":"image/png","bytes":0}}}'
  echo '{"detail-type":"Ping","source":"test.loop","time":"2026-11-23T09:00:00Z","detail":{"n":0}}'
  echo "$good"
} > "$TMP/bad.ndjson"
"$EFC" run $APP --events "$TMP/bad.ndjson" --out "$TMP/bad.out" --dead-letter "$TMP/bad.dl" 2>"$TMP/bad.err"
ok $? "a run over bad input still succeeds"
expect_dead() {   # expect_dead LINE REASON-SUBSTRING NAME
  jq -e -s --argjson l "$1" --arg r "$2" 'any(.[]; .line == $l and (.reason | contains($r)))' "$TMP/bad.dl" >/dev/null
  ok $? "dead letter for $3 (line $1)"
}
expect_dead 1 "invalid JSON" "invalid JSON"
expect_dead 2 "not an object" "JSON that is not an object"
expect_dead 3 "detail-type" "a missing detail-type"
expect_dead 4 "detail" "a detail that is not an object"
expect_dead 5 "time" "a missing time"
expect_dead 6 "RFC 3339" "a time that is not a time"
expect_dead 7 "detail.data.bytes: expected integer" "a field of the wrong type"
expect_dead 8 "missing required field \`profile\`" "a missing required field"
expect_dead 9 "EventBridge accepts at most 262144" "an event over 256 KB"
expect_dead 10 "nested deeper than" "an event nested too deep"
expect_dead 11 "division by zero" "a runtime error in a stage"
expect_dead 12 "hop limit" "a flow that emits what it consumes"
[ "$(grep -c '"line":12' "$TMP/bad.dl")" -eq 1 ]
ok $? "the loop is stopped once, with one dead letter"
[ "$(jq -r '.detail.n' "$TMP/bad.out" | sort -n | tail -1)" = "16" ]
ok $? "the loop ran up to the hop limit (16) and stopped"
[ "$(jq -s length "$TMP/bad.dl")" -eq 12 ]
ok $? "exactly the 12 bad lines are dead-lettered, the good one is not"
grep -q '13 events read' "$TMP/bad.err" && grep -q '12 dead-lettered' "$TMP/bad.err"
ok $? "the summary counts events read and dead-lettered"

# --- kill and resume -------------------------------------------------------
sh tools/gen_events.sh 60000 5 > "$TMP/long.ndjson"
"$EFC" run $APP --events "$TMP/long.ndjson" --out "$TMP/whole.ndjson" --dead-letter "$TMP/whole.dl" --drain \
  --state "$TMP/whole.db" --batch 50 2>/dev/null
ok $? "an uninterrupted run with --state"
killed=0
for delay in 0.3 0.5 0.8; do
  rm -f "$TMP/part.db"* "$TMP/part.ndjson" "$TMP/part.dl"
  "$EFC" run $APP --events "$TMP/long.ndjson" --out "$TMP/part.ndjson" --dead-letter "$TMP/part.dl" --drain \
    --state "$TMP/part.db" --batch 50 2>/dev/null &
  pid=$!
  sleep $delay
  if kill -9 $pid 2>/dev/null; then killed=1; fi
  wait $pid 2>/dev/null
  [ $killed -eq 1 ] && break
done
ok $((1 - killed)) "a run was killed with SIGKILL in the middle"
"$EFC" run $APP --events "$TMP/long.ndjson" --out "$TMP/part.ndjson" --dead-letter "$TMP/part.dl" --drain \
  --state "$TMP/part.db" --batch 50 2>"$TMP/resume.err"
ok $? "the run started again with the same --state completes"
grep -q 'resuming after' "$TMP/resume.err"
ok $? "it says it resumes: $(grep -o 'resuming after [0-9]* events' "$TMP/resume.err")"
same_file "$TMP/whole.ndjson" "$TMP/part.ndjson" "killed-and-resumed output equals the uninterrupted output (nothing twice, nothing lost)"
same_file "$TMP/whole.dl" "$TMP/part.dl" "and so do the dead letters"

# --- usage errors ----------------------------------------------------------
"$EFC" run $APP 2>/dev/null
[ $? -eq 2 ]
ok $? "missing --events is a usage error (exit 2)"
"$EFC" run $APP --events "$TMP/events.ndjson" --clock sundial 2>/dev/null
[ $? -eq 2 ]
ok $? "an unknown --clock is a usage error"
"$EFC" run --help | grep -q -- '--dead-letter'
ok $? "efc run --help documents the options"
"$EFC" run examples/timecard/timecard.flow --events "$TMP/events.ndjson" --state "$TMP/whole.db" >/dev/null 2>"$TMP/err"
[ $? -eq 3 ] && grep -q 'different application' "$TMP/err"
ok $? "a state file of another application is refused"
done_testing
