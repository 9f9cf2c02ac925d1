#!/usr/bin/env bash
# efc serve against hostile input: path traversal in ids, huge bodies and
# headers, deep JSON and deep source, invalid UTF-8, garbage and truncated
# requests, and slow clients holding connections while others are served.
# After each, the server still answers, and it stops cleanly at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$ROOT"
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$TMP"' EXIT

"$EFC" compile tests/serve/timecard.flow -o "$TMP/out" 2>/dev/null
start_server h --store "$TMP/store.db" --load "$TMP/out" --timeout 2
PORT=${URL##*:}
alive() {   # alive NAME: the server answers GET /health
  req GET /health
  expect_status 200 "$1: the server still answers"
}

# --- path traversal -------------------------------------------------------------
for path in /flow/../../etc/passwd /flow/..%2F..%2Fetc%2Fpasswd /flow/%2e%2e%2f%2e%2e%2fetc%2fpasswd \
            /event/..%5C..%5Cwindows /flow/%2e%2e /event/.. /flow/.%2e /flow/%00 /flow/a%00b /event/%ff%fe; do
  req GET "$path" --path-as-is
  case $STATUS in 400|404) ! grep -q "root:" "$TMP/body" && jq -e '.error' "$TMP/body" > /dev/null ;; *) false ;; esac
  ok $? "GET $path: $STATUS with a JSON error, no file read"
done
req DELETE /flow/..%2F..%2Fstore.db --path-as-is
case $STATUS in 400|404) true ;; *) false ;; esac
ok $? "DELETE with a traversal id: $STATUS"
[ -s "$TMP/store.db" ]
ok $? "the store file is untouched"

# --- sizes ----------------------------------------------------------------------
head -c 50000000 /dev/zero > "$TMP/huge"
start=$(date +%s%N)
req POST /events -H 'Content-Type: application/json' --data-binary @"$TMP/huge"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
expect_error 413 payload_too_large "a 50 MB body: 413"
[ "$elapsed" -lt 5000 ]
ok $? "... answered at once, without reading it (${elapsed} ms)"
alive "after a 50 MB body"
exec 5<>"/dev/tcp/127.0.0.1/${URL##*:}"
# In a subshell: the server may close before all is written (SIGPIPE ends the writer only).
( printf 'GET /flow/'; head -c 200000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ) >&5 2>/dev/null
timeout 5 cat <&5 > "$TMP/long" 2>/dev/null
exec 5<&-
STATUS=$(head -1 "$TMP/long" | cut -d' ' -f2)
case ${STATUS:-closed} in 400|404|414|431|closed) true ;; *) false ;; esac
ok $? "a 200 kB path: ${STATUS:-connection closed}"
alive "after a 200 kB path"
req GET /health -H "X-Junk: $(head -c 100000 /dev/zero | tr '\0' b)"
case $STATUS in 400|413|431|000) true ;; *) false ;; esac
ok $? "a 100 kB header: $STATUS"
alive "after a 100 kB header"

# --- deep and malformed content -----------------------------------------------------------
{ printf '%*s' 100000 '' | tr ' ' '['; printf '%*s' 100000 '' | tr ' ' ']'; } > "$TMP/deep.json"
req POST /events -H 'Content-Type: application/json' --data-binary @"$TMP/deep.json"
expect_status 400 "JSON nested 100,000 deep: 400" '.error == "bad_request" and (.message | contains("nested deeper than"))'
req POST /route/ScreenCaptured --data-binary @"$TMP/deep.json"
expect_error 400 bad_request "the same to POST /route: 400"
detail=$(printf '%*s' 200 '' | tr ' ' '[')$(printf '%*s' 200 '' | tr ' ' ']')
req POST /events --data-binary "$(jq -nc --arg d "$detail" '{Entries: [{Source: "a", DetailType: "b", Detail: $d}]}')"
expect_status 200 "a Detail nested 200 deep is refused per entry" '.Entries[0].ErrorCode == "MalformedDetail"'
parens=$(printf '%*s' 3000 '' | tr ' ' '(')1$(printf '%*s' 3000 '' | tr ' ' ')')
req POST /flow --data-binary "flow deep { on ScreenCaptured where data.bytes > $parens -> emit TimecardEntry }"
case $STATUS in 400) jq -e '.error == "compile_error" or .error == "bad_request"' "$TMP/body" > /dev/null ;; *) false ;; esac
ok $? "an expression nested 3,000 deep: 400, no crash"
{ printf 'flow deeper { on ScreenCaptured where data.bytes > '; printf '%*s' 60000 '' | tr ' ' '('; printf 1
  printf '%*s' 60000 '' | tr ' ' ')'; printf ' -> emit TimecardEntry }'; } > "$TMP/deeper.flow"
