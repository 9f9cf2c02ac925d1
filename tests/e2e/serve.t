#!/usr/bin/env bash
# efc store and efc serve end to end, over real HTTP on loopback: the
# command lines, the store's round trip (efc compile output loaded, dumped,
# listed and fetched back equal), every endpoint with its success and each
# of its error statuses, the token, body limits, and a clean stop on
# SIGTERM that loses no acknowledged write.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$ROOT"
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$TMP"' EXIT

# --- command lines -------------------------------------------------------
"$EFC" serve --help > "$TMP/help" 2>&1
ok $? "efc serve --help"
grep -q "POST /route/{id}" "$TMP/help"
ok $? "the help lists the endpoints"
"$EFC" serve --bogus > /dev/null 2>&1
[ $? -eq 2 ]
ok $? "an unknown option is bad usage (2)"
"$EFC" serve --listen 0.0.0.0:0 --store :memory: > /dev/null 2> "$TMP/err"
[ $? -eq 2 ] && grep -q "give --token" "$TMP/err"
ok $? "a non-loopback address without --token is refused"
"$EFC" serve --listen nowhere --store :memory: > /dev/null 2> "$TMP/err"
[ $? -eq 2 ] && grep -q "HOST:PORT" "$TMP/err"
ok $? "a malformed --listen is refused"
"$EFC" serve --allow-host 'a b' --store :memory: > /dev/null 2> "$TMP/err"
[ $? -eq 2 ] && grep -q "allow-host" "$TMP/err"
ok $? "an --allow-host that is not a host name is refused"
grep -q "allow-host NAME" "$TMP/help" && grep -q "Security" "$TMP/help"
ok $? "the help tells of --allow-host and the checks"
start_server ah --store :memory: --allow-host efc.test --allow-host proxy.test:443
req GET /health -H 'Host: efc.test:9000'
expect_status 200 "--allow-host NAME: Host NAME with any port is answered"
req GET /health -H 'Host: proxy.test'
expect_error 421 misdirected_request "--allow-host NAME:PORT: only that port"
req GET /health -H 'Host: other.test'
expect_error 421 misdirected_request "another name: 421"
stop_server
"$EFC" store --help | grep -q "efc store load"
ok $? "efc store --help"
"$EFC" store frobnicate > /dev/null 2>&1
[ $? -eq 2 ]
ok $? "efc store with an unknown action is bad usage"

