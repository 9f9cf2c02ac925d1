#!/usr/bin/env bash
# efc serve under load: 32 concurrent clients send 20,000 mixed requests
# (reads, flow creates and deletes, route updates, events, and requests
# that must fail) to a server on a SQLite store.  Every answer is checked
# against each client's model of what the server told it, the store is
# read back and compared with the models at the end (no lost or torn
# writes), and the server's memory must stay flat.  The clients are
# tests/e2e/serve_load_client.c (libcurl multi), built here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$ROOT"
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$TMP"' EXIT
REQUESTS=${LOAD_REQUESTS:-20000}
CLIENTS=32

${CC:-cc} -O2 -o "$TMP/load" tests/e2e/serve_load_client.c $(pkg-config --cflags --libs libcurl json-c) 2> "$TMP/cc.err"
ok $? "build the load client"
"$EFC" compile tests/serve/timecard.flow -o "$TMP/out" 2>/dev/null
start_server load --store "$TMP/store.db" --load "$TMP/out" --token "load-$$"
[ "$URL" != "http://" ]
ok $? "start the server ($URL)"

"$TMP/load" "$URL" "$SPID" "$REQUESTS" "$CLIENTS" "load-$$" > "$TMP/result" 2> "$TMP/problems"
status=$?
diag < "$TMP/result"
head -20 "$TMP/problems" | diag
value() { sed -n "s/^$1=//p" "$TMP/result"; }
[ "$(value requests)" -ge 20000 ] 2>/dev/null
ok $? "$(value requests) requests from $CLIENTS clients in $(value seconds) s ($(value rate) per second)"
[ "$(value unexpected)" = 0 ]
ok $? "no answer but the expected ones ($(value expected_errors) expected errors: 400, 401, 404, 409)"
[ "$(value verify_failures)" = 0 ] && [ "$status" -eq 0 ]
ok $? "the store holds exactly what the clients were told: no lost or torn write"
warm=$(value rss_warm_kb)
end=$(value rss_end_kb)
# Flat: after the first quarter, at most 10% (and 4 MB) more.  Sanitizer
# builds keep freed memory in quarantine, so there the bound is loose.
case "$EFC" in
  *build-san*) limit=$((warm * 2)) ;;
  *) limit=$((warm + warm / 10 + 4096)) ;;
esac
[ "$warm" -gt 0 ] && [ "$end" -le "$limit" ]
ok $? "the server's memory stays flat (VmRSS $warm kB after a quarter, $end kB at the end)"

AUTH="load-$$"
req GET /flows
cp "$TMP/body" "$TMP/flows.before"
req GET /events
cp "$TMP/body" "$TMP/events.before"
stop_server
[ "$STOP_STATUS" -eq 0 ]
ok $? "SIGTERM after the load: clean exit"
# What the clients verified is what a restarted server serves.
start_server again --store "$TMP/store.db" --token "load-$$"
req GET /flows
cmp -s "$TMP/body" "$TMP/flows.before"
ok $? "after a restart the same $(jq length "$TMP/body") flows are served"
req GET /events
cmp -s "$TMP/body" "$TMP/events.before"
ok $? "... and the same events and routing"
stop_server
! grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMP"/*.err
ok $? "no sanitizer report"
done_testing
