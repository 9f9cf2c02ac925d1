#!/usr/bin/env bash
# The standard filters and transformers through the real `efc run`: each
# stage's flow in tests/stdlib/ over hand-made events, against hand-checked
# expected output (time, detail-type and detail of every emitted event).
# Covered for each: count and time thresholds under event time, keys
# interleaved, out-of-order events, end of input with and without --drain,
# and state kept across runs (first part of the input, then the rest, gives
# what the whole gives).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
D=tests/stdlib

proj() { jq -c '{time, type: ."detail-type", detail}' "$@"; }

# run NAME FLOW EVENTS [efc run options]: emitted events (projected) in $TMP/NAME.out, dead letters in $TMP/NAME.dl
run() {
  local name=$1 flow=$2 events=$3
  shift 3
  "$EFC" run "$flow" --events "$events" --out "$TMP/$name.raw" --dead-letter "$TMP/$name.dl" "$@" 2>"$TMP/$name.err"
  local rc=$?
  proj "$TMP/$name.raw" > "$TMP/$name.out"
  return $rc
}

# stage NAME SPLIT OPEN: the checks every windowed stage gets.  SPLIT: the
# input line after which a run stops and the next one takes over; OPEN: how
# many of the expected events are windows still open at the end of the input.
stage() {
  local s=$1 split=$2 open=$3 flow=$D/$1.flow events=$D/$1.ndjson expected=$D/$1.expected
  local total
  total=$(wc -l < "$expected")

  run "$s-drain" "$flow" "$events" --drain
  ok $? "$s: efc run --drain succeeds"
  same_file "$expected" "$TMP/$s-drain.out" "$s: with --drain, the output is $expected"
  [ ! -s "$TMP/$s-drain.dl" ]
  ok $? "$s: no dead letters"

  run "$s-keep" "$flow" "$events" --state "$TMP/$s-keep.db"
  head -n $((total - open)) "$expected" > "$TMP/$s-keep.expected"
  same_file "$TMP/$s-keep.expected" "$TMP/$s-keep.out" "$s: without --drain, the $open window(s) still open are not emitted"
  run "$s-later" "$flow" /dev/null --state "$TMP/$s-keep.db" --drain
  tail -n "$open" "$expected" > "$TMP/$s-later.expected"
  same_file "$TMP/$s-later.expected" "$TMP/$s-later.out" "$s: they are kept in --state, and a later run with --drain emits them"

  # The first SPLIT lines, then the others as a new input with the same state.
  head -n "$split" "$events" > "$TMP/$s-1.ndjson"
  tail -n +"$((split + 1))" "$events" > "$TMP/$s-2.ndjson"
  run "$s-part1" "$flow" "$TMP/$s-1.ndjson" --state "$TMP/$s.db"
  run "$s-part2" "$flow" "$TMP/$s-2.ndjson" --state "$TMP/$s.db" --drain
  ok $? "$s: a second run over the rest of the input, with the same --state"
  grep -q 'a new input' "$TMP/$s-part2.err"
  ok $? "$s: it takes the rest as a new input and keeps the windows"
  cat "$TMP/$s-part1.out" "$TMP/$s-part2.out" > "$TMP/$s-parts.out"
  same_file "$expected" "$TMP/$s-parts.out" "$s: lines 1-$split then the rest give the same output as the whole"

  # Stopped after SPLIT lines, then started again over the whole file: it resumes.
  "$EFC" run "$flow" --events "$TMP/$s-1.ndjson" --out "$TMP/$s-resume.raw" --state "$TMP/$s-resume.db" 2>/dev/null
  "$EFC" run "$flow" --events "$events" --out "$TMP/$s-resume.raw" --state "$TMP/$s-resume.db" --drain 2>"$TMP/$s-resume.err"
  grep -q "resuming after $split events" "$TMP/$s-resume.err"
  ok $? "$s: started again over the whole input, it resumes after line $split"
  proj "$TMP/$s-resume.raw" > "$TMP/$s-resume.out"
  same_file "$expected" "$TMP/$s-resume.out" "$s: and the output file is the same as the whole run's"
}

