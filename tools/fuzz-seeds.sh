#!/bin/sh
# tools/fuzz-seeds.sh [EFC] — (re)generates the seed corpora fuzz/corpus/<name>/
# from the examples and the tests.  Run from the top of the tree after
# `make`; the output is committed (make check replays it), so run it again
# when the examples or test data change much.  Uses jq and build/efc.
set -e
efc=${1:-build/efc}
out=fuzz/corpus
rm -rf "$out"
mkdir -p "$out/compile" "$out/image" "$out/match" "$out/run" "$out/serve"
flows="examples/*/*.flow tests/stdlib/*.flow tests/serve/*.flow tests/views/*.flow tests/run/*.flow tests/errors/*.flow fuzz/run_app.flow"

# compile: .flow sources (the error cases too), the small ones.
for f in $flows; do
  [ "$(wc -c < "$f")" -le 8192 ] || continue
  cp "$f" "$out/compile/$(echo "$f" | tr / _ | sed "s/\.flow$//")"
done

# image: the images of the sources that compile.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in $flows; do
  case $f in tests/errors/*) continue;; esac
  name=$(echo "$f" | tr / _ | sed 's/\.flow$//')
  if "$efc" compile "$f" -o "$tmp/$name" >/dev/null 2>&1; then cp "$tmp/$name"/*.efb "$out/image/$name.efb"; fi
done

# match: "pattern\nevent" from the conformance cases; patterns alone from
# the invalid ones (every few, to keep the corpus small).
jq -c '.[] | [.pattern, .event]' tests/match/conformance.json | awk 'NR % 8 == 1' | {
  i=0
  while IFS= read -r pair; do
    i=$((i + 1))
    printf '%s\n%s' "$(echo "$pair" | jq -c '.[0]')" "$(echo "$pair" | jq -c '.[1]')" > "$out/match/conformance-$i"
  done
}
jq -c '.[] | .pattern' tests/match/invalid.json | awk 'NR % 4 == 1' | {
  i=0
  while IFS= read -r p; do i=$((i + 1)); printf '%s' "$p" > "$out/match/invalid-$i"; done
}

# run: the stdlib tests' inputs in pieces of 6 lines (the fixed app declares
# their Ping, Chunk, Activity, Video and Audio), and a few hand-made lines.
for f in tests/stdlib/*.ndjson; do
  split -l 6 -d "$f" "$out/run/$(basename "$f" .ndjson)-"
done
cat > "$out/run/ping-all-fields" <<'NDJSON'
{"detail-type":"Ping","source":"test.ping","time":"2026-03-02T09:00:00Z","detail":{"user":"a","n":3,"items":["tea","cake","bun"],"note":"héllo wörld","ms":65000}}
{"detail-type":"Ping","source":"test.ping","time":"2026-03-02T09:00:30Z","detail":{"user":"a","n":0,"items":[],"note":"","ms":0}}
{"detail-type":"Ping","source":"test.ping","time":"2026-03-02T09:05:00Z","detail":{"user":"b","n":-7}}
NDJSON
printf '%s\n' '{"detail-type":"Ping"' '[1,2]' '"text"' 'null' '{"detail-type":"Ping","source":"test.ping","time":"x","detail":{}}' \
  '{"detail-type":"Ping","source":"test.ping","time":"2026-03-02T09:00:00Z","detail":{"user":"a","n":1}} trailing' \
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]' \
  > "$out/run/not-events"

# serve: request sequences (see fuzz/fuzz_serve.c for the layout).
req() { printf '%s' "$2" > "$out/serve/$1"; }
ping='{"Entries":[{"Source":"test.ping","DetailType":"Ping","Time":"2026-03-02T09:00:00Z","Detail":"{\"user\":\"a\",\"n\":1,\"note\":\"abcdefgh\"}"}]}'
idle='event IdleSeen { user: string }

flow idle {
  on Ping where n > 1
  | map { user: user }
  -> emit IdleSeen
}'
req health "GET /health
"
req list-events "GET /events
"
req get-event "GET /event/Ping
"
req list-flows "GET /flows
"
req get-flow "GET /flow/counts
"
req missing-id "GET /flow/nope
"
req bad-method "PUT /flows
"
req put-events "POST /events
Content-Type: application/json

$ping"
req put-events-raw "POST /events
Content-Type: application/json

{\"detail-type\":\"Ping\",\"source\":\"test.ping\",\"time\":\"2026-03-02T09:00:00Z\",\"detail\":{\"user\":\"a\",\"n\":2}}"
req create-flow "POST /flow
Content-Type: text/plain

$idle"
req create-flow-json "POST /flow?app=other
Content-Type: application/json

{\"source\":\"event Seen { user: string }\\nflow seen {\\n  on Ping\\n  | map { user: user }\\n  -> emit Seen\\n}\\n\"}"
req create-then-run "POST /flow
Content-Type: text/plain

$idle
===
POST /events
Content-Type: application/json

$ping
===
GET /flow/idle
===
DELETE /flow/idle
"
req delete-flow "DELETE /flow/ratio
===
GET /flows
"
req set-route "POST /route/Ping
Content-Type: application/json

{\"rules\":[{\"rule\":\"r-counts\",\"entry\":\"counts\",\"kind\":\"flow\",\"pattern\":{\"source\":[\"test.ping\"],\"detail-type\":[\"Ping\"],\"detail\":{\"user\":[{\"prefix\":\"a\"}]}}}]}
===
POST /events
Content-Type: application/json

$ping"
req token "GET /events
Authorization: Bearer nope
Host: 127.0.0.1:8080
Origin: http://example.com
"
