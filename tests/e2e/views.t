#!/usr/bin/env bash
# The views end to end, through the real `efc run`:
#  - summarizer against a loopback chat-completions server (tests/tools/
#    fake_llm.c) that checks each request (model, prompt, bearer key, the
#    image as base64, the text) and fails on demand: 500, a hang past the
#    timeout, malformed JSON, no choices, 429 then 200, 429 for ever; plus
#    what the blob store refuses and a missing endpoint;
#  - transcriber on speech made by espeak-ng from known sentences (several
#    WAV formats), or, in a build without pocketsphinx, its clear message.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
APP=tests/views/views.flow
PROMPT="What is on screen?"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
unset EFC_LLM_URL EFC_LLM_MODEL EFC_LLM_API_KEY EFC_LLM_TIMEOUT_MS EFC_LLM_RETRIES EFC_LLM_BACKOFF_MS \
      EFC_LLM_BACKOFF_MAX_MS EFC_LLM_MAX_TOKENS EFC_BLOB_DIR EFC_BLOB_MAX_BYTES EFC_POCKETSPHINX_MODELDIR

skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $1"; }
ms() { date +%s%3N; }

# --- the loopback server ---------------------------------------------------
start_fake_llm --model test-model --prompt "$PROMPT" --key test-key \
  --image tests/views/screen.png --text tests/views/notes.txt --hang-ms 20000
LLM="http://127.0.0.1:$PORT/v1"

# --- the blob folder -------------------------------------------------------
B="$TMP/blobs"
mkdir -p "$B/shots" "$TMP/empty"
cp tests/views/screen.png "$B/shots/screen.png"
cp tests/views/other.png tests/views/notes.txt "$B/"
cp tests/views/screen.png "$TMP/outside.png"
ln -s ../outside.png "$B/link.png"
printf 'RIFF\044\0\0\0WAVEfmt ' > "$B/clip.wav"

shot() {   # shot SECOND URI MIME [MODEL]
  local model=""
  [ -n "$4" ] && model=",\"model\":\"$4\""
  printf '{"version":"0","id":"e%s","detail-type":"Screen Captured","source":"test.capture","time":"2026-11-23T09:00:%02dZ","detail":{"profile":{"session_id":"s1","user":"ana"},"application":{"name":"Editor"},"data":{"uri":"%s","mime":"%s","bytes":228}%s}}\n' \
    "$1" "$1" "$2" "$3" "$model"
}
doc() { printf '{"detail-type":"Doc","source":"test.docs","time":"2026-11-23T09:00:%02dZ","detail":{"user":"ana","path":"%s"}}\n' "$1" "$2"; }
audio() {  # audio SECOND URI [LANG]
  local lang=""
  [ -n "$3" ] && lang=",\"lang\":\"$3\""
  printf '{"detail-type":"Audio Captured","source":"test.capture","time":"2026-11-23T09:01:%02dZ","detail":{"profile":{"session_id":"s1","user":"ana"},"data":{"uri":"%s","mime":"audio/wav","bytes":1000,"duration_ms":2500}%s}}\n' \
    "$1" "$2" "$lang"
}
llm_env() { env EFC_LLM_URL="$LLM" EFC_LLM_MODEL=test-model EFC_LLM_API_KEY=test-key EFC_LLM_RETRIES=2 \
  EFC_LLM_BACKOFF_MS=10 EFC_LLM_BACKOFF_MAX_MS=50 EFC_LLM_TIMEOUT_MS=5000 "$@"; }
expect_dead() {   # expect_dead FILE LINE REASON-SUBSTRING NAME
  jq -e -s --argjson l "$2" --arg r "$3" 'any(.[]; .line == $l and (.reason | contains($r)))' "$1" >/dev/null
  local rc=$?
  ok $rc "$4"
  [ $rc -eq 0 ] || jq -r --argjson l "$2" 'select(.line == $l) | .reason' "$1" | diag
}