req POST /flow --data-binary @"$TMP/deeper.flow"
expect_status 400 "an expression nested 60,000 deep: 400, no crash"
alive "after deep input"
printf 'flow \xff\xfe { on ScreenCaptured -> emit TimecardEntry }' > "$TMP/latin1"
req POST /flow -H 'Content-Type: text/plain' --data-binary @"$TMP/latin1"
expect_status 400 "invalid UTF-8 source: 400" '.message | contains("UTF-8")'
printf '{"source": "flow \xc3\x28 {}"}' > "$TMP/badjson"
req POST /flow -H 'Content-Type: application/json' --data-binary @"$TMP/badjson"
expect_error 400 bad_request "invalid UTF-8 inside JSON: 400"
printf '{"Entries": [{"Source": "a", "DetailType": "b", "Detail": "{\\"x\\": \\"\xed\xa0\x80\\"}"}]}' > "$TMP/surrogate"
req POST /events -H 'Content-Type: application/json' --data-binary @"$TMP/surrogate"
expect_error 400 bad_request "a UTF-8 surrogate in the body: 400"
printf 'flow nul { on ScreenCaptured \0 -> emit TimecardEntry }' > "$TMP/nul"
req POST /flow --data-binary @"$TMP/nul"
expect_error 400 bad_request "a NUL byte in the source: 400"
alive "after malformed content"

# --- broken requests on raw connections ---------------------------------------------
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
( printf 'GARBAGE\r\n\r\n' ) >&5 2>/dev/null
timeout 5 cat <&5 > "$TMP/garbage" 2>/dev/null
exec 5<&-
[ ! -s "$TMP/garbage" ] || grep -q "^HTTP/1.1 4" "$TMP/garbage"
ok $? "a garbage request line is refused"
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
( printf 'POST /flow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nflow half' ) >&5 2>/dev/null
exec 5<&-
alive "after a request cut short"

# --- slow clients ------------------------------------------------------------------------
# One connection sends half a request and stops; twenty hold idle connections.
exec 6<>"/dev/tcp/127.0.0.1/$PORT"
( printf 'POST /flow HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nflow slow {' ) >&6 2>/dev/null
for i in $(seq 10 29); do eval "exec $i<>/dev/tcp/127.0.0.1/$PORT"; done
start=$(date +%s%N)
served=0
for i in $(seq 1 20); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/flow/timecard")
  [ "$code" = 200 ] && served=$((served + 1))
done
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$served" -eq 20 ]
ok $? "while slow clients hold 21 connections, others are served ($served of 20 in ${elapsed} ms)"
# --timeout 2: the slow connection is closed by the server.
sleep 3
read -r -t 3 -u 6 line
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -le 128 ]
ok $? "the slow connection is closed after --timeout (read: $rc)"
exec 6<&-
for i in $(seq 10 29); do eval "exec $i<&-"; done
alive "after slow clients"

stop_server
[ "$STOP_STATUS" -eq 0 ]
ok $? "SIGTERM: clean exit"
! grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMP/h.err"
ok $? "no sanitizer report"
done_testing