# --- counter ---------------------------------------------------------------
# a: 3 events at line 5 (count); b: line 4 is earlier than line 2 (first_time is
# the earliest), 3 at line 6; a's next window closes by time (09:01:40) when
# line 9 (09:01:45) arrives; c closes exactly at its deadline (line 10).
stage counter 7 2
# --- aggregator ------------------------------------------------------------
# The same timeline; first()/last() follow arrival, min(time) the earliest.
stage aggregator 7 2
# --- stitcher --------------------------------------------------------------
# s1: "brown" (09:00:20) arrives before "quick" (09:00:10): stitched in time
# order; s2: two pieces at the same time keep their arrival order; s3: an
# event without text counts but adds nothing, closed by time.
stage stitcher 7 2
# --- combiner --------------------------------------------------------------
# s1: v2 replaces v1 (newer), v0 does not replace v2 (older); complete at
# line 6; s2 times out with the video only (complete: false); `pair` has no
# `within` and emits its open combination only at the end, with --drain.
stage combiner 4 3
# --- intervals -------------------------------------------------------------
# gap 1m, after 30s, by user.  a: video 09:00-09:03 and usage 09:01-09:02
# inside it count once; video 09:03:40-09:04 is 40 s later (bridged, not
# counted); audio 08:59-09:00:10 arrives late (09:03:30) and extends the
# block back: 260 s, 2 pieces, closed at 09:04 + 1m30s.  b: its first block
# closes (09:02:30) when line 4 (09:03:40) arrives; line 5 is earlier than
# line 4 but its block is gone: a new one.  a and c are open at the end.
stage intervals 5 2
# --- splitter (stateless: nothing open at the end) -------------------------
stage splitter 2 0

# --- stitcher: the size bound ----------------------------------------------
# max_bytes 12, separator "+": aaaa+bbbb (9) fits, +cccc would be 14: the
# window closes early; a piece of 13 bytes alone is dead-lettered; `q"q` is
# 4 bytes in JSON (the quote is escaped).
run size $D/stitcher.flow $D/stitcher_size.ndjson --drain
same_file $D/stitcher_size.expected "$TMP/size.out" "stitcher: windows close early to stay under max_bytes"
jq -e -s 'length == 1 and .[0].line == 5 and (.[0].reason | contains("13 bytes, more than `max_bytes` (12)"))' "$TMP/size.dl" >/dev/null
ok $? "stitcher: a piece larger than max_bytes alone is dead-lettered with the reason"

# --- splitter then stitcher: the text comes back ---------------------------
{
  jq -nc '{"detail-type":"Doc","source":"test.docs","time":"2026-03-02T09:00:00Z","detail":{"id":"d1",
    "body":"Grüße aus Köln — \"quoted\", a tab\there,\nnew line, 日本語のテキスト and an emoji 🎉 at the end."}}'
  jq -nc '{"detail-type":"Doc","source":"test.docs","time":"2026-03-02T09:00:00Z","detail":{"id":"d2","body":"short"}}'
  jq -nc '{"detail-type":"Doc","source":"test.docs","time":"2026-03-02T09:00:01Z","detail":{"id":"d3","body":""}}'
} > "$TMP/docs.ndjson"
run roundtrip $D/roundtrip.flow "$TMP/docs.ndjson"
jq -s -c '[.[] | .detail | {id, body}]' "$TMP/docs.ndjson" > "$TMP/rt.want"
jq -s -c '[.[] | .detail | {id, body}]' "$TMP/roundtrip.raw" > "$TMP/rt.got"
jq -s -c '.[0][:2]' "$TMP/rt.want" > "$TMP/rt.want2"
same_file "$TMP/rt.want2" "$TMP/rt.got" "splitter(text, size) then stitcher(count: total) gives the texts back byte for byte; an empty text gives nothing"
[ "$(jq -s -c '[.[].detail.pieces]' "$TMP/roundtrip.raw")" = "[12,1]" ]
ok $? "the 80-character text went through as 12 pieces of at most 7 characters"