# --- summarizer: answers and every kind of failure in one run --------------
{
  shot 1 shots/screen.png image/png                       # 1 the default model (EFC_LLM_MODEL)
  shot 2 "file://$B/shots/screen.png" image/png test-model  # 2 file:// and the call's model
  doc 3 notes.txt                                         # 3 text content, `uri:` given, in a flow
  shot 4 shots/screen.png image/png fail-500              # 4
  shot 5 shots/screen.png image/png malformed             # 5
  shot 6 shots/screen.png image/png no-choices            # 6
  shot 7 shots/screen.png image/png flaky-429             # 7 429, then 200 on the retry
  shot 8 shots/screen.png image/png always-429            # 8
  shot 9 other.png image/png                              # 9 the server sees a different image
  shot 10 missing.png image/png                           # 10
  shot 11 ../outside.png image/png                        # 11
  shot 12 link.png image/png                              # 12 a symbolic link out of the folder
  shot 13 s3://captures/shot.png image/png                # 13
  shot 14 clip.wav audio/wav                              # 14 not an image
} > "$TMP/shots.ndjson"
llm_env "$EFC" run "$APP" --blobs "$B" --events "$TMP/shots.ndjson" --out "$TMP/shots.out" \
  --dead-letter "$TMP/shots.dl" 2>"$TMP/shots.err"
ok $? "efc run succeeds although most calls fail"
jq -e -s 'length == 4' "$TMP/shots.out" >/dev/null
ok $? "four summaries are emitted ($(jq -s length "$TMP/shots.out"))"
jq -e -s '[.[] | select(."detail-type" == "Summary") | .detail.summary] ==
  ["A summary of an image/png image (model test-model).", "A summary of an image/png image (model test-model).",
   "A summary of an image/png image (model flaky-429)."]' "$TMP/shots.out" >/dev/null
ok $? "the summaries are the server's answers, trimmed, in input order"
jq -e -s '.[0].detail | .profile.user == "ana" and .application.name == "Editor" and .data.uri == "shots/screen.png"
  and (has("model") | not)' "$TMP/shots.out" >/dev/null
ok $? "a summary event keeps the input row's fields ({...input, summary})"
jq -e -s '[.[] | select(."detail-type" == "DocSummary") | .detail] == [{"user": "ana", "text": "A summary of a text (model test-model)."}]' \
  "$TMP/shots.out" >/dev/null
ok $? "text content is sent as text, from the call's uri: (in a flow, then map)"
expect_dead "$TMP/shots.dl" 4 "HTTP 500: the model crashed (after 3 attempts)" "500: dead letter after 1 + 2 retries"
expect_dead "$TMP/shots.dl" 5 "the response is not JSON" "malformed JSON: dead letter"
expect_dead "$TMP/shots.dl" 6 "no choices[0].message" "a response without choices: dead letter"
expect_dead "$TMP/shots.dl" 8 "HTTP 429: rate limited (after 3 attempts)" "429 for ever: dead letter after the retries"
expect_dead "$TMP/shots.dl" 9 "HTTP 400: fake_llm: the image payload" "the server checks the image payload (a different image is refused)"
expect_dead "$TMP/shots.dl" 10 "cannot read missing.png: No such file" "a missing file: dead letter"
expect_dead "$TMP/shots.dl" 11 "leaves the blob root (\`..\` is not allowed)" "a relative URI with .. : dead letter"
expect_dead "$TMP/shots.dl" 12 "leaves the blob root (through a symbolic link)" "a symbolic link out of the blob root: dead letter"
expect_dead "$TMP/shots.dl" 13 "s3://captures/shot.png: s3:// needs AWS support, not available in local runs yet" "s3:// URIs: a clear error"
expect_dead "$TMP/shots.dl" 14 "holds audio/wav; the summarizer reads images and text" "audio sent to the summarizer: dead letter"
jq -e -s 'length == 10 and all(.[]; .event.source == "test.capture" and (.reason | contains("call summarizer")))' "$TMP/shots.dl" >/dev/null
ok $? "exactly 10 dead letters, each with its event and the stage that failed"
grep -q '14 events read, 14 matched a rule, 4 emitted, 10 dead-lettered' "$TMP/shots.err"
ok $? "the summary line counts them"
[ "$(grep -c '^fail-500 500$' "$TMP/llm.log")" -eq 3 ] && [ "$(grep -c '^always-429 429$' "$TMP/llm.log")" -eq 3 ]
ok $? "retries are bounded: 3 attempts for 500 and for 429 (EFC_LLM_RETRIES=2)"
[ "$(grep '^flaky-429 ' "$TMP/llm.log" | tr '\n' ' ')" = "flaky-429 429 flaky-429 200 " ]
ok $? "429 then 200: retried once, then answered"
[ "$(grep -c '^malformed ' "$TMP/llm.log")" -eq 1 ] && [ "$(grep -c '^no-choices ' "$TMP/llm.log")" -eq 1 ]
ok $? "a malformed answer is not retried"
[ "$(grep -c '^test-model 200$' "$TMP/llm.log")" -eq 3 ] && [ "$(grep -c '^test-model 400$' "$TMP/llm.log")" -eq 1 ]
ok $? "the server accepted every good request (model, prompt, key, image, text) and refused only the other image"

