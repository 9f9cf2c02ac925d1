#!/usr/bin/env bash
# Event data never names a file (design decision 12, issue 9 finding 1):
# a flow stored through POST /flow reads the blob and writes the index an
# event names, and an API client chooses the event.  Through the real
# `efc serve` and `efc run`:
#  - without --blob-root / --index-dir the server reads and writes nothing;
#  - with them, names are resolved inside those folders: absolute paths,
#    file:// outside, `..`, links out and the store itself are refused with
#    the same answer whether or not the file exists, and no byte of a file
#    outside reaches the answer or the LLM endpoint (a loopback fake);
#  - efc run: the blob root is --blobs, else $EFC_BLOB_DIR, else the folder
#    of the --events file; escapes are dead letters and the run goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$ROOT"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
unset EFC_LLM_URL EFC_LLM_MODEL EFC_LLM_API_KEY EFC_LLM_TIMEOUT_MS EFC_LLM_RETRIES EFC_BLOB_DIR EFC_BLOB_MAX_BYTES

PROMPT="What is on screen?"
start_fake_llm --model test-model --prompt "$PROMPT" --text tests/views/notes.txt
trap 'kill $SERVER 2>/dev/null; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$TMP"' EXIT
export EFC_LLM_URL="http://127.0.0.1:$PORT/v1" EFC_LLM_MODEL=test-model EFC_LLM_RETRIES=0 EFC_LLM_TIMEOUT_MS=5000

# A secret outside every root, and the folders the server is given.
mkdir -p "$TMP/blobs/docs" "$TMP/ix"
printf 'root:x:0:0:secret-canary:/root:/bin/bash\n' > "$TMP/secret.txt"
cp tests/views/notes.txt "$TMP/blobs/docs/notes.txt"
ln -s ../secret.txt "$TMP/blobs/link.txt"

cat > "$TMP/doc.flow" <<'EOF'
import std.views

event Doc from "test.docs" {
  path: string
}

event DocSummary {
  text: string
}

flow docs {
  on Doc
  | summarizer(prompt: "What is on screen?", uri: path)
  | map { text: summary }
  -> emit DocSummary
}
EOF
cat > "$TMP/memo.flow" <<'EOF'
import std.index

event Memo from "test.memo" {
  index: string
  text: string
}

event Indexed {
  text: string
}

flow memos {
  on Memo
  | indexer(index: index, title: "memo", text: text)
  | map { text: text }
  -> emit Indexed
}
EOF

post_flow() {   # post_flow FILE
  req POST /flow -H 'Content-Type: text/x-efc' --data-binary @"$1"
  expect_status 201 "POST /flow $(basename "$1")"
}
doc() {   # doc PATH: POST /events with a Doc naming PATH; the answer in $TMP/body
  req POST /events -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --arg p "$1" '{source: "test.docs", "detail-type": "Doc", detail: {path: $p}}')"
}
memo() {  # memo INDEX
  req POST /events -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --arg i "$1" '{source: "test.memo", "detail-type": "Memo", detail: {index: $i, text: "hello"}}')"
}
# refused NAME REASON: the last answer rejected its entry with REASON and
# shows nothing of the secret.
refused() {
  jq -e --arg r "$2" '.FailedEntryCount == 1 and .Entries[0].ErrorCode == "EventRejected"
    and (.Entries[0].ErrorMessage | contains($r)) and (.Emitted | length == 0)' "$TMP/body" > /dev/null \
    && ! grep -q 'secret-canary\|root:x' "$TMP/body"
  ok $? "$1"
  [ $? -eq 0 ] || head -c 600 "$TMP/body" | diag
}
message() { jq -r '.Entries[0].ErrorMessage' "$TMP/body"; }
llm_requests() { if [ -f "$TMP/llm.log" ]; then wc -l < "$TMP/llm.log"; else echo 0; fi; }