# --- mistakes in calls: one dead letter each, saying what to fix -----------
big=$(head -c 150000 /dev/zero | tr '\0' x)
bad() { printf '{"detail-type":"Bad","source":"test.bad","time":"2026-03-02T09:00:00Z","detail":{"id":"%s"%s}}\n' "$1" "$2"; }
{
  for id in nothing both no-size no-every; do bad $id ',"items":["a"],"note":"abc"'; done
  bad not-list ',"anything":"a string"'
  bad too-many ",\"note\":\"$(head -c 100001 /dev/zero | tr '\0' y)\""
  bad no-threshold ''
  bad max-bytes ''
  bad big ",\"note\":\"$big\""
  printf '{"detail-type":"Half","source":"test.half","time":"2026-03-02T09:00:01Z","detail":{"id":"big","note":"%s"}}\n' "$big"
} > "$TMP/misuse.ndjson"
run misuse $D/misuse.flow "$TMP/misuse.ndjson"
ok $? "a run over calls that cannot work still succeeds"
[ ! -s "$TMP/misuse.out" ]
ok $? "nothing is emitted"
expect_dead() {   # expect_dead LINE REASON-SUBSTRING NAME
  jq -e -s --argjson l "$1" --arg r "$2" 'any(.[]; .line == $l and (.reason | contains($r)))' "$TMP/misuse.dl" >/dev/null
  ok $? "dead letter: $3"
}
expect_dead 1 "nothing to split: give \`over\` (a list), \`text\` with \`size\`, or \`span\` with \`every\`" "splitter with nothing to split"
expect_dead 2 "give one of \`over\`, \`text\` and \`span\`, not several" "splitter with two things to split"
expect_dead 3 "\`text\` needs \`size\`" "splitter(text) without size"
expect_dead 4 "\`span\` needs \`every\`" "splitter(span) without every"
expect_dead 5 "\`over\` must be a list, not a string" "splitter over a string"
expect_dead 6 "into 100001 rows; at most 100000" "splitter into too many rows"
expect_dead 7 "needs a threshold" "counter without a threshold"
expect_dead 8 "\`max_bytes\` is 300000; at most 245760" "stitcher with max_bytes over the limit"
expect_dead 10 "the Both event it would emit is 300" "combined event over 256 KB (EventBridge's limit)"
[ "$(jq -s length "$TMP/misuse.dl")" -eq 9 ]
ok $? "exactly one dead letter per mistake"
# --- docs/stdlib.md: every flow on the page compiles -------------------------
mkdir -p "$TMP/doc"
awk -v dir="$TMP/doc" '/^```flow/ { n++; f = sprintf("%s/%02d.flow", dir, n); inside = 1; next }
                       /^```/ { inside = 0; next } inside { print > f }' docs/stdlib.md
for f in "$TMP"/doc/*.flow; do
  "$EFC" check "$f" >/dev/null 2>"$TMP/doc.err"
  ok $? "docs/stdlib.md: flow example $(basename "$f" .flow) ($(head -1 "$f" | cut -c1-40)...) checks"
  [ -s "$TMP/doc.err" ] && diag < "$TMP/doc.err"
done
# A windowed stage fed by another: one jump of event time passes the
# deadlines of three windows; each close's output reaches the aggregator's
# window before it closes, so the first Total counts all three.
run chained $D/chained.flow $D/chained.ndjson --drain
ok $? "chained windows: efc run --drain succeeds"
same_file $D/chained.expected "$TMP/chained.out" "chained windows: windows close in deadline order, each close routed before the next"

done_testing