# --- a hang is cut off by the timeout, in bounded time ---------------------
shot 1 shots/screen.png image/png hang > "$TMP/hang.ndjson"
t0=$(ms)
llm_env EFC_LLM_TIMEOUT_MS=700 EFC_LLM_RETRIES=1 "$EFC" run "$APP" --blobs "$B" --events "$TMP/hang.ndjson" \
  --dead-letter "$TMP/hang.dl" >/dev/null 2>&1
rc=$?
elapsed=$(($(ms) - t0))
ok $rc "a server that never answers: the run still succeeds"
expect_dead "$TMP/hang.dl" 1 "no answer within 700 ms (EFC_LLM_TIMEOUT_MS) (after 2 attempts)" "a hang: dead letter after the timeout and one retry"
[ "$elapsed" -lt 6000 ]
ok $? "the timeout bounds the wall time: ${elapsed} ms for 2 x 700 ms (the server hangs 20 s)"

# --- no endpoint, a refused connection, a wrong key, no model --------------
shot 1 shots/screen.png image/png > "$TMP/one.ndjson"
"$EFC" run "$APP" --blobs "$B" --events "$TMP/one.ndjson" --dead-letter "$TMP/nourl.dl" >/dev/null 2>&1
ok $? "no EFC_LLM_URL: the run succeeds"
expect_dead "$TMP/nourl.dl" 1 "no LLM endpoint: set EFC_LLM_URL" "no EFC_LLM_URL: a dead letter that says what to set"
llm_env EFC_LLM_URL=http://127.0.0.1:1/v1 EFC_LLM_RETRIES=1 "$EFC" run "$APP" --blobs "$B" --events "$TMP/one.ndjson" \
  --dead-letter "$TMP/refused.dl" >/dev/null 2>&1
jq -e '.line == 1 and (.reason | contains("POST http://127.0.0.1:1/v1/chat/completions: ") and contains("(after 2 attempts)"))' \
  "$TMP/refused.dl" >/dev/null
ok $? "a refused connection: dead letter after the retry ($(jq -r .reason "$TMP/refused.dl" | sed 's/.*completions: //'))"
llm_env EFC_LLM_API_KEY=wrong-key "$EFC" run "$APP" --blobs "$B" --events "$TMP/one.ndjson" --dead-letter "$TMP/key.dl" >/dev/null 2>&1
expect_dead "$TMP/key.dl" 1 "HTTP 400: fake_llm: missing or wrong Authorization: Bearer key" "the key is sent as a bearer token (a wrong one is refused)"
llm_env EFC_LLM_MODEL= "$EFC" run "$APP" --blobs "$B" --events "$TMP/one.ndjson" --dead-letter "$TMP/nomodel.dl" >/dev/null 2>&1
expect_dead "$TMP/nomodel.dl" 1 "no model: set EFC_LLM_MODEL or give the call a \`model:\`" "no model anywhere: dead letter"

# --- where relative URIs are read from -------------------------------------
(cd "$B" && llm_env "$EFC" run "$ROOT/$APP" --events "$TMP/one.ndjson" --out "$TMP/cwd.out" 2>/dev/null)
jq -e '.detail.summary | startswith("A summary")' "$TMP/cwd.out" >/dev/null
ok $? "relative URIs are read from the current folder by default"
llm_env EFC_BLOB_DIR="$B" "$EFC" run "$APP" --events "$TMP/one.ndjson" --out "$TMP/env.out" 2>/dev/null
jq -e '.detail.summary | startswith("A summary")' "$TMP/env.out" >/dev/null
ok $? "EFC_BLOB_DIR names the blob folder"
llm_env EFC_BLOB_DIR="$TMP/empty" "$EFC" run "$APP" --blobs "$B" --events "$TMP/one.ndjson" --out "$TMP/both.out" 2>/dev/null
jq -e '.detail.summary | startswith("A summary")' "$TMP/both.out" >/dev/null
ok $? "--blobs wins over EFC_BLOB_DIR"
llm_env EFC_BLOB_MAX_BYTES=100 "$EFC" run "$APP" --blobs "$B" --events "$TMP/one.ndjson" --dead-letter "$TMP/max.dl" >/dev/null 2>&1
expect_dead "$TMP/max.dl" 1 "shots/screen.png is 228 bytes, over the limit of 100 (EFC_BLOB_MAX_BYTES)" "content over the size limit: dead letter"
"$EFC" run "$APP" --blobs "$TMP/nowhere" --events "$TMP/one.ndjson" >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q 'not a folder' "$TMP/err"
ok $? "--blobs that is not a folder: a usage error"