# --- efc serve without --blob-root / --index-dir: nothing is read or written ---
cd "$TMP"   # where a relative index name would land if it were honoured
start_server bare --store "$TMP/bare.db"
post_flow "$TMP/doc.flow"
post_flow "$TMP/memo.flow"
for p in /etc/passwd "$TMP/secret.txt" "file://$TMP/secret.txt" ../../../etc/passwd docs/notes.txt; do
  doc "$p"
  expect_status 200 "POST /events with path $p: 200"
  refused "path $p: refused, no blob root is configured" "no blob root is configured"
done
memo "$TMP/evil.sqlite"
refused "index $TMP/evil.sqlite: refused, no index folder is configured" "no index folder is configured"
memo "bare.db"
refused "index bare.db (the store's name): refused" "no index folder is configured"
[ ! -e "$TMP/evil.sqlite" ] && ! grep -q entries_fts "$TMP/bare.db"
ok $? "no index file is created, and the store did not become one"
[ "$(llm_requests)" -eq 0 ]
ok $? "nothing was sent to the LLM endpoint"
stop_server
[ "$STOP_STATUS" -eq 0 ]
ok $? "the server stops cleanly"

# --- efc serve with the folders: names resolve inside them -------------------
start_server rooted --store "$TMP/ix/store.db" --blob-root "$TMP/blobs" --index-dir "$TMP/ix"
post_flow "$TMP/doc.flow"
post_flow "$TMP/memo.flow"
doc docs/notes.txt
expect_status 200 "a name inside the blob root is read and summarized" \
  '.FailedEntryCount == 0 and .Emitted[0].detail.text == "A summary of a text (model test-model)."'
doc "file://$TMP/blobs/docs/notes.txt"
expect_status 200 "a file:// URI inside the blob root is read" '.FailedEntryCount == 0 and (.Emitted | length == 1)'
sent=$(llm_requests)
doc /etc/passwd
refused "/etc/passwd: refused, leaves the blob root" "/etc/passwd: the blob name leaves the blob root (an absolute path outside it)"
doc /etc/no-such-efc-file
refused "a missing absolute file: the same refusal" "the blob name leaves the blob root (an absolute path outside it)"
[ "$(message | sed 's/.*: the blob name/the blob name/')" = "the blob name leaves the blob root (an absolute path outside it)" ]
ok $? "an existing and a missing file outside get the same answer (existence does not leak)"
doc "file:///etc/passwd"
refused "file:///etc/passwd: refused" "leaves the blob root (an absolute path outside it)"
doc "$TMP/secret.txt"
refused "an absolute path next to the root: refused" "leaves the blob root"
doc "../secret.txt"
refused "../secret.txt: refused" "leaves the blob root (\`..\` is not allowed)"
doc "docs/../../secret.txt"
refused "docs/../../secret.txt: refused" "leaves the blob root"
doc "file://$TMP/blobs/../secret.txt"
refused "file:// inside the root by prefix, out by ..: refused" "leaves the blob root"
doc link.txt
refused "a symbolic link out of the root: refused" "leaves the blob root (through a symbolic link)"
req POST /events -H 'Content-Type: application/json' \
  --data-binary '{"source": "test.docs", "detail-type": "Doc", "detail": {"path": "docs/notes.txt\u0000/../../secret.txt"}}'
