# serve_lib.sh — helpers for the efc serve tests (sourced after lib.sh).
# Servers listen on 127.0.0.1 port 0 (the kernel picks a free port); the
# address is read from the line efc serve prints when it is ready.

# start_server NAME [efc serve options...]: sets URL and SPID.
start_server() {
  local name=$1
  shift
  "$EFC" serve --listen 127.0.0.1:0 "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  SPID=$!
  for _ in $(seq 1 400); do
    grep -q "listening on" "$TMP/$name.out" 2>/dev/null && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  URL=http://$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$TMP/$name.out")
}

# stop_server: SIGTERM, wait; sets STOP_STATUS.
stop_server() {
  kill -TERM "$SPID" 2>/dev/null
  wait "$SPID"
  STOP_STATUS=$?
}

# req METHOD PATH [curl options...]: the status in $STATUS, the body in $TMP/body,
# the headers in $TMP/headers.  $AUTH (if set) is sent as the bearer token.
req() {
  local method=$1 path=$2
  shift 2
  local auth=()
  [ -n "$AUTH" ] && auth=(-H "Authorization: Bearer $AUTH")
  STATUS=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$URL$path")
}

# expect_status CODE NAME [JQ-FILTER]: the last req answered CODE (and the
# filter holds on its JSON body).
expect_status() {
  local code=$1 name=$2 filter=${3:-}
  if [ "$STATUS" != "$code" ]; then
    ok 1 "$name (status $STATUS, expected $code)"
    head -c 600 "$TMP/body" | diag
    return
  fi
  if [ -n "$filter" ] && ! jq -e "$filter" "$TMP/body" >/dev/null 2>&1; then
    ok 1 "$name (the body fails: $filter)"
    head -c 600 "$TMP/body" | diag
    return
  fi
  ok 0 "$name"
}

# expect_error CODE ERROR NAME: an error status with {"error": ERROR, "message": ...}.
expect_error() {
  expect_status "$1" "$3" ".error == \"$2\" and (.message | type == \"string\" and length > 0)"
}

# header NAME: the value of a response header of the last req.
header() {
  tr -d '\r' < "$TMP/headers" | sed -n "s/^$1: //Ip" | head -1
}