# --- the store: compile output in, the same bytes out ----------------------
for ex in timecard/timecard productivity-coach/coach knowledge-base/kb; do
  name=${ex%/*}
  "$EFC" compile "examples/$ex.flow" -o "$TMP/out-$name" 2>/dev/null
  "$EFC" store load "$TMP/out-$name" --store "$TMP/$name.db" 2> "$TMP/err"
  ok $? "$name: efc store load"
  "$EFC" store dump --store "$TMP/$name.db" > "$TMP/$name.dump"
  same_file "$TMP/out-$name/event-store.json" "$TMP/$name.dump" "$name: efc store dump gives back event-store.json byte for byte"
done
# The server parts use a frozen copy of the timecard example.
"$EFC" compile tests/serve/timecard.flow -o "$TMP/out-served" 2>/dev/null
"$EFC" store dump --store "$TMP/timecard.db" -o "$TMP/dump-o.json" --table Other
jq -e '.[0].RequestItems | has("Other")' "$TMP/dump-o.json" > /dev/null
ok $? "efc store dump -o FILE --table NAME"
# Two applications in one store: the shared event keeps both applications' rules.
for app in shop audit; do
  "$EFC" compile "tests/serve/$app.flow" -o "$TMP/out-$app" 2>/dev/null &&
    "$EFC" store load "$TMP/out-$app" --store "$TMP/all.db" 2>/dev/null || break
done
ok $? "two applications load into one store"
"$EFC" store dump --store "$TMP/all.db" > "$TMP/all.dump"
jq -e '[.[].RequestItems.EventStore[].PutRequest.Item | select(.SK.S == "OrderPlaced") | .RoutingConfig.S | fromjson
        | .rules[].entry] == ["audit", "big_orders"]' "$TMP/all.dump" > /dev/null
ok $? "their shared event OrderPlaced keeps the rules of both"
echo '[{"RequestItems": {"EventStore": [{"PutRequest": {"Item": {"PK": {"S": "flow"}, "SK": {"S": "x"}, "Data": {"S": "{}"}}}}]}}]' > "$TMP/nodata.json"
"$EFC" store load "$TMP/nodata.json" --store "$TMP/all.db" 2> "$TMP/err"
[ $? -eq 1 ] && grep -q "no declaration source" "$TMP/err"
ok $? "items without a declaration source are refused"
echo '{"not": "batches"}' > "$TMP/bad.json"
"$EFC" store load "$TMP/bad.json" --store "$TMP/all.db" 2> "$TMP/err"
[ $? -eq 1 ] && grep -q "BatchWriteItem" "$TMP/err"
ok $? "a file that is not event-store.json is refused with the reason"
"$EFC" compile tests/serve/clash.flow -o "$TMP/out-clash" 2>/dev/null
"$EFC" store load "$TMP/out-clash" --store "$TMP/all.db" 2> "$TMP/err"
[ $? -eq 1 ] && grep -q "store:flow/big_orders" "$TMP/err" && grep -q "nothing was loaded" "$TMP/err"
ok $? "a load that breaks stored flows is refused with their diagnostics"
"$EFC" store dump --store "$TMP/all.db" | cmp -s - "$TMP/all.dump"
ok $? "... and leaves the store as it was"
"$EFC" store dump --store "$TMP/out-served/timecard.efb" > /dev/null 2> "$TMP/err"
[ $? -eq 3 ]
ok $? "a file that is not a store is refused (3)"

# --- a server with a token, over the timecard output -----------------------
echo "t0ken-$$" > "$TMP/token"
start_server s1 --store "$TMP/served.db" --load "$TMP/out-served" --token-file "$TMP/token"
[ "$URL" != "http://" ]
ok $? "efc serve starts and prints its address ($URL)"
AUTH=
req GET /health
expect_error 401 unauthorized "no token: 401"
[ "$(header WWW-Authenticate)" = "Bearer" ]
ok $? "401 says WWW-Authenticate: Bearer"
AUTH=wrong req GET /flows
expect_error 401 unauthorized "a wrong token: 401"
AUTH=t0ken-$$
req GET /health
expect_status 200 "GET /health" '.status == "ok" and .events == 2 and .flows == 1 and .store == "sqlite"'

# Round trip: every stored item, listed and fetched, equals what efc compile wrote.
jq '[.[].RequestItems.EventStore[].PutRequest.Item]' "$TMP/out-served/event-store.json" > "$TMP/items.json"
req GET /events
expect_status 200 "GET /events" 'length == 2'
cp "$TMP/body" "$TMP/events.json"
jq -e --slurpfile items "$TMP/items.json" '
  [$items[0][] | select(.PK.S == "events")
   | {eventId: .SK.S, schema: (.Schema.S | fromjson), routingConfig: (.RoutingConfig.S | fromjson), data: (.Data.S | fromjson)}]
  == .' "$TMP/events.json" > /dev/null
ok $? "GET /events lists every event equal to event-store.json"
req GET /flows
expect_status 200 "GET /flows" 'length == 1'
jq -e --slurpfile items "$TMP/items.json" '
  [$items[0][] | select(.PK.S == "flow") | {flowId: .SK.S, data: (.Data.S | fromjson)}] == .' "$TMP/body" > /dev/null
ok $? "GET /flows lists every flow equal to event-store.json"
cp "$TMP/body" "$TMP/flows.json"
req GET /event/ScreenCaptured
expect_status 200 "GET /event/ScreenCaptured"
jq -e --slurpfile list "$TMP/events.json" '. == ($list[0][] | select(.eventId == "ScreenCaptured"))' "$TMP/body" > /dev/null
ok $? "GET /event/{id} equals its entry in the list"
req GET /flow/timecard
expect_status 200 "GET /flow/timecard" '.data.source | startswith("flow timecard {")'
jq -e --slurpfile list "$TMP/flows.json" '. == $list[0][0]' "$TMP/body" > /dev/null
ok $? "GET /flow/{id} equals its entry in the list"

# Not found, not allowed, bad ids.
req GET /event/Nope
expect_error 404 not_found "GET /event/{unknown}: 404"
req GET /flow/nope
expect_error 404 not_found "GET /flow/{unknown}: 404"
req GET /no/such/endpoint
expect_error 404 not_found "an unknown path: 404"
req PUT /flows
expect_error 405 method_not_allowed "PUT /flows: 405"
[ "$(header Allow)" = "GET" ]
ok $? "405 says Allow: GET"
req DELETE /events
expect_error 405 method_not_allowed "DELETE /events: 405"
[ "$(header Allow)" = "GET, POST" ]
ok $? "405 says Allow: GET, POST"
req GET /flow/%2e%2e
expect_error 400 bad_request "GET /flow/%2e%2e: 400"
req GET /event/a%20b
expect_error 400 bad_request "an id with a space: 400"
req GET "/flow/$(head -c 129 /dev/zero | tr '\0' a)"
expect_error 400 bad_request "an id of 129 characters: 400"

# POST /flow, as text and as JSON; compile errors; conflicts.
cat > "$TMP/idle.flow" <<'EOF'
event IdleSeen { user: string, session: string }

flow idle {
  on ScreenCaptured where application.name == "idle"
  | map { user: profile.user, session: profile.session_id }
  -> emit IdleSeen
}
EOF
req POST /flow -H 'Content-Type: text/x-efc' --data-binary @"$TMP/idle.flow"
expect_status 201 "POST /flow (text): 201" '.flowId == "idle" and .createdEvents == ["IdleSeen"] and .updatedEvents == ["ScreenCaptured"]'
[ "$(header Location)" = "/flow/idle" ]
ok $? "201 says Location: /flow/idle"
req GET /flow/idle
expect_status 200 "GET /flow/idle" '.data.on == ["ScreenCaptured"] and .data.emits == "IdleSeen"'
req GET /event/ScreenCaptured
expect_status 200 "the new flow's rule is in ScreenCaptured's routing" '[.routingConfig.rules[].entry] == ["timecard", "idle"]'
req POST /flow -H 'Content-Type: text/x-efc' --data-binary @"$TMP/idle.flow"
expect_error 409 conflict "POST /flow of an existing flow: 409"
jq -n --rawfile src "$TMP/idle.flow" '{source: ($src | sub("flow idle"; "flow idle2") | sub("event IdleSeen[^\n]*\n"; "")), app: "desk"}' > "$TMP/idle2.json"
req POST /flow -H 'Content-Type: application/json' --data-binary @"$TMP/idle2.json"
expect_status 201 "POST /flow (JSON, with app): 201" '.flowId == "idle2" and .createdEvents == []'
req GET /flow/idle2
expect_status 200 "the JSON flow is stored with its app" '.data.app == "desk" and .data.rules == ["desk-idle2-ScreenCaptured"]'
printf 'flow bad {\n  on ScreenCaptured where aplication.name == "x"\n  | map { user: profile.user, session: "s" }\n  -> emit IdleSeen\n}\n' > "$TMP/bad.flow"
req POST /flow -H 'Content-Type: text/x-efc' --data-binary @"$TMP/bad.flow"
expect_status 400 "a flow that does not compile: 400 with diagnostics" '.error == "compile_error"
  and (.diagnostics[0] | .file == "request.flow" and .line == 2 and .column == 27
       and (.message | contains("unknown field `aplication`")) and .hint == "did you mean `application`?")'
req POST /flow -H 'Content-Type: application/json' --data-binary '{"source": '
expect_error 400 bad_request "POST /flow with bad JSON: 400"
req POST /flow -H 'Content-Type: text/x-efc' --data-binary ''
expect_error 400 bad_request "POST /flow without a body: 400"

# POST /route/{event-id}
cat > "$TMP/route.json" <<'EOF'
{"rules": [
  {"rule": "timecard-timecard-ScreenCaptured", "entry": "timecard", "kind": "flow",
   "pattern": {"source": ["capture.client"], "detail-type": ["Screen Captured"], "detail": {"data": {"bytes": [{"numeric": [">", 0]}]}}}},
  {"rule": "api-idle-ScreenCaptured", "entry": "idle", "kind": "flow",
   "pattern": {"source": ["capture.client"], "detail-type": ["Screen Captured"], "detail": {"profile": {"user": ["ann"]}}}},
  {"rule": "desk-idle2-ScreenCaptured", "entry": "idle2", "kind": "flow",
   "pattern": {"source": ["capture.client"], "detail-type": ["Screen Captured"]}}
]}
EOF
req POST /route/ScreenCaptured -H 'Content-Type: application/json' --data-binary @"$TMP/route.json"
expect_status 200 "POST /route/ScreenCaptured: 200" '[.routingConfig.rules[].entry] == ["timecard", "idle", "idle2"]
  and .routingConfig.rules[1].pattern.detail.profile.user == ["ann"]'
req POST /route/ScreenCaptured -H 'Content-Type: application/json' --data-binary '{"rules": [{"rule": "r", "entry": "idle", "kind": "flow", "pattern": {"source": ["capture.client"], "detail-type": ["Screen Captured"], "detail": {"n": [{"numeric": [">"]}]}}}]}'
expect_status 400 "an invalid pattern: 400 with EventBridge's reason" '.error == "bad_request" and (.message | contains("Event pattern is not valid"))'
req POST /route/Nope -H 'Content-Type: application/json' --data-binary '{"rules": []}'
expect_error 404 not_found "POST /route/{unknown}: 404"
req POST /route/ScreenCaptured -H 'Content-Type: application/json' --data-binary '{"rules": [}'
expect_error 400 bad_request "POST /route with bad JSON: 400"
req GET /route/ScreenCaptured
expect_error 405 method_not_allowed "GET /route/{id}: 405"

# POST /events: the stored flows run, with the stored patterns.
event_for() {   # event_for USER: a PutEvents request for one idle screen capture by USER
  jq -nc --arg u "$1" '{Entries: [{Source: "capture.client", DetailType: "Screen Captured", Time: "2026-11-23T09:00:00Z",
    Detail: ({profile: {session_id: "s-1", user: $u}, application: {name: "idle"}, data: {uri: "s3://b/k", mime: "image/png", bytes: 10}} | tojson)}]}'
}
req POST /events -H 'Content-Type: application/json' --data-binary "$(event_for ann)"
expect_status 200 "POST /events: ann's idle screen runs idle and idle2" '.FailedEntryCount == 0 and (.Entries[0].EventId | length == 36)
  and [.Emitted[] | .["detail-type"]] == ["IdleSeen", "IdleSeen"]'
jq -e '[.Emitted[].detail.user] == ["ann", "ann"]' "$TMP/body" > /dev/null
ok $? "both flows emitted IdleSeen for ann"
req POST /events -H 'Content-Type: application/json' --data-binary "$(event_for bob)"
expect_status 200 "POST /events: bob's does not pass idle's stored pattern" '[.Emitted[].detail.user] == ["bob"]'
req POST /events -H 'Content-Type: application/json' --data-binary '{"Entries": [{"Source": "capture.client", "DetailType": "Screen Captured", "Detail": "{}"}, {"Source": "a"}]}'
expect_status 200 "POST /events answers per entry" '.FailedEntryCount == 2 and .Entries[0].ErrorCode == "EventRejected"
  and .Entries[1].ErrorCode == "InvalidArgument"'
req POST /events -H 'Content-Type: application/json' --data-binary '[]'
expect_error 400 bad_request "POST /events of something that is not an event: 400"

# DELETE /flow/{id}
req DELETE /flow/idle
expect_status 200 "DELETE /flow/idle: 200" '.deleted == true and (.updatedEvents | sort) == ["IdleSeen", "ScreenCaptured"]'
req DELETE /flow/idle
expect_error 404 not_found "DELETE it again: 404"
req GET /event/ScreenCaptured
expect_status 200 "its rule left ScreenCaptured's routing" '[.routingConfig.rules[].entry] == ["timecard", "idle2"]'

# Bodies over the limit: 413, whether announced or chunked.
head -c 2000000 /dev/zero | tr '\0' ' ' > "$TMP/big"
req POST /flow -H 'Content-Type: text/x-efc' --data-binary @"$TMP/big"
expect_error 413 payload_too_large "a 2 MB body: 413"
req POST /flow -H 'Content-Type: text/x-efc' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big"
expect_error 413 payload_too_large "a 2 MB chunked body: 413"
req GET /health
expect_status 200 "the server still answers"

# A clean stop, and what was acknowledged is there after a restart.
stop_server
[ "$STOP_STATUS" -eq 0 ] && grep -q "stopped" "$TMP/s1.err"
ok $? "SIGTERM stops the server cleanly (exit 0)"
start_server s2 --store "$TMP/served.db" --token-file "$TMP/token"
req GET /flows
expect_status 200 "after a restart the store holds what was acknowledged" '[.[].flowId] == ["idle2", "timecard"]'
req GET /event/ScreenCaptured
expect_status 200 "... and the routing as it was last set" '[.routingConfig.rules[].entry] == ["timecard", "idle2"]'

# Writes in flight when SIGTERM comes: each acknowledged one is kept.
( for i in $(seq 1 400); do
    code=$(printf 'flow burst%d { on ScreenCaptured | map { user: profile.user, session: "s" } -> emit IdleSeen }' "$i" |
           curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AUTH" -H 'Content-Type: text/x-efc' \
             --data-binary @- "$URL/flow")
    echo "$i $code"
  done > "$TMP/burst" ) &
burst=$!
sleep 1.5
stop_server
wait "$burst"
[ "$STOP_STATUS" -eq 0 ]
ok $? "SIGTERM in the middle of writes: clean exit"
acked=$(awk '$2 == 201' "$TMP/burst" | wc -l)
start_server s3 --store "$TMP/served.db" --token-file "$TMP/token"
req GET /flows
stored=$(jq '[.[] | select(.flowId | startswith("burst"))] | length' "$TMP/body")
missing=$(awk '$2 == 201 {print "burst" $1}' "$TMP/burst" | while read -r f; do
  jq -e --arg f "$f" 'any(.[]; .flowId == $f)' "$TMP/body" > /dev/null || echo "$f"; done | wc -l)
[ "$acked" -gt 0 ] && [ "$missing" -eq 0 ] && [ "$stored" -le $((acked + 1)) ]
ok $? "every acknowledged write survived the stop ($acked acknowledged, $stored stored, $missing missing)"
stop_server

# Without a token, the default address is loopback and every request is served.
start_server s4 --store :memory: --load "$TMP/out-served"
AUTH=
req GET /health
expect_status 200 "without --token: served on loopback" '.store == "memory"'
stop_server
! grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMP"/s*.err
ok $? "no sanitizer report from any server"
done_testing