# --- transcriber -----------------------------------------------------------
S1="one two three four five six seven"
S2="the weather today is sunny and warm"
{
  audio 1 s1.wav             # 1 espeak-ng's own format: 22050 Hz mono 16-bit
  audio 2 s2.wav en-US       # 2
  audio 3 s1-stereo.wav      # 3 44.1 kHz stereo
  audio 4 s1-8k.wav          # 4 8 kHz 8-bit
  audio 5 s1.wav fr-FR       # 5
  audio 6 shots/screen.png   # 6 not audio
  audio 7 clip.wav           # 7 a damaged WAV
  audio 8 gone.wav           # 8
} > "$TMP/audio.ndjson"
# the key words that must come out: at least 2 of them (recognition is not perfect)
words_found() { local n=0; for w in $2; do echo " $1 " | grep -qw "$w" && n=$((n + 1)); done; echo $n; }
if pkg-config --exists pocketsphinx; then
  if command -v espeak-ng >/dev/null; then
    espeak-ng -v en-us -s 150 -w "$B/s1.wav" "$S1" && espeak-ng -v en-us -s 150 -w "$B/s2.wav" "$S2"
    ok $? "espeak-ng speaks the two sentences"
    if command -v sox >/dev/null; then
      sox "$B/s1.wav" -r 44100 -c 2 "$B/s1-stereo.wav" && sox "$B/s1.wav" -r 8000 -b 8 -e unsigned "$B/s1-8k.wav"
    else
      cp "$B/s1.wav" "$B/s1-stereo.wav"; cp "$B/s1.wav" "$B/s1-8k.wav"
    fi
    t0=$(ms)
    "$EFC" run "$APP" --blobs "$B" --events "$TMP/audio.ndjson" --out "$TMP/audio.out" --dead-letter "$TMP/audio.dl" 2>"$TMP/audio.err"
    ok $? "efc run transcribes ($(($(ms) - t0)) ms)"
    t() { jq -r --arg id "$1" 'select(.detail.data.uri == $id) | .detail.transcript' "$TMP/audio.out" | head -1; }
    for f in s1.wav:"$S1":"two three four five six" s2.wav:"$S2":"weather today sunny warm" \
             s1-stereo.wav:"$S1":"two three four five six" s1-8k.wav:"$S1":"two three four five six"; do
      IFS=: read -r file sentence keys <<<"$f"
      got=$(t "$file")
      n=$(words_found "$got" "$keys")
      [ "$n" -ge 2 ]
      ok $? "$file: \"$sentence\" heard as \"$got\" ($n of: $keys)"
    done
    [ -z "$(sox --version 2>/dev/null)" ] && echo "# sox is missing: the stereo and 8 kHz cases used the mono file"
    jq -e -s 'length == 4 and all(.[]; ."detail-type" == "Heard" and .detail.profile.user == "ana")' "$TMP/audio.out" >/dev/null
    ok $? "four Heard events, keeping the input row's fields"
    expect_dead "$TMP/audio.dl" 5 "language \`fr-FR\`: the local recognizer (pocketsphinx) has a US English model only" "an unsupported language: dead letter"
    expect_dead "$TMP/audio.dl" 6 "is image/png, not WAV audio" "an image sent to the transcriber: dead letter"
    expect_dead "$TMP/audio.dl" 7 "damaged WAV file" "a damaged WAV: dead letter"
    expect_dead "$TMP/audio.dl" 8 "cannot read gone.wav" "a missing file: dead letter"
    "$EFC" run "$APP" --blobs "$B" --events "$TMP/audio.ndjson" --out "$TMP/audio2.out" 2>/dev/null
    cmp -s "$TMP/audio.out" "$TMP/audio2.out"
    ok $? "transcripts are the same from run to run"
  else
    skip "espeak-ng is not installed: no speech to transcribe"
  fi
else
  audio 1 shots/screen.png > "$TMP/nops.ndjson"
  "$EFC" run "$APP" --blobs "$B" --events "$TMP/nops.ndjson" --dead-letter "$TMP/nops.dl" >/dev/null 2>&1
  ok $? "without pocketsphinx the run still succeeds"
  expect_dead "$TMP/nops.dl" 1 "transcriber: this efc was built without pocketsphinx (install libpocketsphinx-dev and pocketsphinx-en-us, then rebuild)" \
    "without pocketsphinx: the clear message"
fi
done_testing