refused "a name with a NUL byte: refused" "the blob name holds a NUL byte"
doc ""
refused "an empty name: refused" "the blob name is empty"
[ "$(llm_requests)" -eq "$sent" ]
ok $? "no refused name reached the LLM endpoint"
memo kb.sqlite
expect_status 200 "indexer: a plain name is written in the index folder" '.FailedEntryCount == 0'
[ -s "$TMP/ix/kb.sqlite" ]
ok $? "... as $TMP/ix/kb.sqlite"
memo "../escaped.sqlite"
refused "index ../escaped.sqlite: refused" "leaves the index folder"
memo "$TMP/abs.sqlite"
refused "an absolute index path: refused" "leaves the index folder"
memo store.db
refused "the server's own store as an index: refused" "it is not an index written by the indexer"
memo store.db.state
refused "the server's state file as an index: refused" "it is not an index written by the indexer"
[ ! -e "$TMP/escaped.sqlite" ] && [ ! -e "$TMP/abs.sqlite" ]
ok $? "no index file is created outside the index folder"
req GET /flows
expect_status 200 "the store still works" 'length == 2'
stop_server
[ "$STOP_STATUS" -eq 0 ]
ok $? "the server stops cleanly"
"$EFC" serve --store :memory: --blob-root "$TMP/nothing-here" > /dev/null 2> "$TMP/nobr.err"
[ $? -eq 2 ] && grep -q "efc serve: --blob-root $TMP/nothing-here: not a folder" "$TMP/nobr.err"
ok $? "--blob-root that is not a folder: exit 2, named"
"$EFC" serve --help | grep -q -- '--blob-root DIR' && "$EFC" serve --help | grep -q -- '--index-dir DIR'
ok $? "efc serve --help documents --blob-root and --index-dir"

# --- efc run: the blob root defaults to the input's folder ------------------
mkdir -p "$TMP/run/docs"
cp "$ROOT/tests/views/notes.txt" "$TMP/run/docs/notes.txt"
ev() { jq -nc --arg p "$1" '{"detail-type": "Doc", source: "test.docs", time: "2026-11-23T09:00:00Z", detail: {path: $p}}'; }
{
  ev docs/notes.txt          # 1 inside the input's folder
  ev /etc/passwd             # 2
  ev ../secret.txt           # 3
  ev "file://$TMP/secret.txt" # 4
  ev docs/notes.txt          # 5
} > "$TMP/run/events.ndjson"
sent=$(llm_requests)
"$EFC" run "$TMP/doc.flow" --events "$TMP/run/events.ndjson" --out "$TMP/run.out" --dead-letter "$TMP/run.dl" 2> "$TMP/run.err"
ok $? "efc run goes on past the refused names"
[ "$(jq -s length "$TMP/run.out")" -eq 2 ]
ok $? "names inside the input's folder are read (2 summaries)"
dl() { jq -e -s --argjson l "$1" --arg r "$2" 'any(.[]; .line == $l and (.reason | contains($r)))' "$TMP/run.dl" > /dev/null; ok $? "$3"; }
dl 2 "leaves the blob root (an absolute path outside it)" "efc run: /etc/passwd is a dead letter"
dl 3 "leaves the blob root (\`..\` is not allowed)" "efc run: ../secret.txt is a dead letter"
dl 4 "leaves the blob root (an absolute path outside it)" "efc run: file:// outside is a dead letter"
! grep -q 'secret-canary' "$TMP/run.out" "$TMP/run.dl" && [ "$(( $(llm_requests) - sent ))" -eq 2 ]
ok $? "nothing of the secret is read or sent"
ev secret.txt > "$TMP/one.ndjson"
"$EFC" run "$TMP/doc.flow" --events "$TMP/one.ndjson" --blobs "$TMP/blobs" --dead-letter "$TMP/one.dl" > /dev/null 2>&1
jq -e 'select(.reason | contains("cannot read secret.txt: No such file"))' "$TMP/one.dl" > /dev/null
ok $? "--blobs wins over the input's folder"
EFC_BLOB_DIR="$TMP/blobs" "$EFC" run "$TMP/doc.flow" --events "$TMP/one.ndjson" --dead-letter "$TMP/env.dl" > /dev/null 2>&1
jq -e 'select(.reason | contains("cannot read secret.txt: No such file"))' "$TMP/env.dl" > /dev/null
ok $? "\$EFC_BLOB_DIR wins over the input's folder"
(cd "$TMP/run" && "$EFC" run "$TMP/doc.flow" --events - --out "$TMP/stdin.out" < "$TMP/run/events.ndjson" 2>/dev/null)
[ "$(jq -s length "$TMP/stdin.out")" -eq 2 ]
ok $? "input from stdin: the blob root is the current folder"

done_testing
