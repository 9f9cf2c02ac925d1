#!/bin/sh
# gen_events.sh N [SEED] [PAD] — N events of the standard envelope (NDJSON) on
# stdout: screen captures, app-usage pings and audio chunks from a few users
# and sessions, time moving forward 5-40 s per event.  Deterministic for a
# seed.  PAD adds a text field of that many bytes (to make ~1 KB events).
N=${1:-100}
SEED=${2:-1}
PAD=${3:-0}
exec awk -v n="$N" -v seed="$SEED" -v pad="$PAD" '
function rnd(m) { state = (state * 1103515245 + 12345) % 2147483648; return int(state / 16) % m }
function two(x) { return x < 10 ? "0" x : x }
# civil date of day z since 1970-01-01 (H. Hinnant)
function civil(z,   era, doe, yoe, y, doy, mp, d, m) {
  z += 719468; era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100)); mp = int((5 * doy + 2) / 153)
  d = doy - int((153 * mp + 2) / 5) + 1; m = mp < 10 ? mp + 3 : mp - 9
  return sprintf("%04d-%s-%s", y + (m <= 2), two(m), two(d))
}
function stamp(t,   d, h, mi, s) {
  d = int(t / 86400); t -= d * 86400; h = int(t / 3600); t -= h * 3600; mi = int(t / 60); s = t - mi * 60
  return sprintf("%sT%s:%s:%sZ", civil(20780 + d), two(h), two(mi), two(s))
}
BEGIN {
  state = seed
  split("ana bo chen dara eli", users, " ")
  split("vscode slack chrome zoom idle terminal figma", apps, " ")
  split("main.c - efc|#general|Docs - EventBridge patterns|Weekly sync|Lock screen|~/efc$ make check|Design review", wins, "|")
  padding = ""
  for (i = 0; i < pad; i++) padding = padding "abcdefghijklmnopqrstuvwxyz "
  padding = substr(padding, 1, pad)
  t = 9 * 3600
  for (i = 1; i <= n; i++) {
    t += 5 + rnd(36)
    u = 1 + rnd(5); a = 1 + rnd(7); kind = rnd(10)
    session = "s-" users[u] "-" (1 + int(i / 500))
    when = stamp(t)
    prof = sprintf("{\"session_id\":\"%s\",\"user\":\"%s\",\"device\":\"laptop-%d\"}", session, users[u], u)
    app = sprintf("{\"name\":\"%s\",\"window\":\"%s\",\"pid\":%d}", apps[a], wins[a], 1000 + a * 7)
    extra = pad ? sprintf(",\"text\":\"%s\"", padding) : ""
    if (kind < 5) {
      printf "{\"version\":\"0\",\"id\":\"in-%d\",\"detail-type\":\"Screen Captured\",\"source\":\"capture.client\",\"account\":\"123456789012\",\"time\":\"%s\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{\"profile\":%s,\"application\":%s,\"data\":{\"uri\":\"s3://captures/%s/%d.png\",\"mime\":\"image/png\",\"bytes\":%d}%s}}\n", i, when, prof, app, session, i, (apps[a] == "idle" ? 0 : 20000 + rnd(500000)), extra
    } else if (kind < 9) {
      printf "{\"version\":\"0\",\"id\":\"in-%d\",\"detail-type\":\"App Usage\",\"source\":\"usage.client\",\"account\":\"123456789012\",\"time\":\"%s\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{\"profile\":%s,\"application\":%s,\"focus_ms\":%d,\"foreground\":%s,\"tags\":[%s]%s}}\n", i, when, prof, app, 500 + rnd(1500000), (rnd(4) ? "true" : "false"), (apps[a] == "zoom" ? "\"meeting\"" : "\"work\""), extra
    } else {
      printf "{\"version\":\"0\",\"id\":\"in-%d\",\"detail-type\":\"Audio Captured\",\"source\":\"capture.client\",\"account\":\"123456789012\",\"time\":\"%s\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{\"profile\":%s,\"application\":%s,\"data\":{\"uri\":\"s3://audio/%s/%d.wav\",\"mime\":\"audio/wav\",\"bytes\":%d,\"duration_ms\":%d}%s}}\n", i, when, prof, app, session, i, 64000 + rnd(900000), 1000 + rnd(29000), extra
    }
  }
}'
