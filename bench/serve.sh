#!/bin/sh
# efc serve benchmark: requests/s and latency percentiles, measured with wrk
# (Debian package `wrk`) against a server on loopback, store in a SQLite file:
#   1. GET /flow/{id}                 a read: one store lookup, the flow as JSON
#   2. POST /events, stateless flow   one event through a `where | map -> emit` flow
#   3. POST /events, aggregator       one event into the timecard aggregator
#                                     (a state write, committed per request)
#   4. POST /flow + DELETE /flow      writes: compile against the store, commit
# Usage: sh bench/serve.sh [EFC] [seconds-per-run] [connections]
# The store's directory decides what fsync costs: BENCH_DIR (default /tmp).
set -e
EFC=${1:-build/efc}
SECS=${2:-10}
CONNS=${3:-32}
command -v wrk > /dev/null || { echo "serve.sh: wrk is not installed (apt-get install wrk)"; exit 0; }
DIR=$(mktemp -d "${BENCH_DIR:-/tmp}/efc-serve-bench.XXXXXX")
here=$(cd "$(dirname "$0")" && pwd)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$DIR"' EXIT

"$EFC" compile "$here/../examples/timecard/timecard.flow" -o "$DIR/out" 2>/dev/null
"$EFC" serve --store "$DIR/store.db" --load "$DIR/out" --listen 127.0.0.1:0 > "$DIR/serve.out" 2> "$DIR/serve.err" &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$DIR/serve.out" && break; sleep 0.05; done
url=http://$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$DIR/serve.out")
curl -sf -H 'Content-Type: text/x-efc' --data-binary 'event IdleSeen { user: string }
flow idle { on ScreenCaptured where application.name == "idle" | map { user: profile.user } -> emit IdleSeen }' \
  "$url/flow" > /dev/null

cat > "$DIR/idle.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"Entries": [{"Source": "capture.client", "DetailType": "Screen Captured", "Time": "2026-11-23T09:00:00Z", "Detail": "{\\"profile\\": {\\"session_id\\": \\"s-1\\", \\"user\\": \\"ann\\"}, \\"application\\": {\\"name\\": \\"idle\\"}, \\"data\\": {\\"uri\\": \\"s3://b/1\\", \\"mime\\": \\"image/png\\", \\"bytes\\": 0}}"}]}'
EOF
# Each request a new session and a later time: the aggregator writes a window.
cat > "$DIR/aggregate.lua" <<'EOF'
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"Entries": [{"Source": "capture.client", "DetailType": "Screen Captured", "Time": %d, "Detail": "{\\"profile\\": {\\"session_id\\": \\"s-%d\\", \\"user\\": \\"u\\"}, \\"application\\": {\\"name\\": \\"vim\\"}, \\"data\\": {\\"uri\\": \\"s3://b/1\\", \\"mime\\": \\"image/png\\", \\"bytes\\": 100}}"}]}', 1795000000 + n, n % 5000)
  return wrk.format("POST", "/events", {["Content-Type"] = "application/json"}, body)
end
EOF
cat > "$DIR/write.lua" <<'EOF'
-- Each wrk thread (one connection each) creates a flow, then deletes it.
-- The next request depends on the last answer (wrk may call request()
-- once more than it sends).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local n, created = 0, nil
request = function()
  if created then return wrk.format("DELETE", "/flow/" .. created) end
  return wrk.format("POST", "/flow", {["Content-Type"] = "text/x-efc"},
    string.format("flow w%s_%d { on ScreenCaptured | map { user: profile.user } -> emit IdleSeen }", id, n))
end
response = function(status, headers, body)
  if created then
    created, n = nil, n + 1
  elseif status == 201 then
    created = string.format("w%s_%d", id, n)
  end
end
EOF

run() {   # run TITLE PATH [LUA] [CONNECTIONS] [THREADS]
  out=$(wrk -t"${5:-2}" -c"${4:-$CONNS}" -d"${SECS}s" --latency ${3:+-s "$DIR/$3"} "$url$2")
  rate=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p90=$(echo "$out" | awk '$1 == "90%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $NF } /Socket errors/ { print }')
  printf '%-34s %8s req/s   p50 %8s   p90 %8s   p99 %8s  %s\n' "$1" "$rate" "$p50" "$p90" "$p99" "$errors"
}

echo "efc serve on $url, store $DIR/store.db; wrk, ${SECS}s per run, $CONNS connections, $(nproc) CPUs"
run "GET /flow/timecard" /flow/timecard
run "POST /events (stateless flow)" /events idle.lua
run "POST /events (aggregator window)" /events aggregate.lua
# One connection per wrk thread: a thread's DELETE must follow its POST.
run "POST /flow + DELETE /flow" / write.lua 4 4
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
